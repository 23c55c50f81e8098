/* sd_json: a bounded JSON reader for request parameters that carry JSON
 * text (EncryptionContext, Tags, TagKeys, DiskIds: alibaba-api.md §4.1).
 *
 * sd_json_parse builds a read-only tree of the whole document in one
 * allocation-light pass: no recursion (depth is bounded), strings decoded
 * to UTF-8 and NUL-terminated (a \u0000 escape is refused, so a decoded
 * string never hides a NUL), numbers kept as their text.  Strict RFC 8259:
 * one value, no trailing commas, no comments, nothing after the value but
 * white space.
 * Thread model: a document is immutable once parsed and may be read from
 * any thread; it belongs to whoever parsed it. */
#ifndef SD_JSON_H
#define SD_JSON_H

#include <stdbool.h>
#include <stddef.h>

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

#endif
