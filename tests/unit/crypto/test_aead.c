/* test_aead.c: AES-GCM against the GCM specification's vectors, and its
 * refusal of every altered input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "vectors.h"

typedef struct gcm_case {
    uint8_t key[32], iv[64], aad[256], pt[256], ct[256], tag[16];
    long keylen, ivlen, aadlen, ptlen;
} gcm_case;

static void load(const vec_record *r, gcm_case *c)
{
    c->keylen = vec_hex(r, "key", c->key, sizeof c->key);
    c->ivlen = vec_hex(r, "iv", c->iv, sizeof c->iv);
    c->aadlen = vec_hex(r, "aad", c->aad, sizeof c->aad);
    c->ptlen = vec_hex(r, "pt", c->pt, sizeof c->pt);
    assert_true(c->keylen > 0 && c->ivlen > 0 && c->aadlen >= 0 && c->ptlen >= 0);
    assert_int_equal(vec_hex(r, "ct", c->ct, sizeof c->ct), c->ptlen);
    assert_int_equal(vec_hex(r, "tag", c->tag, sizeof c->tag), 16);
}

static void check_vector(const vec_record *r, void *ctx)
{
    gcm_case c;
    uint8_t out[256], tag[16];

    (void)ctx;
    load(r, &c);
    assert_int_equal(crypto_aead_seal_ex(c.key, (size_t)c.keylen, c.iv, (size_t)c.ivlen, c.aad,
                                         (size_t)c.aadlen, c.pt, (size_t)c.ptlen, out, tag, 16,
                                         NULL),
                     SD_OK);
    assert_memory_equal(out, c.ct, (size_t)c.ptlen);
    assert_memory_equal(tag, c.tag, 16);
    assert_int_equal(crypto_aead_open_ex(c.key, (size_t)c.keylen, c.iv, (size_t)c.ivlen, c.aad,
                                         (size_t)c.aadlen, c.ct, (size_t)c.ptlen, c.tag, 16, out,
                                         NULL),
                     SD_OK);
    assert_memory_equal(out, c.pt, (size_t)c.ptlen);
    /* negative twin: the same vector with its tag's last bit flipped */
    c.tag[15] ^= 1;
    assert_int_equal(crypto_aead_open_ex(c.key, (size_t)c.keylen, c.iv, (size_t)c.ivlen, c.aad,
                                         (size_t)c.aadlen, c.ct, (size_t)c.ptlen, c.tag, 16, out,
                                         NULL),
                     SD_E_AUTH);
}

static void gcm_matches_the_specification_vectors(void **state)
{
    (void)state;
    assert_int_equal(vec_each("gcm_aes.txt", check_vector, NULL), 6);
}

typedef struct sealed {
    sd_secret *key;
    uint8_t iv[12];
    uint8_t aad[20];
    uint8_t pt[40];
    uint8_t ct[40];
    uint8_t tag[16];
} sealed;

static void make_sealed(sealed *s)
{
    uint8_t k[32];
    for (size_t i = 0; i < sizeof k; i++) {
        k[i] = (uint8_t)(i * 3 + 1);
    }
    assert_int_equal(sd_secret_from(k, sizeof k, &s->key, NULL), SD_OK);
    memset(s->iv, 9, sizeof s->iv);
    memcpy(s->aad, "key-1/version-1/ctx.", sizeof s->aad);
    memcpy(s->pt, "a data key of forty bytes, give or take", sizeof s->pt);
    assert_int_equal(crypto_aead_seal(s->key, s->iv, s->aad, sizeof s->aad, s->pt, sizeof s->pt,
                                      s->ct, s->tag, NULL),
                     SD_OK);
}

static void gcm_round_trips_under_a_secret_key(void **state)
{
    sealed s;
    uint8_t out[40];

    (void)state;
    make_sealed(&s);
    assert_int_equal(
        crypto_aead_open(s.key, s.iv, s.aad, sizeof s.aad, s.ct, sizeof s.ct, s.tag, out, NULL),
        SD_OK);
    assert_memory_equal(out, s.pt, sizeof out);
    sd_secret_free(s.key);
}

static void gcm_refuses_every_flipped_byte_and_wipes_the_output(void **state)
{
    sealed s;
    uint8_t out[40];
    uint8_t *fields[] = {s.iv, s.aad, s.ct, s.tag};
    size_t lens[] = {sizeof s.iv, sizeof s.aad, sizeof s.ct, sizeof s.tag};

    (void)state;
    make_sealed(&s);
    for (size_t f = 0; f < 4; f++) {
        for (size_t i = 0; i < lens[f]; i++) {
            sd_err err = SD_ERR_INIT;
            fields[f][i] ^= 0x80;
            memset(out, 0x55, sizeof out);
            assert_int_equal(crypto_aead_open(s.key, s.iv, s.aad, sizeof s.aad, s.ct, sizeof s.ct,
                                              s.tag, out, &err),
                             SD_E_AUTH);
            for (size_t j = 0; j < sizeof out; j++) {
                assert_int_equal(out[j], 0);
            }
            fields[f][i] ^= 0x80;
        }
    }
    sd_secret_free(s.key);
}

static void gcm_refuses_the_wrong_key(void **state)
{
    sealed s;
    uint8_t out[40];
    sd_secret *other = NULL;
    uint8_t k[32] = {0};

    (void)state;
    make_sealed(&s);
    assert_int_equal(sd_secret_from(k, sizeof k, &other, NULL), SD_OK);
    assert_int_equal(
        crypto_aead_open(other, s.iv, s.aad, sizeof s.aad, s.ct, sizeof s.ct, s.tag, out, NULL),
        SD_E_AUTH);
    sd_secret_free(other);
    sd_secret_free(s.key);
}

static void gcm_refuses_a_key_that_is_not_256_bits(void **state)
{
    sd_secret *k = NULL;
    uint8_t raw[16] = {0}, iv[12] = {0}, tag[16], ct[1];

    (void)state;
    assert_int_equal(sd_secret_from(raw, sizeof raw, &k, NULL), SD_OK);
    assert_int_equal(crypto_aead_seal(k, iv, NULL, 0, raw, 1, ct, tag, NULL), SD_E_INVALID);
    sd_secret_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gcm_matches_the_specification_vectors),
        cmocka_unit_test(gcm_round_trips_under_a_secret_key),
        cmocka_unit_test(gcm_refuses_every_flipped_byte_and_wipes_the_output),
        cmocka_unit_test(gcm_refuses_the_wrong_key),
        cmocka_unit_test(gcm_refuses_a_key_that_is_not_256_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
