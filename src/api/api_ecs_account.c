/* api_ecs_account.c: the ECS (2014-05-26) actions about the region and
 * the account rather than one resource: DescribeRegions, DescribeZones,
 * account-level default encryption and its key (R8), and our extension
 * DescribeKeyDependents (R12): what would stop working if a key were
 * disabled or deleted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"

/* ---- regions and zones ------------------------------------------------------- */

static void region_member(sd_jw *j, const char *region)
{
    char endpoint[96];

    /* a cut endpoint is still a name */
    (void)snprintf(endpoint, sizeof endpoint, "ecs.%s.aliyuncs.com", region);
    sd_jw_obj_begin(j, NULL);
    sd_jw_str(j, "RegionId", region);
    sd_jw_str(j, "LocalName", region);
    sd_jw_str(j, "RegionEndpoint", endpoint);
    sd_jw_str(j, "Status", "available");
    sd_jw_obj_end(j);
}

sd_code api__ECS_DescribeRegions(api_req *r)
{
    sd_jw_obj_begin(r->j, "Regions");
    sd_jw_arr_begin(r->j, "Region");
    region_member(r->j, r->opts->region);
    for (size_t i = 0; i < r->opts->nregions; i++) {
        if (strcmp(r->opts->regions[i], r->opts->region) != 0) {
            region_member(r->j, r->opts->regions[i]);
        }
    }
    sd_jw_arr_end(r->j);
    sd_jw_obj_end(r->j);
    return SD_OK;
}

/* {"<outer>":{"<inner>":[categories...]}} */
static void categories(sd_jw *j, const char *outer, const char *inner)
{
    sd_jw_obj_begin(j, outer);
    sd_jw_arr_begin(j, inner);
    for (const char *const *c = ecs_categories(); *c != NULL; c++) {
        sd_jw_str(j, NULL, *c);
    }
    sd_jw_arr_end(j);
    sd_jw_obj_end(j);
}

static void zone_member(sd_jw *j, const char *zone)
{
    sd_jw_obj_begin(j, NULL);
    sd_jw_str(j, "ZoneId", zone);
    sd_jw_str(j, "LocalName", zone);
    sd_jw_str(j, "ZoneType", "AvailabilityZone");
    categories(j, "AvailableDiskCategories", "DiskCategories");
    sd_jw_obj_begin(j, "AvailableResourceCreation");
    sd_jw_arr_begin(j, "ResourceTypes");
    sd_jw_str(j, NULL, "Instance");
    sd_jw_str(j, NULL, "Disk");
    sd_jw_arr_end(j);
    sd_jw_obj_end(j);
    sd_jw_obj_begin(j, "AvailableResources");
    sd_jw_arr_begin(j, "ResourcesInfo");
    sd_jw_obj_begin(j, NULL);
    sd_jw_bool(j, "IoOptimized", true);
    categories(j, "SystemDiskCategories", "supportedSystemDiskCategory");
    categories(j, "DataDiskCategories", "supportedDataDiskCategory");
    sd_jw_obj_end(j);
    sd_jw_arr_end(j);
    sd_jw_obj_end(j);
    sd_jw_obj_end(j);
}

sd_code api__ECS_DescribeZones(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *const *zones = NULL;
    size_t n;

    SD_TRY(api__ecs_begin(r, &c));
    n = ecs_zones(r->opts->ecs, c.region, &zones);
    sd_jw_obj_begin(r->j, "Zones");
    sd_jw_arr_begin(r->j, "Zone");
    for (size_t i = 0; i < n; i++) {
        zone_member(r->j, zones[i]);
    }
    sd_jw_arr_end(r->j);
    sd_jw_obj_end(r->j);
out:
    return rc;
}

/* ---- default encryption (R8) ---------------------------------------------------- */

static sd_code default_encryption(api_req *r, bool enable)
{
    sd_code rc = SD_OK;
    ecs_caller c;

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(ecs_default_encryption(r->opts->ecs, &c, enable, r->err));
out:
    return rc;
}

sd_code api__ECS_EnableDiskEncryptionByDefault(api_req *r)
{
    return default_encryption(r, true);
}

sd_code api__ECS_DisableDiskEncryptionByDefault(api_req *r)
{
    return default_encryption(r, false);
}

/* Writes Encrypted (status) or KMSKeyId (!status). */
static sd_code default_status(api_req *r, bool status)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    bool enabled = false;
    char key_id[ECS_KEY_MAX];

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(ecs_default_status(r->opts->ecs, &c, &enabled, key_id, sizeof key_id, r->err));
    if (status) {
        sd_jw_bool(r->j, "Encrypted", enabled);
    } else {
        sd_jw_str(r->j, "KMSKeyId", key_id);
    }
out:
    return rc;
}

sd_code api__ECS_DescribeDiskEncryptionByDefaultStatus(api_req *r)
{
    return default_status(r, true);
}

sd_code api__ECS_DescribeDiskDefaultKMSKeyId(api_req *r)
{
    return default_status(r, false);
}

sd_code api__ECS_ModifyDiskDefaultKMSKeyId(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *key = NULL;

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_req(r->params, "KMSKeyId", &key, r->err));
    SD_TRY(api_param_str(r->params, "KMSKeyId", ECS_KEY_MAX - 1, &key, r->err));
    SD_TRY(ecs_default_key(r->opts->ecs, &c, key, r->err));
out:
    return rc;
}

sd_code api__ECS_ResetDiskDefaultKMSKeyId(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(ecs_default_key(r->opts->ecs, &c, NULL, r->err));
out:
    return rc;
}

/* ---- DescribeKeyDependents (R12) ----------------------------------------------- */

typedef struct dependent {
    char kind[16];
    char id[ECS_ID_MAX];
    char status[16];
} dependent;

typedef struct dependents {
    dependent *v;
    size_t n;
    size_t cap;
    bool nomem;
} dependents;

static void dependent_visit(void *ctx, const char *kind, const char *id, const char *status)
{
    dependents *d = ctx;

    if (d->n == d->cap) {
        size_t cap = d->cap == 0 ? 16 : d->cap * 2;
        dependent *v = realloc(d->v, cap * sizeof *v);
        if (v == NULL) {
            d->nomem = true;
            return;
        }
        d->v = v;
        d->cap = cap;
    }
    (void)snprintf(d->v[d->n].kind, sizeof d->v[d->n].kind, "%s", kind); /* cut: unmatched */
    (void)snprintf(d->v[d->n].id, sizeof d->v[d->n].id, "%s", id);
    (void)snprintf(d->v[d->n].status, sizeof d->v[d->n].status, "%s", status != NULL ? status : "");
    d->n++;
}

/* {"<outer>":{"<inner>":[{"<id_key>":..,"Status":..}]}} for one kind. */
static void dependents_of(sd_jw *j, const dependents *d, const char *kind, const char *outer,
                          const char *inner, const char *id_key)
{
    sd_jw_obj_begin(j, outer);
    sd_jw_arr_begin(j, inner);
    for (size_t i = 0; i < d->n; i++) {
        if (strcasecmp(d->v[i].kind, kind) == 0) {
            sd_jw_obj_begin(j, NULL);
            sd_jw_str(j, id_key, d->v[i].id);
            sd_jw_str(j, "Status", d->v[i].status);
            sd_jw_obj_end(j);
        }
    }
    sd_jw_arr_end(j);
    sd_jw_obj_end(j);
}

sd_code api__ECS_DescribeKeyDependents(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *key = NULL;
    dependents d = {0};

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_req(r->params, "KMSKeyId", &key, r->err));
    SD_TRY(api_param_str(r->params, "KMSKeyId", ECS_KEY_MAX - 1, &key, r->err));
    SD_TRY(ecs_key_dependents(r->opts->ecs, &c, key, dependent_visit, &d, r->err));
    SD_ENSURE(!d.nomem, r->err, SD_E_NOMEM, "out of memory");
    sd_jw_str(r->j, "KMSKeyId", key);
    dependents_of(r->j, &d, "disk", "Disks", "Disk", "DiskId");
    dependents_of(r->j, &d, "snapshot", "Snapshots", "Snapshot", "SnapshotId");
    dependents_of(r->j, &d, "image", "Images", "Image", "ImageId");
    dependents_of(r->j, &d, "instance", "Instances", "Instance", "InstanceId");
    sd_jw_int(r->j, "TotalCount", (int64_t)d.n);
out:
    free(d.v);
    return rc;
}
