/* test_client.c: the CLI's profile, argument parsing, JSON output and
 * HTTP transport (against a real sealdisk API server on loopback). */
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

#include "../api/api_fixture.h"
#include "cli/cli.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sd-cli-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    snprintf(path, sizeof path, "%s/sub/profile", dir);
    unsetenv("ALIBABA_CLOUD_ACCESS_KEY_ID");
    unsetenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET");
    unsetenv("SEALDISK_ENDPOINT");
    unsetenv("SEALDISK_REGION");
    return 0;
}

static int teardown(void **state)
{
    char p[160];
    (void)state;
    unlink(path);
    snprintf(p, sizeof p, "%s/sub", dir);
    rmdir(p);
    rmdir(dir);
    return 0;
}

static void profile_round_trips_privately(void **state)
{
    sd_secret *secret = NULL;
    sd_profile p;
    struct stat st;

    (void)state;
    assert_int_equal(sd_secret_from("s3cr3t-value", 12, &secret, NULL), SD_OK);
    assert_int_equal(
        sd_profile_write(path, "127.0.0.1:9999", NULL, "cn-shanghai", "LTAIexample", secret, NULL),
        SD_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(cli_profile_load(path, &p, NULL), SD_OK);
    assert_string_equal(p.endpoint, "127.0.0.1:9999");
    assert_string_equal(p.region, "cn-shanghai");
    assert_string_equal(p.access_key_id, "LTAIexample");
    assert_int_equal(sd_secret_len(p.access_key_secret), 12);
    assert_memory_equal(sd_secret_data(p.access_key_secret), "s3cr3t-value", 12);
    assert_false(p.sign_v1);
    sd_profile_clear(&p);
    sd_secret_free(secret);
}

static void profile_keeps_the_tls_pin_and_ca_file(void **state)
{
    sd_secret *secret = NULL;
    sd_profile p;
    FILE *f;
    static const char pin[] = "sha256//OXbyNd0+wU5Mxp+PuCxC/oqO2bokHerWZU4TGNRr8Bo=";

    (void)state;
    assert_int_equal(sd_secret_from("s3cr3t-value", 12, &secret, NULL), SD_OK);
    assert_int_equal(sd_profile_write(path, "https://127.0.0.1:9999", pin, "cn-shanghai",
                                      "LTAIexample", secret, NULL),
                     SD_OK);
    sd_secret_free(secret);
    assert_int_equal(cli_profile_load(path, &p, NULL), SD_OK);
    assert_string_equal(p.endpoint, "https://127.0.0.1:9999");
    assert_string_equal(cli_endpoint_host(p.endpoint), "127.0.0.1:9999");
    assert_string_equal(p.tls_pin, pin);
    assert_string_equal(p.ca_file, "");
    assert_int_equal(sd_secret_len(p.access_key_secret), 12);
    sd_profile_clear(&p);
    /* a CA file; and the negative twin, a pin in another form */
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "endpoint = https://h:1\nca_file = /etc/ca.pem\naccess_key_id = a\n"
               "access_key_secret = b\n");
    fclose(f);
    assert_int_equal(cli_profile_load(path, &p, NULL), SD_OK);
    assert_string_equal(p.ca_file, "/etc/ca.pem");
    assert_string_equal(p.tls_pin, "");
    sd_profile_clear(&p);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "tls_pin = 9d:2a:00\naccess_key_id = a\naccess_key_secret = b\n");
    fclose(f);
    assert_int_equal(cli_profile_load(path, &p, NULL), SD_E_INVALID);
    assert_string_equal(cli_endpoint_host("127.0.0.1:1"), "127.0.0.1:1");
}

static void profile_environment_overrides_the_file(void **state)
{
    sd_profile p;

    (void)state;
    setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIfromenv", 1);
    setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "envsecret", 1);
    setenv("SEALDISK_ENDPOINT", "127.0.0.2:1", 1);
    assert_int_equal(cli_profile_load("/nonexistent/profile", &p, NULL), SD_OK);
    assert_string_equal(p.access_key_id, "LTAIfromenv");
    assert_string_equal(p.endpoint, "127.0.0.2:1");
    assert_string_equal(p.region, "cn-hangzhou");
    assert_memory_equal(sd_secret_data(p.access_key_secret), "envsecret", 9);
    sd_profile_clear(&p);
    unsetenv("ALIBABA_CLOUD_ACCESS_KEY_ID");
    unsetenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET");
    unsetenv("SEALDISK_ENDPOINT");
}

static void profile_without_credentials_says_so(void **state)
{
    sd_profile p;
    sd_err err = SD_ERR_INIT;
    FILE *f = fopen(path, "w");

    (void)state;
    assert_non_null(f);
    fputs("endpoint = 127.0.0.1:1\nsignature = v2\n", f);
    fclose(f);
    assert_int_equal(cli_profile_load(path, &p, &err), SD_E_INVALID);
    assert_non_null(strstr(err.msg, "signature must be v1 or v3"));
    sd_err_clear(&err);
    assert_int_equal(cli_profile_load("/nonexistent/profile", &p, &err), SD_E_INVALID);
    assert_non_null(strstr(err.msg, "no credentials"));
}

static void args_split_action_parameters_and_options(void **state)
{
    char *argv[] = {(char[]){"GenerateDataKey"}, (char[]){"--KeyId"},
                    (char[]){"alias/prod"},      (char[]){"--SystemDisk.Category=cloud_essd"},
                    (char[]){"--endpoint"},      (char[]){"127.0.0.1:1"},
                    (char[]){"--signature=v1"}};
    char *wait[] = {(char[]){"CreateDisk"}, (char[]){"--wait"}, (char[]){"--Size=20"}};
    cli_args a;

    (void)state;
    assert_int_equal(cli_args_parse(7, argv, &a, NULL), SD_OK);
    assert_false(a.wait);
    assert_string_equal(a.action, "GenerateDataKey");
    assert_int_equal(a.nparams, 2);
    assert_string_equal(a.params[0].name, "KeyId");
    assert_string_equal(a.params[0].value, "alias/prod");
    assert_string_equal(a.params[1].name, "SystemDisk.Category");
    assert_string_equal(a.params[1].value, "cloud_essd");
    assert_string_equal(a.endpoint, "127.0.0.1:1");
    assert_string_equal(a.signature, "v1");
    assert_false(a.help);
    /* --wait is a flag: it takes no value */
    assert_int_equal(cli_args_parse(3, wait, &a, NULL), SD_OK);
    assert_true(a.wait);
    assert_int_equal(a.nparams, 1);
}

static void args_refuse_malformed_command_lines(void **state)
{
    char *dangling[] = {(char[]){"DescribeKey"}, (char[]){"--KeyId"}};
    char *twice[] = {(char[]){"X"}, (char[]){"--KeyId"}, (char[]){"a"}, (char[]){"--KeyId"},
                     (char[]){"b"}};
    char *unknown[] = {(char[]){"X"}, (char[]){"--colour"}, (char[]){"red"}};
    char *two_actions[] = {(char[]){"X"}, (char[]){"Y"}};
    char *bad_name[] = {(char[]){"X"}, (char[]){"--Key Id"}, (char[]){"v"}};
    cli_args a;

    (void)state;
    assert_int_equal(cli_args_parse(2, dangling, &a, NULL), SD_E_INVALID);
    assert_int_equal(cli_args_parse(5, twice, &a, NULL), SD_E_INVALID);
    assert_int_equal(cli_args_parse(3, unknown, &a, NULL), SD_E_INVALID);
    assert_int_equal(cli_args_parse(2, two_actions, &a, NULL), SD_E_INVALID);
    assert_int_equal(cli_args_parse(3, bad_name, &a, NULL), SD_E_INVALID);
}

static void http_posts_to_a_server_and_reports_an_unreachable_one(void **state)
{
    fixture *fx = fx_open((size_t)1 << 20);
    sd_profile prof = {0};
    cli_header h[] = {{"x-acs-action", "DescribeRegions"}};
    sd_buf body = SD_BUF_INIT(1 << 16);
    int status = 0;
    sd_json_doc *doc = NULL;
    sd_err err = SD_ERR_INIT;

    (void)state;
    snprintf(prof.endpoint, sizeof prof.endpoint, "127.0.0.1:%u",
             (unsigned)api_server_port(fx->srv));
    assert_int_equal(cli_http_post(&prof, "Action=Nope", h, 1, &status, &body, NULL), SD_OK);
    assert_int_equal(status, 400); /* unsigned */
    assert_int_equal(sd_json_parse((const char *)body.data, body.len, 64, &doc, NULL), SD_OK);
    assert_string_equal(sd_json_get_str(sd_json_root(doc), "Code"), "MissingParameter");
    sd_json_doc_free(doc);
    fx_close(fx);
    assert_int_equal(cli_http_post(&prof, "", NULL, 0, &status, &body, &err), SD_E_IO);
    assert_non_null(strstr(err.msg, "cannot reach"));
    sd_buf_free(&body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(profile_round_trips_privately),
        cmocka_unit_test(profile_keeps_the_tls_pin_and_ca_file),
        cmocka_unit_test(profile_environment_overrides_the_file),
        cmocka_unit_test(profile_without_credentials_says_so),
        cmocka_unit_test(args_split_action_parameters_and_options),
        cmocka_unit_test(args_refuse_malformed_command_lines),
        cmocka_unit_test(http_posts_to_a_server_and_reports_an_unreachable_one),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
