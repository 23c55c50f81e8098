/* test_errors.c: the one mapping from failures to status and Code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/api_int.h"

static void map(api_product p, sd_code kind, const char *api_code, int want_status,
                const char *want_code)
{
    sd_err err = SD_ERR_INIT;
    int status = 0;
    const char *code = NULL;

    if (api_code != NULL) {
        sd_ignore(sd_err_setc(&err, kind, api_code, SD_HERE, "m"));
    } else {
        sd_ignore(sd_err_set(&err, kind, SD_HERE, "m"));
    }
    api__error_map(p, &err, &status, &code);
    assert_int_equal(status, want_status);
    assert_string_equal(code, want_code);
}

static void errors_named_codes_get_the_contract_status(void **state)
{
    (void)state;
    map(API_KMS, SD_E_NOT_FOUND, "Forbidden.KeyNotFound", 404, "Forbidden.KeyNotFound");
    map(API_KMS, SD_E_KEY_STATE, "Rejected.Disabled", 409, "Rejected.Disabled");
    map(API_KMS, SD_E_INVALID, "AliasAlreadyExists", 400, "AliasAlreadyExists");
    map(API_ECS, SD_E_AUTH, "SignatureDoesNotMatch", 400, "SignatureDoesNotMatch");
    map(API_ECS, SD_E_NOT_FOUND, "InvalidAccessKeyId.NotFound", 404, "InvalidAccessKeyId.NotFound");
    map(API_KMS, SD_E_THROTTLED, "Rejected.Throttling", 429, "Rejected.Throttling");
    map(API_KMS, SD_E_THROTTLED, "Throttling.User", 400, "Throttling.User");
    map(API_ECS, SD_E_THROTTLED, "Throttling.User", 400, "Throttling.User");
}

static void errors_ecs_codes_get_the_contract_status(void **state)
{
    (void)state;
    map(API_ECS, SD_E_NOT_FOUND, "InvalidDiskId.NotFound", 404, "InvalidDiskId.NotFound");
    map(API_ECS, SD_E_CONFLICT, "IncorrectDiskStatus", 403, "IncorrectDiskStatus");
    map(API_ECS, SD_E_CONFLICT, "IncorrectInstanceStatus", 403, "IncorrectInstanceStatus");
    map(API_ECS, SD_E_KEY_STATE, "InvalidParameter.KMSKeyId.CMKNotEnabled", 403,
        "InvalidParameter.KMSKeyId.CMKNotEnabled");
    map(API_ECS, SD_E_DENIED, "InvalidParameter.KMSKeyId.KMSUnauthorized", 403,
        "InvalidParameter.KMSKeyId.KMSUnauthorized");
    map(API_ECS, SD_E_NOT_FOUND, "InvalidParameter.KMSKeyId.NotFound", 404,
        "InvalidParameter.KMSKeyId.NotFound");
    map(API_ECS, SD_E_INVALID, "InvalidParameter.EncryptedIllegal", 400,
        "InvalidParameter.EncryptedIllegal");
    map(API_ECS, SD_E_INVALID, "InvalidParameter.DiskIds", 400, "InvalidParameter.DiskIds");
    map(API_ECS, SD_E_DENIED, "InvalidDiskIds.Malformed", 403, "InvalidDiskIds.Malformed");
}

static void errors_without_a_code_get_one_from_their_kind(void **state)
{
    (void)state;
    map(API_KMS, SD_E_INTERNAL, NULL, 500, "InternalFailure");
    map(API_ECS, SD_E_INTERNAL, NULL, 500, "InternalError");
    map(API_ECS, SD_E_INVALID, NULL, 400, "InvalidParameter");
    map(API_ECS, SD_E_DENIED, NULL, 403, "Forbidden.NoPermission");
    map(API_ECS, SD_E_THROTTLED, NULL, 429, "Rejected.Throttling");
    map(API_KMS, SD_E_NOMEM, NULL, 503, "SerivceUnavailableTemporary");
    /* a full store says so, in both products, and is not an InternalError */
    map(API_ECS, SD_E_NOSPACE, NULL, 507, "InsufficientStorage");
    map(API_KMS, SD_E_NOSPACE, NULL, 507, "InsufficientStorage");
    map(API_ECS, SD_E_IO, NULL, 500, "InternalError");
}

static void errors_with_an_unknown_code_keep_their_kinds_status(void **state)
{
    (void)state;
    map(API_ECS, SD_E_CONFLICT, "IncorrectImageStatus", 409, "IncorrectImageStatus");
    map(API_ECS, SD_E_INVALID, "InvalidDiskCategory.NotSupported", 400,
        "InvalidDiskCategory.NotSupported");
}

static void errors_every_kind_is_a_client_or_server_error(void **state)
{
    (void)state;
    for (int k = SD_E_INVALID; k <= SD_E_NOSPACE; k++) {
        sd_err err = SD_ERR_INIT;
        int status = 0;
        const char *code = NULL;
        sd_ignore(sd_err_set(&err, (sd_code)k, SD_HERE, "m"));
        api__error_map(API_ECS, &err, &status, &code);
        assert_true(status >= 400 && status <= 599);
        assert_true(code != NULL && code[0] != '\0');
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(errors_named_codes_get_the_contract_status),
        cmocka_unit_test(errors_ecs_codes_get_the_contract_status),
        cmocka_unit_test(errors_without_a_code_get_one_from_their_kind),
        cmocka_unit_test(errors_with_an_unknown_code_keep_their_kinds_status),
        cmocka_unit_test(errors_every_kind_is_a_client_or_server_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
