/* test_secret.c: secrets are locked, page-aligned, copied only to other
 * secrets, wiped on free; the constant-time compare is correct. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../unit_proc.h"
#include "common/common.h"

static void secret_is_aligned_zeroed_and_sized(void **state)
{
    sd_secret *s = NULL;
    sd_secret *big = NULL;
    long page = sysconf(_SC_PAGESIZE);

    (void)state;
    /* small secrets: slab slots of 256 bytes */
    assert_int_equal(sd_secret_new(48, &s, NULL), SD_OK);
    assert_int_equal(sd_secret_len(s), 48);
    assert_int_equal((uintptr_t)sd_secret_data(s) % 256u, 0);
    for (size_t i = 0; i < 48; i++) {
        assert_int_equal(sd_secret_data(s)[i], 0);
    }
    /* larger ones: whole pages of their own */
    assert_int_equal(sd_secret_new(5000, &big, NULL), SD_OK);
    assert_int_equal((uintptr_t)sd_secret_data(big) % (uintptr_t)page, 0);
    for (size_t i = 0; i < 5000; i++) {
        assert_int_equal(sd_secret_data(big)[i], 0);
    }
    sd_secret_free(s);
    sd_secret_free(big);
    sd_secret_free(NULL);
}

static void small_secrets_are_wiped_when_their_slot_is_freed(void **state)
{
    sd_secret *s = NULL;
    uint8_t *p;

    (void)state;
    assert_int_equal(sd_secret_new(32, &s, NULL), SD_OK);
    p = sd_secret_data(s);
    memset(p, 0xA5, 32);
    sd_secret_free(s);
    /* the slab is never unmapped: the slot is readable, and wiped (its
     * first bytes may link the free list) */
    for (size_t i = sizeof(void *); i < 256; i++) {
        assert_int_equal(p[i], 0);
    }
}

static void secret_pages_are_locked_until_freed(void **state)
{
    sd_secret *s = NULL;
    long before = unit_locked_kb();

    (void)state;
#ifdef SD_SANITIZE
    /* ASan intercepts mlock as a no-op, so VmLck cannot move; the plain
     * build runs this check. */
    skip();
#endif
    /* a page-sized secret has pages of its own, unlocked when freed (small
     * ones live in the slab, which stays locked) */
    assert_int_equal(sd_secret_new(8192, &s, NULL), SD_OK);
    assert_true(unit_locked_kb() > before);
    sd_secret_free(s);
    assert_int_equal(unit_locked_kb(), before);
    assert_int_equal(sd_secret_new(32, &s, NULL), SD_OK);
    assert_true(unit_locked_kb() >= 64); /* the slab's chunk */
    sd_secret_free(s);
}

static void secret_copies_and_moves(void **state)
{
    sd_secret *a = NULL, *b = NULL, *c;

    (void)state;
    assert_int_equal(sd_secret_from("0123456789abcdef", 16, &a, NULL), SD_OK);
    assert_int_equal(sd_secret_dup(a, &b, NULL), SD_OK);
    assert_memory_equal(sd_secret_data(a), sd_secret_data(b), 16);
    assert_ptr_not_equal(sd_secret_data(a), sd_secret_data(b));
    c = sd_secret_take(&b);
    assert_null(b);
    sd_secret_truncate(c, 4);
    assert_int_equal(sd_secret_len(c), 4);
    assert_int_equal(sd_secret_data(c)[4], 0); /* the cut tail is wiped */
    sd_secret_truncate(c, 40);                 /* never grows */
    assert_int_equal(sd_secret_len(c), 4);
    sd_secret_free(a);
    sd_secret_free(c);
}

static void secret_refuses_absurd_sizes(void **state)
{
    sd_secret *s = NULL;

    (void)state;
    assert_int_equal(sd_secret_new((size_t)64 << 20, &s, NULL), SD_E_INVALID);
    assert_null(s);
}

static void wipe_clears_memory(void **state)
{
    uint8_t b[64];

    (void)state;
    memset(b, 0xee, sizeof b);
    sd_wipe(b, sizeof b);
    for (size_t i = 0; i < sizeof b; i++) {
        assert_int_equal(b[i], 0);
    }
    sd_wipe(NULL, 10);
}

static void ct_equal_compares_every_byte(void **state)
{
    uint8_t a[32], b[32];

    (void)state;
    memset(a, 7, sizeof a);
    memcpy(b, a, sizeof b);
    assert_true(sd_ct_equal(a, b, sizeof a));
    assert_true(sd_ct_equal(a, b, 0));
    for (size_t i = 0; i < sizeof a; i++) {
        b[i] ^= 0x01;
        assert_false(sd_ct_equal(a, b, sizeof a));
        b[i] ^= 0x01;
    }
}

static void harden_disables_core_dumps(void **state)
{
    (void)state;
    assert_int_equal(sd_secret_harden_process(NULL), SD_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(secret_is_aligned_zeroed_and_sized),
        cmocka_unit_test(small_secrets_are_wiped_when_their_slot_is_freed),
        cmocka_unit_test(secret_pages_are_locked_until_freed),
        cmocka_unit_test(secret_copies_and_moves),
        cmocka_unit_test(secret_refuses_absurd_sizes),
        cmocka_unit_test(wipe_clears_memory),
        cmocka_unit_test(ct_equal_compares_every_byte),
        cmocka_unit_test(harden_disables_core_dumps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
