/* test_keys.c: accounts, AccessKeys and full request authentication
 * (iam_verify): replay, clock skew, inactive and unknown keys, account
 * isolation, secrets absent from the SQLite file and WAL, and a wrong
 * wrapping key. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/sd_b64.h"
#include "crypto/crypto.h"
#include "iam_test.h"
#include "store/store.h"

/* 2026-11-22T10:27:10Z, the time of the captured vectors. */
#define T_VEC 1795343230

typedef struct it {
    char dir[64];
    char db[96];
    int64_t now;
    sd_secret *wrap;
    iam *i;
} it;

static sd_secret *secret_of(const char *s)
{
    sd_secret *out = NULL;
    assert_int_equal(sd_secret_from(s, strlen(s), &out, NULL), SD_OK);
    return out;
}

/* The per-AccessKey rate of the next it_open_with (0: none), on a
 * monotonic clock the test steps. */
static double user_rate;
static double user_burst;
static int64_t mono_now = 1;

static int64_t fake_mono(void *ctx)
{
    return *(const int64_t *)ctx;
}

static sd_code it_open_with(it *t, const sd_secret *wrap, bool skip, iam **out, sd_err *err)
{
    iam_opts o = IAM_OPTS_INIT;
    o.user_rate = user_rate;
    o.user_burst = user_burst;
    o.mono = fake_mono;
    o.mono_ctx = &mono_now;
    o.db_path = t->db;
    o.wrap_key = wrap;
    o.clock = sd_clock_fixed(&t->now);
    o.rng = crypto_rng_system();
    o.skip_clock_check = skip;
    o.skip_nonce_check = skip;
    return iam_open(&o, out, err);
}

static int setup(void **state)
{
    it *t = calloc(1, sizeof *t);
    uint8_t k[32];
    snprintf(t->dir, sizeof t->dir, "/tmp/sd-iam-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->db, sizeof t->db, "%s/meta.db", t->dir);
    t->now = T_VEC;
    for (size_t j = 0; j < sizeof k; j++) {
        k[j] = (uint8_t)(j * 7 + 1);
    }
    assert_int_equal(sd_secret_from(k, sizeof k, &t->wrap, NULL), SD_OK);
    assert_int_equal(it_open_with(t, t->wrap, false, &t->i, NULL), SD_OK);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    it *t = *state;
    char p[128];
    iam_close(t->i);
    sd_secret_free(t->wrap);
    snprintf(p, sizeof p, "%s/meta.db", t->dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/meta.db-wal", t->dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/meta.db-shm", t->dir);
    unlink(p);
    rmdir(t->dir);
    free(t);
    return 0;
}

static void account(it *t, const char *name, iam_account_info *a)
{
    assert_int_equal(iam_account_create(t->i, name, a, NULL), SD_OK);
}

/* Imports testid/testsecret into a new account named name. */
static void import_testid(it *t, const char *name, iam_account_info *a)
{
    sd_secret *s = secret_of("testsecret");
    account(t, name, a);
    assert_int_equal(iam_key_import(t->i, a->account_id, "testid", s, NULL), SD_OK);
    sd_secret_free(s);
}

static sd_code verify_vector(it *t, size_t idx, iam_auth *out, sd_err *err)
{
    rq x;
    sd_code rc;
    assert_int_equal(rq_from_vector(&x, &iam_vectors[idx]), SD_OK);
    rc = iam_verify(t->i, &x.r, out, err);
    rq_free(&x);
    return rc;
}

/* ---- accounts ----------------------------------------------------------- */

static void accounts_have_sixteen_digit_ids(void **state)
{
    it *t = *state;
    iam_account_info a;
    iam_account_info b;
    sd_err err = SD_ERR_INIT;
    account(t, "alice", &a);
    assert_int_equal(strlen(a.account_id), 16);
    assert_true(a.account_id[0] >= '1' && a.account_id[0] <= '9');
    for (size_t j = 0; j < 16; j++) {
        assert_true(a.account_id[j] >= '0' && a.account_id[j] <= '9');
    }
    assert_int_equal(iam_account_get(t->i, a.account_id, &b, NULL), SD_OK);
    assert_string_equal(b.name, "alice");
    assert_int_equal(iam_account_get(t->i, "1234567890123456", &b, &err), SD_E_NOT_FOUND);
    sd_err_clear(&err);
    assert_int_equal(iam_account_create(t->i, "alice", &b, &err), SD_E_CONFLICT);
    sd_err_clear(&err);
    assert_int_equal(iam_account_create(t->i, "bad name", &b, &err), SD_E_INVALID);
    sd_err_clear(&err);
    assert_int_equal(iam_account_create(t->i, "", &b, &err), SD_E_INVALID);
}

static void bootstrap_creates_root_once(void **state)
{
    it *t = *state;
    bool created = false;
    iam_account_info a;
    iam_key_info k;
    sd_secret *s = NULL;
    iam_key_info *list = NULL;
    size_t n = 0;
    assert_int_equal(iam_bootstrap(t->i, &created, &a, &k, &s, NULL), SD_OK);
    assert_true(created);
    assert_string_equal(a.name, "root");
    assert_non_null(s);
    assert_int_equal(sd_secret_len(s), 30);
    assert_int_equal(strlen(k.access_key_id), 24);
    assert_memory_equal(k.access_key_id, "LTAI", 4);
    assert_int_equal(iam_key_list(t->i, a.account_id, &list, &n, NULL), SD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].access_key_id, k.access_key_id);
    assert_true(list[0].active);
    iam_key_list_free(list);
    sd_secret_free(s);
    s = NULL;
    assert_int_equal(iam_bootstrap(t->i, &created, &a, &k, &s, NULL), SD_OK);
    assert_false(created);
    assert_null(s);
}

/* ---- AccessKeys --------------------------------------------------------- */

static void keys_are_created_listed_disabled_and_deleted(void **state)
{
    it *t = *state;
    iam_account_info a;
    iam_account_info b;
    iam_key_info k1;
    iam_key_info k2;
    iam_key_info g;
    iam_key_info *list = NULL;
    size_t n = 0;
    sd_secret *s1 = NULL;
    sd_secret *s2 = NULL;
    sd_err err = SD_ERR_INIT;
    account(t, "alice", &a);
    account(t, "bob", &b);
    assert_int_equal(iam_key_create(t->i, a.account_id, &k1, &s1, NULL), SD_OK);
    assert_int_equal(iam_key_create(t->i, a.account_id, &k2, &s2, NULL), SD_OK);
    assert_string_not_equal(k1.access_key_id, k2.access_key_id);
    for (size_t j = 0; j < 30; j++) {
        char c = (char)sd_secret_data(s1)[j];
        assert_true((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
    }
    assert_int_equal(iam_key_list(t->i, a.account_id, &list, &n, NULL), SD_OK);
    assert_int_equal(n, 2);
    iam_key_list_free(list);
    assert_int_equal(iam_key_list(t->i, b.account_id, &list, &n, NULL), SD_OK);
    assert_int_equal(n, 0);
    iam_key_list_free(list);
    /* bob cannot touch alice's key */
    assert_int_equal(iam_key_set_active(t->i, b.account_id, k1.access_key_id, false, &err),
                     SD_E_NOT_FOUND);
    sd_err_clear(&err);
    assert_int_equal(iam_key_delete(t->i, b.account_id, k1.access_key_id, &err), SD_E_NOT_FOUND);
    assert_int_equal(iam_key_set_active(t->i, a.account_id, k1.access_key_id, false, NULL), SD_OK);
    assert_int_equal(iam_key_get(t->i, k1.access_key_id, &g, NULL), SD_OK);
    assert_false(g.active);
    assert_string_equal(g.account_id, a.account_id);
    assert_int_equal(iam_key_delete(t->i, a.account_id, k1.access_key_id, NULL), SD_OK);
    sd_err_clear(&err);
    assert_int_equal(iam_key_get(t->i, k1.access_key_id, &g, &err), SD_E_NOT_FOUND);
    assert_string_equal(err.api_code, "InvalidAccessKeyId.NotFound");
    sd_err_clear(&err);
    assert_int_equal(iam_key_create(t->i, "1234567890123456", &k1, &s1, &err), SD_E_NOT_FOUND);
    sd_secret_free(s1);
    sd_secret_free(s2);
}

static void import_rejects_bad_ids_and_duplicates(void **state)
{
    it *t = *state;
    iam_account_info a;
    sd_secret *s = secret_of("x");
    sd_err err = SD_ERR_INIT;
    account(t, "alice", &a);
    assert_int_equal(iam_key_import(t->i, a.account_id, "ab", s, &err), SD_E_INVALID);
    sd_err_clear(&err);
    assert_int_equal(iam_key_import(t->i, a.account_id, "a-b-c", s, &err), SD_E_INVALID);
    assert_int_equal(iam_key_import(t->i, a.account_id, "abc", s, NULL), SD_OK);
    sd_err_clear(&err);
    assert_int_equal(iam_key_import(t->i, a.account_id, "abc", s, &err), SD_E_CONFLICT);
    sd_secret_free(s);
}

/* ---- iam_verify --------------------------------------------------------- */

static void vectors_authenticate_as_the_owning_account(void **state)
{
    it *t = *state;
    iam_account_info a;
    iam_auth au;
    iam *skip = NULL;
    import_testid(t, "alice", &a);
    iam_close(t->i);
    assert_int_equal(it_open_with(t, t->wrap, true, &skip, NULL), SD_OK);
    t->i = skip;
    for (size_t j = 0; j < IAMV_COUNT; j++) {
        sd_err err = SD_ERR_INIT;
        sd_code rc = verify_vector(t, j, &au, &err);
        if (strcmp(iam_vectors[j].secret, "testsecret") != 0) {
            assert_int_equal(rc, SD_E_NOT_FOUND); /* YourAccessKeyId is unknown */
            continue;
        }
        assert_int_equal(rc, SD_OK);
        assert_string_equal(au.account_id, a.account_id);
        assert_string_equal(au.access_key_id, "testid");
        assert_true(au.action[0] != '\0');
    }
    assert_int_equal(verify_vector(t, 0, &au, NULL), SD_OK);
    assert_string_equal(au.action, "CreateKey");
    assert_string_equal(au.version, "2016-01-20");
    assert_int_equal(au.scheme, IAM_SIG_V1);
    assert_int_equal(verify_vector(t, 2, &au, NULL), SD_OK);
    assert_string_equal(au.action, "CreateDisk");
    assert_string_equal(au.version, "2014-05-26");
    assert_int_equal(au.scheme, IAM_SIG_V3);
}

static void unknown_key_is_not_found(void **state)
{
    it *t = *state;
    iam_auth au;
    sd_err err = SD_ERR_INIT;
    assert_int_equal(verify_vector(t, 0, &au, &err), SD_E_NOT_FOUND);
    assert_string_equal(err.api_code, "InvalidAccessKeyId.NotFound");
}

static void inactive_key_is_refused_until_enabled(void **state)
{
    it *t = *state;
    iam_account_info a;
    iam_auth au;
    sd_err err = SD_ERR_INIT;
    import_testid(t, "alice", &a);
    assert_int_equal(iam_key_set_active(t->i, a.account_id, "testid", false, NULL), SD_OK);
    assert_int_equal(verify_vector(t, 0, &au, &err), SD_E_DENIED);
    assert_string_equal(err.api_code, "InvalidAccessKeyId.Inactive");
    assert_int_equal(iam_key_set_active(t->i, a.account_id, "testid", true, NULL), SD_OK);
    assert_int_equal(verify_vector(t, 0, &au, NULL), SD_OK);
}

static void deleted_key_is_not_found(void **state)
{
    it *t = *state;
    iam_account_info a;
    iam_auth au;
    sd_err err = SD_ERR_INIT;
    import_testid(t, "alice", &a);
    assert_int_equal(verify_vector(t, 0, &au, NULL), SD_OK);
    assert_int_equal(iam_key_delete(t->i, a.account_id, "testid", NULL), SD_OK);
    assert_int_equal(verify_vector(t, 1, &au, &err), SD_E_NOT_FOUND);
}

static void replayed_nonce_is_refused(void **state)
{
    it *t = *state;
    iam_account_info a;
    iam_auth au;
    sd_err err = SD_ERR_INIT;
    import_testid(t, "alice", &a);
    assert_int_equal(verify_vector(t, 0, &au, NULL), SD_OK);
    assert_int_equal(verify_vector(t, 0, &au, &err), SD_E_AUTH);
    assert_string_equal(err.api_code, "SignatureNonceUsed");
    /* another nonce (V1-B) still passes; so does V3 */
    assert_int_equal(verify_vector(t, 1, &au, NULL), SD_OK);
    assert_int_equal(verify_vector(t, 2, &au, NULL), SD_OK);
    sd_err_clear(&err);
    assert_int_equal(verify_vector(t, 2, &au, &err), SD_E_AUTH);
    assert_string_equal(err.api_code, "SignatureNonceUsed");
}

static void bad_signature_does_not_burn_the_nonce(void **state)
{
    it *t = *state;
    iam_account_info a;
    iam_auth au;
    rq x;
    char *q = strdup(iam_vectors[0].query);
    sd_err err = SD_ERR_INIT;
    import_testid(t, "alice", &a);
    mutate_one(q, (size_t)(strchr(q, '=') - q) + 1);
    assert_int_equal(
        rq_build(&x, "POST", q, iam_vectors[0].headers, iamv_nheaders(&iam_vectors[0]), ""), SD_OK);
    assert_int_equal(iam_verify(t->i, &x.r, &au, &err), SD_E_AUTH);
    assert_string_equal(err.api_code, "SignatureDoesNotMatch");
    rq_free(&x);
    free(q);
    assert_int_equal(verify_vector(t, 0, &au, NULL), SD_OK);
}

static void clock_skew_beyond_fifteen_minutes_is_refused(void **state)
{
    it *t = *state;
    iam_account_info a;
    iam_auth au;
    sd_err err = SD_ERR_INIT;
    import_testid(t, "alice", &a);
    t->now = T_VEC + 901;
    assert_int_equal(verify_vector(t, 0, &au, &err), SD_E_AUTH);
    assert_string_equal(err.api_code, "InvalidTimeStamp.Expired");
    t->now = T_VEC - 901;
    sd_err_clear(&err);
    assert_int_equal(verify_vector(t, 2, &au, &err), SD_E_AUTH);
    assert_string_equal(err.api_code, "InvalidTimeStamp.Expired");
    t->now = T_VEC + 899;
    assert_int_equal(verify_vector(t, 0, &au, NULL), SD_OK);
    t->now = T_VEC - 899;
    assert_int_equal(verify_vector(t, 2, &au, NULL), SD_OK);
}

static void malformed_timestamp_is_refused(void **state)
{
    it *t = *state;
    iam_account_info a;
    iam_auth au;
    rq x;
    sd_err err = SD_ERR_INIT;
    const char *q = "AccessKeyId=testid&Action=A&Version=1&Timestamp=2026-11-22%2010%3A27%3A10"
                    "&SignatureNonce=n&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&Signature=x";
    import_testid(t, "alice", &a);
    assert_int_equal(rq_build(&x, "POST", q, iam_vectors[0].headers, 1, ""), SD_OK);
    assert_int_equal(iam_verify(t->i, &x.r, &au, &err), SD_E_AUTH);
    assert_string_equal(err.api_code, "InvalidTimeStamp.Format");
    rq_free(&x);
}

/* A request signed with iam_sign_v1 for a generated key, with Timestamp ts. */
static void v1_request_at(const char *ts, const char *akid, const sd_secret *s, const char *nonce,
                          rq *x, iam_params *p)
{
    char sig[29];
    const char *const h[1][2] = {{"host", "127.0.0.1"}};
    assert_int_equal(iam_params_add(p, "AccessKeyId", akid, NULL), SD_OK);
    assert_int_equal(iam_params_add(p, "Action", "DescribeRegions", NULL), SD_OK);
    assert_int_equal(iam_params_add(p, "Version", "2014-05-26", NULL), SD_OK);
    assert_int_equal(iam_params_add(p, "Timestamp", ts, NULL), SD_OK);
    assert_int_equal(iam_params_add(p, "SignatureNonce", nonce, NULL), SD_OK);
    assert_int_equal(iam_params_add(p, "SignatureMethod", "HMAC-SHA1", NULL), SD_OK);
    assert_int_equal(iam_params_add(p, "SignatureVersion", "1.0", NULL), SD_OK);
    assert_int_equal(iam_sign_v1("GET", p, s, sig, NULL), SD_OK);
    assert_int_equal(iam_params_add(p, "Signature", sig, NULL), SD_OK);
    assert_int_equal(rq_build(x, "GET", "", h, 1, ""), SD_OK);
    x->r.query = p;
}

/* A request signed now with iam_sign_v1 for a generated key. */
static void fresh_v1_request(it *t, const char *akid, const sd_secret *s, const char *nonce, rq *x,
                             iam_params *p)
{
    char ts[21];
    sd_time_iso8601(t->now, ts);
    v1_request_at(ts, akid, s, nonce, x, p);
}

/* Older official SDKs send Timestamp with milliseconds; the service accepts it. */
static void millisecond_timestamp_is_accepted(void **state)
{
    it *t = *state;
    iam_account_info a;
    iam_key_info k;
    sd_secret *s = NULL;
    iam_auth au;
    rq x;
    iam_params p = IAM_PARAMS_INIT;
    sd_err err = SD_ERR_INIT;
    t->now = 1796240839; /* 2026-12-02T19:47:19Z */
    account(t, "alice", &a);
    assert_int_equal(iam_key_create(t->i, a.account_id, &k, &s, NULL), SD_OK);
    v1_request_at("2026-12-02T19:47:19.772Z", k.access_key_id, s, "n-ms", &x, &p);
    assert_int_equal(iam_verify(t->i, &x.r, &au, NULL), SD_OK);
    rq_free(&x);
    iam_params_free(&p);
    /* negative twins: a malformed fraction, and the skew check still applies */
    v1_request_at("2026-12-02T19:47:19.77xZ", k.access_key_id, s, "n-bad", &x, &p);
    assert_int_equal(iam_verify(t->i, &x.r, &au, &err), SD_E_AUTH);
    assert_string_equal(err.api_code, "InvalidTimeStamp.Format");
    rq_free(&x);
    iam_params_free(&p);
    sd_err_clear(&err);
    v1_request_at("2026-12-02T19:31:58.999Z", k.access_key_id, s, "n-old", &x, &p);
    assert_int_equal(iam_verify(t->i, &x.r, &au, &err), SD_E_AUTH);
    assert_string_equal(err.api_code, "InvalidTimeStamp.Expired");
    rq_free(&x);
    iam_params_free(&p);
    sd_secret_free(s);
}

static void keys_authenticate_as_their_account_only(void **state)
{
    it *t = *state;
    iam_account_info a;
    iam_account_info b;
    iam_key_info ka;
    iam_key_info kb;
    sd_secret *sa = NULL;
    sd_secret *sb = NULL;
    iam_auth au;
    rq x;
    iam_params p = IAM_PARAMS_INIT;
    sd_err err = SD_ERR_INIT;
    t->now = 1800000000;
    account(t, "alice", &a);
    account(t, "bob", &b);
    assert_int_equal(iam_key_create(t->i, a.account_id, &ka, &sa, NULL), SD_OK);
    assert_int_equal(iam_key_create(t->i, b.account_id, &kb, &sb, NULL), SD_OK);
    fresh_v1_request(t, ka.access_key_id, sa, "n-a", &x, &p);
    assert_int_equal(iam_verify(t->i, &x.r, &au, NULL), SD_OK);
    assert_string_equal(au.account_id, a.account_id);
    assert_string_equal(au.access_key_id, ka.access_key_id);
    rq_free(&x);
    iam_params_free(&p);
    /* alice's key id with bob's secret: no match */
    fresh_v1_request(t, ka.access_key_id, sb, "n-b", &x, &p);
    assert_int_equal(iam_verify(t->i, &x.r, &au, &err), SD_E_AUTH);
    assert_string_equal(err.api_code, "SignatureDoesNotMatch");
    rq_free(&x);
    iam_params_free(&p);
    fresh_v1_request(t, kb.access_key_id, sb, "n-c", &x, &p);
    assert_int_equal(iam_verify(t->i, &x.r, &au, NULL), SD_OK);
    assert_string_equal(au.account_id, b.account_id);
    rq_free(&x);
    iam_params_free(&p);
    sd_secret_free(sa);
    sd_secret_free(sb);
}

typedef struct race {
    it *t;
    int ok;
    int replayed;
} race;

static pthread_mutex_t race_mu = PTHREAD_MUTEX_INITIALIZER;

static void *race_one(void *arg)
{
    race *r = arg;
    iam_auth au;
    sd_err err = SD_ERR_INIT;
    sd_code rc = verify_vector(r->t, 0, &au, &err);
    pthread_mutex_lock(&race_mu);
    if (rc == SD_OK) {
        r->ok++;
    } else if (rc == SD_E_AUTH && strcmp(err.api_code, "SignatureNonceUsed") == 0) {
        r->replayed++;
    }
    pthread_mutex_unlock(&race_mu);
    return NULL;
}

static void concurrent_replays_let_exactly_one_through(void **state)
{
    it *t = *state;
    iam_account_info a;
    race r = {t, 0, 0};
    pthread_t th[8];
    import_testid(t, "alice", &a);
    for (size_t j = 0; j < 8; j++) {
        assert_int_equal(pthread_create(&th[j], NULL, race_one, &r), 0);
    }
    for (size_t j = 0; j < 8; j++) {
        assert_int_equal(pthread_join(th[j], NULL), 0);
    }
    assert_int_equal(r.ok, 1);
    assert_int_equal(r.replayed, 7);
}

/* One fresh v1 request of key k with nonce at t->now through iam_verify. */
static sd_code verify_fresh(it *t, const iam_key_info *k, const sd_secret *s, const char *nonce,
                            sd_err *err)
{
    rq x;
    iam_params p = IAM_PARAMS_INIT;
    iam_auth au;
    sd_code rc;
    fresh_v1_request(t, k->access_key_id, s, nonce, &x, &p);
    rc = iam_verify(t->i, &x.r, &au, err);
    rq_free(&x);
    iam_params_free(&p);
    return rc;
}

static int64_t nonce_rows(const it *t)
{
    store *st = NULL;
    store_stmt *q = NULL;
    bool row = false;
    int64_t n;
    assert_int_equal(store_open_sqlite(t->db, &st, NULL), SD_OK);
    assert_int_equal(store_prepare(st, "SELECT count(*) FROM iam_nonces", &q, NULL), SD_OK);
    assert_int_equal(store_step(q, &row, NULL), SD_OK);
    assert_true(row);
    n = store_col_int64(q, 0);
    store_stmt_free(q);
    store_close(st);
    return n;
}

static void replay_is_refused_after_a_reopen(void **state)
{
    it *t = *state;
    iam_account_info a;
    iam_auth au;
    sd_err err = SD_ERR_INIT;
    import_testid(t, "alice", &a);
    assert_int_equal(verify_vector(t, 0, &au, NULL), SD_OK);
    assert_int_equal(verify_vector(t, 2, &au, NULL), SD_OK);
    /* a restart: the replay records are in the store, not in the handle */
    iam_close(t->i);
    t->i = NULL;
    assert_int_equal(it_open_with(t, t->wrap, false, &t->i, NULL), SD_OK);
    assert_int_equal(verify_vector(t, 0, &au, &err), SD_E_AUTH);
    assert_string_equal(err.api_code, "SignatureNonceUsed");
    sd_err_clear(&err);
    assert_int_equal(verify_vector(t, 2, &au, &err), SD_E_AUTH);
    assert_string_equal(err.api_code, "SignatureNonceUsed");
    /* negative twin: a nonce never used passes after the restart */
    assert_int_equal(verify_vector(t, 1, &au, NULL), SD_OK);
}

static void nonces_are_per_access_key(void **state)
{
    it *t = *state;
    iam_account_info a;
    iam_account_info b;
    iam_key_info ka;
    iam_key_info kb;
    sd_secret *sa = NULL;
    sd_secret *sb = NULL;
    sd_err err = SD_ERR_INIT;
    t->now = 1800000000;
    account(t, "alice", &a);
    account(t, "bob", &b);
    assert_int_equal(iam_key_create(t->i, a.account_id, &ka, &sa, NULL), SD_OK);
    assert_int_equal(iam_key_create(t->i, b.account_id, &kb, &sb, NULL), SD_OK);
    /* alice uses many nonces, among them the one bob will use */
    for (int j = 0; j < 50; j++) {
        char nonce[32];
        (void)snprintf(nonce, sizeof nonce, "n-%d", j);
        assert_int_equal(verify_fresh(t, &ka, sa, nonce, NULL), SD_OK);
    }
    assert_int_equal(verify_fresh(t, &kb, sb, "n-7", NULL), SD_OK);
    /* each key's own reuse is still refused */
    assert_int_equal(verify_fresh(t, &ka, sa, "n-7", &err), SD_E_AUTH);
    assert_string_equal(err.api_code, "SignatureNonceUsed");
    sd_err_clear(&err);
    assert_int_equal(verify_fresh(t, &kb, sb, "n-7", &err), SD_E_AUTH);
    assert_string_equal(err.api_code, "SignatureNonceUsed");
    sd_secret_free(sa);
    sd_secret_free(sb);
}

static void expired_nonces_are_reusable_and_purged(void **state)
{
    it *t = *state;
    iam_account_info a;
    iam_key_info k;
    sd_secret *s = NULL;
    sd_err err = SD_ERR_INIT;
    t->now = 1800000000;
    account(t, "alice", &a);
    assert_int_equal(iam_key_create(t->i, a.account_id, &k, &s, NULL), SD_OK);
    assert_int_equal(verify_fresh(t, &k, s, "n-1", NULL), SD_OK);
    assert_int_equal(verify_fresh(t, &k, s, "n-2", NULL), SD_OK);
    assert_true(nonce_rows(t) == 2);
    /* the last second of the window: still a replay */
    t->now += 900;
    assert_int_equal(verify_fresh(t, &k, s, "n-1", &err), SD_E_AUTH);
    assert_string_equal(err.api_code, "SignatureNonceUsed");
    /* past it, a request with that nonce and a new timestamp passes, and
     * the expired record of n-2 is purged */
    t->now += 1;
    assert_int_equal(verify_fresh(t, &k, s, "n-1", NULL), SD_OK);
    assert_true(nonce_rows(t) == 1);
    sd_secret_free(s);
}

static void access_key_rate_throttles_that_key_only(void **state)
{
    it *t = *state;
    iam_account_info a;
    iam_account_info b;
    iam_key_info ka;
    iam_key_info kb;
    sd_secret *sa = NULL;
    sd_secret *sb = NULL;
    sd_err err = SD_ERR_INIT;
    iam_close(t->i);
    user_rate = 1;
    user_burst = 3;
    assert_int_equal(it_open_with(t, t->wrap, false, &t->i, NULL), SD_OK);
    user_rate = 0;
    user_burst = 0;
    t->now = 1800000000;
    account(t, "alice", &a);
    account(t, "bob", &b);
    assert_int_equal(iam_key_create(t->i, a.account_id, &ka, &sa, NULL), SD_OK);
    assert_int_equal(iam_key_create(t->i, b.account_id, &kb, &sb, NULL), SD_OK);
    assert_int_equal(verify_fresh(t, &ka, sa, "a-1", NULL), SD_OK);
    assert_int_equal(verify_fresh(t, &ka, sa, "a-2", NULL), SD_OK);
    assert_int_equal(verify_fresh(t, &ka, sa, "a-3", NULL), SD_OK);
    assert_int_equal(verify_fresh(t, &ka, sa, "a-4", &err), SD_E_THROTTLED);
    assert_string_equal(err.api_code, "Throttling.User");
    /* bob's key has its own bucket */
    assert_int_equal(verify_fresh(t, &kb, sb, "b-1", NULL), SD_OK);
    /* a request with a wrong signature spends nothing of bob's rate */
    for (int j = 0; j < 5; j++) {
        sd_err_clear(&err);
        assert_int_equal(verify_fresh(t, &kb, sa, "b-x", &err), SD_E_AUTH);
    }
    assert_int_equal(verify_fresh(t, &kb, sb, "b-2", NULL), SD_OK);
    /* a second later alice has one token again, and the refused request's
     * nonce was not burned */
    mono_now += 1000000000;
    assert_int_equal(verify_fresh(t, &ka, sa, "a-4", NULL), SD_OK);
    sd_err_clear(&err);
    assert_int_equal(verify_fresh(t, &ka, sa, "a-5", &err), SD_E_THROTTLED);
    sd_secret_free(sa);
    sd_secret_free(sb);
}

static void no_rate_limit_by_default(void **state)
{
    it *t = *state;
    iam_account_info a;
    iam_key_info k;
    sd_secret *s = NULL;
    t->now = 1800000000;
    account(t, "alice", &a);
    assert_int_equal(iam_key_create(t->i, a.account_id, &k, &s, NULL), SD_OK);
    for (int j = 0; j < 100; j++) {
        char nonce[32];
        (void)snprintf(nonce, sizeof nonce, "n-%d", j);
        assert_int_equal(verify_fresh(t, &k, s, nonce, NULL), SD_OK);
    }
    sd_secret_free(s);
}

/* ---- secrets at rest ---------------------------------------------------- */

static bool file_contains(const char *path, const uint8_t *needle, size_t n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long len;
    bool found = false;
    if (f == NULL) {
        return false;
    }
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    len = ftell(f);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    buf = malloc((size_t)len + 1);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    assert_int_equal(fclose(f), 0);
    for (long j = 0; j + (long)n <= len && !found; j++) {
        found = memcmp(buf + j, needle, n) == 0;
    }
    free(buf);
    return found;
}

static void secrets_are_absent_from_the_database_and_wal(void **state)
{
    it *t = *state;
    iam_account_info a;
    iam_key_info k;
    sd_secret *s = NULL;
    char b64[64];
    char path[128];
    const char *files[] = {"meta.db", "meta.db-wal"};
    account(t, "alice", &a);
    assert_int_equal(iam_key_create(t->i, a.account_id, &k, &s, NULL), SD_OK);
    assert_int_equal(sd_b64_encode(sd_secret_data(s), 30, b64, sizeof b64, NULL), SD_OK);
    for (size_t j = 0; j < 2; j++) {
        snprintf(path, sizeof path, "%s/%s", t->dir, files[j]);
        assert_false(file_contains(path, sd_secret_data(s), 30));
        assert_false(file_contains(path, sd_secret_data(s), 12));
        assert_false(file_contains(path, (const uint8_t *)b64, strlen(b64)));
    }
    /* positive twin: the key id is in the file or WAL, so the grep works */
    snprintf(path, sizeof path, "%s/meta.db-wal", t->dir);
    assert_true(file_contains(path, (const uint8_t *)k.access_key_id, 24) ||
                file_contains(t->db, (const uint8_t *)k.access_key_id, 24));
    sd_secret_free(s);
}

static void wrong_wrapping_key_fails_clearly(void **state)
{
    it *t = *state;
    iam_account_info a;
    iam *other = NULL;
    sd_secret *w2 = NULL;
    sd_secret *short_key = secret_of("short");
    sd_err err = SD_ERR_INIT;
    account(t, "alice", &a);
    assert_int_equal(sd_secret_dup(t->wrap, &w2, NULL), SD_OK);
    sd_secret_data(w2)[0] ^= 1;
    assert_int_equal(it_open_with(t, w2, false, &other, &err), SD_E_AUTH);
    assert_non_null(strstr(err.msg, "wrapping key"));
    assert_null(other);
    sd_err_clear(&err);
    assert_int_equal(it_open_with(t, short_key, false, &other, &err), SD_E_INVALID);
    /* positive twin: the right key reopens */
    assert_int_equal(it_open_with(t, t->wrap, false, &other, NULL), SD_OK);
    iam_close(other);
    sd_secret_free(w2);
    sd_secret_free(short_key);
}

static void secrets_survive_a_reopen(void **state)
{
    it *t = *state;
    iam_account_info a;
    iam_key_info k;
    sd_secret *s = NULL;
    iam_auth au;
    rq x;
    iam_params p = IAM_PARAMS_INIT;
    t->now = 1800000000;
    account(t, "alice", &a);
    assert_int_equal(iam_key_create(t->i, a.account_id, &k, &s, NULL), SD_OK);
    iam_close(t->i);
    t->i = NULL;
    assert_int_equal(it_open_with(t, t->wrap, false, &t->i, NULL), SD_OK);
    fresh_v1_request(t, k.access_key_id, s, "n-r", &x, &p);
    assert_int_equal(iam_verify(t->i, &x.r, &au, NULL), SD_OK);
    assert_string_equal(au.account_id, a.account_id);
    rq_free(&x);
    iam_params_free(&p);
    sd_secret_free(s);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(accounts_have_sixteen_digit_ids),
        T(bootstrap_creates_root_once),
        T(keys_are_created_listed_disabled_and_deleted),
        T(import_rejects_bad_ids_and_duplicates),
        T(vectors_authenticate_as_the_owning_account),
        T(unknown_key_is_not_found),
        T(inactive_key_is_refused_until_enabled),
        T(deleted_key_is_not_found),
        T(replayed_nonce_is_refused),
        T(bad_signature_does_not_burn_the_nonce),
        T(clock_skew_beyond_fifteen_minutes_is_refused),
        T(malformed_timestamp_is_refused),
        T(millisecond_timestamp_is_accepted),
        T(keys_authenticate_as_their_account_only),
        T(concurrent_replays_let_exactly_one_through),
        T(replay_is_refused_after_a_reopen),
        T(nonces_are_per_access_key),
        T(expired_nonces_are_reusable_and_purged),
        T(access_key_rate_throttles_that_key_only),
        T(no_rate_limit_by_default),
        T(secrets_are_absent_from_the_database_and_wal),
        T(wrong_wrapping_key_fails_clearly),
        T(secrets_survive_a_reopen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
