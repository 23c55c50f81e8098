/* srv_keys.c: the server's root key and KMS: loading the root key from the
 * configured provider, opening the KMS over the data directory, and the
 * scheduler thread that carries out rotations and deletion windows.
 *
 * A passphrase comes from an environment variable (removed from the
 * environment once read) or a file descriptor (read to EOF, one trailing
 * newline dropped), never from argv, and goes straight into locked memory. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "crypto/crypto.h"
#include "kms/kms.h"
#include "server/srv_int.h"

#define PASS_MAX 1024

static sd_code read_passphrase(const srv_config *c, sd_secret **out, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_secret *s = NULL;
    size_t n = 0;

    *out = NULL;
    SD_TRY(sd_secret_new(PASS_MAX, &s, err));
    if (c->passphrase_fd >= 0) {
        for (;;) {
            ssize_t r = read(c->passphrase_fd, sd_secret_data(s) + n, PASS_MAX - n);
            if (r < 0 && errno == EINTR) {
                continue;
            }
            SD_ENSURE(r >= 0, err, SD_E_IO, "cannot read the passphrase from fd %d",
                      c->passphrase_fd);
            if (r == 0) {
                break;
            }
            n += (size_t)r;
            SD_ENSURE(n < PASS_MAX, err, SD_E_INVALID, "the passphrase is too long");
        }
    } else {
        char *v = getenv(c->passphrase_env); /* NOLINT(concurrency-mt-unsafe): start-up */
        SD_ENSURE(v != NULL && v[0] != '\0', err, SD_E_INVALID,
                  "root_key = passphrase, but %s is not set and no --passphrase-fd was given",
                  c->passphrase_env);
        n = strlen(v);
        SD_ENSURE(n < PASS_MAX, err, SD_E_INVALID, "the passphrase is too long");
        memcpy(sd_secret_data(s), v, n);
        sd_wipe(v, n);               /* the environment copy is ours to clear */
        unsetenv(c->passphrase_env); /* NOLINT(concurrency-mt-unsafe): start-up */
    }
    if (n > 0 && sd_secret_data(s)[n - 1] == '\n') {
        n--;
    }
    sd_secret_truncate(s, n);
    *out = sd_secret_take(&s);
out:
    sd_secret_free(s);
    return rc;
}

/* Whether DATA_DIR/name exists. */
static bool has_file(const srv_config *c, const char *name)
{
    char path[600];
    struct stat st;

    return snprintf(path, sizeof path, "%s/%s", c->data_dir, name) < (int)sizeof path &&
           stat(path, &st) == 0;
}

/* A data directory whose root key comes from the other provider would
 * otherwise get a second, new root key (a root.key beside root.salt) that
 * matches nothing in it: refuse before anything is written, and say how
 * the directory's own provider is given. */
static sd_code check_provider(const srv_config *c, sd_err *err)
{
    sd_code rc = SD_OK;
    bool pass = strcmp(c->root_key, "passphrase") == 0;

    SD_ENSURE(
        pass || c->root_key_file[0] != '\0' || has_file(c, "root.key") || !has_file(c, "root.salt"),
        err, SD_E_INVALID,
        "%s uses a passphrase root key (root.salt): give --root-key passphrase (or root_key = "
        "passphrase in its sealdisk.conf) with the passphrase in $%s or on --passphrase-fd "
        "N; nothing was changed",
        c->data_dir, c->passphrase_env);
    SD_ENSURE(!pass || has_file(c, "root.salt") || !has_file(c, "root.key"), err, SD_E_INVALID,
              "%s uses a root key file (root.key), not a passphrase: leave out --root-key "
              "passphrase; nothing was changed",
              c->data_dir);
out:
    return rc;
}

sd_code srv__open_kms(const srv_config *c, bool create, kms_rootkey **root, kms **k, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_secret *pass = NULL;
    char path[600];
    kms_opts o = {0};

    *root = NULL;
    *k = NULL;
    SD_TRY(check_provider(c, err));
    if (strcmp(c->root_key, "passphrase") == 0) {
        SD_TRY(read_passphrase(c, &pass, err));
        SD_ENSURE(snprintf(path, sizeof path, "%s/root.salt", c->data_dir) < (int)sizeof path, err,
                  SD_E_INVALID, "data directory path too long");
        SD_TRY(kms_rootkey_passphrase(pass, path, create, 15, root, err));
    } else {
        if (c->root_key_file[0] != '\0') {
            SD_ENSURE(strlen(c->root_key_file) < sizeof path, err, SD_E_INVALID,
                      "root key path too long");
            memcpy(path, c->root_key_file, strlen(c->root_key_file) + 1);
        } else {
            SD_ENSURE(snprintf(path, sizeof path, "%s/root.key", c->data_dir) < (int)sizeof path,
                      err, SD_E_INVALID, "data directory path too long");
        }
        SD_TRY(kms_rootkey_file(path, create, root, err));
    }
    SD_ENSURE(snprintf(path, sizeof path, "%s/meta.db", c->data_dir) < (int)sizeof path, err,
              SD_E_INVALID, "data directory path too long");
    o.db_path = path;
    o.root = *root;
    o.clock = sd_clock_system();
    o.rng = crypto_rng_system();
    o.quota = c->kms_quota;
    SD_TRY(kms_open(&o, k, err));
out:
    sd_secret_free(pass);
    if (rc != SD_OK) {
        kms_rootkey_free(*root);
        *root = NULL;
    }
    return rc;
}

/* ---- the scheduler ------------------------------------------------------- */

struct srv_ticker {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    kms *k;
    unsigned seconds;
};

static void *ticker_main(void *arg)
{
    srv_ticker *t = arg;
    struct timespec ts;

    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        sd_err err = SD_ERR_INIT;
        pthread_mutex_unlock(&t->mu);
        if (kms_tick(t->k, &err) != SD_OK) {
            sd_log(SD_LOG_ERROR, "kms", "scheduler step failed: %s", err.msg);
        }
        pthread_mutex_lock(&t->mu);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += t->seconds;
        while (!t->stop && pthread_cond_timedwait(&t->cv, &t->mu, &ts) == 0) {
        }
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

sd_code srv__ticker_start(kms *k, unsigned seconds, srv_ticker **out, sd_err *err)
{
    sd_code rc = SD_OK;
    srv_ticker *t = calloc(1, sizeof *t);

    *out = NULL;
    SD_ENSURE(t != NULL, err, SD_E_NOMEM, "out of memory");
    t->k = k;
    t->seconds = seconds;
    SD_ENSURE(pthread_mutex_init(&t->mu, NULL) == 0 && pthread_cond_init(&t->cv, NULL) == 0, err,
              SD_E_INTERNAL, "cannot make the scheduler's lock");
    SD_ENSURE(pthread_create(&t->thread, NULL, ticker_main, t) == 0, err, SD_E_INTERNAL,
              "cannot start the scheduler thread");
    *out = t;
    t = NULL;
out:
    free(t);
    return rc;
}

void srv__ticker_stop(srv_ticker *t)
{
    if (t == NULL) {
        return;
    }
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}
