/* test_states.c: every cell of the contract's key-state table
 * (alibaba-api.md §6.2): each operation in each state either succeeds or
 * is refused with exactly the Code the table names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kms_test.h"

typedef enum kstate { ENABLED, DISABLED, PENDING_DELETION, PENDING_IMPORT, NSTATES } kstate;
static const char *const state_names[] = {"Enabled", "Disabled", "PendingDeletion",
                                          "PendingImport"};

typedef enum op {
    OP_ENCRYPT,
    OP_DECRYPT,
    OP_GENERATE,
    OP_CREATE_VERSION,
    OP_UPDATE_ROTATION,
    OP_DESCRIBE,
    OP_LIST_ALIASES,
    OP_LIST_TAGS,
    OP_DESCRIBE_VERSIONS,
    OP_UPDATE_DESCRIPTION,
    OP_TAG,
    OP_UNTAG,
    OP_ENABLE,
    OP_DISABLE,
    OP_SCHEDULE,
    OP_CANCEL,
    OP_CREATE_ALIAS,
    OP_UPDATE_ALIAS,
    NOPS
} op;

/* The table: NULL = allowed; otherwise the Code of the refusal. */
#define OK NULL
#define RD "Rejected.Disabled"
#define RP "Rejected.PendingDeletion"
#define RI "Rejected.PendingImport"
#define SM "Rejected.StateModifiedFailed"
static const char *const table[NOPS][NSTATES] = {
    /*                       Enabled Disabled PendingDeletion PendingImport */
    [OP_ENCRYPT] = {OK, RD, RP, RI},
    [OP_DECRYPT] = {OK, RD, RP, RI},
    [OP_GENERATE] = {OK, RD, RP, RI},
    [OP_CREATE_VERSION] = {OK, RD, RP, RI},
    [OP_UPDATE_ROTATION] = {OK, RD, RP, RI},
    [OP_DESCRIBE] = {OK, OK, OK, OK},
    [OP_LIST_ALIASES] = {OK, OK, OK, OK},
    [OP_LIST_TAGS] = {OK, OK, OK, OK},
    [OP_DESCRIBE_VERSIONS] = {OK, OK, OK, OK},
    [OP_UPDATE_DESCRIPTION] = {OK, OK, RP, OK},
    [OP_TAG] = {OK, OK, RP, OK},
    [OP_UNTAG] = {OK, OK, RP, OK},
    [OP_ENABLE] = {OK, OK, SM, SM},
    [OP_DISABLE] = {OK, OK, SM, SM},
    [OP_SCHEDULE] = {OK, OK, SM, OK},
    [OP_CANCEL] = {SM, SM, OK, SM},
    [OP_CREATE_ALIAS] = {OK, OK, SM, OK},
    [OP_UPDATE_ALIAS] = {OK, OK, RP, OK},
};

static void noop_alias(void *ctx, const char *a, const char *k)
{
    (void)ctx;
    (void)a;
    (void)k;
}
static void noop_tag(void *ctx, const char *k, const char *a, const char *b)
{
    (void)ctx;
    (void)k;
    (void)a;
    (void)b;
}
static void noop_version(void *ctx, const char *k, const char *v, int64_t t)
{
    (void)ctx;
    (void)k;
    (void)v;
    (void)t;
}

/* A blob naming key_id, for keys that could never encrypt (PendingImport):
 * Decrypt must refuse on the key's state before anything else. */
static void forged_blob(const char *key_id, sd_buf *b)
{
    uint8_t zeros[28] = {0};
    assert_int_equal(sd_buf_put_u8(b, 1, NULL), SD_OK);
    assert_int_equal(sd_buf_put_u8(b, 1, NULL), SD_OK);
    assert_int_equal(sd_buf_put_u8(b, (uint8_t)strlen(key_id), NULL), SD_OK);
    assert_int_equal(sd_buf_puts(b, key_id, NULL), SD_OK);
    assert_int_equal(sd_buf_put_u8(b, 1, NULL), SD_OK);
    assert_int_equal(sd_buf_puts(b, "v", NULL), SD_OK);
    assert_int_equal(sd_buf_append(b, zeros, sizeof zeros, NULL), SD_OK);
}

/* A key in state s, with a blob made while it could still encrypt. */
static void make_key(kt *t, kstate s, kms_key_meta *m, sd_buf *blob)
{
    kms_create_opts o = KMS_CREATE_OPTS_INIT;

    o.origin = s == PENDING_IMPORT ? "EXTERNAL" : NULL;
    assert_int_equal(kms_create_key(t->k, &kt_alice, &o, m, NULL), SD_OK);
    if (s == PENDING_IMPORT) {
        forged_blob(m->key_id, blob);
    } else {
        assert_int_equal(kms_encrypt(t->k, &kt_alice, m->key_id, (const uint8_t *)"hello", 5, NULL,
                                     blob, NULL, NULL),
                         SD_OK);
    }
    assert_int_equal(kms_tag(t->k, &kt_alice, m->key_id, "team", "storage", NULL), SD_OK);
    if (s == DISABLED) {
        assert_int_equal(kms_disable_key(t->k, &kt_alice, m->key_id, NULL), SD_OK);
    } else if (s == PENDING_DELETION) {
        assert_int_equal(kms_schedule_deletion(t->k, &kt_alice, m->key_id, 7, NULL), SD_OK);
    }
    assert_int_equal(kms_describe_key(t->k, &kt_alice, m->key_id, m, NULL), SD_OK);
    assert_string_equal(m->state, state_names[s]);
}

static sd_code run(kt *t, op o, const kms_key_meta *m, const sd_buf *blob, const char *alias,
                   sd_err *err)
{
    const char *id = m->key_id;
    sd_buf out = SD_BUF_INIT(KMS_BLOB_MAX);
    sd_secret *plain = NULL;
    bool is_dk = false;
    char vid[KMS_ID_MAX];
    int64_t n = 0;
    kms_key_meta d;
    sd_code rc = SD_E_INTERNAL;

    switch (o) {
    case OP_ENCRYPT:
        rc = kms_encrypt(t->k, &kt_alice, id, (const uint8_t *)"x", 1, NULL, &out, NULL, err);
        break;
    case OP_DECRYPT:
        rc = kms_decrypt(t->k, &kt_alice, blob->data, blob->len, NULL, &plain, &is_dk, NULL, err);
        break;
    case OP_GENERATE:
        rc = kms_generate_data_key(t->k, &kt_alice, id, 32, NULL, &plain, &out, NULL, err);
        break;
    case OP_CREATE_VERSION:
        rc = kms_create_version(t->k, &kt_alice, id, vid, &n, err);
        break;
    case OP_UPDATE_ROTATION:
        rc = kms_update_rotation(t->k, &kt_alice, id, true, "30d", err);
        break;
    case OP_DESCRIBE:
        rc = kms_describe_key(t->k, &kt_alice, id, &d, err);
        break;
    case OP_LIST_ALIASES:
        rc = kms_list_aliases(t->k, &kt_alice, id, 1, 10, noop_alias, NULL, &n, err);
        break;
    case OP_LIST_TAGS:
        rc = kms_list_tags(t->k, &kt_alice, id, noop_tag, NULL, err);
        break;
    case OP_DESCRIBE_VERSIONS:
        rc = kms_list_versions(t->k, &kt_alice, id, 1, 10, noop_version, NULL, &n, err);
        break;
    case OP_UPDATE_DESCRIPTION:
        rc = kms_update_description(t->k, &kt_alice, id, "new", err);
        break;
    case OP_TAG:
        rc = kms_tag(t->k, &kt_alice, id, "env", "prod", err);
        break;
    case OP_UNTAG:
        rc = kms_untag(t->k, &kt_alice, id, "team", err);
        break;
    case OP_ENABLE:
        rc = kms_enable_key(t->k, &kt_alice, id, err);
        break;
    case OP_DISABLE:
        rc = kms_disable_key(t->k, &kt_alice, id, err);
        break;
    case OP_SCHEDULE:
        rc = kms_schedule_deletion(t->k, &kt_alice, id, 30, err);
        break;
    case OP_CANCEL:
        rc = kms_cancel_deletion(t->k, &kt_alice, id, err);
        break;
    case OP_CREATE_ALIAS:
        rc = kms_create_alias(t->k, &kt_alice, "alias/cell-new", id, err);
        break;
    case OP_UPDATE_ALIAS:
        rc = kms_update_alias(t->k, &kt_alice, alias, id, err);
        break;
    case NOPS:
        break;
    }
    sd_secret_free(plain);
    sd_buf_free(&out);
    return rc;
}

static void states_every_cell_of_the_table_holds(void **state)
{
    (void)state;
    for (int s = 0; s < NSTATES; s++) {
        for (int o = 0; o < NOPS; o++) {
            kt *t = kt_open();
            kms_key_meta m, other;
            sd_buf blob = SD_BUF_INIT(KMS_BLOB_MAX);
            sd_err err = SD_ERR_INIT;
            kms_create_opts co = KMS_CREATE_OPTS_INIT;
            sd_code rc;

            make_key(t, (kstate)s, &m, &blob);
            /* an alias on another key, for UpdateAlias to move onto m */
            assert_int_equal(kms_create_key(t->k, &kt_alice, &co, &other, NULL), SD_OK);
            assert_int_equal(kms_create_alias(t->k, &kt_alice, "alias/cell", other.key_id, NULL),
                             SD_OK);
            rc = run(t, (op)o, &m, &blob, "alias/cell", &err);
            if (table[o][s] == NULL) {
                if (rc != SD_OK) {
                    print_error("op %d in %s: %s (%s)\n", o, state_names[s], err.msg, err.api_code);
                }
                assert_int_equal(rc, SD_OK);
            } else {
                if (rc != SD_E_KEY_STATE || strcmp(err.api_code, table[o][s]) != 0) {
                    print_error("op %d in %s: want %s, got %s (%s)\n", o, state_names[s],
                                table[o][s], err.api_code, err.msg);
                }
                assert_int_equal(rc, SD_E_KEY_STATE);
                assert_string_equal(err.api_code, table[o][s]);
                assert_non_null(strstr(err.msg, state_names[s]));
            }
            sd_buf_free(&blob);
            kt_close(t);
        }
    }
}

static void states_cancel_returns_the_key_to_enabled(void **state)
{
    kt *t = kt_open();
    kms_key_meta m;
    sd_buf blob = SD_BUF_INIT(KMS_BLOB_MAX);

    (void)state;
    make_key(t, PENDING_DELETION, &m, &blob);
    assert_true(m.delete_at == t->now + 7 * 86400);
    assert_int_equal(kms_cancel_deletion(t->k, &kt_alice, m.key_id, NULL), SD_OK);
    assert_int_equal(kms_describe_key(t->k, &kt_alice, m.key_id, &m, NULL), SD_OK);
    assert_string_equal(m.state, "Enabled");
    assert_true(m.delete_at == 0);
    sd_buf_free(&blob);
    kt_close(t);
}

static void states_deletion_window_is_7_to_366_days(void **state)
{
    kt *t = kt_open();
    kms_key_meta m;
    kms_create_opts o = KMS_CREATE_OPTS_INIT;
    sd_err err = SD_ERR_INIT;

    (void)state;
    assert_int_equal(kms_create_key(t->k, &kt_alice, &o, &m, NULL), SD_OK);
    assert_int_equal(kms_schedule_deletion(t->k, &kt_alice, m.key_id, 6, &err), SD_E_INVALID);
    assert_string_equal(err.api_code, "InvalidParameter");
    assert_int_equal(kms_schedule_deletion(t->k, &kt_alice, m.key_id, 367, NULL), SD_E_INVALID);
    assert_int_equal(kms_schedule_deletion(t->k, &kt_alice, m.key_id, 366, NULL), SD_OK);
    kt_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(states_every_cell_of_the_table_holds),
        cmocka_unit_test(states_cancel_returns_the_key_to_enabled),
        cmocka_unit_test(states_deletion_window_is_7_to_366_days),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
