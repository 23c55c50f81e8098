/* srv_gc.c: `sealdisk gc [--dry-run]`, which reclaims the block store's
 * orphan objects (the layers of jobs a crash or kill interrupted) on the
 * host that runs the server, or with --dry-run lists what it would remove.
 *
 * The server reclaims the same objects at each start, so this is for an
 * operator who wants the space back (or to see it) without a restart.  It
 * refuses while a server runs on the data directory: it takes the block
 * store's lock, which the server holds for its whole life, because a
 * running server's jobs have objects that no row names until they finish. */
#include <stdio.h>
#include <string.h>

#include "block/block.h"
#include "server/srv_int.h"

typedef struct gc_total {
    uint64_t bytes;
    bool dry_run;
} gc_total;

static void print_orphan(void *ctx, const char *object, uint64_t bytes)
{
    gc_total *t = ctx;
    t->bytes += bytes;
    printf("%s %s %llu\n", t->dry_run ? "would-remove" : "removed", object,
           (unsigned long long)bytes);
}

static void gc_usage(void)
{
    printf("usage: sealdisk gc [--data-dir DIR] [--dry-run]\n\n"
           "Removes the block store's objects that no disk, snapshot or image\n"
           "names (left by jobs a crash or kill interrupted); --dry-run lists\n"
           "them and removes nothing.  One line per object: what, name, bytes.\n"
           "Refuses while a server runs on DIR (which reclaims them at start).\n");
}

int srv_gc_main(int argc, char **argv)
{
    srv_config c;
    gc_total t = {0, false};
    char path[600];
    sd_err err = SD_ERR_INIT;
    uint64_t n = 0;
    sd_code rc;

    srv_config_defaults(&c);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            gc_usage();
            return 0;
        }
        if (strcmp(a, "--dry-run") == 0) {
            t.dry_run = true;
        } else if (strcmp(a, "--data-dir") == 0 && i + 1 < argc &&
                   strlen(argv[i + 1]) < sizeof c.data_dir) {
            memcpy(c.data_dir, argv[i + 1], strlen(argv[i + 1]) + 1);
            i++;
        } else {
            sd_log(SD_LOG_ERROR, "gc", "bad option '%s' (try --help)", a);
            return 2;
        }
    }
    if (snprintf(path, sizeof path, "%s/blocks", c.data_dir) >= (int)sizeof path) {
        sd_log(SD_LOG_ERROR, "gc", "data directory path too long");
        return 2;
    }
    rc = blk_store_gc_local(path, t.dry_run, print_orphan, &t, &n, &err);
    if (rc != SD_OK) {
        sd_log(SD_LOG_ERROR, "gc", "%s", err.msg);
        return rc == SD_E_CONFLICT ? 3 : 1;
    }
    sd_log(SD_LOG_INFO, "gc", "%s orphan objects: count=%llu bytes=%llu",
           t.dry_run ? "found" : "removed", (unsigned long long)n, (unsigned long long)t.bytes);
    return 0;
}
