/* api_ecs_images.c: the ECS (2014-05-26) image actions: CreateImage,
 * CopyImage (R7), DescribeImages, DeleteImage, ImportImage, ExportImage.
 *
 * Image members follow the SDK model (alibaba-api.md §7): Progress and
 * DiskDeviceMapping.Size are strings, Size a number, IsCopied a boolean,
 * the list wrapped {"Images":{"Image":[...]}}.  Every image is a custom
 * one (ImageOwnerAlias "self").  CreateImage and a same-key CopyImage give
 * an image Available as soon as the call returns; a re-encrypting
 * CopyImage and ImportImage answer at once with the image Creating, and
 * clients poll DescribeImages (Status, Progress) until it is Available or
 * CreateFailed.  Encrypted and KMSKeyId at image level are our extensions
 * (the SDK model keeps unknown members).
 *
 * OSS has no counterpart here: each account has its own directory of
 * image files on the server's host, IMAGE_DIR/<account id>/ (the server's
 * image_dir setting), and the OSS parameters name files inside it; ecs
 * refuses any name that leads out of it:
 *   ImportImage  DiskDeviceMapping.1.OSSBucket  a directory in it (optional)
 *                DiskDeviceMapping.1.OSSObject  the file: [OSSBucket "/"] OSSObject
 *                DiskDeviceMapping.1.Format     RAW (default) or QCOW2
 *   ExportImage  OSSBucket  a directory in it (made if absent)
 *                OSSPrefix  a file name prefix (may be empty)
 *                           -> OSSBucket "/" OSSPrefix ImageId ".raw"
 *                ImageFormat  raw only (the default)
 * ImportImage checks the file (its path, format, and size: qemu-img info
 * for qcow2) before answering and imports in the background; ExportImage
 * completes before answering.  TaskId names the image's task ("t-" and
 * the image id's suffix). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"

#define PATH_CAP 1024

/* A TaskId for the work on image_id. */
static void task_id(const char *image_id, char out[ECS_ID_MAX + 2])
{
    (void)snprintf(out, ECS_ID_MAX + 2, "t-%s", image_id + 2); /* ids start "m-" */
}

/* ---- names must be unique (InvalidImageName.Duplicated) --------------------- */

typedef struct name_probe {
    const char *name;
    bool taken;
} name_probe;

static void name_visit(void *ctx, const ecs_image *i)
{
    name_probe *p = ctx;

    if (strcmp(p->name, i->name) == 0) {
        p->taken = true;
    }
}

/* Refuses a name another image of the caller's region has.  Checked before
 * the call, so two concurrent requests may still both win (harmless). */
static sd_code name_free(api_req *r, const ecs_caller *c, const char *name)
{
    sd_code rc = SD_OK;
    name_probe p = {.name = name};

    if (name == NULL || name[0] == '\0') {
        goto out;
    }
    SD_TRY(ecs_list_images(r->opts->ecs, c, name_visit, &p, r->err));
    SD_ENSUREC(!p.taken, r->err, SD_E_INVALID, "InvalidImageName.Duplicated",
               "The specified Image name \"%s\" has already been used.", name);
out:
    return rc;
}

/* ---- CreateImage --------------------------------------------------------------- */

/* DiskDeviceMapping.N.{SnapshotId,DiskType}: only the system disk's
 * snapshot is served (images here hold one disk). */
static sd_code mapping_snapshot(api_req *r, const char **snapshot_id)
{
    sd_code rc = SD_OK;
    unsigned *idx = NULL;
    size_t n = 0;

    SD_TRY(api_param_list(r->params, "DiskDeviceMapping", 17, &idx, &n, r->err));
    for (size_t k = 0; k < n; k++) {
        const char *type = api_param_item(r->params, "DiskDeviceMapping", idx[k], "DiskType");
        const char *sid = api_param_item(r->params, "DiskDeviceMapping", idx[k], "SnapshotId");
        SD_ENSUREC(type == NULL || type[0] == '\0' || strcmp(type, "system") == 0, r->err,
                   SD_E_INVALID, "InvalidParameter",
                   "The specified parameter \"DiskDeviceMapping.%u.DiskType\" is not valid: "
                   "images here hold a system disk only.",
                   idx[k]);
        SD_ENSUREC(*snapshot_id == NULL && sid != NULL && sid[0] != '\0', r->err, SD_E_INVALID,
                   "InvalidParameter",
                   "The specified parameter \"DiskDeviceMapping.%u.SnapshotId\" is not valid: "
                   "give one system disk snapshot.",
                   idx[k]);
        *snapshot_id = sid;
    }
out:
    free(idx);
    return rc;
}

sd_code api__ECS_CreateImage(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *snapshot_id = NULL;
    const char *instance_id = NULL;
    const char *name = NULL;
    const char *desc = NULL;
    char image_id[ECS_ID_MAX];

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_str(r->params, "SnapshotId", ECS_ID_MAX - 1, &snapshot_id, r->err));
    SD_TRY(api_param_str(r->params, "InstanceId", ECS_ID_MAX - 1, &instance_id, r->err));
    if ((snapshot_id == NULL || snapshot_id[0] == '\0') &&
        (instance_id == NULL || instance_id[0] == '\0')) {
        snapshot_id = NULL;
        SD_TRY(mapping_snapshot(r, &snapshot_id));
    }
    SD_ENSUREC((snapshot_id != NULL && snapshot_id[0] != '\0') ||
                   (instance_id != NULL && instance_id[0] != '\0'),
               r->err, SD_E_INVALID, "MissingParameter",
               "The parameter \"SnapshotId\" is needed but not provided (or give InstanceId or "
               "DiskDeviceMapping.1.SnapshotId).");
    SD_TRY(api_param_str(r->params, "ImageName", ECS_NAME_MAX - 1, &name, r->err));
    SD_TRY(api_param_str(r->params, "Description", ECS_DESC_MAX - 1, &desc, r->err));
    SD_TRY(name_free(r, &c, name));
    SD_TRY(
        ecs_create_image(r->opts->ecs, &c, snapshot_id, instance_id, name, desc, image_id, r->err));
    sd_jw_str(r->j, "ImageId", image_id);
out:
    return rc;
}

/* ---- CopyImage (R7) ----------------------------------------------------------- */

sd_code api__ECS_CopyImage(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *image_id = NULL;
    const char *dest = NULL;
    const char *name = NULL;
    const char *desc = NULL;
    const char *key = NULL;
    int encrypted = -1;
    char out_id[ECS_ID_MAX];

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_req(r->params, "ImageId", &image_id, r->err));
    SD_TRY(api_param_str(r->params, "DestinationRegionId", 63, &dest, r->err));
    SD_TRY(api_param_str(r->params, "DestinationImageName", ECS_NAME_MAX - 1, &name, r->err));
    SD_TRY(api_param_str(r->params, "DestinationDescription", ECS_DESC_MAX - 1, &desc, r->err));
    SD_TRY(api__tristate(r, "Encrypted", &encrypted));
    SD_TRY(api_param_str(r->params, "KMSKeyId", ECS_KEY_MAX - 1, &key, r->err));
    SD_TRY(name_free(r, &c, name));
    SD_TRY(ecs_copy_image(r->opts->ecs, &c, image_id, dest, name, desc, encrypted, key, out_id,
                          r->err));
    sd_jw_str(r->j, "ImageId", out_id);
out:
    return rc;
}

/* ---- DescribeImages ------------------------------------------------------------ */

/* Whether the comma-separated list (spaces around items allowed) holds
 * item, compared as icase says. */
static bool csv_has(const char *list, const char *item, bool icase)
{
    size_t n = strlen(item);

    for (const char *p = list; *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        size_t l = len;
        while (l > 0 && *s == ' ') {
            s++;
            l--;
        }
        while (l > 0 && s[l - 1] == ' ') {
            l--;
        }
        if (l == n && (icase ? strncasecmp(s, item, n) : strncmp(s, item, n)) == 0) {
            return true;
        }
        p += len;
        if (*p == ',') {
            p++;
        }
    }
    return false;
}

/* The ids of images that instances use (Usage "instance"). */
typedef struct used_ids {
    char (*id)[ECS_ID_MAX];
    size_t n;
    size_t cap;
    bool oom;
} used_ids;

static void used_visit(void *ctx, const ecs_instance *i)
{
    used_ids *u = ctx;

    if (i->image_id[0] == '\0' || u->oom) {
        return;
    }
    if (u->n == u->cap) {
        size_t cap = u->cap == 0 ? 16 : u->cap * 2;
        char(*id)[ECS_ID_MAX] = realloc(u->id, cap * sizeof *id);
        if (id == NULL) {
            u->oom = true;
            return;
        }
        u->id = id;
        u->cap = cap;
    }
    (void)snprintf(u->id[u->n++], ECS_ID_MAX, "%s", i->image_id); /* same size */
}

static bool used(const used_ids *u, const char *image_id)
{
    for (size_t k = 0; k < u->n; k++) {
        if (strcmp(u->id[k], image_id) == 0) {
            return true;
        }
    }
    return false;
}

typedef struct image_filter {
    const char *ids;    /* ImageId: comma list */
    const char *name;   /* ImageName */
    const char *status; /* comma list; NULL: Available; ALL: any */
    const char *snapshot_id;
    const char *usage; /* instance, none */
    bool none;         /* ImageOwnerAlias system or marketplace: nothing here */
    bool others;       /* ImageOwnerAlias others: images shared with the caller */
} image_filter;

typedef struct image_walk {
    api_req *r;
    const image_filter *f;
    const used_ids *used;
    api_page pg;
} image_walk;

static bool image_matches(const image_filter *f, bool in_use, const ecs_image *i)
{
    bool by_id = f->ids != NULL && f->ids[0] != '\0';
    /* Available by default, unless the caller names the images: a client
     * polling a copy by its id sees it while it is Creating */
    const char *status = f->status != NULL && f->status[0] != '\0' ? f->status
                         : by_id                                   ? "ALL"
                                                                   : "Available";

    return !f->none && (!by_id || csv_has(f->ids, i->image_id, false)) &&
           api__str_match(f->name, i->name) && api__str_match(f->snapshot_id, i->snapshot_id) &&
           (csv_has(status, "ALL", true) || csv_has(status, i->status, false)) &&
           api__str_match(f->usage, in_use ? "instance" : "none");
}

static void mapping_member(sd_jw *j, const ecs_image *i)
{
    char size[24];
    char progress[8];

    (void)snprintf(progress, sizeof progress, "%d%%", i->progress);    /* 0..100 */
    (void)snprintf(size, sizeof size, "%lld", (long long)i->size_gib); /* fits any int64 */
    sd_jw_obj_begin(j, "DiskDeviceMappings");
    sd_jw_arr_begin(j, "DiskDeviceMapping");
    sd_jw_obj_begin(j, NULL);
    sd_jw_str(j, "Device", "/dev/xvda");
    sd_jw_str(j, "Type", "system");
    sd_jw_str(j, "Size", size);
    sd_jw_str(j, "SnapshotId", i->snapshot_id);
    sd_jw_str(j, "Format", "RAW");
    sd_jw_bool(j, "Encrypted", i->encrypted);
    sd_jw_str(j, "Progress", progress);
    sd_jw_int(j, "RemainTime", 0);
    sd_jw_obj_end(j);
    sd_jw_arr_end(j);
    sd_jw_obj_end(j);
}

static void image_member(sd_jw *j, const ecs_image *i, bool in_use, bool shared)
{
    char progress[8];

    (void)snprintf(progress, sizeof progress, "%d%%", i->progress); /* 0..100 */
    sd_jw_obj_begin(j, NULL);
    sd_jw_str(j, "ImageId", i->image_id);
    sd_jw_str(j, "ImageName", i->name);
    sd_jw_str(j, "Description", i->description);
    sd_jw_str(j, "Status", i->status);
    sd_jw_str(j, "Progress", progress);
    sd_jw_int(j, "Size", i->size_gib);
    api__time_member(j, "CreationTime", i->created);
    sd_jw_str(j, "ImageOwnerAlias", shared ? "others" : "self");
    sd_jw_bool(j, "IsCopied", i->source_image_id[0] != '\0');
    sd_jw_bool(j, "IsPublic", false);
    sd_jw_str(j, "IsSelfShared", "");
    sd_jw_bool(j, "IsSubscribed", false);
    sd_jw_bool(j, "IsSupportIoOptimized", true);
    sd_jw_bool(j, "IsSupportCloudinit", true);
    sd_jw_bool(j, "Usable", true);
    sd_jw_str(j, "Usage", in_use ? "instance" : "none");
    sd_jw_str(j, "OSType", "linux");
    sd_jw_str(j, "Platform", "Others Linux");
    sd_jw_str(j, "Architecture", "x86_64");
    sd_jw_str(j, "BootMode", "BIOS");
    sd_jw_str(j, "ImageFamily", "");
    sd_jw_str(j, "ImageVersion", "");
    mapping_member(j, i);
    sd_jw_bool(j, "Encrypted", i->encrypted);
    sd_jw_str(j, "KMSKeyId", i->encrypted ? i->kms_key_id : "");
    sd_jw_str(j, "SourceImageId", i->source_image_id);
    sd_jw_obj_end(j);
}

static void image_visit(void *ctx, const ecs_image *i)
{
    image_walk *w = ctx;
    bool in_use = used(w->used, i->image_id);

    if (image_matches(w->f, in_use, i) && api__page_take(&w->pg)) {
        image_member(w->r->j, i, in_use, w->f->others);
    }
}

static sd_code image_filter_params(api_req *r, image_filter *f)
{
    sd_code rc = SD_OK;
    const char *alias = NULL;

    SD_TRY(api_param_str(r->params, "ImageId", (size_t)101 * ECS_ID_MAX, &f->ids, r->err));
    SD_TRY(api_param_str(r->params, "ImageName", ECS_NAME_MAX - 1, &f->name, r->err));
    SD_TRY(api_param_str(r->params, "Status", 128, &f->status, r->err));
    SD_TRY(api_param_str(r->params, "SnapshotId", ECS_ID_MAX - 1, &f->snapshot_id, r->err));
    SD_TRY(api_param_str(r->params, "Usage", 16, &f->usage, r->err));
    SD_TRY(api_param_str(r->params, "ImageOwnerAlias", 16, &alias, r->err));
    if (alias != NULL && alias[0] != '\0' && strcmp(alias, "self") != 0) {
        SD_ENSUREC(strcmp(alias, "system") == 0 || strcmp(alias, "others") == 0 ||
                       strcmp(alias, "marketplace") == 0,
                   r->err, SD_E_INVALID, "InvalidImageOwnerAlias.ValueNotSupported",
                   "The specified ImageOwnerAlias \"%s\" is not supported: system, self, others "
                   "or marketplace.",
                   alias);
        f->others = strcmp(alias, "others") == 0;
        f->none = !f->others; /* no public or marketplace images here */
    }
out:
    return rc;
}

sd_code api__ECS_DescribeImages(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    image_filter f = {0};
    used_ids u = {0};
    image_walk w = {.r = r, .f = &f, .used = &u};

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(image_filter_params(r, &f));
    SD_TRY(api__page_params(r, &w.pg));
    SD_TRY(ecs_list_instances(r->opts->ecs, &c, used_visit, &u, r->err));
    SD_ENSURE(!u.oom, r->err, SD_E_NOMEM, "out of memory");
    sd_jw_obj_begin(r->j, "Images");
    sd_jw_arr_begin(r->j, "Image");
    if (f.others) {
        SD_TRY(ecs_list_shared_images(r->opts->ecs, &c, image_visit, &w, r->err));
    } else {
        SD_TRY(ecs_list_images(r->opts->ecs, &c, image_visit, &w, r->err));
    }
    sd_jw_arr_end(r->j);
    sd_jw_obj_end(r->j);
    sd_jw_int(r->j, "TotalCount", w.pg.total);
    sd_jw_int(r->j, "PageNumber", w.pg.number);
    sd_jw_int(r->j, "PageSize", w.pg.size);
    sd_jw_str(r->j, "RegionId", c.region);
out:
    free(u.id);
    return rc;
}

/* ---- DeleteImage ------------------------------------------------------------------ */

sd_code api__ECS_DeleteImage(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *image_id = NULL;
    bool force = false;

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_req(r->params, "ImageId", &image_id, r->err));
    SD_TRY(api_param_bool(r->params, "Force", false, &force, r->err));
    SD_TRY(ecs_delete_image(r->opts->ecs, &c, image_id, force, r->err));
out:
    return rc;
}

/* ---- ImportImage, ExportImage --------------------------------------------------- */

sd_code api__ECS_ImportImage(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    unsigned *idx = NULL;
    size_t n = 0;
    const char *path;
    const char *bucket;
    const char *format;
    const char *name = NULL;
    char joined[PATH_CAP];
    char image_id[ECS_ID_MAX];
    char task[ECS_ID_MAX + 2];

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_list(r->params, "DiskDeviceMapping", 17, &idx, &n, r->err));
    SD_ENSUREC(n > 0, r->err, SD_E_INVALID, "MissingParameter",
               "The parameter \"DiskDeviceMapping.1.OSSObject\" is needed but not provided.");
    SD_ENSUREC(n == 1, r->err, SD_E_INVALID, "InvalidParameter",
               "The specified parameter \"DiskDeviceMapping\" is not valid: images here hold one "
               "disk.");
    path = api_param_item(r->params, "DiskDeviceMapping", idx[0], "OSSObject");
    SD_ENSUREC(path != NULL && path[0] != '\0', r->err, SD_E_INVALID, "MissingParameter",
               "The parameter \"DiskDeviceMapping.%u.OSSObject\" is needed but not provided.",
               idx[0]);
    SD_ENSUREC(strlen(path) < PATH_CAP - 64, r->err, SD_E_INVALID, "InvalidParameter",
               "The specified parameter \"DiskDeviceMapping.%u.OSSObject\" is too long.", idx[0]);
    bucket = api_param_item(r->params, "DiskDeviceMapping", idx[0], "OSSBucket");
    if (bucket != NULL && bucket[0] != '\0') {
        int k = snprintf(joined, sizeof joined, "%s/%s", bucket, path);
        SD_ENSUREC(k > 0 && (size_t)k < sizeof joined, r->err, SD_E_INVALID, "InvalidParameter",
                   "The specified parameter \"DiskDeviceMapping.%u.OSSBucket\" is too long.",
                   idx[0]);
        path = joined;
    }
    format = api_param_item(r->params, "DiskDeviceMapping", idx[0], "Format");
    if (format != NULL && format[0] == '\0') {
        format = NULL;
    }
    SD_TRY(api_param_str(r->params, "ImageName", ECS_NAME_MAX - 1, &name, r->err));
    SD_TRY(name_free(r, &c, name));
    SD_TRY(ecs_import_image(r->opts->ecs, &c, path, format, name, image_id, r->err));
    task_id(image_id, task);
    sd_jw_str(r->j, "ImageId", image_id);
    sd_jw_str(r->j, "RegionId", c.region);
    sd_jw_str(r->j, "TaskId", task);
out:
    free(idx);
    return rc;
}

sd_code api__ECS_ExportImage(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *image_id = NULL;
    const char *dir = NULL;
    const char *prefix = NULL;
    const char *format = NULL;
    char path[PATH_CAP];
    char task[ECS_ID_MAX + 2];
    int n;

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_req(r->params, "ImageId", &image_id, r->err));
    SD_TRY(api_param_req(r->params, "OSSBucket", &dir, r->err));
    SD_TRY(api_param_str(r->params, "OSSPrefix", 255, &prefix, r->err));
    SD_TRY(api_param_str(r->params, "ImageFormat", 16, &format, r->err));
    SD_ENSUREC(format == NULL || format[0] == '\0' || strcasecmp(format, "raw") == 0, r->err,
               SD_E_INVALID, "InvalidParameter.Format",
               "The image format %s is not supported for export (raw only).", format);
    SD_ENSUREC(strchr(image_id, '/') == NULL && (prefix == NULL || strchr(prefix, '/') == NULL),
               r->err, SD_E_INVALID, "InvalidParameter",
               "The specified parameter \"OSSPrefix\" is not valid: a file name prefix, no '/'.");
    n = snprintf(path, sizeof path, "%s/%s%s.raw", dir, prefix != NULL ? prefix : "", image_id);
    SD_ENSUREC(n > 0 && (size_t)n < sizeof path, r->err, SD_E_INVALID, "InvalidParameter",
               "The specified parameter \"OSSBucket\" is too long.");
    SD_TRY(ecs_export_image(r->opts->ecs, &c, image_id, path, r->err));
    task_id(image_id, task);
    sd_jw_str(r->j, "RegionId", c.region);
    sd_jw_str(r->j, "TaskId", task);
out:
    return rc;
}

/* ---- sharing (R4) ------------------------------------------------------------------ */

/* AddAccount.N / RemoveAccount.N as a list of borrowed strings (at most 10). */
static sd_code accounts_param(api_req *r, const char *name, const char *out[10], size_t *n)
{
    sd_code rc = SD_OK;
    unsigned *idx = NULL;
    size_t k = 0;

    *n = 0;
    SD_TRY(api_param_list(r->params, name, 10, &idx, &k, r->err));
    for (size_t i = 0; i < k; i++) {
        const char *v = api_param_item(r->params, name, idx[i], NULL);
        SD_ENSUREC(v != NULL && v[0] != '\0' && strlen(v) <= IAM_ACCOUNT_ID_LEN, r->err,
                   SD_E_INVALID, "InvalidParameter",
                   "The specified parameter \"%s.%u\" is not an account id.", name, idx[i]);
        out[(*n)++] = v;
    }
out:
    free(idx);
    return rc;
}

sd_code api__ECS_ModifyImageSharePermission(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *image_id = NULL;
    const char *add[10];
    const char *remove[10];
    size_t n_add = 0;
    size_t n_remove = 0;
    bool is_public = false;

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_req(r->params, "ImageId", &image_id, r->err));
    SD_TRY(api_param_bool(r->params, "IsPublic", false, &is_public, r->err));
    SD_ENSUREC(!is_public, r->err, SD_E_DENIED, "OperationDenied",
               "Images cannot be made public here; share them with accounts.");
    SD_TRY(accounts_param(r, "AddAccount", add, &n_add));
    SD_TRY(accounts_param(r, "RemoveAccount", remove, &n_remove));
    SD_TRY(ecs_share_image(r->opts->ecs, &c, image_id, add, n_add, remove, n_remove, r->err));
out:
    return rc;
}

typedef struct share_walk {
    sd_jw *j;
    api_page pg;
} share_walk;

static void share_visit(void *ctx, const char *account, int64_t shared)
{
    share_walk *w = ctx;

    if (api__page_take(&w->pg)) {
        sd_jw_obj_begin(w->j, NULL);
        sd_jw_str(w->j, "AliyunId", account);
        api__time_member(w->j, "SharedTime", shared);
        sd_jw_obj_end(w->j);
    }
}

sd_code api__ECS_DescribeImageSharePermission(api_req *r)
{
    sd_code rc = SD_OK;
    ecs_caller c;
    const char *image_id = NULL;
    share_walk w = {.j = r->j};

    SD_TRY(api__ecs_begin(r, &c));
    SD_TRY(api_param_req(r->params, "ImageId", &image_id, r->err));
    SD_TRY(api__page_params(r, &w.pg));
    sd_jw_str(r->j, "ImageId", image_id);
    sd_jw_str(r->j, "RegionId", c.region);
    sd_jw_obj_begin(r->j, "Accounts");
    sd_jw_arr_begin(r->j, "Account");
    SD_TRY(ecs_list_image_shares(r->opts->ecs, &c, image_id, share_visit, &w, r->err));
    sd_jw_arr_end(r->j);
    sd_jw_obj_end(r->j);
    sd_jw_obj_begin(r->j, "ShareGroups");
    sd_jw_arr_begin(r->j, "ShareGroup");
    sd_jw_arr_end(r->j);
    sd_jw_obj_end(r->j);
    sd_jw_int(r->j, "TotalCount", w.pg.total);
    sd_jw_int(r->j, "PageNumber", w.pg.number);
    sd_jw_int(r->j, "PageSize", w.pg.size);
out:
    return rc;
}
