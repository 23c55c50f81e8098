/* test_fs.c: mkdir -p and realpath into bounded buffers, and their refusals. */
#include <errno.h>
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

/* A path deeper than the 1,024-byte buffers the image code uses: libc's
 * realpath would write all of it (FORTIFY_SOURCE aborts the process on
 * that); sd_realpath refuses it instead, and resolves it into a buffer
 * that fits. */
static void realpath_refuses_a_result_longer_than_the_buffer(void **state)
{
    char dir[] = "/tmp/sd-fs-XXXXXX";
    char path[2048];
    char small[1024];
    char big[4096];
    char name[201];
    size_t n;
    sd_err err = SD_ERR_INIT;

    (void)state;
    assert_non_null(mkdtemp(dir));
    memset(name, 'd', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    n = (size_t)snprintf(path, sizeof path, "%s", dir);
    for (int i = 0; i < 6; i++) {
        n += (size_t)snprintf(path + n, sizeof path - n, "/%s", name);
        assert_int_equal(mkdir(path, 0700), 0);
    }
    assert_true(strlen(path) > sizeof small);
    memset(small, 'x', sizeof small);
    assert_int_equal(sd_realpath(path, small, sizeof small, &err), SD_E_INVALID);
    assert_non_null(strstr(err.msg, "too long"));
    assert_int_equal(small[0], 'x'); /* nothing written */
    assert_int_equal(sd_realpath(path, big, sizeof big, NULL), SD_OK);
    assert_string_equal(big, path);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(rmdir(path), 0);
        *strrchr(path, '/') = '\0';
    }
    (void)rmdir(dir);
}

static void realpath_resolves_links_and_names_missing_paths(void **state)
{
    char dir[] = "/tmp/sd-fs-XXXXXX";
    char link[128];
    char missing[128];
    char out[256];
    sd_err err = SD_ERR_INIT;

    (void)state;
    assert_non_null(mkdtemp(dir));
    (void)snprintf(link, sizeof link, "%s/l", dir);
    assert_int_equal(symlink(".", link), 0);
    assert_int_equal(sd_realpath(link, out, sizeof out, NULL), SD_OK);
    assert_string_equal(out, dir);
    (void)snprintf(missing, sizeof missing, "%s/none/x", dir);
    assert_int_equal(sd_realpath(missing, out, sizeof out, &err), SD_E_NOT_FOUND);
    assert_int_equal(errno, ENOENT);
    assert_non_null(strstr(err.msg, "none/x"));
    (void)unlink(link);
    (void)rmdir(dir);
}

static void pidfile_holds_this_process_id_and_refuses_a_missing_directory(void **state)
{
    char dir[] = "/tmp/sd-fs-XXXXXX";
    char path[128];
    char got[32] = {0};
    char want[32];
    sd_err err = SD_ERR_INIT;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    (void)snprintf(path, sizeof path, "%s/x.pid", dir);
    assert_int_equal(sd_write_pidfile(path, NULL), SD_OK);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(got, sizeof got, f));
    (void)fclose(f);
    (void)snprintf(want, sizeof want, "%ld\n", (long)getpid());
    assert_string_equal(got, want);
    assert_int_equal(unlink(path), 0);
    (void)snprintf(path, sizeof path, "%s/none/x.pid", dir);
    assert_int_equal(sd_write_pidfile(path, &err), SD_E_IO);
    assert_non_null(strstr(err.msg, "none/x.pid"));
    (void)rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mkdirs_makes_every_missing_parent_privately),
        cmocka_unit_test(mkdirs_names_what_it_cannot_make),
        cmocka_unit_test(realpath_refuses_a_result_longer_than_the_buffer),
        cmocka_unit_test(realpath_resolves_links_and_names_missing_paths),
        cmocka_unit_test(pidfile_holds_this_process_id_and_refuses_a_missing_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
