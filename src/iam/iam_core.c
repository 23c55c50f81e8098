/* iam_core.c: accounts, AccessKeys and request authentication.
 *
 * Accounts have a 16-digit id (like Alibaba UIDs) and a unique name.  An
 * AccessKey (LTAI + 20 alphanumerics) belongs to exactly one account; its
 * 30-character secret is stored sealed (AES-256-GCM under the wrapping key,
 * AAD = AccessKeyId, layout IV || ct || tag) and, once unsealed, cached in
 * an sd_secret so a request costs one store read and two HMACs.
 *
 * Invariants:
 *   1. The plaintext secret exists only in sd_secret memory: the cache and
 *      the one returned by iam_key_create (iam_key_create, unseal).
 *   2. A cached secret is dropped when its key is deleted (iam_key_delete);
 *      status is always read from the store, so disabling takes effect on
 *      the next request (iam_key_set_active → iam_verify).
 *   3. A nonce is recorded only after its request's signature verified, so
 *      unauthenticated traffic cannot write replay records (iam_verify).
 *      The record is in the store (iam_nonce.c) and lasts until the
 *      request's timestamp leaves the ±max_skew window; expired records are
 *      purged at most once a second (purge_nonces).
 *   4. The wrapping key matches the store's check value or iam_open fails.
 *   5. A request spends a token of its AccessKey's rate (the bucket lives
 *      in the key's cache entry) only once its signature verified, and is
 *      refused with Throttling.User before its nonce is recorded
 *      (iam_verify).  Each key has its own bucket: one key's flood throttles
 *      only that key.
 *
 * Key lifecycle: iam_key_create/import → Active ⇄ Inactive (iam_key_set_active)
 * → deleted (iam_key_delete).
 *
 * Thread model: one mutex (mu) guards both store handles and the cache.
 * The nonce records go through a handle of their own with relaxed
 * durability (no fsync per commit: one is written per request), so key and
 * account writes keep full durability. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "iam/iam_int.h"
#include "store/store.h"

#define IAM_WRAP_LEN   32
#define IAM_SECRET_LEN 30
#define IAM_AKID_RAND  20
#define IAM_CHECK_AAD  "sealdisk-iam-wrap-check"
#define IAM_CHECK_PT   "sealdisk iam wrapping key check v1"

typedef struct cached {
    struct cached *next;
    char akid[IAM_AKID_MAX];
    sd_secret *secret;
    sd_rate *rate; /* this AccessKey's request rate; NULL: no limit */
} cached;

struct iam {
    pthread_mutex_t mu;
    store *st;
    sd_secret *wrap;
    sd_clock clock;
    sd_rng rng;
    int64_t max_skew;
    bool skip_clock;
    bool skip_nonce;
    store *nonce_st;   /* replay records only (store_relax_durability) */
    int64_t purged_at; /* clock second of the last purge of expired nonces */
    double user_rate;  /* per AccessKey, requests per second; 0: no limit */
    double user_burst;
    sd_mono_fn mono;
    void *mono_ctx;
    cached *cache;
};

static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* Fills out[0..n) with characters of set (setlen <= 64), without bias. */
static sd_code rand_chars(const sd_rng *rng, const char *set, size_t setlen, uint8_t *out, size_t n,
                          sd_err *err)
{
    sd_code rc = SD_OK;
    uint8_t b[64];
    size_t limit = 256 - (256 % setlen);
    size_t i = 0;

    while (i < n) {
        SD_TRY(sd_rng_fill(rng, b, sizeof b, err));
        for (size_t j = 0; j < sizeof b && i < n; j++) {
            if (b[j] < limit) {
                out[i++] = (uint8_t)set[b[j] % setlen];
            }
        }
    }
out:
    sd_wipe(b, sizeof b);
    return rc;
}

/* ---- sealing ------------------------------------------------------------ */

static sd_code seal(iam *self, const char *aad, const uint8_t *pt, size_t n, sd_buf *out,
                    sd_err *err)
{
    sd_code rc = SD_OK;
    uint8_t iv[CRYPTO_GCM_IV_LEN];
    uint8_t tag[CRYPTO_GCM_TAG_LEN];
    uint8_t *ct = NULL;

    SD_TRY(sd_rng_fill(&self->rng, iv, sizeof iv, err));
    SD_TRY(sd_buf_reserve(out, sizeof iv + n + sizeof tag, err));
    SD_TRY(sd_buf_append(out, iv, sizeof iv, err));
    ct = out->data + out->len;
    SD_TRY(
        crypto_aead_seal(self->wrap, iv, (const uint8_t *)aad, strlen(aad), pt, n, ct, tag, err));
    out->len += n;
    SD_TRY(sd_buf_append(out, tag, sizeof tag, err));
out:
    return rc;
}

static sd_code unseal(iam *self, const char *aad, const uint8_t *blob, size_t len, sd_secret **out,
                      sd_err *err)
{
    sd_code rc = SD_OK;
    sd_secret *s = NULL;
    size_t n;

    SD_ENSURE(len >= CRYPTO_GCM_IV_LEN + CRYPTO_GCM_TAG_LEN, err, SD_E_INTERNAL,
              "a sealed IAM value is truncated");
    n = len - CRYPTO_GCM_IV_LEN - CRYPTO_GCM_TAG_LEN;
    SD_TRY(sd_secret_new(n, &s, err));
    SD_TRY(crypto_aead_open(self->wrap, blob, (const uint8_t *)aad, strlen(aad),
                            blob + CRYPTO_GCM_IV_LEN, n, blob + CRYPTO_GCM_IV_LEN + n,
                            sd_secret_data(s), err));
    *out = sd_secret_take(&s);
out:
    sd_secret_free(s);
    return rc;
}

/* A sealed value as stored: the check value or an AccessKey secret. */
#define SEALED_MAX 512

typedef struct sealed_row {
    sd_buf sealed;
} sealed_row;

static const store_col sealed_cols[] = {STORE_COL(sealed_row, sealed)};

/* Reads the check value or writes it on first open (invariant 4). */
static sd_code check_wrap(iam *self, sd_err *err)
{
    sd_code rc = SD_OK;
    sealed_row r = {.sealed = SD_BUF_INIT(SEALED_MAX)};
    sd_buf b = SD_BUF_INIT(256);
    sd_secret *pt = NULL;
    bool row = false;
    sd_err inner = SD_ERR_INIT;

    SD_TRY(store_query_one(self->st, "SELECT value FROM iam_meta WHERE name = 'wrap_check'",
                           STORE_NO_ARGS, STORE_COLS(sealed_cols), &r, &row, err));
    if (row) {
        if (unseal(self, IAM_CHECK_AAD, r.sealed.data, r.sealed.len, &pt, &inner) != SD_OK ||
            sd_secret_len(pt) != strlen(IAM_CHECK_PT) ||
            !sd_ct_equal(sd_secret_data(pt), IAM_CHECK_PT, strlen(IAM_CHECK_PT))) {
            SD_FAIL(err, SD_E_AUTH,
                    "the IAM wrapping key does not match the one this store was created with");
        }
        goto out;
    }
    SD_TRY(seal(self, IAM_CHECK_AAD, (const uint8_t *)IAM_CHECK_PT, strlen(IAM_CHECK_PT), &b, err));
    SD_TRY(store_run(self->st, "INSERT INTO iam_meta (name, value) VALUES ('wrap_check', ?)",
                     STORE_ARGS(STORE_BLOB(b.data, b.len)), err));
out:
    sd_secret_free(pt);
    sd_buf_free(&r.sealed);
    sd_buf_free(&b);
    return rc;
}

sd_code iam_open(const iam_opts *opts, iam **out, sd_err *err)
{
    sd_code rc = SD_OK;
    iam *self = NULL;

    SD_ENSURE(opts != NULL && opts->db_path != NULL && opts->wrap_key != NULL &&
                  opts->clock.now != NULL && opts->rng.fill != NULL,
              err, SD_E_INVALID, "iam_open needs db_path, wrap_key, clock and rng");
    SD_ENSURE(sd_secret_len(opts->wrap_key) == IAM_WRAP_LEN, err, SD_E_INVALID,
              "the IAM wrapping key must be %d bytes", IAM_WRAP_LEN);
    self = calloc(1, sizeof *self);
    SD_ENSURE(self != NULL, err, SD_E_NOMEM, "out of memory");
    SD_ENSURE(pthread_mutex_init(&self->mu, NULL) == 0, err, SD_E_INTERNAL, "mutex init failed");
    self->clock = opts->clock;
    self->rng = opts->rng;
    self->max_skew = opts->max_skew > 0 ? opts->max_skew : 900;
    self->skip_clock = opts->skip_clock_check;
    self->skip_nonce = opts->skip_nonce_check;
    SD_ENSURE(opts->user_rate >= 0 && opts->user_burst >= 0, err, SD_E_INVALID,
              "the per-AccessKey rate must not be negative");
    self->user_rate = opts->user_rate;
    self->user_burst = opts->user_burst;
    self->mono = opts->mono;
    self->mono_ctx = opts->mono_ctx;
    SD_TRY(sd_secret_dup(opts->wrap_key, &self->wrap, err));
    SD_TRY(store_open_sqlite(opts->db_path, &self->st, err));
    SD_TRY(check_wrap(self, err));
    SD_TRY(store_open_sqlite(opts->db_path, &self->nonce_st, err));
    SD_TRY(store_relax_durability(self->nonce_st, err));
    self->purged_at = sd_now(&self->clock);
    SD_TRY(iam__nonce_purge(self->nonce_st, self->purged_at, err));
    *out = self;
    self = NULL;
out:
    iam_close(self);
    return rc;
}

void iam_close(iam *self)
{
    if (self == NULL) {
        return;
    }
    while (self->cache != NULL) {
        cached *c = self->cache;
        self->cache = c->next;
        sd_secret_free(c->secret);
        sd_rate_free(c->rate);
        free(c);
    }
    store_close(self->nonce_st);
    store_close(self->st);
    sd_secret_free(self->wrap);
    pthread_mutex_destroy(&self->mu);
    free(self);
}

/* ---- accounts ----------------------------------------------------------- */

static sd_code account_get_locked(iam *self, const char *account_id, iam_account_info *out,
                                  sd_err *err)
{
    static const store_col cols[] = {
        STORE_COL(iam_account_info, account_id),
        STORE_COL(iam_account_info, name),
        STORE_COL(iam_account_info, created),
    };
    sd_code rc = SD_OK;
    bool row = false;
    iam_account_info a;

    SD_TRY(store_query_one(
        self->st, "SELECT account_id, name, created FROM iam_accounts WHERE account_id = ?",
        STORE_ARGS(STORE_TEXT(account_id)), STORE_COLS(cols), &a, &row, err));
    SD_ENSURE(row, err, SD_E_NOT_FOUND, "account %.20s does not exist", account_id);
    if (out != NULL) {
        *out = a;
    }
out:
    return rc;
}

static sd_code account_create_locked(iam *self, const char *name, iam_account_info *out,
                                     sd_err *err)
{
    sd_code rc = SD_OK;
    iam_account_info a = {{0}, {0}, 0};
    uint8_t id[IAM_ACCOUNT_ID_LEN];

    SD_ENSUREC(sd_name_ok(name, IAM_NAME_MAX - 1), err, SD_E_INVALID, IAM_C_INVALID,
               "The account name must be 1-63 characters of A-Z a-z 0-9 . _ -.");
    SD_TRY(rand_chars(&self->rng, "123456789", 9, id, 1, err));
    SD_TRY(rand_chars(&self->rng, "0123456789", 10, id + 1, sizeof id - 1, err));
    memcpy(a.account_id, id, sizeof id);
    SD_TRY(sd_str_copy(a.name, sizeof a.name, name, err));
    a.created = sd_now(&self->clock);
    rc = store_run(
        self->st, "INSERT INTO iam_accounts (account_id, name, created) VALUES (?, ?, ?)",
        STORE_ARGS(STORE_TEXT(a.account_id), STORE_TEXT(a.name), STORE_INT(a.created)), err);
    if (rc == SD_E_CONFLICT) {
        sd_err_clear(err); /* the constraint's SQL text says less than this */
        SD_FAILC(err, SD_E_CONFLICT, "EntityAlreadyExists.Account",
                 "An account named '%s' already exists.", name);
    }
    SD_TRY(rc);
    if (out != NULL) {
        *out = a;
    }
out:
    return rc;
}

sd_code iam_account_create(iam *self, const char *name, iam_account_info *out, sd_err *err)
{
    sd_code rc;

    pthread_mutex_lock(&self->mu);
    rc = account_create_locked(self, name, out, err);
    pthread_mutex_unlock(&self->mu);
    return rc;
}

sd_code iam_account_get(iam *self, const char *account_id, iam_account_info *out, sd_err *err)
{
    sd_code rc;

    pthread_mutex_lock(&self->mu);
    rc = account_get_locked(self, account_id, out, err);
    pthread_mutex_unlock(&self->mu);
    return rc;
}

/* ---- AccessKeys --------------------------------------------------------- */

static sd_code cache_put(iam *self, const char *akid, const sd_secret *secret, sd_err *err)
{
    sd_code rc = SD_OK;
    cached *c = calloc(1, sizeof *c);

    SD_ENSURE(c != NULL, err, SD_E_NOMEM, "out of memory");
    SD_TRY(sd_str_copy(c->akid, sizeof c->akid, akid, err));
    SD_TRY(sd_secret_dup(secret, &c->secret, err));
    if (self->user_rate > 0) {
        SD_TRY(sd_rate_new(self->user_rate, self->user_burst, self->mono, self->mono_ctx, &c->rate,
                           err));
    }
    c->next = self->cache;
    self->cache = c;
    c = NULL;
out:
    if (c != NULL) {
        sd_secret_free(c->secret);
        free(c);
    }
    return rc;
}

static cached *cache_get(const iam *self, const char *akid)
{
    for (cached *c = self->cache; c != NULL; c = c->next) {
        if (strcmp(c->akid, akid) == 0) {
            return c;
        }
    }
    return NULL;
}

static void cache_drop(iam *self, const char *akid)
{
    cached **pp = &self->cache;

    while (*pp != NULL) {
        cached *c = *pp;
        if (strcmp(c->akid, akid) == 0) {
            *pp = c->next;
            sd_secret_free(c->secret);
            sd_rate_free(c->rate);
            free(c);
            return;
        }
        pp = &c->next;
    }
}

static sd_code key_insert_locked(iam *self, const char *account_id, const char *akid,
                                 const sd_secret *secret, iam_key_info *out, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_buf sealed = SD_BUF_INIT(SEALED_MAX);
    int64_t now = sd_now(&self->clock);

    SD_TRY(account_get_locked(self, account_id, NULL, err));
    SD_TRY(seal(self, akid, sd_secret_data(secret), sd_secret_len(secret), &sealed, err));
    SD_TRY(store_run(self->st,
                     "INSERT INTO iam_keys (access_key_id, account_id, active, created, sealed)"
                     " VALUES (?, ?, 1, ?, ?)",
                     STORE_ARGS(STORE_TEXT(akid), STORE_TEXT(account_id), STORE_INT(now),
                                STORE_BLOB(sealed.data, sealed.len)),
                     err));
    SD_TRY(cache_put(self, akid, secret, err));
    if (out != NULL) {
        SD_TRY(sd_str_copy(out->access_key_id, sizeof out->access_key_id, akid, err));
        SD_TRY(sd_str_copy(out->account_id, sizeof out->account_id, account_id, err));
        out->active = true;
        out->created = now;
    }
out:
    sd_buf_free(&sealed);
    return rc;
}

static sd_code key_create_locked(iam *self, const char *account_id, iam_key_info *out,
                                 sd_secret **secret, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_secret *s = NULL;
    char akid[IAM_AKID_MAX] = "LTAI";

    SD_TRY(
        rand_chars(&self->rng, alnum, sizeof alnum - 1, (uint8_t *)akid + 4, IAM_AKID_RAND, err));
    SD_TRY(sd_secret_new(IAM_SECRET_LEN, &s, err));
    SD_TRY(rand_chars(&self->rng, alnum, sizeof alnum - 1, sd_secret_data(s), IAM_SECRET_LEN, err));
    SD_TRY(key_insert_locked(self, account_id, akid, s, out, err));
    *secret = sd_secret_take(&s);
out:
    sd_secret_free(s);
    return rc;
}

sd_code iam_key_create(iam *self, const char *account_id, iam_key_info *out, sd_secret **secret,
                       sd_err *err)
{
    sd_code rc;

    pthread_mutex_lock(&self->mu);
    rc = key_create_locked(self, account_id, out, secret, err);
    pthread_mutex_unlock(&self->mu);
    return rc;
}

static bool akid_ok(const char *s)
{
    size_t n = strlen(s);

    if (n < 3 || n >= IAM_AKID_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (strchr(alnum, s[i]) == NULL) {
            return false;
        }
    }
    return true;
}

sd_code iam_key_import(iam *self, const char *account_id, const char *access_key_id,
                       const sd_secret *secret, sd_err *err)
{
    sd_code rc = SD_OK;

    SD_ENSUREC(akid_ok(access_key_id), err, SD_E_INVALID, IAM_C_INVALID,
               "The AccessKeyId must be 3-63 characters of A-Z a-z 0-9.");
    SD_ENSUREC(sd_secret_len(secret) >= 1 && sd_secret_len(secret) <= 128, err, SD_E_INVALID,
               IAM_C_INVALID, "The AccessKeySecret must be 1-128 bytes.");
    pthread_mutex_lock(&self->mu);
    rc = key_insert_locked(self, account_id, access_key_id, secret, NULL, err);
    pthread_mutex_unlock(&self->mu);
out:
    return rc;
}

static const store_col key_cols[] = {
    STORE_COL(iam_key_info, access_key_id),
    STORE_COL(iam_key_info, account_id),
    STORE_COL(iam_key_info, active),
    STORE_COL(iam_key_info, created),
};

sd_code iam_key_get(iam *self, const char *access_key_id, iam_key_info *out, sd_err *err)
{
    sd_code rc = SD_OK;
    bool row = false;

    pthread_mutex_lock(&self->mu);
    SD_TRY(store_query_one(self->st,
                           "SELECT access_key_id, account_id, active, created FROM iam_keys"
                           " WHERE access_key_id = ?",
                           STORE_ARGS(STORE_TEXT(access_key_id)), STORE_COLS(key_cols), out, &row,
                           err));
    SD_ENSUREC(row, err, SD_E_NOT_FOUND, IAM_C_AK_NF, "Specified access key is not found.");
out:
    pthread_mutex_unlock(&self->mu);
    return rc;
}

sd_code iam_key_list(iam *self, const char *account_id, iam_key_info **out, size_t *n, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    iam_key_info *v = NULL;
    size_t cnt = 0;
    size_t cap = 0;
    bool row = false;
    iam_key_info k;

    pthread_mutex_lock(&self->mu);
    SD_TRY(store_query(self->st,
                       "SELECT access_key_id, account_id, active, created FROM iam_keys"
                       " WHERE account_id = ? ORDER BY rowid",
                       STORE_ARGS(STORE_TEXT(account_id)), &st, err));
    for (;;) {
        SD_TRY(store_next(st, STORE_COLS(key_cols), &k, &row, err));
        if (!row) {
            break;
        }
        if (cnt == cap) {
            size_t nc = cap != 0 ? cap * 2 : 4;
            iam_key_info *nv = realloc(v, nc * sizeof *nv);
            SD_ENSURE(nv != NULL, err, SD_E_NOMEM, "out of memory");
            v = nv;
            cap = nc;
        }
        v[cnt++] = k;
    }
    *out = v;
    *n = cnt;
    v = NULL;
out:
    free(v);
    store_stmt_free(st);
    pthread_mutex_unlock(&self->mu);
    return rc;
}

void iam_key_list_free(iam_key_info *list)
{
    free(list);
}

/* Runs sql on one AccessKey; SD_E_NOT_FOUND when it changed no row. */
static sd_code key_update(iam *self, const char *sql, const store_arg *args, sd_err *err)
{
    sd_code rc = SD_OK;

    SD_TRY(store_run(self->st, sql, args, err));
    SD_ENSUREC(store_changes(self->st) == 1, err, SD_E_NOT_FOUND, IAM_C_AK_NF,
               "Specified access key is not found.");
out:
    return rc;
}

sd_code iam_key_set_active(iam *self, const char *account_id, const char *access_key_id,
                           bool active, sd_err *err)
{
    sd_code rc;

    pthread_mutex_lock(&self->mu);
    rc = key_update(
        self, "UPDATE iam_keys SET active = ? WHERE access_key_id = ? AND account_id = ?",
        STORE_ARGS(STORE_INT(active ? 1 : 0), STORE_TEXT(access_key_id), STORE_TEXT(account_id)),
        err);
    pthread_mutex_unlock(&self->mu);
    return rc;
}

sd_code iam_key_delete(iam *self, const char *account_id, const char *access_key_id, sd_err *err)
{
    sd_code rc;

    pthread_mutex_lock(&self->mu);
    rc = key_update(self, "DELETE FROM iam_keys WHERE access_key_id = ? AND account_id = ?",
                    STORE_ARGS(STORE_TEXT(access_key_id), STORE_TEXT(account_id)), err);
    if (rc == SD_OK) {
        cache_drop(self, access_key_id);
    }
    pthread_mutex_unlock(&self->mu);
    return rc;
}

static sd_code bootstrap_locked(iam *self, bool *created, iam_account_info *account,
                                iam_key_info *key, sd_secret **secret, sd_err *err)
{
    sd_code rc = SD_OK;
    int64_t n = 0;

    SD_TRY(store_count(self->st, "SELECT COUNT(*) FROM iam_accounts", STORE_NO_ARGS, &n, err));
    if (n > 0) {
        goto out;
    }
    SD_TRY(store_begin(self->st, err));
    rc = account_create_locked(self, "root", account, err);
    if (rc == SD_OK) {
        rc = key_create_locked(self, account->account_id, key, secret, err);
    }
    if (rc != SD_OK) {
        store_rollback(self->st);
        goto out;
    }
    SD_TRY(store_commit(self->st, err));
    *created = true;
out:
    if (rc != SD_OK) {
        sd_secret_free(sd_secret_take(secret));
    }
    return rc;
}

sd_code iam_bootstrap(iam *self, bool *created, iam_account_info *account, iam_key_info *key,
                      sd_secret **secret, sd_err *err)
{
    sd_code rc;

    *created = false;
    *secret = NULL;
    pthread_mutex_lock(&self->mu);
    rc = bootstrap_locked(self, created, account, key, secret, err);
    pthread_mutex_unlock(&self->mu);
    return rc;
}

/* ---- authentication ----------------------------------------------------- */

/* *ts gets the request's timestamp. */
static sd_code check_time(const iam *self, const iam_sig_info *info, int64_t now, int64_t *ts,
                          sd_err *err)
{
    sd_code rc = SD_OK;
    sd_err inner = SD_ERR_INIT;

    if (sd_time_parse_iso8601(info->timestamp, ts, &inner) != SD_OK) {
        SD_FAILC(err, SD_E_AUTH, IAM_C_TS_FORMAT,
                 "The specified timestamp or date value is not in the format "
                 "YYYY-MM-DDThh:mm:ssZ.");
    }
    if (!self->skip_clock) {
        SD_ENSUREC(*ts <= now + self->max_skew && *ts >= now - self->max_skew, err, SD_E_AUTH,
                   IAM_C_TS_EXPIRY, "Specified time stamp or date value is expired.");
    }
out:
    return rc;
}

/* The key's account, and its cache entry (secret and rate); the caller
 * holds mu and must not free the entry (it belongs to the cache). */
static sd_code key_secret_locked(iam *self, const char *akid, char account[IAM_ACCOUNT_ID_LEN + 1],
                                 cached **out, sd_err *err)
{
    typedef struct secret_row {
        char account[IAM_ACCOUNT_ID_LEN + 1];
        bool active;
        sd_buf sealed;
    } secret_row;
    static const store_col cols[] = {
        STORE_COL(secret_row, account),
        STORE_COL(secret_row, active),
        STORE_COL(secret_row, sealed),
    };
    sd_code rc = SD_OK;
    sd_secret *s = NULL;
    bool row = false;
    secret_row r = {.sealed = SD_BUF_INIT(SEALED_MAX)};

    SD_TRY(store_query_one(
        self->st, "SELECT account_id, active, sealed FROM iam_keys WHERE access_key_id = ?",
        STORE_ARGS(STORE_TEXT(akid)), STORE_COLS(cols), &r, &row, err));
    SD_ENSUREC(row, err, SD_E_NOT_FOUND, IAM_C_AK_NF, "Specified access key is not found.");
    SD_ENSUREC(r.active, err, SD_E_DENIED, IAM_C_AK_OFF, "Specified access key is disabled.");
    memcpy(account, r.account, sizeof r.account);
    *out = cache_get(self, akid);
    if (*out == NULL) {
        SD_TRY(unseal(self, akid, r.sealed.data, r.sealed.len, &s, err));
        SD_TRY(cache_put(self, akid, s, err));
        *out = cache_get(self, akid);
    }
out:
    sd_secret_free(s);
    sd_buf_free(&r.sealed);
    return rc;
}

/* Deletes expired replay records, at most once a clock second: a few
 * rows at a time under load, nothing when idle.  A failure only delays
 * the purge. */
static void purge_nonces(iam *self, int64_t now)
{
    sd_err err = SD_ERR_INIT;

    if (now == self->purged_at) {
        return;
    }
    self->purged_at = now;
    if (iam__nonce_purge(self->nonce_st, now, &err) != SD_OK) {
        sd_log(SD_LOG_WARN, "iam", "cannot purge expired nonces: %s", err.msg);
    }
}

static sd_code verify_locked(iam *self, const iam_request *req, const iam_sig_info *info,
                             int64_t now, int64_t ts, iam_auth *out, sd_err *err)
{
    sd_code rc = SD_OK;
    cached *key = NULL;

    SD_TRY(key_secret_locked(self, info->access_key_id, out->account_id, &key, err));
    SD_TRY(iam_sig_check(req, key->secret, err));
    /* after the signature, so only the key's holder spends its rate, and
     * before the nonce, so a refused request leaves no record */
    SD_ENSUREC(key->rate == NULL || sd_rate_take(key->rate), err, SD_E_THROTTLED, IAM_C_THROTTLE,
               "Request was denied due to user flow control.");
    if (!self->skip_nonce) {
        /* the request stays acceptable while now <= ts + max_skew */
        SD_TRY(iam__nonce_record(self->nonce_st, info->access_key_id, info->nonce, now,
                                 ts + self->max_skew + 1, err));
        purge_nonces(self, now);
    }
out:
    return rc;
}

sd_code iam_verify(iam *self, const iam_request *req, iam_auth *out, sd_err *err)
{
    sd_code rc = SD_OK;
    iam_sig_info info;
    iam_auth a = {0};
    int64_t now = sd_now(&self->clock);
    int64_t ts = 0;

    SD_TRY(iam_sig_parse(req, &info, err));
    SD_TRY(check_time(self, &info, now, &ts, err));
    pthread_mutex_lock(&self->mu);
    rc = verify_locked(self, req, &info, now, ts, &a, err);
    pthread_mutex_unlock(&self->mu);
    SD_TRY(rc);
    a.scheme = info.scheme;
    SD_TRY(sd_str_copy(a.access_key_id, sizeof a.access_key_id, info.access_key_id, err));
    SD_TRY(sd_str_copy(a.action, sizeof a.action, info.action, err));
    SD_TRY(sd_str_copy(a.version, sizeof a.version, info.version, err));
    *out = a;
out:
    return rc;
}

/* ---- RAM roles ----------------------------------------------------------- */

static sd_code role_name_check(const char *n, sd_err *err)
{
    size_t len = strlen(n);

    if (len == 0 || len >= IAM_ROLE_NAME_MAX) {
        return sd_err_setc(err, SD_E_INVALID, "InvalidParameter.RoleName.Length", SD_HERE,
                           "The parameter RoleName must be 1 to 64 characters.");
    }
    for (const char *p = n; *p != '\0'; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-')) {
            return sd_err_setc(err, SD_E_INVALID, "InvalidParameter.RoleName.InvalidChars", SD_HERE,
                               "The parameter RoleName may hold only A-Z a-z 0-9 . and -.");
        }
    }
    return SD_OK;
}

static const store_col role_cols[] = {
    STORE_COL(iam_role_info, account_id), STORE_COL(iam_role_info, name),
    STORE_COL(iam_role_info, role_id),    STORE_COL(iam_role_info, description),
    STORE_COL(iam_role_info, policy),     STORE_COL(iam_role_info, created),
};

static sd_code role_get_locked(iam *self, const char *account_id, const char *name,
                               iam_role_info *out, sd_err *err)
{
    sd_code rc = SD_OK;
    bool row = false;
    int64_t n = 0;

    if (out == NULL) {
        SD_TRY(store_count(self->st,
                           "SELECT 1 FROM iam_roles WHERE account_id = ? AND role_name = ?",
                           STORE_ARGS(STORE_TEXT(account_id), STORE_TEXT(name)), &n, err));
        row = n != 0;
    } else {
        SD_TRY(store_query_one(self->st,
                               "SELECT account_id, role_name, role_id, description, policy, "
                               "created FROM iam_roles WHERE account_id = ? AND role_name = ?",
                               STORE_ARGS(STORE_TEXT(account_id), STORE_TEXT(name)),
                               STORE_COLS(role_cols), out, &row, err));
    }
    SD_ENSUREC(row, err, SD_E_NOT_FOUND, "EntityNotExist.Role", "The role does not exist: %s.",
               name);
out:
    return rc;
}

static sd_code role_create_locked(iam *self, const char *account_id, const char *name,
                                  const char *policy, const char *description, iam_role_info *out,
                                  sd_err *err)
{
    sd_code rc = SD_OK;
    iam_role_info r = {.created = 0};
    uint8_t id[19];

    SD_TRY(role_name_check(name, err));
    SD_ENSUREC(policy != NULL && policy[0] == '{' && strlen(policy) <= IAM_ROLE_POLICY_MAX, err,
               SD_E_INVALID, "InvalidParameter.AssumeRolePolicyDocument",
               "The AssumeRolePolicyDocument must be a JSON policy of at most %d bytes.",
               IAM_ROLE_POLICY_MAX);
    SD_ENSUREC(description == NULL || strlen(description) < IAM_ROLE_DESC_MAX, err, SD_E_INVALID,
               "InvalidParameter.Description.Length",
               "The Description must be at most 1024 characters.");
    SD_TRY(rand_chars(&self->rng, "0123456789", 10, id, sizeof id, err));
    SD_TRY(sd_str_copy(r.account_id, sizeof r.account_id, account_id, err));
    SD_TRY(sd_str_copy(r.name, sizeof r.name, name, err));
    memcpy(r.role_id, "3", 1); /* role ids are 19 digits starting with 3 */
    memcpy(r.role_id + 1, id, sizeof id - 1);
    SD_TRY(sd_str_copy(r.description, sizeof r.description, description, err));
    SD_TRY(sd_str_copy(r.policy, sizeof r.policy, policy, err));
    r.created = sd_now(&self->clock);
    rc =
        store_run(self->st,
                  "INSERT INTO iam_roles (account_id, role_name, role_id, description, "
                  "policy, created) VALUES (?, ?, ?, ?, ?, ?)",
                  STORE_ARGS(STORE_TEXT(r.account_id), STORE_TEXT(r.name), STORE_TEXT(r.role_id),
                             STORE_TEXT(r.description), STORE_TEXT(r.policy), STORE_INT(r.created)),
                  err);
    if (rc == SD_E_CONFLICT) {
        sd_err_clear(err);
        SD_FAILC(err, SD_E_CONFLICT, "EntityAlreadyExists.Role", "The role already exists: %s.",
                 name);
    }
    SD_TRY(rc);
    if (out != NULL) {
        *out = r;
    }
out:
    return rc;
}

sd_code iam_role_create(iam *self, const char *account_id, const char *name, const char *policy,
                        const char *description, iam_role_info *out, sd_err *err)
{
    sd_code rc;

    pthread_mutex_lock(&self->mu);
    rc = role_create_locked(self, account_id, name, policy, description, out, err);
    pthread_mutex_unlock(&self->mu);
    return rc;
}

sd_code iam_role_get(iam *self, const char *account_id, const char *name, iam_role_info *out,
                     sd_err *err)
{
    sd_code rc;

    pthread_mutex_lock(&self->mu);
    rc = role_get_locked(self, account_id, name, out, err);
    pthread_mutex_unlock(&self->mu);
    return rc;
}

sd_code iam_role_delete(iam *self, const char *account_id, const char *name, sd_err *err)
{
    sd_code rc = SD_OK;

    pthread_mutex_lock(&self->mu);
    SD_TRY(role_get_locked(self, account_id, name, NULL, err));
    SD_TRY(store_run(self->st, "DELETE FROM iam_roles WHERE account_id = ? AND role_name = ?",
                     STORE_ARGS(STORE_TEXT(account_id), STORE_TEXT(name)), err));
out:
    pthread_mutex_unlock(&self->mu);
    return rc;
}
