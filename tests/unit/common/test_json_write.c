/* test_json_write.c: the JSON writer's output (compact and indented),
 * escaping, sticky errors, and parsed documents written back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"

static const char *text(sd_buf *b)
{
    const char *s = NULL;
    assert_int_equal(sd_buf_cstr(b, &s, NULL), SD_OK);
    return s;
}

static void json_writes_nested_wrappers_the_sdks_expect(void **state)
{
    sd_buf b = SD_BUF_INIT(4096);
    sd_jw j;

    (void)state;
    sd_jw_init(&j, &b, NULL);
    sd_jw_obj_begin(&j, NULL);
    sd_jw_str(&j, "RequestId", "r-1");
    sd_jw_obj_begin(&j, "Keys");
    sd_jw_arr_begin(&j, "Key");
    sd_jw_obj_begin(&j, NULL);
    sd_jw_str(&j, "KeyId", "key-1");
    sd_jw_obj_end(&j);
    sd_jw_obj_begin(&j, NULL);
    sd_jw_str(&j, "KeyId", "key-2");
    sd_jw_obj_end(&j);
    sd_jw_arr_end(&j);
    sd_jw_obj_end(&j);
    sd_jw_int(&j, "TotalCount", 2);
    sd_jw_bool(&j, "Encrypted", true);
    sd_jw_obj_end(&j);
    assert_int_equal(sd_jw_finish(&j), SD_OK);
    assert_string_equal(text(&b), "{\"RequestId\":\"r-1\",\"Keys\":{\"Key\":[{\"KeyId\":\"key-1\"},"
                                  "{\"KeyId\":\"key-2\"}]},\"TotalCount\":2,\"Encrypted\":true}");
    sd_buf_free(&b);
}

static void json_escapes_quotes_controls_and_nuls(void **state)
{
    sd_buf b = SD_BUF_INIT(4096);
    sd_jw j;

    (void)state;
    sd_jw_init(&j, &b, NULL);
    sd_jw_obj_begin(&j, NULL);
    sd_jw_strn(&j, "a\"b", "x\\y\n\t\x01\x7f\0z\xc3\xa9", 11);
    sd_jw_obj_end(&j);
    assert_int_equal(sd_jw_finish(&j), SD_OK);
    assert_string_equal(text(&b), "{\"a\\\"b\":\"x\\\\y\\n\\t\\u0001\\u007f\\u0000z\xc3\xa9\"}");
    sd_buf_free(&b);
}

static void json_errors_are_sticky_and_reported_once(void **state)
{
    sd_buf b = SD_BUF_INIT(8);
    sd_jw j;
    sd_err err = SD_ERR_INIT;

    (void)state;
    sd_jw_init(&j, &b, &err);
    sd_jw_obj_begin(&j, NULL);
    sd_jw_str(&j, "RequestId", "too long for eight bytes");
    sd_jw_obj_end(&j);
    assert_int_equal(sd_jw_finish(&j), SD_E_INVALID);
    assert_non_null(strstr(err.msg, "limit"));
    sd_buf_free(&b);
}

static void json_refuses_unbalanced_containers(void **state)
{
    sd_buf b = SD_BUF_INIT(64);
    sd_jw j;

    (void)state;
    sd_jw_init(&j, &b, NULL);
    sd_jw_obj_begin(&j, NULL);
    assert_int_equal(sd_jw_finish(&j), SD_E_INTERNAL);
    sd_buf_reset(&b);
    sd_jw_init(&j, &b, NULL);
    sd_jw_obj_end(&j);
    assert_int_equal(sd_jw_finish(&j), SD_E_INTERNAL);
    sd_buf_free(&b);
}

/* text parsed and written back indented into out (reset first). */
static sd_code reindent(const char *in, sd_buf *out)
{
    sd_json_doc *d = NULL;
    sd_jw j;
    sd_code rc;

    sd_buf_reset(out);
    rc = sd_json_parse(in, strlen(in), 256, &d, NULL);
    if (rc != SD_OK) {
        return rc;
    }
    sd_jw_init_indented(&j, out, NULL);
    sd_jw_val(&j, NULL, sd_json_root(d));
    sd_json_doc_free(d);
    return sd_jw_finish(&j);
}

static void json_indents_a_parsed_document_and_keeps_strings(void **state)
{
    static const char in[] = "{\"A\":{\"B\":[1,2]},\"C\":\"x,{y}:\\\"z\",\"D\":{}}";
    sd_buf out = SD_BUF_INIT(4096);

    (void)state;
    assert_int_equal(reindent(in, &out), SD_OK);
    assert_string_equal(text(&out), "{\n  \"A\": {\n    \"B\": [\n      1,\n      2\n    ]\n  },\n"
                                    "  \"C\": \"x,{y}:\\\"z\",\n  \"D\": {}\n}");
    assert_int_equal(reindent("not json}", &out), SD_E_INVALID);
    sd_buf_free(&out);
}

static void json_writes_back_unicode_numbers_and_literals_as_read(void **state)
{
    sd_buf out = SD_BUF_INIT(4096);

    (void)state;
    /* \u escapes come back as the UTF-8 they stand for, never as '?' */
    assert_int_equal(reindent("{\"Description\":\"Schl\\u00fcssel \\u2713 \\ud83d\\ude00\"}", &out),
                     SD_OK);
    assert_string_equal(
        text(&out), "{\n  \"Description\": \"Schl\xc3\xbcssel \xe2\x9c\x93 \xf0\x9f\x98\x80\"\n}");
    assert_int_equal(reindent("[-1.5e3,true,false,null,[],\"\\/\\b\"]", &out), SD_OK);
    assert_string_equal(text(&out),
                        "[\n  -1.5e3,\n  true,\n  false,\n  null,\n  [],\n  \"/\\u0008\"\n]");
    assert_int_equal(reindent("\"\\ud800\"", &out), SD_E_INVALID); /* lone surrogate */
    sd_buf_free(&out);
}

static void json_writes_back_the_deepest_document_the_reader_takes(void **state)
{
    char deep[(2 * SD_JSON_DEPTH_MAX) + 1];
    sd_buf out = SD_BUF_INIT(4096);
    sd_json_doc *d = NULL;
    sd_jw j;

    (void)state;
    for (int i = 0; i < SD_JSON_DEPTH_MAX; i++) {
        deep[i] = '[';
        deep[(2 * SD_JSON_DEPTH_MAX) - 1 - i] = ']';
    }
    deep[sizeof deep - 1] = '\0';
    assert_int_equal(sd_json_parse(deep, strlen(deep), 256, &d, NULL), SD_OK);
    sd_jw_init(&j, &out, NULL);
    sd_jw_val(&j, NULL, sd_json_root(d));
    assert_int_equal(sd_jw_finish(&j), SD_OK);
    assert_string_equal(text(&out), deep);
    /* one level more than the writer holds is an error, not an overflow */
    sd_buf_reset(&out);
    sd_jw_init(&j, &out, NULL);
    for (int i = 0; i < SD_JW_DEPTH - 2; i++) {
        sd_jw_arr_begin(&j, NULL);
    }
    sd_jw_val(&j, NULL, sd_json_root(d));
    assert_int_equal(sd_jw_finish(&j), SD_E_INTERNAL);
    sd_json_doc_free(d);
    sd_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_writes_nested_wrappers_the_sdks_expect),
        cmocka_unit_test(json_escapes_quotes_controls_and_nuls),
        cmocka_unit_test(json_errors_are_sticky_and_reported_once),
        cmocka_unit_test(json_refuses_unbalanced_containers),
        cmocka_unit_test(json_indents_a_parsed_document_and_keeps_strings),
        cmocka_unit_test(json_writes_back_unicode_numbers_and_literals_as_read),
        cmocka_unit_test(json_writes_back_the_deepest_document_the_reader_takes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
