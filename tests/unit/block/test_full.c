/* test_full.c: a full file system under the block store is SD_E_NOSPACE,
 * for sector writes and for metadata, never a bare I/O error.
 *
 * The store lives on a real 4 MiB tmpfs, mounted in a private mount
 * namespace so nothing outside this process sees it.  That needs root
 * (CAP_SYS_ADMIN); without it the test reports skip (77). */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/mount.h>

#include <cmocka.h>

#include "blk_test.h"
#include "block/block.h"

#define CHUNK (256u << 10)

static char mnt[64];

/* Writes CHUNK-sized pieces of non-zero bytes from offset 0 until one
 * fails or limit bytes are written; the failing code, or SD_OK. */
static sd_code fill(blk_disk *d, uint64_t limit, sd_err *err)
{
    uint8_t *buf = malloc(CHUNK);
    sd_code rc = SD_OK;

    assert_non_null(buf);
    memset(buf, 0x5a, CHUNK);
    for (uint64_t off = 0; off < limit && rc == SD_OK; off += CHUNK) {
        rc = blk_disk_pwrite(d, buf, CHUNK, off, 0, err);
    }
    free(buf);
    return rc;
}

static void a_full_file_system_is_no_space_for_writes_and_metadata(void **state)
{
    blk_store *bs = NULL;
    blk_disk *d = NULL;
    sd_err e = SD_ERR_INIT;
    uint8_t r[4096];
    (void)state;

    assert_int_equal(blk_store_open_local(mnt, &bs, NULL), SD_OK);
    assert_int_equal(blk_disk_create(bs, "d", 64u << 20, false, NULL), SD_OK);
    assert_int_equal(blk_disk_open(bs, "d", NULL, &d, NULL), SD_OK);
    assert_int_equal(fill(d, 64u << 20, &e), SD_E_NOSPACE);
    assert_non_null(strstr(e.msg, "No space left"));
    /* what fit reads back */
    assert_int_equal(blk_disk_pread(d, r, sizeof r, 0, NULL), SD_OK);
    assert_int_equal(r[0], 0x5a);
    sd_ignore(blk_disk_close(d, NULL)); /* its map may not fit either */
    sd_err_clear(&e);
    /* metadata: new objects and rows find no room either */
    for (int i = 0; i < 64; i++) {
        char name[16];
        sd_code rc;
        (void)snprintf(name, sizeof name, "x%d", i);
        rc = blk_disk_create(bs, name, 1u << 20, false, &e);
        if (rc != SD_OK) {
            assert_int_equal(rc, SD_E_NOSPACE);
            break;
        }
        assert_true(i < 63);
    }
    blk_store_close(bs);
}

/* The twin: the same writes on a file system with room succeed. */
static void writes_with_room_succeed(void **state)
{
    bt *t = bt_open();
    blk_disk *d = NULL;
    (void)state;

    assert_int_equal(blk_disk_create(t->bs, "d", 64u << 20, false, NULL), SD_OK);
    assert_int_equal(blk_disk_open(t->bs, "d", NULL, &d, NULL), SD_OK);
    assert_int_equal(fill(d, 8u << 20, NULL), SD_OK);
    assert_int_equal(blk_disk_close(d, NULL), SD_OK);
    assert_int_equal(blk_disk_create(t->bs, "x", 1u << 20, false, NULL), SD_OK);
    bt_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_full_file_system_is_no_space_for_writes_and_metadata),
        cmocka_unit_test(writes_with_room_succeed),
    };

    if (geteuid() != 0) {
        fprintf(stderr, "skip: mounting a tmpfs needs root\n");
        return 77;
    }
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        fprintf(stderr, "skip: no private mount namespace: %s\n", strerror(errno));
        return 77;
    }
    (void)snprintf(mnt, sizeof mnt, "/tmp/sd-full-mnt-XXXXXX");
    if (mkdtemp(mnt) == NULL || mount("tmpfs", mnt, "tmpfs", 0, "size=4m,mode=0700") != 0) {
        fprintf(stderr, "skip: cannot mount a tmpfs: %s\n", strerror(errno));
        return 77;
    }
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    sd_ignore(umount2(mnt, MNT_DETACH) == 0 ? SD_OK : SD_E_IO);
    (void)rmdir(mnt);
    return rc;
}
