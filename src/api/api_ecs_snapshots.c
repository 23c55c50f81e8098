/* api_ecs_snapshots.c: the ECS (2014-05-26) snapshot actions:
 * CreateSnapshot, DescribeSnapshots, DeleteSnapshot.
 *
 * Snapshot members follow the SDK model: SourceDiskSize and Progress are
 * strings ("100%"), Encrypted a boolean, the list wrapped
 * {"Snapshots":{"Snapshot":[...]}}.  Snapshots of encrypted disks share
 * the disk's key (R3): ecs decides, this file only reports. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"

sd_code api__ECS_CreateSnapshot(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *disk_id = NULL;
    const char *name = NULL;
    const char *desc = NULL;
    char snapshot_id[ECS_ID_MAX];

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_req(r->params, "DiskId", &disk_id, r->err));
    SD_TRY(api_param_str(r->params, "SnapshotName", ECS_NAME_MAX - 1, &name, r->err));
    SD_TRY(api_param_str(r->params, "Description", ECS_DESC_MAX - 1, &desc, r->err));
    SD_TRY(ecs_create_snapshot(r->opts->ecs, &c, disk_id, name, desc, snapshot_id, r->err));
    sd_jw_str(r->j, "SnapshotId", snapshot_id);
out:
    return rc;
}

static void snapshot_member(sd_jw *j, const ecs_snapshot *s)
{
    char size[24];

    (void)snprintf(size, sizeof size, "%" PRId64, s->source_disk_size); /* fits any int64 */
    sd_jw_obj_begin(j, NULL);
    sd_jw_str(j, "SnapshotId", s->snapshot_id);
    sd_jw_str(j, "SnapshotName", s->name);
    sd_jw_str(j, "Description", s->description);
    sd_jw_str(j, "RegionId", s->region);
    sd_jw_str(j, "SourceDiskId", s->source_disk_id);
    sd_jw_str(j, "SourceDiskSize", size);
    sd_jw_str(j, "SourceDiskType", s->source_disk_type);
    sd_jw_str(j, "SourceStorageType", "disk");
    sd_jw_str(j, "Status", s->status);
    sd_jw_str(j, "Progress", strcmp(s->status, "accomplished") == 0 ? "100%" : "0%");
    sd_jw_int(j, "RemainTime", 0);
    api__time_member(j, "CreationTime", s->created);
    api__time_member(j, "LastModifiedTime", s->created);
    sd_jw_bool(j, "Encrypted", s->encrypted);
    sd_jw_str(j, "KMSKeyId", s->encrypted ? s->kms_key_id : "");
    sd_jw_str(j, "SnapshotType", "user");
    sd_jw_str(j, "Category", "standard");
    sd_jw_str(j, "Usage", "none");
    sd_jw_bool(j, "Available", strcmp(s->status, "accomplished") == 0);
    sd_jw_bool(j, "InstantAccess", false);
    sd_jw_obj_end(j);
}

typedef struct snapshot_filter {
    sd_json_doc *ids;
    const char *disk_id;
    const char *name;
    const char *status; /* NULL or all: any */
    const char *disk_type;
    const char *kms_key_id;
    int encrypted;
} snapshot_filter;

typedef struct snapshot_walk {
    api_req *r;
    const snapshot_filter *f;
    api_page pg;
} snapshot_walk;

static bool snapshot_matches(const snapshot_filter *f, const ecs_snapshot *s)
{
    bool any_status =
        f->status == NULL || f->status[0] == '\0' || strcasecmp(f->status, "all") == 0;
    bool any_type =
        f->disk_type == NULL || f->disk_type[0] == '\0' || strcasecmp(f->disk_type, "all") == 0;

    return api__id_listed(f->ids, s->snapshot_id) &&
           api__str_match(f->disk_id, s->source_disk_id) && api__str_match(f->name, s->name) &&
           (any_status || strcmp(f->status, s->status) == 0) &&
           (any_type || strcmp(f->disk_type, s->source_disk_type) == 0) &&
           (f->encrypted < 0 || (f->encrypted == 1) == s->encrypted) &&
           (f->kms_key_id == NULL || f->kms_key_id[0] == '\0' ||
            (s->encrypted && strcmp(f->kms_key_id, s->kms_key_id) == 0));
}

static void snapshot_visit(void *ctx, const ecs_snapshot *s)
{
    snapshot_walk *w = ctx;

    if (snapshot_matches(w->f, s) && api__page_take(&w->pg)) {
        snapshot_member(w->r->j, s);
    }
}

sd_code api__ECS_DescribeSnapshots(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    snapshot_filter f = {0};
    snapshot_walk w = {.r = r, .f = &f};

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api__id_list(r, "SnapshotIds", &f.ids));
    SD_TRY(api_param_str(r->params, "DiskId", ECS_ID_MAX - 1, &f.disk_id, r->err));
    SD_TRY(api_param_str(r->params, "SnapshotName", ECS_NAME_MAX - 1, &f.name, r->err));
    SD_TRY(api_param_str(r->params, "Status", 15, &f.status, r->err));
    SD_TRY(api_param_str(r->params, "SourceDiskType", 8, &f.disk_type, r->err));
    SD_TRY(api_param_str(r->params, "KMSKeyId", ECS_KEY_MAX - 1, &f.kms_key_id, r->err));
    SD_TRY(api__tristate(r, "Encrypted", &f.encrypted));
    SD_TRY(api__page_params(r, &w.pg));
    sd_jw_obj_begin(r->j, "Snapshots");
    sd_jw_arr_begin(r->j, "Snapshot");
    SD_TRY(ecs_list_snapshots(r->opts->ecs, &c, snapshot_visit, &w, r->err));
    sd_jw_arr_end(r->j);
    sd_jw_obj_end(r->j);
    api__page_members(r, &w.pg);
out:
    sd_json_doc_free(f.ids);
    return rc;
}

sd_code api__ECS_DeleteSnapshot(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *snapshot_id = NULL;
    bool force = false;

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_req(r->params, "SnapshotId", &snapshot_id, r->err));
    SD_TRY(api_param_bool(r->params, "Force", false, &force, r->err));
    SD_TRY(ecs_delete_snapshot(r->opts->ecs, &c, snapshot_id, force, r->err));
out:
    return rc;
}
