/* block_bench.c: in-process block-store throughput, encrypted vs plain.
 *
 * In one run on this machine: 4 KiB random reads and writes (IOPS, one
 * thread, queue depth 1) and 1 MiB sequential reads and writes (MB/s) on a
 * 256 MiB encrypted disk and a 256 MiB plain one, the ratio of each
 * encrypted figure to its plain twin, and the ceiling: crypto_xts over
 * 1 MiB buffers (256 sectors) with no I/O at all.  The store lives on
 * /dev/shm by default (pass another directory as the second argument), so
 * the figures are the block store's own cost (map, locks, copies, crypto),
 * not a disk's.  Every disk is written full once before it is measured, so
 * reads read real data; writes overwrite allocated sectors and a flush
 * ends each write case (inside its time). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "block/block.h"
#include "crypto/crypto.h"

#define DISK   ((uint64_t)256 << 20)
#define SEQ_IO (1u << 20)
#define RND_IO 4096u

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const sd_err *err)
{
    fprintf(stderr, "block_bench: %s: %s\n", what, err->msg);
    exit(1);
}

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

typedef struct result {
    double seq_w; /* MB/s */
    double seq_r;
    double rnd_w; /* IOPS */
    double rnd_r;
} result;

/* Bytes per second of 1 MiB sequential writes (write) or reads. */
static double seq(blk_disk *d, uint8_t *buf, double secs, bool write)
{
    sd_err err = SD_ERR_INIT;
    uint64_t off = 0;
    uint64_t bytes = 0;
    double t0 = now_s();
    double t = t0;

    while (t - t0 < secs) {
        sd_code rc = write ? blk_disk_pwrite(d, buf, SEQ_IO, off, 0, &err)
                           : blk_disk_pread(d, buf, SEQ_IO, off, &err);
        if (rc != SD_OK) {
            die("sequential I/O", &err);
        }
        bytes += SEQ_IO;
        off = (off + SEQ_IO) % DISK;
        if (bytes % (16u << 20) == 0) {
            t = now_s();
        }
    }
    if (write && blk_disk_flush(d, &err) != SD_OK) {
        die("flush", &err);
    }
    return (double)bytes / (now_s() - t0);
}

/* 4 KiB random operations per second. */
static double rand_io(blk_disk *d, uint8_t *buf, double secs, bool write)
{
    sd_err err = SD_ERR_INIT;
    uint64_t x = 88172645463325252ull;
    uint64_t ops = 0;
    double t0 = now_s();
    double t = t0;

    while (t - t0 < secs) {
        uint64_t off = rnd(&x) % (DISK / RND_IO) * RND_IO;
        sd_code rc = write ? blk_disk_pwrite(d, buf, RND_IO, off, 0, &err)
                           : blk_disk_pread(d, buf, RND_IO, off, &err);
        if (rc != SD_OK) {
            die("random I/O", &err);
        }
        if (++ops % 1024 == 0) {
            t = now_s();
        }
    }
    if (write && blk_disk_flush(d, &err) != SD_OK) {
        die("flush", &err);
    }
    return (double)ops / (now_s() - t0);
}

static result run_disk(blk_store *bs, const char *name, const sd_secret *dk, double secs)
{
    sd_err err = SD_ERR_INIT;
    blk_disk *d = NULL;
    uint8_t *buf = aligned_alloc(4096, SEQ_IO);
    result r;

    if (buf == NULL) {
        exit(1);
    }
    for (size_t i = 0; i < SEQ_IO; i++) {
        buf[i] = (uint8_t)(i * 7 + 1);
    }
    if (blk_disk_create(bs, name, DISK, dk != NULL, &err) != SD_OK ||
        blk_disk_open(bs, name, dk, &d, &err) != SD_OK) {
        die("disk", &err);
    }
    for (uint64_t off = 0; off < DISK; off += SEQ_IO) { /* allocate it all, untimed */
        if (blk_disk_pwrite(d, buf, SEQ_IO, off, 0, &err) != SD_OK) {
            die("fill", &err);
        }
    }
    if (blk_disk_flush(d, &err) != SD_OK) {
        die("flush", &err);
    }
    r.seq_w = seq(d, buf, secs, true) / 1e6;
    r.seq_r = seq(d, buf, secs, false) / 1e6;
    r.rnd_w = rand_io(d, buf, secs, true);
    r.rnd_r = rand_io(d, buf, secs, false);
    if (blk_disk_close(d, &err) != SD_OK || blk_disk_remove(bs, name, &err) != SD_OK) {
        die("close", &err);
    }
    free(buf);
    return r;
}

/* MB/s of crypto_xts over 1 MiB buffers: encrypt or decrypt. */
static double xts_ceiling(double secs, bool enc)
{
    sd_err err = SD_ERR_INIT;
    uint8_t raw[CRYPTO_XTS_KEY_LEN];
    sd_secret *key = NULL;
    crypto_xts *x = NULL;
    uint8_t *buf = aligned_alloc(4096, SEQ_IO);
    uint64_t bytes = 0;
    double t0;

    for (size_t i = 0; i < sizeof raw; i++) {
        raw[i] = (uint8_t)(i * 13 + 5);
    }
    if (buf == NULL || sd_secret_from(raw, sizeof raw, &key, &err) != SD_OK ||
        crypto_xts_new(key, &x, &err) != SD_OK) {
        die("xts", &err);
    }
    memset(buf, 0x5a, SEQ_IO);
    t0 = now_s();
    while (now_s() - t0 < secs) {
        sd_code rc = enc ? crypto_xts_encrypt_sectors(x, bytes / 4096, buf, buf, 256, &err)
                         : crypto_xts_decrypt_sectors(x, bytes / 4096, buf, buf, 256, &err);
        if (rc != SD_OK) {
            die("xts", &err);
        }
        bytes += SEQ_IO;
    }
    crypto_xts_free(x);
    sd_secret_free(key);
    free(buf);
    return (double)bytes / (now_s() - t0) / 1e6;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0; /* NOLINT(cert-err34-c): bench argument */
    const char *base = argc > 2 ? argv[2] : "/dev/shm";
    char dir[256];
    sd_err err = SD_ERR_INIT;
    blk_store *bs = NULL;
    sd_secret *dk = NULL;
    uint8_t raw[BLK_DK_LEN];
    result enc;
    result plain;
    double xe;
    double xd;

    (void)snprintf(dir, sizeof dir, "%s/sd-blk-bench-XXXXXX", base);
    if (mkdtemp(dir) == NULL || blk_store_open_local(dir, &bs, &err) != SD_OK) {
        fprintf(stderr, "block_bench: cannot make a store in %s\n", base);
        return 1;
    }
    for (size_t i = 0; i < sizeof raw; i++) {
        raw[i] = (uint8_t)(i + 1);
    }
    if (sd_secret_from(raw, sizeof raw, &dk, &err) != SD_OK) {
        die("key", &err);
    }
    plain = run_disk(bs, "plain", NULL, secs);
    enc = run_disk(bs, "enc", dk, secs);
    xe = xts_ceiling(secs, true);
    xd = xts_ceiling(secs, false);
    printf("block_bench: 256 MiB disks in %s, %.1f s per case, 1 thread, qd 1\n\n", base, secs);
    printf("| case | plain | encrypted | encrypted/plain |\n|---|---:|---:|---:|\n");
    printf("| seq write 1 MiB (MB/s) | %.0f | %.0f | %.2f |\n", plain.seq_w, enc.seq_w,
           enc.seq_w / plain.seq_w);
    printf("| seq read 1 MiB (MB/s) | %.0f | %.0f | %.2f |\n", plain.seq_r, enc.seq_r,
           enc.seq_r / plain.seq_r);
    printf("| rand write 4 KiB (IOPS) | %.0f | %.0f | %.2f |\n", plain.rnd_w, enc.rnd_w,
           enc.rnd_w / plain.rnd_w);
    printf("| rand read 4 KiB (IOPS) | %.0f | %.0f | %.2f |\n", plain.rnd_r, enc.rnd_r,
           enc.rnd_r / plain.rnd_r);
    printf("\nceiling: crypto_xts on 1 MiB buffers, no I/O: encrypt %.0f MB/s, decrypt %.0f MB/s\n",
           xe, xd);
    blk_store_close(bs);
    sd_secret_free(dk);
    {
        char p[300];
        (void)snprintf(p, sizeof p, "%s/block.db", dir);
        (void)unlink(p);
        (void)snprintf(p, sizeof p, "%s/block.db-wal", dir);
        (void)unlink(p);
        (void)snprintf(p, sizeof p, "%s/block.db-shm", dir);
        (void)unlink(p);
        (void)rmdir(dir);
    }
    return 0;
}
