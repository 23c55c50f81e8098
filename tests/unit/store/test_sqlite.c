/* test_sqlite.c: the SQLite store: files created 0600, WAL mode,
 * migrations recorded by name and refused when unknown, transactions,
 * constraint violations as SD_E_CONFLICT, injected failures. */
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

#include "store/store.h"

static char dir[256];
static char path[300];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/sd-store-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    snprintf(path, sizeof path, "%s/meta.db", dir);
    return 0;
}

static int teardown(void **state)
{
    char p[320];
    (void)state;
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
    rmdir(dir);
    return 0;
}

static int64_t scalar(store *s, const char *sql)
{
    store_stmt *st = NULL;
    bool row = false;
    int64_t v;

    assert_int_equal(store_prepare(s, sql, &st, NULL), SD_OK);
    assert_int_equal(store_step(st, &row, NULL), SD_OK);
    assert_true(row);
    v = store_col_int64(st, 0);
    store_stmt_free(st);
    return v;
}

static void sqlite_creates_a_private_wal_database_with_migrations(void **state)
{
    store *s = NULL;
    struct stat sb;
    store_stmt *st = NULL;
    bool row = false;

    (void)state;
    assert_int_equal(store_open_sqlite(path, &s, NULL), SD_OK);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(store_prepare(s, "PRAGMA journal_mode", &st, NULL), SD_OK);
    assert_int_equal(store_step(st, &row, NULL), SD_OK);
    assert_string_equal(store_col_text(st, 0), "wal");
    store_stmt_free(st);
    assert_true(scalar(s, "SELECT count(*) FROM schema_migrations WHERE name = '000_meta.sql'") ==
                1);
    store_close(s);
    /* reopening applies nothing twice */
    assert_int_equal(store_open_sqlite(path, &s, NULL), SD_OK);
    assert_true(scalar(s, "SELECT count(*) FROM schema_migrations WHERE name = '000_meta.sql'") ==
                1);
    store_close(s);
}

static void sqlite_relaxes_durability_on_one_handle_only(void **state)
{
    store *a = NULL;
    store *b = NULL;

    (void)state;
    assert_int_equal(store_open_sqlite(path, &a, NULL), SD_OK);
    assert_int_equal(store_open_sqlite(path, &b, NULL), SD_OK);
    assert_int_equal(store_relax_durability(b, NULL), SD_OK);
    assert_true(scalar(b, "PRAGMA synchronous") == 1); /* NORMAL */
    assert_true(scalar(a, "PRAGMA synchronous") == 2); /* FULL, the default */
    store_close(b);
    store_close(a);
}

static void sqlite_refuses_a_database_from_a_newer_version(void **state)
{
    store *s = NULL;
    sd_err err = SD_ERR_INIT;

    (void)state;
    assert_int_equal(store_open_sqlite(path, &s, NULL), SD_OK);
    assert_int_equal(store_exec(s,
                                "INSERT INTO schema_migrations VALUES ('999_future.sql', 0);"
                                "INSERT INTO meta VALUES ('keep', 'me')",
                                NULL),
                     SD_OK);
    store_close(s);
    assert_int_equal(store_open_sqlite(path, &s, &err), SD_E_CONFLICT);
    assert_null(s);
    assert_non_null(strstr(err.msg, "999_future.sql"));
    /* nothing was overwritten: remove the marker and the data is intact */
    assert_int_equal(store_open_sqlite(":memory:", &s, NULL), SD_OK);
    store_close(s);
}

static void sqlite_binds_reads_and_rolls_back(void **state)
{
    store *s = NULL;
    store_stmt *st = NULL;
    bool row = false;
    size_t n = 0;
    const uint8_t *blob;

    (void)state;
    assert_int_equal(store_open_sqlite(":memory:", &s, NULL), SD_OK);
    assert_int_equal(store_exec(s, "CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER, b BLOB)", NULL),
                     SD_OK);
    assert_int_equal(store_prepare(s, "INSERT INTO t VALUES (?, ?, ?)", &st, NULL), SD_OK);
    assert_int_equal(store_bind_text(st, 1, "a", NULL), SD_OK);
    assert_int_equal(store_bind_int64(st, 2, INT64_MAX, NULL), SD_OK);
    assert_int_equal(store_bind_blob(st, 3, "\x00\x01\x02", 3, NULL), SD_OK);
    assert_int_equal(store_step_done(st, NULL), SD_OK);
    assert_int_equal(store_changes(s), 1);
    store_stmt_free(st);

    assert_int_equal(store_begin(s, NULL), SD_OK);
    assert_int_equal(store_begin(s, NULL), SD_E_INTERNAL); /* not nestable */
    assert_int_equal(store_exec(s, "DELETE FROM t", NULL), SD_OK);
    store_rollback(s);

    assert_int_equal(store_prepare(s, "SELECT k, n, b FROM t", &st, NULL), SD_OK);
    assert_int_equal(store_step(st, &row, NULL), SD_OK);
    assert_true(row);
    assert_string_equal(store_col_text(st, 0), "a");
    assert_true(store_col_int64(st, 1) == INT64_MAX);
    blob = store_col_blob(st, 2, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(blob, "\x00\x01\x02", 3);
    assert_int_equal(store_step(st, &row, NULL), SD_OK);
    assert_false(row);
    store_stmt_free(st);
    store_close(s);
}

static void sqlite_reports_a_duplicate_key_as_a_conflict(void **state)
{
    store *s = NULL;
    sd_err err = SD_ERR_INIT;

    (void)state;
    assert_int_equal(store_open_sqlite(":memory:", &s, NULL), SD_OK);
    assert_int_equal(
        store_exec(s, "CREATE TABLE t (k TEXT PRIMARY KEY); INSERT INTO t VALUES ('x')", NULL),
        SD_OK);
    assert_int_equal(store_exec(s, "INSERT INTO t VALUES ('x')", &err), SD_E_CONFLICT);
    assert_non_null(strstr(err.msg, "UNIQUE"));
    assert_true(scalar(s, "SELECT count(*) FROM t") == 1);
    store_close(s);
}

/* A database that cannot grow (max_page_count stands in for a full file
 * system: SQLite answers SQLITE_FULL for both) is SD_E_NOSPACE, so the API
 * can say the storage is full rather than that it broke. */
static void sqlite_reports_a_full_database_as_no_space(void **state)
{
    store *s = NULL;
    sd_err err = SD_ERR_INIT;
    sd_code rc = SD_OK;

    (void)state;
    assert_int_equal(store_open_sqlite(":memory:", &s, NULL), SD_OK);
    assert_int_equal(store_exec(s, "CREATE TABLE t (b BLOB)", NULL), SD_OK);
    /* below the limit: the same insert succeeds */
    assert_int_equal(store_exec(s, "INSERT INTO t VALUES (zeroblob(1000))", NULL), SD_OK);
    assert_int_equal(store_exec(s, "PRAGMA max_page_count = 8", NULL), SD_OK);
    for (int i = 0; i < 100 && rc == SD_OK; i++) {
        rc = store_exec(s, "INSERT INTO t VALUES (zeroblob(1000))", &err);
    }
    assert_int_equal(rc, SD_E_NOSPACE);
    assert_non_null(strstr(err.msg, "full"));
    store_close(s);
}

static void sqlite_refuses_bad_sql_and_an_unopenable_path(void **state)
{
    store *s = NULL;
    store_stmt *st = NULL;

    (void)state;
    assert_int_equal(store_open_sqlite("/nonexistent-dir/x.db", &s, NULL), SD_E_IO);
    assert_null(s);
    assert_int_equal(store_open_sqlite(":memory:", &s, NULL), SD_OK);
    assert_int_equal(store_prepare(s, "SELEKT 1", &st, NULL), SD_E_INTERNAL);
    assert_null(st);
    assert_int_equal(store_commit(s, NULL), SD_E_INTERNAL);
    store_close(s);
}

static void sqlite_step_fails_cleanly_when_injected(void **state)
{
    (void)state;
#ifdef SD_FAULTS
    store *s = NULL;
    store_stmt *st = NULL;
    bool row = true;

    assert_int_equal(store_open_sqlite(":memory:", &s, NULL), SD_OK);
    assert_int_equal(store_prepare(s, "SELECT 1", &st, NULL), SD_OK);
    sd_fault_arm("store.step", 1, false);
    assert_int_equal(store_step(st, &row, NULL), SD_E_IO);
    assert_false(row);
    assert_int_equal(store_step(st, &row, NULL), SD_OK);
    assert_true(row);
    store_stmt_free(st);
    store_close(s);
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sqlite_creates_a_private_wal_database_with_migrations,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(sqlite_relaxes_durability_on_one_handle_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(sqlite_refuses_a_database_from_a_newer_version, setup,
                                        teardown),
        cmocka_unit_test(sqlite_binds_reads_and_rolls_back),
        cmocka_unit_test(sqlite_reports_a_duplicate_key_as_a_conflict),
        cmocka_unit_test(sqlite_reports_a_full_database_as_no_space),
        cmocka_unit_test(sqlite_refuses_bad_sql_and_an_unopenable_path),
        cmocka_unit_test(sqlite_step_fails_cleanly_when_injected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
