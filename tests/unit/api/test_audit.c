/* test_audit.c: audit lines are whole JSON objects with escaped fields,
 * and queries select by account, action, key and time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include <cmocka.h>

#include "api/api_audit.h"

static char path[64];

typedef struct seen {
    int n;
    char last[4096];
} seen;

static void collect(void *ctx, const char *line)
{
    seen *s = ctx;
    s->n++;
    snprintf(s->last, sizeof s->last, "%s", line);
}

static int setup(void **state)
{
    api_audit *a = NULL;
    api_audit_rec r = {1700000000, "R1", "1001", "LTAIa", "GenerateDataKey",
                       "key-1",    "v1", NULL,   "OK",    200};
    int fd;

    (void)state;
    snprintf(path, sizeof path, "/tmp/sd-audit-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0) {
        return -1;
    }
    close(fd);
    unlink(path);
    if (api_audit_open(path, &a, NULL) != SD_OK) {
        return -1;
    }
    api_audit_write(a, &r);
    r.time = 1700000100;
    r.request_id = "R2";
    r.action = "DisableKey";
    r.key_version_id = NULL;
    api_audit_write(a, &r);
    r.time = 1700000200;
    r.request_id = "R3";
    r.account = "2002";
    r.action = "Decrypt";
    r.key_id = "key-2";
    r.resource = "alias/\"quoted\"\n";
    r.code = "Forbidden.KeyNotFound";
    r.status = 404;
    api_audit_write(a, &r);
    api_audit_close(a);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static void audit_file_is_private_and_holds_one_line_per_call(void **state)
{
    struct stat st;
    api_audit_filter all = {NULL, NULL, NULL, 0};
    seen s = {0};

    (void)state;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(api_audit_query(path, &all, collect, &s, NULL), SD_OK);
    assert_int_equal(s.n, 3);
    assert_non_null(strstr(s.last, "\"Time\":\"2023-11-14T22:16:40Z\""));
    assert_non_null(strstr(s.last, "\"Resource\":\"alias/\\\"quoted\\\"\\n\""));
    assert_non_null(strstr(s.last, "\"Result\":\"Forbidden.KeyNotFound\",\"HttpStatus\":404}"));
}

static void audit_query_filters_by_account_action_key_and_time(void **state)
{
    api_audit_filter by_account = {"1001", NULL, NULL, 0};
    api_audit_filter by_action = {NULL, "Decrypt", NULL, 0};
    api_audit_filter by_key = {NULL, NULL, "key-1", 0};
    api_audit_filter by_time = {NULL, NULL, NULL, 1700000100};
    api_audit_filter none = {"100", NULL, NULL, 0}; /* a prefix of 1001 must not match */
    seen s = {0};

    (void)state;
    assert_int_equal(api_audit_query(path, &by_account, collect, &s, NULL), SD_OK);
    assert_int_equal(s.n, 2);
    s.n = 0;
    assert_int_equal(api_audit_query(path, &by_action, collect, &s, NULL), SD_OK);
    assert_int_equal(s.n, 1);
    assert_non_null(strstr(s.last, "\"RequestId\":\"R3\""));
    s.n = 0;
    assert_int_equal(api_audit_query(path, &by_key, collect, &s, NULL), SD_OK);
    assert_int_equal(s.n, 2);
    s.n = 0;
    assert_int_equal(api_audit_query(path, &by_time, collect, &s, NULL), SD_OK);
    assert_int_equal(s.n, 2);
    s.n = 0;
    assert_int_equal(api_audit_query(path, &none, collect, &s, NULL), SD_OK);
    assert_int_equal(s.n, 0);
}

static void audit_query_skips_torn_lines_and_reports_a_missing_file(void **state)
{
    FILE *f = fopen(path, "a");
    api_audit_filter all = {NULL, NULL, NULL, 0};
    seen s = {0};

    (void)state;
    assert_non_null(f);
    fputs("{\"Time\":\"2023-11-14T22:20:00Z\",\"Action\":\"Torn", f);
    fclose(f);
    assert_int_equal(api_audit_query(path, &all, collect, &s, NULL), SD_OK);
    assert_int_equal(s.n, 3);
    assert_int_equal(api_audit_query("/nonexistent/audit.log", &all, collect, &s, NULL),
                     SD_E_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(audit_file_is_private_and_holds_one_line_per_call),
        cmocka_unit_test(audit_query_filters_by_account_action_key_and_time),
        cmocka_unit_test(audit_query_skips_torn_lines_and_reports_a_missing_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
