/* store_int.h: what the store's own files share and modules never see: the
 * schema migrations embedded at build time (store_schema.c, generated from
 * schema/NNN_name.sql) and the step that applies them (store_migrate.c), which
 * every backend's open calls.  There is no vtable here: a backend
 * implements the primitives of store.h (store_sqlite.c defines them
 * directly), and TODO(#14) turns them into one when PostgreSQL joins. */
#ifndef SD_STORE_INT_H
#define SD_STORE_INT_H

#include "store/store.h"

typedef struct store_migration {
    const char *name; /* file name, e.g. "010_kms.sql" */
    const char *sql;
} store_migration;

/* The embedded schema files, in name order (generated at build time). */
extern const store_migration store__migrations[];
extern const size_t store__migration_count;

/* Applies the embedded migrations not yet recorded in schema_migrations,
 * each in its own transaction.  path only names the database in logs.
 * SD_E_CONFLICT: the database records a migration this binary lacks;
 * otherwise as store_run. */
SD_MUST_USE sd_code store__migrate(store *s, const char *path, sd_err *err);

#endif
