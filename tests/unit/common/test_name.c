/* test_name.c: flattened parameter names against table patterns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <cmocka.h>

#include "common/sd_name.h"

static void name_matches_literal_and_index_segments(void **state)
{
    (void)state;
    assert_true(sd_name_match("KeyId", "KeyId"));
    assert_true(sd_name_match("DataDisk.N.Size", "DataDisk.1.Size"));
    assert_true(sd_name_match("DataDisk.N.Size", "DataDisk.16.Size"));
    assert_true(sd_name_match("AddAccount.N", "AddAccount.10"));
    assert_true(sd_name_match("SystemDisk.Category", "SystemDisk.Category"));
}

static void name_refuses_near_misses(void **state)
{
    (void)state;
    assert_false(sd_name_match("KeyId", "KeyI"));
    assert_false(sd_name_match("KeyId", "KeyIds"));
    assert_false(sd_name_match("KeyId", "keyid"));
    assert_false(sd_name_match("DataDisk.N.Size", "DataDisk.0.Size"));
    assert_false(sd_name_match("DataDisk.N.Size", "DataDisk.01.Size"));
    assert_false(sd_name_match("DataDisk.N.Size", "DataDisk.x.Size"));
    assert_false(sd_name_match("DataDisk.N.Size", "DataDisk..Size"));
    assert_false(sd_name_match("DataDisk.N.Size", "DataDisk.1"));
    assert_false(sd_name_match("DataDisk.N.Size", "DataDisk.1.Size.x"));
    assert_false(sd_name_match("AddAccount.N", "AddAccount"));
    assert_false(sd_name_match("N", "Name"));
}

static void name_prefix_of_a_pattern(void **state)
{
    (void)state;
    assert_true(sd_name_has_prefix("DataDisk.N.Size", "DataDisk"));
    assert_true(sd_name_has_prefix("EncryptionContext", "EncryptionContext"));
    assert_false(sd_name_has_prefix("DataDisk.N.Size", "Data"));
    assert_false(sd_name_has_prefix("SystemDisk.Size", "DataDisk"));
    assert_false(sd_name_has_prefix("KeyId", "KeyId.x"));
}

static void name_ok_takes_safe_names_up_to_max(void **state)
{
    (void)state;
    assert_true(sd_name_ok("d-1", 3));
    assert_true(sd_name_ok("Az09._-", 64));
    assert_true(sd_name_ok(".hidden", 64)); /* a leading dot is the caller's call */
}

static void name_ok_refuses_empty_long_and_unsafe_names(void **state)
{
    static const char *const bad[] = {"", "a b", "a/b", "a\\b", "caf\xc3\xa9", "a\nb", "a:b"};

    (void)state;
    assert_false(sd_name_ok("d-12", 3));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(sd_name_ok(bad[i], 64));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(name_matches_literal_and_index_segments),
        cmocka_unit_test(name_refuses_near_misses),
        cmocka_unit_test(name_prefix_of_a_pattern),
        cmocka_unit_test(name_ok_takes_safe_names_up_to_max),
        cmocka_unit_test(name_ok_refuses_empty_long_and_unsafe_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
