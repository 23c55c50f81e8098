/* test_roles.c: RAM roles: create, get, delete, per account, and every
 * refusal with its Code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "iam/iam.h"

static char dir[] = "/tmp/sd-roles-XXXXXX";
static iam *ids;
static iam_account_info alice, bob;

#define POLICY                                                                            \
    "{\"Statement\":[{\"Action\":\"sts:AssumeRole\",\"Effect\":\"Allow\",\"Principal\":{" \
    "\"Service\":[\"ecs.aliyuncs.com\"]}}],\"Version\":\"1\"}"

static int setup(void **state)
{
    iam_opts o = IAM_OPTS_INIT;
    sd_secret *wrap = NULL;
    char db[96];
    uint8_t k[32] = {1, 2, 3};

    (void)state;
    assert_non_null(mkdtemp(dir));
    (void)snprintf(db, sizeof db, "%s/meta.db", dir);
    assert_int_equal(sd_secret_from(k, sizeof k, &wrap, NULL), SD_OK);
    o.db_path = db;
    o.wrap_key = wrap;
    o.clock = sd_clock_system();
    o.rng = crypto_rng_system();
    assert_int_equal(iam_open(&o, &ids, NULL), SD_OK);
    sd_secret_free(wrap);
    assert_int_equal(iam_account_create(ids, "alice", &alice, NULL), SD_OK);
    assert_int_equal(iam_account_create(ids, "bob", &bob, NULL), SD_OK);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    iam_close(ids);
    (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void roles_are_created_read_and_deleted_per_account(void **state)
{
    iam_role_info r;
    sd_err err = SD_ERR_INIT;

    (void)state;
    assert_int_equal(
        iam_role_create(ids, alice.account_id, IAM_ECS_DISK_ROLE, POLICY, "ecs disks", &r, NULL),
        SD_OK);
    assert_string_equal(r.name, IAM_ECS_DISK_ROLE);
    assert_int_equal(strlen(r.role_id), 19);
    assert_int_equal(iam_role_get(ids, alice.account_id, IAM_ECS_DISK_ROLE, &r, NULL), SD_OK);
    assert_string_equal(r.policy, POLICY);
    assert_string_equal(r.description, "ecs disks");
    /* another account sees nothing of it */
    assert_int_equal(iam_role_get(ids, bob.account_id, IAM_ECS_DISK_ROLE, &r, &err),
                     SD_E_NOT_FOUND);
    assert_string_equal(err.api_code, "EntityNotExist.Role");
    assert_int_equal(iam_role_delete(ids, alice.account_id, IAM_ECS_DISK_ROLE, NULL), SD_OK);
    sd_err_clear(&err);
    assert_int_equal(iam_role_get(ids, alice.account_id, IAM_ECS_DISK_ROLE, &r, &err),
                     SD_E_NOT_FOUND);
    sd_err_clear(&err);
    assert_int_equal(iam_role_delete(ids, alice.account_id, IAM_ECS_DISK_ROLE, &err),
                     SD_E_NOT_FOUND);
    assert_string_equal(err.api_code, "EntityNotExist.Role");
}

static void roles_refuse_duplicates_bad_names_and_bad_policies(void **state)
{
    sd_err err = SD_ERR_INIT;
    char longname[80];

    (void)state;
    assert_int_equal(iam_role_create(ids, bob.account_id, "app", POLICY, NULL, NULL, NULL), SD_OK);
    assert_int_equal(iam_role_create(ids, bob.account_id, "app", POLICY, NULL, NULL, &err),
                     SD_E_CONFLICT);
    assert_string_equal(err.api_code, "EntityAlreadyExists.Role");
    sd_err_clear(&err);
    assert_int_equal(iam_role_create(ids, bob.account_id, "bad name", POLICY, NULL, NULL, &err),
                     SD_E_INVALID);
    assert_string_equal(err.api_code, "InvalidParameter.RoleName.InvalidChars");
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    sd_err_clear(&err);
    assert_int_equal(iam_role_create(ids, bob.account_id, longname, POLICY, NULL, NULL, &err),
                     SD_E_INVALID);
    assert_string_equal(err.api_code, "InvalidParameter.RoleName.Length");
    sd_err_clear(&err);
    assert_int_equal(iam_role_create(ids, bob.account_id, "p", "not json", NULL, NULL, &err),
                     SD_E_INVALID);
    assert_string_equal(err.api_code, "InvalidParameter.AssumeRolePolicyDocument");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roles_are_created_read_and_deleted_per_account),
        cmocka_unit_test(roles_refuse_duplicates_bad_names_and_bad_policies),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
