/* test_rados.c: the RADOS backend against a real cluster.  Objects are
 * striped over "<name>.<16 hex>" RADOS objects of 4 MiB, read as zeroes
 * where absent or short, punch removes whole stripes and zeroes partial
 * ones, the size survives reopening and never shrinks, remove leaves no
 * stripe behind and, like a large punch, visits only the stripes written,
 * an unreachable cluster fails the open in bounded time, and no plaintext
 * of an encrypted disk reaches any RADOS object.
 *
 * test_backend.c's tests run against RADOS too (block.backend_rados).
 * The cluster is scripts/ceph-dev.sh's, started by the CTest fixture
 * "ceph", which names it in SD_RADOS_CONF, SD_RADOS_POOL and SD_RADOS_ID;
 * run without them, the test reports skip (77).  Each test works in a
 * RADOS namespace of its own, so tests and runs never see each other's
 * objects. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <rados/librados.h>

#include "blk_test.h"
#include "block/blk_backend.h"
#include "block/block.h"

#define STRIPE BLK_BACKEND_STRIPE

static const char *conf;
static const char *pool;
static const char *id;
static char ns[64];

/* The cluster directly, to look at what the backend left in the pool. */
static rados_t cluster;
static rados_ioctx_t io;

static int setup(void **state)
{
    static unsigned seq;
    (void)state;
    (void)snprintf(ns, sizeof ns, "t%ld-%u-%ld", (long)getpid(), seq++, (long)time(NULL));
    rados_ioctx_set_namespace(io, ns);
    return 0;
}

static blk_backend *open_be(void)
{
    blk_rados_opts o = BLK_RADOS_OPTS_INIT;
    blk_backend *be = NULL;
    sd_err e = SD_ERR_INIT;

    o.conf = conf;
    o.pool = pool;
    o.id = id;
    o.ns = ns;
    if (blk_backend_rados(&o, &be, &e) != SD_OK) {
        fail_msg("open the RADOS backend: %s", e.msg);
    }
    return be;
}

/* -ENOENT, or the size of the RADOS object oid in this test's namespace. */
static int64_t raw_size(const char *oid)
{
    uint64_t size = 0;
    time_t mtime = 0;
    int r = rados_stat(io, oid, &size, &mtime);
    return r < 0 ? r : (int64_t)size;
}

/* A stripe's name would alias stripe 0 of another object. */
static void rados_backend_refuses_the_names_of_stripes(void **state)
{
    blk_backend *be = open_be();
    void *o = NULL;
    (void)state;

    assert_int_equal(be->ops->open(be->h, "x.0000000000000000", BLK_OBJ_CREATE, &o, NULL),
                     SD_E_INVALID);
    assert_int_equal(be->ops->open(be->h, "x.000000000000000g", BLK_OBJ_CREATE, &o, NULL), SD_OK);
    be->ops->close(o);
    assert_int_equal(be->ops->remove(be->h, "x.000000000000000g", NULL), SD_OK);
    blk_backend_free(be);
}

/* A 1 MiB write straddling stripes 0 and 1 lands in exactly those two RADOS
 * objects, named <name>.<16 hex>, and reads back whole. */
static void rados_backend_stripes_objects_over_4_mib_rados_objects(void **state)
{
    blk_backend *be = open_be();
    void *o = NULL;
    size_t n = 1u << 20;
    uint64_t off = STRIPE - n / 2;
    uint8_t *w = malloc(n);
    uint8_t *r = malloc(n);
    uint64_t size = 0;
    (void)state;

    assert_non_null(w);
    assert_non_null(r);
    bt_fill(w, n, 7);
    assert_int_equal(be->ops->open(be->h, "big", BLK_OBJ_CREATE, &o, NULL), SD_OK);
    assert_int_equal(be->ops->pwrite(o, w, n, off, NULL), SD_OK);
    assert_int_equal(raw_size("big.0000000000000000"), STRIPE);
    assert_int_equal(raw_size("big.0000000000000001"), n / 2);
    assert_int_equal(raw_size("big.0000000000000002"), -ENOENT);
    assert_int_equal(be->ops->pread(o, r, n, off, NULL), SD_OK);
    assert_memory_equal(r, w, n);
    assert_int_equal(be->ops->size(o, &size, NULL), SD_OK);
    assert_int_equal(size, off + n);
    be->ops->close(o);
    /* remove takes every stripe with it */
    assert_int_equal(be->ops->remove(be->h, "big", NULL), SD_OK);
    assert_int_equal(raw_size("big.0000000000000000"), -ENOENT);
    assert_int_equal(raw_size("big.0000000000000001"), -ENOENT);
    assert_int_equal(raw_size("big"), -ENOENT);
    free(w);
    free(r);
    blk_backend_free(be);
}

static void rados_backend_punch_removes_whole_stripes_and_zeroes_partial_ones(void **state)
{
    blk_backend *be = open_be();
    void *o = NULL;
    size_t n = 2 * (size_t)STRIPE + 8192;
    uint8_t *w = malloc(n);
    uint8_t *r = malloc(n);
    uint64_t size = 0;
    (void)state;

    assert_non_null(w);
    assert_non_null(r);
    bt_fill(w, n, 3);
    assert_int_equal(be->ops->open(be->h, "p", BLK_OBJ_CREATE, &o, NULL), SD_OK);
    assert_int_equal(be->ops->pwrite(o, w, n, 0, NULL), SD_OK);
    /* [STRIPE - 4096, 2 STRIPE + 4096): the tail of stripe 0, all of
     * stripe 1, the head of stripe 2 */
    assert_int_equal(be->ops->punch(o, STRIPE - 4096, STRIPE + 8192, NULL), SD_OK);
    assert_int_equal(raw_size("p.0000000000000001"), -ENOENT);
    assert_true(raw_size("p.0000000000000000") > 0);
    assert_true(raw_size("p.0000000000000002") > 0);
    memset(w + STRIPE - 4096, 0, STRIPE + 8192);
    assert_int_equal(be->ops->pread(o, r, n, 0, NULL), SD_OK);
    assert_memory_equal(r, w, n);
    /* punching keeps the size, and never creates an absent stripe */
    assert_int_equal(be->ops->size(o, &size, NULL), SD_OK);
    assert_int_equal(size, n);
    assert_int_equal(be->ops->punch(o, STRIPE + 4096, 4096, NULL), SD_OK);
    assert_int_equal(raw_size("p.0000000000000001"), -ENOENT);
    be->ops->close(o);
    assert_int_equal(be->ops->remove(be->h, "p", NULL), SD_OK);
    free(w);
    free(r);
    blk_backend_free(be);
}

/* The size lives in the cluster: a second handle sees it, a reopened one
 * too, and a write below it by a handle that saw less never lowers it. */
static void rados_backend_size_survives_reopening_and_never_shrinks(void **state)
{
    blk_backend *be = open_be();
    void *a = NULL;
    void *b = NULL;
    uint8_t w[512];
    uint64_t size = 0;
    (void)state;

    memset(w, 1, sizeof w);
    assert_int_equal(be->ops->open(be->h, "s", BLK_OBJ_CREATE, &a, NULL), SD_OK);
    assert_int_equal(be->ops->open(be->h, "s", 0, &b, NULL), SD_OK);
    assert_int_equal(be->ops->pwrite(b, w, sizeof w, 9 * (uint64_t)STRIPE, NULL), SD_OK);
    assert_int_equal(be->ops->pwrite(a, w, sizeof w, STRIPE, NULL), SD_OK);
    assert_int_equal(be->ops->size(a, &size, NULL), SD_OK);
    assert_int_equal(size, 9 * (uint64_t)STRIPE + 512);
    be->ops->close(a);
    be->ops->close(b);
    assert_int_equal(be->ops->open(be->h, "s", 0, &a, NULL), SD_OK);
    assert_int_equal(be->ops->size(a, &size, NULL), SD_OK);
    assert_int_equal(size, 9 * (uint64_t)STRIPE + 512);
    be->ops->close(a);
    assert_int_equal(be->ops->remove(be->h, "s", NULL), SD_OK);
    assert_int_equal(raw_size("s.0000000000000009"), -ENOENT);
    blk_backend_free(be);
}

/* A sparse 1 TiB object: punch and remove visit the two stripes written,
 * not the 262144 its size spans (without the stripe index this takes
 * minutes and runs into the test's timeout). */
static void rados_backend_punches_and_removes_a_sparse_object_by_its_written_stripes(void **state)
{
    blk_backend *be = open_be();
    void *o = NULL;
    uint8_t w[4096];
    uint8_t r[4096];
    uint64_t tib = (uint64_t)1 << 40;
    (void)state;

    memset(w, 0x77, sizeof w);
    assert_int_equal(be->ops->open(be->h, "sparse", BLK_OBJ_CREATE, &o, NULL), SD_OK);
    assert_int_equal(be->ops->pwrite(o, w, sizeof w, 0, NULL), SD_OK);
    assert_int_equal(be->ops->pwrite(o, w, sizeof w, tib - sizeof w, NULL), SD_OK);
    assert_int_equal(raw_size("sparse.000000000003ffff"), STRIPE);
    assert_int_equal(be->ops->punch(o, 4096, tib - 4096, NULL), SD_OK);
    assert_int_equal(raw_size("sparse.000000000003ffff"), -ENOENT);
    assert_int_equal(be->ops->pread(o, r, sizeof r, tib - sizeof r, NULL), SD_OK);
    assert_true(bt_all(r, sizeof r, 0));
    assert_int_equal(be->ops->pread(o, r, sizeof r, 0, NULL), SD_OK);
    assert_memory_equal(r, w, sizeof w);
    assert_int_equal(be->ops->pwrite(o, w, sizeof w, tib / 2, NULL), SD_OK);
    be->ops->close(o);
    assert_int_equal(be->ops->remove(be->h, "sparse", NULL), SD_OK);
    assert_int_equal(raw_size("sparse.0000000000020000"), -ENOENT);
    assert_int_equal(raw_size("sparse.0000000000000000"), -ENOENT);
    blk_backend_free(be);
}

typedef struct seen {
    int n;
    uint64_t bytes_a;
    bool b;
} seen;

static sd_code note(void *ctx, const char *name, uint64_t bytes, sd_err *err)
{
    seen *s = ctx;
    (void)err;
    s->n++;
    if (strcmp(name, "a") == 0) {
        s->bytes_a = bytes;
    }
    s->b |= strcmp(name, "b") == 0;
    return SD_OK;
}

/* The listing names objects, not stripes, and skips RADOS objects that
 * are not the backend's. */
static void rados_backend_lists_its_objects_and_nothing_else(void **state)
{
    blk_backend *be = open_be();
    void *o = NULL;
    uint8_t w[4096];
    seen s = {0};
    (void)state;

    memset(w, 9, sizeof w);
    assert_int_equal(be->ops->open(be->h, "a", BLK_OBJ_CREATE, &o, NULL), SD_OK);
    assert_int_equal(be->ops->pwrite(o, w, sizeof w, STRIPE, NULL), SD_OK);
    assert_int_equal(be->ops->pwrite(o, w, sizeof w, 0, NULL), SD_OK);
    be->ops->close(o);
    assert_int_equal(be->ops->open(be->h, "b", BLK_OBJ_CREATE, &o, NULL), SD_OK);
    be->ops->close(o);
    assert_int_equal(rados_write_full(io, "foreign", "x", 1), 0);
    assert_int_equal(be->ops->list(be->h, note, &s, NULL), SD_OK);
    assert_int_equal(s.n, 2);
    assert_true(s.b);
    assert_int_equal(s.bytes_a, 2 * sizeof w);
    assert_int_equal(be->ops->remove(be->h, "a", NULL), SD_OK);
    assert_int_equal(be->ops->remove(be->h, "b", NULL), SD_OK);
    blk_backend_free(be);
}

/* A conf naming a monitor nobody runs: the open fails with SD_E_IO, well
 * within a few times its timeout, and names the cluster. */
static void rados_backend_open_fails_in_bounded_time_when_the_cluster_is_unreachable(void **state)
{
    char path[] = "/tmp/sd-rados-conf-XXXXXX";
    blk_rados_opts o = BLK_RADOS_OPTS_INIT;
    blk_backend *be = NULL;
    sd_err e = SD_ERR_INIT;
    time_t t0 = 0;
    int fd = mkstemp(path);
    FILE *f = NULL;
    (void)state;

    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    /* port 9: discard, nothing listens there on a test machine */
    (void)fprintf(f, "[global]\nmon host = v2:127.0.0.1:9\nauth client required = cephx\n"
                     "ms bind msgr1 = false\nlog file = /dev/null\n");
    assert_int_equal(fclose(f), 0);
    o.conf = path;
    o.pool = pool;
    o.id = id;
    o.connect_timeout_s = 2;
    t0 = time(NULL);
    assert_int_equal(blk_backend_rados(&o, &be, &e), SD_E_IO);
    assert_true(time(NULL) - t0 < 20);
    assert_null(be);
    assert_non_null(strstr(e.msg, "cannot connect to the Ceph cluster"));
    unlink(path);
}

static void rados_backend_open_refuses_a_missing_pool_or_conf(void **state)
{
    blk_rados_opts o = BLK_RADOS_OPTS_INIT;
    blk_backend *be = NULL;
    (void)state;

    o.conf = conf;
    o.pool = "no-such-pool";
    o.id = id;
    assert_int_equal(blk_backend_rados(&o, &be, NULL), SD_E_NOT_FOUND);
    assert_null(be);
    o.pool = pool;
    o.conf = "/nonexistent/ceph.conf";
    assert_int_equal(blk_backend_rados(&o, &be, NULL), SD_E_INVALID);
    o.conf = NULL;
    assert_int_equal(blk_backend_rados(&o, &be, NULL), SD_E_INVALID);
    assert_null(be);
}

/* Whether any RADOS object of this test's namespace holds marker. */
static bool pool_holds(const uint8_t *marker, size_t mlen)
{
    rados_list_ctx_t lc = NULL;
    const char *oid = NULL;
    uint8_t *buf = malloc(STRIPE);
    bool found = false;
    int objects = 0;

    assert_non_null(buf);
    assert_int_equal(rados_nobjects_list_open(io, &lc), 0);
    while (rados_nobjects_list_next(lc, &oid, NULL, NULL) == 0) {
        int n = rados_read(io, oid, (char *)buf, STRIPE, 0);
        assert_true(n >= 0);
        objects++;
        for (size_t i = 0; i + mlen <= (size_t)n && !found; i++) {
            found = memcmp(buf + i, marker, mlen) == 0;
        }
    }
    rados_nobjects_list_close(lc);
    free(buf);
    assert_true(objects > 0);
    return found;
}

/* Writes a marker through a block-store disk on RADOS; whether the pool
 * then holds it in plaintext. */
static bool marker_reaches_rados(bool encrypted)
{
    char dir[] = "/tmp/sd-rados-db-XXXXXX";
    char db[96];
    blk_backend *be = open_be();
    blk_store *bs = NULL;
    blk_disk *d = NULL;
    sd_secret *dk = encrypted ? bt_dk(1) : NULL;
    uint8_t w[4096];
    static const char marker[] = "SEALDISK-RADOS-CANARY-7f3a";
    bool found = false;

    assert_non_null(mkdtemp(dir));
    (void)snprintf(db, sizeof db, "%s/block.db", dir);
    for (size_t i = 0; i + sizeof marker <= sizeof w; i += sizeof marker) {
        memcpy(w + i, marker, sizeof marker);
    }
    assert_int_equal(blk_store_open(db, &be, &bs, NULL), SD_OK);
    assert_int_equal(blk_disk_create(bs, "d", 64u << 20, encrypted, NULL), SD_OK);
    assert_int_equal(blk_disk_open(bs, "d", dk, &d, NULL), SD_OK);
    for (uint64_t s = 0; s < 16; s++) {
        assert_int_equal(blk_disk_pwrite(d, w, sizeof w, s * (STRIPE / 2), 0, NULL), SD_OK);
    }
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    blk_store_close(bs);
    found = pool_holds((const uint8_t *)marker, sizeof marker - 1);
    sd_secret_free(dk);
    unlink(db);
    rmdir(dir);
    return found;
}

static void rados_holds_no_plaintext_of_an_encrypted_disk(void **state)
{
    (void)state;
    assert_false(marker_reaches_rados(true));
}

/* The twin: the same scan finds an unencrypted disk's plaintext, so the
 * scan does look at the bytes. */
static void rados_holds_the_plaintext_of_an_unencrypted_disk(void **state)
{
    (void)state;
    assert_true(marker_reaches_rados(false));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(rados_backend_refuses_the_names_of_stripes, setup),
        cmocka_unit_test_setup(rados_backend_stripes_objects_over_4_mib_rados_objects, setup),
        cmocka_unit_test_setup(rados_backend_punch_removes_whole_stripes_and_zeroes_partial_ones,
                               setup),
        cmocka_unit_test_setup(rados_backend_size_survives_reopening_and_never_shrinks, setup),
        cmocka_unit_test_setup(
            rados_backend_punches_and_removes_a_sparse_object_by_its_written_stripes, setup),
        cmocka_unit_test_setup(rados_backend_lists_its_objects_and_nothing_else, setup),
        cmocka_unit_test_setup(
            rados_backend_open_fails_in_bounded_time_when_the_cluster_is_unreachable, setup),
        cmocka_unit_test_setup(rados_backend_open_refuses_a_missing_pool_or_conf, setup),
        cmocka_unit_test_setup(rados_holds_no_plaintext_of_an_encrypted_disk, setup),
        cmocka_unit_test_setup(rados_holds_the_plaintext_of_an_unencrypted_disk, setup),
    };
    int rc = 0;

    conf = getenv("SD_RADOS_CONF"); /* NOLINT(concurrency-mt-unsafe): before any thread */
    pool = getenv("SD_RADOS_POOL"); /* NOLINT(concurrency-mt-unsafe) */
    id = getenv("SD_RADOS_ID");     /* NOLINT(concurrency-mt-unsafe) */
    if (conf == NULL || pool == NULL || id == NULL) {
        (void)fprintf(stderr, "SD_RADOS_CONF/POOL/ID unset: no cluster (the CTest fixture ceph)\n");
        return 77;
    }
    if (rados_create(&cluster, id) != 0 || rados_conf_read_file(cluster, conf) != 0 ||
        rados_connect(cluster) != 0 || rados_ioctx_create(cluster, pool, &io) != 0) {
        (void)fprintf(stderr, "cannot reach the cluster of %s\n", conf);
        return 1;
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    rados_ioctx_destroy(io);
    rados_shutdown(cluster);
    return rc;
}
