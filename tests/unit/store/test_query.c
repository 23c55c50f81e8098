/* test_query.c: the row helpers of store.h: typed argument lists, column
 * tables for every field type, NULLs, values that do not fit, type and
 * column-count mismatches, no row, many rows, counts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"

typedef struct row {
    char name[8];
    int64_t big;
    int small;
    uint64_t ubig;
    unsigned usmall;
    bool flag;
    uint8_t blob[4];
    size_t blob_len;
    sd_buf buf;
} row;

static const store_col all_cols[] = {
    STORE_COL(row, name),
    STORE_COL(row, big),
    STORE_COL(row, small),
    STORE_COL(row, ubig),
    STORE_COL(row, usmall),
    STORE_COL(row, flag),
    STORE_COL_BLOB(row, blob, blob_len),
    STORE_COL(row, buf),
};

#define ALL_SQL "SELECT name, big, small, ubig, usmall, flag, blob, buf FROM t"
#define INSERT_SQL                                                                         \
    "INSERT INTO t (name, big, small, ubig, usmall, flag, blob, buf) VALUES (?, ?, ?, ?, " \
    "?, ?, ?, ?)"

static int setup(void **state)
{
    store *s = NULL;

    if (store_open_sqlite(":memory:", &s, NULL) != SD_OK ||
        store_exec(
            s,
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, big INTEGER, "
            "small INTEGER, ubig INTEGER, usmall INTEGER, flag INTEGER, blob BLOB, buf BLOB)",
            NULL) != SD_OK) {
        store_close(s);
        return -1;
    }
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    store_close(*state);
    return 0;
}

static void insert_full(store *s, const char *name)
{
    assert_int_equal(store_run(s, INSERT_SQL,
                               STORE_ARGS(STORE_TEXT(name), STORE_INT(INT64_MIN), STORE_INT(-7),
                                          STORE_INT(INT64_MAX), STORE_INT(UINT32_MAX), STORE_INT(2),
                                          STORE_BLOB("\x01\x02\x03\x04", 4), STORE_BLOB("xyz", 3)),
                               NULL),
                     SD_OK);
}

static void query_one_reads_every_field_type(void **state)
{
    store *s = *state;
    row r = {.buf = SD_BUF_INIT(8)};
    bool found = false;

    insert_full(s, "abcdefg");
    assert_int_equal(store_query_one(s, ALL_SQL " WHERE name = ?",
                                     STORE_ARGS(STORE_TEXT("abcdefg")), STORE_COLS(all_cols), &r,
                                     &found, NULL),
                     SD_OK);
    assert_true(found);
    assert_string_equal(r.name, "abcdefg");
    assert_true(r.big == INT64_MIN);
    assert_int_equal(r.small, -7);
    assert_true(r.ubig == (uint64_t)INT64_MAX);
    assert_true(r.usmall == UINT32_MAX);
    assert_true(r.flag);
    assert_int_equal(r.blob_len, 4);
    assert_memory_equal(r.blob, "\x01\x02\x03\x04", 4);
    assert_int_equal(r.buf.len, 3);
    assert_memory_equal(r.buf.data, "xyz", 3);
    sd_buf_free(&r.buf);
}

static void nulls_read_as_empty_and_zero(void **state)
{
    store *s = *state;
    row r;
    bool found = false;

    memset(&r, 0x55, sizeof r);
    r.buf = (sd_buf)SD_BUF_INIT(8);
    assert_int_equal(store_run(s, INSERT_SQL,
                               STORE_ARGS(STORE_TEXT(NULL), STORE_NULL, STORE_NULL, STORE_NULL,
                                          STORE_NULL, STORE_NULL, STORE_NULL, STORE_NULL),
                               NULL),
                     SD_OK);
    assert_int_equal(store_query_one(s, ALL_SQL " WHERE name IS NULL", STORE_NO_ARGS,
                                     STORE_COLS(all_cols), &r, &found, NULL),
                     SD_OK);
    assert_true(found);
    assert_string_equal(r.name, "");
    assert_true(r.big == 0 && r.small == 0 && r.ubig == 0 && r.usmall == 0 && !r.flag);
    assert_int_equal(r.blob_len, 0);
    assert_int_equal(r.buf.len, 0);
    sd_buf_free(&r.buf);
}

static void an_empty_blob_binds_as_an_empty_blob_not_null(void **state)
{
    store *s = *state;
    int64_t n = -1;

    assert_int_equal(store_run(s, "INSERT INTO t (name, blob) VALUES ('e', ?)",
                               STORE_ARGS(STORE_BLOB(NULL, 0)), NULL),
                     SD_OK);
    assert_int_equal(
        store_count(s, "SELECT count(*) FROM t WHERE blob IS NOT NULL", STORE_NO_ARGS, &n, NULL),
        SD_OK);
    assert_int_equal(n, 1);
}

static void text_that_does_not_fit_is_an_error_not_a_truncation(void **state)
{
    store *s = *state;
    row r = {.buf = SD_BUF_INIT(8)};
    sd_err err = SD_ERR_INIT;

    insert_full(s, "abcdefgh"); /* 8 bytes + NUL do not fit name[8] */
    assert_int_equal(
        store_query_one(s, ALL_SQL, STORE_NO_ARGS, STORE_COLS(all_cols), &r, NULL, &err),
        SD_E_INTERNAL);
    assert_non_null(strstr(err.msg, "column 0"));
    sd_buf_free(&r.buf);
}

static void blobs_that_do_not_fit_are_errors(void **state)
{
    store *s = *state;
    row r = {.buf = SD_BUF_INIT(8)};
    sd_err err = SD_ERR_INIT;

    assert_int_equal(
        store_run(s, INSERT_SQL,
                  STORE_ARGS(STORE_TEXT("a"), STORE_INT(0), STORE_INT(0), STORE_INT(0),
                             STORE_INT(0), STORE_INT(0), STORE_BLOB("12345", 5), STORE_BLOB("", 0)),
                  NULL),
        SD_OK);
    assert_int_equal(
        store_query_one(s, ALL_SQL, STORE_NO_ARGS, STORE_COLS(all_cols), &r, NULL, &err),
        SD_E_INTERNAL);
    assert_non_null(strstr(err.msg, "column 6"));
    assert_int_equal(
        store_run(s, "UPDATE t SET blob = X'', buf = X'00112233445566778899'", STORE_NO_ARGS, NULL),
        SD_OK);
    err = (sd_err)SD_ERR_INIT;
    assert_int_equal(
        store_query_one(s, ALL_SQL, STORE_NO_ARGS, STORE_COLS(all_cols), &r, NULL, &err),
        SD_E_INTERNAL);
    assert_non_null(strstr(err.msg, "column 7"));
    sd_buf_free(&r.buf);
}

static void integers_out_of_the_field_range_are_errors(void **state)
{
    store *s = *state;
    row r = {.buf = SD_BUF_INIT(8)};
    static const char *bad[] = {
        "UPDATE t SET small = 2147483648",  "UPDATE t SET small = -2147483649",
        "UPDATE t SET ubig = -1",           "UPDATE t SET usmall = -1",
        "UPDATE t SET usmall = 4294967296",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sd_err err = SD_ERR_INIT;
        insert_full(s, "a");
        assert_int_equal(
            store_query_one(s, ALL_SQL, STORE_NO_ARGS, STORE_COLS(all_cols), &r, NULL, NULL),
            SD_OK);
        assert_int_equal(store_run(s, bad[i], STORE_NO_ARGS, NULL), SD_OK);
        assert_int_equal(
            store_query_one(s, ALL_SQL, STORE_NO_ARGS, STORE_COLS(all_cols), &r, NULL, &err),
            SD_E_INTERNAL);
        assert_non_null(strstr(err.msg, "out of range"));
        assert_int_equal(store_run(s, "DELETE FROM t", STORE_NO_ARGS, NULL), SD_OK);
    }
    sd_buf_free(&r.buf);
}

static void a_column_of_the_wrong_type_is_an_error(void **state)
{
    store *s = *state;
    row r = {.buf = SD_BUF_INIT(8)};
    sd_err err = SD_ERR_INIT;

    insert_full(s, "a");
    /* text where an integer is read */
    assert_int_equal(store_query_one(s,
                                     "SELECT name, name, small, ubig, usmall, flag, blob, buf "
                                     "FROM t",
                                     STORE_NO_ARGS, STORE_COLS(all_cols), &r, NULL, &err),
                     SD_E_INTERNAL);
    assert_non_null(strstr(err.msg, "column 1 holds text, not an integer"));
    /* an integer where text is read */
    err = (sd_err)SD_ERR_INIT;
    assert_int_equal(store_query_one(s,
                                     "SELECT big, big, small, ubig, usmall, flag, blob, buf "
                                     "FROM t",
                                     STORE_NO_ARGS, STORE_COLS(all_cols), &r, NULL, &err),
                     SD_E_INTERNAL);
    assert_non_null(strstr(err.msg, "column 0 holds an integer, not text"));
    /* text where a blob is read */
    err = (sd_err)SD_ERR_INIT;
    assert_int_equal(store_query_one(s,
                                     "SELECT name, big, small, ubig, usmall, flag, name, buf "
                                     "FROM t",
                                     STORE_NO_ARGS, STORE_COLS(all_cols), &r, NULL, &err),
                     SD_E_INTERNAL);
    assert_non_null(strstr(err.msg, "column 6 holds text, not a blob"));
    sd_buf_free(&r.buf);
}

static void a_table_that_does_not_match_the_columns_is_an_error(void **state)
{
    store *s = *state;
    row r = {.buf = SD_BUF_INIT(8)};
    sd_err err = SD_ERR_INIT;
    static const store_col two[] = {STORE_COL(row, name), STORE_COL_SKIP};

    insert_full(s, "a");
    assert_int_equal(store_query_one(s, "SELECT name, big, small FROM t", STORE_NO_ARGS,
                                     STORE_COLS(all_cols), &r, NULL, &err),
                     SD_E_INTERNAL);
    assert_non_null(strstr(err.msg, "returns 3 columns, the table reads 8"));
    err = (sd_err)SD_ERR_INIT;
    assert_int_equal(
        store_query_one(s, "SELECT name FROM t", STORE_NO_ARGS, STORE_COLS(two), &r, NULL, &err),
        SD_E_INTERNAL);
    /* a skipped column is counted but not read */
    memset(r.name, 0, sizeof r.name);
    assert_int_equal(store_query_one(s, "SELECT name, 'x' FROM t", STORE_NO_ARGS, STORE_COLS(two),
                                     &r, NULL, NULL),
                     SD_OK);
    assert_string_equal(r.name, "a");
    sd_buf_free(&r.buf);
}

static void a_wrong_number_of_arguments_is_refused_before_running(void **state)
{
    store *s = *state;
    sd_err err = SD_ERR_INIT;
    int64_t n = -1;

    assert_int_equal(
        store_run(s, "INSERT INTO t (name, big) VALUES (?, ?)", STORE_ARGS(STORE_TEXT("a")), &err),
        SD_E_INTERNAL);
    assert_non_null(strstr(err.msg, "1 values for 2 placeholders"));
    err = (sd_err)SD_ERR_INIT;
    assert_int_equal(store_run(s, "INSERT INTO t (name) VALUES (?)",
                               STORE_ARGS(STORE_TEXT("a"), STORE_INT(1)), &err),
                     SD_E_INTERNAL);
    assert_int_equal(store_run(s, "INSERT INTO t (name) VALUES (?)", STORE_NO_ARGS, NULL),
                     SD_E_INTERNAL);
    assert_int_equal(store_count(s, "SELECT count(*) FROM t", STORE_NO_ARGS, &n, NULL), SD_OK);
    assert_int_equal(n, 0);
    assert_int_equal(
        store_run(s, "INSERT INTO t (name) VALUES (?)", STORE_ARGS(STORE_TEXT("a")), NULL), SD_OK);
}

static void no_row_is_not_found_or_found_false(void **state)
{
    store *s = *state;
    row r = {.buf = SD_BUF_INIT(8)};
    bool found = true;
    sd_err err = SD_ERR_INIT;

    memcpy(r.name, "keep", 5);
    assert_int_equal(store_query_one(s, ALL_SQL " WHERE name = ?", STORE_ARGS(STORE_TEXT("x")),
                                     STORE_COLS(all_cols), &r, &found, NULL),
                     SD_OK);
    assert_false(found);
    assert_string_equal(r.name, "keep");
    assert_int_equal(store_query_one(s, ALL_SQL " WHERE name = ?", STORE_ARGS(STORE_TEXT("x")),
                                     STORE_COLS(all_cols), &r, NULL, &err),
                     SD_E_NOT_FOUND);
    sd_buf_free(&r.buf);
}

static void query_and_next_read_many_rows_in_order(void **state)
{
    store *s = *state;
    store_stmt *st = NULL;
    row r = {.buf = SD_BUF_INIT(8)};
    bool have = false;
    int seen = 0;
    static const store_col cols[] = {STORE_COL(row, name), STORE_COL(row, small)};

    for (int i = 0; i < 50; i++) {
        char name[16];
        (void)snprintf(name, sizeof name, "n%02d", i);
        assert_int_equal(store_run(s, "INSERT INTO t (name, small) VALUES (?, ?)",
                                   STORE_ARGS(STORE_TEXT(name), STORE_INT(i)), NULL),
                         SD_OK);
    }
    assert_int_equal(store_query(s, "SELECT name, small FROM t WHERE small >= ? ORDER BY small",
                                 STORE_ARGS(STORE_INT(10)), &st, NULL),
                     SD_OK);
    for (;;) {
        char want[16];
        assert_int_equal(store_next(st, STORE_COLS(cols), &r, &have, NULL), SD_OK);
        if (!have) {
            break;
        }
        (void)snprintf(want, sizeof want, "n%02d", seen + 10);
        assert_string_equal(r.name, want);
        assert_int_equal(r.small, seen + 10);
        seen++;
    }
    assert_int_equal(seen, 40);
    store_stmt_free(st);
    /* an empty result: the first next says so */
    assert_int_equal(
        store_query(s, "SELECT name, small FROM t WHERE small < 0", STORE_NO_ARGS, &st, NULL),
        SD_OK);
    assert_int_equal(store_next(st, STORE_COLS(cols), &r, &have, NULL), SD_OK);
    assert_false(have);
    store_stmt_free(st);
    sd_buf_free(&r.buf);
}

static void count_reads_the_first_integer_or_zero(void **state)
{
    store *s = *state;
    int64_t n = -1;
    sd_err err = SD_ERR_INIT;

    insert_full(s, "a");
    insert_full(s, "b");
    assert_int_equal(store_count(s, "SELECT count(*) FROM t WHERE name <> ?",
                                 STORE_ARGS(STORE_TEXT("z")), &n, NULL),
                     SD_OK);
    assert_int_equal(n, 2);
    assert_int_equal(store_count(s, "SELECT 1 FROM t WHERE name = ? LIMIT 1",
                                 STORE_ARGS(STORE_TEXT("a")), &n, NULL),
                     SD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(store_count(s, "SELECT 1 FROM t WHERE name = ? LIMIT 1",
                                 STORE_ARGS(STORE_TEXT("z")), &n, NULL),
                     SD_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_count(s, "SELECT name FROM t", STORE_NO_ARGS, &n, &err), SD_E_INTERNAL);
}

typedef struct dup_row {
    uint8_t *p;
    size_t n;
} dup_row;

static void dup_copies_blobs_into_owned_memory_up_to_a_limit(void **state)
{
    store *s = *state;
    static const store_col cols[] = {STORE_COL_DUP(dup_row, p, n, 4)};
    dup_row r = {NULL, 99};
    sd_err err = SD_ERR_INIT;

    assert_int_equal(
        store_run(s,
                  "INSERT INTO t (name, blob) VALUES ('a', ?), ('b', NULL), "
                  "('c', X''), ('d', ?)",
                  STORE_ARGS(STORE_BLOB("\x01\x02\x03\x04", 4), STORE_BLOB("12345", 5)), NULL),
        SD_OK);
    assert_int_equal(store_query_one(s, "SELECT blob FROM t WHERE name = 'a'", STORE_NO_ARGS,
                                     STORE_COLS(cols), &r, NULL, NULL),
                     SD_OK);
    assert_int_equal(r.n, 4);
    assert_memory_equal(r.p, "\x01\x02\x03\x04", 4);
    free(r.p);
    for (int i = 0; i < 2; i++) {
        r = (dup_row){NULL, 99};
        assert_int_equal(store_query_one(s,
                                         i == 0 ? "SELECT blob FROM t WHERE name = 'b'"
                                                : "SELECT blob FROM t WHERE name = 'c'",
                                         STORE_NO_ARGS, STORE_COLS(cols), &r, NULL, NULL),
                         SD_OK);
        assert_null(r.p);
        assert_int_equal(r.n, 0);
    }
    r = (dup_row){NULL, 99};
    assert_int_equal(store_query_one(s, "SELECT blob FROM t WHERE name = 'd'", STORE_NO_ARGS,
                                     STORE_COLS(cols), &r, NULL, &err),
                     SD_E_INTERNAL);
    assert_non_null(strstr(err.msg, "over its limit of 4"));
    assert_null(r.p);
}

static void run_reports_constraint_violations_as_conflicts(void **state)
{
    store *s = *state;
    sd_err err = SD_ERR_INIT;

    insert_full(s, "a");
    assert_int_equal(
        store_run(s, "INSERT INTO t (name) VALUES (?)", STORE_ARGS(STORE_TEXT("a")), &err),
        SD_E_CONFLICT);
    assert_int_equal(
        store_run(s, "INSERT INTO t (name) VALUES (?)", STORE_ARGS(STORE_TEXT("b")), NULL), SD_OK);
    assert_int_equal(store_changes(s), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(query_one_reads_every_field_type, setup, teardown),
        cmocka_unit_test_setup_teardown(nulls_read_as_empty_and_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(an_empty_blob_binds_as_an_empty_blob_not_null, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(text_that_does_not_fit_is_an_error_not_a_truncation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(blobs_that_do_not_fit_are_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(integers_out_of_the_field_range_are_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_column_of_the_wrong_type_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(a_table_that_does_not_match_the_columns_is_an_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_wrong_number_of_arguments_is_refused_before_running,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(no_row_is_not_found_or_found_false, setup, teardown),
        cmocka_unit_test_setup_teardown(query_and_next_read_many_rows_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(count_reads_the_first_integer_or_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(dup_copies_blobs_into_owned_memory_up_to_a_limit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(run_reports_constraint_violations_as_conflicts, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
