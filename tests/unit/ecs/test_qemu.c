/* test_qemu.c: ecs_qemu_run against the real qemu-img: what it captures,
 * how it fails, and that no file name can turn into an option or a
 * protocol.  Skipped (77) when qemu-img is not installed; CI installs it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ecs/ecs_qemu.h"

static char dir[64];
static char raw[128]; /* a 1 MiB raw image, by absolute path */

/* Writes a file of size bytes (zeros), or with text when text is not NULL. */
static void make_file(const char *path, long size, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    if (text != NULL) {
        assert_int_equal(fputs(text, f) >= 0, 1);
    }
    assert_int_equal(fclose(f), 0);
    if (text == NULL) {
        assert_int_equal(truncate(path, size), 0);
    }
}

static int setup(void **state)
{
    const char *tmp = getenv("TMPDIR"); /* NOLINT(concurrency-mt-unsafe): one thread */

    (void)state;
    (void)snprintf(dir, sizeof dir, "%s/test_qemu.XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    (void)snprintf(raw, sizeof raw, "%s/disk.raw", dir);
    make_file(raw, 1 << 20, NULL);
    return chdir(dir);
}

static int teardown(void **state)
{
    static const char *const made[] = {"disk.raw", "not-an-image.txt", "-f raw 'odd' name.img"};

    (void)state;
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
        (void)unlink(made[i]); /* the tests that make them may not have run */
    }
    return chdir("/") == 0 && rmdir(dir) == 0 ? 0 : -1;
}

/* b's bytes as a string. */
static const char *text(sd_buf *b)
{
    const char *s = NULL;

    assert_int_equal(sd_buf_cstr(b, &s, NULL), SD_OK);
    return s;
}

static const char *const info_json[] = {"info", "--output=json", NULL};

static void info_captures_the_output_for_a_raw_image(void **state)
{
    sd_buf out = SD_BUF_INIT(1 << 16);
    ecs_qemu_opts o = ECS_QEMU_OPTS_INIT;
    const char *const files[] = {raw, NULL};
    sd_err err = SD_ERR_INIT;

    (void)state;
    o.out = &out;
    assert_int_equal(ecs_qemu_run(&o, info_json, files, &err), SD_OK);
    assert_non_null(strstr(text(&out), "\"virtual-size\": 1048576"));
    sd_buf_free(&out);
    /* without a buffer the output goes nowhere, and the run still succeeds */
    o.out = NULL;
    assert_int_equal(ecs_qemu_run(&o, info_json, files, &err), SD_OK);
}

static void a_bad_file_fails_with_the_status_and_qemu_img_s_words(void **state)
{
    static const char *const args[] = {"info", "-f", "qcow2", NULL};
    const char *const files[] = {"not-an-image.txt", NULL};
    ecs_qemu_opts o = ECS_QEMU_OPTS_INIT;
    sd_err err = SD_ERR_INIT;

    (void)state;
    make_file("not-an-image.txt", 0, "hello\n");
    assert_int_equal(ecs_qemu_run(&o, args, files, &err), SD_E_INVALID);
    assert_non_null(strstr(err.msg, "qemu-img exited with status 1: qemu-img: Could not open"));
    assert_non_null(strstr(err.msg, "Image is not in qcow2 format"));
}

static void a_name_with_a_dash_and_spaces_is_only_a_file(void **state)
{
    sd_buf out = SD_BUF_INIT(1 << 16);
    ecs_qemu_opts o = ECS_QEMU_OPTS_INIT;
    const char *const files[] = {"-f raw 'odd' name.img", NULL};
    sd_err err = SD_ERR_INIT;

    (void)state;
    make_file("-f raw 'odd' name.img", 2 << 20, NULL);
    o.out = &out;
    assert_int_equal(ecs_qemu_run(&o, info_json, files, &err), SD_OK);
    assert_non_null(strstr(text(&out), "\"virtual-size\": 2097152"));
    sd_buf_free(&out);
}

static void a_name_like_a_protocol_is_only_a_file(void **state)
{
    const char *const files[] = {"nbd:localhost:1", NULL};
    ecs_qemu_opts o = ECS_QEMU_OPTS_INIT;
    sd_err err = SD_ERR_INIT;

    (void)state;
    /* read as a protocol, qemu-img would connect to localhost:1 */
    assert_int_equal(ecs_qemu_run(&o, info_json, files, &err), SD_E_INVALID);
    assert_non_null(strstr(err.msg, "'./nbd:localhost:1'"));
    assert_non_null(strstr(err.msg, "No such file or directory"));
}

static void a_missing_qemu_img_is_named(void **state)
{
    const char *const files[] = {raw, NULL};
    ecs_qemu_opts o = ECS_QEMU_OPTS_INIT;
    sd_err err = SD_ERR_INIT;
    const char *was = getenv("PATH"); /* NOLINT(concurrency-mt-unsafe): one thread */
    char *path = strdup(was != NULL ? was : "/usr/bin:/bin");

    (void)state;
    assert_non_null(path);
    assert_int_equal(setenv("PATH", dir, 1), 0); /* NOLINT(concurrency-mt-unsafe) */
    assert_int_equal(ecs_qemu_run(&o, info_json, files, &err), SD_E_NOT_FOUND);
    assert_int_equal(setenv("PATH", path, 1), 0); /* NOLINT(concurrency-mt-unsafe) */
    free(path);
    assert_non_null(strstr(err.msg, "qemu-img is not installed"));
}

static void a_run_past_its_timeout_is_killed(void **state)
{
    static const char *const args[] = {"600", NULL};
    static const char *const quick[] = {"0", NULL};
    ecs_qemu_opts o = ECS_QEMU_OPTS_INIT;
    sd_err err = SD_ERR_INIT;

    (void)state;
    o.prog = "sleep";
    o.timeout_ms = 100;
    assert_int_equal(ecs_qemu_run(&o, args, NULL, &err), SD_E_IO);
    assert_string_equal(err.msg, "sleep did not finish within 100 ms and was killed");
    /* its twin: within its time it ends normally */
    o.timeout_ms = 60000;
    assert_int_equal(ecs_qemu_run(&o, quick, NULL, NULL), SD_OK);
}

static void output_beyond_the_buffer_kills_the_run(void **state)
{
    static const char *const help[] = {"--help", NULL};
    sd_buf small = SD_BUF_INIT(16);
    sd_buf big = SD_BUF_INIT(1 << 20);
    ecs_qemu_opts o = ECS_QEMU_OPTS_INIT;
    sd_err err = SD_ERR_INIT;

    (void)state;
    o.out = &small;
    assert_int_equal(ecs_qemu_run(&o, help, NULL, &err), SD_E_INVALID);
    assert_string_equal(err.msg, "qemu-img wrote more than 16 bytes and was killed");
    assert_true(small.len <= 16);
    o.out = &big;
    assert_int_equal(ecs_qemu_run(&o, help, NULL, NULL), SD_OK);
    assert_true(big.len > 16);
    sd_buf_free(&small);
    sd_buf_free(&big);
}

static void a_silent_failure_says_so(void **state)
{
    ecs_qemu_opts o = ECS_QEMU_OPTS_INIT;
    sd_err err = SD_ERR_INIT;

    (void)state;
    o.prog = "false";
    assert_int_equal(ecs_qemu_run(&o, NULL, NULL, &err), SD_E_INVALID);
    assert_string_equal(err.msg, "false exited with status 1: (nothing on standard error)");
    o.prog = "true";
    assert_int_equal(ecs_qemu_run(&o, NULL, NULL, NULL), SD_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(info_captures_the_output_for_a_raw_image),
        cmocka_unit_test(a_bad_file_fails_with_the_status_and_qemu_img_s_words),
        cmocka_unit_test(a_name_with_a_dash_and_spaces_is_only_a_file),
        cmocka_unit_test(a_name_like_a_protocol_is_only_a_file),
        cmocka_unit_test(a_missing_qemu_img_is_named),
        cmocka_unit_test(a_run_past_its_timeout_is_killed),
        cmocka_unit_test(output_beyond_the_buffer_kills_the_run),
        cmocka_unit_test(a_silent_failure_says_so),
    };

    static const char *const version[] = {"--version", NULL};
    ecs_qemu_opts o = ECS_QEMU_OPTS_INIT;

    if (ecs_qemu_run(&o, version, NULL, NULL) == SD_E_NOT_FOUND) {
        (void)fputs("SKIP: requires qemu-img (Debian: qemu-utils)\n", stderr);
        return 77;
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}
