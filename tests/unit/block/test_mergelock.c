/* test_mergelock.c: a merge moves a layer's data without the store's lock,
 * so other disks open, snapshot, get made and removed... while it copies;
 * the disk being merged into waits for it, and every byte reads back.
 *
 * A backend over the local one holds the first read of a data object
 * after the gate is armed (the merge's first copy) until the test lets it
 * go.  Meanwhile the test works on other disks: with the store's lock
 * held by the merge they would block, the gate would give up after
 * GATE_SECS and the test would fail on gate.gave_up (never pass late). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "blk_test.h"

#define NS        64u
#define GATE_SECS 30

typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool armed;
    bool reached;
    bool released;
    bool gave_up;
    blk_backend *inner;
} gate;

static gate g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

typedef struct gobj {
    void *inner;
    bool data;
} gobj;

static void gate_pass(void)
{
    struct timespec until;

    pthread_mutex_lock(&g.mu);
    if (g.armed) {
        g.armed = false;
        g.reached = true;
        pthread_cond_broadcast(&g.cv);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += GATE_SECS;
        while (!g.released && !g.gave_up) {
            if (pthread_cond_timedwait(&g.cv, &g.mu, &until) != 0) {
                g.gave_up = true; /* the test is stuck behind us: let it fail */
            }
        }
    }
    pthread_mutex_unlock(&g.mu);
}

static sd_code g_open(void *be, const char *name, unsigned flags, void **obj, sd_err *err)
{
    size_t n = strlen(name);
    gobj *o = calloc(1, sizeof *o);
    sd_code rc = SD_OK;

    (void)be;
    if (o == NULL) {
        return SD_E_NOMEM;
    }
    rc = g.inner->ops->open(g.inner->h, name, flags, &o->inner, err);
    if (rc != SD_OK) {
        free(o);
        return rc;
    }
    o->data = n > 5 && strcmp(name + n - 5, ".data") == 0;
    *obj = o;
    return SD_OK;
}

static sd_code g_remove(void *be, const char *name, sd_err *err)
{
    (void)be;
    return g.inner->ops->remove(g.inner->h, name, err);
}

static sd_code g_pread(void *obj, void *buf, size_t n, uint64_t off, sd_err *err)
{
    gobj *o = obj;
    if (o->data) {
        gate_pass();
    }
    return g.inner->ops->pread(o->inner, buf, n, off, err);
}

static sd_code g_pwrite(void *obj, const void *buf, size_t n, uint64_t off, sd_err *err)
{
    return g.inner->ops->pwrite(((gobj *)obj)->inner, buf, n, off, err);
}

static sd_code g_sync(void *obj, sd_err *err)
{
    return g.inner->ops->sync(((gobj *)obj)->inner, err);
}

static sd_code g_punch(void *obj, uint64_t off, uint64_t n, sd_err *err)
{
    return g.inner->ops->punch(((gobj *)obj)->inner, off, n, err);
}

static sd_code g_size(void *obj, uint64_t *out, sd_err *err)
{
    return g.inner->ops->size(((gobj *)obj)->inner, out, err);
}

static void g_close(void *obj)
{
    gobj *o = obj;
    g.inner->ops->close(o->inner);
    free(o);
}

static sd_code g_list(void *be, blk_obj_fn fn, void *ctx, sd_err *err)
{
    (void)be;
    return g.inner->ops->list(g.inner->h, fn, ctx, err);
}

static void g_destroy(void *be)
{
    (void)be;
    blk_backend_free(g.inner);
    g.inner = NULL;
}

static const blk_backend_ops gate_ops = {
    .open = g_open,
    .remove = g_remove,
    .pread = g_pread,
    .pwrite = g_pwrite,
    .sync = g_sync,
    .punch = g_punch,
    .size = g_size,
    .close = g_close,
    .list = g_list,
    .destroy = g_destroy,
};

/* A store in a fresh directory over the gated backend. */
static blk_store *gated_store(char dir[64])
{
    char db[128];
    blk_backend *be = calloc(1, sizeof *be);
    blk_store *bs = NULL;

    (void)snprintf(dir, 64, "/tmp/sd-blk-XXXXXX");
    assert_non_null(be);
    assert_non_null(mkdtemp(dir));
    assert_int_equal(blk_backend_local(dir, &g.inner, NULL), SD_OK);
    be->ops = &gate_ops;
    be->h = &g;
    (void)snprintf(db, sizeof db, "%s/block.db", dir);
    assert_int_equal(blk_store_open(db, &be, &bs, NULL), SD_OK);
    g.armed = g.reached = g.released = g.gave_up = false;
    return bs;
}

static void gate_arm(void)
{
    pthread_mutex_lock(&g.mu);
    g.armed = true;
    g.reached = g.released = false;
    pthread_mutex_unlock(&g.mu);
}

static void gate_wait_reached(void)
{
    pthread_mutex_lock(&g.mu);
    while (!g.reached) {
        pthread_cond_wait(&g.cv, &g.mu);
    }
    pthread_mutex_unlock(&g.mu);
}

/* Lets the held read go; whether it had given up waiting for that. */
static bool gate_release(void)
{
    bool gave_up = false;
    pthread_mutex_lock(&g.mu);
    g.released = true;
    gave_up = g.gave_up;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    return gave_up;
}

typedef struct remover {
    blk_store *bs;
    const char *snap;
    sd_code rc;
} remover;

static void *remove_thread(void *p)
{
    remover *r = p;
    r->rc = blk_snapshot_remove(r->bs, r->snap, NULL);
    return NULL;
}

static void expect_image(blk_disk *d, const uint8_t *img)
{
    for (uint64_t s = 0; s < NS; s++) {
        if (!bt_sector_is(d, s, img[s])) {
            fail_msg("sector %llu is not seed %u", (unsigned long long)s, img[s]);
        }
    }
}

/* Disk d with snapshots s1 and s2 and data in each layer; with open, d
 * stays open (through *h) and s2 is the snapshot to remove (its layer
 * merges into the open top), else s1 (it merges into s2's frozen layer). */
static void make_disk(blk_store *bs, const sd_secret *dk, uint8_t *img, blk_disk **h)
{
    blk_disk *d = NULL;

    assert_int_equal(blk_disk_create(bs, "d", NS * 4096, dk != NULL, NULL), SD_OK);
    assert_int_equal(blk_disk_open(bs, "d", dk, &d, NULL), SD_OK);
    for (int round = 0; round < 3; round++) {
        for (uint64_t s = (uint64_t)round; s < NS; s += 2) {
            uint8_t seed = (uint8_t)(round * 60 + s + 1);
            assert_int_equal(bt_put_sector(d, s, seed), SD_OK);
            img[s] = seed;
        }
        if (round < 2) {
            assert_int_equal(blk_disk_snapshot(d, round == 0 ? "s1" : "s2", NULL), SD_OK);
        }
    }
    *h = d;
}

/* While the merge after removing snap copies: another disk is made,
 * opened, written, snapshotted through its handle and by name, cloned and
 * removed; a third is opened; the merge then ends and the data is right. */
static void others_go_on_during_a_merge(bool open, const sd_secret *dk)
{
    char dir[64];
    blk_store *bs = gated_store(dir);
    blk_disk *d = NULL;
    blk_disk *o = NULL;
    blk_disk *x = NULL;
    uint8_t img[NS] = {0};
    pthread_t th;
    remover r = {.bs = bs, .snap = open ? "s2" : "s1", .rc = SD_E_INTERNAL};
    int64_t before = 0;
    int64_t after = 0;

    assert_int_equal(blk_disk_create(bs, "x", NS * 4096, false, NULL), SD_OK);
    make_disk(bs, dk, img, &d);
    if (!open) {
        assert_int_equal(blk_disk_close(d, NULL), SD_OK);
        d = NULL;
    }
    assert_int_equal(blk_store_layer_count(bs, &before, NULL), SD_OK);
    gate_arm();
    assert_int_equal(pthread_create(&th, NULL, remove_thread, &r), 0);
    gate_wait_reached(); /* the merge is copying, its layers marked busy */

    assert_int_equal(blk_disk_create(bs, "o", NS * 4096, dk != NULL, NULL), SD_OK);
    assert_int_equal(blk_disk_open(bs, "o", dk, &o, NULL), SD_OK);
    assert_int_equal(bt_put_sector(o, 3, 77), SD_OK);
    assert_int_equal(blk_disk_snapshot(o, "o1", NULL), SD_OK);
    assert_true(bt_sector_is(o, 3, 77));
    assert_int_equal(blk_disk_close(o, NULL), SD_OK);
    assert_int_equal(blk_snapshot_create(bs, "o", "o2", NULL), SD_OK);
    assert_int_equal(blk_disk_clone(bs, "o1", "oc", NULL), SD_OK);
    assert_int_equal(blk_disk_open(bs, "x", NULL, &x, NULL), SD_OK);
    assert_int_equal(blk_disk_close(x, NULL), SD_OK);
    assert_int_equal(blk_disk_info(bs, "d", NULL, NULL, NULL), SD_OK);

    assert_false(gate_release()); /* none of that waited for the merge */
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(r.rc, SD_OK);
    assert_int_equal(blk_store_layer_count(bs, &after, NULL), SD_OK);
    assert_int_equal(after, before + 3); /* o's three layers and oc's top, less the merged one */
    if (d == NULL) {
        assert_int_equal(blk_disk_open(bs, "d", dk, &d, NULL), SD_OK);
    }
    expect_image(d, img);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    assert_int_equal(blk_disk_open(bs, "d", dk, &d, NULL), SD_OK);
    expect_image(d, img);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    blk_store_close(bs);
    assert_int_equal(blk_store_gc_local(dir, false, NULL, NULL, NULL, NULL), SD_OK);
    {
        char cmd[128];
        (void)snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        assert_int_equal(system(cmd), 0);
    }
}

static void others_go_on_during_a_merge_into_a_frozen_layer(void **state)
{
    (void)state;
    others_go_on_during_a_merge(false, NULL);
}

static void others_go_on_during_a_merge_into_an_open_disk(void **state)
{
    sd_secret *dk = bt_dk(9);
    (void)state;
    others_go_on_during_a_merge(true, dk);
    sd_secret_free(dk);
}

typedef struct opener {
    blk_store *bs;
    const char *name;
    sd_code rc;
    bool done;
} opener;

static void *open_thread(void *p)
{
    opener *op = p;
    blk_disk *d = NULL;
    op->rc = blk_disk_open(op->bs, op->name, NULL, &d, NULL);
    if (op->rc == SD_OK) {
        op->rc = blk_disk_close(d, NULL);
    }
    __atomic_store_n(&op->done, true, __ATOMIC_RELEASE);
    return NULL;
}

/* Negative twin: the closed disk whose top a merge writes is not opened
 * under it; its open waits for the merge and then sees the merged chain. */
static void the_merged_disk_waits_for_its_merge(void **state)
{
    char dir[64];
    blk_store *bs = gated_store(dir);
    blk_disk *d = NULL;
    uint8_t img[NS] = {0};
    pthread_t th;
    pthread_t th2;
    remover r = {.bs = bs, .snap = "s2", .rc = SD_E_INTERNAL};
    opener op = {.bs = bs, .name = "d", .rc = SD_E_INTERNAL};

    (void)state;
    make_disk(bs, NULL, img, &d);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    d = NULL;
    gate_arm();
    assert_int_equal(pthread_create(&th, NULL, remove_thread, &r), 0); /* s2 merges into d's top */
    gate_wait_reached();
    assert_int_equal(pthread_create(&th2, NULL, open_thread, &op), 0);
    /* d's open cannot end while the merge writes d's top */
    assert_false(__atomic_load_n(&op.done, __ATOMIC_ACQUIRE));
    assert_false(gate_release());
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(pthread_join(th2, NULL), 0);
    assert_int_equal(r.rc, SD_OK);
    assert_int_equal(op.rc, SD_OK);
    assert_int_equal(blk_disk_open(bs, "d", NULL, &d, NULL), SD_OK);
    expect_image(d, img);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    blk_store_close(bs);
    {
        char cmd[128];
        (void)snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        assert_int_equal(system(cmd), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(others_go_on_during_a_merge_into_a_frozen_layer),
        cmocka_unit_test(others_go_on_during_a_merge_into_an_open_disk),
        cmocka_unit_test(the_merged_disk_waits_for_its_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
