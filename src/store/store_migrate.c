/* store_migrate.c: applies the embedded schema migrations at open, for
 * every backend.
 *
 * Each file src/store/schema/NNN_<name>.sql runs once, in name order, in
 * its own transaction together with its schema_migrations row, so a crash
 * leaves a migration either wholly applied and recorded or not at all.  A
 * database recording a migration this binary lacks was written by a newer
 * version, and is refused.  Written over the row helpers only; the
 * migrations themselves use the SQL both backends share. */
#include <string.h>
#include <time.h>

#include "store/store_int.h"

typedef struct migration_row {
    char name[128];
} migration_row;

static const store_col migration_cols[] = {STORE_COL(migration_row, name)};

/* Refuses a database that a newer binary migrated. */
static sd_code refuse_unknown(store *s, sd_err *err)
{
    sd_code rc = SD_OK;
    store_stmt *st = NULL;
    migration_row r;
    bool row = false;

    SD_TRY(store_query(s, "SELECT name FROM schema_migrations", STORE_NO_ARGS, &st, err));
    for (;;) {
        bool known = false;
        SD_TRY(store_next(st, STORE_COLS(migration_cols), &r, &row, err));
        if (!row) {
            break;
        }
        for (size_t i = 0; i < store__migration_count; i++) {
            known = known || strcmp(store__migrations[i].name, r.name) == 0;
        }
        SD_ENSURE(known, err, SD_E_CONFLICT,
                  "the database has schema migration %s, unknown to this version of sealdisk",
                  r.name);
    }
out:
    store_stmt_free(st);
    return rc;
}

sd_code store__migrate(store *s, const char *path, sd_err *err)
{
    sd_code rc = SD_OK;
    size_t applied_now = 0;
    const char *last = NULL;

    SD_TRY(store_exec(s,
                      "CREATE TABLE IF NOT EXISTS schema_migrations ("
                      " name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)",
                      err));
    SD_TRY(refuse_unknown(s, err));
    for (size_t i = 0; i < store__migration_count; i++) {
        const store_migration *m = &store__migrations[i];
        int64_t applied = 0;
        SD_TRY(store_count(s, "SELECT 1 FROM schema_migrations WHERE name = ?",
                           STORE_ARGS(STORE_TEXT(m->name)), &applied, err));
        if (applied != 0) {
            continue;
        }
        SD_TRY(store_begin(s, err));
        SD_TRY(store_exec(s, m->sql, err));
        SD_TRY(store_run(s, "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                         STORE_ARGS(STORE_TEXT(m->name), STORE_INT(time(NULL))), err));
        SD_TRY(store_commit(s, err));
        sd_log(SD_LOG_DEBUG, "store", "applied schema migration db=%s name=%s", path, m->name);
        applied_now++;
        last = m->name;
    }
    /* One line per database: the server opens each several times (one
     * connection per module), and only the first applies anything. */
    if (applied_now > 0) {
        sd_log(SD_LOG_INFO, "store", "schema migrated db=%s applied=%zu latest=%s", path,
               applied_now, last);
    }
out:
    store_rollback(s);
    return rc;
}
