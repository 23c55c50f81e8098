/* sd_kv: "key = value" text files (the server's config, the CLI's profile).
 *
 * Format: one `key = value` per line; blank lines and lines starting with
 * '#' are ignored; whitespace around keys and values is trimmed; keys are
 * [A-Za-z0-9_.-]+; values run to the end of the line (no quoting, no
 * escapes).  A key given twice, a line without '=', an over-long line or a
 * file over 64 KiB is an error naming the line.
 * sd_kv_free wipes the parsed text: profiles hold secrets.
 * Thread model: an sd_kv is immutable after parsing and may be shared. */
#ifndef SD_KV_H
#define SD_KV_H

#include <stddef.h>

#include "common/sd_err.h"

typedef struct sd_kv sd_kv;

#define SD_KV_MAX_BYTES ((size_t)64 * 1024)

/* Caller owns *out.  SD_E_INVALID names the offending line. */
SD_MUST_USE sd_code sd_kv_parse(const char *text, size_t len, sd_kv **out, sd_err *err);
/* Reads and parses a file.  SD_E_NOT_FOUND if it does not exist, SD_E_IO. */
SD_MUST_USE sd_code sd_kv_load(const char *path, sd_kv **out, sd_err *err);
/* Borrowed value, or NULL when the key is absent. */
const char *sd_kv_get(const sd_kv *kv, const char *key);
/* Number of entries, and the i-th key (for rejecting unknown keys). */
size_t sd_kv_count(const sd_kv *kv);
const char *sd_kv_key(const sd_kv *kv, size_t i);
void sd_kv_free(sd_kv *kv);

#endif
