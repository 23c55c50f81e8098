/* test_buf.c: bounded buffers never pass their max; readers never overrun. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"

static void buf_appends_up_to_its_max(void **state)
{
    sd_buf b = SD_BUF_INIT(10);
    const char *s = NULL;

    (void)state;
    assert_int_equal(sd_buf_puts(&b, "hello", NULL), SD_OK);
    assert_int_equal(sd_buf_printf(&b, NULL, "%d%s", 42, "xyz"), SD_OK);
    assert_int_equal(b.len, 10);
    assert_int_equal(sd_buf_cstr(&b, &s, NULL), SD_OK);
    assert_string_equal(s, "hello42xyz");
    sd_buf_free(&b);
}

static void buf_refuses_to_grow_past_its_max(void **state)
{
    sd_buf b = SD_BUF_INIT(4);
    sd_err err = SD_ERR_INIT;

    (void)state;
    assert_int_equal(sd_buf_puts(&b, "abcd", NULL), SD_OK);
    assert_int_equal(sd_buf_put_u8(&b, 1, &err), SD_E_INVALID);
    assert_int_equal(b.len, 4);
    assert_non_null(strstr(err.msg, "limit"));
    assert_int_equal(sd_buf_printf(&b, NULL, "%s", "x"), SD_E_INVALID);
    sd_buf_free(&b);
    sd_buf_free(NULL);
}

static void buf_writes_big_endian_integers(void **state)
{
    sd_buf b = SD_BUF_INIT(64);
    sd_rd r;
    uint8_t u8 = 0;
    uint16_t u16 = 0;
    uint32_t u32 = 0;
    uint64_t u64 = 0;

    (void)state;
    assert_int_equal(sd_buf_put_u8(&b, 0xab, NULL), SD_OK);
    assert_int_equal(sd_buf_put_u16be(&b, 0x1234, NULL), SD_OK);
    assert_int_equal(sd_buf_put_u32be(&b, 0x89abcdef, NULL), SD_OK);
    assert_int_equal(sd_buf_put_u64be(&b, 0x0102030405060708ULL, NULL), SD_OK);
    assert_memory_equal(b.data, "\xab\x12\x34\x89\xab\xcd\xef\x01\x02\x03\x04\x05\x06\x07\x08", 15);
    r = sd_rd_make(b.data, b.len);
    assert_int_equal(sd_rd_u8(&r, &u8, NULL), SD_OK);
    assert_int_equal(sd_rd_u16be(&r, &u16, NULL), SD_OK);
    assert_int_equal(sd_rd_u32be(&r, &u32, NULL), SD_OK);
    assert_int_equal(sd_rd_u64be(&r, &u64, NULL), SD_OK);
    assert_int_equal(u8, 0xab);
    assert_int_equal(u16, 0x1234);
    assert_int_equal(u32, 0x89abcdef);
    assert_true(u64 == 0x0102030405060708ULL);
    assert_int_equal(sd_rd_left(&r), 0);
    sd_buf_free(&b);
}

static void rd_refuses_to_read_past_the_end(void **state)
{
    const uint8_t data[3] = {1, 2, 3};
    sd_rd r = sd_rd_make(data, sizeof data);
    uint32_t v = 7;
    const uint8_t *p = NULL;
    uint8_t copy[4];

    (void)state;
    assert_int_equal(sd_rd_u32be(&r, &v, NULL), SD_E_INVALID);
    assert_int_equal(v, 7);
    assert_int_equal(r.pos, 0);
    assert_int_equal(sd_rd_bytes(&r, 4, &p, NULL), SD_E_INVALID);
    assert_int_equal(sd_rd_copy(&r, copy, 4, NULL), SD_E_INVALID);
    assert_int_equal(sd_rd_bytes(&r, 3, &p, NULL), SD_OK);
    assert_ptr_equal(p, data);
    assert_int_equal(sd_rd_u8(&r, copy, NULL), SD_E_INVALID);
}

static void overflow_helpers_detect_wrap(void **state)
{
    size_t r;

    (void)state;
    assert_true(sd_add_overflow((size_t)-1, (size_t)1, &r));
    assert_false(sd_add_overflow((size_t)1, (size_t)1, &r));
    assert_int_equal(r, 2);
    assert_true(sd_mul_overflow((size_t)-1, (size_t)2, &r));
}

static void str_copy_copies_what_fits_with_its_nul(void **state)
{
    char dst[4] = "zzz";

    (void)state;
    assert_int_equal(sd_str_copy(dst, sizeof dst, "abc", NULL), SD_OK);
    assert_string_equal(dst, "abc");
    assert_int_equal(sd_str_copy(dst, sizeof dst, "", NULL), SD_OK);
    assert_string_equal(dst, "");
    assert_int_equal(sd_str_copy(dst, sizeof dst, NULL, NULL), SD_OK); /* a NULL column */
    assert_string_equal(dst, "");
}

static void str_copy_refuses_what_does_not_fit_and_leaves_no_prefix(void **state)
{
    char dst[4] = "zzz";
    char none[1] = {'x'};
    sd_err err = SD_ERR_INIT;

    (void)state;
    assert_int_equal(sd_str_copy(dst, sizeof dst, "abcd", &err), SD_E_INVALID);
    assert_string_equal(dst, ""); /* never "abc", which names something else */
    assert_non_null(strstr(err.msg, "longer than 3"));
    assert_int_equal(sd_str_copy(none, 0, "a", NULL), SD_E_INVALID);
    assert_int_equal(none[0], 'x'); /* no room even for the NUL: untouched */
    assert_int_equal(sd_str_copy(none, sizeof none, "a", NULL), SD_E_INVALID);
    assert_int_equal(none[0], '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buf_appends_up_to_its_max),
        cmocka_unit_test(buf_refuses_to_grow_past_its_max),
        cmocka_unit_test(buf_writes_big_endian_integers),
        cmocka_unit_test(rd_refuses_to_read_past_the_end),
        cmocka_unit_test(overflow_helpers_detect_wrap),
        cmocka_unit_test(str_copy_copies_what_fits_with_its_nul),
        cmocka_unit_test(str_copy_refuses_what_does_not_fit_and_leaves_no_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
