/* api_ecs_disks.c: the ECS (2014-05-26) disk actions: CreateDisk,
 * DescribeDisks, DeleteDisk, ModifyDiskAttribute, AttachDisk, DetachDisk,
 * ResetDisk, ReInitDisk, ResizeDisk.
 *
 * Handlers are thin: parameters in, ecs call, members out with the types
 * the SDK model declares (alibaba-api.md §7: Size a number, Encrypted,
 * Portable and DeleteWithInstance booleans, lists wrapped
 * {"Disks":{"Disk":[...]}}).  Every rule about disks and keys lives in
 * ecs; DescribeDisks' filters and paging are done here over ecs's list.
 * Disk objects carry our extensions NbdUri ("" unless exported) and
 * Progress ("42%": a disk whose data are re-encrypted is Creating, or
 * ReIniting after ReInitDisk, until its background copy ends, and the
 * request answers at once). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"

#define SIZE_MAX_GIB 65536 /* the largest category's bound; ecs checks each */

/* ---- CreateDisk ------------------------------------------------------------ */

sd_code api__ECS_CreateDisk(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    ecs_disk_spec s = {.encrypted = -1};
    char disk_id[ECS_ID_MAX];
    const char *multi = NULL;

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_str(r->params, "ZoneId", 63, &s.zone, r->err));
    SD_TRY(api_param_str(r->params, "DiskCategory", 39, &s.category, r->err));
    SD_TRY(api_param_int(r->params, "Size", 1, SIZE_MAX_GIB, 0, &s.size_gib, r->err));
    SD_TRY(api_param_str(r->params, "SnapshotId", ECS_ID_MAX - 1, &s.snapshot_id, r->err));
    SD_ENSUREC(s.size_gib != 0 || (s.snapshot_id != NULL && s.snapshot_id[0] != '\0'), r->err,
               SD_E_INVALID, "MissingParameter",
               "The parameter \"Size\" is needed but not provided (or give SnapshotId).");
    SD_TRY(api_param_str(r->params, "DiskName", ECS_NAME_MAX - 1, &s.name, r->err));
    SD_TRY(api_param_str(r->params, "Description", ECS_DESC_MAX - 1, &s.description, r->err));
    SD_TRY(api__tristate(r, "Encrypted", &s.encrypted));
    SD_TRY(api_param_str(r->params, "KMSKeyId", ECS_KEY_MAX - 1, &s.kms_key_id, r->err));
    SD_TRY(api_param_str(r->params, "ClientToken", 64, &s.client_token, r->err));
    SD_TRY(api_param_str(r->params, "MultiAttach", 16, &multi, r->err));
    /* A disk is served to the one instance it is attached to, and to
     * nothing else (DESIGN §6): a shared disk is refused, not faked. */
    SD_ENSUREC(multi == NULL || multi[0] == '\0' || strcmp(multi, "Disabled") == 0, r->err,
               SD_E_INVALID, "InvalidParameter.MultiAttach",
               "MultiAttach=%s is not supported: a disk is attached to one instance at a time.",
               multi);
    SD_TRY(ecs_create_disk(r->opts->ecs, &c, &s, disk_id, r->err));
    sd_jw_str(r->j, "DiskId", disk_id);
    sd_jw_str(r->j, "OrderId", "");
out:
    return rc;
}

/* ---- DescribeDisks --------------------------------------------------------- */

static void disk_member(sd_jw *j, const ecs_disk *d)
{
    bool attached = d->instance_id[0] != '\0';
    char progress[8];

    sd_jw_obj_begin(j, NULL);
    sd_jw_str(j, "DiskId", d->disk_id);
    sd_jw_str(j, "RegionId", d->region);
    sd_jw_str(j, "ZoneId", d->zone);
    sd_jw_str(j, "DiskName", d->name);
    sd_jw_str(j, "Description", d->description);
    sd_jw_str(j, "Type", d->type);
    sd_jw_str(j, "Category", d->category);
    sd_jw_int(j, "Size", d->size_gib);
    sd_jw_str(j, "Status", d->status);
    (void)snprintf(progress, sizeof progress, "%d%%", d->progress); /* 0..100 */
    sd_jw_str(j, "Progress", progress);
    sd_jw_bool(j, "Encrypted", d->encrypted);
    sd_jw_str(j, "KMSKeyId", d->encrypted ? d->kms_key_id : "");
    sd_jw_str(j, "InstanceId", d->instance_id);
    sd_jw_str(j, "Device", d->device);
    sd_jw_str(j, "ImageId", d->image_id);
    sd_jw_str(j, "SourceSnapshotId", d->source_snapshot_id);
    sd_jw_bool(j, "Portable", strcmp(d->type, "system") != 0);
    sd_jw_bool(j, "DeleteWithInstance", d->delete_with_instance);
    sd_jw_bool(j, "DeleteAutoSnapshot", false);
    sd_jw_bool(j, "EnableAutoSnapshot", false);
    sd_jw_str(j, "DiskChargeType", "PostPaid");
    sd_jw_str(j, "MultiAttach", "Disabled");
    sd_jw_int(j, "MountInstanceNum", attached ? 1 : 0);
    api__time_member(j, "CreationTime", d->created);
    api__time_member(j, "AttachedTime", d->attached);
    api__time_member(j, "DetachedTime", d->detached);
    sd_jw_obj_begin(j, "Attachments");
    sd_jw_arr_begin(j, "Attachment");
    if (attached) {
        sd_jw_obj_begin(j, NULL);
        sd_jw_str(j, "InstanceId", d->instance_id);
        sd_jw_str(j, "Device", d->device);
        api__time_member(j, "AttachedTime", d->attached);
        sd_jw_obj_end(j);
    }
    sd_jw_arr_end(j);
    sd_jw_obj_end(j);
    sd_jw_str(j, "NbdUri", d->nbd_uri);
    sd_jw_obj_end(j);
}

typedef struct disk_filter {
    sd_json_doc *ids;
    const char *instance_id;
    const char *disk_type; /* NULL or all: any */
    const char *category;
    const char *status; /* NULL or All: any */
    const char *snapshot_id;
    const char *name;
    const char *kms_key_id;
    const char *zone;
    int encrypted;
    int portable;
    int delete_with_instance;
} disk_filter;

typedef struct disk_walk {
    api_req *r;
    const disk_filter *f;
    api_page pg;
} disk_walk;

static bool any(const char *filter, const char *all)
{
    return filter == NULL || filter[0] == '\0' || strcasecmp(filter, all) == 0;
}

static bool flag_match(int filter, bool value)
{
    return filter < 0 || (filter == 1) == value;
}

static bool disk_matches(const disk_filter *f, const ecs_disk *d)
{
    return api__id_listed(f->ids, d->disk_id) && api__str_match(f->instance_id, d->instance_id) &&
           (any(f->disk_type, "all") || strcmp(f->disk_type, d->type) == 0) &&
           api__str_match(f->category, d->category) &&
           (any(f->status, "All") || strcmp(f->status, d->status) == 0) &&
           api__str_match(f->snapshot_id, d->source_snapshot_id) &&
           api__str_match(f->name, d->name) && api__str_match(f->zone, d->zone) &&
           flag_match(f->encrypted, d->encrypted) &&
           (f->kms_key_id == NULL || f->kms_key_id[0] == '\0' ||
            (d->encrypted && strcmp(f->kms_key_id, d->kms_key_id) == 0)) &&
           flag_match(f->portable, strcmp(d->type, "system") != 0) &&
           flag_match(f->delete_with_instance, d->delete_with_instance);
}

static void disk_visit(void *ctx, const ecs_disk *d)
{
    disk_walk *w = ctx;

    if (disk_matches(w->f, d) && api__page_take(&w->pg)) {
        disk_member(w->r->j, d);
    }
}

static sd_code disk_filter_params(api_req *r, disk_filter *f)
{
    sd_code rc = SD_OK;

    SD_TRY(api__id_list(r, "DiskIds", &f->ids));
    SD_TRY(api_param_str(r->params, "InstanceId", ECS_ID_MAX - 1, &f->instance_id, r->err));
    SD_TRY(api_param_str(r->params, "DiskType", 8, &f->disk_type, r->err));
    SD_ENSUREC(any(f->disk_type, "all") || strcmp(f->disk_type, "system") == 0 ||
                   strcmp(f->disk_type, "data") == 0,
               r->err, SD_E_INVALID, "InvalidDiskType.ValueNotSupported",
               "The specified DiskType \"%s\" is not supported: all, system or data.",
               f->disk_type);
    SD_TRY(api_param_str(r->params, "Category", 39, &f->category, r->err));
    if (any(f->category, "all")) {
        f->category = NULL;
    }
    SD_TRY(api_param_str(r->params, "Status", 15, &f->status, r->err));
    SD_TRY(api_param_str(r->params, "SnapshotId", ECS_ID_MAX - 1, &f->snapshot_id, r->err));
    SD_TRY(api_param_str(r->params, "DiskName", ECS_NAME_MAX - 1, &f->name, r->err));
    SD_TRY(api_param_str(r->params, "KMSKeyId", ECS_KEY_MAX - 1, &f->kms_key_id, r->err));
    SD_TRY(api_param_str(r->params, "ZoneId", 63, &f->zone, r->err));
    SD_TRY(api__tristate(r, "Encrypted", &f->encrypted));
    SD_TRY(api__tristate(r, "Portable", &f->portable));
    SD_TRY(api__tristate(r, "DeleteWithInstance", &f->delete_with_instance));
out:
    return rc;
}

sd_code api__ECS_DescribeDisks(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    disk_filter f = {0};
    disk_walk w = {.r = r, .f = &f};

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(disk_filter_params(r, &f));
    SD_TRY(api__page_params(r, &w.pg));
    sd_jw_obj_begin(r->j, "Disks");
    sd_jw_arr_begin(r->j, "Disk");
    SD_TRY(ecs_list_disks(r->opts->ecs, &c, disk_visit, &w, r->err));
    sd_jw_arr_end(r->j);
    sd_jw_obj_end(r->j);
    api__page_members(r, &w.pg);
out:
    sd_json_doc_free(f.ids);
    return rc;
}

/* ---- DeleteDisk, ModifyDiskAttribute -------------------------------------- */

sd_code api__ECS_DeleteDisk(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *disk_id = NULL;

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_req(r->params, "DiskId", &disk_id, r->err));
    SD_TRY(ecs_delete_disk(r->opts->ecs, &c, disk_id, r->err));
out:
    return rc;
}

sd_code api__ECS_ModifyDiskAttribute(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *disk_id = NULL;
    const char *name = NULL;
    const char *desc = NULL;
    int dwi = -1;

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_req(r->params, "DiskId", &disk_id, r->err));
    SD_TRY(api_param_str(r->params, "DiskName", ECS_NAME_MAX - 1, &name, r->err));
    SD_TRY(api_param_str(r->params, "Description", ECS_DESC_MAX - 1, &desc, r->err));
    SD_TRY(api__tristate(r, "DeleteWithInstance", &dwi));
    SD_ENSUREC(name != NULL || desc != NULL || dwi >= 0, r->err, SD_E_INVALID,
               "NoAttributeToModify",
               "No attribute to modify: give DiskName, Description or "
               "DeleteWithInstance.");
    SD_TRY(ecs_modify_disk(r->opts->ecs, &c, disk_id, name, desc, dwi, r->err));
out:
    return rc;
}

/* ---- AttachDisk, DetachDisk ------------------------------------------------ */

sd_code api__ECS_AttachDisk(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *instance_id = NULL;
    const char *disk_id = NULL;
    int dwi = -1;

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_req(r->params, "InstanceId", &instance_id, r->err));
    SD_TRY(api_param_req(r->params, "DiskId", &disk_id, r->err));
    SD_TRY(api__tristate(r, "DeleteWithInstance", &dwi));
    SD_TRY(ecs_attach_disk(r->opts->ecs, &c, instance_id, disk_id, dwi, r->err));
out:
    return rc;
}

sd_code api__ECS_DetachDisk(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *instance_id = NULL;
    const char *disk_id = NULL;

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_req(r->params, "InstanceId", &instance_id, r->err));
    SD_TRY(api_param_req(r->params, "DiskId", &disk_id, r->err));
    SD_TRY(ecs_detach_disk(r->opts->ecs, &c, instance_id, disk_id, r->err));
out:
    return rc;
}

/* ---- ResetDisk, ReInitDisk --------------------------------------------------- */

sd_code api__ECS_ResetDisk(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *disk_id = NULL;
    const char *snapshot_id = NULL;

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_req(r->params, "DiskId", &disk_id, r->err));
    SD_TRY(api_param_req(r->params, "SnapshotId", &snapshot_id, r->err));
    SD_TRY(ecs_reset_disk(r->opts->ecs, &c, disk_id, snapshot_id, r->err));
out:
    return rc;
}

/* AutoStartInstance, Password, KeyPairName and SecurityEnhancementStrategy
 * concern a guest this server does not run: accepted and ignored. */
sd_code api__ECS_ReInitDisk(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *disk_id = NULL;

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_req(r->params, "DiskId", &disk_id, r->err));
    SD_TRY(ecs_reinit_disk(r->opts->ecs, &c, disk_id, r->err));
out:
    return rc;
}

/* ---- ResizeDisk ------------------------------------------------------------- */

/* Type=online would grow a disk under a running export whose clients were
 * told its size at connection: only offline is served.  The answer's
 * OrderId is a billing concept: empty. */
sd_code api__ECS_ResizeDisk(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *disk_id = NULL;
    const char *type = NULL;
    int64_t size = 0;

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_req(r->params, "DiskId", &disk_id, r->err));
    SD_TRY(api_param_int(r->params, "NewSize", 1, 65536, 0, &size, r->err));
    SD_ENSUREC(size > 0, r->err, SD_E_INVALID, "MissingParameter",
               "The input parameter \"NewSize\" that is mandatory for processing this request is "
               "not supplied.");
    SD_TRY(api_param_str(r->params, "Type", 16, &type, r->err));
    SD_ENSUREC(
        type == NULL || strcmp(type, "offline") == 0, r->err, SD_E_INVALID, "InvalidParameter.Type",
        "Type %s is not supported: disks are resized offline, with the instance stopped.", type);
    SD_TRY(ecs_resize_disk(r->opts->ecs, &c, disk_id, size, r->err));
    sd_jw_str(r->j, "OrderId", "");
out:
    return rc;
}
