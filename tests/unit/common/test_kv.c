/* test_kv.c: "key = value" files: what parses, and every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"

static void kv_parses_keys_values_comments_and_blanks(void **state)
{
    static const char text[] = "# sealdisk\n"
                               "\n"
                               "listen = 127.0.0.1:8080\r\n"
                               "  data_dir=/var/lib/sealdisk  \n"
                               "empty =\n"
                               "access_key_secret = a=b==c";
    sd_kv *kv = NULL;

    (void)state;
    assert_int_equal(sd_kv_parse(text, strlen(text), &kv, NULL), SD_OK);
    assert_int_equal(sd_kv_count(kv), 4);
    assert_string_equal(sd_kv_get(kv, "listen"), "127.0.0.1:8080");
    assert_string_equal(sd_kv_get(kv, "data_dir"), "/var/lib/sealdisk");
    assert_string_equal(sd_kv_get(kv, "empty"), "");
    assert_string_equal(sd_kv_get(kv, "access_key_secret"), "a=b==c");
    assert_null(sd_kv_get(kv, "absent"));
    assert_string_equal(sd_kv_key(kv, 0), "listen");
    assert_null(sd_kv_key(kv, 9));
    sd_kv_free(kv);
}

static void kv_refuses_malformed_files_naming_the_line(void **state)
{
    static const struct {
        const char *text;
        const char *why;
    } bad[] = {
        {"a = 1\nno equals sign\n", "line 2"}, {"a = 1\na = 2\n", "given twice"},
        {" = value\n", "invalid key"},         {"bad key = 1\n", "invalid key"},
        {"k\x01 = 1\n", "invalid key"},
    };
    sd_kv *kv = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sd_err err = SD_ERR_INIT;
        assert_int_equal(sd_kv_parse(bad[i].text, strlen(bad[i].text), &kv, &err), SD_E_INVALID);
        assert_null(kv);
        assert_non_null(strstr(err.msg, bad[i].why));
    }
    assert_int_equal(sd_kv_parse("a = 1\0b = 2", 11, &kv, NULL), SD_E_INVALID);
}

static void kv_refuses_oversized_input(void **state)
{
    size_t n = SD_KV_MAX_BYTES + 1;
    char *big = malloc(n);
    sd_kv *kv = NULL;
    char line[5000];

    (void)state;
    assert_non_null(big);
    memset(big, '\n', n);
    assert_int_equal(sd_kv_parse(big, n, &kv, NULL), SD_E_INVALID);
    free(big);
    memset(line, 'x', sizeof line);
    memcpy(line, "k = ", 4);
    assert_int_equal(sd_kv_parse(line, sizeof line, &kv, NULL), SD_E_INVALID);
}

static void kv_loads_files_and_reports_a_missing_one(void **state)
{
    char path[] = "/tmp/sd-kv-XXXXXX";
    int fd = mkstemp(path);
    sd_kv *kv = NULL;

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "region = cn-hangzhou\n", 21), 21);
    close(fd);
    assert_int_equal(sd_kv_load(path, &kv, NULL), SD_OK);
    assert_string_equal(sd_kv_get(kv, "region"), "cn-hangzhou");
    sd_kv_free(kv);
    unlink(path);
    assert_int_equal(sd_kv_load(path, &kv, NULL), SD_E_NOT_FOUND);
    assert_null(kv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kv_parses_keys_values_comments_and_blanks),
        cmocka_unit_test(kv_refuses_malformed_files_naming_the_line),
        cmocka_unit_test(kv_refuses_oversized_input),
        cmocka_unit_test(kv_loads_files_and_reports_a_missing_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
