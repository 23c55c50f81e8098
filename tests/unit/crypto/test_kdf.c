/* test_kdf.c: HKDF, scrypt, SHA-256 and HMAC known answers (RFC 5869,
 * RFC 7914, FIPS 180-4, RFC 4231, RFC 2202) and their input checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "vectors.h"

static void hex_equal(const uint8_t *got, const char *want_hex)
{
    char hex[1024];
    size_t n = strlen(want_hex) / 2;
    sd_hex(got, n, hex);
    assert_string_equal(hex, want_hex);
}

static void check_hkdf(const vec_record *r, void *ctx)
{
    uint8_t ikm[128], salt[128], info[128], okm[128], out[128];
    long ni = vec_hex(r, "ikm", ikm, sizeof ikm);
    long ns = vec_hex(r, "salt", salt, sizeof salt);
    long nf = vec_hex(r, "info", info, sizeof info);
    long no = vec_hex(r, "okm", okm, sizeof okm);

    (void)ctx;
    assert_true(ni > 0 && ns >= 0 && nf >= 0 && no > 0);
    assert_int_equal(crypto_hkdf_sha256(ikm, (size_t)ni, salt, (size_t)ns, info, (size_t)nf, out,
                                        (size_t)no, NULL),
                     SD_OK);
    assert_memory_equal(out, okm, (size_t)no);
}

static void hkdf_matches_rfc5869(void **state)
{
    (void)state;
    assert_int_equal(vec_each("hkdf_sha256_rfc5869.txt", check_hkdf, NULL), 2);
}

static void hkdf_info_separates_outputs(void **state)
{
    uint8_t ikm[32] = {7}, a[64], b[64];

    (void)state;
    assert_int_equal(crypto_hkdf_sha256(ikm, 32, NULL, 0, (const uint8_t *)"a", 1, a, 64, NULL),
                     SD_OK);
    assert_int_equal(crypto_hkdf_sha256(ikm, 32, NULL, 0, (const uint8_t *)"b", 1, b, 64, NULL),
                     SD_OK);
    assert_memory_not_equal(a, b, 64);
    /* the two 32-byte halves of one output differ (XTS key halves) */
    assert_memory_not_equal(a, a + 32, 32);
}

static void hkdf_refuses_outputs_over_255_blocks(void **state)
{
    static uint8_t out[255 * 32 + 1];
    uint8_t ikm[32] = {0};

    (void)state;
    assert_int_equal(crypto_hkdf_sha256(ikm, 32, NULL, 0, NULL, 0, out, sizeof out, NULL),
                     SD_E_INVALID);
    assert_int_equal(crypto_hkdf_sha256(ikm, 32, NULL, 0, NULL, 0, out, 0, NULL), SD_E_INVALID);
}

static void scrypt_matches_rfc7914(void **state)
{
    uint8_t out[64];

    (void)state;
    assert_int_equal(
        crypto_scrypt((const uint8_t *)"", 0, (const uint8_t *)"", 0, 16, 1, 1, out, 64, NULL),
        SD_OK);
    hex_equal(out, "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
                   "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
    assert_int_equal(crypto_scrypt((const uint8_t *)"password", 8, (const uint8_t *)"NaCl", 4, 1024,
                                   8, 16, out, 64, NULL),
                     SD_OK);
    hex_equal(out, "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
                   "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}

static void scrypt_refuses_a_cost_that_is_not_a_power_of_two(void **state)
{
    uint8_t out[32];

    (void)state;
    assert_int_equal(
        crypto_scrypt((const uint8_t *)"p", 1, (const uint8_t *)"s", 1, 1000, 8, 1, out, 32, NULL),
        SD_E_INVALID);
}

static void sha256_and_hmac_match_the_standards(void **state)
{
    uint8_t out[32];
    size_t n = 0;
    const uint8_t *msg = (const uint8_t *)"what do ya want for nothing?";

    (void)state;
    assert_int_equal(crypto_sha256((const uint8_t *)"abc", 3, out, NULL), SD_OK);
    hex_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(
        crypto_hmac(CRYPTO_HMAC_SHA256, (const uint8_t *)"Jefe", 4, msg, 28, out, &n, NULL), SD_OK);
    assert_int_equal(n, 32);
    hex_equal(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    assert_int_equal(
        crypto_hmac(CRYPTO_HMAC_SHA1, (const uint8_t *)"Jefe", 4, msg, 28, out, &n, NULL), SD_OK);
    assert_int_equal(n, 20);
    hex_equal(out, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    /* negative twin: another key gives another MAC */
    assert_int_equal(
        crypto_hmac(CRYPTO_HMAC_SHA1, (const uint8_t *)"jefe", 4, msg, 28, out, &n, NULL), SD_OK);
    assert_false(sd_ct_equal(out, "\xef\xfc\xdf\x6a", 4));
}

static void rng_fills_distinct_buffers(void **state)
{
    uint8_t a[32] = {0}, b[32] = {0};
    sd_rng rng = crypto_rng_system();

    (void)state;
    assert_int_equal(sd_rng_fill(&rng, a, sizeof a, NULL), SD_OK);
    assert_int_equal(sd_rng_fill(&rng, b, sizeof b, NULL), SD_OK);
    assert_memory_not_equal(a, b, sizeof a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hkdf_matches_rfc5869),
        cmocka_unit_test(hkdf_info_separates_outputs),
        cmocka_unit_test(hkdf_refuses_outputs_over_255_blocks),
        cmocka_unit_test(scrypt_matches_rfc7914),
        cmocka_unit_test(scrypt_refuses_a_cost_that_is_not_a_power_of_two),
        cmocka_unit_test(sha256_and_hmac_match_the_standards),
        cmocka_unit_test(rng_fills_distinct_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
