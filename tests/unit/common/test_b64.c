/* test_b64.c: RFC 4648 vectors, round trips, and the strict decoder's
 * refusals (one byte string has exactly one accepted encoding). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"

static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *const coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};

static void b64_matches_rfc4648(void **state)
{
    char out[16];
    uint8_t back[16];
    size_t n = 0;

    (void)state;
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(
            sd_b64_encode((const uint8_t *)plain[i], strlen(plain[i]), out, sizeof out, NULL),
            SD_OK);
        assert_string_equal(out, coded[i]);
        assert_int_equal(sd_b64_decode(coded[i], strlen(coded[i]), back, sizeof back, &n, NULL),
                         SD_OK);
        assert_int_equal(n, strlen(plain[i]));
        assert_memory_equal(back, plain[i], n);
    }
}

static void b64_round_trips_every_byte_value(void **state)
{
    uint8_t in[256], back[256];
    char text[400];
    size_t n = 0;

    (void)state;
    for (size_t i = 0; i < sizeof in; i++) {
        in[i] = (uint8_t)i;
    }
    for (size_t len = 0; len <= sizeof in; len += 17) {
        assert_int_equal(sd_b64_encode(in, len, text, sizeof text, NULL), SD_OK);
        assert_int_equal(strlen(text), sd_b64_enc_len(len));
        assert_int_equal(sd_b64_decode(text, strlen(text), back, sizeof back, &n, NULL), SD_OK);
        assert_int_equal(n, len);
        assert_memory_equal(back, in, len);
    }
}

static void b64_decoder_refuses_malformed_text(void **state)
{
    const char *const bad[] = {
        "Zg=",      /* length not a multiple of 4 */
        "Zg=a",     /* padding in the middle */
        "Z===",     /* too much padding */
        "Zh==",     /* non-zero trailing bits */
        "Zm9=",     /* non-zero trailing bits */
        "Zm9v\n",   /* whitespace */
        "Zm 9",     /* space */
        "Zm9-",     /* URL-safe alphabet */
        "=Zm9",     /* leading padding */
        "Zg==Zg==", /* padding before the end */
    };
    uint8_t out[16];
    size_t n = 99;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sd_err err = SD_ERR_INIT;
        assert_int_equal(sd_b64_decode(bad[i], strlen(bad[i]), out, sizeof out, &n, &err),
                         SD_E_INVALID);
        assert_int_equal(n, 0);
        assert_true(err.msg[0] != '\0');
    }
}

static void b64_refuses_small_buffers(void **state)
{
    char out[4];
    uint8_t back[2];
    size_t n = 0;

    (void)state;
    assert_int_equal(sd_b64_encode((const uint8_t *)"foo", 3, out, sizeof out, NULL), SD_E_INVALID);
    assert_int_equal(sd_b64_decode("Zm9v", 4, back, sizeof back, &n, NULL), SD_E_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(b64_matches_rfc4648),
        cmocka_unit_test(b64_round_trips_every_byte_value),
        cmocka_unit_test(b64_decoder_refuses_malformed_text),
        cmocka_unit_test(b64_refuses_small_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
