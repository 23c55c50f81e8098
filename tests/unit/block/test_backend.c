/* test_backend.c: a backend stores bytes sparsely, creates objects
 * exclusively (the local one with mode 0600), refuses bad names, and
 * removes what it made.  With SD_TEST_BACKEND=rados (block.backend_rados)
 * the same tests run against the RADOS backend (blk_test.h). */
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

#include "blk_test.h"
#include "block/blk_backend.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sd-blkbe-XXXXXX");
    return mkdtemp(dir) == NULL ? -1 : 0;
}

/* The backend under test: local files in dir, or RADOS (blk_test.h). */
static blk_backend *open_be(void)
{
    blk_backend *be = NULL;

    if (bt_rados()) {
        assert_int_equal(bt_rados_backend(dir, &be, NULL), SD_OK);
    } else {
        assert_int_equal(blk_backend_local(dir, &be, NULL), SD_OK);
    }
    return be;
}

static int teardown(void **state)
{
    char p[128];
    (void)state;
    snprintf(p, sizeof p, "%s/obj", dir);
    unlink(p);
    return rmdir(dir);
}

static void a_backend_reads_zeroes_where_nothing_was_written(void **state)
{
    blk_backend *be = open_be();
    void *o = NULL;
    uint8_t buf[8192];
    uint8_t w[100];
    uint64_t size = 0;
    struct stat st;
    char p[128];
    (void)state;

    assert_int_equal(be->ops->open(be->h, "obj", BLK_OBJ_CREATE, &o, NULL), SD_OK);
    if (!bt_rados()) {
        snprintf(p, sizeof p, "%s/obj", dir);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
    }
    memset(w, 0xab, sizeof w);
    assert_int_equal(be->ops->pwrite(o, w, sizeof w, 4096, NULL), SD_OK);
    memset(buf, 0x55, sizeof buf);
    assert_int_equal(be->ops->pread(o, buf, sizeof buf, 0, NULL), SD_OK);
    for (size_t i = 0; i < sizeof buf; i++) {
        assert_int_equal(buf[i], i >= 4096 && i < 4196 ? 0xab : 0);
    }
    assert_int_equal(be->ops->size(o, &size, NULL), SD_OK);
    assert_int_equal(size, 4196);
    assert_int_equal(be->ops->punch(o, 4096, 4096, NULL), SD_OK);
    assert_int_equal(be->ops->pread(o, buf, 100, 4096, NULL), SD_OK);
    for (size_t i = 0; i < 100; i++) {
        assert_int_equal(buf[i], 0);
    }
    assert_int_equal(be->ops->sync(o, NULL), SD_OK);
    be->ops->close(o);
    assert_int_equal(be->ops->remove(be->h, "obj", NULL), SD_OK);
    assert_int_equal(be->ops->remove(be->h, "obj", NULL), SD_E_NOT_FOUND);
    blk_backend_free(be);
}

static void a_backend_refuses_bad_names_and_duplicates(void **state)
{
    blk_backend *be = open_be();
    void *o = NULL;
    void *o2 = NULL;
    (void)state;

    assert_int_equal(be->ops->open(be->h, "../escape", BLK_OBJ_CREATE, &o, NULL), SD_E_INVALID);
    assert_int_equal(be->ops->open(be->h, ".hidden", BLK_OBJ_CREATE, &o, NULL), SD_E_INVALID);
    assert_int_equal(be->ops->open(be->h, "", BLK_OBJ_CREATE, &o, NULL), SD_E_INVALID);
    assert_int_equal(be->ops->open(be->h, "obj", 0, &o, NULL), SD_E_NOT_FOUND);
    assert_int_equal(be->ops->open(be->h, "obj", BLK_OBJ_CREATE, &o, NULL), SD_OK);
    assert_int_equal(be->ops->open(be->h, "obj", BLK_OBJ_CREATE, &o2, NULL), SD_E_CONFLICT);
    be->ops->close(o);
    assert_int_equal(be->ops->remove(be->h, "obj", NULL), SD_OK);
    blk_backend_free(be);
}

static void local_backend_refuses_a_missing_directory(void **state)
{
    blk_backend *be = NULL;
    (void)state;

    assert_int_equal(blk_backend_local("/nonexistent/sd-blk", &be, NULL), SD_E_IO);
    assert_null(be);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_backend_reads_zeroes_where_nothing_was_written, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_backend_refuses_bad_names_and_duplicates, setup,
                                        teardown),
        cmocka_unit_test(local_backend_refuses_a_missing_directory),
    };
    /* the last test is the local backend's alone */
    size_t n = sizeof tests / sizeof tests[0] - (bt_rados() ? 1 : 0);
    return _cmocka_run_group_tests("backend", tests, n, NULL, NULL);
}
