/* kms_bench.c: in-process KMS throughput, the ceiling for the HTTP path.
 *
 * Measures, in one run on this machine: GenerateDataKey, Decrypt of its
 * blob, and the raw AES-256-GCM seal of 32 bytes that each one wraps
 * (the crypto floor), as operations per second on one thread, and prints
 * the KMS figures as ratios to the raw seal.  The database lives on a
 * temporary directory; the root key is a fresh file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "kms/kms.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const sd_err *err)
{
    fprintf(stderr, "kms_bench: %s: %s\n", what, err->msg);
    exit(1);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 3.0; /* NOLINT(cert-err34-c): bench argument */
    char dir[] = "/tmp/sd-kms-bench-XXXXXX";
    char db[64], keyfile[64];
    kms_rootkey *root = NULL;
    kms *k = NULL;
    kms_opts o = {0};
    kms_key_meta m;
    kms_create_opts co = KMS_CREATE_OPTS_INIT;
    kms_caller c = {"1000000000000001", "cn-hangzhou"};
    sd_err err = SD_ERR_INIT;
    sd_buf blob = SD_BUF_INIT(KMS_BLOB_MAX);
    sd_secret *gk = NULL;
    uint8_t iv[12] = {0}, pt[32] = {1}, ct[32], tag[16];
    double t0, gdk, dec, gcm;
    long n;

    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    snprintf(db, sizeof db, "%s/meta.db", dir);
    snprintf(keyfile, sizeof keyfile, "%s/root.key", dir);
    if (kms_rootkey_file(keyfile, true, &root, &err) != SD_OK) {
        die("root key", &err);
    }
    o.db_path = db;
    o.root = root;
    o.clock = sd_clock_system();
    o.rng = crypto_rng_system();
    if (kms_open(&o, &k, &err) != SD_OK || kms_create_key(k, &c, &co, &m, &err) != SD_OK) {
        die("open", &err);
    }

    t0 = now_s();
    for (n = 0; now_s() - t0 < seconds; n++) {
        sd_secret *dk = NULL;
        sd_buf_reset(&blob);
        if (kms_generate_data_key(k, &c, m.key_id, 32, NULL, &dk, &blob, NULL, &err) != SD_OK) {
            die("GenerateDataKey", &err);
        }
        sd_secret_free(dk);
    }
    gdk = (double)n / (now_s() - t0);

    t0 = now_s();
    for (n = 0; now_s() - t0 < seconds; n++) {
        sd_secret *p = NULL;
        bool is_dk = false;
        if (kms_decrypt(k, &c, blob.data, blob.len, NULL, &p, &is_dk, NULL, &err) != SD_OK) {
            die("Decrypt", &err);
        }
        sd_secret_free(p);
    }
    dec = (double)n / (now_s() - t0);

    if (sd_secret_new(32, &gk, &err) != SD_OK) {
        die("secret", &err);
    }
    t0 = now_s();
    for (n = 0; now_s() - t0 < seconds; n++) {
        iv[0] = (uint8_t)n;
        if (crypto_aead_seal(gk, iv, NULL, 0, pt, sizeof pt, ct, tag, &err) != SD_OK) {
            die("seal", &err);
        }
    }
    gcm = (double)n / (now_s() - t0);

    printf("kms in-process, one thread, %.0f s per row\n", seconds);
    printf("%-28s %12s %10s\n", "operation", "ops/s", "vs raw GCM");
    printf("%-28s %12.0f %10.3f\n", "raw AES-256-GCM seal (32 B)", gcm, 1.0);
    printf("%-28s %12.0f %10.3f\n", "GenerateDataKey (32 B)", gdk, gdk / gcm);
    printf("%-28s %12.0f %10.3f\n", "Decrypt (data key blob)", dec, dec / gcm);

    sd_secret_free(gk);
    sd_buf_free(&blob);
    kms_close(k);
    kms_rootkey_free(root);
    unlink(keyfile);
    snprintf(keyfile, sizeof keyfile, "%s/meta.db-wal", dir);
    unlink(keyfile);
    snprintf(keyfile, sizeof keyfile, "%s/meta.db-shm", dir);
    unlink(keyfile);
    unlink(db);
    rmdir(dir);
    return 0;
}
