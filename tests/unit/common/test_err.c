/* test_err.c: the error type's rules: NULL is allowed, success never
 * writes, the first failure wins, the API code is kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"

static sd_code fails_with(sd_code code, sd_err *err)
{
    sd_code rc = SD_OK;
    SD_ENSURE(code == SD_OK, err, code, "failed with %s", sd_code_name(code));
out:
    return rc;
}

static void err_keeps_the_first_failure(void **state)
{
    sd_err err = SD_ERR_INIT;

    (void)state;
    assert_int_equal(fails_with(SD_E_AUTH, &err), SD_E_AUTH);
    assert_int_equal(fails_with(SD_E_IO, &err), SD_E_IO);
    assert_int_equal(err.code, SD_E_AUTH);
    assert_string_equal(err.msg, "failed with SD_E_AUTH");
    assert_non_null(strstr(err.file, "test_err.c"));
    assert_true(err.line > 0);
}

static void err_success_never_writes(void **state)
{
    sd_err err = SD_ERR_INIT;

    (void)state;
    assert_int_equal(fails_with(SD_OK, &err), SD_OK);
    assert_int_equal(err.code, SD_OK);
    assert_string_equal(err.msg, "");
}

static void err_accepts_null(void **state)
{
    (void)state;
    assert_int_equal(fails_with(SD_E_INVALID, NULL), SD_E_INVALID);
    sd_err_clear(NULL);
}

static void err_keeps_the_api_code_and_truncates_long_ones(void **state)
{
    sd_err err = SD_ERR_INIT;
    char longcode[200];

    (void)state;
    assert_int_equal(
        sd_err_setc(&err, SD_E_KEY_STATE, "Rejected.Disabled", SD_HERE, "key %s", "key-1"),
        SD_E_KEY_STATE);
    assert_string_equal(err.api_code, "Rejected.Disabled");
    sd_err_clear(&err);
    assert_string_equal(err.api_code, "");
    memset(longcode, 'x', sizeof longcode - 1);
    longcode[sizeof longcode - 1] = '\0';
    assert_int_equal(sd_err_setc(&err, SD_E_INVALID, longcode, SD_HERE, "m"), SD_E_INVALID);
    assert_int_equal(strlen(err.api_code), SD_ERR_API_MAX - 1);
}

static void err_names_every_kind(void **state)
{
    (void)state;
    for (int c = SD_OK; c <= SD_E_NOSPACE; c++) {
        assert_non_null(strstr(sd_code_name((sd_code)c), "SD_"));
    }
    assert_string_equal(sd_code_name((sd_code)999), "SD_E_UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(err_keeps_the_first_failure),
        cmocka_unit_test(err_success_never_writes),
        cmocka_unit_test(err_accepts_null),
        cmocka_unit_test(err_keeps_the_api_code_and_truncates_long_ones),
        cmocka_unit_test(err_names_every_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
