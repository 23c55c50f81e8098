/* kms_test.h: a kms on a temporary directory with a test clock, for the
 * kms unit tests. */
#ifndef SD_KMS_TEST_H
#define SD_KMS_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "kms/kms.h"

typedef struct kt {
    char dir[64];
    char db[96];
    char keyfile[96];
    int64_t now;
    kms_rootkey *root;
    kms *k;
} kt;

static const kms_caller kt_alice = {"1000000000000001", "cn-hangzhou"};
static const kms_caller kt_bob = {"1000000000000002", "cn-hangzhou"};
static const kms_caller kt_alice_sh = {"1000000000000001", "cn-shanghai"};

static inline int64_t kt_mono(void *ctx)
{
    return *(int64_t *)ctx;
}

/* As kt_open, with quotas q timed by *mono (nanoseconds); q NULL: none. */
static inline kt *kt_open_quota(const kms_quota *q, int64_t *mono);

static inline kt *kt_open(void)
{
    return kt_open_quota(NULL, NULL);
}

static inline kt *kt_open_quota(const kms_quota *q, int64_t *mono)
{
    kt *t = calloc(1, sizeof *t);
    kms_opts o = {0};
    snprintf(t->dir, sizeof t->dir, "/tmp/sd-kms-XXXXXX");
    if (mkdtemp(t->dir) == NULL) {
        abort();
    }
    snprintf(t->db, sizeof t->db, "%s/meta.db", t->dir);
    snprintf(t->keyfile, sizeof t->keyfile, "%s/root.key", t->dir);
    t->now = 1700000000;
    if (kms_rootkey_file(t->keyfile, true, &t->root, NULL) != SD_OK) {
        abort();
    }
    o.db_path = t->db;
    o.root = t->root;
    o.clock = sd_clock_fixed(&t->now);
    o.rng = crypto_rng_system();
    if (q != NULL) {
        o.quota = *q;
        o.mono = kt_mono;
        o.mono_ctx = mono;
    }
    if (kms_open(&o, &t->k, NULL) != SD_OK) {
        abort();
    }
    return t;
}

static inline void kt_close(kt *t)
{
    char cmd[128];
    kms_close(t->k);
    kms_rootkey_free(t->root);
    snprintf(cmd, sizeof cmd, "%s/meta.db", t->dir);
    unlink(cmd);
    snprintf(cmd, sizeof cmd, "%s/meta.db-wal", t->dir);
    unlink(cmd);
    snprintf(cmd, sizeof cmd, "%s/meta.db-shm", t->dir);
    unlink(cmd);
    unlink(t->keyfile);
    snprintf(cmd, sizeof cmd, "%s/root.salt", t->dir);
    unlink(cmd);
    rmdir(t->dir);
    free(t);
}

#endif
