/* store: the metadata store interface (SQL through one set of functions).
 *
 * Modules keep their metadata in relational tables and talk SQL through this
 * interface.  Two layers:
 *   - the row helpers (store_run, store_query_one, store_query/store_next,
 *     store_count): typed argument lists bound in one call, rows read into a
 *     caller's struct through a column table.  Modules use these; they are
 *     written once, in store_query.c, on top of the primitives.
 *   - the primitives (store_prepare, store_bind_*, store_step, store_col_*,
 *     transactions), which each backend implements: store_sqlite.c now, a
 *     PostgreSQL one (multi-node) later.  TODO(#13): the ecs module still
 *     calls them directly; once it uses the helpers, they become internal.
 * The SQL is the portable subset that SQLite and PostgreSQL share, with
 * plain `?` placeholders (not ?NNN), in argument order; the PostgreSQL
 * backend rewrites them to $1, $2, ... at prepare (outside quoted
 * literals).  SQLite in WAL mode is the embedded
 * default.
 *
 * Schema: every file src/store/schema/NNN_<name>.sql is embedded at build
 * time and applied once, in NNN order, inside a transaction; applied files are
 * recorded by name in table schema_migrations, so a module adding its own
 * file never disturbs another's.  A database with a migration this binary
 * does not know is refused (a downgrade would misread it).
 *
 * Secrets: no plaintext key material may be bound to a statement.  SQLite
 * runs with secure_delete on, so deleted rows are overwritten in the file.
 *
 * Thread model: a store handle and its statements belong to one thread at a
 * time.  Open one handle per thread on the same path for concurrency (WAL
 * lets readers run beside one writer; busy waits up to 5 s). */
#ifndef SD_STORE_H
#define SD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

typedef struct store store;
typedef struct store_stmt store_stmt;

/* Caller owns *out.  path ":memory:" gives a private in-memory database.
 * Creates the file (0600) if needed and applies pending migrations.
 * SD_E_IO: cannot open; SD_E_CONFLICT: the database is newer than this binary. */
SD_MUST_USE sd_code store_open_sqlite(const char *path, store **out, sd_err *err);
/* Finalises nothing: every statement must be freed first.  Accepts NULL. */
void store_close(store *s);

/* Runs one or more statements without results. */
SD_MUST_USE sd_code store_exec(store *s, const char *sql, sd_err *err);

/* Transactions: begin takes the write lock at once (BEGIN IMMEDIATE in
 * SQLite), so a transaction never fails half-way for lack of it.  Not
 * nestable. */
SD_MUST_USE sd_code store_begin(store *s, sd_err *err);
SD_MUST_USE sd_code store_commit(store *s, sd_err *err);
/* Rolls back if a transaction is open; safe to call in any out: block. */
void store_rollback(store *s);

/* Caller owns *out; free it with store_stmt_free before store_close. */
SD_MUST_USE sd_code store_prepare(store *s, const char *sql, store_stmt **out, sd_err *err);
void store_stmt_free(store_stmt *st);
/* Clears bindings and rewinds, to run the statement again. */
void store_stmt_reset(store_stmt *st);

/* Binds are 1-based, as in SQL. */
SD_MUST_USE sd_code store_bind_text(store_stmt *st, int idx, const char *v, sd_err *err);
SD_MUST_USE sd_code store_bind_int64(store_stmt *st, int idx, int64_t v, sd_err *err);
SD_MUST_USE sd_code store_bind_blob(store_stmt *st, int idx, const void *p, size_t n, sd_err *err);
SD_MUST_USE sd_code store_bind_null(store_stmt *st, int idx, sd_err *err);

/* Runs the statement one step: *row is true when a result row is ready,
 * false when done.  SD_E_CONFLICT on a constraint violation (unique key),
 * SD_E_IO on storage failure. */
SD_MUST_USE sd_code store_step(store_stmt *st, bool *row, sd_err *err);
/* Runs a statement that returns no rows to completion. */
SD_MUST_USE sd_code store_step_done(store_stmt *st, sd_err *err);

/* The number of `?` placeholders in the statement. */
int store_param_count(store_stmt *st);

/* Columns are 0-based.  Text and blob pointers are borrowed until the next
 * step, reset or free. */
int store_col_count(store_stmt *st);
bool store_col_is_null(store_stmt *st, int col);
int64_t store_col_int64(store_stmt *st, int col);
/* Never NULL: a NULL column reads as "". */
const char *store_col_text(store_stmt *st, int col);
const uint8_t *store_col_blob(store_stmt *st, int col, size_t *len);

/* What a column of the current row holds (the primitive behind the row
 * helpers' type checks). */
typedef enum store_type {
    STORE_TYPE_NULL,
    STORE_TYPE_INT,
    STORE_TYPE_TEXT,
    STORE_TYPE_BLOB,
    STORE_TYPE_OTHER, /* a floating-point value: no table here stores one */
} store_type;
store_type store_col_type(store_stmt *st, int col);

/* Rows changed by the last INSERT/UPDATE/DELETE on this handle. */
int64_t store_changes(store *s);

/* Relaxes durability on this handle only: its commits survive a crash of
 * the process but the last ones may be lost on power failure or an OS
 * crash (SQLite: synchronous=NORMAL in WAL mode, no fsync per commit).
 * For high-rate records whose rare loss is tolerable (replay nonces); a
 * handle that writes key material keeps the default. */
SD_MUST_USE sd_code store_relax_durability(store *s, sd_err *err);

/* Makes every committed transaction durable and shrinks the WAL
 * (a checkpoint); used after destroying key material. */
SD_MUST_USE sd_code store_checkpoint(store *s, sd_err *err);

/* ---- row helpers ----------------------------------------------------------
 *
 * Arguments are a list of tagged values, bound in order to the `?`s:
 *
 *     SD_TRY(store_run(s, "UPDATE t SET n = ? WHERE k = ?",
 *                      STORE_ARGS(STORE_INT(n), STORE_TEXT(k)), err));
 *
 * STORE_TEXT(NULL) binds NULL.  Text and blobs are copied at bind time, so
 * the arguments need only live for the call.  STORE_NO_ARGS when there are
 * none.  The number of values must match the number of `?`s (SD_E_INTERNAL
 * otherwise, before the statement runs).
 *
 * Rows are read through a column table, one entry per result column in
 * SELECT order, into a caller's struct:
 *
 *     static const store_col key_cols[] = {
 *         STORE_COL(kms_key_meta, key_id),      (char[]: bounded text copy)
 *         STORE_COL(kms_key_meta, created),     (int64_t, int, bool, uint64_t...)
 *         STORE_COL_BLOB(row, wrapped, wrapped_len), (uint8_t[] + size_t)
 *         STORE_COL(row, dk),                   (sd_buf: bounded by its max)
 *         STORE_COL_DUP(row, blob, blob_len, 4096), (uint8_t *: a malloc'd copy)
 *         STORE_COL_SKIP,                       (a column nobody reads)
 *     };
 *     SD_TRY(store_query_one(s, sql, args, STORE_COLS(key_cols), &m, &found, err));
 *
 * STORE_COL picks the conversion from the field's type at compile time (a
 * field of another type does not compile).  Guarantees, each a
 * SD_E_INTERNAL naming the column (a schema/code mismatch, never input):
 *   - the table has exactly as many entries as the statement has columns;
 *   - an integer field reads only an integer column, a text field only text,
 *     a blob field only a blob;
 *   - a text value that does not fit its array (with its NUL), a blob that
 *     does not fit its array or its sd_buf's max, an integer out of the
 *     field's range (int, unsigned, uint64_t) is an error: nothing is
 *     truncated; a bool field takes any integer, non-zero as true;
 *   - NULL reads as "" for text, 0 for integers and false, length 0 for
 *     blobs.
 * A STORE_COL_DUP field receives a new allocation at each row read (NULL
 * for an empty or NULL blob), which the caller owns and frees with free(),
 * also after an error; a blob over the given maximum is an error.
 * On an error the row struct may be partly written (an sd_buf field keeps
 * its allocation; the caller frees it as usual).
 *
 * Thread model: as the primitives (one thread per handle at a time). */

typedef enum store_arg_kind {
    STORE_ARG_END = 0, /* terminates a STORE_ARGS list */
    STORE_ARG_NULL,
    STORE_ARG_TEXT,
    STORE_ARG_INT,
    STORE_ARG_BLOB,
} store_arg_kind;

typedef struct store_arg {
    store_arg_kind kind;
    const char *text;
    int64_t i;
    const void *p;
    size_t n;
} store_arg;

#define STORE_TEXT(s)                       \
    {                                       \
        .kind = STORE_ARG_TEXT, .text = (s) \
    }
#define STORE_INT(v)                             \
    {                                            \
        .kind = STORE_ARG_INT, .i = (int64_t)(v) \
    }
#define STORE_BLOB(ptr, len)                           \
    {                                                  \
        .kind = STORE_ARG_BLOB, .p = (ptr), .n = (len) \
    }
#define STORE_NULL             \
    {                          \
        .kind = STORE_ARG_NULL \
    }
#define STORE_ARGS(...) ((const store_arg[]){__VA_ARGS__, {.kind = STORE_ARG_END}})
#define STORE_NO_ARGS   ((const store_arg *)NULL)

typedef enum store_col_kind {
    STORE_COL_KIND_SKIP,
    STORE_COL_KIND_TEXT, /* char[size] */
    STORE_COL_KIND_I64,  /* int64_t */
    STORE_COL_KIND_I32,  /* int */
    STORE_COL_KIND_U64,  /* uint64_t */
    STORE_COL_KIND_U32,  /* unsigned */
    STORE_COL_KIND_BOOL, /* bool: any non-zero integer is true */
    STORE_COL_KIND_BLOB, /* uint8_t[size], length in the size_t at len_off */
    STORE_COL_KIND_BUF,  /* sd_buf, replaced, bounded by its max */
    STORE_COL_KIND_DUP,  /* uint8_t *, malloc'd, at most size bytes, length at len_off */
} store_col_kind;

typedef struct store_col {
    store_col_kind kind;
    size_t off;     /* offsetof the field in the row struct */
    size_t size;    /* sizeof the field; STORE_COL_KIND_DUP: the largest blob */
    size_t len_off; /* STORE_COL_KIND_BLOB, _DUP: offsetof its size_t length */
} store_col;

#define STORE_COL_KIND_OF(T, f) \
    _Generic(((T *)0)->f, char *: STORE_COL_KIND_TEXT, int64_t: STORE_COL_KIND_I64,       \
             int: STORE_COL_KIND_I32, uint64_t: STORE_COL_KIND_U64,                       \
             unsigned: STORE_COL_KIND_U32, bool: STORE_COL_KIND_BOOL, sd_buf: STORE_COL_KIND_BUF)
#define STORE_COL(T, f)                                                 \
    {                                                                   \
        STORE_COL_KIND_OF(T, f), offsetof(T, f), sizeof(((T *)0)->f), 0 \
    }
#define STORE_COL_BLOB(T, f, lenf)                                                  \
    {                                                                               \
        STORE_COL_KIND_BLOB, offsetof(T, f), sizeof(((T *)0)->f), offsetof(T, lenf) \
    }
#define STORE_COL_DUP(T, f, lenf, max)                               \
    {                                                                \
        STORE_COL_KIND_DUP, offsetof(T, f), (max), offsetof(T, lenf) \
    }
#define STORE_COL_SKIP               \
    {                                \
        STORE_COL_KIND_SKIP, 0, 0, 0 \
    }
#define STORE_COLS(table) (table), (sizeof(table) / sizeof((table)[0]))

/* Runs a statement that returns no rows (INSERT, UPDATE, DELETE, DDL).
 * SD_E_CONFLICT on a constraint violation, SD_E_IO on storage failure. */
SD_MUST_USE sd_code store_run(store *s, const char *sql, const store_arg *args, sd_err *err);

/* Reads the first row of a query into *row.  With found != NULL, *found
 * says whether there was a row (and *row is untouched when not); with found
 * NULL, no row is SD_E_NOT_FOUND.  Errors as above. */
SD_MUST_USE sd_code store_query_one(store *s, const char *sql, const store_arg *args,
                                    const store_col *cols, size_t ncols, void *row, bool *found,
                                    sd_err *err);

/* The integer in the first column of the first row, 0 when there is no row
 * or it is NULL: for "SELECT count(*) ..." and "SELECT 1 ... LIMIT 1". */
SD_MUST_USE sd_code store_count(store *s, const char *sql, const store_arg *args, int64_t *out,
                                sd_err *err);

/* Iteration: store_query prepares and binds (caller owns *out: free it with
 * store_stmt_free, also after an error), then each store_next reads one row
 * into *row and sets *have, false after the last row. */
SD_MUST_USE sd_code store_query(store *s, const char *sql, const store_arg *args, store_stmt **out,
                                sd_err *err);
SD_MUST_USE sd_code store_next(store_stmt *st, const store_col *cols, size_t ncols, void *row,
                               bool *have, sd_err *err);

#endif
