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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(name_matches_literal_and_index_segments),
        cmocka_unit_test(name_refuses_near_misses),
        cmocka_unit_test(name_prefix_of_a_pattern),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
