/* api_json.h: a streaming JSON writer for API responses (internal to api).
 *
 * Writes into a bounded sd_buf.  Errors are sticky: the first failure is
 * kept in the writer and every later call is a no-op, so a handler writes
 * its whole response and checks api_json_finish once.  Strings are escaped
 * per RFC 8259; bytes >= 0x80 pass through (responses carry UTF-8).
 * Thread model: a writer belongs to one request. */
#ifndef SD_API_JSON_H
#define SD_API_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"

#define API_JSON_DEPTH 16

typedef struct api_json {
    sd_buf *out;
    sd_err *err;
    sd_code rc;
    int depth;
    bool first[API_JSON_DEPTH];
} api_json;

/* Starts writing into out (appending). */
void api_json_init(api_json *j, sd_buf *out, sd_err *err);
/* key is NULL inside arrays and for the top-level value. */
void api_json_obj_begin(api_json *j, const char *key);
void api_json_obj_end(api_json *j);
void api_json_arr_begin(api_json *j, const char *key);
void api_json_arr_end(api_json *j);
void api_json_str(api_json *j, const char *key, const char *value);
/* n bytes of value (may contain NULs, escaped as \u0000). */
void api_json_strn(api_json *j, const char *key, const char *value, size_t n);
void api_json_int(api_json *j, const char *key, int64_t value);
void api_json_bool(api_json *j, const char *key, bool value);
/* The first error, or SD_E_INTERNAL if objects are left open. */
SD_MUST_USE sd_code api_json_finish(api_json *j);

#endif
