/* sd_log: one line per event on stderr, ending in key=value pairs.
 *
 *   sd_log(SD_LOG_WARN, "blk", "flush failed: layer=%s errno=%d", id, e);
 *
 * Debug lines are enabled per module (sd_log_set_debug("kms,nbd"), the
 * server's --debug), as nbdkit's -D.  Never pass key material, passphrases,
 * AccessKey secrets, signatures or sector data to these functions.
 * Thread model: safe from any thread; each line is written with one write(2).
 * The configuration is process-wide (the one deliberate global: a process has
 * one stderr). */
#ifndef SD_LOG_H
#define SD_LOG_H

#include "common/sd_err.h"

typedef enum sd_log_level {
    SD_LOG_ERROR = 0,
    SD_LOG_WARN = 1,
    SD_LOG_INFO = 2,
    SD_LOG_DEBUG = 3,
} sd_log_level;

void sd_log(sd_log_level level, const char *module, const char *fmt, ...) SD_PRINTF(3, 4);

/* Lines above this level are dropped (debug lines also need their module on). */
void sd_log_set_level(sd_log_level level);

/* Comma-separated module names whose debug lines are shown; "all" for every
 * module; NULL or "" for none. */
void sd_log_set_debug(const char *modules);

/* Redirects lines to fd (tests capture them); -1 restores stderr. */
void sd_log_set_fd(int fd);

#endif
