/* sd_json: the one JSON reader and the one JSON writer.
 *
 * The reader takes request parameters that carry JSON text
 * (EncryptionContext, Tags, TagKeys, DiskIds: alibaba-api.md §4.1) and the
 * CLI's view of responses; the writer (sd_jw) writes API responses, audit
 * lines and, indented, the CLI's output.
 *
 * sd_json_parse builds a read-only tree of the whole document in one
 * allocation-light pass: no recursion (depth is bounded), strings decoded
 * to UTF-8 and NUL-terminated (a \u0000 escape is refused, so a decoded
 * string never hides a NUL), numbers kept as their text.  A \uXXXX escape
 * becomes its UTF-8; a surrogate pair becomes one 4-byte sequence, and a
 * lone or misordered surrogate is refused, never replaced.  Strict RFC 8259:
 * one value, no trailing commas, no comments, nothing after the value but
 * white space.
 * Thread model: a document is immutable once parsed and may be read from
 * any thread; it belongs to whoever parsed it.  A writer belongs to one
 * caller. */
#ifndef SD_JSON_H
#define SD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sd_buf.h"
#include "common/sd_err.h"

typedef enum sd_json_type {
    SD_JSON_NULL,
    SD_JSON_BOOL,
    SD_JSON_NUMBER,
    SD_JSON_STRING,
    SD_JSON_ARRAY,
    SD_JSON_OBJECT,
} sd_json_type;

typedef struct sd_json_val sd_json_val;
struct sd_json_val {
    sd_json_type type;
    const char *key;    /* member name when the parent is an object, else NULL */
    const char *str;    /* STRING: decoded text; NUMBER: its text; BOOL: "true"/"false"; else "" */
    size_t len;         /* bytes of str */
    size_t n;           /* ARRAY/OBJECT: number of children */
    sd_json_val *child; /* ARRAY/OBJECT: first child */
    sd_json_val *next;  /* next sibling */
};

typedef struct sd_json_doc sd_json_doc;

#define SD_JSON_DEPTH_MAX 16

/* Caller owns *out (sd_json_doc_free).  At most max_values values in all.
 * SD_E_INVALID (api Code InvalidParameter) names what is wrong and where;
 * SD_E_NOMEM. */
SD_MUST_USE sd_code sd_json_parse(const char *text, size_t len, size_t max_values,
                                  sd_json_doc **out, sd_err *err);
/* The top-level value (never NULL for a parsed document). */
const sd_json_val *sd_json_root(const sd_json_doc *d);
/* The first member of obj called key, or NULL (also when obj is no object). */
const sd_json_val *sd_json_get(const sd_json_val *obj, const char *key);
void sd_json_doc_free(sd_json_doc *d);
/* The string member key of obj, or NULL (absent, or not a string). */
const char *sd_json_get_str(const sd_json_val *obj, const char *key);

/* ---- writer -------------------------------------------------------------- */

/* A streaming writer into a bounded sd_buf.  Errors are sticky: the first
 * failure is kept in the writer and every later call is a no-op, so a
 * caller writes a whole document and checks sd_jw_finish once.  Strings
 * are escaped per RFC 8259 (control bytes and DEL as \u00XX); bytes >=
 * 0x80 pass through, so UTF-8 stays UTF-8. */

/* Containers open at once: a parsed document fits (SD_JSON_DEPTH_MAX). */
#define SD_JW_DEPTH (SD_JSON_DEPTH_MAX + 2)

typedef struct sd_jw {
    sd_buf *out;
    sd_err *err;
    sd_code rc;
    int depth;
    bool indent; /* two spaces per level, "key": value, one member a line */
    bool first[SD_JW_DEPTH];
} sd_jw;

/* Starts writing into out (appending), compact. */
void sd_jw_init(sd_jw *j, sd_buf *out, sd_err *err);
/* sd_jw_init, indented two spaces per level; an empty container stays on
 * one line ({} and []). */
void sd_jw_init_indented(sd_jw *j, sd_buf *out, sd_err *err);
/* key is NULL inside arrays and for the top-level value. */
void sd_jw_obj_begin(sd_jw *j, const char *key);
void sd_jw_obj_end(sd_jw *j);
void sd_jw_arr_begin(sd_jw *j, const char *key);
void sd_jw_arr_end(sd_jw *j);
void sd_jw_str(sd_jw *j, const char *key, const char *value);
/* n bytes of value (may contain NULs, escaped as \u0000). */
void sd_jw_strn(sd_jw *j, const char *key, const char *value, size_t n);
void sd_jw_int(sd_jw *j, const char *key, int64_t value);
void sd_jw_bool(sd_jw *j, const char *key, bool value);
/* A parsed value and everything in it, as read (numbers keep their text). */
void sd_jw_val(sd_jw *j, const char *key, const sd_json_val *v);
/* The first error, or SD_E_INTERNAL if containers are left open. */
SD_MUST_USE sd_code sd_jw_finish(sd_jw *j);

#endif
