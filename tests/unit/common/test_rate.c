/* test_rate.c: token buckets refuse over the rate and refill with time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/common.h"

static int64_t fake_ns(void *ctx)
{
    return *(int64_t *)ctx;
}

static void rate_allows_the_burst_then_refuses(void **state)
{
    int64_t now = 0;
    sd_rate *r = NULL;

    (void)state;
    assert_int_equal(sd_rate_new(10, 10, fake_ns, &now, &r, NULL), SD_OK);
    for (int i = 0; i < 10; i++) {
        assert_true(sd_rate_take(r));
    }
    assert_false(sd_rate_take(r));
    sd_rate_free(r);
}

static void rate_refills_at_the_configured_rate(void **state)
{
    int64_t now = 0;
    sd_rate *r = NULL;

    (void)state;
    assert_int_equal(sd_rate_new(10, 1, fake_ns, &now, &r, NULL), SD_OK);
    assert_true(sd_rate_take(r));
    assert_false(sd_rate_take(r));
    now += 50000000; /* 50 ms: half a token */
    assert_false(sd_rate_take(r));
    now += 50000000; /* 100 ms: one token */
    assert_true(sd_rate_take(r));
    now += 10000000000LL; /* 10 s idle: capped at the burst of 1 */
    assert_true(sd_rate_take(r));
    assert_false(sd_rate_take(r));
    sd_rate_free(r);
}

static void rate_can_be_changed_at_run_time(void **state)
{
    int64_t now = 0;
    sd_rate *r = NULL;

    (void)state;
    assert_int_equal(sd_rate_new(1000, 0, fake_ns, &now, &r, NULL), SD_OK);
    sd_rate_set(r, 2, 2);
    assert_true(sd_rate_take(r));
    assert_true(sd_rate_take(r));
    assert_false(sd_rate_take(r));
    sd_rate_free(r);
}

static void rate_refuses_a_non_positive_rate(void **state)
{
    sd_rate *r = NULL;

    (void)state;
    assert_int_equal(sd_rate_new(0, 1, NULL, NULL, &r, NULL), SD_E_INVALID);
    assert_null(r);
    assert_int_equal(sd_rate_new(-5, 1, NULL, NULL, &r, NULL), SD_E_INVALID);
    assert_true(sd_mono_ns(NULL) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rate_allows_the_burst_then_refuses),
        cmocka_unit_test(rate_refills_at_the_configured_rate),
        cmocka_unit_test(rate_can_be_changed_at_run_time),
        cmocka_unit_test(rate_refuses_a_non_positive_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
