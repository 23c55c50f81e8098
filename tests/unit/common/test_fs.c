/* test_fs.c: mkdir -p, and its refusals. */
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

#include "common/common.h"

static void mkdirs_makes_every_missing_parent_privately(void **state)
{
    char dir[] = "/tmp/sd-fs-XXXXXX";
    char path[128];
    struct stat st;

    (void)state;
    assert_non_null(mkdtemp(dir));
    (void)snprintf(path, sizeof path, "%s/a/b/c", dir);
    assert_int_equal(sd_mkdirs(path, 0700, NULL), SD_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(sd_mkdirs(path, 0700, NULL), SD_OK); /* existing: fine */
    (void)rmdir(path);
    (void)snprintf(path, sizeof path, "%s/a/b", dir);
    (void)rmdir(path);
    (void)snprintf(path, sizeof path, "%s/a", dir);
    (void)rmdir(path);
    (void)rmdir(dir);
}

static void mkdirs_names_what_it_cannot_make(void **state)
{
    char dir[] = "/tmp/sd-fs-XXXXXX";
    char path[128];
    sd_err err = SD_ERR_INIT;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    (void)snprintf(path, sizeof path, "%s/file", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    (void)fclose(f);
    (void)snprintf(path, sizeof path, "%s/file/sub", dir);
    assert_int_equal(sd_mkdirs(path, 0700, &err), SD_E_IO);
    assert_non_null(strstr(err.msg, "file/sub"));
    sd_err_clear(&err);
    assert_int_equal(sd_mkdirs("", 0700, &err), SD_E_INVALID);
    (void)snprintf(path, sizeof path, "%s/file", dir);
    (void)unlink(path);
    (void)rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mkdirs_makes_every_missing_parent_privately),
        cmocka_unit_test(mkdirs_names_what_it_cannot_make),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
