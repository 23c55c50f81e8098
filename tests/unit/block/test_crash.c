/* test_crash.c: a process killed at a random moment loses no flushed write.
 *
 * Each iteration forks a child that opens an encrypted disk and performs
 * random whole-sector writes, WRITE_ZEROES/TRIMs and flushes until the
 * parent SIGKILLs it a few milliseconds in.  Every operation has a tag from
 * one counter that only grows; a written sector holds pattern(sector, tag),
 * so its content names the one write that produced it.  In a shared
 * mapping the child records, per sector:
 *   issued[s]   the newest write tag it started on s (set before the call),
 *   zeroed[s]   the newest zeroing tag it started on s,
 *   flushed[s]  (tag << 1 | is_zero) of the newest operation on s that had
 *               completed before a flush that then returned OK.
 * A flush publishes flushed[] only after it returned, one aligned 64-bit
 * store per sector, so a kill half-way leaves each entry old or new, and
 * both are true.
 *
 * After the kill the parent reopens the store and the disk (that working at
 * all is part of the check) and requires, for every sector s with
 * f = flushed[s] (tag ft = f >> 1):
 *   - content pattern(s, T) (whole sector, so neither torn nor misplaced
 *     nor garbage from a wrong map bit) with ft <= T <= issued[s], and
 *     T > ft when f was a zeroing: the flushed write or a later one;
 *   - or all zeroes, only if f was a zeroing (or nothing yet) or a zeroing
 *     of s started after ft: zeroes must come from a zeroing not older
 *     than the last flushed state.
 * and that the extents cover the disk exactly and say "hole" only where
 * the sector reads as zeroes.  What it read becomes the next iteration's
 * flushed state (a killed process, unlike a power cut, loses nothing the
 * kernel already has), so the disk carries its history from one crash to
 * the next.  With SD_TEST_BACKEND=rados (block.crash_rados) the disk lives in
 * RADOS, where a killed process's acknowledged writes are as durable.
 *
 * Iterations: SD_CRASH_ITERS, else 200 (40 under SD_SANITIZE), and never
 * more than ~40 s of them. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/mman.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "blk_test.h"

#define NS      512u /* sectors of the disk: 2 MiB */
#define MAX_RUN 40u  /* sectors per write: crosses the 32-sector chunks */

typedef struct shared {
    int ready;
    uint64_t next_tag;
    uint64_t issued[NS];
    uint64_t zeroed[NS];
    uint64_t flushed[NS];
} shared;

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void pattern(uint8_t *p, uint64_t s, uint64_t tag)
{
    uint64_t *w = (uint64_t *)p;
    w[0] = tag;
    w[1] = s;
    for (size_t i = 2; i < 4096 / 8; i++) {
        w[i] = (tag * 0x9E3779B97F4A7C15ull) ^ (s << 20) ^ i;
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void child_write(blk_disk *d, shared *sh, uint64_t *last, uint64_t *x, uint8_t *buf)
{
    uint64_t s = rnd(x) % NS;
    uint64_t n = 1 + rnd(x) % (rnd(x) % 4 == 0 ? MAX_RUN : 4);
    uint64_t tag = __atomic_add_fetch(&sh->next_tag, 1, __ATOMIC_SEQ_CST);

    n = s + n > NS ? NS - s : n;
    for (uint64_t i = 0; i < n; i++) {
        __atomic_store_n(&sh->issued[s + i], tag, __ATOMIC_SEQ_CST);
        pattern(buf + i * 4096, s + i, tag);
    }
    if (blk_disk_pwrite(d, buf, (uint32_t)(n * 4096), s * 4096, 0, NULL) != SD_OK) {
        _exit(3);
    }
    for (uint64_t i = 0; i < n; i++) {
        last[s + i] = tag << 1;
    }
}

static void child_zero(blk_disk *d, shared *sh, uint64_t *last, uint64_t *x)
{
    uint64_t s = rnd(x) % NS;
    uint64_t n = 1 + rnd(x) % 16;
    uint64_t tag = __atomic_add_fetch(&sh->next_tag, 1, __ATOMIC_SEQ_CST);
    unsigned kind = (unsigned)(rnd(x) % 3);
    sd_code rc = SD_OK;

    n = s + n > NS ? NS - s : n;
    for (uint64_t i = 0; i < n; i++) {
        __atomic_store_n(&sh->zeroed[s + i], tag, __ATOMIC_SEQ_CST);
    }
    if (kind == 0) {
        rc = blk_disk_trim(d, (uint32_t)(n * 4096), s * 4096, 0, NULL);
    } else {
        rc = blk_disk_zero(d, (uint32_t)(n * 4096), s * 4096, kind == 1 ? BLK_F_MAY_TRIM : 0, NULL);
    }
    if (rc != SD_OK) {
        _exit(4);
    }
    for (uint64_t i = 0; i < n; i++) {
        last[s + i] = tag << 1 | 1;
    }
}

static void child_flush(blk_disk *d, shared *sh, const uint64_t *last, uint64_t *pend)
{
    memcpy(pend, last, NS * sizeof *pend);
    if (blk_disk_flush(d, NULL) != SD_OK) {
        _exit(5);
    }
    for (size_t s = 0; s < NS; s++) {
        __atomic_store_n(&sh->flushed[s], pend[s], __ATOMIC_SEQ_CST);
    }
}

static _Noreturn void child(const char *dir, shared *sh, uint64_t seed)
{
    blk_store *bs = NULL;
    blk_disk *d = NULL;
    sd_secret *dk = bt_dk(99);
    static uint64_t last[NS];
    static uint64_t pend[NS];
    static uint8_t buf[MAX_RUN * 4096];
    uint64_t x = seed | 1;

    if (bt_store_open(dir, &bs, NULL) != SD_OK || blk_disk_open(bs, "d", dk, &d, NULL) != SD_OK) {
        _exit(2);
    }
    memcpy(last, sh->flushed, sizeof last);
    __atomic_store_n(&sh->ready, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        uint64_t r = rnd(&x) % 100;
        if (r < 78) {
            child_write(d, sh, last, &x, buf);
        } else if (r < 92) {
            child_zero(d, sh, last, &x);
        } else {
            child_flush(d, sh, last, pend);
        }
    }
}

/* Checks sector s against the model; returns the state it now has. */
static uint64_t check_sector(const shared *sh, uint64_t s, const uint8_t *p)
{
    uint8_t want[4096];
    uint64_t f = sh->flushed[s];
    uint64_t ft = f >> 1;
    bool fzero = (f & 1) != 0;
    uint64_t tag = 0;

    if (bt_all(p, 4096, 0)) {
        if (!(fzero || sh->zeroed[s] > ft)) {
            fail_msg("sector %llu reads zeroes; flushed tag %llu was data, newest zeroing %llu",
                     (unsigned long long)s, (unsigned long long)ft,
                     (unsigned long long)sh->zeroed[s]);
        }
        return sh->next_tag << 1 | 1;
    }
    memcpy(&tag, p, sizeof tag);
    pattern(want, s, tag);
    if (memcmp(want, p, 4096) != 0) {
        fail_msg("sector %llu holds no write of it (garbage or torn); flushed tag %llu",
                 (unsigned long long)s, (unsigned long long)ft);
    }
    if (tag < ft || (fzero && tag == ft) || tag > sh->issued[s]) {
        fail_msg("sector %llu holds write %llu: flushed %llu%s, newest issued %llu",
                 (unsigned long long)s, (unsigned long long)tag, (unsigned long long)ft,
                 fzero ? " (zeroing)" : "", (unsigned long long)sh->issued[s]);
    }
    return tag << 1;
}

typedef struct ext_sum {
    uint64_t pos;
    bool hole_over_data;
    const uint8_t *img;
} ext_sum;

static sd_code on_extent(void *ctx, uint64_t length, uint32_t type, sd_err *err)
{
    ext_sum *e = ctx;
    (void)err;
    if (type & BLK_EXTENT_HOLE) {
        e->hole_over_data = e->hole_over_data || !bt_all(e->img + e->pos, length, 0);
    }
    e->pos += length;
    return SD_OK;
}

static void verify(const char *dir, shared *sh, uint8_t *img)
{
    blk_store *bs = NULL;
    blk_disk *d = NULL;
    sd_secret *dk = bt_dk(99);
    ext_sum e = {.img = img};

    assert_int_equal(bt_store_open(dir, &bs, NULL), SD_OK);
    assert_int_equal(blk_disk_open(bs, "d", dk, &d, NULL), SD_OK);
    assert_int_equal(blk_disk_pread(d, img, NS * 4096, 0, NULL), SD_OK);
    for (uint64_t s = 0; s < NS; s++) {
        sh->flushed[s] = check_sector(sh, s, img + s * 4096);
        sh->issued[s] = sh->flushed[s] >> 1;
    }
    assert_int_equal(blk_disk_extents(d, NS * 4096, 0, 0, on_extent, &e, NULL), SD_OK);
    assert_int_equal(e.pos, NS * 4096);
    assert_false(e.hole_over_data);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    blk_store_close(bs);
    sd_secret_free(dk);
}

static int iterations(void)
{
    const char *v = getenv("SD_CRASH_ITERS"); /* NOLINT(concurrency-mt-unsafe): test set-up */
    if (v != NULL && v[0] != '\0') {
        return (int)strtol(v, NULL, 10);
    }
#ifdef SD_SANITIZE
    return 40;
#else
    return 200;
#endif
}

static void a_killed_writer_loses_no_flushed_write(void **state)
{
    bt *t = bt_open();
    shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    uint8_t *img = malloc(NS * 4096);
    uint64_t x = (uint64_t)time(NULL) * 2654435761u | 1;
    int n = iterations();
    int done = 0;
    int killed_busy = 0;
    double t0 = now_s();
    (void)state;

    assert_true(sh != MAP_FAILED);
    assert_non_null(img);
    memset(sh, 0, sizeof *sh);
    for (size_t s = 0; s < NS; s++) {
        sh->flushed[s] = 1; /* never written: reads as zeroes */
    }
    assert_int_equal(blk_disk_create(t->bs, "d", NS * 4096, true, NULL), SD_OK);
    blk_store_close(t->bs);
    t->bs = NULL;
    print_message("crash: seed %llu, %d iterations\n", (unsigned long long)x, n);
    for (; done < n && now_s() - t0 < 40.0; done++) {
        int status = 0;
        pid_t pid;
        sh->ready = 0;
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            child(t->dir, sh, rnd(&x));
        }
        for (int w = 0; w < 5000 && !__atomic_load_n(&sh->ready, __ATOMIC_SEQ_CST); w++) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        {
            struct timespec ts = {0, (long)(rnd(&x) % 12000000)}; /* 0-12 ms of I/O */
            nanosleep(&ts, NULL);
        }
        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        /* the child must have died of the kill, not of an I/O error */
        assert_true(WIFSIGNALED(status));
        killed_busy += sh->ready;
        verify(t->dir, sh, img);
    }
    print_message("crash: %d iterations in %.1f s, tags up to %llu\n", done, now_s() - t0,
                  (unsigned long long)sh->next_tag);
    assert_true(done >= (n < 20 ? n : 20));
    assert_int_equal(killed_busy, done);
    assert_true(sh->next_tag > (uint64_t)done); /* the children did work */
    munmap(sh, sizeof *sh);
    free(img);
    assert_int_equal(bt_store_open(t->dir, &t->bs, NULL), SD_OK);
    bt_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_killed_writer_loses_no_flushed_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
