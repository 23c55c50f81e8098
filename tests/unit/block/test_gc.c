/* test_gc.c: objects of layers no row names (what a job killed mid-way
 * leaves) are reclaimed when the store opens, and listed without removal
 * by a dry run; objects rows name, and files of other shapes, never go.
 *
 * The killed job is real: a child process runs a copy and is SIGKILLed
 * from inside its progress callback's wait, with part of its data written. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "blk_test.h"

#define DISK (8u << 20)

/* Files in t->dir whose names end in suffix. */
static int count_suffix(const bt *t, const char *suffix)
{
    DIR *dh = opendir(t->dir);
    struct dirent *e;
    int n = 0;
    size_t ls = strlen(suffix);
    while (dh != NULL && (e = readdir(dh)) != NULL) {
        size_t l = strlen(e->d_name);
        n += l >= ls && strcmp(e->d_name + l - ls, suffix) == 0;
    }
    if (dh != NULL) {
        closedir(dh);
    }
    return n;
}

static int objects(const bt *t)
{
    return count_suffix(t, ".data") + count_suffix(t, ".map");
}

static int progress_fd = -1;

/* In the child: tell the parent that data is on disk, then wait for the kill. */
static bool stall(void *ctx, uint64_t done, uint64_t total)
{
    (void)ctx;
    (void)total;
    if (done > 0) {
        char c = 'x';
        if (write(progress_fd, &c, 1) != 1) {
            _exit(3);
        }
        for (;;) {
            pause();
        }
    }
    return true;
}

/* A disk "d" with data in its snapshot "s" and in its top layer; the
 * store is closed (the child needs its lock).  Then a child that copies
 * "d" is killed mid-copy, leaving one layer's two objects unnamed. */
static void setup_killed_copy(bt *t, sd_secret *dk)
{
    blk_disk *d = NULL;
    uint8_t *buf = malloc(DISK);
    int p[2];
    pid_t pid;
    int status = 0;
    char c;

    assert_non_null(buf);
    bt_fill(buf, DISK, 7);
    assert_int_equal(blk_disk_create(t->bs, "d", DISK, true, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    assert_int_equal(blk_disk_pwrite(d, buf, DISK / 2, 0, 0, NULL), SD_OK);
    assert_int_equal(blk_disk_snapshot(d, "s", NULL), SD_OK);
    assert_int_equal(blk_disk_pwrite(d, buf + DISK / 2, DISK / 2, DISK / 2, 0, NULL), SD_OK);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    blk_store_close(t->bs);
    t->bs = NULL;
    free(buf);
    assert_int_equal(objects(t), 4);

    assert_int_equal(pipe(p), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        blk_store *bs = NULL;
        close(p[0]);
        progress_fd = p[1];
        if (blk_store_open_local(t->dir, &bs, NULL) != SD_OK) {
            _exit(2);
        }
        sd_ignore(blk_copy(bs, "d", dk, "copy", dk, stall, NULL, NULL));
        _exit(4); /* the copy was to stall, not end */
    }
    close(p[1]);
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(objects(t), 6); /* the copy's layer, named by no row */
}

static void expect_disk_data(bt *t, sd_secret *dk)
{
    blk_disk *d = NULL;
    uint8_t *want = malloc(DISK);
    uint8_t *got = malloc(DISK);

    assert_true(want != NULL && got != NULL);
    bt_fill(want, DISK, 7);
    assert_int_equal(blk_disk_open(t->bs, "d", dk, &d, NULL), SD_OK);
    assert_int_equal(blk_disk_pread(d, got, DISK, 0, NULL), SD_OK);
    assert_memory_equal(got, want, DISK);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    assert_int_equal(blk_disk_info(t->bs, "copy", NULL, NULL, NULL), SD_E_NOT_FOUND);
    free(want);
    free(got);
}

/* Files that are no layer objects (a stranger's, an upper-case look-alike)
 * in t->dir; gc must leave them. */
static void add_strangers(const bt *t)
{
    static const char *const names[] = {"notes.data", "0123456789ABCDEF0123456789ABCDEF.map"};
    for (size_t i = 0; i < 2; i++) {
        char path[512];
        FILE *f;
        (void)snprintf(path, sizeof path, "%s/%s", t->dir, names[i]);
        f = fopen(path, "w");
        assert_non_null(f);
        assert_int_equal(fputs("x", f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
    }
}

static void orphans_of_a_killed_job_go_at_open_and_named_objects_stay(void **state)
{
    bt *t = bt_open();
    sd_secret *dk = bt_dk(40);
    (void)state;

    setup_killed_copy(t, dk);
    add_strangers(t);
    assert_int_equal(blk_store_open_local(t->dir, &t->bs, NULL), SD_OK);
    assert_int_equal(objects(t), 4 + 2); /* the disk's and snapshot's, and the strangers */
    expect_disk_data(t, dk);
    /* and what a later gc finds is nothing */
    {
        uint64_t n = 99;
        assert_int_equal(blk_store_gc(t->bs, false, NULL, NULL, &n, NULL), SD_OK);
        assert_int_equal(n, 0);
    }
    assert_int_equal(objects(t), 6);
    sd_secret_free(dk);
    bt_close(t);
}

typedef struct seen {
    int n;
    uint64_t bytes;
} seen;

static void on_orphan(void *ctx, const char *object, uint64_t bytes)
{
    seen *s = ctx;
    assert_true(strstr(object, ".data") != NULL || strstr(object, ".map") != NULL);
    s->n++;
    s->bytes += bytes;
}

static void a_dry_run_lists_orphans_and_removes_nothing(void **state)
{
    bt *t = bt_open();
    sd_secret *dk = bt_dk(41);
    seen s = {0};
    uint64_t n = 0;
    (void)state;

    setup_killed_copy(t, dk);
    add_strangers(t);
    assert_int_equal(blk_store_gc_local(t->dir, true, on_orphan, &s, &n, NULL), SD_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(n, 2);
    assert_true(s.bytes > 0); /* the copy had written data */
    assert_int_equal(objects(t), 6 + 2);
    /* the real run removes exactly those */
    s = (seen){0};
    assert_int_equal(blk_store_gc_local(t->dir, false, on_orphan, &s, &n, NULL), SD_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(objects(t), 4 + 2);
    s = (seen){0};
    assert_int_equal(blk_store_gc_local(t->dir, true, on_orphan, &s, &n, NULL), SD_OK);
    assert_int_equal(s.n, 0);
    assert_int_equal(blk_store_open_local(t->dir, &t->bs, NULL), SD_OK);
    expect_disk_data(t, dk);
    sd_secret_free(dk);
    bt_close(t);
}

/* While a store is open (a running server), gc refuses instead of racing
 * its jobs, whose objects no row names yet; so does a second open. */
static void gc_refuses_a_store_in_use(void **state)
{
    bt *t = bt_open();
    blk_store *other = NULL;
    sd_err e = SD_ERR_INIT;
    (void)state;

    assert_int_equal(blk_store_gc_local(t->dir, true, NULL, NULL, NULL, &e), SD_E_CONFLICT);
    assert_non_null(strstr(e.msg, "in use"));
    assert_int_equal(blk_store_open_local(t->dir, &other, NULL), SD_E_CONFLICT);
    assert_null(other);
    blk_store_close(t->bs);
    t->bs = NULL;
    assert_int_equal(blk_store_gc_local(t->dir, true, NULL, NULL, NULL, NULL), SD_OK);
    assert_int_equal(blk_store_open_local(t->dir, &t->bs, NULL), SD_OK);
    bt_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(orphans_of_a_killed_job_go_at_open_and_named_objects_stay),
        cmocka_unit_test(a_dry_run_lists_orphans_and_removes_nothing),
        cmocka_unit_test(gc_refuses_a_store_in_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
