/* api_ecs_instances.c: the ECS (2014-05-26) instance actions:
 * RunInstances, CreateInstance, DescribeInstances, StartInstance,
 * StopInstance, RebootInstance, DeleteInstance, ReplaceSystemDisk.
 *
 * An instance here is a set of disks that run together: starting it
 * unwraps their keys and exports them (R11), stopping it wipes the keys.
 * The disks come from the flattened SystemDisk.* and DataDisk.N.*
 * parameters (N <= 16, alibaba-api.md §4.1); ImageId makes the system
 * disk from a custom image (R7: an encrypted image, an encrypted disk).  Instance objects carry our
 * extension NbdUri: the system disk's export ("" unless running). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

#define AMOUNT_MAX   100
#define SIZE_MAX_GIB 65536
#define PAGE_MAX     100

/* ---- disk and instance parameters ------------------------------------------ */

/* One `<prefix>.<field>` name, for the typed accessors and their errors. */
static const char *field(char *buf, size_t cap, const char *prefix, const char *name)
{
    (void)snprintf(buf, cap, "%s.%s", prefix, name); /* prefixes and names are short */
    return buf;
}

/* SystemDisk (data false) or DataDisk.N (data true). */
static sd_code disk_req_params(api_req *r, const char *prefix, bool data, ecs_disk_req *d)
{
    sd_code rc = SD_OK;
    char n[64];
    bool dwi = true;

    *d = (ecs_disk_req){.encrypted = -1, .delete_with_instance = true};
    SD_TRY(
        api_param_str(r->params, field(n, sizeof n, prefix, "Category"), 39, &d->category, r->err));
    SD_TRY(api_param_int(r->params, field(n, sizeof n, prefix, "Size"), 1, SIZE_MAX_GIB, 0,
                         &d->size_gib, r->err));
    SD_TRY(api_param_str(r->params, field(n, sizeof n, prefix, "DiskName"), ECS_NAME_MAX - 1,
                         &d->name, r->err));
    SD_TRY(api_param_str(r->params, field(n, sizeof n, prefix, "Description"), ECS_DESC_MAX - 1,
                         &d->description, r->err));
    SD_TRY(api__tristate(r, field(n, sizeof n, prefix, "Encrypted"), &d->encrypted));
    SD_TRY(api_param_str(r->params, field(n, sizeof n, prefix, "KMSKeyId"), ECS_KEY_MAX - 1,
                         &d->kms_key_id, r->err));
    if (data) {
        SD_TRY(api_param_str(r->params, field(n, sizeof n, prefix, "SnapshotId"), ECS_ID_MAX - 1,
                             &d->snapshot_id, r->err));
        SD_TRY(api_param_bool(r->params, field(n, sizeof n, prefix, "DeleteWithInstance"), true,
                              &dwi, r->err));
        d->delete_with_instance = dwi;
    }
out:
    return rc;
}

static sd_code data_disks_params(api_req *r, ecs_instance_spec *s)
{
    sd_code rc = SD_OK;
    unsigned *idx = NULL;
    size_t n = 0;
    char prefix[32];

    SD_TRY(api_param_list(r->params, "DataDisk", ECS_DATA_DISKS_MAX, &idx, &n, r->err));
    for (size_t i = 0; i < n; i++) {
        (void)snprintf(prefix, sizeof prefix, "DataDisk.%u", idx[i]); /* idx <= 100000 */
        SD_TRY(disk_req_params(r, prefix, true, &s->data_disks[i]));
    }
    s->n_data_disks = n;
out:
    free(idx);
    return rc;
}

static sd_code instance_params(api_req *r, ecs_instance_spec *s)
{
    sd_code rc = SD_OK;

    SD_TRY(api_param_str(r->params, "ZoneId", 63, &s->zone, r->err));
    SD_TRY(api_param_str(r->params, "InstanceType", 39, &s->instance_type, r->err));
    SD_TRY(api_param_str(r->params, "InstanceName", ECS_NAME_MAX - 1, &s->name, r->err));
    SD_TRY(api_param_str(r->params, "Description", ECS_DESC_MAX - 1, &s->description, r->err));
    SD_TRY(api_param_str(r->params, "ImageId", ECS_ID_MAX - 1, &s->image_id, r->err));
    SD_TRY(api_param_str(r->params, "ClientToken", 64, &s->client_token, r->err));
    SD_TRY(disk_req_params(r, "SystemDisk", false, &s->system_disk));
    SD_TRY(data_disks_params(r, s));
out:
    return rc;
}

/* ---- RunInstances, CreateInstance ----------------------------------------- */

/* Deletes what a failed RunInstances made before it failed. */
static void roll_back(api_req *r, const ecs_caller *c, char (*ids)[ECS_ID_MAX], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        sd_err e = SD_ERR_INIT;
        if (ecs_delete_instance(r->opts->ecs, c, ids[i], true, &e) != SD_OK) {
            sd_log(SD_LOG_WARN, "api", "RunInstances roll-back of %s: %s", ids[i], e.msg);
        }
    }
}

sd_code api__ECS_RunInstances(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    ecs_instance_spec *s = calloc(1, sizeof *s);
    char(*ids)[ECS_ID_MAX] = calloc(AMOUNT_MAX, sizeof *ids);
    int64_t amount = 1;
    size_t made = 0;
    char token[96];
    const char *base_token;

    SD_ENSURE(s != NULL && ids != NULL, r->err, SD_E_NOMEM, "out of memory");
    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_int(r->params, "Amount", 1, AMOUNT_MAX, 1, &amount, r->err));
    SD_TRY(instance_params(r, s));
    s->start = true;
    base_token = s->client_token;
    for (; made < (size_t)amount; made++) {
        if (base_token != NULL && amount > 1) {
            /* one token per instance, so a retry finds each one again */
            (void)snprintf(token, sizeof token, "%s-%zu", base_token, made + 1);
            s->client_token = token;
        }
        SD_TRY(ecs_create_instance(r->opts->ecs, &c, s, ids[made], r->err));
    }
    sd_jw_obj_begin(r->j, "InstanceIdSets");
    sd_jw_arr_begin(r->j, "InstanceIdSet");
    for (size_t i = 0; i < made; i++) {
        sd_jw_str(r->j, NULL, ids[i]);
    }
    sd_jw_arr_end(r->j);
    sd_jw_obj_end(r->j);
    sd_jw_str(r->j, "OrderId", "");
    sd_jw_int(r->j, "TradePrice", 0);
out:
    if (rc != SD_OK && made > 0) {
        roll_back(r, &c, ids, made);
    }
    free(ids);
    free(s);
    return rc;
}

sd_code api__ECS_CreateInstance(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    ecs_instance_spec *s = calloc(1, sizeof *s);
    char id[ECS_ID_MAX];

    SD_ENSURE(s != NULL, r->err, SD_E_NOMEM, "out of memory");
    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(instance_params(r, s));
    s->start = false;
    SD_TRY(ecs_create_instance(r->opts->ecs, &c, s, id, r->err));
    sd_jw_str(r->j, "InstanceId", id);
    sd_jw_str(r->j, "OrderId", "");
    sd_jw_int(r->j, "TradePrice", 0);
out:
    free(s);
    return rc;
}

/* ---- DescribeInstances -------------------------------------------------------- */

typedef struct instance_row {
    ecs_instance i;
    char nbd_uri[ECS_URI_MAX];
} instance_row;

typedef struct instance_walk {
    sd_json_doc *ids;
    const char *status;
    const char *zone;
    const char *name;
    const char *image_id;
    const char *instance_type;
    api_page pg;
    instance_row *rows; /* the page, at most PAGE_MAX */
    size_t n;
} instance_walk;

static void instance_visit(void *ctx, const ecs_instance *i)
{
    instance_walk *w = ctx;

    if (!api__id_listed(w->ids, i->instance_id) || !api__str_match(w->status, i->status) ||
        !api__str_match(w->zone, i->zone) || !api__str_match(w->name, i->name) ||
        !api__str_match(w->image_id, i->image_id) ||
        !api__str_match(w->instance_type, i->instance_type)) {
        return;
    }
    if (api__page_take(&w->pg) && w->n < PAGE_MAX) {
        w->rows[w->n].i = *i;
        w->rows[w->n].nbd_uri[0] = '\0';
        w->n++;
    }
}

/* The page's system disks' exports. */
static void system_disk_visit(void *ctx, const ecs_disk *d)
{
    instance_walk *w = ctx;

    if (strcmp(d->type, "system") != 0 || d->instance_id[0] == '\0') {
        return;
    }
    for (size_t k = 0; k < w->n; k++) {
        if (strcmp(w->rows[k].i.instance_id, d->instance_id) == 0) {
            (void)snprintf(w->rows[k].nbd_uri, sizeof w->rows[k].nbd_uri, "%s",
                           d->nbd_uri); /* same size */
        }
    }
}

static void instance_member(sd_jw *j, const instance_row *row)
{
    const ecs_instance *i = &row->i;

    sd_jw_obj_begin(j, NULL);
    sd_jw_str(j, "InstanceId", i->instance_id);
    sd_jw_str(j, "InstanceName", i->name);
    sd_jw_str(j, "Description", i->description);
    sd_jw_str(j, "HostName", i->instance_id);
    sd_jw_str(j, "RegionId", i->region);
    sd_jw_str(j, "ZoneId", i->zone);
    sd_jw_str(j, "Status", i->status);
    sd_jw_str(j, "InstanceType", i->instance_type);
    sd_jw_str(j, "ImageId", i->image_id);
    sd_jw_str(j, "OSType", "linux");
    api__time_member(j, "CreationTime", i->created);
    api__time_member(j, "StartTime", i->started);
    sd_jw_str(j, "InstanceChargeType", "PostPaid");
    sd_jw_str(j, "InstanceNetworkType", "vpc");
    sd_jw_bool(j, "IoOptimized", true);
    sd_jw_bool(j, "DeletionProtection", false);
    sd_jw_str(j, "StoppedMode", "Not-applicable");
    sd_jw_str(j, "NbdUri", row->nbd_uri);
    sd_jw_obj_end(j);
}

static sd_code instance_filter_params(api_req *r, instance_walk *w)
{
    sd_code rc = SD_OK;

    SD_TRY(api__id_list(r, "InstanceIds", &w->ids));
    SD_TRY(api_param_str(r->params, "Status", 15, &w->status, r->err));
    SD_TRY(api_param_str(r->params, "ZoneId", 63, &w->zone, r->err));
    SD_TRY(api_param_str(r->params, "InstanceName", ECS_NAME_MAX - 1, &w->name, r->err));
    SD_TRY(api_param_str(r->params, "ImageId", ECS_ID_MAX - 1, &w->image_id, r->err));
    SD_TRY(api_param_str(r->params, "InstanceType", 39, &w->instance_type, r->err));
    SD_TRY(api__page_params(r, &w->pg));
out:
    return rc;
}

sd_code api__ECS_DescribeInstances(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    instance_walk w = {0};

    w.rows = calloc(PAGE_MAX, sizeof *w.rows);
    SD_ENSURE(w.rows != NULL, r->err, SD_E_NOMEM, "out of memory");
    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(instance_filter_params(r, &w));
    SD_TRY(ecs_list_instances(r->opts->ecs, &c, instance_visit, &w, r->err));
    if (w.n > 0) {
        SD_TRY(ecs_list_disks(r->opts->ecs, &c, system_disk_visit, &w, r->err));
    }
    sd_jw_obj_begin(r->j, "Instances");
    sd_jw_arr_begin(r->j, "Instance");
    for (size_t k = 0; k < w.n; k++) {
        instance_member(r->j, &w.rows[k]);
    }
    sd_jw_arr_end(r->j);
    sd_jw_obj_end(r->j);
    api__page_members(r, &w.pg);
out:
    sd_json_doc_free(w.ids);
    free(w.rows);
    return rc;
}

/* ---- Start, Stop, Reboot, Delete ---------------------------------------------- */

typedef enum power_op { POWER_START, POWER_STOP, POWER_REBOOT } power_op;

static sd_code power(api_req *r, power_op op)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *id = NULL;

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_req(r->params, "InstanceId", &id, r->err));
    if (op != POWER_START) {
        SD_TRY(ecs_stop_instance(r->opts->ecs, &c, id, r->err));
    }
    if (op != POWER_STOP) {
        SD_TRY(ecs_start_instance(r->opts->ecs, &c, id, r->err));
    }
out:
    return rc;
}

sd_code api__ECS_StartInstance(api_req *r)
{
    return power(r, POWER_START);
}

sd_code api__ECS_StopInstance(api_req *r)
{
    return power(r, POWER_STOP);
}

/* ---- DescribeInstanceDataPlane (extension) ---------------------------------- */

/* The credential a hypervisor needs to reach this instance's disks and no
 * others': the instance's own socket and, with NBD over TCP, its TLS PSK
 * identity and key (hex, as psktool writes them).  Only the instance's
 * account gets an answer; the call is audited (api_request.c). */
static void dataplane_body(api_req *r, const char *id, const ecs_dataplane *dp)
{
    static const char hex[] = "0123456789abcdef";
    char key[2 * 64 + 1];
    char uri[ECS_URI_MAX + 256];
    size_t n = dp->psk != NULL ? sd_secret_len(dp->psk) : 0;
    const uint8_t *k = dp->psk != NULL ? sd_secret_data(dp->psk) : NULL;

    for (size_t i = 0; i < n && i < 64; i++) {
        key[2 * i] = hex[k[i] >> 4];
        key[2 * i + 1] = hex[k[i] & 15];
    }
    sd_jw_str(r->j, "InstanceId", id);
    sd_jw_str(r->j, "Socket", dp->socket);
    sd_jw_str(r->j, "TcpAddress", dp->tcp_address);
    sd_jw_str(r->j, "PskIdentity", dp->psk_identity);
    sd_jw_strn(r->j, "PskKey", key, 2 * (n < 64 ? n : 64));
    sd_wipe(key, sizeof key);
    sd_jw_obj_begin(r->j, "Disks");
    sd_jw_arr_begin(r->j, "Disk");
    for (size_t i = 0; i < dp->ndisks; i++) {
        sd_jw_obj_begin(r->j, NULL);
        sd_jw_str(r->j, "DiskId", dp->disks[i].disk_id);
        sd_jw_str(r->j, "NbdUri", dp->disks[i].uri);
        uri[0] = '\0';
        if (dp->tcp_address[0] != '\0') {
            /* libnbd's form; the client adds tls-psk-file=FILE */
            (void)snprintf(uri, sizeof uri, "nbds://%s@%s/%s", dp->psk_identity, dp->tcp_address,
                           dp->disks[i].disk_id);
        }
        sd_jw_str(r->j, "NbdsUri", uri);
        sd_jw_obj_end(r->j);
    }
    sd_jw_arr_end(r->j);
    sd_jw_obj_end(r->j);
}

sd_code api__ECS_DescribeInstanceDataPlane(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *id = NULL;
    ecs_dataplane dp = {.psk = NULL};

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_req(r->params, "InstanceId", &id, r->err));
    (void)snprintf(r->resource, sizeof r->resource, "%s", id); /* the audit line's */
    SD_TRY(ecs_describe_dataplane(r->opts->ecs, &c, id, &dp, r->err));
    dataplane_body(r, id, &dp);
out:
    ecs_dataplane_clear(&dp);
    return rc;
}

sd_code api__ECS_RebootInstance(api_req *r)
{
    return power(r, POWER_REBOOT);
}

sd_code api__ECS_DeleteInstance(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *id = NULL;
    bool force = false;

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_req(r->params, "InstanceId", &id, r->err));
    SD_TRY(api_param_bool(r->params, "Force", false, &force, r->err));
    SD_TRY(ecs_delete_instance(r->opts->ecs, &c, id, force, r->err));
out:
    return rc;
}

/* ---- ReplaceSystemDisk ------------------------------------------------------- */

/* R15's last step: a Stopped instance gets a new system disk from ImageId,
 * encrypted per Encrypted/KMSKeyId or the image's own encryption.
 * The new disk has the image's size: SystemDisk.Size, DiskId, Password,
 * KeyPairName and the like are accepted and ignored. */
sd_code api__ECS_ReplaceSystemDisk(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *instance_id = NULL;
    const char *image_id = NULL;
    const char *key = NULL;
    int encrypted = -1;
    char disk_id[ECS_ID_MAX];

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_req(r->params, "InstanceId", &instance_id, r->err));
    SD_TRY(api_param_req(r->params, "ImageId", &image_id, r->err));
    SD_TRY(api__tristate(r, "Encrypted", &encrypted));
    SD_TRY(api_param_str(r->params, "KMSKeyId", ECS_KEY_MAX - 1, &key, r->err));
    SD_TRY(ecs_replace_system_disk(r->opts->ecs, &c, instance_id, image_id, encrypted, key, disk_id,
                                   r->err));
    sd_jw_str(r->j, "DiskId", disk_id);
out:
    return rc;
}
