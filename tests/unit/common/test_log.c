/* test_log.c: log lines are single, levelled, and per-module for debug. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"

static char captured[8192];

static void capture(void (*emit)(void))
{
    int fds[2];
    ssize_t n;

    assert_int_equal(pipe(fds), 0);
    sd_log_set_fd(fds[1]);
    emit();
    sd_log_set_fd(-1);
    close(fds[1]);
    n = read(fds[0], captured, sizeof captured - 1);
    captured[n > 0 ? n : 0] = '\0';
    close(fds[0]);
}

static void emit_levels(void)
{
    sd_log_set_level(SD_LOG_INFO);
    sd_log_set_debug(NULL);
    sd_log(SD_LOG_ERROR, "kms", "boom code=%d", 7);
    sd_log(SD_LOG_INFO, "kms", "hello");
    sd_log(SD_LOG_DEBUG, "kms", "hidden");
}

static void log_writes_levelled_lines(void **state)
{
    (void)state;
    capture(emit_levels);
    assert_non_null(strstr(captured, " error kms: boom code=7\n"));
    assert_non_null(strstr(captured, " info kms: hello\n"));
    assert_null(strstr(captured, "hidden"));
}

static void emit_debug(void)
{
    sd_log_set_debug("nbd,kms");
    sd_log(SD_LOG_DEBUG, "kms", "shown");
    sd_log(SD_LOG_DEBUG, "blk", "not shown");
    sd_log(SD_LOG_DEBUG, "nbd", "also shown");
    sd_log_set_debug(NULL);
    sd_log_set_level(SD_LOG_INFO);
}

static void log_debug_is_per_module(void **state)
{
    (void)state;
    capture(emit_debug);
    assert_non_null(strstr(captured, "kms: shown"));
    assert_non_null(strstr(captured, "nbd: also shown"));
    assert_null(strstr(captured, "not shown"));
}

static void emit_long(void)
{
    static char big[5000];
    memset(big, 'a', sizeof big - 1);
    sd_log(SD_LOG_WARN, "api", "%s", big);
}

static void log_truncates_long_lines_to_one_line(void **state)
{
    (void)state;
    capture(emit_long);
    assert_true(strlen(captured) < 2100);
    assert_int_equal(captured[strlen(captured) - 1], '\n');
    assert_ptr_equal(strchr(captured, '\n'), captured + strlen(captured) - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(log_writes_levelled_lines),
        cmocka_unit_test(log_debug_is_per_module),
        cmocka_unit_test(log_truncates_long_lines_to_one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
