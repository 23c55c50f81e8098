/* test_envelope.c: envelope operations and the key lifecycle around them:
 * round trips, tampering, encryption context, rotation, deletion, aliases,
 * ARNs, the service key, tags, paging and isolation between accounts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kms/kms_client.h"
#include "kms_test.h"

static void new_key(kt *t, const kms_caller *c, kms_key_meta *m)
{
    kms_create_opts o = KMS_CREATE_OPTS_INIT;
    o.description = "test key";
    assert_int_equal(kms_create_key(t->k, c, &o, m, NULL), SD_OK);
}

static kms_ctx *ctx_json(const char *json)
{
    kms_ctx *c = NULL;
    assert_int_equal(kms_ctx_from_json(json, strlen(json), &c, NULL), SD_OK);
    return c;
}

static void envelope_data_key_round_trips(void **state)
{
    kt *t = kt_open();
    kms_key_meta m;
    sd_buf blob = SD_BUF_INIT(KMS_BLOB_MAX);
    sd_secret *dk = NULL, *back = NULL;
    kms_used used, used2;
    bool is_dk = false;

    (void)state;
    new_key(t, &kt_alice, &m);
    assert_true(strncmp(m.key_id, "key-", 4) == 0 && strlen(m.key_id) == 24);
    assert_true(strstr(m.arn, "acs:kms:cn-hangzhou:1000000000000001:key/key-") == m.arn);
    assert_string_equal(m.state, "Enabled");
    assert_string_equal(m.spec, "Aliyun_AES_256");
    assert_int_equal(
        kms_generate_data_key(t->k, &kt_alice, m.key_id, 32, NULL, &dk, &blob, &used, NULL), SD_OK);
    assert_int_equal(sd_secret_len(dk), 32);
    assert_string_equal(used.key_id, m.key_id);
    assert_string_equal(used.version_id, m.primary_version);
    /* Decrypt needs no key id: the blob names it */
    assert_int_equal(
        kms_decrypt(t->k, &kt_alice, blob.data, blob.len, NULL, &back, &is_dk, &used2, NULL),
        SD_OK);
    assert_true(is_dk);
    assert_memory_equal(sd_secret_data(back), sd_secret_data(dk), 32);
    assert_string_equal(used2.key_id, m.key_id);
    sd_secret_free(dk);
    sd_secret_free(back);
    sd_buf_free(&blob);
    kt_close(t);
}

static void envelope_refuses_every_flipped_byte_of_a_blob(void **state)
{
    kt *t = kt_open();
    kms_key_meta m;
    sd_buf blob = SD_BUF_INIT(KMS_BLOB_MAX);

    (void)state;
    new_key(t, &kt_alice, &m);
    assert_int_equal(kms_encrypt(t->k, &kt_alice, m.key_id, (const uint8_t *)"secret data", 11,
                                 NULL, &blob, NULL, NULL),
                     SD_OK);
    for (size_t i = 0; i < blob.len; i++) {
        sd_secret *p = NULL;
        bool dk = false;
        sd_err err = SD_ERR_INIT;
        sd_code rc;
        blob.data[i] ^= 0x01;
        rc = kms_decrypt(t->k, &kt_alice, blob.data, blob.len, NULL, &p, &dk, NULL, &err);
        assert_int_not_equal(rc, SD_OK);
        assert_null(p);
        assert_true(err.api_code[0] != '\0');
        blob.data[i] ^= 0x01;
    }
    /* truncation and garbage too */
    for (size_t n = 0; n < blob.len; n += 7) {
        sd_secret *p = NULL;
        bool dk = false;
        assert_int_not_equal(kms_decrypt(t->k, &kt_alice, blob.data, n, NULL, &p, &dk, NULL, NULL),
                             SD_OK);
    }
    sd_buf_free(&blob);
    kt_close(t);
}

static void envelope_binds_the_encryption_context_in_either_form(void **state)
{
    kt *t = kt_open();
    kms_key_meta m;
    sd_buf blob = SD_BUF_INIT(KMS_BLOB_MAX);
    kms_ctx *json = ctx_json(" {\"purpose\":\"disk\", \"k 2\":\"v+/=\"} ");
    const char *keys[] = {"k 2", "purpose"};
    const char *vals[] = {"v+/=", "disk"};
    kms_ctx *pairs = NULL;
    kms_ctx *wrong = ctx_json("{\"purpose\":\"backup\",\"k 2\":\"v+/=\"}");
    sd_secret *p = NULL;
    bool dk = false;
    sd_err err = SD_ERR_INIT;
    size_t la = 0, lb = 0;
    const uint8_t *a, *b;

    (void)state;
    assert_int_equal(kms_ctx_from_pairs(keys, vals, 2, &pairs, NULL), SD_OK);
    a = kms_ctx_bytes(json, &la);
    b = kms_ctx_bytes(pairs, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    new_key(t, &kt_alice, &m);
    assert_int_equal(
        kms_encrypt(t->k, &kt_alice, m.key_id, (const uint8_t *)"x", 1, json, &blob, NULL, NULL),
        SD_OK);
    assert_int_equal(kms_decrypt(t->k, &kt_alice, blob.data, blob.len, pairs, &p, &dk, NULL, NULL),
                     SD_OK);
    sd_secret_free(p);
    p = NULL;
    assert_int_equal(kms_decrypt(t->k, &kt_alice, blob.data, blob.len, wrong, &p, &dk, NULL, &err),
                     SD_E_AUTH);
    assert_string_equal(err.api_code, "InvalidParameter");
    assert_non_null(strstr(err.msg, "EncryptionContext"));
    sd_err_clear(&err);
    assert_int_equal(kms_decrypt(t->k, &kt_alice, blob.data, blob.len, NULL, &p, &dk, NULL, &err),
                     SD_E_AUTH);
    assert_null(p);
    kms_ctx_free(json);
    kms_ctx_free(pairs);
    kms_ctx_free(wrong);
    sd_buf_free(&blob);
    kt_close(t);
}

static void envelope_context_parser_refuses_malformed_json(void **state)
{
    static const char *const bad[] = {
        "[]",
        "{\"a\":1}",
        "{\"a\":\"b\",}",
        "{\"a\":\"b\"} x",
        "{\"a\" \"b\"}",
        "{\"a\":\"b\",\"a\":\"c\"}",
        "{\"\":\"b\"}",
        "{\"a\":\"\\u0000\"}",
        "{\"a\":\"\\ud800\"}",
        "{\"a\":\"b",
        "{'a':'b'}",
        "{\"a\":\"\\q\"}",
    };
    kms_ctx *c = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sd_err err = SD_ERR_INIT;
        assert_int_equal(kms_ctx_from_json(bad[i], strlen(bad[i]), &c, &err), SD_E_INVALID);
        assert_null(c);
        assert_string_equal(err.api_code, "InvalidParameter");
    }
    {
        static const char good[] = "{\"e\":\"\\u00e9\\ud83d\\ude00\"}";
        assert_int_equal(kms_ctx_from_json(good, strlen(good), &c, NULL), SD_OK);
    }
    kms_ctx_free(c);
}

static void count_version(void *ctx, const char *key_id, const char *version_id, int64_t created)
{
    (void)key_id;
    (void)version_id;
    (void)created;
    (*(int *)ctx)++;
}

static void envelope_old_blobs_decrypt_after_rotation(void **state)
{
    int n = 0;
    kt *t = kt_open();
    kms_key_meta m, m2;
    kms_create_opts o = KMS_CREATE_OPTS_INIT;
    sd_buf old = SD_BUF_INIT(KMS_BLOB_MAX), fresh = SD_BUF_INIT(KMS_BLOB_MAX);
    sd_secret *p = NULL;
    bool dk = false;
    kms_used used;
    char vid[KMS_ID_MAX];
    int64_t created = 0, total = 0;

    (void)state;
    o.rotation = true;
    o.rotation_interval = "7d";
    assert_int_equal(kms_create_key(t->k, &kt_alice, &o, &m, NULL), SD_OK);
    assert_string_equal(m.rotation, "Enabled");
    assert_true(m.next_rotation == t->now + 7 * 86400);
    assert_int_equal(
        kms_encrypt(t->k, &kt_alice, m.key_id, (const uint8_t *)"v1", 2, NULL, &old, NULL, NULL),
        SD_OK);
    /* the scheduler step rotates once the interval has passed, not before */
    t->now += 6 * 86400;
    assert_int_equal(kms_tick(t->k, NULL), SD_OK);
    assert_int_equal(kms_describe_key(t->k, &kt_alice, m.key_id, &m2, NULL), SD_OK);
    assert_string_equal(m2.primary_version, m.primary_version);
    t->now += 86400;
    assert_int_equal(kms_tick(t->k, NULL), SD_OK);
    assert_int_equal(kms_describe_key(t->k, &kt_alice, m.key_id, &m2, NULL), SD_OK);
    assert_string_not_equal(m2.primary_version, m.primary_version);
    assert_true(m2.last_rotation == t->now);
    /* and by hand */
    assert_int_equal(kms_create_version(t->k, &kt_alice, m.key_id, vid, &created, NULL), SD_OK);
    assert_int_equal(
        kms_encrypt(t->k, &kt_alice, m.key_id, (const uint8_t *)"v3", 2, NULL, &fresh, &used, NULL),
        SD_OK);
    assert_string_equal(used.version_id, vid);
    assert_int_equal(kms_decrypt(t->k, &kt_alice, old.data, old.len, NULL, &p, &dk, &used, NULL),
                     SD_OK);
    assert_memory_equal(sd_secret_data(p), "v1", 2);
    assert_string_equal(used.version_id, m.primary_version);
    sd_secret_free(p);
    assert_int_equal(
        kms_list_versions(t->k, &kt_alice, m.key_id, 1, 10, count_version, &n, &total, NULL),
        SD_OK);
    assert_int_equal(total, 3);
    assert_int_equal(n, 3);
    sd_buf_free(&old);
    sd_buf_free(&fresh);
    kt_close(t);
}

static void envelope_rotation_interval_is_checked(void **state)
{
    static const char *const bad[] = {"6d", "731d", "d", "365", "365x", "-7d", "99999999999999d"};
    int64_t s = 0;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(kms_parse_interval(bad[i], &s, NULL), SD_E_INVALID);
    }
    assert_int_equal(kms_parse_interval("365d", &s, NULL), SD_OK);
    assert_int_equal(s, 31536000);
    assert_int_equal(kms_parse_interval("604800s", &s, NULL), SD_OK);
    assert_int_equal(s, 604800);
    assert_int_equal(kms_parse_interval("168h", &s, NULL), SD_OK);
}

static void envelope_deleted_key_answers_key_not_found(void **state)
{
    kt *t = kt_open();
    kms_key_meta m;
    sd_buf blob = SD_BUF_INIT(KMS_BLOB_MAX);
    sd_secret *p = NULL;
    bool dk = false;
    sd_err err = SD_ERR_INIT;

    (void)state;
    new_key(t, &kt_alice, &m);
    assert_int_equal(kms_create_alias(t->k, &kt_alice, "alias/doomed", m.key_id, NULL), SD_OK);
    assert_int_equal(
        kms_encrypt(t->k, &kt_alice, m.key_id, (const uint8_t *)"x", 1, NULL, &blob, NULL, NULL),
        SD_OK);
    assert_int_equal(kms_schedule_deletion(t->k, &kt_alice, m.key_id, 7, NULL), SD_OK);
    t->now += 7 * 86400 - 1;
    assert_int_equal(kms_describe_key(t->k, &kt_alice, m.key_id, &m, NULL), SD_OK);
    t->now += 1;
    assert_int_equal(kms_tick(t->k, NULL), SD_OK);
    assert_int_equal(kms_describe_key(t->k, &kt_alice, m.key_id, &m, &err), SD_E_NOT_FOUND);
    assert_string_equal(err.api_code, "Forbidden.KeyNotFound");
    sd_err_clear(&err);
    assert_int_equal(kms_decrypt(t->k, &kt_alice, blob.data, blob.len, NULL, &p, &dk, NULL, &err),
                     SD_E_NOT_FOUND);
    assert_string_equal(err.api_code, "Forbidden.KeyNotFound");
    sd_err_clear(&err);
    assert_int_equal(kms_describe_key(t->k, &kt_alice, "alias/doomed", &m, &err), SD_E_NOT_FOUND);
    assert_string_equal(err.api_code, "Forbidden.AliasNotFound");
    sd_buf_free(&blob);
    kt_close(t);
}

static void envelope_keys_are_invisible_to_other_accounts_and_regions(void **state)
{
    kt *t = kt_open();
    kms_key_meta m, d;
    sd_buf blob = SD_BUF_INIT(KMS_BLOB_MAX);
    sd_secret *p = NULL;
    bool dk = false;
    sd_err err = SD_ERR_INIT;
    char arn[KMS_ARN_MAX];

    (void)state;
    new_key(t, &kt_alice, &m);
    assert_int_equal(
        kms_encrypt(t->k, &kt_alice, m.key_id, (const uint8_t *)"x", 1, NULL, &blob, NULL, NULL),
        SD_OK);
    assert_int_equal(kms_describe_key(t->k, &kt_bob, m.key_id, &d, &err), SD_E_NOT_FOUND);
    assert_string_equal(err.api_code, "Forbidden.KeyNotFound");
    assert_int_equal(kms_describe_key(t->k, &kt_alice_sh, m.key_id, &d, NULL), SD_E_NOT_FOUND);
    assert_int_equal(kms_decrypt(t->k, &kt_bob, blob.data, blob.len, NULL, &p, &dk, NULL, NULL),
                     SD_E_NOT_FOUND);
    assert_int_equal(kms_disable_key(t->k, &kt_bob, m.key_id, NULL), SD_E_NOT_FOUND);
    assert_int_equal(kms_describe_key(t->k, &kt_bob, m.arn, &d, NULL), SD_E_NOT_FOUND);
    /* the owner may name it by ARN */
    assert_int_equal(kms_describe_key(t->k, &kt_alice, m.arn, &d, NULL), SD_OK);
    assert_string_equal(d.key_id, m.key_id);
    snprintf(arn, sizeof arn, "acs:kms:cn-hangzhou:1000000000000002:key/%s", m.key_id);
    assert_int_equal(kms_describe_key(t->k, &kt_alice, arn, &d, NULL), SD_E_NOT_FOUND);
    sd_buf_free(&blob);
    kt_close(t);
}

typedef struct collected {
    int n;
    char last[KMS_ID_MAX * 2];
} collected;

static void collect_alias(void *ctx, const char *alias, const char *key_id)
{
    collected *c = ctx;
    c->n++;
    snprintf(c->last, sizeof c->last, "%s=%s", alias, key_id);
}

static void collect_key(void *ctx, const char *key_id)
{
    collected *c = ctx;
    c->n++;
    snprintf(c->last, sizeof c->last, "%s", key_id);
}

static void envelope_aliases_name_keys_uniquely(void **state)
{
    kt *t = kt_open();
    kms_key_meta a, b, d;
    collected col = {0};
    int64_t total = 0;
    sd_err err = SD_ERR_INIT;

    (void)state;
    new_key(t, &kt_alice, &a);
    new_key(t, &kt_alice, &b);
    assert_int_equal(kms_create_alias(t->k, &kt_alice, "alias/prod", a.key_id, NULL), SD_OK);
    assert_int_equal(kms_create_alias(t->k, &kt_alice, "alias/prod", b.key_id, &err), SD_E_INVALID);
    assert_string_equal(err.api_code, "AliasAlreadyExists");
    /* another account may use the same name */
    new_key(t, &kt_bob, &d);
    assert_int_equal(kms_create_alias(t->k, &kt_bob, "alias/prod", d.key_id, NULL), SD_OK);
    assert_int_equal(kms_describe_key(t->k, &kt_alice, "alias/prod", &d, NULL), SD_OK);
    assert_string_equal(d.key_id, a.key_id);
    assert_int_equal(kms_describe_key(t->k, &kt_alice,
                                      "acs:kms:cn-hangzhou:1000000000000001:alias/prod", &d, NULL),
                     SD_OK);
    assert_string_equal(d.key_id, a.key_id);
    assert_int_equal(kms_update_alias(t->k, &kt_alice, "alias/prod", b.key_id, NULL), SD_OK);
    assert_int_equal(kms_describe_key(t->k, &kt_alice, "alias/prod", &d, NULL), SD_OK);
    assert_string_equal(d.key_id, b.key_id);
    assert_int_equal(
        kms_list_aliases(t->k, &kt_alice, NULL, 1, 10, collect_alias, &col, &total, NULL), SD_OK);
    assert_int_equal(total, 1);
    col.n = 0;
    assert_int_equal(
        kms_list_aliases(t->k, &kt_alice, a.key_id, 1, 10, collect_alias, &col, &total, NULL),
        SD_OK);
    assert_int_equal(total, 0);
    assert_int_equal(kms_delete_alias(t->k, &kt_alice, "alias/prod", NULL), SD_OK);
    sd_err_clear(&err);
    assert_int_equal(kms_delete_alias(t->k, &kt_alice, "alias/prod", &err), SD_E_NOT_FOUND);
    assert_string_equal(err.api_code, "Forbidden.AliasNotFound");
    sd_err_clear(&err);
    assert_int_equal(kms_update_alias(t->k, &kt_alice, "alias/none", a.key_id, &err),
                     SD_E_NOT_FOUND);
    assert_string_equal(err.api_code, "Forbidden.AliasNotFound");
    kt_close(t);
}

static void envelope_alias_names_are_checked(void **state)
{
    static const char *const bad[] = {"prod",      "alias/",           "alias/acs/mine",
                                      "alias/acs", "alias/with space", "alias/é"};
    kt *t = kt_open();
    kms_key_meta a;
    char longname[300];

    (void)state;
    new_key(t, &kt_alice, &a);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sd_err err = SD_ERR_INIT;
        assert_int_equal(kms_create_alias(t->k, &kt_alice, bad[i], a.key_id, &err), SD_E_INVALID);
        assert_string_equal(err.api_code, "InvalidParameter");
    }
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    memcpy(longname, "alias/", 6);
    assert_int_equal(kms_create_alias(t->k, &kt_alice, longname, a.key_id, NULL), SD_E_INVALID);
    longname[255] = '\0';
    assert_int_equal(kms_create_alias(t->k, &kt_alice, longname, a.key_id, NULL), SD_OK);
    kt_close(t);
}

static void envelope_service_key_is_made_on_first_use_and_cannot_be_turned_off(void **state)
{
    kt *t = kt_open();
    kms_key_meta s, s2;
    sd_err err = SD_ERR_INIT;
    kms_client kc = kms_client_local(t->k);
    sd_secret *dk = NULL, *back = NULL;
    sd_buf blob = SD_BUF_INIT(KMS_BLOB_MAX);

    (void)state;
    assert_int_equal(
        kc.ops->generate_data_key(kc.h, &kt_alice, "alias/acs/ecs", NULL, &dk, &blob, NULL, NULL),
        SD_OK);
    assert_int_equal(kms_describe_key(t->k, &kt_alice, "alias/acs/ecs", &s, NULL), SD_OK);
    assert_true(s.service);
    assert_string_equal(s.creator, "Ecs");
    /* one per account and region */
    assert_int_equal(kms_describe_key(t->k, &kt_alice, "alias/acs/ecs", &s2, NULL), SD_OK);
    assert_string_equal(s.key_id, s2.key_id);
    assert_int_equal(kms_describe_key(t->k, &kt_bob, "alias/acs/ecs", &s2, NULL), SD_OK);
    assert_string_not_equal(s.key_id, s2.key_id);
    assert_int_equal(kms_disable_key(t->k, &kt_alice, s.key_id, &err), SD_E_INVALID);
    assert_string_equal(err.api_code, "Rejected.UnsupportedOperation");
    assert_non_null(strstr(err.msg, "cannot be disabled"));
    sd_err_clear(&err);
    assert_int_equal(kms_schedule_deletion(t->k, &kt_alice, "alias/acs/ecs", 7, &err),
                     SD_E_INVALID);
    assert_non_null(strstr(err.msg, "scheduled for deletion"));
    sd_err_clear(&err);
    assert_int_equal(kms_update_alias(t->k, &kt_alice, "alias/acs/ecs", s2.key_id, &err),
                     SD_E_INVALID);
    assert_int_equal(kms_delete_alias(t->k, &kt_alice, "alias/acs/ecs", NULL), SD_E_INVALID);
    assert_int_equal(
        kc.ops->decrypt_data_key(kc.h, &kt_alice, blob.data, blob.len, NULL, &back, NULL, NULL),
        SD_OK);
    assert_memory_equal(sd_secret_data(back), sd_secret_data(dk), 32);
    sd_secret_free(dk);
    sd_secret_free(back);
    sd_buf_free(&blob);
    kt_close(t);
}

static void envelope_client_refuses_encrypt_blobs_as_data_keys(void **state)
{
    kt *t = kt_open();
    kms_key_meta m;
    kms_client kc = kms_client_local(t->k);
    sd_buf blob = SD_BUF_INIT(KMS_BLOB_MAX);
    sd_secret *dk = NULL;

    (void)state;
    new_key(t, &kt_alice, &m);
    assert_int_equal(kms_encrypt(t->k, &kt_alice, m.key_id, (const uint8_t *)"not a key", 9, NULL,
                                 &blob, NULL, NULL),
                     SD_OK);
    assert_int_equal(
        kc.ops->decrypt_data_key(kc.h, &kt_alice, blob.data, blob.len, NULL, &dk, NULL, NULL),
        SD_E_INVALID);
    assert_null(dk);
    /* disabling the key stops unwrapping at once (the emergency lever) */
    sd_buf_reset(&blob);
    assert_int_equal(
        kc.ops->generate_data_key(kc.h, &kt_alice, m.key_id, NULL, &dk, &blob, NULL, NULL), SD_OK);
    sd_secret_free(dk);
    dk = NULL;
    assert_int_equal(kms_disable_key(t->k, &kt_alice, m.key_id, NULL), SD_OK);
    assert_int_equal(
        kc.ops->decrypt_data_key(kc.h, &kt_alice, blob.data, blob.len, NULL, &dk, NULL, NULL),
        SD_E_KEY_STATE);
    assert_null(dk);
    sd_buf_free(&blob);
    kt_close(t);
}

static void envelope_reencrypt_moves_data_between_keys_and_contexts(void **state)
{
    kt *t = kt_open();
    kms_key_meta a, b;
    sd_buf blob = SD_BUF_INIT(KMS_BLOB_MAX), moved = SD_BUF_INIT(KMS_BLOB_MAX);
    kms_ctx *c1 = ctx_json("{\"a\":\"1\"}");
    kms_ctx *c2 = ctx_json("{\"b\":\"2\"}");
    sd_secret *p = NULL;
    bool dk = false;
    kms_used su, du;

    (void)state;
    new_key(t, &kt_alice, &a);
    new_key(t, &kt_alice, &b);
    assert_int_equal(kms_encrypt(t->k, &kt_alice, a.key_id, (const uint8_t *)"move me", 7, c1,
                                 &blob, NULL, NULL),
                     SD_OK);
    assert_int_equal(kms_reencrypt(t->k, &kt_alice, blob.data, blob.len, c2, b.key_id, c2, &moved,
                                   &su, &du, NULL),
                     SD_E_AUTH);
    assert_int_equal(kms_reencrypt(t->k, &kt_alice, blob.data, blob.len, c1, b.key_id, c2, &moved,
                                   &su, &du, NULL),
                     SD_OK);
    assert_string_equal(su.key_id, a.key_id);
    assert_string_equal(du.key_id, b.key_id);
    assert_int_equal(kms_decrypt(t->k, &kt_alice, moved.data, moved.len, c2, &p, &dk, NULL, NULL),
                     SD_OK);
    assert_memory_equal(sd_secret_data(p), "move me", 7);
    assert_false(dk);
    sd_secret_free(p);
    kms_ctx_free(c1);
    kms_ctx_free(c2);
    sd_buf_free(&blob);
    sd_buf_free(&moved);
    kt_close(t);
}

static void envelope_lists_page_and_tags_read_back(void **state)
{
    kt *t = kt_open();
    kms_key_meta m;
    collected col = {0};
    int64_t total = 0;
    sd_err err = SD_ERR_INIT;

    (void)state;
    for (int i = 0; i < 5; i++) {
        new_key(t, &kt_alice, &m);
    }
    new_key(t, &kt_bob, &m);
    assert_int_equal(kms_list_keys(t->k, &kt_alice, 2, 2, collect_key, &col, &total, NULL), SD_OK);
    assert_int_equal(total, 5);
    assert_int_equal(col.n, 2);
    col.n = 0;
    assert_int_equal(kms_list_keys(t->k, &kt_alice, 3, 2, collect_key, &col, &total, NULL), SD_OK);
    assert_int_equal(col.n, 1);
    assert_int_equal(kms_tag(t->k, &kt_bob, m.key_id, "acs:reserved", "x", &err), SD_E_INVALID);
    assert_int_equal(kms_tag(t->k, &kt_bob, m.key_id, "env", "prod", NULL), SD_OK);
    assert_int_equal(kms_tag(t->k, &kt_bob, m.key_id, "env", "staging", NULL), SD_OK);
    assert_int_equal(kms_update_description(t->k, &kt_bob, m.key_id, "renamed", NULL), SD_OK);
    assert_int_equal(kms_describe_key(t->k, &kt_bob, m.key_id, &m, NULL), SD_OK);
    assert_string_equal(m.description, "renamed");
    kt_close(t);
}

static void envelope_quotas_throttle_per_region_and_count_disk_calls(void **state)
{
    kms_quota q = {2, 1, 1};
    int64_t mono = 0;
    kt *t = kt_open_quota(&q, &mono);
    kms_key_meta m, m2;
    kms_create_opts o = KMS_CREATE_OPTS_INIT;
    kms_client kc = kms_client_local(t->k);
    sd_buf blob = SD_BUF_INIT(KMS_BLOB_MAX);
    sd_secret *dk = NULL;
    sd_err err = SD_ERR_INIT;

    (void)state;
    assert_int_equal(kms_create_key(t->k, &kt_alice, &o, &m, NULL), SD_OK);
    assert_int_equal(kms_create_key(t->k, &kt_alice, &o, &m2, &err), SD_E_THROTTLED);
    assert_string_equal(err.api_code, "Rejected.Throttling");
    assert_non_null(strstr(err.msg, "CreateKey"));
    /* the crypto quota: one call through the API, one by disk management */
    assert_int_equal(
        kms_encrypt(t->k, &kt_alice, m.key_id, (const uint8_t *)"x", 1, NULL, &blob, NULL, NULL),
        SD_OK);
    assert_int_equal(
        kc.ops->generate_data_key(kc.h, &kt_alice, m.key_id, NULL, &dk, &blob, NULL, NULL), SD_OK);
    sd_secret_free(dk);
    dk = NULL;
    sd_err_clear(&err);
    assert_int_equal(
        kc.ops->generate_data_key(kc.h, &kt_alice, m.key_id, NULL, &dk, &blob, NULL, &err),
        SD_E_THROTTLED);
    assert_string_equal(err.api_code, "Rejected.Throttling");
    assert_null(dk);
    /* another region has its own buckets */
    assert_int_equal(kms_create_key(t->k, &kt_alice_sh, &o, &m2, NULL), SD_OK);
    /* half a second refills one crypto token (2/s) */
    mono += 500000000;
    assert_int_equal(
        kms_encrypt(t->k, &kt_alice, m.key_id, (const uint8_t *)"x", 1, NULL, &blob, NULL, NULL),
        SD_OK);
    assert_int_equal(
        kms_encrypt(t->k, &kt_alice, m.key_id, (const uint8_t *)"x", 1, NULL, &blob, NULL, NULL),
        SD_E_THROTTLED);
    sd_buf_free(&blob);
    kt_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(envelope_data_key_round_trips),
        cmocka_unit_test(envelope_refuses_every_flipped_byte_of_a_blob),
        cmocka_unit_test(envelope_binds_the_encryption_context_in_either_form),
        cmocka_unit_test(envelope_context_parser_refuses_malformed_json),
        cmocka_unit_test(envelope_old_blobs_decrypt_after_rotation),
        cmocka_unit_test(envelope_rotation_interval_is_checked),
        cmocka_unit_test(envelope_deleted_key_answers_key_not_found),
        cmocka_unit_test(envelope_keys_are_invisible_to_other_accounts_and_regions),
        cmocka_unit_test(envelope_aliases_name_keys_uniquely),
        cmocka_unit_test(envelope_alias_names_are_checked),
        cmocka_unit_test(envelope_service_key_is_made_on_first_use_and_cannot_be_turned_off),
        cmocka_unit_test(envelope_client_refuses_encrypt_blobs_as_data_keys),
        cmocka_unit_test(envelope_reencrypt_moves_data_between_keys_and_contexts),
        cmocka_unit_test(envelope_lists_page_and_tags_read_back),
        cmocka_unit_test(envelope_quotas_throttle_per_region_and_count_disk_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
