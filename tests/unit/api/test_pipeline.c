/* test_pipeline.c: signed requests through the whole pipeline (parse,
 * authenticate, dispatch, handler, audit) over a real socket: response
 * shapes, and a clear 400 for each kind of malformed request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api_fixture.h"

static fixture *fx;
static char key_id[64];

#define RESP_MAX 65536

static int setup(void **state)
{
    char *resp = malloc(RESP_MAX);
    const char *p;

    (void)state;
    fx = fx_open((size_t)1 << 20);
    fx_call(fx, "CreateKey", (const char *const[]){"Description", "test key", NULL}, resp,
            RESP_MAX);
    p = strstr(resp, "\"KeyId\":\"");
    assert_non_null(p);
    (void)snprintf(key_id, sizeof key_id, "%.24s", p + 9);
    free(resp);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_close(fx);
    return 0;
}

/* Calls and checks the status line and, when code is not NULL, the Code
 * and that the message mentions hint. */
static void expect(const char *action, const char *const *kv, const char *status, const char *code,
                   const char *hint)
{
    char *resp = malloc(RESP_MAX);
    char want[96];

    fx_call(fx, action, kv, resp, RESP_MAX);
    (void)snprintf(want, sizeof want, "HTTP/1.1 %s", status);
    if (strstr(resp, want) == NULL) {
        fail_msg("%s: expected %s, got %s", action, status, resp);
    }
    assert_non_null(strstr(fx_body(resp), "\"RequestId\":\""));
    if (code != NULL) {
        (void)snprintf(want, sizeof want, "\"Code\":\"%s\"", code);
        if (strstr(resp, want) == NULL) {
            fail_msg("%s: expected %s in %s", action, code, resp);
        }
        if (hint != NULL && strstr(resp, hint) == NULL) {
            fail_msg("%s: expected the message to mention '%s': %s", action, hint, resp);
        }
    } else {
        assert_null(strstr(resp, "\"Code\""));
    }
    free(resp);
}

static void pipeline_serves_a_signed_call_with_typed_members(void **state)
{
    char *resp = malloc(RESP_MAX);

    (void)state;
    fx_call(fx, "ListKeys", (const char *const[]){"PageSize", "5", NULL}, resp, RESP_MAX);
    assert_non_null(strstr(resp, "HTTP/1.1 200"));
    assert_non_null(strstr(resp, "\"Keys\":{\"Key\":[{\"KeyId\":\""));
    assert_non_null(strstr(resp, "\"TotalCount\":1,\"PageNumber\":1,\"PageSize\":5"));
    assert_null(strstr(resp, "\"Code\""));
    fx_call(fx, "DescribeRegions", NULL, resp, RESP_MAX);
    assert_non_null(strstr(resp, "\"Regions\":{\"Region\":[{\"RegionId\":\"cn-hangzhou\"}]}"));
    free(resp);
}

static void pipeline_binds_both_forms_of_encryption_context_alike(void **state)
{
    char *resp = malloc(RESP_MAX);
    char blob[512];
    const char *p;

    (void)state;
    fx_call(fx, "Encrypt",
            (const char *const[]){"KeyId", key_id, "Plaintext", "aGVsbG8=", "EncryptionContext.b",
                                  "2", "EncryptionContext.a", "1", NULL},
            resp, RESP_MAX);
    assert_non_null(strstr(resp, "HTTP/1.1 200"));
    p = strstr(resp, "\"CiphertextBlob\":\"");
    assert_non_null(p);
    (void)snprintf(blob, sizeof blob, "%.*s", (int)strcspn(p + 18, "\""), p + 18);
    fx_call(fx, "Decrypt",
            (const char *const[]){"CiphertextBlob", blob, "EncryptionContext",
                                  "{\"a\":\"1\",\"b\":\"2\"}", NULL},
            resp, RESP_MAX);
    assert_non_null(strstr(resp, "HTTP/1.1 200"));
    assert_non_null(strstr(resp, "\"Plaintext\":\"aGVsbG8=\""));
    expect(
        "Decrypt",
        (const char *const[]){"CiphertextBlob", blob, "EncryptionContext", "{\"a\":\"1\"}", NULL},
        "400", "InvalidParameter", "EncryptionContext");
    free(resp);
}

static void pipeline_refuses_missing_parameters(void **state)
{
    (void)state;
    expect("DescribeKey", NULL, "400", "MissingParameter", "\\\"KeyId\\\"");
    expect("Encrypt", (const char *const[]){"KeyId", key_id, NULL}, "400", "MissingParameter",
           "Plaintext");
    expect("Decrypt", NULL, "400", "MissingParameter", "CiphertextBlob");
    expect("ScheduleKeyDeletion", (const char *const[]){"KeyId", key_id, NULL}, "400",
           "MissingParameter", "PendingWindowInDays");
    expect("TagResource", (const char *const[]){"KeyId", key_id, NULL}, "400", "MissingParameter",
           "Tags");
}

static void pipeline_refuses_mistyped_and_out_of_range_parameters(void **state)
{
    (void)state;
    expect("ListKeys", (const char *const[]){"PageSize", "ten", NULL}, "400", "InvalidParameter",
           "PageSize");
    expect("ListKeys", (const char *const[]){"PageSize", "101", NULL}, "400", "InvalidParameter",
           "PageSize");
    expect("GenerateDataKey", (const char *const[]){"KeyId", key_id, "NumberOfBytes", "0", NULL},
           "400", "InvalidParameter", "NumberOfBytes");
    expect("GenerateDataKey", (const char *const[]){"KeyId", key_id, "KeySpec", "AES_512", NULL},
           "400", "InvalidParameter", "KeySpec");
    expect("ScheduleKeyDeletion",
           (const char *const[]){"KeyId", key_id, "PendingWindowInDays", "3", NULL}, "400",
           "InvalidParameter", "PendingWindowInDays");
    expect("UpdateRotationPolicy",
           (const char *const[]){"KeyId", key_id, "EnableAutomaticRotation", "yes", NULL}, "400",
           "InvalidParameter", "EnableAutomaticRotation");
}

static void pipeline_refuses_over_long_values(void **state)
{
    char *big = malloc(9000);

    (void)state;
    memset(big, 'a', 8999);
    big[8999] = '\0';
    expect("CreateKey", (const char *const[]){"Description", big, NULL}, "400", "InvalidParameter",
           "Description");
    big[KMS_PLAIN_MAX + 1] = '\0';
    expect("Encrypt", (const char *const[]){"KeyId", key_id, "Plaintext", big, NULL}, "400",
           "InvalidParameter", "Plaintext");
    big[300] = '\0';
    expect("DescribeKey", (const char *const[]){"KeyId", big, NULL}, "400", "InvalidParameter",
           "KeyId");
    free(big);
}

static void pipeline_refuses_bad_base64_and_bad_json(void **state)
{
    (void)state;
    expect("Decrypt", (const char *const[]){"CiphertextBlob", "not*base64", NULL}, "400",
           "InvalidParameter", "base64");
    expect("Decrypt", (const char *const[]){"CiphertextBlob", "AAAA", NULL}, "400",
           "InvalidParameter", NULL);
    expect("Encrypt",
           (const char *const[]){"KeyId", key_id, "Plaintext", "x", "EncryptionContext",
                                 "{\"a\":", NULL},
           "400", "InvalidParameter", "EncryptionContext");
    expect(
        "Encrypt",
        (const char *const[]){"KeyId", key_id, "Plaintext", "x", "EncryptionContext", "[1]", NULL},
        "400", "InvalidParameter", "EncryptionContext");
    expect("TagResource", (const char *const[]){"KeyId", key_id, "Tags", "[{\"TagKey\":1}]", NULL},
           "400", "InvalidParameter", "Tags");
    expect("TagResource", (const char *const[]){"KeyId", key_id, "Tags", "{}", NULL}, "400",
           "InvalidParameter", "Tags");
    expect("UntagResource", (const char *const[]){"KeyId", key_id, "TagKeys", "[\"a\",", NULL},
           "400", "InvalidParameter", "TagKeys");
    expect("ImportKeyMaterial",
           (const char *const[]){"KeyId", key_id, "EncryptedKeyMaterial", "%%%", "ImportToken", "t",
                                 "KeyMaterialExpireUnix", "0", NULL},
           "400", "InvalidParameter", "EncryptedKeyMaterial");
}

static void pipeline_refuses_unknown_actions_versions_and_regions(void **state)
{
    (void)state;
    expect("NoSuchAction", NULL, "404", "InvalidAction.NotFound", "NoSuchAction");
    expect("DescribeKey", (const char *const[]){"KeyId", key_id, "RegionId", "mars-1", NULL}, "400",
           "InvalidRegionId", "mars-1");
    /* a success twin: the server's own region is accepted when named */
    expect("DescribeKey", (const char *const[]){"KeyId", key_id, "RegionId", "cn-hangzhou", NULL},
           "200", NULL, NULL);
}

/* One AccessKey's flood is answered Throttling.User (HTTP 400, as the
 * service answers); another key is not affected. */
static void pipeline_throttles_a_flooding_access_key_only(void **state)
{
    fixture *g = fx_open_limited((size_t)1 << 20, 0.001, 5);
    char *resp = malloc(RESP_MAX);
    int throttled = 0;

    (void)state;
    for (int i = 0; i < 8; i++) {
        fx_call(g, "ListKeys", NULL, resp, RESP_MAX);
        if (strstr(resp, "HTTP/1.1 400") != NULL &&
            strstr(resp, "\"Code\":\"Throttling.User\"") != NULL) {
            assert_non_null(strstr(resp, "user flow control"));
            throttled++;
        } else {
            assert_non_null(strstr(resp, "HTTP/1.1 200"));
        }
    }
    assert_int_equal(throttled, 3); /* a burst of 5, and a token per 1000 s */
    fx_call_as(g, "otherid", "othersecret", "ListKeys", NULL, resp, RESP_MAX);
    assert_non_null(strstr(resp, "HTTP/1.1 200"));
    free(resp);
    fx_close(g);
}

/* Twin: the same flood passes without a limit. */
static void pipeline_serves_a_burst_without_a_limit(void **state)
{
    char *resp = malloc(RESP_MAX);

    (void)state;
    for (int i = 0; i < 8; i++) {
        fx_call(fx, "ListKeys", NULL, resp, RESP_MAX);
        assert_non_null(strstr(resp, "HTTP/1.1 200"));
    }
    free(resp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pipeline_serves_a_signed_call_with_typed_members),
        cmocka_unit_test(pipeline_binds_both_forms_of_encryption_context_alike),
        cmocka_unit_test(pipeline_refuses_missing_parameters),
        cmocka_unit_test(pipeline_refuses_mistyped_and_out_of_range_parameters),
        cmocka_unit_test(pipeline_refuses_over_long_values),
        cmocka_unit_test(pipeline_refuses_bad_base64_and_bad_json),
        cmocka_unit_test(pipeline_refuses_unknown_actions_versions_and_regions),
        cmocka_unit_test(pipeline_throttles_a_flooding_access_key_only),
        cmocka_unit_test(pipeline_serves_a_burst_without_a_limit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
