/* test_env.c: clocks, ISO 8601 times, identifiers and fault points. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"

/* A deterministic RNG: a counter, so identifiers are reproducible. */
static sd_code counter_fill(void *ctx, uint8_t *buf, size_t n, sd_err *err)
{
    uint8_t *c = ctx;
    (void)err;
    for (size_t i = 0; i < n; i++) {
        buf[i] = (*c)++;
    }
    return SD_OK;
}

static void clock_fixed_follows_its_variable(void **state)
{
    int64_t t = 1000;
    sd_clock c = sd_clock_fixed(&t);
    sd_clock sys = sd_clock_system();

    (void)state;
    assert_int_equal(sd_now(&c), 1000);
    t += 86400;
    assert_int_equal(sd_now(&c), 87400);
    assert_true(sd_now(&sys) > 1700000000);
}

static void iso8601_round_trips(void **state)
{
    char s[21];
    int64_t t = 0;

    (void)state;
    sd_time_iso8601(1700000000, s);
    assert_string_equal(s, "2023-11-14T22:13:20Z");
    assert_int_equal(sd_time_parse_iso8601(s, &t, NULL), SD_OK);
    assert_int_equal(t, 1700000000);
}

static void iso8601_accepts_fractional_seconds(void **state)
{
    const char *const good[] = {"2023-11-14T22:13:20.772Z", "2023-11-14T22:13:20.9Z",
                                "2023-11-14T22:13:20.123456789Z"};
    int64_t t = 0;

    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        t = 0;
        assert_int_equal(sd_time_parse_iso8601(good[i], &t, NULL), SD_OK);
        assert_int_equal(t, 1700000000); /* the fraction is dropped, never rounded up */
    }
}

static void iso8601_refuses_other_forms(void **state)
{
    const char *const bad[] = {"2023-11-14 22:13:20Z",      "2023-11-14T22:13:20",
                               "2023-11-14T22:13:20+08:00", "",
                               "2023-13-14T22:13:20Z",      "yesterday",
                               "2023-11-14T22:13:20.Z",     "2023-11-14T22:13:20.772",
                               "2023-11-14T22:13:20.7x2Z",  "2023-11-14T22:13:20.1234567890Z",
                               "2023-11-14T22:13:20Z.5",    "2023-11-14T22:13:20.772ZZ",
                               "2023-1-14T22:13:20Z",       " 2023-11-14T22:13:20Z"};
    int64_t t = 5;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(sd_time_parse_iso8601(bad[i], &t, NULL), SD_E_INVALID);
    }
    assert_int_equal(sd_time_parse_iso8601(NULL, &t, NULL), SD_E_INVALID);
    assert_int_equal(t, 5);
}

static void ids_have_prefix_length_and_alphabet(void **state)
{
    uint8_t counter = 0;
    sd_rng rng = {counter_fill, &counter};
    char id[32];
    char uuid[37];

    (void)state;
    assert_int_equal(sd_id_new(&rng, "key-", 20, id, sizeof id, NULL), SD_OK);
    assert_int_equal(strlen(id), 24);
    assert_int_equal(strncmp(id, "key-", 4), 0);
    assert_int_equal(strspn(id + 4, "0123456789abcdefghijklmnopqrstuvwxyz"), 20);
    assert_int_equal(sd_id_uuid(&rng, uuid, NULL), SD_OK);
    assert_int_equal(strlen(uuid), 36);
    assert_int_equal(uuid[14], '4');
    assert_true(strchr("89ab", uuid[19]) != NULL);
    assert_int_equal(uuid[8], '-');
}

static void ids_refuse_a_short_buffer(void **state)
{
    uint8_t counter = 0;
    sd_rng rng = {counter_fill, &counter};
    char id[24];

    (void)state;
    assert_int_equal(sd_id_new(&rng, "key-", 20, id, sizeof id, NULL), SD_E_INVALID);
}

static void fault_points_fire_on_the_armed_pass(void **state)
{
    (void)state;
#ifdef SD_FAULTS
    sd_fault_reset();
    sd_fault_arm("t.point", 3, false);
    assert_false(SD_FAULT("t.point"));
    assert_false(SD_FAULT("t.point"));
    assert_true(SD_FAULT("t.point"));
    assert_false(SD_FAULT("t.point"));
    assert_false(SD_FAULT("t.other"));
    sd_fault_arm("t.sticky", 2, true);
    assert_false(SD_FAULT("t.sticky"));
    assert_true(SD_FAULT("t.sticky"));
    assert_true(SD_FAULT("t.sticky"));
    sd_fault_reset();
    assert_false(SD_FAULT("t.sticky"));
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clock_fixed_follows_its_variable),
        cmocka_unit_test(iso8601_round_trips),
        cmocka_unit_test(iso8601_accepts_fractional_seconds),
        cmocka_unit_test(iso8601_refuses_other_forms),
        cmocka_unit_test(ids_have_prefix_length_and_alphabet),
        cmocka_unit_test(ids_refuse_a_short_buffer),
        cmocka_unit_test(fault_points_fire_on_the_armed_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
