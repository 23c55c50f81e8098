/* test_json.c: the JSON reader: the tree it builds, and every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"

static sd_json_doc *parse_ok(const char *text)
{
    sd_json_doc *d = NULL;
    sd_err err = SD_ERR_INIT;

    assert_int_equal(sd_json_parse(text, strlen(text), 256, &d, &err), SD_OK);
    assert_non_null(d);
    return d;
}

static void json_builds_the_tree_of_objects_arrays_and_scalars(void **state)
{
    sd_json_doc *d = parse_ok(" {\"a\":\"b\",\"list\":[1,-2.5e3,true,false,null,{}],\"e\":[]} ");
    const sd_json_val *root = sd_json_root(d);
    const sd_json_val *list;
    const sd_json_val *c;

    (void)state;
    assert_int_equal(root->type, SD_JSON_OBJECT);
    assert_int_equal(root->n, 3);
    assert_string_equal(sd_json_get(root, "a")->str, "b");
    assert_null(sd_json_get(root, "absent"));
    list = sd_json_get(root, "list");
    assert_int_equal(list->type, SD_JSON_ARRAY);
    assert_int_equal(list->n, 6);
    c = list->child;
    assert_int_equal(c->type, SD_JSON_NUMBER);
    assert_string_equal(c->str, "1");
    assert_null(c->key);
    c = c->next;
    assert_string_equal(c->str, "-2.5e3");
    c = c->next;
    assert_int_equal(c->type, SD_JSON_BOOL);
    assert_string_equal(c->str, "true");
    c = c->next->next;
    assert_int_equal(c->type, SD_JSON_NULL);
    c = c->next;
    assert_int_equal(c->type, SD_JSON_OBJECT);
    assert_int_equal(c->n, 0);
    assert_null(c->next);
    assert_int_equal(sd_json_get(root, "e")->n, 0);
    assert_null(sd_json_get(list, "a")); /* not an object */
    sd_json_doc_free(d);
}

static void json_decodes_escapes_to_utf8(void **state)
{
    sd_json_doc *d = parse_ok("[\"q\\\"b\\\\s\\/n\\n\\u00e9\\ud83d\\ude00\",\"\"]");
    const sd_json_val *s = sd_json_root(d)->child;

    (void)state;
    assert_string_equal(s->str, "q\"b\\s/n\n\xc3\xa9\xf0\x9f\x98\x80");
    assert_int_equal(s->len, strlen(s->str));
    assert_string_equal(s->next->str, "");
    sd_json_doc_free(d);
}

static void json_decodes_unicode_escapes_exactly(void **state)
{
    /* BMP (1, 2 and 3 UTF-8 bytes, either hex case), a surrogate pair */
    sd_json_doc *d = parse_ok("[\"\\u0041\\u00FC\\u2713\\uFFFD\\uD83D\\uDE00\"]");

    (void)state;
    assert_string_equal(sd_json_root(d)->child->str,
                        "A\xc3\xbc\xe2\x9c\x93\xef\xbf\xbd\xf0\x9f\x98\x80");
    sd_json_doc_free(d);
}

static void json_refuses_broken_surrogates_and_nul_escapes(void **state)
{
    static const char *const bad[] = {
        "\"\\ud83d\"",        /* a high surrogate alone */
        "\"\\ud83d\\u0041\"", /* followed by no low one */
        "\"\\ud83d\\ud83d\"", /* by another high one */
        "\"\\ude00\\ud83d\"", /* the pair reversed */
        "\"\\ud83d\\n\"",     /* by another escape */
        "\"\\u0000\"",        /* NUL: a decoded string never hides one */
        "\"\\u00g0\"",        /* not hex */
    };
    sd_json_doc *d = NULL;
    sd_err err = SD_ERR_INIT;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sd_err_clear(&err);
        assert_int_equal(sd_json_parse(bad[i], strlen(bad[i]), 16, &d, &err), SD_E_INVALID);
        assert_null(d);
    }
}

static void json_get_str_reads_top_level_string_members_only(void **state)
{
    sd_json_doc *d = parse_ok("{\"Nested\":{\"Code\":\"Wrong\"},\"Code\":\"Forbidden.KeyNotFound\","
                              "\"Message\":\"say \\\"hi\\\"\\n\",\"N\":1}");
    const sd_json_val *root = sd_json_root(d);

    (void)state;
    assert_string_equal(sd_json_get_str(root, "Code"), "Forbidden.KeyNotFound");
    assert_string_equal(sd_json_get_str(root, "Message"), "say \"hi\"\n");
    assert_null(sd_json_get_str(root, "RequestId"));
    assert_null(sd_json_get_str(root, "N"));      /* a number */
    assert_null(sd_json_get_str(root, "Nested")); /* an object */
    assert_null(sd_json_get_str(NULL, "Code"));
    sd_json_doc_free(d);
}

static void json_keeps_scalars_at_the_top(void **state)
{
    sd_json_doc *d = parse_ok("\"x\"");

    (void)state;
    assert_int_equal(sd_json_root(d)->type, SD_JSON_STRING);
    assert_string_equal(sd_json_root(d)->str, "x");
    sd_json_doc_free(d);
}

static void json_refuses_malformed_text(void **state)
{
    static const char *const bad[] = {
        "",          "   ",        "{",           "[1,]",        "{\"a\":1,}",
        "{\"a\" 1}", "{a:1}",      "[1 2]",       "[01]",        "[1.]",
        "[1e]",      "[-]",        "[tru]",       "[nul]",       "\"abc",
        "\"a\\x\"",  "\"\\u00\"",  "\"\\u0000\"", "\"\\udc00\"", "\"\\ud800x\"",
        "[1] 2",     "{\"a\":1}}", "[\"\x01\"]",  "]",           "{\"a\":[}",
    };
    sd_json_doc *d = NULL;
    sd_err err = SD_ERR_INIT;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sd_err_clear(&err);
        assert_int_equal(sd_json_parse(bad[i], strlen(bad[i]), 256, &d, &err), SD_E_INVALID);
        assert_null(d);
        assert_string_equal(err.api_code, "InvalidParameter");
        assert_non_null(strstr(err.msg, "JSON"));
    }
}

static void json_refuses_a_nul_byte_and_deep_nesting_and_too_many_values(void **state)
{
    static const char nul[] = "[\"a\0b\"]";
    char deep[2 * (SD_JSON_DEPTH_MAX + 1) + 1];
    char ok[2 * SD_JSON_DEPTH_MAX + 1];
    sd_json_doc *d = NULL;
    sd_err err = SD_ERR_INIT;

    (void)state;
    assert_int_equal(sd_json_parse(nul, sizeof nul - 1, 256, &d, &err), SD_E_INVALID);
    for (int i = 0; i <= SD_JSON_DEPTH_MAX; i++) {
        deep[i] = '[';
        deep[(2 * (SD_JSON_DEPTH_MAX + 1)) - 1 - i] = ']';
    }
    deep[sizeof deep - 1] = '\0';
    sd_err_clear(&err);
    assert_int_equal(sd_json_parse(deep, strlen(deep), 256, &d, &err), SD_E_INVALID);
    assert_non_null(strstr(err.msg, "deeply"));
    for (int i = 0; i < SD_JSON_DEPTH_MAX; i++) {
        ok[i] = '[';
        ok[(2 * SD_JSON_DEPTH_MAX) - 1 - i] = ']';
    }
    ok[sizeof ok - 1] = '\0';
    assert_int_equal(sd_json_parse(ok, strlen(ok), 256, &d, &err), SD_OK);
    sd_json_doc_free(d);
    d = NULL;
    sd_err_clear(&err);
    assert_int_equal(sd_json_parse("[1,2,3]", 7, 3, &d, &err), SD_E_INVALID);
    assert_non_null(strstr(err.msg, "too many"));
    assert_int_equal(sd_json_parse("[1,2,3]", 7, 4, &d, &err), SD_OK);
    sd_json_doc_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_builds_the_tree_of_objects_arrays_and_scalars),
        cmocka_unit_test(json_decodes_escapes_to_utf8),
        cmocka_unit_test(json_decodes_unicode_escapes_exactly),
        cmocka_unit_test(json_refuses_broken_surrogates_and_nul_escapes),
        cmocka_unit_test(json_get_str_reads_top_level_string_members_only),
        cmocka_unit_test(json_keeps_scalars_at_the_top),
        cmocka_unit_test(json_refuses_malformed_text),
        cmocka_unit_test(json_refuses_a_nul_byte_and_deep_nesting_and_too_many_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
