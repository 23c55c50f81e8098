/* test_ecs.c: the ECS control plane over a real KMS, iam and block store,
 * with an exporter that keeps the exports so tests can do I/O through
 * them: the key rules R1-R12 at the module's interface. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "block/block.h"
#include "common/sd_fault.h"
#include "crypto/crypto.h"
#include "ecs/ecs.h"
#include "iam/iam.h"
#include "kms/kms.h"
#include "kms/kms_client.h"
#include "store/store.h"

#define MAX_EXPORTS 16

typedef struct exported {
    char name[64];
    char instance_id[ECS_ID_MAX];
    blk_export exp;
} exported;

typedef struct world {
    char dir[64];
    char images[96];
    char db[128];
    ecs_opts eo;
    kms_rootkey *root;
    kms *k;
    iam *ids;
    blk_store *blocks;
    ecs *e;
    iam_account_info alice;
    iam_account_info bob;
    exported exports[MAX_EXPORTS];
    size_t nexports;
} world;

static world *w;

/* The job hook: holds the first job that reports `at` percent, until
 * released (or, sleep_only, for 300 ms), and records what jobs report. */
typedef struct hold {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool armed;
    int at;
    bool sleep_only;
    bool reached;
    bool released;
    char id[ECS_ID_MAX];
    int max_pct;
} hold;

static hold held = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void job_hook(void *ctx, const char *id, int pct)
{
    (void)ctx;
    pthread_mutex_lock(&held.mu);
    if (strcmp(id, held.id) == 0 && pct > held.max_pct) {
        held.max_pct = pct;
    }
    if (held.armed && pct == held.at) {
        held.armed = false;
        held.reached = true;
        (void)snprintf(held.id, sizeof held.id, "%s", id);
        held.max_pct = pct;
        pthread_cond_broadcast(&held.cv);
        while (!held.sleep_only && !held.released) {
            pthread_cond_wait(&held.cv, &held.mu);
        }
        if (held.sleep_only) {
            pthread_mutex_unlock(&held.mu);
            usleep(300 * 1000); /* the test closes the module meanwhile */
            return;
        }
    }
    pthread_mutex_unlock(&held.mu);
}

static void hold_arm(int at, bool sleep_only)
{
    pthread_mutex_lock(&held.mu);
    held.armed = true;
    held.at = at;
    held.sleep_only = sleep_only;
    held.reached = false;
    held.released = false;
    held.id[0] = '\0';
    held.max_pct = -1;
    pthread_mutex_unlock(&held.mu);
}

static void hold_wait(void)
{
    pthread_mutex_lock(&held.mu);
    while (!held.reached) {
        pthread_cond_wait(&held.cv, &held.mu);
    }
    pthread_mutex_unlock(&held.mu);
}

static void hold_release(void)
{
    pthread_mutex_lock(&held.mu);
    held.released = true;
    pthread_cond_broadcast(&held.cv);
    pthread_mutex_unlock(&held.mu);
}

static sd_code ex_add(void *h, const char *instance_id, const char *name, const blk_export *exp,
                      char *uri, size_t cap, sd_err *err)
{
    world *x = h;

    (void)err;
    assert_true(x->nexports < MAX_EXPORTS);
    (void)snprintf(x->exports[x->nexports].name, sizeof x->exports[0].name, "%s", name);
    (void)snprintf(x->exports[x->nexports].instance_id, ECS_ID_MAX, "%s", instance_id);
    x->exports[x->nexports].exp = *exp;
    x->nexports++;
    (void)snprintf(uri, cap, "test://%s", name);
    return SD_OK;
}

static void ex_remove(void *h, const char *instance_id, const char *name)
{
    world *x = h;

    for (size_t i = 0; i < x->nexports; i++) {
        if (strcmp(x->exports[i].name, name) == 0) {
            assert_string_equal(x->exports[i].instance_id, instance_id);
            x->exports[i].exp.ops->close(x->exports[i].exp.h);
            x->exports[i] = x->exports[--x->nexports];
            return;
        }
    }
    fail_msg("removing %s, which is not exported", name);
}

/* A socket named after the instance, and no TCP. */
static sd_code ex_describe(void *h, const char *instance_id, ecs_dataplane *out, sd_err *err)
{
    (void)h;
    (void)err;
    (void)snprintf(out->socket, sizeof out->socket, "test-sock/%s", instance_id);
    return SD_OK;
}

static const blk_export *export_of(const char *disk)
{
    for (size_t i = 0; i < w->nexports; i++) {
        if (strcmp(w->exports[i].name, disk) == 0) {
            return &w->exports[i].exp;
        }
    }
    return NULL;
}

/* The default region and one more, for cross-region copies (R7). */
static const char *const test_regions[] = {"cn-hangzhou", "cn-shanghai"};

static int setup(void **state)
{
    char path[128];
    kms_opts ko = {0};
    iam_opts io = IAM_OPTS_INIT;
    ecs_opts eo = {0};
    sd_secret *wrap = NULL;

    (void)state;
    w = calloc(1, sizeof *w);
    (void)snprintf(w->dir, sizeof w->dir, "/tmp/sd-ecs-XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    (void)snprintf(path, sizeof path, "%s/root.key", w->dir);
    assert_int_equal(kms_rootkey_file(path, true, &w->root, NULL), SD_OK);
    (void)snprintf(path, sizeof path, "%s/meta.db", w->dir);
    ko.db_path = path;
    ko.root = w->root;
    ko.clock = sd_clock_system();
    ko.rng = crypto_rng_system();
    assert_int_equal(kms_open(&ko, &w->k, NULL), SD_OK);
    assert_int_equal(kms_rootkey_derive(w->root, "test", &wrap, NULL), SD_OK);
    io.db_path = path;
    io.wrap_key = wrap;
    io.clock = sd_clock_system();
    io.rng = crypto_rng_system();
    assert_int_equal(iam_open(&io, &w->ids, NULL), SD_OK);
    sd_secret_free(wrap);
    assert_int_equal(iam_account_create(w->ids, "alice", &w->alice, NULL), SD_OK);
    assert_int_equal(iam_account_create(w->ids, "bob", &w->bob, NULL), SD_OK);
    (void)snprintf(path, sizeof path, "%s/blocks", w->dir);
    assert_int_equal(sd_mkdirs(path, 0700, NULL), SD_OK);
    assert_int_equal(blk_store_open_local(path, &w->blocks, NULL), SD_OK);
    (void)snprintf(path, sizeof path, "%s/meta.db", w->dir);
    eo.db_path = path;
    eo.blocks = w->blocks;
    eo.kms = kms_client_local(w->k);
    eo.iam = w->ids;
    eo.exporter = (ecs_exporter){ex_add, ex_remove, w, ex_describe};
    eo.regions = test_regions;
    eo.nregions = 2;
    (void)snprintf(w->images, sizeof w->images, "%s/images", w->dir);
    eo.image_dir = w->images;
    eo.clock = sd_clock_system();
    eo.rng = crypto_rng_system();
    eo.job_hook = job_hook;
    assert_int_equal(ecs_open(&eo, &w->e, NULL), SD_OK);
    w->eo = eo;
    (void)snprintf(w->db, sizeof w->db, "%s", path);
    w->eo.db_path = w->db;
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    ecs_close(w->e);
    assert_int_equal(w->nexports, 0); /* closing withdrew every export */
    blk_store_close(w->blocks);
    iam_close(w->ids);
    kms_close(w->k);
    kms_rootkey_free(w->root);
    (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", w->dir);
    free(w);
    return system(cmd) == 0 ? 0 : -1;
}

static ecs_caller alice(void)
{
    return (ecs_caller){w->alice.account_id, "cn-hangzhou", false};
}

static kms_caller kalice(void)
{
    return (kms_caller){w->alice.account_id, "cn-hangzhou"};
}

static void service_key_id(char out[KMS_ID_MAX])
{
    kms_key_meta m;
    kms_caller kc = kalice();

    assert_int_equal(kms_describe_key(w->k, &kc, "alias/acs/ecs", &m, NULL), SD_OK);
    (void)snprintf(out, KMS_ID_MAX, "%s", m.key_id);
}

static void new_cmk(char out[KMS_ID_MAX])
{
    kms_create_opts o = KMS_CREATE_OPTS_INIT;
    kms_key_meta m;
    kms_caller kc = kalice();

    assert_int_equal(kms_create_key(w->k, &kc, &o, &m, NULL), SD_OK);
    (void)snprintf(out, KMS_ID_MAX, "%s", m.key_id);
}

static void grant_role(void)
{
    sd_err err = SD_ERR_INIT;
    sd_code rc =
        iam_role_create(w->ids, w->alice.account_id, IAM_ECS_DISK_ROLE, "{}", NULL, NULL, &err);
    assert_true(rc == SD_OK || rc == SD_E_CONFLICT);
}

static void expect_code(sd_code got, const sd_err *err, const char *code)
{
    if (got == SD_OK || strcmp(err->api_code, code) != 0) {
        fail_msg("expected %s, got %d %s: %s", code, (int)got, err->api_code, err->msg);
    }
}

static void disk_of(const char *id, ecs_disk *d)
{
    ecs_caller c = alice();
    assert_int_equal(ecs_describe_disk(w->e, &c, id, d, NULL), SD_OK);
}

/* The status and progress of a disk or an image. */
typedef void (*state_fn)(const char *id, char status[16], int *progress);

/* Background jobs (a re-encrypting CreateDisk, ReInitDisk or CopyImage,
 * ImportImage): polls get until id is no longer Creating or ReIniting; its
 * status then, and whether it ended Available at 100%. */
static bool wait_ended(const char *id, state_fn get, char status[16])
{
    int progress = 0;

    for (int i = 0; i < 1000; i++) {
        get(id, status, &progress);
        if (strcmp(status, "Creating") != 0 && strcmp(status, "ReIniting") != 0) {
            return (strcmp(status, "Available") == 0 || strcmp(status, "In_use") == 0) &&
                   progress == 100;
        }
        usleep(10000);
    }
    fail_msg("%s still %s", id, status);
    return false;
}

static void disk_state(const char *id, char status[16], int *progress)
{
    ecs_disk d;

    disk_of(id, &d);
    (void)snprintf(status, 16, "%s", d.status);
    *progress = d.progress;
}

static ecs_disk wait_disk(const char *id)
{
    char status[16];
    ecs_disk d;

    assert_true(wait_ended(id, disk_state, status));
    disk_of(id, &d);
    return d;
}

/* ---- R1, R2, R9 ----------------------------------------------------------- */

static void r1_encrypted_disks_use_the_service_key_unless_told(void **state)
{
    ecs_caller c = alice();
    ecs_disk_spec s = {.size_gib = 20, .encrypted = 1};
    char id[ECS_ID_MAX];
    char svc[KMS_ID_MAX];
    ecs_disk d;
    sd_err err = SD_ERR_INIT;

    (void)state;
    assert_int_equal(ecs_create_disk(w->e, &c, &s, id, NULL), SD_OK);
    disk_of(id, &d);
    service_key_id(svc);
    assert_true(d.encrypted);
    assert_string_equal(d.kms_key_id, svc);
    assert_string_equal(d.status, "Available");
    /* negative twin: no Encrypted, no default: plain */
    s.encrypted = -1;
    assert_int_equal(ecs_create_disk(w->e, &c, &s, id, NULL), SD_OK);
    disk_of(id, &d);
    assert_false(d.encrypted);
    assert_string_equal(d.kms_key_id, "");
    /* a key without Encrypted=true is refused */
    s.kms_key_id = "alias/acs/ecs";
    expect_code(ecs_create_disk(w->e, &c, &s, id, &err), &err, "InvalidParameter.EncryptedIllegal");
}

/* Configured zones go to the region their id begins with (the longest
 * match); a region without any keeps <region>-a and -b; a zone of no
 * served region stops the module from opening. */
static void zones_come_from_the_configuration(void **state)
{
    static const char *const good[] = {"cn-shanghai-g", "cn-shanghai-h"};
    static const char *const bad[] = {"eu-west-1a"};
    ecs_opts o = w->eo;
    ecs *e = NULL;
    const char *const *z = NULL;
    ecs_caller sh = {w->alice.account_id, "cn-shanghai", false};
    ecs_disk_spec spec = {.size_gib = 20, .zone = "cn-shanghai-a"};
    char id[ECS_ID_MAX];
    char db[64];
    sd_err err = SD_ERR_INIT;

    (void)state;
    /* a database of its own: opening runs the restart sweeps */
    (void)snprintf(db, sizeof db, "/tmp/sd-ecs-zones-%d.db", (int)getpid());
    o.db_path = db;
    o.zones = good;
    o.nzones = 2;
    assert_int_equal(ecs_open(&o, &e, NULL), SD_OK);
    assert_int_equal(ecs_zones(e, "cn-shanghai", &z), 2);
    assert_string_equal(z[1], "cn-shanghai-h");
    assert_int_equal(ecs_zones(e, "cn-hangzhou", &z), 2);
    assert_string_equal(z[0], "cn-hangzhou-a");
    assert_int_equal(ecs_zones(e, "eu-west-1", &z), 0);
    expect_code(ecs_create_disk(e, &sh, &spec, id, &err), &err, "InvalidZoneId.NotFound");
    ecs_close(e);
    e = NULL;
    o.zones = bad;
    o.nzones = 1;
    sd_err_clear(&err);
    assert_int_equal(ecs_open(&o, &e, &err), SD_E_INVALID);
    assert_non_null(strstr(err.msg, "eu-west-1a"));
    assert_null(e);
    for (size_t i = 0; i < 3; i++) {
        static const char *const suffix[] = {"", "-wal", "-shm"};
        char p[80];
        (void)snprintf(p, sizeof p, "%s%s", db, suffix[i]);
        (void)unlink(p);
    }
}

static void r9_local_categories_are_never_encrypted(void **state)
{
    ecs_caller c = alice();
    ecs_disk_spec s = {.size_gib = 20, .encrypted = 1, .category = "local_ssd_pro"};
    char id[ECS_ID_MAX];
    sd_err err = SD_ERR_INIT;

    (void)state;
    expect_code(ecs_create_disk(w->e, &c, &s, id, &err), &err,
                "InvalidParameter.EncryptedNotSupported");
    assert_non_null(strstr(err.msg, "local_ssd_pro"));
    s.encrypted = -1;
    assert_int_equal(ecs_create_disk(w->e, &c, &s, id, NULL), SD_OK); /* plain is fine */
    s.category = "floppy";
    sd_err_clear(&err);
    expect_code(ecs_create_disk(w->e, &c, &s, id, &err), &err,
                "InvalidDiskCategory.ValueNotSupported");
}

/* ---- R10 ---------------------------------------------------------------------- */

static void r10_customer_keys_need_the_service_role(void **state)
{
    ecs_caller c = alice();
    char cmk[KMS_ID_MAX];
    char id[ECS_ID_MAX];
    ecs_disk_spec s = {.size_gib = 20, .encrypted = 1};
    ecs_disk d;
    sd_err err = SD_ERR_INIT;

    (void)state;
    new_cmk(cmk);
    s.kms_key_id = cmk;
    sd_ignore(
        iam_role_delete(w->ids, w->alice.account_id, IAM_ECS_DISK_ROLE, NULL)); /* maybe absent */
    expect_code(ecs_create_disk(w->e, &c, &s, id, &err), &err,
                "InvalidParameter.KMSKeyId.KMSUnauthorized");
    grant_role();
    assert_int_equal(ecs_create_disk(w->e, &c, &s, id, NULL), SD_OK);
    disk_of(id, &d);
    assert_string_equal(d.kms_key_id, cmk);
    sd_err_clear(&err);
    s.kms_key_id = "key-doesnotexist0000000";
    expect_code(ecs_create_disk(w->e, &c, &s, id, &err), &err,
                "InvalidParameter.KMSKeyId.NotFound");
}

/* ---- R3, R4, R5, R6 and I/O through exports -------------------------------------- */

static void write_marker(const char *disk, char fill)
{
    const blk_export *x = export_of(disk);
    char buf[4096];

    assert_non_null(x);
    memset(buf, fill, sizeof buf);
    assert_int_equal(x->ops->pwrite(x->h, buf, sizeof buf, 8192, 0, NULL), SD_OK);
    assert_int_equal(x->ops->flush(x->h, NULL), SD_OK);
}

static void expect_marker(const char *disk, char fill)
{
    const blk_export *x = export_of(disk);
    char buf[4096];
    char want[4096];

    assert_non_null(x);
    memset(want, fill, sizeof want);
    assert_int_equal(x->ops->pread(x->h, buf, sizeof buf, 8192, NULL), SD_OK);
    assert_memory_equal(buf, want, sizeof buf);
}

/* An instance with one data disk made by spec; returns its ids. */
static void instance_with(const ecs_disk_req *data, char inst[ECS_ID_MAX], char disk[ECS_ID_MAX])
{
    ecs_caller c = alice();
    ecs_instance_spec s = {.n_data_disks = 1, .start = true};

    s.system_disk = (ecs_disk_req){.size_gib = 20, .encrypted = -1};
    s.data_disks[0] = *data;
    assert_int_equal(ecs_create_instance(w->e, &c, &s, inst, NULL), SD_OK);
    /* the data disk is the one that is not the system disk */
    for (size_t i = 0; i < w->nexports; i++) {
        ecs_disk d;
        if (ecs_describe_disk(w->e, &c, w->exports[i].name, &d, NULL) != SD_OK) {
            continue; /* another account's */
        }
        if (strcmp(d.instance_id, inst) == 0 && strcmp(d.type, "data") == 0) {
            (void)snprintf(disk, ECS_ID_MAX, "%s", d.disk_id);
            return;
        }
    }
    fail_msg("no data disk exported for %s", inst);
}

/* Alibaba's CreateSnapshot limit: 256 manual snapshots of a disk are
 * kept (a disk made from a snapshot, so its chain has a base too); the
 * 257th is QuotaExceed.Snapshot naming the disk and the limit, and
 * changes nothing; deleting one makes room again.  Another disk is not
 * limited by this one's snapshots. */
static void a_disk_keeps_256_snapshots_and_not_one_more(void **state)
{
    ecs_caller c = alice();
    ecs_disk_spec s = {.size_gib = 20, .encrypted = 0};
    char base[ECS_ID_MAX], disk[ECS_ID_MAX], other[ECS_ID_MAX], snap[ECS_ID_MAX];
    char first[ECS_ID_MAX] = "";
    char limit[16];
    sd_err err = SD_ERR_INIT;

    (void)state;
    assert_int_equal(ecs_create_disk(w->e, &c, &s, base, NULL), SD_OK);
    assert_int_equal(ecs_create_snapshot(w->e, &c, base, NULL, NULL, snap, NULL), SD_OK);
    s.snapshot_id = snap;
    assert_int_equal(ecs_create_disk(w->e, &c, &s, disk, NULL), SD_OK);
    s.snapshot_id = NULL;
    assert_int_equal(ecs_create_disk(w->e, &c, &s, other, NULL), SD_OK);
    for (unsigned i = 0; i < BLK_MAX_SNAPSHOTS; i++) {
        assert_int_equal(ecs_create_snapshot(w->e, &c, disk, NULL, NULL, snap, NULL), SD_OK);
        if (i == 100) {
            (void)snprintf(first, sizeof first, "%s", snap);
        }
    }
    assert_int_equal(BLK_MAX_SNAPSHOTS, 256);
    expect_code(ecs_create_snapshot(w->e, &c, disk, NULL, NULL, snap, &err), &err,
                "QuotaExceed.Snapshot");
    assert_non_null(strstr(err.msg, disk));
    (void)snprintf(limit, sizeof limit, " %u", BLK_MAX_SNAPSHOTS);
    assert_non_null(strstr(err.msg, limit));
    /* the refusal made no snapshot: still refused */
    sd_err_clear(&err);
    expect_code(ecs_create_snapshot(w->e, &c, disk, NULL, NULL, snap, &err), &err,
                "QuotaExceed.Snapshot");
    assert_int_equal(ecs_create_snapshot(w->e, &c, other, NULL, NULL, snap, NULL), SD_OK);
    assert_int_equal(ecs_delete_snapshot(w->e, &c, first, false, NULL), SD_OK);
    assert_int_equal(ecs_create_snapshot(w->e, &c, disk, NULL, NULL, snap, NULL), SD_OK);
    sd_err_clear(&err);
    expect_code(ecs_create_snapshot(w->e, &c, disk, NULL, NULL, snap, &err), &err,
                "QuotaExceed.Snapshot");
}

/* A running instance's encrypted disk takes and deletes snapshots past
 * the number a disk keeps at once (256): deleting a snapshot merges its
 * layer, so CreateSnapshot never runs out; the data and the snapshot kept
 * last stay right. */
static void a_disk_takes_and_deletes_snapshots_without_end(void **state)
{
    ecs_caller c = alice();
    ecs_disk_req req = {.size_gib = 20, .encrypted = 1};
    char inst[ECS_ID_MAX], disk[ECS_ID_MAX], snap[ECS_ID_MAX], prev[ECS_ID_MAX] = "";
    char inst2[ECS_ID_MAX], disk2[ECS_ID_MAX];

    (void)state;
    instance_with(&req, inst, disk);
    for (int i = 0; i < 140; i++) {
        write_marker(disk, (char)('A' + i % 26));
        assert_int_equal(ecs_create_snapshot(w->e, &c, disk, NULL, NULL, snap, NULL), SD_OK);
        if (prev[0] != '\0') {
            assert_int_equal(ecs_delete_snapshot(w->e, &c, prev, false, NULL), SD_OK);
        }
        (void)snprintf(prev, sizeof prev, "%s", snap);
    }
    write_marker(disk, 'z');
    expect_marker(disk, 'z');
    /* the last snapshot holds the last marker before it: 139 % 26 = 9 */
    req = (ecs_disk_req){.snapshot_id = snap, .encrypted = -1};
    instance_with(&req, inst2, disk2);
    expect_marker(disk2, 'J');
}

static void the_data_plane_is_described_to_the_running_owner_only(void **state)
{
    ecs_caller a = alice();
    ecs_caller b = {w->bob.account_id, "cn-hangzhou", false};
    ecs_disk_req req = {.size_gib = 20, .encrypted = 1, .delete_with_instance = true};
    char inst[ECS_ID_MAX], disk[ECS_ID_MAX], sock[96];
    ecs_dataplane dp;
    sd_err err = SD_ERR_INIT;
    bool seen = false;

    (void)state;
    instance_with(&req, inst, disk);
    for (size_t i = 0; i < w->nexports; i++) {
        if (strcmp(w->exports[i].name, disk) == 0) {
            assert_string_equal(w->exports[i].instance_id, inst); /* exported for inst only */
            seen = true;
        }
    }
    assert_true(seen);
    assert_int_equal(ecs_describe_dataplane(w->e, &a, inst, &dp, NULL), SD_OK);
    (void)snprintf(sock, sizeof sock, "test-sock/%s", inst);
    assert_string_equal(dp.socket, sock);
    assert_int_equal(dp.ndisks, 2); /* system and data disk */
    assert_true(strcmp(dp.disks[0].disk_id, disk) == 0 || strcmp(dp.disks[1].disk_id, disk) == 0);
    assert_memory_equal(dp.disks[0].uri, "test://d-", 9);
    ecs_dataplane_clear(&dp);
    /* another account: as if the instance did not exist */
    expect_code(ecs_describe_dataplane(w->e, &b, inst, &dp, &err), &err,
                "InvalidInstanceId.NotFound");
    ecs_dataplane_clear(&dp);
    sd_err_clear(&err);
    expect_code(ecs_describe_dataplane(w->e, &a, "i-nosuchinstance", &dp, &err), &err,
                "InvalidInstanceId.NotFound");
    ecs_dataplane_clear(&dp);
    sd_err_clear(&err);
    assert_int_equal(ecs_stop_instance(w->e, &a, inst, NULL), SD_OK);
    expect_code(ecs_describe_dataplane(w->e, &a, inst, &dp, &err), &err, "IncorrectInstanceStatus");
    ecs_dataplane_clear(&dp);
}

static void r3_r4_snapshots_and_clones_keep_the_key_and_data(void **state)
{
    ecs_caller c = alice();
    ecs_disk_req req = {.size_gib = 20, .encrypted = 1};
    char inst[ECS_ID_MAX], disk[ECS_ID_MAX], snap[ECS_ID_MAX], clone[ECS_ID_MAX];
    char inst2[ECS_ID_MAX], disk2[ECS_ID_MAX];
    ecs_disk d, d2;
    ecs_disk_spec s = {.encrypted = -1};

    (void)state;
    instance_with(&req, inst, disk);
    disk_of(disk, &d);
    assert_true(d.encrypted);
    assert_non_null(strstr(d.nbd_uri, disk));
    write_marker(disk, 'S');
    assert_int_equal(ecs_create_snapshot(w->e, &c, disk, "snap", NULL, snap, NULL), SD_OK);
    write_marker(disk, 'T'); /* after the snapshot: not in it */
    s.snapshot_id = snap;
    assert_int_equal(ecs_create_disk(w->e, &c, &s, clone, NULL), SD_OK);
    disk_of(clone, &d2);
    assert_true(d2.encrypted); /* R4: from an encrypted snapshot */
    assert_string_equal(d2.kms_key_id, d.kms_key_id);
    assert_string_equal(d2.source_snapshot_id, snap);
    /* read the clone through a second instance */
    req = (ecs_disk_req){.snapshot_id = snap, .encrypted = -1};
    instance_with(&req, inst2, disk2);
    expect_marker(disk2, 'S');
    expect_marker(disk, 'T');
    assert_int_equal(ecs_stop_instance(w->e, &c, inst, NULL), SD_OK);
    assert_int_equal(ecs_stop_instance(w->e, &c, inst2, NULL), SD_OK);
    assert_null(export_of(disk));
    disk_of(disk, &d);
    assert_string_equal(d.nbd_uri, "");
}

static void r4_r5_r6_new_keys_and_first_encryption_copy_the_data(void **state)
{
    ecs_caller c = alice();
    ecs_disk_req req = {.size_gib = 20, .encrypted = -1};
    char inst[ECS_ID_MAX], disk[ECS_ID_MAX], snap[ECS_ID_MAX], enc[ECS_ID_MAX];
    char inst2[ECS_ID_MAX], disk2[ECS_ID_MAX], snap2[ECS_ID_MAX], rekeyed[ECS_ID_MAX];
    char cmk[KMS_ID_MAX];
    ecs_disk d;
    ecs_disk_spec s = {.encrypted = 1};
    sd_err err = SD_ERR_INIT;

    (void)state;
    instance_with(&req, inst, disk); /* a plain disk */
    write_marker(disk, 'P');
    assert_int_equal(ecs_create_snapshot(w->e, &c, disk, NULL, NULL, snap, NULL), SD_OK);
    assert_int_equal(ecs_stop_instance(w->e, &c, inst, NULL), SD_OK);
    /* R5: plain snapshot + Encrypted=true: an encrypted copy */
    s.snapshot_id = snap;
    assert_int_equal(ecs_create_disk(w->e, &c, &s, enc, NULL), SD_OK);
    d = wait_disk(enc);
    assert_true(d.encrypted);
    assert_int_equal(ecs_create_snapshot(w->e, &c, enc, NULL, NULL, snap2, NULL), SD_OK);
    /* R6: an encrypted snapshot cannot give a plain disk */
    s = (ecs_disk_spec){.snapshot_id = snap2, .encrypted = 0};
    expect_code(ecs_create_disk(w->e, &c, &s, rekeyed, &err), &err, "EncryptedOption.Conflict");
    /* R4: another key re-encrypts under a new DK */
    new_cmk(cmk);
    grant_role();
    s = (ecs_disk_spec){.snapshot_id = snap2, .encrypted = 1, .kms_key_id = cmk};
    assert_int_equal(ecs_create_disk(w->e, &c, &s, rekeyed, NULL), SD_OK);
    d = wait_disk(rekeyed);
    assert_string_equal(d.kms_key_id, cmk);
    req = (ecs_disk_req){.snapshot_id = snap2, .encrypted = -1};
    instance_with(&req, inst2, disk2);
    expect_marker(disk2, 'P');
    assert_int_equal(ecs_stop_instance(w->e, &c, inst2, NULL), SD_OK);
}

/* ---- R8 ------------------------------------------------------------------------- */

static void r8_default_encryption_applies_to_new_disks(void **state)
{
    ecs_caller c = alice();
    ecs_disk_spec s = {.size_gib = 20, .encrypted = -1};
    char id[ECS_ID_MAX];
    char key[ECS_KEY_MAX];
    char cmk[KMS_ID_MAX];
    char svc[KMS_ID_MAX];
    bool on = true;
    ecs_disk d;
    sd_err err = SD_ERR_INIT;

    (void)state;
    service_key_id(svc);
    assert_int_equal(ecs_default_status(w->e, &c, &on, key, sizeof key, NULL), SD_OK);
    assert_false(on);
    expect_code(ecs_default_key(w->e, &c, "alias/acs/ecs", &err), &err, "OperationDenied");
    assert_int_equal(ecs_default_encryption(w->e, &c, true, NULL), SD_OK);
    assert_int_equal(ecs_create_disk(w->e, &c, &s, id, NULL), SD_OK);
    disk_of(id, &d);
    assert_true(d.encrypted);
    assert_string_equal(d.kms_key_id, svc);
    new_cmk(cmk);
    grant_role();
    assert_int_equal(ecs_default_key(w->e, &c, cmk, NULL), SD_OK);
    assert_int_equal(ecs_default_status(w->e, &c, &on, key, sizeof key, NULL), SD_OK);
    assert_true(on);
    assert_string_equal(key, cmk);
    assert_int_equal(ecs_create_disk(w->e, &c, &s, id, NULL), SD_OK);
    disk_of(id, &d);
    assert_string_equal(d.kms_key_id, cmk);
    assert_int_equal(ecs_default_key(w->e, &c, NULL, NULL), SD_OK); /* reset */
    assert_int_equal(ecs_default_status(w->e, &c, &on, key, sizeof key, NULL), SD_OK);
    assert_string_equal(key, svc);
    assert_int_equal(ecs_default_encryption(w->e, &c, false, NULL), SD_OK);
    assert_int_equal(ecs_create_disk(w->e, &c, &s, id, NULL), SD_OK);
    disk_of(id, &d);
    assert_false(d.encrypted);
}

/* ---- R11, R12 ------------------------------------------------------------------------ */

static void r11_a_disabled_key_stops_starts_but_not_running_instances(void **state)
{
    ecs_caller c = alice();
    kms_caller kc = kalice();
    char cmk[KMS_ID_MAX];
    char inst[ECS_ID_MAX], disk[ECS_ID_MAX];
    ecs_disk_req req = {.size_gib = 20, .encrypted = 1};
    size_t before;
    sd_err err = SD_ERR_INIT;

    (void)state;
    new_cmk(cmk);
    grant_role();
    req.kms_key_id = cmk;
    instance_with(&req, inst, disk);
    write_marker(disk, 'R');
    assert_int_equal(kms_disable_key(w->k, &kc, cmk, NULL), SD_OK);
    expect_marker(disk, 'R'); /* running: keeps its in-memory key */
    assert_int_equal(ecs_stop_instance(w->e, &c, inst, NULL), SD_OK);
    before = w->nexports;
    expect_code(ecs_start_instance(w->e, &c, inst, &err), &err,
                "InvalidParameter.KMSKeyId.CMKNotEnabled");
    assert_non_null(strstr(err.msg, "Disabled"));
    assert_int_equal(w->nexports, before); /* nothing exported, not even the system disk */
    assert_int_equal(kms_enable_key(w->k, &kc, cmk, NULL), SD_OK);
    assert_int_equal(ecs_start_instance(w->e, &c, inst, NULL), SD_OK);
    expect_marker(disk, 'R');
    /* revoking the role stops later unwrapping too (R10) */
    assert_int_equal(ecs_stop_instance(w->e, &c, inst, NULL), SD_OK);
    assert_int_equal(iam_role_delete(w->ids, w->alice.account_id, IAM_ECS_DISK_ROLE, NULL), SD_OK);
    sd_err_clear(&err);
    expect_code(ecs_start_instance(w->e, &c, inst, &err), &err,
                "InvalidParameter.KMSKeyId.KMSUnauthorized");
    grant_role();
    sd_err_clear(&err);
    expect_code(ecs_stop_instance(w->e, &c, inst, &err), &err, "IncorrectInstanceStatus");
    assert_int_equal(ecs_delete_instance(w->e, &c, inst, false, NULL), SD_OK);
}

typedef struct deps {
    int disks;
    int snapshots;
    int images;
    int instances;
    int stopped;
} deps;

static void count_dep(void *ctx, const char *kind, const char *id, const char *status)
{
    deps *d = ctx;

    (void)id;
    if (strcmp(kind, "disk") == 0) {
        d->disks++;
    } else if (strcmp(kind, "snapshot") == 0) {
        d->snapshots++;
    } else if (strcmp(kind, "image") == 0) {
        d->images++;
    } else if (strcmp(kind, "instance") == 0) {
        d->instances++;
        d->stopped += strcmp(status, "Stopped") == 0;
    }
}

static void r12_the_dependents_of_a_key_are_listed(void **state)
{
    ecs_caller c = alice();
    char cmk[KMS_ID_MAX];
    char inst[ECS_ID_MAX], disk[ECS_ID_MAX], snap[ECS_ID_MAX], img[ECS_ID_MAX];
    ecs_disk_req req = {.size_gib = 20, .encrypted = 1};
    deps d = {0};

    (void)state;
    new_cmk(cmk);
    grant_role();
    req.kms_key_id = cmk;
    instance_with(&req, inst, disk);
    assert_int_equal(ecs_create_snapshot(w->e, &c, disk, NULL, NULL, snap, NULL), SD_OK);
    assert_int_equal(ecs_create_image(w->e, &c, snap, NULL, NULL, NULL, img, NULL), SD_OK);
    assert_int_equal(ecs_key_dependents(w->e, &c, cmk, count_dep, &d, NULL), SD_OK);
    assert_int_equal(d.disks, 1);
    assert_int_equal(d.snapshots, 1);
    assert_int_equal(d.images, 1);
    assert_int_equal(d.instances, 1);
    assert_int_equal(d.stopped, 0);
    assert_int_equal(ecs_stop_instance(w->e, &c, inst, NULL), SD_OK);
    d = (deps){0};
    assert_int_equal(ecs_key_dependents(w->e, &c, cmk, count_dep, &d, NULL), SD_OK);
    assert_int_equal(d.instances, 1); /* a stopped instance could not start again */
    assert_int_equal(d.stopped, 1);
    assert_int_equal(d.images, 1);
}

/* ---- tenants, attachments ------------------------------------------------------------ */

static void other_accounts_see_nothing(void **state)
{
    ecs_caller a = alice();
    ecs_caller b = {w->bob.account_id, "cn-hangzhou", false};
    ecs_disk_spec s = {.size_gib = 20, .encrypted = 1};
    char id[ECS_ID_MAX];
    ecs_disk d;
    sd_err err = SD_ERR_INIT;

    (void)state;
    assert_int_equal(ecs_create_disk(w->e, &a, &s, id, NULL), SD_OK);
    expect_code(ecs_describe_disk(w->e, &b, id, &d, &err), &err, "InvalidDiskId.NotFound");
    sd_err_clear(&err);
    expect_code(ecs_delete_disk(w->e, &b, id, &err), &err, "InvalidDiskId.NotFound");
    assert_int_equal(ecs_delete_disk(w->e, &a, id, NULL), SD_OK);
}

static void attached_disks_cannot_be_deleted_and_attach_asks_for_the_key(void **state)
{
    ecs_caller c = alice();
    ecs_disk_req req = {.size_gib = 20, .encrypted = 1, .delete_with_instance = true};
    ecs_disk_spec s = {.size_gib = 20, .encrypted = 1};
    char inst[ECS_ID_MAX], disk[ECS_ID_MAX], extra[ECS_ID_MAX];
    ecs_disk d;
    sd_err err = SD_ERR_INIT;

    (void)state;
    instance_with(&req, inst, disk);
    expect_code(ecs_delete_disk(w->e, &c, disk, &err), &err, "DiskStillAttached");
    assert_int_equal(ecs_create_disk(w->e, &c, &s, extra, NULL), SD_OK);
    assert_int_equal(ecs_attach_disk(w->e, &c, inst, extra, -1, NULL), SD_OK);
    assert_non_null(export_of(extra)); /* running: opened at once */
    disk_of(extra, &d);
    assert_string_equal(d.status, "In_use");
    assert_int_equal(ecs_detach_disk(w->e, &c, inst, extra, NULL), SD_OK);
    assert_null(export_of(extra));
    sd_err_clear(&err);
    expect_code(ecs_detach_disk(w->e, &c, inst, extra, &err), &err, "IncorrectDiskStatus");
    disk_of(extra, &d);
    assert_string_equal(d.status, "Available");
    /* attached to the stopped instance, then kept when it is deleted */
    assert_int_equal(ecs_stop_instance(w->e, &c, inst, NULL), SD_OK);
    assert_int_equal(ecs_attach_disk(w->e, &c, inst, extra, 0, NULL), SD_OK);
    assert_null(export_of(extra)); /* stopped: opened only at start */
    assert_int_equal(ecs_start_instance(w->e, &c, inst, NULL), SD_OK);
    sd_err_clear(&err);
    expect_code(ecs_delete_instance(w->e, &c, inst, false, &err), &err, "IncorrectInstanceStatus");
    assert_int_equal(ecs_delete_instance(w->e, &c, inst, true, NULL), SD_OK);
    assert_null(export_of(disk));
    sd_err_clear(&err);
    expect_code(ecs_describe_disk(w->e, &c, disk, &d, &err), &err, "InvalidDiskId.NotFound");
    disk_of(extra, &d); /* DeleteWithInstance false: detached, kept */
    assert_string_equal(d.status, "Available");
    assert_int_equal(ecs_delete_disk(w->e, &c, extra, NULL), SD_OK);
}

/* ---- R7: images --------------------------------------------------------------------- */

static void system_disk_of(const char *inst, char disk[ECS_ID_MAX])
{
    for (size_t i = 0; i < w->nexports; i++) {
        ecs_disk d;
        disk_of(w->exports[i].name, &d);
        if (strcmp(d.instance_id, inst) == 0 && strcmp(d.type, "system") == 0) {
            (void)snprintf(disk, ECS_ID_MAX, "%s", d.disk_id);
            return;
        }
    }
    fail_msg("no system disk exported for %s", inst);
}

static void run_from_image(const char *image, char inst[ECS_ID_MAX], char sys[ECS_ID_MAX])
{
    ecs_caller c = alice();
    ecs_instance_spec s = {.image_id = image, .start = true};

    s.system_disk = (ecs_disk_req){.encrypted = -1};
    assert_int_equal(ecs_create_instance(w->e, &c, &s, inst, NULL), SD_OK);
    system_disk_of(inst, sys);
}

typedef struct found_image {
    const char *id;
    ecs_image img;
    bool seen;
} found_image;

static void find_image(void *ctx, const ecs_image *i)
{
    found_image *f = ctx;
    if (strcmp(i->image_id, f->id) == 0) {
        f->img = *i;
        f->seen = true;
    }
}

static ecs_image image_of(const char *id)
{
    ecs_caller c = alice();
    found_image f = {.id = id};

    assert_int_equal(ecs_list_images(w->e, &c, find_image, &f, NULL), SD_OK);
    assert_true(f.seen);
    return f.img;
}

static void image_state(const char *id, char status[16], int *progress)
{
    ecs_image m = image_of(id);

    (void)snprintf(status, 16, "%s", m.status);
    *progress = m.progress;
}

static ecs_image wait_image(const char *id)
{
    char status[16];

    assert_true(wait_ended(id, image_state, status));
    return image_of(id);
}

static void r7_images_and_their_copies_keep_or_gain_encryption(void **state)
{
    ecs_caller c = alice();
    ecs_instance_spec s = {.start = true};
    char inst[ECS_ID_MAX], sys[ECS_ID_MAX], img[ECS_ID_MAX], copy[ECS_ID_MAX], plain[ECS_ID_MAX];
    char inst2[ECS_ID_MAX], sys2[ECS_ID_MAX], cmk[KMS_ID_MAX], path[128];
    ecs_disk d;
    ecs_image m;
    sd_err err = SD_ERR_INIT;

    (void)state;
    /* an instance with an encrypted system disk, imaged while running */
    s.system_disk = (ecs_disk_req){.size_gib = 20, .encrypted = 1};
    assert_int_equal(ecs_create_instance(w->e, &c, &s, inst, NULL), SD_OK);
    system_disk_of(inst, sys);
    write_marker(sys, 'I');
    assert_int_equal(ecs_create_image(w->e, &c, NULL, inst, "golden", NULL, img, NULL), SD_OK);
    m = image_of(img);
    disk_of(sys, &d);
    assert_true(m.encrypted);
    assert_string_equal(m.kms_key_id, d.kms_key_id);
    /* an instance from an encrypted image gets an encrypted system disk */
    run_from_image(img, inst2, sys2);
    disk_of(sys2, &d);
    assert_true(d.encrypted);
    assert_string_equal(d.image_id, img);
    expect_marker(sys2, 'I');
    assert_int_equal(ecs_delete_instance(w->e, &c, inst2, true, NULL), SD_OK);
    /* a copy under another key is re-encrypted; the data survive */
    new_cmk(cmk);
    grant_role();
    assert_int_equal(ecs_copy_image(w->e, &c, img, NULL, "rekeyed", NULL, 1, cmk, copy, NULL),
                     SD_OK);
    m = wait_image(copy);
    assert_true(m.encrypted);
    assert_string_equal(m.kms_key_id, cmk);
    assert_string_equal(m.source_image_id, img);
    run_from_image(copy, inst2, sys2);
    expect_marker(sys2, 'I');
    assert_int_equal(ecs_delete_instance(w->e, &c, inst2, true, NULL), SD_OK);
    /* negative twins: no decryption by copy, no other region, no export */
    expect_code(ecs_copy_image(w->e, &c, img, NULL, NULL, NULL, 0, NULL, copy, &err), &err,
                "EncryptedOption.Conflict");
    sd_err_clear(&err);
    expect_code(ecs_copy_image(w->e, &c, img, "mars-1", NULL, NULL, -1, NULL, copy, &err), &err,
                "DestinationRegion.NotFound");
    (void)snprintf(path, sizeof path, "%s/%s/export.raw", w->images, w->alice.account_id);
    sd_err_clear(&err);
    expect_code(ecs_export_image(w->e, &c, img, "export.raw", &err), &err, "ImageNotSupported");
    assert_int_equal(access(path, F_OK), -1);
    /* a plain image: exported, imported, and copied encrypted */
    assert_int_equal(ecs_stop_instance(w->e, &c, inst, NULL), SD_OK);
    s = (ecs_instance_spec){.start = true};
    s.system_disk = (ecs_disk_req){.size_gib = 20, .encrypted = -1};
    assert_int_equal(ecs_create_instance(w->e, &c, &s, inst2, NULL), SD_OK);
    system_disk_of(inst2, sys2);
    write_marker(sys2, 'Q');
    assert_int_equal(ecs_create_image(w->e, &c, NULL, inst2, NULL, NULL, plain, NULL), SD_OK);
    assert_false(image_of(plain).encrypted);
    assert_int_equal(ecs_export_image(w->e, &c, plain, "export.raw", NULL), SD_OK);
    assert_int_equal(access(path, F_OK), 0); /* in alice's own directory */
    assert_int_equal(ecs_import_image(w->e, &c, "export.raw", "raw", "imported", img, NULL), SD_OK);
    (void)wait_image(img); /* an import runs in the background */
    /* nothing outside her directory: absolute, "..", another tenant's */
    sd_err_clear(&err);
    expect_code(ecs_import_image(w->e, &c, path, "raw", NULL, copy, &err), &err,
                "InvalidParameter");
    sd_err_clear(&err);
    expect_code(ecs_import_image(w->e, &c, "../../meta.db", "raw", NULL, copy, &err), &err,
                "InvalidParameter");
    {
        ecs_caller b = {w->bob.account_id, "cn-hangzhou", false};
        sd_err_clear(&err);
        expect_code(ecs_import_image(w->e, &b, "export.raw", "raw", NULL, copy, &err), &err,
                    "InvalidImageFile.NotFound");
    }
    assert_int_equal(ecs_copy_image(w->e, &c, img, NULL, NULL, NULL, 1, NULL, copy, NULL), SD_OK);
    m = wait_image(copy);
    assert_true(m.encrypted); /* a first encryption, under the service key */
    assert_int_equal(ecs_delete_instance(w->e, &c, inst2, true, NULL), SD_OK);
    run_from_image(copy, inst2, sys2);
    expect_marker(sys2, 'Q');
    assert_int_equal(ecs_delete_instance(w->e, &c, inst2, true, NULL), SD_OK);
    sd_err_clear(&err);
    expect_code(ecs_delete_image(w->e, &c, "m-nosuchimage000000000", false, &err), &err,
                "InvalidImageId.NotFound");
    assert_int_equal(ecs_delete_image(w->e, &c, copy, false, NULL), SD_OK);
    assert_int_equal(ecs_delete_instance(w->e, &c, inst, true, NULL), SD_OK);
    (void)unlink(path);
}

typedef struct found_snap {
    const char *id;
    ecs_snapshot s;
    bool seen;
} found_snap;

static void find_snap(void *ctx, const ecs_snapshot *s)
{
    found_snap *f = ctx;
    if (strcmp(s->snapshot_id, f->id) == 0) {
        f->s = *s;
        f->seen = true;
    }
}

/* Whether alice's snapshot id is listed in region; *out gets it. */
static bool snapshot_in(const char *region, const char *id, ecs_snapshot *out)
{
    ecs_caller c = {w->alice.account_id, region, false};
    found_snap f = {.id = id};

    assert_int_equal(ecs_list_snapshots(w->e, &c, find_snap, &f, NULL), SD_OK);
    if (out != NULL) {
        *out = f.s;
    }
    return f.seen;
}

static void shanghai_image_state(const char *id, char status[16], int *progress)
{
    ecs_caller c = {w->alice.account_id, "cn-shanghai", false};
    found_image f = {.id = id};

    assert_int_equal(ecs_list_images(w->e, &c, find_image, &f, NULL), SD_OK);
    assert_true(f.seen);
    (void)snprintf(status, 16, "%s", f.img.status);
    *progress = f.img.progress;
}

/* R7: a copy re-encrypted under another key owns a snapshot of its new
 * data under that key, and reports it, so nothing it names depends on the
 * source's key; the snapshot lives in the copy's region and goes only
 * after the copy. */
static void r7_a_reencrypted_copy_owns_a_snapshot_under_its_key(void **state)
{
    ecs_caller c = alice();
    ecs_caller sh = {w->alice.account_id, "cn-shanghai", false};
    ecs_disk_req req = {.size_gib = 20, .encrypted = 1};
    char inst[ECS_ID_MAX], disk[ECS_ID_MAX], snap[ECS_ID_MAX], img[ECS_ID_MAX];
    char copy[ECS_ID_MAX], same[ECS_ID_MAX], far[ECS_ID_MAX], inst2[ECS_ID_MAX];
    char sys2[ECS_ID_MAX], cmk[KMS_ID_MAX], status[16];
    ecs_snapshot src, own;
    ecs_image m;
    ecs_disk d;
    found_image f = {0};
    sd_err err = SD_ERR_INIT;

    (void)state;
    instance_with(&req, inst, disk);
    write_marker(disk, 'O');
    assert_int_equal(ecs_create_snapshot(w->e, &c, disk, NULL, NULL, snap, NULL), SD_OK);
    assert_int_equal(ecs_create_image(w->e, &c, snap, NULL, "owned", NULL, img, NULL), SD_OK);
    assert_true(snapshot_in("cn-hangzhou", snap, &src));
    /* a copy under the same key shares the source's lineage and snapshot */
    assert_int_equal(ecs_copy_image(w->e, &c, img, NULL, NULL, NULL, 1, NULL, same, NULL), SD_OK);
    assert_string_equal(image_of(same).snapshot_id, snap);
    assert_int_equal(ecs_delete_image(w->e, &c, same, false, NULL), SD_OK);
    /* under another key: a snapshot of its own, under that key */
    new_cmk(cmk);
    grant_role();
    assert_int_equal(ecs_copy_image(w->e, &c, img, NULL, NULL, NULL, 1, cmk, copy, NULL), SD_OK);
    m = wait_image(copy);
    assert_true(m.snapshot_id[0] != '\0');
    assert_string_not_equal(m.snapshot_id, snap);
    assert_true(snapshot_in("cn-hangzhou", m.snapshot_id, &own));
    assert_true(own.encrypted);
    assert_string_equal(own.kms_key_id, cmk);
    assert_string_not_equal(own.kms_key_id, src.kms_key_id);
    assert_int_equal(own.source_disk_size, m.size_gib);
    /* it is the image's while the image lives: not even Force deletes it */
    expect_code(ecs_delete_snapshot(w->e, &c, m.snapshot_id, true, &err), &err,
                "SnapshotCreatedImage");
    assert_true(snapshot_in("cn-hangzhou", m.snapshot_id, NULL));
    /* the source image and snapshot go; the copy still boots with the data */
    assert_int_equal(ecs_delete_image(w->e, &c, img, false, NULL), SD_OK);
    assert_int_equal(ecs_delete_snapshot(w->e, &c, snap, false, NULL), SD_OK);
    run_from_image(copy, inst2, sys2);
    expect_marker(sys2, 'O');
    assert_int_equal(ecs_delete_instance(w->e, &c, inst2, true, NULL), SD_OK);
    /* its snapshot makes disks too, under the new key */
    req = (ecs_disk_req){.snapshot_id = own.snapshot_id, .encrypted = -1};
    instance_with(&req, inst2, sys2);
    disk_of(sys2, &d);
    assert_string_equal(d.kms_key_id, cmk);
    expect_marker(sys2, 'O');
    assert_int_equal(ecs_delete_instance(w->e, &c, inst2, true, NULL), SD_OK);
    /* to another region: the copy's snapshot lives there, under its key */
    assert_int_equal(ecs_copy_image(w->e, &c, copy, "cn-shanghai", NULL, NULL, -1, NULL, far, NULL),
                     SD_OK);
    assert_true(wait_ended(far, shanghai_image_state, status));
    f.id = far;
    assert_int_equal(ecs_list_images(w->e, &sh, find_image, &f, NULL), SD_OK);
    assert_true(f.seen);
    assert_string_not_equal(f.img.snapshot_id, own.snapshot_id);
    assert_false(snapshot_in("cn-hangzhou", f.img.snapshot_id, NULL));
    assert_true(snapshot_in("cn-shanghai", f.img.snapshot_id, &src));
    assert_true(src.encrypted);
    assert_string_equal(src.kms_key_id, f.img.kms_key_id);
    assert_string_equal(src.region, "cn-shanghai");
    /* once the copy is gone, its snapshot can go */
    assert_int_equal(ecs_delete_image(w->e, &c, copy, false, NULL), SD_OK);
    assert_int_equal(ecs_delete_snapshot(w->e, &c, own.snapshot_id, true, NULL), SD_OK);
    assert_false(snapshot_in("cn-hangzhou", own.snapshot_id, NULL));
    assert_int_equal(ecs_delete_image(w->e, &sh, far, false, NULL), SD_OK);
    assert_int_equal(ecs_delete_snapshot(w->e, &sh, src.snapshot_id, false, NULL), SD_OK);
    assert_int_equal(ecs_delete_instance(w->e, &c, inst, true, NULL), SD_OK);
}

/* ---- roll back, reinitialise, replace (R11, R15) --------------------------------------------- */

static void reset_and_reinit_need_a_stopped_instance_and_the_key(void **state)
{
    ecs_caller c = alice();
    kms_caller kc = kalice();
    char cmk[KMS_ID_MAX];
    char inst[ECS_ID_MAX], disk[ECS_ID_MAX], snap[ECS_ID_MAX], other[ECS_ID_MAX];
    ecs_disk_req req = {.size_gib = 20, .encrypted = 1};
    ecs_disk_spec s = {.size_gib = 20, .encrypted = -1};
    sd_err err = SD_ERR_INIT;

    (void)state;
    new_cmk(cmk);
    grant_role();
    req.kms_key_id = cmk;
    instance_with(&req, inst, disk);
    write_marker(disk, 'A');
    assert_int_equal(ecs_create_snapshot(w->e, &c, disk, NULL, NULL, snap, NULL), SD_OK);
    write_marker(disk, 'B');
    expect_code(ecs_reset_disk(w->e, &c, disk, snap, &err), &err, "IncorrectInstanceStatus");
    assert_int_equal(ecs_stop_instance(w->e, &c, inst, NULL), SD_OK);
    assert_int_equal(ecs_create_disk(w->e, &c, &s, other, NULL), SD_OK);
    sd_err_clear(&err);
    expect_code(ecs_reset_disk(w->e, &c, other, snap, &err), &err, "InvalidParameter.Mismatch");
    assert_int_equal(kms_disable_key(w->k, &kc, cmk, NULL), SD_OK);
    sd_err_clear(&err);
    expect_code(ecs_reset_disk(w->e, &c, disk, snap, &err), &err,
                "InvalidParameter.KMSKeyId.CMKNotEnabled");
    sd_err_clear(&err);
    expect_code(ecs_reinit_disk(w->e, &c, disk, &err), &err,
                "InvalidParameter.KMSKeyId.CMKNotEnabled");
    assert_int_equal(kms_enable_key(w->k, &kc, cmk, NULL), SD_OK);
    assert_int_equal(ecs_reset_disk(w->e, &c, disk, snap, NULL), SD_OK);
    assert_int_equal(ecs_start_instance(w->e, &c, inst, NULL), SD_OK);
    expect_marker(disk, 'A');
    write_marker(disk, 'C');
    assert_int_equal(ecs_stop_instance(w->e, &c, inst, NULL), SD_OK);
    /* made from nothing: reinitialised to zeros */
    assert_int_equal(ecs_reinit_disk(w->e, &c, disk, NULL), SD_OK);
    assert_int_equal(ecs_start_instance(w->e, &c, inst, NULL), SD_OK);
    expect_marker(disk, '\0');
    assert_int_equal(ecs_delete_instance(w->e, &c, inst, true, NULL), SD_OK);
}

static void r15_a_system_disk_is_encrypted_by_image_copy_and_replace(void **state)
{
    ecs_caller c = alice();
    ecs_instance_spec s = {.start = true};
    char inst[ECS_ID_MAX], sys[ECS_ID_MAX], img[ECS_ID_MAX], enc[ECS_ID_MAX], fresh[ECS_ID_MAX];
    ecs_disk d;
    sd_err err = SD_ERR_INIT;

    (void)state;
    s.system_disk = (ecs_disk_req){.size_gib = 20, .encrypted = -1};
    assert_int_equal(ecs_create_instance(w->e, &c, &s, inst, NULL), SD_OK);
    system_disk_of(inst, sys);
    write_marker(sys, 'Z');
    expect_code(ecs_replace_system_disk(w->e, &c, inst, NULL, -1, NULL, fresh, &err), &err,
                "IncorrectInstanceStatus");
    assert_int_equal(ecs_stop_instance(w->e, &c, inst, NULL), SD_OK);
    assert_int_equal(ecs_create_image(w->e, &c, NULL, inst, NULL, NULL, img, NULL), SD_OK);
    assert_int_equal(ecs_copy_image(w->e, &c, img, NULL, NULL, NULL, 1, NULL, enc, NULL), SD_OK);
    sd_err_clear(&err); /* while it is Creating, it cannot be used */
    {
        ecs_image now = image_of(enc);
        if (strcmp(now.status, "Creating") == 0) {
            expect_code(ecs_replace_system_disk(w->e, &c, inst, enc, -1, NULL, fresh, &err), &err,
                        "IncorrectImageStatus");
        }
    }
    (void)wait_image(enc);
    assert_int_equal(ecs_replace_system_disk(w->e, &c, inst, enc, -1, NULL, fresh, NULL), SD_OK);
    disk_of(fresh, &d);
    assert_true(d.encrypted);
    assert_string_equal(d.type, "system");
    assert_string_equal(d.instance_id, inst);
    sd_err_clear(&err);
    expect_code(ecs_describe_disk(w->e, &c, sys, &d, &err), &err, "InvalidDiskId.NotFound");
    assert_int_equal(ecs_start_instance(w->e, &c, inst, NULL), SD_OK);
    expect_marker(fresh, 'Z');
    assert_int_equal(ecs_delete_instance(w->e, &c, inst, true, NULL), SD_OK);
}

static void a_restart_never_leaves_a_half_made_copy(void **state)
{
    ecs_caller c = alice();
    ecs_instance_spec s = {.start = false};
    char inst[ECS_ID_MAX], img[ECS_ID_MAX], copy[ECS_ID_MAX], next[ECS_ID_MAX];
    ecs_image m;
    sd_err err = SD_ERR_INIT;

    (void)state;
    s.system_disk = (ecs_disk_req){.size_gib = 20, .encrypted = -1};
    assert_int_equal(ecs_create_instance(w->e, &c, &s, inst, NULL), SD_OK);
    assert_int_equal(ecs_create_image(w->e, &c, NULL, inst, NULL, NULL, img, NULL), SD_OK);
    assert_int_equal(ecs_copy_image(w->e, &c, img, NULL, NULL, NULL, 1, NULL, copy, NULL), SD_OK);
    /* the server stops at once, the copy perhaps half done */
    ecs_close(w->e);
    assert_int_equal(ecs_open(&w->eo, &w->e, NULL), SD_OK);
    m = image_of(copy);
    assert_string_not_equal(m.status, "Creating");
    if (strcmp(m.status, "CreateFailed") == 0) {
        expect_code(ecs_copy_image(w->e, &c, copy, NULL, NULL, NULL, 1, NULL, next, &err), &err,
                    "IncorrectImageStatus");
        assert_int_equal(ecs_delete_image(w->e, &c, copy, false, NULL), SD_OK);
    }
    assert_int_equal(ecs_delete_instance(w->e, &c, inst, true, NULL), SD_OK);
}

static void count_image(void *ctx, const ecs_image *i)
{
    (void)i;
    (*(int *)ctx)++;
}

static void r4_a_shared_image_gives_the_recipient_its_own_key(void **state)
{
    ecs_caller a = alice();
    ecs_caller b = {w->bob.account_id, "cn-hangzhou", false};
    kms_caller ka = kalice();
    kms_caller kb = {w->bob.account_id, "cn-hangzhou"};
    char cmk[KMS_ID_MAX], inst[ECS_ID_MAX], sys[ECS_ID_MAX], img[ECS_ID_MAX];
    char binst[ECS_ID_MAX], bsys[ECS_ID_MAX];
    const char *const bob_id[] = {w->bob.account_id};
    const char *const nobody[] = {"9999999999999999"};
    ecs_instance_spec s = {.start = true};
    kms_key_meta bsvc;
    ecs_disk d;
    int shared = 0;
    sd_err err = SD_ERR_INIT;

    (void)state;
    new_cmk(cmk);
    grant_role();
    s.system_disk = (ecs_disk_req){.size_gib = 20, .encrypted = 1, .kms_key_id = cmk};
    assert_int_equal(ecs_create_instance(w->e, &a, &s, inst, NULL), SD_OK);
    system_disk_of(inst, sys);
    write_marker(sys, 'H');
    assert_int_equal(ecs_create_image(w->e, &a, NULL, inst, NULL, NULL, img, NULL), SD_OK);
    /* not shared yet: bob cannot use it */
    s = (ecs_instance_spec){.image_id = img, .start = true};
    s.system_disk = (ecs_disk_req){.encrypted = -1};
    expect_code(ecs_create_instance(w->e, &b, &s, binst, &err), &err, "InvalidImageId.NotFound");
    sd_err_clear(&err);
    expect_code(ecs_share_image(w->e, &a, img, nobody, 1, NULL, 0, &err), &err,
                "InvalidAccount.NotFound");
    sd_err_clear(&err);
    expect_code(ecs_share_image(w->e, &b, img, bob_id, 1, NULL, 0, &err), &err,
                "InvalidImageId.NotFound"); /* only the owner shares */
    assert_int_equal(ecs_share_image(w->e, &a, img, bob_id, 1, NULL, 0, NULL), SD_OK);
    assert_int_equal(ecs_list_shared_images(w->e, &b, count_image, &shared, NULL), SD_OK);
    assert_int_equal(shared, 1);
    /* R4: bob's disk is encrypted under bob's service key, with the data */
    assert_int_equal(ecs_create_instance(w->e, &b, &s, binst, NULL), SD_OK);
    for (size_t i = 0; i < w->nexports; i++) {
        ecs_disk x;
        if (ecs_describe_disk(w->e, &b, w->exports[i].name, &x, NULL) == SD_OK &&
            strcmp(x.instance_id, binst) == 0) {
            (void)snprintf(bsys, sizeof bsys, "%s", x.disk_id);
        }
    }
    assert_int_equal(ecs_describe_disk(w->e, &b, bsys, &d, NULL), SD_OK);
    assert_int_equal(kms_describe_key(w->k, &kb, "alias/acs/ecs", &bsvc, NULL), SD_OK);
    assert_true(d.encrypted);
    assert_string_equal(d.kms_key_id, bsvc.key_id);
    assert_string_not_equal(d.kms_key_id, cmk);
    expect_marker(bsys, 'H');
    /* alice's key off: bob's disk, under his own key, still starts */
    assert_int_equal(ecs_stop_instance(w->e, &b, binst, NULL), SD_OK);
    assert_int_equal(kms_disable_key(w->k, &ka, cmk, NULL), SD_OK);
    assert_int_equal(ecs_start_instance(w->e, &b, binst, NULL), SD_OK);
    expect_marker(bsys, 'H');
    assert_int_equal(kms_enable_key(w->k, &ka, cmk, NULL), SD_OK);
    /* unshared: gone for bob */
    assert_int_equal(ecs_share_image(w->e, &a, img, NULL, 0, bob_id, 1, NULL), SD_OK);
    sd_err_clear(&err);
    expect_code(ecs_create_instance(w->e, &b, &s, binst, &err), &err, "InvalidImageId.NotFound");
    assert_int_equal(ecs_delete_instance(w->e, &a, inst, true, NULL), SD_OK);
}

static void client_tokens_make_requests_idempotent(void **state)
{
    ecs_caller c = alice();
    ecs_disk_spec s = {.size_gib = 20, .encrypted = 1, .client_token = "tok-disk-1"};
    ecs_instance_spec is = {.client_token = "tok-inst-1"};
    char a[ECS_ID_MAX], b[ECS_ID_MAX];
    sd_err err = SD_ERR_INIT;

    (void)state;
    assert_int_equal(ecs_create_disk(w->e, &c, &s, a, NULL), SD_OK);
    assert_int_equal(ecs_create_disk(w->e, &c, &s, b, NULL), SD_OK);
    assert_string_equal(a, b); /* the same request: the same disk */
    s.size_gib = 30;
    expect_code(ecs_create_disk(w->e, &c, &s, b, &err), &err, "IdempotentParameterMismatch");
    s.client_token = "tok-disk-2"; /* negative twin: another token, another disk */
    assert_int_equal(ecs_create_disk(w->e, &c, &s, b, NULL), SD_OK);
    assert_string_not_equal(a, b);
    is.system_disk = (ecs_disk_req){.size_gib = 20, .encrypted = -1};
    assert_int_equal(ecs_create_instance(w->e, &c, &is, a, NULL), SD_OK);
    assert_int_equal(ecs_create_instance(w->e, &c, &is, b, NULL), SD_OK);
    assert_string_equal(a, b);
    is.name = "other";
    sd_err_clear(&err);
    expect_code(ecs_create_instance(w->e, &c, &is, b, &err), &err, "IdempotentParameterMismatch");
    assert_int_equal(ecs_delete_instance(w->e, &c, a, true, NULL), SD_OK);
}

/* ---- background jobs: re-encrypting disks, imports, restarts ---------------------------- */

/* A running instance with a plain data disk holding fill, and a snapshot
 * of it (a source whose encrypted disks are copies, R5). */
static void plain_snapshot(char fill, char inst[ECS_ID_MAX], char snap[ECS_ID_MAX])
{
    ecs_caller c = alice();
    ecs_disk_req req = {.size_gib = 20, .encrypted = -1};
    char disk[ECS_ID_MAX];

    instance_with(&req, inst, disk);
    write_marker(disk, fill);
    assert_int_equal(ecs_create_snapshot(w->e, &c, disk, NULL, NULL, snap, NULL), SD_OK);
}

/* plain_snapshot, and a plain image of it named name. */
static void plain_image(char fill, const char *name, char inst[ECS_ID_MAX], char snap[ECS_ID_MAX],
                        char img[ECS_ID_MAX])
{
    ecs_caller c = alice();

    plain_snapshot(fill, inst, snap);
    assert_int_equal(ecs_create_image(w->e, &c, snap, NULL, name, NULL, img, NULL), SD_OK);
}

/* An encrypted copy (R5) of the plain snapshot snap, attached to the
 * running instance inst and written with fill over the copied data, then
 * the instance stopped: a disk whose ReInitDisk re-encrypts its source. */
static void reinit_candidate(const char *inst, const char *snap, char fill, char disk[ECS_ID_MAX])
{
    ecs_caller c = alice();
    ecs_disk_spec s = {.encrypted = 1};

    s.snapshot_id = snap;
    assert_int_equal(ecs_create_disk(w->e, &c, &s, disk, NULL), SD_OK);
    (void)wait_disk(disk);
    assert_int_equal(ecs_attach_disk(w->e, &c, inst, disk, 0, NULL), SD_OK);
    write_marker(disk, fill);
    assert_int_equal(ecs_stop_instance(w->e, &c, inst, NULL), SD_OK);
}

static void count_disk(void *ctx, const ecs_disk *d)
{
    (void)d;
    (*(int *)ctx)++;
}

static void a_reencrypting_disk_is_creating_until_its_copy_ends(void **state)
{
    ecs_caller c = alice();
    char inst[ECS_ID_MAX], snap[ECS_ID_MAX], enc[ECS_ID_MAX], snap2[ECS_ID_MAX];
    ecs_disk_spec s = {.encrypted = 1};
    ecs_disk d;
    sd_err err = SD_ERR_INIT;
    int n = 0;

    (void)state;
    plain_snapshot('C', inst, snap);
    hold_arm(0, false);
    s.snapshot_id = snap;
    assert_int_equal(ecs_create_disk(w->e, &c, &s, enc, NULL), SD_OK);
    hold_wait();
    assert_string_equal(held.id, enc);
    /* the copy holds no lock: the module answers meanwhile */
    disk_of(enc, &d);
    assert_string_equal(d.status, "Creating");
    assert_int_equal(d.progress, 0);
    assert_true(d.encrypted);
    assert_int_equal(ecs_list_disks(w->e, &c, count_disk, &n, NULL), SD_OK);
    assert_true(n >= 3);
    /* negative twins: a Creating disk takes no use */
    expect_code(ecs_attach_disk(w->e, &c, inst, enc, -1, &err), &err, "IncorrectDiskStatus");
    sd_err_clear(&err);
    expect_code(ecs_create_snapshot(w->e, &c, enc, NULL, NULL, snap2, &err), &err,
                "IncorrectDiskStatus");
    sd_err_clear(&err);
    expect_code(ecs_delete_disk(w->e, &c, enc, &err), &err, "IncorrectDiskStatus");
    sd_err_clear(&err);
    expect_code(ecs_reinit_disk(w->e, &c, enc, &err), &err, "IncorrectDiskStatus");
    sd_err_clear(&err);
    expect_code(ecs_resize_disk(w->e, &c, enc, 40, &err), &err, "IncorrectDiskStatus");
    hold_release();
    d = wait_disk(enc);
    assert_true(d.encrypted);
    assert_int_equal(held.max_pct, 99); /* 100 only once Available */
    assert_int_equal(ecs_attach_disk(w->e, &c, inst, enc, 1, NULL), SD_OK);
    expect_marker(enc, 'C');
    assert_int_equal(ecs_delete_instance(w->e, &c, inst, true, NULL), SD_OK);
}

/* ReInitDisk back to a source of another lineage re-encrypts it in the
 * background too: the disk is ReIniting, takes no use, and the module
 * answers meanwhile; then it holds the source's data again. */
static void a_reencrypting_reinit_is_reiniting_until_its_copy_ends(void **state)
{
    ecs_caller c = alice();
    char inst[ECS_ID_MAX], snap[ECS_ID_MAX], enc[ECS_ID_MAX], snap2[ECS_ID_MAX];
    ecs_disk d;
    sd_err err = SD_ERR_INIT;
    int n = 0;

    (void)state;
    plain_snapshot('P', inst, snap);
    reinit_candidate(inst, snap, 'Q', enc);
    hold_arm(0, false);
    assert_int_equal(ecs_reinit_disk(w->e, &c, enc, NULL), SD_OK);
    hold_wait();
    assert_string_equal(held.id, enc);
    disk_of(enc, &d);
    assert_string_equal(d.status, "ReIniting");
    assert_int_equal(d.progress, 0);
    assert_int_equal(ecs_list_disks(w->e, &c, count_disk, &n, NULL), SD_OK);
    assert_true(n >= 2);
    /* negative twins: a ReIniting disk takes no use, nor does its instance */
    expect_code(ecs_start_instance(w->e, &c, inst, &err), &err, "IncorrectDiskStatus");
    sd_err_clear(&err);
    expect_code(ecs_create_snapshot(w->e, &c, enc, NULL, NULL, snap2, &err), &err,
                "IncorrectDiskStatus");
    sd_err_clear(&err);
    expect_code(ecs_reinit_disk(w->e, &c, enc, &err), &err, "IncorrectDiskStatus");
    sd_err_clear(&err);
    expect_code(ecs_resize_disk(w->e, &c, enc, 40, &err), &err, "IncorrectDiskStatus");
    sd_err_clear(&err);
    expect_code(ecs_delete_instance(w->e, &c, inst, false, &err), &err, "IncorrectDiskStatus");
    hold_release();
    d = wait_disk(enc);
    assert_string_equal(d.status, "In_use");
    assert_true(d.encrypted);
    assert_int_equal(held.max_pct, 99); /* 100 only once the data are in */
    assert_int_equal(ecs_start_instance(w->e, &c, inst, NULL), SD_OK);
    expect_marker(enc, 'P');
    assert_int_equal(ecs_delete_instance(w->e, &c, inst, true, NULL), SD_OK);
}

typedef struct make_inst {
    ecs_instance_spec spec;
    char id[ECS_ID_MAX];
    sd_code rc;
} make_inst;

static void *make_instance(void *arg)
{
    make_inst *m = arg;
    ecs_caller c = alice();

    m->rc = ecs_create_instance(w->e, &c, &m->spec, m->id, NULL);
    return NULL;
}

static void find_pending(void *ctx, const ecs_instance *i)
{
    if (strcmp(i->status, "Pending") == 0) {
        (void)snprintf(ctx, ECS_ID_MAX, "%s", i->instance_id);
    }
}

static void an_instance_is_pending_until_its_disks_are_made(void **state)
{
    ecs_caller c = alice();
    char inst[ECS_ID_MAX], snap[ECS_ID_MAX], pending[ECS_ID_MAX] = "";
    make_inst m = {.spec = {.n_data_disks = 1, .start = true}};
    sd_err err = SD_ERR_INIT;
    pthread_t t;

    (void)state;
    plain_snapshot('I', inst, snap);
    m.spec.system_disk = (ecs_disk_req){.size_gib = 20, .encrypted = -1};
    m.spec.data_disks[0] = (ecs_disk_req){.snapshot_id = snap, .encrypted = 1};
    hold_arm(0, false);
    assert_int_equal(pthread_create(&t, NULL, make_instance, &m), 0);
    hold_wait();
    assert_int_equal(ecs_list_instances(w->e, &c, find_pending, pending, NULL), SD_OK);
    assert_string_not_equal(pending, "");
    expect_code(ecs_delete_instance(w->e, &c, pending, true, &err), &err,
                "IncorrectInstanceStatus.Initializing");
    sd_err_clear(&err);
    expect_code(ecs_start_instance(w->e, &c, pending, &err), &err, "IncorrectInstanceStatus");
    hold_release();
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(m.rc, SD_OK);
    assert_string_equal(m.id, pending);
    expect_marker(held.id, 'I'); /* started, with the copied disk */
    assert_int_equal(ecs_delete_instance(w->e, &c, m.id, true, NULL), SD_OK);
    assert_int_equal(ecs_delete_instance(w->e, &c, inst, true, NULL), SD_OK);
}

#ifdef SD_FAULTS
/* ReInitDisk of a disk of another lineage re-encrypts its source into new
 * data that replace the disk's only when whole: a failure midway leaves
 * the disk as it was, never missing. */
static void a_failed_reinit_leaves_the_disk_whole(void **state)
{
    ecs_caller c = alice();
    char inst[ECS_ID_MAX], snap[ECS_ID_MAX], img[ECS_ID_MAX], disk[ECS_ID_MAX];
    char tmp[ECS_ID_MAX + 8];
    ecs_disk d;

    (void)state;
    plain_image('R', "reinit", inst, snap, img);
    reinit_candidate(inst, snap, 'K', disk);
    /* the copy fails in the background: the disk keeps its data */
    sd_fault_arm("blk.backend.pwrite", 1, true);
    assert_int_equal(ecs_reinit_disk(w->e, &c, disk, NULL), SD_OK);
    d = wait_disk(disk);
    sd_fault_reset();
    assert_string_equal(d.status, "In_use");
    (void)snprintf(tmp, sizeof tmp, "%s-new", disk);
    assert_int_equal(blk_disk_info(w->blocks, tmp, NULL, NULL, NULL), SD_E_NOT_FOUND);
    assert_int_equal(ecs_start_instance(w->e, &c, inst, NULL), SD_OK);
    expect_marker(disk, 'K');
    /* and the next try goes through: the image's data again */
    assert_int_equal(ecs_stop_instance(w->e, &c, inst, NULL), SD_OK);
    assert_int_equal(ecs_reinit_disk(w->e, &c, disk, NULL), SD_OK);
    (void)wait_disk(disk);
    assert_int_equal(ecs_start_instance(w->e, &c, inst, NULL), SD_OK);
    expect_marker(disk, 'R');
    assert_int_equal(ecs_stop_instance(w->e, &c, inst, NULL), SD_OK);
    assert_int_equal(ecs_detach_disk(w->e, &c, inst, disk, NULL), SD_OK);
    assert_int_equal(ecs_delete_disk(w->e, &c, disk, NULL), SD_OK);
    assert_int_equal(ecs_delete_image(w->e, &c, img, false, NULL), SD_OK);
    assert_int_equal(ecs_delete_instance(w->e, &c, inst, true, NULL), SD_OK);
}

static void count_instance(void *ctx, const ecs_instance *i)
{
    (void)i;
    (*(int *)ctx)++;
}

static void count_snapshot(void *ctx, const ecs_snapshot *s)
{
    (void)s;
    (*(int *)ctx)++;
}

static void a_failed_copy_leaves_nothing_available(void **state)
{
    ecs_caller c = alice();
    char inst[ECS_ID_MAX], snap[ECS_ID_MAX], enc[ECS_ID_MAX], img[ECS_ID_MAX], copy[ECS_ID_MAX];
    char other[ECS_ID_MAX], bad[ECS_ID_MAX];
    ecs_disk_spec s = {.encrypted = 1};
    ecs_instance_spec is = {.n_data_disks = 1};
    ecs_disk d;
    char status[16];
    sd_err err = SD_ERR_INIT;
    sd_code rc = SD_OK;
    int before = 0;
    int after = 0;
    int snaps_before = 0;
    int snaps_after = 0;

    (void)state;
    plain_image('F', "failing", inst, snap, img);
    sd_fault_arm("blk.backend.pwrite", 1, true);
    /* a disk: deleted, never Available */
    s.snapshot_id = snap;
    assert_int_equal(ecs_create_disk(w->e, &c, &s, enc, NULL), SD_OK);
    for (int i = 0; i < 1000; i++) {
        sd_err_clear(&err);
        rc = ecs_describe_disk(w->e, &c, enc, &d, &err);
        if (rc != SD_OK) {
            break;
        }
        assert_string_equal(d.status, "Creating");
        usleep(10000);
    }
    expect_code(rc, &err, "InvalidDiskId.NotFound");
    /* an image: CreateFailed, unusable, deletable, and without the
     * snapshot it was to own (R7) */
    assert_int_equal(ecs_list_snapshots(w->e, &c, count_snapshot, &snaps_before, NULL), SD_OK);
    assert_int_equal(ecs_copy_image(w->e, &c, img, NULL, NULL, NULL, 1, NULL, copy, NULL), SD_OK);
    assert_false(wait_ended(copy, image_state, status));
    assert_string_equal(status, "CreateFailed");
    assert_string_equal(image_of(copy).snapshot_id, "");
    assert_int_equal(ecs_list_snapshots(w->e, &c, count_snapshot, &snaps_after, NULL), SD_OK);
    assert_int_equal(snaps_after, snaps_before);
    sd_err_clear(&err);
    expect_code(ecs_copy_image(w->e, &c, copy, NULL, NULL, NULL, 1, NULL, other, &err), &err,
                "IncorrectImageStatus");
    /* an instance whose disk fails is not made */
    assert_int_equal(ecs_list_instances(w->e, &c, count_instance, &before, NULL), SD_OK);
    is.system_disk = (ecs_disk_req){.size_gib = 20, .encrypted = -1};
    is.data_disks[0] = (ecs_disk_req){.snapshot_id = snap, .encrypted = 1};
    sd_err_clear(&err);
    assert_int_not_equal(ecs_create_instance(w->e, &c, &is, bad, &err), SD_OK);
    assert_int_equal(ecs_list_instances(w->e, &c, count_instance, &after, NULL), SD_OK);
    assert_int_equal(after, before);
    sd_fault_reset();
    assert_int_equal(ecs_delete_image(w->e, &c, copy, false, NULL), SD_OK);
    assert_int_equal(ecs_delete_image(w->e, &c, img, false, NULL), SD_OK);
    assert_int_equal(ecs_delete_instance(w->e, &c, inst, true, NULL), SD_OK);
}
#endif

static void reopen(void)
{
    ecs_close(w->e);
    assert_int_equal(ecs_open(&w->eo, &w->e, NULL), SD_OK);
}

static void a_restart_mid_job_leaves_no_half_made_disk_or_import(void **state)
{
    ecs_caller c = alice();
    char inst[ECS_ID_MAX], snap[ECS_ID_MAX], enc[ECS_ID_MAX], plain[ECS_ID_MAX], img[ECS_ID_MAX];
    char path[160];
    ecs_disk_spec s = {.encrypted = 1};
    ecs_disk d;
    sd_err err = SD_ERR_INIT;
    int64_t layers = 0;
    int64_t now = 0;

    (void)state;
    plain_image('R', "restart", inst, snap, plain);
    assert_int_equal(ecs_export_image(w->e, &c, plain, "restart.raw", NULL), SD_OK);
    assert_int_equal(blk_store_layer_count(w->blocks, &layers, NULL), SD_OK);
    /* the server stops while the copy runs: the disk goes */
    hold_arm(0, true);
    s.snapshot_id = snap;
    assert_int_equal(ecs_create_disk(w->e, &c, &s, enc, NULL), SD_OK);
    hold_wait();
    reopen();
    expect_code(ecs_describe_disk(w->e, &c, enc, &d, &err), &err, "InvalidDiskId.NotFound");
    assert_int_equal(blk_disk_info(w->blocks, enc, NULL, NULL, NULL), SD_E_NOT_FOUND);
    /* likewise an import: CreateFailed, its temporary disk gone */
    hold_arm(0, true);
    assert_int_equal(ecs_import_image(w->e, &c, "restart.raw", "raw", NULL, img, NULL), SD_OK);
    hold_wait();
    sd_err_clear(&err); /* its job is writing it: not deletable yet */
    expect_code(ecs_delete_image(w->e, &c, img, false, &err), &err, "ImageIsImporting");
    reopen();
    assert_string_equal(image_of(img).status, "CreateFailed");
    assert_int_equal(blk_store_layer_count(w->blocks, &now, NULL), SD_OK);
    assert_int_equal(now, layers);
    assert_int_equal(ecs_delete_image(w->e, &c, img, false, NULL), SD_OK);
    assert_int_equal(ecs_delete_image(w->e, &c, plain, false, NULL), SD_OK);
    assert_int_equal(ecs_delete_instance(w->e, &c, inst, true, NULL), SD_OK);
    (void)snprintf(path, sizeof path, "%s/%s/restart.raw", w->images, w->alice.account_id);
    (void)unlink(path);
}

/* A restart in the middle of a re-encrypting ReInitDisk: the disk keeps
 * its old data and is usable again; the half-made new data go. */
static void a_restart_mid_reinit_keeps_the_old_data(void **state)
{
    ecs_caller c = alice();
    char inst[ECS_ID_MAX], snap[ECS_ID_MAX], enc[ECS_ID_MAX], tmp[ECS_ID_MAX + 8];
    ecs_disk d;
    int64_t layers = 0;
    int64_t now = 0;

    (void)state;
    plain_snapshot('S', inst, snap);
    reinit_candidate(inst, snap, 'T', enc);
    assert_int_equal(blk_store_layer_count(w->blocks, &layers, NULL), SD_OK);
    hold_arm(0, true);
    assert_int_equal(ecs_reinit_disk(w->e, &c, enc, NULL), SD_OK);
    hold_wait();
    reopen();
    disk_of(enc, &d);
    assert_string_equal(d.status, "In_use");
    assert_int_equal(d.progress, 100);
    (void)snprintf(tmp, sizeof tmp, "%s-new", enc);
    assert_int_equal(blk_disk_info(w->blocks, tmp, NULL, NULL, NULL), SD_E_NOT_FOUND);
    assert_int_equal(blk_store_layer_count(w->blocks, &now, NULL), SD_OK);
    assert_int_equal(now, layers);
    assert_int_equal(ecs_start_instance(w->e, &c, inst, NULL), SD_OK);
    expect_marker(enc, 'T');
    assert_int_equal(ecs_delete_instance(w->e, &c, inst, true, NULL), SD_OK);
}

/* Runs sql (one ? bound to id) on the module's database while it is closed. */
static void poke(const char *sql, const char *id)
{
    store *st = NULL;
    store_stmt *q = NULL;

    assert_int_equal(store_open_sqlite(w->db, &st, NULL), SD_OK);
    assert_int_equal(store_prepare(st, sql, &q, NULL), SD_OK);
    assert_int_equal(store_bind_text(q, 1, id, NULL), SD_OK);
    assert_int_equal(store_step_done(q, NULL), SD_OK);
    store_stmt_free(q);
    store_close(st);
}

static void a_restart_fails_every_row_left_creating(void **state)
{
    ecs_caller c = alice();
    ecs_disk_spec s = {.size_gib = 20, .encrypted = -1};
    ecs_instance_spec is = {.start = false};
    char disk[ECS_ID_MAX], snap[ECS_ID_MAX], img[ECS_ID_MAX], inst[ECS_ID_MAX], sys[ECS_ID_MAX];
    char tmp[] = "d-jobtmp000000000000001";
    char jsnap[] = "s-jobsnap00000000000001";
    char file[160];
    char sql[400];
    ecs_disk d;
    sd_err err = SD_ERR_INIT;
    FILE *f;

    (void)state;
    assert_int_equal(ecs_create_disk(w->e, &c, &s, disk, NULL), SD_OK);
    assert_int_equal(ecs_create_snapshot(w->e, &c, disk, NULL, NULL, snap, NULL), SD_OK);
    assert_int_equal(ecs_create_image(w->e, &c, snap, NULL, "left", NULL, img, NULL), SD_OK);
    is.system_disk = (ecs_disk_req){.size_gib = 20, .encrypted = -1};
    assert_int_equal(ecs_create_instance(w->e, &c, &is, inst, NULL), SD_OK);
    assert_int_equal(ecs_delete_snapshot(w->e, &c, snap, true, NULL), SD_OK);
    /* as a crash would leave them: a job's temporary disk and file, rows Creating */
    assert_int_equal(blk_disk_create(w->blocks, tmp, (uint64_t)1 << 30, false, NULL), SD_OK);
    /* a copy's own snapshot made in the block store, its row not yet (R7) */
    assert_int_equal(blk_snapshot_create(w->blocks, tmp, jsnap, NULL), SD_OK);
    (void)snprintf(file, sizeof file, "%s/left.raw", w->dir);
    f = fopen(file, "w");
    assert_non_null(f);
    assert_int_equal(fclose(f), 0);
    ecs_close(w->e);
    poke("UPDATE ecs_disks SET status = 'Creating', progress = 42 WHERE disk_id = ?", disk);
    (void)snprintf(sql, sizeof sql,
                   "UPDATE ecs_images SET status = 'Creating', progress = 7, job_disk = '%s', "
                   "job_file = '%s', snapshot_id = '%s' WHERE image_id = ?",
                   tmp, file, jsnap);
    poke(sql, img);
    poke("UPDATE ecs_instances SET status = 'Pending' WHERE instance_id = ?", inst);
    assert_int_equal(ecs_open(&w->eo, &w->e, NULL), SD_OK);
    /* the disk is deleted, data and all; the image failed; the instance went */
    expect_code(ecs_describe_disk(w->e, &c, disk, &d, &err), &err, "InvalidDiskId.NotFound");
    assert_int_equal(blk_disk_info(w->blocks, disk, NULL, NULL, NULL), SD_E_NOT_FOUND);
    assert_string_equal(image_of(img).status, "CreateFailed");
    assert_string_equal(image_of(img).snapshot_id, "");
    assert_int_equal(blk_snapshot_info(w->blocks, jsnap, NULL, NULL, NULL), SD_E_NOT_FOUND);
    assert_false(snapshot_in("cn-hangzhou", jsnap, NULL));
    assert_int_equal(blk_disk_info(w->blocks, tmp, NULL, NULL, NULL), SD_E_NOT_FOUND);
    assert_int_equal(access(file, F_OK), -1);
    sd_err_clear(&err);
    expect_code(ecs_start_instance(w->e, &c, inst, &err), &err, "InvalidInstanceId.NotFound");
    (void)sys;
    assert_int_equal(ecs_delete_image(w->e, &c, img, false, NULL), SD_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(r1_encrypted_disks_use_the_service_key_unless_told),
        cmocka_unit_test(zones_come_from_the_configuration),
        cmocka_unit_test(r9_local_categories_are_never_encrypted),
        cmocka_unit_test(r10_customer_keys_need_the_service_role),
        cmocka_unit_test(the_data_plane_is_described_to_the_running_owner_only),
        cmocka_unit_test(r3_r4_snapshots_and_clones_keep_the_key_and_data),
        cmocka_unit_test(r4_r5_r6_new_keys_and_first_encryption_copy_the_data),
        cmocka_unit_test(r8_default_encryption_applies_to_new_disks),
        cmocka_unit_test(r11_a_disabled_key_stops_starts_but_not_running_instances),
        cmocka_unit_test(r12_the_dependents_of_a_key_are_listed),
        cmocka_unit_test(other_accounts_see_nothing),
        cmocka_unit_test(attached_disks_cannot_be_deleted_and_attach_asks_for_the_key),
        cmocka_unit_test(r7_images_and_their_copies_keep_or_gain_encryption),
        cmocka_unit_test(r7_a_reencrypted_copy_owns_a_snapshot_under_its_key),
        cmocka_unit_test(reset_and_reinit_need_a_stopped_instance_and_the_key),
        cmocka_unit_test(r15_a_system_disk_is_encrypted_by_image_copy_and_replace),
        cmocka_unit_test(client_tokens_make_requests_idempotent),
        cmocka_unit_test(r4_a_shared_image_gives_the_recipient_its_own_key),
        cmocka_unit_test(a_restart_never_leaves_a_half_made_copy),
        cmocka_unit_test(a_reencrypting_disk_is_creating_until_its_copy_ends),
        cmocka_unit_test(a_reencrypting_reinit_is_reiniting_until_its_copy_ends),
        cmocka_unit_test(a_restart_mid_reinit_keeps_the_old_data),
        cmocka_unit_test(an_instance_is_pending_until_its_disks_are_made),
        cmocka_unit_test(a_disk_takes_and_deletes_snapshots_without_end),
        cmocka_unit_test(a_disk_keeps_256_snapshots_and_not_one_more),
#ifdef SD_FAULTS
        cmocka_unit_test(a_failed_reinit_leaves_the_disk_whole),
        cmocka_unit_test(a_failed_copy_leaves_nothing_available),
#endif
        cmocka_unit_test(a_restart_mid_job_leaves_no_half_made_disk_or_import),
        cmocka_unit_test(a_restart_fails_every_row_left_creating),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
