/* test_copy.c: re-encrypting copies and raw images.  A copy reads
 * identical to its source under every key combination, is one flat layer,
 * keeps ZERO and holes without data, leaks no plaintext when encrypted,
 * reports monotonic progress ending at total, and leaves nothing behind
 * when cancelled.  Raw import and export round-trip and stay sparse. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <cmocka.h>

#include "blk_test.h"

#define SECTORS 1024u
#define SZ      ((uint64_t)SECTORS * 4096u)

static const char marker[] = "SEALDISK-COPY-CANARY-PLAINTEXT!!"; /* 32 bytes */

/* Sector s of the source: a marker-led pattern, zeroes or a hole. */
static void src_sector(uint64_t s, uint8_t *p)
{
    bt_fill(p, 4096, (uint8_t)(s * 13u + 1u));
    memcpy(p, marker, sizeof marker - 1);
}

/* A two-layer source "src": DATA in both layers, ZERO over older DATA
 * (the ZERO must hide it), holes; snapshot "snap" of the lower layer. */
static void make_source(bt *t, const sd_secret *dk)
{
    blk_disk *d = NULL;
    uint8_t w[4096];

    assert_int_equal(blk_disk_create(t->bs, "src", SZ, dk != NULL, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "src", dk, &d, NULL), SD_OK);
    for (uint64_t s = 0; s < SECTORS; s += 3) {
        src_sector(s, w);
        assert_int_equal(blk_disk_pwrite(d, w, 4096, s * 4096, 0, NULL), SD_OK);
    }
    assert_int_equal(blk_disk_snapshot(d, "snap", NULL), SD_OK);
    for (uint64_t s = 1; s < SECTORS; s += 7) {
        src_sector(s + 5000, w);
        assert_int_equal(blk_disk_pwrite(d, w, 4096, s * 4096, 0, NULL), SD_OK);
    }
    assert_int_equal(blk_disk_zero(d, 64 * 4096, 100 * 4096, 0, NULL), SD_OK);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
}

static void expect_same(bt *t, const char *a, const sd_secret *ka, const char *b,
                        const sd_secret *kb)
{
    blk_disk *x = NULL;
    blk_disk *y = NULL;
    uint8_t *p = malloc(SZ);
    uint8_t *q = malloc(SZ);

    assert_non_null(p);
    assert_non_null(q);
    assert_int_equal(blk_disk_open(t->bs, a, ka, &x, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, b, kb, &y, NULL), SD_OK);
    assert_int_equal(blk_disk_pread(x, p, (uint32_t)SZ, 0, NULL), SD_OK);
    assert_int_equal(blk_disk_pread(y, q, (uint32_t)SZ, 0, NULL), SD_OK);
    assert_memory_equal(p, q, SZ);
    assert_true(bt_all(q + 100 * 4096, 64 * 4096, 0)); /* the ZERO range */
    assert_int_equal(blk_disk_close(x, NULL), SD_OK);
    assert_int_equal(blk_disk_close(y, NULL), SD_OK);
    free(p);
    free(q);
}

static int64_t layers(bt *t)
{
    int64_t n = -1;
    assert_int_equal(blk_store_layer_count(t->bs, &n, NULL), SD_OK);
    return n;
}

static int nfiles(bt *t)
{
    DIR *dh = opendir(t->dir);
    struct dirent *e;
    int n = 0;
    while (dh != NULL && (e = readdir(dh)) != NULL) {
        n += strstr(e->d_name, ".data") != NULL || strstr(e->d_name, ".map") != NULL;
    }
    if (dh != NULL) {
        closedir(dh);
    }
    return n;
}

/* Whether any file of the store not listed in names_before (the copy's
 * new layer) contains marker. */
static bool marker_in_new_files(bt *t, const char *names_before)
{
    DIR *dh = opendir(t->dir);
    struct dirent *e;
    bool found = false;
    while (dh != NULL && (e = readdir(dh)) != NULL && !found) {
        char p[512];
        FILE *f;
        uint8_t *buf;
        long len;
        if (e->d_name[0] == '.' || strstr(names_before, e->d_name) != NULL ||
            strstr(e->d_name, "block.db") != NULL) {
            continue;
        }
        snprintf(p, sizeof p, "%s/%s", t->dir, e->d_name);
        f = fopen(p, "rb");
        assert_non_null(f);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        len = ftell(f);
        rewind(f);
        buf = malloc((size_t)len + 1);
        assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
        assert_int_equal(fclose(f), 0);
        for (long i = 0; i + (long)sizeof marker - 1 <= len && !found; i++) {
            found = memcmp(buf + i, marker, sizeof marker - 1) == 0;
        }
        free(buf);
    }
    if (dh != NULL) {
        closedir(dh);
    }
    return found;
}

static void names(bt *t, char *out, size_t n)
{
    DIR *dh = opendir(t->dir);
    struct dirent *e;
    out[0] = '\0';
    while (dh != NULL && (e = readdir(dh)) != NULL) {
        size_t k = strlen(out);
        (void)snprintf(out + k, n - k, "%s\n", e->d_name);
    }
    if (dh != NULL) {
        closedir(dh);
    }
}

typedef struct prog {
    uint64_t last;
    uint64_t total;
    int calls;
    bool monotonic;
    double cancel_at; /* fraction of total; > 1: never */
} prog;

static bool on_progress(void *ctx, uint64_t done, uint64_t total)
{
    prog *p = ctx;
    if (p->calls > 0 && (done < p->last || total != p->total)) {
        p->monotonic = false;
    }
    p->calls++;
    p->last = done;
    p->total = total;
    return (double)done < p->cancel_at * (double)total || total == 0;
}

static void copies_read_identical_under_every_key_pair(void **state)
{
    bt *t = bt_open();
    sd_secret *k1 = bt_dk(21);
    sd_secret *k2 = bt_dk(22);
    char before[4096];
    prog p = {.monotonic = true, .cancel_at = 2.0};
    (void)state;

    make_source(t, NULL);
    /* plain -> encrypted (from the disk: its whole chain) */
    names(t, before, sizeof before);
    assert_int_equal(blk_copy(t->bs, "src", NULL, "enc1", k1, on_progress, &p, NULL), SD_OK);
    assert_true(p.monotonic);
    assert_true(p.calls >= 2);
    assert_int_equal(p.last, p.total);
    assert_true(p.total > 0 && p.total < SZ); /* only DATA sectors count */
    expect_same(t, "src", NULL, "enc1", k1);
    assert_false(marker_in_new_files(t, before));
    /* encrypted -> another key */
    names(t, before, sizeof before);
    assert_int_equal(blk_copy(t->bs, "enc1", k1, "enc2", k2, NULL, NULL, NULL), SD_OK);
    expect_same(t, "src", NULL, "enc2", k2);
    assert_false(marker_in_new_files(t, before));
    /* encrypted -> plain: the positive control of the marker scan */
    names(t, before, sizeof before);
    assert_int_equal(blk_copy(t->bs, "enc2", k2, "plain", NULL, NULL, NULL, NULL), SD_OK);
    expect_same(t, "src", NULL, "plain", NULL);
    assert_true(marker_in_new_files(t, before));
    /* each copy is one flat layer: src has 2, the copies 1 each */
    assert_int_equal(layers(t), 5);

    /* a snapshot as the source: the lower layer only */
    assert_int_equal(blk_copy(t->bs, "snap", NULL, "fromsnap", k1, NULL, NULL, NULL), SD_OK);
    assert_int_equal(blk_disk_clone(t->bs, "snap", "snapclone", NULL), SD_OK);
    {
        blk_disk *x = NULL;
        blk_disk *y = NULL;
        uint8_t a[8192];
        uint8_t b[8192];
        assert_int_equal(blk_disk_open(t->bs, "snapclone", NULL, &x, NULL), SD_OK);
        assert_int_equal(blk_disk_open(t->bs, "fromsnap", k1, &y, NULL), SD_OK);
        for (uint64_t s = 0; s < SECTORS; s += 2) {
            assert_int_equal(blk_disk_pread(x, a, 8192, s * 4096, NULL), SD_OK);
            assert_int_equal(blk_disk_pread(y, b, 8192, s * 4096, NULL), SD_OK);
            assert_memory_equal(a, b, 8192);
        }
        assert_int_equal(blk_disk_close(x, NULL), SD_OK);
        assert_int_equal(blk_disk_close(y, NULL), SD_OK);
    }
    sd_secret_free(k1);
    sd_secret_free(k2);
    bt_close(t);
}

static void a_cancelled_or_refused_copy_leaves_nothing(void **state)
{
    bt *t = bt_open();
    sd_secret *k1 = bt_dk(23);
    prog p = {.monotonic = true, .cancel_at = 0.5};
    blk_disk *d = NULL;
    int64_t l0 = 0;
    int f0 = 0;
    (void)state;

    make_source(t, NULL);
    l0 = layers(t);
    f0 = nfiles(t);
    assert_int_equal(blk_copy(t->bs, "src", NULL, "dst", k1, on_progress, &p, NULL), SD_E_CONFLICT);
    assert_true(p.last >= p.total / 2 && p.last < p.total); /* stopped at 50 % */
    assert_true(p.monotonic);
    assert_int_equal(blk_disk_info(t->bs, "dst", NULL, NULL, NULL), SD_E_NOT_FOUND);
    assert_int_equal(layers(t), l0);
    assert_int_equal(nfiles(t), f0);

    /* refused: the destination exists, the source is open, wrong keys */
    assert_int_equal(blk_copy(t->bs, "src", NULL, "src", NULL, NULL, NULL, NULL), SD_E_CONFLICT);
    assert_int_equal(blk_disk_open(t->bs, "src", NULL, &d, NULL), SD_OK);
    assert_int_equal(blk_copy(t->bs, "src", NULL, "dst", NULL, NULL, NULL, NULL), SD_E_CONFLICT);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    assert_int_equal(blk_copy(t->bs, "src", k1, "dst", NULL, NULL, NULL, NULL), SD_E_INVALID);
    assert_int_equal(blk_copy(t->bs, "nothing", NULL, "dst", NULL, NULL, NULL, NULL),
                     SD_E_NOT_FOUND);
    /* a write failing half-way */
    sd_fault_arm("blk.backend.pwrite", 20, false);
    assert_int_equal(blk_copy(t->bs, "src", NULL, "dst", k1, NULL, NULL, NULL), SD_E_IO);
    sd_fault_reset();
    assert_int_equal(layers(t), l0);
    assert_int_equal(nfiles(t), f0);
    assert_int_equal(blk_disk_info(t->bs, "dst", NULL, NULL, NULL), SD_E_NOT_FOUND);
    /* and the source is still usable: it was released */
    assert_int_equal(blk_disk_open(t->bs, "src", NULL, &d, NULL), SD_OK);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    sd_secret_free(k1);
    bt_close(t);
}

static long long data_blocks(bt *t)
{
    DIR *dh = opendir(t->dir);
    struct dirent *e;
    long long n = 0;
    while (dh != NULL && (e = readdir(dh)) != NULL) {
        char p[512];
        struct stat st;
        if (strstr(e->d_name, ".data") == NULL) {
            continue;
        }
        (void)snprintf(p, sizeof p, "%s/%s", t->dir, e->d_name);
        assert_int_equal(stat(p, &st), 0);
        n += (long long)st.st_blocks;
    }
    if (dh != NULL) {
        closedir(dh);
    }
    return n;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static long long blocks_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (long long)st.st_blocks;
}

static void raw_images_round_trip_and_stay_sparse(void **state)
{
    bt *t = bt_open();
    sd_secret *k1 = bt_dk(24);
    uint8_t *img = calloc(1, SZ);
    uint8_t *back = malloc(SZ);
    char in[128];
    char out[128];
    char odd[128];
    blk_disk *d = NULL;
    FILE *f;
    (void)state;

    assert_non_null(img);
    assert_non_null(back);
    for (uint64_t s = 0; s < SECTORS; s += 16) { /* 1 data block in 16 */
        src_sector(s, img + s * 4096);
    }
    (void)snprintf(in, sizeof in, "%s/in.img", t->dir);
    (void)snprintf(out, sizeof out, "%s/out.img", t->dir);
    (void)snprintf(odd, sizeof odd, "%s/odd.img", t->dir);
    write_file(in, img, SZ);
    write_file(odd, img, 4096 + 512);

    /* progress counts the file's bytes; a cancel leaves no disk */
    prog p = {.monotonic = true, .cancel_at = 0.5};
    assert_int_equal(blk_import_raw(t->bs, in, "imp", k1, on_progress, &p, NULL), SD_E_CONFLICT);
    assert_true(p.monotonic && p.total == SZ && p.last >= SZ / 2 && p.last < SZ);
    assert_int_equal(blk_disk_info(t->bs, "imp", NULL, NULL, NULL), SD_E_NOT_FOUND);
    p = (prog){.monotonic = true, .cancel_at = 2.0};
    assert_int_equal(blk_import_raw(t->bs, in, "imp", k1, on_progress, &p, NULL), SD_OK);
    assert_true(p.monotonic && p.calls >= 4 && p.last == SZ && p.total == SZ);
    assert_int_equal(blk_import_raw(t->bs, in, "imp", k1, NULL, NULL, NULL), SD_E_CONFLICT);
    assert_int_equal(blk_import_raw(t->bs, odd, "odd", NULL, NULL, NULL, NULL), SD_E_INVALID);
    assert_int_equal(blk_disk_info(t->bs, "odd", NULL, NULL, NULL), SD_E_NOT_FOUND);
    assert_int_equal(blk_disk_open(t->bs, "imp", k1, &d, NULL), SD_OK);
    assert_int_equal(blk_disk_size(d), SZ);
    assert_int_equal(blk_disk_pread(d, back, (uint32_t)SZ, 0, NULL), SD_OK);
    assert_memory_equal(back, img, SZ);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    assert_true(data_blocks(t) * 512 <= (long long)SZ / 4); /* sparse: 1/16 is data */

    assert_int_equal(blk_export_raw(t->bs, "imp", k1, out, NULL), SD_OK);
    assert_int_equal(blk_export_raw(t->bs, "imp", k1, out, NULL), SD_E_CONFLICT);
    f = fopen(out, "rb");
    assert_non_null(f);
    assert_int_equal(fread(back, 1, SZ, f), SZ);
    assert_int_equal(fclose(f), 0);
    assert_memory_equal(back, img, SZ);
    assert_true(blocks_of(out) * 512 <= (long long)SZ / 4); /* sparse: 1/16 is data */
    /* a failed export leaves no file */
    assert_int_equal(unlink(out), 0);
    sd_fault_arm("blk.export.write", 3, false);
    assert_int_equal(blk_export_raw(t->bs, "imp", k1, out, NULL), SD_E_IO);
    sd_fault_reset();
    assert_int_equal(access(out, F_OK), -1);
    assert_int_equal(unlink(in), 0);
    assert_int_equal(unlink(odd), 0);
    free(img);
    free(back);
    sd_secret_free(k1);
    bt_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(copies_read_identical_under_every_key_pair),
        cmocka_unit_test(a_cancelled_or_refused_copy_leaves_nothing),
        cmocka_unit_test(raw_images_round_trip_and_stay_sparse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
