/* test_query.c: the form/query parser and the canonical percent-encoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "iam/iam.h"

static void parse_decodes_names_and_values(void **state)
{
    iam_params p = IAM_PARAMS_INIT;
    const char *s = "a=1&b=x%20y+z&c&&d=%E4%B8%AD&e=&Description=probe%20key%20(test)%20*!";
    (void)state;
    assert_int_equal(iam_params_parse(s, strlen(s), NULL, &p, NULL), SD_OK);
    assert_int_equal(p.n, 6);
    assert_string_equal(iam_params_get(&p, "a"), "1");
    assert_string_equal(iam_params_get(&p, "b"), "x y z");
    assert_string_equal(iam_params_get(&p, "c"), "");
    assert_string_equal(iam_params_get(&p, "d"), "\xE4\xB8\xAD");
    assert_string_equal(iam_params_get(&p, "e"), "");
    assert_string_equal(iam_params_get(&p, "Description"), "probe key (test) *!");
    assert_null(iam_params_get(&p, "f"));
    iam_params_free(&p);
    assert_int_equal(iam_params_parse("", 0, NULL, &p, NULL), SD_OK);
    assert_int_equal(p.n, 0);
    iam_params_free(&p);
}

static void expect_bad(const char *s, const char *needle)
{
    iam_params p = IAM_PARAMS_INIT;
    sd_err err = SD_ERR_INIT;
    assert_int_equal(iam_params_parse(s, strlen(s), NULL, &p, &err), SD_E_INVALID);
    assert_string_equal(err.api_code, "InvalidParameter");
    if (strstr(err.msg, needle) == NULL) {
        print_error("'%s': message '%s' lacks '%s'\n", s, err.msg, needle);
        fail();
    }
    assert_int_equal(p.n, 0);
    assert_null(p.v);
}

static void parse_rejects_malformed_input(void **state)
{
    (void)state;
    expect_bad("a=%", "percent-escape");
    expect_bad("a=%4", "percent-escape");
    expect_bad("a=%zz", "percent-escape");
    expect_bad("a=1&b=%zz", "offset 6");
    expect_bad("a=1&%00=1", "offset 4");
    expect_bad("a=%00", "NUL");
    expect_bad("a%00=1", "NUL");
    expect_bad("=1", "empty");
    expect_bad("a%01b=1", "control");
    expect_bad("a%FF=1", "UTF-8");
    expect_bad("a=%C3%28", "UTF-8");
    expect_bad("a=%ED%A0%80", "UTF-8");    /* surrogate */
    expect_bad("a=%C0%AF", "UTF-8");       /* overlong */
    expect_bad("a=%F4%90%80%80", "UTF-8"); /* above U+10FFFF */
    expect_bad("a=%E4%B8", "UTF-8");       /* truncated */
    expect_bad("a=1&b=2&a=3", "repeated");
}

static void parse_rejects_an_embedded_raw_nul(void **state)
{
    iam_params p = IAM_PARAMS_INIT;
    sd_err err = SD_ERR_INIT;
    static const char s[] = "a=1\0b";
    (void)state;
    assert_int_equal(iam_params_parse(s, sizeof s - 1, NULL, &p, &err), SD_E_INVALID);
    assert_non_null(strstr(err.msg, "NUL"));
}

static void parse_enforces_its_limits(void **state)
{
    iam_parse_opts o = IAM_PARSE_OPTS_INIT;
    iam_params p = IAM_PARAMS_INIT;
    sd_err err = SD_ERR_INIT;
    (void)state;
    o.max_params = 2;
    assert_int_equal(iam_params_parse("a=1&b=2", 7, &o, &p, NULL), SD_OK);
    iam_params_free(&p);
    assert_int_equal(iam_params_parse("a=1&b=2&c=3", 11, &o, &p, &err), SD_E_INVALID);
    assert_non_null(strstr(err.msg, "more than 2"));
    o = (iam_parse_opts)IAM_PARSE_OPTS_INIT;
    o.max_name = 3;
    assert_int_equal(iam_params_parse("abc=1", 5, &o, &p, NULL), SD_OK);
    iam_params_free(&p);
    sd_err_clear(&err);
    assert_int_equal(iam_params_parse("abcd=1", 6, &o, &p, &err), SD_E_INVALID);
    assert_non_null(strstr(err.msg, "longer than 3"));
    o = (iam_parse_opts)IAM_PARSE_OPTS_INIT;
    o.max_value = 3;
    assert_int_equal(iam_params_parse("a=%41%41%41", 11, &o, &p, NULL), SD_OK);
    iam_params_free(&p);
    sd_err_clear(&err);
    assert_int_equal(iam_params_parse("a=AAAA", 6, &o, &p, &err), SD_E_INVALID);
    assert_non_null(strstr(err.msg, "value of a"));
    o = (iam_parse_opts)IAM_PARSE_OPTS_INIT;
    o.max_input = 4;
    sd_err_clear(&err);
    assert_int_equal(iam_params_parse("a=12", 4, &o, &p, NULL), SD_OK);
    iam_params_free(&p);
    assert_int_equal(iam_params_parse("a=123", 5, &o, &p, &err), SD_E_INVALID);
}

static void parse_allows_duplicates_when_asked(void **state)
{
    iam_parse_opts o = IAM_PARSE_OPTS_INIT;
    iam_params p = IAM_PARAMS_INIT;
    (void)state;
    o.allow_duplicates = true;
    assert_int_equal(iam_params_parse("a=1&a=2", 7, &o, &p, NULL), SD_OK);
    assert_int_equal(p.n, 2);
    assert_string_equal(iam_params_get(&p, "a"), "1");
    iam_params_free(&p);
    iam_params_free(NULL);
}

static void encode(const char *in, size_t n, const char *want)
{
    sd_buf b = SD_BUF_INIT(1024);
    const char *s = NULL;
    assert_int_equal(iam_pct_encode(in, n, &b, NULL), SD_OK);
    assert_int_equal(sd_buf_cstr(&b, &s, NULL), SD_OK);
    assert_string_equal(s, want);
    sd_buf_free(&b);
}

static void encoder_follows_the_alibaba_rule(void **state)
{
    (void)state;
    encode("AZaz09-_.~", 10, "AZaz09-_.~");
    encode("a b*c!'()+/=:", 13, "a%20b%2Ac%21%27%28%29%2B%2F%3D%3A");
    encode("\xE4\xB8\xAD", 3, "%E4%B8%AD");
    encode("\xff\x01", 2, "%FF%01");
    encode("", 0, "");
}

static void encoder_respects_the_buffer_max(void **state)
{
    sd_buf b = SD_BUF_INIT(4);
    sd_err err = SD_ERR_INIT;
    (void)state;
    assert_int_equal(iam_pct_encode("ab", 2, &b, NULL), SD_OK);
    assert_int_equal(iam_pct_encode(" ", 1, &b, &err), SD_E_INVALID);
    sd_buf_free(&b);
}

static void params_add_copies(void **state)
{
    iam_params p = IAM_PARAMS_INIT;
    char name[4] = "abc";
    (void)state;
    for (int i = 0; i < 40; i++) {
        assert_int_equal(iam_params_add(&p, name, "v", NULL), SD_OK);
    }
    name[0] = 'x';
    assert_string_equal(p.v[39].name, "abc");
    assert_int_equal(p.n, 40);
    iam_params_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_decodes_names_and_values),
        cmocka_unit_test(parse_rejects_malformed_input),
        cmocka_unit_test(parse_rejects_an_embedded_raw_nul),
        cmocka_unit_test(parse_enforces_its_limits),
        cmocka_unit_test(parse_allows_duplicates_when_asked),
        cmocka_unit_test(encoder_follows_the_alibaba_rule),
        cmocka_unit_test(encoder_respects_the_buffer_max),
        cmocka_unit_test(params_add_copies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
