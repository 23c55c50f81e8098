/* test_params.c: typed parameters with the contract's error codes, and the
 * flattened list and map forms. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/wait.h>

#include <cmocka.h>

#include "api/api_params.h"

static const api_pair pairs[] = {
    {"KeyId", "alias/prod"},
    {"PageSize", "20"},
    {"Bad", "12x"},
    {"Huge", "99999999999999999999"},
    {"Flag", "TRUE"},
    {"NotFlag", "yes"},
    {"Empty", ""},
    {"EncryptionContext.purpose", "disk"},
    {"EncryptionContext.k 2", "v+/="},
    {"DataDisk.3.Size", "40"},
    {"DataDisk.1.Size", "20"},
    {"DataDisk.1.Encrypted", "true"},
    {"DataDisk.10.Size", "80"},
    {"DataDisk.0.Size", "bad index"},
    {"DataDisk.x.Size", "bad index"},
    {"Tag.1", "scalar item"},
};
static const api_params params = {pairs, sizeof pairs / sizeof pairs[0], NULL, NULL};

static void params_read_required_strings(void **state)
{
    const char *v = NULL;
    sd_err err = SD_ERR_INIT;

    (void)state;
    assert_int_equal(api_param_req(&params, "KeyId", &v, NULL), SD_OK);
    assert_string_equal(v, "alias/prod");
    assert_int_equal(api_param_req(&params, "Missing", &v, &err), SD_E_INVALID);
    assert_string_equal(err.api_code, "MissingParameter");
    assert_string_equal(err.msg, "The parameter \"Missing\" is needed but not provided.");
    sd_err_clear(&err);
    assert_int_equal(api_param_req(&params, "Empty", &v, &err), SD_E_INVALID);
    assert_string_equal(err.api_code, "MissingParameter");
    assert_int_equal(api_param_str(&params, "KeyId", 5, &v, &err), SD_E_INVALID);
}

static void params_read_integers_in_range(void **state)
{
    int64_t n = 0;
    sd_err err = SD_ERR_INIT;

    (void)state;
    assert_int_equal(api_param_int(&params, "PageSize", 1, 100, 10, &n, NULL), SD_OK);
    assert_int_equal(n, 20);
    assert_int_equal(api_param_int(&params, "PageNumber", 1, 100, 1, &n, NULL), SD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(api_param_int(&params, "PageSize", 1, 10, 10, &n, &err), SD_E_INVALID);
    assert_string_equal(err.api_code, "InvalidParameter");
    assert_non_null(strstr(err.msg, "\"PageSize\""));
    assert_non_null(strstr(err.msg, "from 1 to 10"));
    assert_int_equal(api_param_int(&params, "Bad", 0, 100, 0, &n, NULL), SD_E_INVALID);
    assert_int_equal(api_param_int(&params, "Huge", 0, INT64_MAX, 0, &n, NULL), SD_E_INVALID);
    assert_int_equal(api_param_int(&params, "Empty", 0, 100, 0, &n, NULL), SD_E_INVALID);
}

static void params_read_booleans(void **state)
{
    bool b = false;

    (void)state;
    assert_int_equal(api_param_bool(&params, "Flag", false, &b, NULL), SD_OK);
    assert_true(b);
    assert_int_equal(api_param_bool(&params, "Absent", true, &b, NULL), SD_OK);
    assert_true(b);
    assert_int_equal(api_param_bool(&params, "NotFlag", false, &b, NULL), SD_E_INVALID);
}

static void params_read_flattened_maps(void **state)
{
    api_pair *m = NULL;
    size_t n = 0;

    (void)state;
    assert_int_equal(api_param_map(&params, "EncryptionContext", &m, &n, NULL), SD_OK);
    assert_int_equal(n, 2);
    assert_string_equal(m[0].name, "purpose");
    assert_string_equal(m[0].value, "disk");
    assert_string_equal(m[1].name, "k 2");
    assert_string_equal(m[1].value, "v+/=");
    free(m);
    assert_int_equal(api_param_map(&params, "Nothing", &m, &n, NULL), SD_OK);
    assert_int_equal(n, 0);
    assert_null(m);
}

static void params_read_flattened_lists_in_numeric_order(void **state)
{
    unsigned *idx = NULL;
    size_t n = 0;

    (void)state;
    assert_int_equal(api_param_list(&params, "DataDisk", 16, &idx, &n, NULL), SD_OK);
    assert_int_equal(n, 3);
    assert_int_equal(idx[0], 1);
    assert_int_equal(idx[1], 3);
    assert_int_equal(idx[2], 10);
    assert_string_equal(api_param_item(&params, "DataDisk", 1, "Encrypted"), "true");
    assert_string_equal(api_param_item(&params, "DataDisk", 10, "Size"), "80");
    assert_null(api_param_item(&params, "DataDisk", 2, "Size"));
    assert_string_equal(api_param_item(&params, "Tag", 1, NULL), "scalar item");
    free(idx);
    assert_int_equal(api_param_list(&params, "DataDisk", 2, &idx, &n, NULL), SD_E_INVALID);
    assert_null(idx);
}

typedef struct action_name {
    const char *product;
    const char *name;
} action_name;

static const action_name actions[] = {
#define API_ACTION(prod, name, summary) {#prod, #name},
#include "api/api_actions.def"
#undef API_ACTION
};

static void params_table_rows_name_served_actions(void **state)
{
    static const action_name rows[] = {
#define API_PARAM(prod, act, name, type, need, meaning) {#prod, #act},
#include "api/api_params.def"
#undef API_PARAM
    };

    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        bool found = false;
        for (size_t k = 0; k < sizeof actions / sizeof actions[0]; k++) {
            found = found || (strcmp(rows[i].product, actions[k].product) == 0 &&
                              strcmp(rows[i].name, actions[k].name) == 0);
        }
        if (!found) {
            fail_msg("api_params.def row %zu names %s %s, which api_actions.def lacks", i,
                     rows[i].product, rows[i].name);
        }
    }
}

static void params_declared_by_table_and_common(void **state)
{
    (void)state;
    assert_true(api_param_declared("KMS", "CreateKey", "Description"));
    assert_true(api_param_declared("KMS", "DisableKey", "KeyId"));
    assert_true(api_param_declared("KMS", "DisableKey", "RegionId"));
    assert_true(api_param_declared("ECS", "DeleteDisk", "DryRun"));
    assert_true(api_param_declared("ECS", "RunInstances", "DataDisk.12.Size"));
    assert_true(api_param_declared("ECS", "ModifyImageSharePermission", "AddAccount.3"));
}

static void params_undeclared_refused(void **state)
{
    (void)state;
    assert_false(api_param_declared("KMS", "DisableKey", "DryRun")); /* KMS has no DryRun */
    assert_false(api_param_declared("KMS", "DisableKey", "Description"));
    assert_false(api_param_declared("KMS", "NoSuchAction", "KeyId"));
    assert_false(api_param_declared("ECS", "RunInstances", "DataDisk.0.Size"));
    assert_false(api_param_declared("ECS", "RunInstances", "DataDisk.x.Size"));
    assert_false(api_param_declared("ECS", "RunInstances", "DataDisk.1"));
    assert_false(api_param_declared("ECS", "CreateDisk", "DataDisk.1.Size"));
}

/* Runs fn in a child; returns its wait status. */
static int in_child(void (*fn)(const api_params *), const api_params *p)
{
    int status = 0;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        fn(p);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void read_key_id(const api_params *p)
{
    (void)api_param(p, "KeyId");
}

static void read_data_disks(const api_params *p)
{
    unsigned *idx = NULL;
    size_t n = 0;

    if (api_param_list(p, "DataDisk", 16, &idx, &n, NULL) == SD_OK) {
        free(idx);
    }
}

static void params_handler_read_checked_against_table(void **state)
{
    const api_params describe = {pairs, sizeof pairs / sizeof pairs[0], "KMS", "DescribeKey"};
    const api_params list_keys = {pairs, sizeof pairs / sizeof pairs[0], "KMS", "ListKeys"};
    const api_params run = {pairs, sizeof pairs / sizeof pairs[0], "ECS", "RunInstances"};
    const api_params disk = {pairs, sizeof pairs / sizeof pairs[0], "ECS", "CreateDisk"};

    (void)state;
    assert_int_equal(in_child(read_key_id, &describe), 0);
    assert_int_equal(in_child(read_data_disks, &run), 0);
#ifdef SD_FAULTS
    /* negative twins: reads the table does not list stop a test build */
    assert_true(WIFSIGNALED(in_child(read_key_id, &list_keys)));
    assert_int_equal(WTERMSIG(in_child(read_key_id, &list_keys)), SIGABRT);
    assert_true(WIFSIGNALED(in_child(read_data_disks, &disk)));
#else
    assert_int_equal(in_child(read_key_id, &list_keys), 0);
    assert_int_equal(in_child(read_data_disks, &disk), 0);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(params_read_required_strings),
        cmocka_unit_test(params_read_integers_in_range),
        cmocka_unit_test(params_read_booleans),
        cmocka_unit_test(params_read_flattened_maps),
        cmocka_unit_test(params_read_flattened_lists_in_numeric_order),
        cmocka_unit_test(params_table_rows_name_served_actions),
        cmocka_unit_test(params_declared_by_table_and_common),
        cmocka_unit_test(params_undeclared_refused),
        cmocka_unit_test(params_handler_read_checked_against_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
