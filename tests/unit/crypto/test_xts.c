/* test_xts.c: AES-256-XTS against IEEE 1619 vectors and against OpenSSL's
 * XTS, and its refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "../unit_proc.h"
#include "crypto/crypto.h"
#include "vectors.h"

static crypto_xts *xts_from_hex_record(const vec_record *r)
{
    uint8_t key[64];
    sd_secret *s = NULL;
    crypto_xts *x = NULL;

    assert_int_equal(vec_hex(r, "key", key, sizeof key), 64);
    assert_int_equal(sd_secret_from(key, sizeof key, &s, NULL), SD_OK);
    assert_int_equal(crypto_xts_new(s, &x, NULL), SD_OK);
    sd_secret_free(s);
    return x;
}

static void check_vector(const vec_record *r, void *ctx)
{
    static uint8_t pt[4096], ct[4096], out[4096];
    crypto_xts *x = xts_from_hex_record(r);
    uint64_t unit = strtoull(vec_get(r, "unit"), NULL, 0);
    long n = vec_hex(r, "pt", pt, sizeof pt);

    (void)ctx;
    assert_true(n > 0);
    assert_int_equal(vec_hex(r, "ct", ct, sizeof ct), n);
    assert_int_equal(crypto_xts_encrypt(x, unit, pt, out, (size_t)n, NULL), SD_OK);
    assert_memory_equal(out, ct, (size_t)n);
    assert_int_equal(crypto_xts_decrypt(x, unit, ct, out, (size_t)n, NULL), SD_OK);
    assert_memory_equal(out, pt, (size_t)n);
    /* the same unit under the neighbouring tweak must not give the vector */
    assert_int_equal(crypto_xts_encrypt(x, unit + 1, pt, out, (size_t)n, NULL), SD_OK);
    assert_memory_not_equal(out, ct, (size_t)n);
    crypto_xts_free(x);
}

/* Runs first: the first handle sets up the cipher library's secure memory,
 * so the round keys (as good as the key) are locked and never swapped. */
static void xts_key_schedule_lives_in_locked_memory(void **state)
{
    uint8_t k[64];
    sd_secret *s = NULL;
    crypto_xts *x = NULL;
    long before;

    (void)state;
#ifdef SD_SANITIZE
    skip(); /* ASan locks nothing; the plain build checks it */
#endif
    for (size_t i = 0; i < sizeof k; i++) {
        k[i] = (uint8_t)(i * 5 + 1);
    }
    assert_int_equal(sd_secret_from(k, sizeof k, &s, NULL), SD_OK);
    before = unit_locked_kb();
    assert_int_equal(crypto_xts_new(s, &x, NULL), SD_OK);
    assert_true(unit_locked_kb() >= before + 64);
    crypto_xts_free(x);
    sd_secret_free(s);
}

/* SECURITY.md: locked key memory is excluded from core dumps, and that
 * includes libgcrypt's own secure pool, which holds the round keys. */
static void xts_locked_pool_is_excluded_from_core_dumps(void **state)
{
    uint8_t k[64];
    sd_secret *s = NULL;
    crypto_xts *x = NULL;
    int locked = 0;
    int dumpable = 0;
    void *page;

    (void)state;
#ifdef SD_SANITIZE
    skip(); /* MADV_DONTDUMP stays off under ASan */
#endif
    for (size_t i = 0; i < sizeof k; i++) {
        k[i] = (uint8_t)(i * 3 + 2);
    }
    assert_int_equal(sd_secret_from(k, sizeof k, &s, NULL), SD_OK);
    assert_int_equal(crypto_xts_new(s, &x, NULL), SD_OK);
    unit_locked_mappings(&locked, &dumpable);
    assert_true(locked >= 1);
    assert_int_equal(dumpable, 0);
    /* negative twin: a locked page nobody marked is seen as dumpable */
    page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(page != MAP_FAILED);
    assert_int_equal(mlock(page, 4096), 0);
    unit_locked_mappings(&locked, &dumpable);
    assert_int_equal(dumpable, 1);
    assert_int_equal(munmap(page, 4096), 0);
    crypto_xts_free(x);
    sd_secret_free(s);
}

static void xts_matches_ieee1619_vectors(void **state)
{
    (void)state;
    assert_int_equal(vec_each("xts_aes256_ieee1619.txt", check_vector, NULL), 2);
}

static sd_secret *test_key(uint8_t seed)
{
    uint8_t k[64];
    sd_secret *s = NULL;
    for (size_t i = 0; i < sizeof k; i++) {
        k[i] = (uint8_t)(seed + i * 7);
    }
    assert_int_equal(sd_secret_from(k, sizeof k, &s, NULL), SD_OK);
    return s;
}

static void xts_sector_tweak_is_the_sector_index(void **state)
{
    static uint8_t pt[2 * CRYPTO_SECTOR_SIZE], a[2 * CRYPTO_SECTOR_SIZE], b[CRYPTO_SECTOR_SIZE];
    sd_secret *k = test_key(1);
    crypto_xts *x = NULL;

    (void)state;
    assert_int_equal(crypto_xts_new(k, &x, NULL), SD_OK);
    memset(pt, 0xa5, sizeof pt);
    assert_int_equal(crypto_xts_encrypt_sectors(x, 41, pt, a, 2, NULL), SD_OK);
    /* sector 42 encrypted alone equals the second sector of the pair */
    assert_int_equal(crypto_xts_encrypt(x, 42, pt, b, CRYPTO_SECTOR_SIZE, NULL), SD_OK);
    assert_memory_equal(a + CRYPTO_SECTOR_SIZE, b, CRYPTO_SECTOR_SIZE);
    /* identical plaintext sectors encrypt differently */
    assert_memory_not_equal(a, a + CRYPTO_SECTOR_SIZE, CRYPTO_SECTOR_SIZE);
    /* in place round trip */
    assert_int_equal(crypto_xts_decrypt_sectors(x, 41, a, a, 2, NULL), SD_OK);
    assert_memory_equal(a, pt, sizeof pt);
    crypto_xts_free(x);
    sd_secret_free(k);
}

/* OpenSSL's AES-256-XTS of one unit, the reference our cipher must equal
 * byte for byte (disks written before and after a cipher change must read
 * the same, and LUKS "aes-xts-plain64" tools must agree with us). */
static void openssl_xts(const uint8_t key[64], uint64_t unit, const uint8_t *in, uint8_t *out,
                        int len)
{
    uint8_t tweak[16] = {0};
    int outl = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

    for (int i = 0; i < 8; i++) {
        tweak[i] = (uint8_t)(unit >> (8 * i));
    }
    assert_non_null(c);
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_256_xts(), NULL, key, tweak), 1);
    assert_int_equal(EVP_EncryptUpdate(c, out, &outl, in, len), 1);
    assert_int_equal(outl, len);
    EVP_CIPHER_CTX_free(c);
}

static void xts_equals_openssl_on_sectors_and_stolen_tails(void **state)
{
    static uint8_t pt[CRYPTO_SECTOR_SIZE], ours[CRYPTO_SECTOR_SIZE], ref[CRYPTO_SECTOR_SIZE];
    static const size_t lens[] = {16, 17, 31, 512, 4000, CRYPTO_SECTOR_SIZE};
    static const uint64_t units[] = {0, 1, 255, 256, 0xffffffffULL, 0x0123456789abcdefULL};
    sd_secret *k = test_key(9);
    crypto_xts *x = NULL;

    (void)state;
    assert_int_equal(crypto_xts_new(k, &x, NULL), SD_OK);
    for (size_t i = 0; i < sizeof pt; i++) {
        pt[i] = (uint8_t)(i * 131 + 7);
    }
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            openssl_xts(sd_secret_data(k), units[u], pt, ref, (int)lens[l]);
            assert_int_equal(crypto_xts_encrypt(x, units[u], pt, ours, lens[l], NULL), SD_OK);
            assert_memory_equal(ours, ref, lens[l]);
            assert_int_equal(crypto_xts_decrypt(x, units[u], ours, ours, lens[l], NULL), SD_OK);
            assert_memory_equal(ours, pt, lens[l]);
        }
    }
    /* negative twin: under a neighbouring unit the reference differs */
    openssl_xts(sd_secret_data(k), 2, pt, ref, CRYPTO_SECTOR_SIZE);
    assert_int_equal(crypto_xts_encrypt_sectors(x, 3, pt, ours, 1, NULL), SD_OK);
    assert_memory_not_equal(ours, ref, CRYPTO_SECTOR_SIZE);
    crypto_xts_free(x);
    sd_secret_free(k);
}

static void xts_decrypt_under_another_key_gives_other_bytes(void **state)
{
    static uint8_t pt[CRYPTO_SECTOR_SIZE], ct[CRYPTO_SECTOR_SIZE], out[CRYPTO_SECTOR_SIZE];
    sd_secret *k1 = test_key(1), *k2 = test_key(2);
    crypto_xts *x1 = NULL, *x2 = NULL;

    (void)state;
    assert_int_equal(crypto_xts_new(k1, &x1, NULL), SD_OK);
    assert_int_equal(crypto_xts_new(k2, &x2, NULL), SD_OK);
    memset(pt, 0x11, sizeof pt);
    assert_int_equal(crypto_xts_encrypt_sectors(x1, 7, pt, ct, 1, NULL), SD_OK);
    assert_int_equal(crypto_xts_decrypt_sectors(x2, 7, ct, out, 1, NULL), SD_OK);
    assert_memory_not_equal(out, pt, sizeof pt);
    crypto_xts_free(x1);
    crypto_xts_free(x2);
    sd_secret_free(k1);
    sd_secret_free(k2);
}

static void xts_rejects_equal_half_keys(void **state)
{
    uint8_t k[64];
    sd_secret *s = NULL;
    crypto_xts *x = NULL;
    sd_err err = SD_ERR_INIT;

    (void)state;
    memset(k, 0x42, sizeof k);
    assert_int_equal(sd_secret_from(k, sizeof k, &s, NULL), SD_OK);
    assert_int_equal(crypto_xts_new(s, &x, &err), SD_E_INVALID);
    assert_null(x);
    assert_non_null(strstr(err.msg, "halves"));
    sd_secret_free(s);
}

static void xts_rejects_a_key_of_the_wrong_length(void **state)
{
    uint8_t k[32] = {1, 2, 3};
    sd_secret *s = NULL;
    crypto_xts *x = NULL;

    (void)state;
    assert_int_equal(sd_secret_from(k, sizeof k, &s, NULL), SD_OK);
    assert_int_equal(crypto_xts_new(s, &x, NULL), SD_E_INVALID);
    assert_null(x);
    sd_secret_free(s);
}

static void xts_rejects_units_shorter_than_a_block(void **state)
{
    uint8_t buf[15] = {0};
    sd_secret *k = test_key(3);
    crypto_xts *x = NULL;

    (void)state;
    assert_int_equal(crypto_xts_new(k, &x, NULL), SD_OK);
    assert_int_equal(crypto_xts_encrypt(x, 0, buf, buf, sizeof buf, NULL), SD_E_INVALID);
    assert_int_equal(crypto_xts_decrypt(x, 0, buf, buf, 0, NULL), SD_E_INVALID);
    crypto_xts_free(x);
    sd_secret_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(xts_key_schedule_lives_in_locked_memory),
        cmocka_unit_test(xts_locked_pool_is_excluded_from_core_dumps),
        cmocka_unit_test(xts_matches_ieee1619_vectors),
        cmocka_unit_test(xts_sector_tweak_is_the_sector_index),
        cmocka_unit_test(xts_equals_openssl_on_sectors_and_stolen_tails),
        cmocka_unit_test(xts_decrypt_under_another_key_gives_other_bytes),
        cmocka_unit_test(xts_rejects_equal_half_keys),
        cmocka_unit_test(xts_rejects_a_key_of_the_wrong_length),
        cmocka_unit_test(xts_rejects_units_shorter_than_a_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
