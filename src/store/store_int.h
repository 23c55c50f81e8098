/* store_int.h: the vtable behind store.h, shared by the implementations. */
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

#endif
