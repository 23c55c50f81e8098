/* store_sqlite.c: the store interface on SQLite (the embedded default).
 *
 * The database runs in WAL mode with synchronous=FULL (a committed
 * transaction survives power loss), foreign keys on, secure_delete on (freed
 * pages are zeroed, so destroyed wrapped key material does not linger in the
 * file) and a 5 s busy timeout.  Migrations are applied at open, each in its
 * own transaction with its schema_migrations row. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "store/store_int.h"

/* Prepared statements are cached per handle, keyed by their SQL text:
 * parsing a statement costs more than running the point lookups the KMS
 * makes on every call.  A cached statement is reset (releasing its read
 * transaction) when the caller frees it, and finalized at close. */
#define STMT_CACHE_MAX 64

struct store_stmt {
    store *s;
    sqlite3_stmt *st;
    int slot; /* index in the cache, -1 when not cached */
};

typedef struct stmt_slot {
    char *sql;
    store_stmt *stmt;
    bool busy;
} stmt_slot;

struct store {
    sqlite3 *db;
    bool in_tx;
    stmt_slot cache[STMT_CACHE_MAX];
    int ncache;
};

static sd_code sqlite_fail(store *s, int src, sd_err *err, const char *file, int line,
                           const char *what)
{
    sd_code code = SD_E_IO;
    int prim = src & 0xff;

    if (prim == SQLITE_CONSTRAINT) {
        code = SD_E_CONFLICT;
    } else if (prim == SQLITE_NOMEM) {
        code = SD_E_NOMEM;
    } else if (prim == SQLITE_MISUSE || prim == SQLITE_RANGE || prim == SQLITE_ERROR) {
        code = SD_E_INTERNAL;
    } else if (prim == SQLITE_FULL ||
               (prim == SQLITE_IOERR && s != NULL && s->db != NULL &&
                sd_errno_kind(sqlite3_system_errno(s->db)) == SD_E_NOSPACE)) {
        /* SQLITE_FULL, or a write or fsync of the WAL that ran out of room */
        code = SD_E_NOSPACE;
    }
    return sd_err_set(err, code, file, line, "%s: %s", what,
                      s != NULL && s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(src));
}

sd_code store_exec(store *s, const char *sql, sd_err *err)
{
    int src = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    if (src != SQLITE_OK) {
        return sqlite_fail(s, src, err, SD_HERE, "SQL failed");
    }
    return SD_OK;
}

sd_code store_begin(store *s, sd_err *err)
{
    sd_code rc = SD_OK;

    SD_ENSURE(!s->in_tx, err, SD_E_INTERNAL, "nested transaction");
    SD_TRY(store_exec(s, "BEGIN IMMEDIATE", err));
    s->in_tx = true;
out:
    return rc;
}

sd_code store_commit(store *s, sd_err *err)
{
    sd_code rc = SD_OK;

    SD_ENSURE(s->in_tx, err, SD_E_INTERNAL, "commit without a transaction");
    rc = store_exec(s, "COMMIT", err);
    if (rc != SD_OK) {
        store_rollback(s);
        goto out;
    }
    s->in_tx = false;
out:
    return rc;
}

void store_rollback(store *s)
{
    if (s != NULL && s->in_tx) {
        /* a failed rollback leaves SQLite to roll back on close */
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        s->in_tx = false;
    }
}

sd_code store_prepare(store *s, const char *sql, store_stmt **out, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    int src;

    *out = NULL;
    for (int i = 0; i < s->ncache; i++) {
        if (!s->cache[i].busy && strcmp(s->cache[i].sql, sql) == 0) {
            s->cache[i].busy = true;
            *out = s->cache[i].stmt;
            return SD_OK;
        }
    }
    st = calloc(1, sizeof *st);
    SD_ENSURE(st != NULL, err, SD_E_NOMEM, "out of memory");
    st->s = s;
    st->slot = -1;
    src = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->st, NULL);
    if (src != SQLITE_OK) {
        rc = sqlite_fail(s, src, err, SD_HERE, "cannot prepare SQL");
        goto out;
    }
    if (s->ncache < STMT_CACHE_MAX) {
        char *copy = strdup(sql);
        if (copy != NULL) { /* without a copy the statement is simply not cached */
            st->slot = s->ncache++;
            s->cache[st->slot] = (stmt_slot){copy, st, true};
        }
    }
    *out = st;
    st = NULL;
out:
    store_stmt_free(st);
    return rc;
}

static void finalize(store_stmt *st)
{
    sqlite3_finalize(st->st);
    free(st);
}

void store_stmt_free(store_stmt *st)
{
    if (st == NULL) {
        return;
    }
    if (st->slot >= 0) {
        sqlite3_reset(st->st);
        sqlite3_clear_bindings(st->st);
        st->s->cache[st->slot].busy = false;
        return;
    }
    finalize(st);
}

void store_stmt_reset(store_stmt *st)
{
    sqlite3_reset(st->st);
    sqlite3_clear_bindings(st->st);
}

/* Statement entry points check for a NULL statement (SD_NEVER: a caller
 * bug) so a failed prepare can never be stepped. */
#define STMT_GUARD(st, err)                                                   \
    do {                                                                      \
        if (SD_NEVER((st) == NULL)) {                                         \
            return sd_err_set((err), SD_E_INTERNAL, SD_HERE, "no statement"); \
        }                                                                     \
    } while (0)

static sd_code bind_check(store_stmt *st, int src, sd_err *err)
{
    if (src != SQLITE_OK) {
        return sqlite_fail(st->s, src, err, SD_HERE, "cannot bind a parameter");
    }
    return SD_OK;
}

sd_code store_bind_text(store_stmt *st, int idx, const char *v, sd_err *err)
{
    STMT_GUARD(st, err);
    if (v == NULL) {
        return store_bind_null(st, idx, err);
    }
    return bind_check(st, sqlite3_bind_text(st->st, idx, v, -1, SQLITE_TRANSIENT), err);
}

sd_code store_bind_int64(store_stmt *st, int idx, int64_t v, sd_err *err)
{
    STMT_GUARD(st, err);
    return bind_check(st, sqlite3_bind_int64(st->st, idx, v), err);
}

sd_code store_bind_blob(store_stmt *st, int idx, const void *p, size_t n, sd_err *err)
{
    STMT_GUARD(st, err);
    if (n > (size_t)INT32_MAX) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "blob of %zu bytes is too large", n);
    }
    if (n == 0) {
        return bind_check(st, sqlite3_bind_zeroblob(st->st, idx, 0), err);
    }
    return bind_check(st, sqlite3_bind_blob(st->st, idx, p, (int)n, SQLITE_TRANSIENT), err);
}

sd_code store_bind_null(store_stmt *st, int idx, sd_err *err)
{
    STMT_GUARD(st, err);
    return bind_check(st, sqlite3_bind_null(st->st, idx), err);
}

sd_code store_step(store_stmt *st, bool *row, sd_err *err)
{
    int src;

    *row = false;
    STMT_GUARD(st, err);
    if (SD_FAULT("store.step")) {
        return sd_err_set(err, SD_E_IO, SD_HERE, "injected store failure");
    }
    src = sqlite3_step(st->st);
    if (src == SQLITE_ROW) {
        *row = true;
        return SD_OK;
    }
    if (src == SQLITE_DONE) {
        return SD_OK;
    }
    sqlite3_reset(st->st);
    return sqlite_fail(st->s, src, err, SD_HERE, "SQL step failed");
}

sd_code store_step_done(store_stmt *st, sd_err *err)
{
    sd_code rc = SD_OK;
    bool row = true;

    while (row) {
        SD_TRY(store_step(st, &row, err));
    }
out:
    return rc;
}

int store_param_count(store_stmt *st)
{
    return sqlite3_bind_parameter_count(st->st);
}

int store_col_count(store_stmt *st)
{
    return sqlite3_column_count(st->st);
}

bool store_col_is_null(store_stmt *st, int col)
{
    return sqlite3_column_type(st->st, col) == SQLITE_NULL;
}

store_type store_col_type(store_stmt *st, int col)
{
    switch (sqlite3_column_type(st->st, col)) {
    case SQLITE_NULL:
        return STORE_TYPE_NULL;
    case SQLITE_INTEGER:
        return STORE_TYPE_INT;
    case SQLITE_TEXT:
        return STORE_TYPE_TEXT;
    case SQLITE_BLOB:
        return STORE_TYPE_BLOB;
    default:
        return STORE_TYPE_OTHER;
    }
}

int64_t store_col_int64(store_stmt *st, int col)
{
    return sqlite3_column_int64(st->st, col);
}

const char *store_col_text(store_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st->st, col);
    return t != NULL ? (const char *)t : "";
}

const uint8_t *store_col_blob(store_stmt *st, int col, size_t *len)
{
    const void *p = sqlite3_column_blob(st->st, col);
    int n = sqlite3_column_bytes(st->st, col);
    *len = n > 0 ? (size_t)n : 0;
    return p;
}

int64_t store_changes(store *s)
{
    return sqlite3_changes64(s->db);
}

sd_code store_relax_durability(store *s, sd_err *err)
{
    return store_exec(s, "PRAGMA synchronous=NORMAL", err);
}

sd_code store_checkpoint(store *s, sd_err *err)
{
    int src = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    if (src != SQLITE_OK && src != SQLITE_BUSY) {
        return sqlite_fail(s, src, err, SD_HERE, "checkpoint failed");
    }
    return SD_OK;
}

sd_code store_open_sqlite(const char *path, store **out, sd_err *err)
{
    sd_code rc = SD_OK;
    store *s = NULL;
    int src;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;

    *out = NULL;
    if (strcmp(path, ":memory:") != 0) {
        /* Create the file 0600 ourselves (SQLite would honour the umask),
         * but only when it does not exist: closing any descriptor of a file
         * drops every POSIX lock this process holds on it, including the
         * shared lock of another connection here; without it, a second
         * process may checkpoint and delete the WAL under that connection,
         * which then reads a stale database. */
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        SD_ENSURE(fd >= 0 || errno == EEXIST, err, SD_E_IO, "cannot create the database %s", path);
        if (fd >= 0) {
            close(fd);
        }
    }
    s = calloc(1, sizeof *s);
    SD_ENSURE(s != NULL, err, SD_E_NOMEM, "out of memory");
    src = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (src != SQLITE_OK) {
        rc = sqlite_fail(s, src, err, SD_HERE, "cannot open the database");
        goto out;
    }
    sqlite3_busy_timeout(s->db, 5000);
    SD_TRY(store_exec(s,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                      "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;",
                      err));
    SD_TRY(store__migrate(s, path, err));
    *out = s;
    s = NULL;
out:
    store_close(s);
    return rc;
}

void store_close(store *s)
{
    if (s == NULL) {
        return;
    }
    store_rollback(s);
    for (int i = 0; i < s->ncache; i++) {
        /* Cached statements are only ever reset by store_stmt_free (their
         * slot is >= 0), so each is finalized here exactly once; the
         * analyzer cannot relate the slot to the free. */
        finalize(s->cache[i].stmt); // NOLINT(clang-analyzer-unix.Malloc)
        free(s->cache[i].sql);
    }
    sqlite3_close(s->db);
    free(s);
}
