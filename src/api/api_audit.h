/* api_audit.h: the audit log, one JSON line per KMS call.
 *
 * Each line records who (account, AccessKeyId), what (action, key id and
 * version, resource), when, the result (Code or "OK", HTTP status) and the
 * RequestId.  It never holds key material, plaintexts, ciphertext blobs,
 * signatures or secrets: the record has no field that could carry them.
 * The file is opened O_APPEND (0600), so each line lands whole.
 * Thread model: api_audit_write is thread-safe. */
#ifndef SD_API_AUDIT_H
#define SD_API_AUDIT_H

#include <stdint.h>

#include "common/common.h"

typedef struct api_audit api_audit;

typedef struct api_audit_rec {
    int64_t time; /* Unix seconds */
    const char *request_id;
    const char *account;
    const char *access_key_id;
    const char *action;
    const char *key_id;         /* may be NULL */
    const char *key_version_id; /* may be NULL */
    const char *resource;       /* alias or other resource; may be NULL */
    const char *code;           /* "OK" or the error Code */
    int status;
} api_audit_rec;

typedef struct api_audit_filter {
    const char *account; /* NULL: any */
    const char *action;
    const char *key_id;
    int64_t since; /* 0: from the start */
} api_audit_filter;

/* Caller owns *out.  Creates the file 0600 if needed.  SD_E_IO. */
SD_MUST_USE sd_code api_audit_open(const char *path, api_audit **out, sd_err *err);
/* Appends one line; a failure is logged, never returned (the call it
 * records has already happened). */
void api_audit_write(api_audit *a, const api_audit_rec *r);
void api_audit_close(api_audit *a);

/* Calls fn with each line of the file at path that matches f (lines are
 * parsed leniently: one that cannot be read is skipped and counted). */
typedef void (*api_audit_line_fn)(void *ctx, const char *line);
SD_MUST_USE sd_code api_audit_query(const char *path, const api_audit_filter *f,
                                    api_audit_line_fn fn, void *ctx, sd_err *err);

#endif
