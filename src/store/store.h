/* store: the metadata store interface (SQL over a vtable).
 *
 * Modules keep their metadata in relational tables and talk SQL through this
 * interface: prepared statements with `?` placeholders, typed binds and
 * columns, and transactions.  The SQL is the portable subset that SQLite and
 * PostgreSQL share, so the PostgreSQL implementation (multi-node) can sit
 * behind the same vtable; SQLite in WAL mode is the embedded default.
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

/* Columns are 0-based.  Text and blob pointers are borrowed until the next
 * step, reset or free. */
int store_col_count(store_stmt *st);
bool store_col_is_null(store_stmt *st, int col);
int64_t store_col_int64(store_stmt *st, int col);
/* Never NULL: a NULL column reads as "". */
const char *store_col_text(store_stmt *st, int col);
const uint8_t *store_col_blob(store_stmt *st, int col, size_t *len);

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

#endif
