/* test_json.c: the response writer's output, escaping and sticky errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/api_int.h"

static const char *text(sd_buf *b)
{
    const char *s = NULL;
    assert_int_equal(sd_buf_cstr(b, &s, NULL), SD_OK);
    return s;
}

static void json_writes_nested_wrappers_the_sdks_expect(void **state)
{
    sd_buf b = SD_BUF_INIT(4096);
    api_json j;

    (void)state;
    api_json_init(&j, &b, NULL);
    api_json_obj_begin(&j, NULL);
    api_json_str(&j, "RequestId", "r-1");
    api_json_obj_begin(&j, "Keys");
    api_json_arr_begin(&j, "Key");
    api_json_obj_begin(&j, NULL);
    api_json_str(&j, "KeyId", "key-1");
    api_json_obj_end(&j);
    api_json_obj_begin(&j, NULL);
    api_json_str(&j, "KeyId", "key-2");
    api_json_obj_end(&j);
    api_json_arr_end(&j);
    api_json_obj_end(&j);
    api_json_int(&j, "TotalCount", 2);
    api_json_bool(&j, "Encrypted", true);
    api_json_obj_end(&j);
    assert_int_equal(api_json_finish(&j), SD_OK);
    assert_string_equal(text(&b), "{\"RequestId\":\"r-1\",\"Keys\":{\"Key\":[{\"KeyId\":\"key-1\"},"
                                  "{\"KeyId\":\"key-2\"}]},\"TotalCount\":2,\"Encrypted\":true}");
    sd_buf_free(&b);
}

static void json_escapes_quotes_controls_and_nuls(void **state)
{
    sd_buf b = SD_BUF_INIT(4096);
    api_json j;

    (void)state;
    api_json_init(&j, &b, NULL);
    api_json_obj_begin(&j, NULL);
    api_json_strn(&j, "a\"b", "x\\y\n\t\x01\x7f\0z\xc3\xa9", 11);
    api_json_obj_end(&j);
    assert_int_equal(api_json_finish(&j), SD_OK);
    assert_string_equal(text(&b), "{\"a\\\"b\":\"x\\\\y\\n\\t\\u0001\\u007f\\u0000z\xc3\xa9\"}");
    sd_buf_free(&b);
}

static void json_errors_are_sticky_and_reported_once(void **state)
{
    sd_buf b = SD_BUF_INIT(8);
    api_json j;
    sd_err err = SD_ERR_INIT;

    (void)state;
    api_json_init(&j, &b, &err);
    api_json_obj_begin(&j, NULL);
    api_json_str(&j, "RequestId", "too long for eight bytes");
    api_json_obj_end(&j);
    assert_int_equal(api_json_finish(&j), SD_E_INVALID);
    assert_non_null(strstr(err.msg, "limit"));
    sd_buf_free(&b);
}

static void json_refuses_unbalanced_containers(void **state)
{
    sd_buf b = SD_BUF_INIT(64);
    api_json j;

    (void)state;
    api_json_init(&j, &b, NULL);
    api_json_obj_begin(&j, NULL);
    assert_int_equal(api_json_finish(&j), SD_E_INTERNAL);
    sd_buf_reset(&b);
    api_json_init(&j, &b, NULL);
    api_json_obj_end(&j);
    assert_int_equal(api_json_finish(&j), SD_E_INTERNAL);
    sd_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_writes_nested_wrappers_the_sdks_expect),
        cmocka_unit_test(json_escapes_quotes_controls_and_nuls),
        cmocka_unit_test(json_errors_are_sticky_and_reported_once),
        cmocka_unit_test(json_refuses_unbalanced_containers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
