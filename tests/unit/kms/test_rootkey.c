/* test_rootkey.c: root key providers, the refusal of a different root key
 * (which changes nothing on disk), and the secrets canary: no data key and
 * no key version material appears in the SQLite file or its WAL, raw, in
 * hex or in base64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sys/stat.h>

#include <cmocka.h>

#include "kms/kms_int.h"
#include "kms_test.h"

/* Reads a whole file into a malloc'd buffer (*n bytes); NULL if absent. */
static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b;
    long len;

    *n = 0;
    if (f == NULL) {
        return NULL;
    }
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    len = ftell(f);
    assert_true(len >= 0);
    rewind(f);
    b = malloc((size_t)len + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

static bool contains(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
    if (hay == NULL || m == 0 || m > n) {
        return false;
    }
    return memmem(hay, n, needle, m) != NULL;
}

static void rootkey_file_is_private_and_never_overwritten(void **state)
{
    char dir[] = "/tmp/sd-rk-XXXXXX";
    char path[64];
    kms_rootkey *a = NULL, *b = NULL;
    struct stat st;
    size_t n1 = 0, n2 = 0;
    uint8_t *before, *after;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/root.key", dir);
    assert_int_equal(kms_rootkey_file(path, false, &a, NULL), SD_E_NOT_FOUND);
    assert_int_equal(kms_rootkey_file(path, true, &a, NULL), SD_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32);
    before = slurp(path, &n1);
    assert_int_equal(kms_rootkey_file(path, true, &b, NULL), SD_OK);
    after = slurp(path, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(before, after, n1);
    kms_rootkey_free(a);
    kms_rootkey_free(b);
    f = fopen(path, "ab");
    fputc('x', f);
    fclose(f);
    assert_int_equal(kms_rootkey_file(path, false, &a, NULL), SD_E_INVALID);
    free(before);
    free(after);
    unlink(path);
    rmdir(dir);
}

static void rootkey_a_different_key_is_refused_and_nothing_changes(void **state)
{
    kt *t = kt_open();
    kms_key_meta m;
    kms_create_opts o = KMS_CREATE_OPTS_INIT;
    char other_path[128];
    kms_rootkey *other = NULL;
    kms_opts ko = {0};
    kms *k2 = NULL;
    sd_err err = SD_ERR_INIT;
    uint8_t *before, *after;
    size_t n1 = 0, n2 = 0;

    (void)state;
    assert_int_equal(kms_create_key(t->k, &kt_alice, &o, &m, NULL), SD_OK);
    kms_close(t->k);
    t->k = NULL;
    before = slurp(t->db, &n1);
    snprintf(other_path, sizeof other_path, "%s/other.key", t->dir);
    assert_int_equal(kms_rootkey_file(other_path, true, &other, NULL), SD_OK);
    ko.db_path = t->db;
    ko.root = other;
    ko.clock = sd_clock_fixed(&t->now);
    ko.rng = crypto_rng_system();
    assert_int_equal(kms_open(&ko, &k2, &err), SD_E_AUTH);
    assert_null(k2);
    assert_non_null(strstr(err.msg, "root key does not match"));
    after = slurp(t->db, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(before, after, n1);
    /* the right key still opens it, with the key intact */
    ko.root = t->root;
    assert_int_equal(kms_open(&ko, &t->k, NULL), SD_OK);
    assert_int_equal(kms_describe_key(t->k, &kt_alice, m.key_id, &m, NULL), SD_OK);
    kms_rootkey_free(other);
    unlink(other_path);
    free(before);
    free(after);
    kt_close(t);
}

static void rootkey_passphrase_derives_the_same_key_from_the_same_words(void **state)
{
    kt *t = kt_open();
    char salt[128];
    sd_secret *good = NULL, *bad = NULL, *shortp = NULL;
    kms_rootkey *r1 = NULL, *r2 = NULL, *r3 = NULL;
    kms_opts ko = {0};
    kms *k1 = NULL, *k2 = NULL;
    char db[128];

    (void)state;
    snprintf(salt, sizeof salt, "%s/root.salt", t->dir);
    snprintf(db, sizeof db, "%s/pass.db", t->dir);
    assert_int_equal(sd_secret_from("correct horse battery", 21, &good, NULL), SD_OK);
    assert_int_equal(sd_secret_from("wrong horse battery", 19, &bad, NULL), SD_OK);
    assert_int_equal(sd_secret_from("short", 5, &shortp, NULL), SD_OK);
    assert_int_equal(kms_rootkey_passphrase(shortp, salt, true, 10, &r1, NULL), SD_E_INVALID);
    assert_int_equal(kms_rootkey_passphrase(good, salt, true, 10, &r1, NULL), SD_OK);
    ko.db_path = db;
    ko.root = r1;
    ko.clock = sd_clock_fixed(&t->now);
    ko.rng = crypto_rng_system();
    assert_int_equal(kms_open(&ko, &k1, NULL), SD_OK);
    kms_close(k1);
    assert_int_equal(kms_rootkey_passphrase(good, salt, false, 10, &r2, NULL), SD_OK);
    ko.root = r2;
    assert_int_equal(kms_open(&ko, &k1, NULL), SD_OK);
    kms_close(k1);
    assert_int_equal(kms_rootkey_passphrase(bad, salt, false, 10, &r3, NULL), SD_OK);
    ko.root = r3;
    assert_int_equal(kms_open(&ko, &k2, NULL), SD_E_AUTH);
    kms_rootkey_free(r1);
    kms_rootkey_free(r2);
    kms_rootkey_free(r3);
    sd_secret_free(good);
    sd_secret_free(bad);
    sd_secret_free(shortp);
    unlink(db);
    snprintf(db, sizeof db, "%s/pass.db-wal", t->dir);
    unlink(db);
    snprintf(db, sizeof db, "%s/pass.db-shm", t->dir);
    unlink(db);
    kt_close(t);
}

#define CANARY_KEYS 8

static void assert_absent(const uint8_t *db, size_t n1, const uint8_t *wal, size_t n2,
                          const sd_secret *s)
{
    char hex[2 * 64 + 1];
    char b64[100];
    size_t len = sd_secret_len(s);

    sd_hex(sd_secret_data(s), len, hex);
    assert_int_equal(sd_b64_encode(sd_secret_data(s), len, b64, sizeof b64, NULL), SD_OK);
    assert_false(contains(db, n1, sd_secret_data(s), len));
    assert_false(contains(wal, n2, sd_secret_data(s), len));
    assert_false(contains(db, n1, hex, strlen(hex)));
    assert_false(contains(wal, n2, hex, strlen(hex)));
    assert_false(contains(db, n1, b64, strlen(b64)));
    assert_false(contains(wal, n2, b64, strlen(b64)));
}

static void canary_no_key_reaches_the_database_or_its_wal(void **state)
{
    kt *t = kt_open();
    kms_key_meta m;
    kms_create_opts o = KMS_CREATE_OPTS_INIT;
    sd_secret *dks[CANARY_KEYS] = {0};
    sd_secret *material[CANARY_KEYS] = {0};
    char wal_path[128];
    uint8_t *db, *wal;
    size_t n1 = 0, n2 = 0;

    (void)state;
    for (int i = 0; i < CANARY_KEYS; i++) {
        sd_buf blob = SD_BUF_INIT(KMS_BLOB_MAX);
        const sd_secret *vk = NULL;
        assert_int_equal(kms_create_key(t->k, &kt_alice, &o, &m, NULL), SD_OK);
        assert_int_equal(
            kms_generate_data_key(t->k, &kt_alice, m.key_id, 32, NULL, &dks[i], &blob, NULL, NULL),
            SD_OK);
        /* the plaintext version material, from the cache (module-internal) */
        assert_int_equal(kms__version_key(t->k, m.key_id, m.primary_version, &vk, NULL), SD_OK);
        assert_int_equal(sd_secret_dup(vk, &material[i], NULL), SD_OK);
        sd_buf_free(&blob);
    }
    /* read while the WAL still holds the recent pages */
    snprintf(wal_path, sizeof wal_path, "%s-wal", t->db);
    db = slurp(t->db, &n1);
    wal = slurp(wal_path, &n2);
    assert_true(n1 + n2 > 0);
    for (int i = 0; i < CANARY_KEYS; i++) {
        assert_absent(db, n1, wal, n2, dks[i]);
        assert_absent(db, n1, wal, n2, material[i]);
        sd_secret_free(dks[i]);
        sd_secret_free(material[i]);
    }
    /* the negative twin: the test would see a key that was written */
    {
        const char *kid = m.key_id;
        assert_true(contains(db, n1, kid, strlen(kid)) || contains(wal, n2, kid, strlen(kid)));
    }
    free(db);
    free(wal);
    kt_close(t);
}

static void rootkey_derived_keys_depend_on_label_and_root(void **state)
{
    kt *t = kt_open();
    kt *u = kt_open();
    sd_secret *a = NULL, *a2 = NULL, *b = NULL, *other = NULL, *none = NULL;

    (void)state;
    assert_int_equal(kms_rootkey_derive(t->root, "iam-access-key-wrap", &a, NULL), SD_OK);
    assert_int_equal(kms_rootkey_derive(t->root, "iam-access-key-wrap", &a2, NULL), SD_OK);
    assert_int_equal(kms_rootkey_derive(t->root, "another purpose", &b, NULL), SD_OK);
    assert_int_equal(kms_rootkey_derive(u->root, "iam-access-key-wrap", &other, NULL), SD_OK);
    assert_int_equal(sd_secret_len(a), 32);
    assert_memory_equal(sd_secret_data(a), sd_secret_data(a2), 32);
    assert_memory_not_equal(sd_secret_data(a), sd_secret_data(b), 32);
    assert_memory_not_equal(sd_secret_data(a), sd_secret_data(other), 32);
    assert_int_equal(kms_rootkey_derive(t->root, "", &none, NULL), SD_E_INVALID);
    assert_null(none);
    sd_secret_free(a);
    sd_secret_free(a2);
    sd_secret_free(b);
    sd_secret_free(other);
    kt_close(t);
    kt_close(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rootkey_file_is_private_and_never_overwritten),
        cmocka_unit_test(rootkey_a_different_key_is_refused_and_nothing_changes),
        cmocka_unit_test(rootkey_passphrase_derives_the_same_key_from_the_same_words),
        cmocka_unit_test(canary_no_key_reaches_the_database_or_its_wal),
        cmocka_unit_test(rootkey_derived_keys_depend_on_label_and_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
