/* sd_json.c: the iterative JSON reader.
 *
 * Memory: every value takes at least one byte of input, so the node array
 * is sized min(max_values, len + 1) up front; decoded strings (never longer
 * than their escaped form) and number texts go into one arena of 2*len + 2
 * bytes, each with its NUL.  Nothing else is allocated while parsing.
 * Containers are tracked on an explicit stack of SD_JSON_DEPTH_MAX frames
 * instead of recursion, so hostile nesting costs a clear error, not the
 * C stack. */
#include "common/sd_json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct sd_json_doc {
    sd_json_val *nodes;
    size_t cap;
    size_t used;
    char *arena;
    size_t arena_used;
    sd_json_val root_holder; /* parent of the top-level value while parsing */
};

typedef struct frame {
    sd_json_val *c;
    sd_json_val *last;
} frame;

typedef struct parser {
    const char *s;
    size_t n;
    size_t i;
    sd_json_doc *d;
    frame st[SD_JSON_DEPTH_MAX + 1];
    int depth; /* st[0] is the root holder */
    sd_err *err;
} parser;

static sd_code bad(parser *p, const char *what)
{
    return sd_err_setc(p->err, SD_E_INVALID, "InvalidParameter", SD_HERE,
                       "invalid JSON at byte %zu: %s", p->i, what);
}

static void ws(parser *p)
{
    while (p->i < p->n &&
           (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r')) {
        p->i++;
    }
}

static bool at(const parser *p, char c)
{
    return p->i < p->n && p->s[p->i] == c;
}

static void put(parser *p, char c)
{
    p->d->arena[p->d->arena_used++] = c;
}

static void put_utf8(parser *p, unsigned cp)
{
    if (cp < 0x80) {
        put(p, (char)cp);
    } else if (cp < 0x800) {
        put(p, (char)(0xc0 | (cp >> 6)));
        put(p, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        put(p, (char)(0xe0 | (cp >> 12)));
        put(p, (char)(0x80 | ((cp >> 6) & 0x3f)));
        put(p, (char)(0x80 | (cp & 0x3f)));
    } else {
        put(p, (char)(0xf0 | (cp >> 18)));
        put(p, (char)(0x80 | ((cp >> 12) & 0x3f)));
        put(p, (char)(0x80 | ((cp >> 6) & 0x3f)));
        put(p, (char)(0x80 | (cp & 0x3f)));
    }
}

static bool hex4(parser *p, unsigned *out)
{
    unsigned v = 0;

    if (p->n - p->i < 4) {
        return false;
    }
    for (int k = 0; k < 4; k++) {
        char c = p->s[p->i++];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= (unsigned)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= (unsigned)(c - 'A' + 10);
        } else {
            return false;
        }
    }
    *out = v;
    return true;
}

/* The escape after a backslash. */
static sd_code escape(parser *p)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    const char *hit;
    unsigned cp = 0;
    unsigned lo = 0;
    char c;

    if (p->i >= p->n) {
        return bad(p, "unterminated escape");
    }
    c = p->s[p->i++];
    if (c != 'u') {
        hit = c != '\0' ? strchr(from, c) : NULL;
        if (hit == NULL) {
            return bad(p, "unknown escape");
        }
        put(p, to[hit - from]);
        return SD_OK;
    }
    if (!hex4(p, &cp) || cp == 0 || (cp >= 0xdc00 && cp <= 0xdfff)) {
        return bad(p, "bad \\u escape (NUL and lone surrogates are refused)");
    }
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (p->n - p->i < 2 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u') {
            return bad(p, "lone high surrogate");
        }
        p->i += 2;
        if (!hex4(p, &lo) || lo < 0xdc00 || lo > 0xdfff) {
            return bad(p, "bad low surrogate");
        }
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    put_utf8(p, cp);
    return SD_OK;
}

/* A string at '"' into the arena; *out its text, *len its bytes. */
static sd_code string(parser *p, const char **out, size_t *len)
{
    size_t start = p->d->arena_used;

    p->i++; /* the opening quote */
    while (p->i < p->n) {
        unsigned char c = (unsigned char)p->s[p->i++];
        if (c == '"') {
            *out = p->d->arena + start;
            *len = p->d->arena_used - start;
            put(p, '\0');
            return SD_OK;
        }
        if (c < 0x20) {
            return bad(p, "control character in a string");
        }
        if (c == '\\') {
            sd_code rc = escape(p);
            if (rc != SD_OK) {
                return rc;
            }
        } else {
            put(p, (char)c);
        }
    }
    return bad(p, "unterminated string");
}

static size_t digits(parser *p)
{
    size_t k = 0;

    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
        p->i++;
        k++;
    }
    return k;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? copied to the arena. */
static sd_code number(parser *p, sd_json_val *v)
{
    size_t start = p->i;
    size_t first;

    if (at(p, '-')) {
        p->i++;
    }
    first = p->i;
    if (digits(p) == 0 || (p->s[first] == '0' && p->i - first > 1)) {
        return bad(p, "malformed number");
    }
    if (at(p, '.')) {
        p->i++;
        if (digits(p) == 0) {
            return bad(p, "malformed fraction");
        }
    }
    if (at(p, 'e') || at(p, 'E')) {
        p->i++;
        if (at(p, '+') || at(p, '-')) {
            p->i++;
        }
        if (digits(p) == 0) {
            return bad(p, "malformed exponent");
        }
    }
    v->type = SD_JSON_NUMBER;
    v->str = p->d->arena + p->d->arena_used;
    v->len = p->i - start;
    memcpy(p->d->arena + p->d->arena_used, p->s + start, v->len);
    p->d->arena_used += v->len;
    put(p, '\0');
    return SD_OK;
}

static bool literal(parser *p, const char *word)
{
    size_t k = strlen(word);

    if (p->n - p->i < k || strncmp(p->s + p->i, word, k) != 0) {
        return false;
    }
    p->i += k;
    return true;
}

/* A scalar value (anything but '{' and '['). */
static sd_code scalar(parser *p, sd_json_val *v)
{
    char c = p->s[p->i];

    if (c == '"') {
        v->type = SD_JSON_STRING;
        return string(p, &v->str, &v->len);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        return number(p, v);
    }
    if (literal(p, "true")) {
        *v = (sd_json_val){.type = SD_JSON_BOOL, .key = v->key, .str = "true", .len = 4};
    } else if (literal(p, "false")) {
        *v = (sd_json_val){.type = SD_JSON_BOOL, .key = v->key, .str = "false", .len = 5};
    } else if (literal(p, "null")) {
        *v = (sd_json_val){.type = SD_JSON_NULL, .key = v->key, .str = "", .len = 0};
    } else {
        return bad(p, "unexpected character");
    }
    return SD_OK;
}

/* A new node linked as the last child of the innermost container. */
static sd_code new_node(parser *p, sd_json_val **out)
{
    frame *f = &p->st[p->depth];
    sd_json_val *v;

    if (p->d->used == p->d->cap) {
        return bad(p, "too many values");
    }
    v = &p->d->nodes[p->d->used++];
    *v = (sd_json_val){0};
    if (f->last != NULL) {
        f->last->next = v;
    } else {
        f->c->child = v;
    }
    f->last = v;
    f->c->n++;
    *out = v;
    return SD_OK;
}

/* After a value: commas and closing brackets until the next value is due
 * (*more) or the top-level value is complete. */
static sd_code after_value(parser *p, bool *more)
{
    for (;;) {
        char close;
        if (p->depth == 0) {
            *more = false;
            return SD_OK;
        }
        close = p->st[p->depth].c->type == SD_JSON_OBJECT ? '}' : ']';
        ws(p);
        if (at(p, ',')) {
            p->i++;
            *more = true;
            return SD_OK;
        }
        if (!at(p, close)) {
            return bad(p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
        }
        p->i++;
        p->depth--;
    }
}

/* One value (with its member name inside an object); containers are
 * opened here and closed by after_value.  *opened: an empty-so-far
 * container was pushed and the next token may be its closing bracket. */
static sd_code value(parser *p, bool *opened)
{
    sd_code rc = SD_OK;
    sd_json_val *v = NULL;
    const char *key = NULL;
    size_t klen = 0;

    *opened = false;
    ws(p);
    if (p->depth > 0 && p->st[p->depth].c->type == SD_JSON_OBJECT) {
        if (!at(p, '"')) {
            return bad(p, "expected a member name");
        }
        SD_TRY(string(p, &key, &klen));
        ws(p);
        if (!at(p, ':')) {
            return bad(p, "expected ':'");
        }
        p->i++;
        ws(p);
    }
    if (p->i >= p->n) {
        return bad(p, "unexpected end");
    }
    SD_TRY(new_node(p, &v));
    v->key = key;
    if (at(p, '{') || at(p, '[')) {
        v->type = at(p, '{') ? SD_JSON_OBJECT : SD_JSON_ARRAY;
        v->str = "";
        p->i++;
        if (p->depth == SD_JSON_DEPTH_MAX) {
            return bad(p, "nested too deeply");
        }
        p->depth++;
        p->st[p->depth] = (frame){v, NULL};
        *opened = true;
        return SD_OK;
    }
    rc = scalar(p, v);
out:
    return rc;
}

static sd_code run(parser *p)
{
    sd_code rc = SD_OK;
    bool more = true;
    bool opened = false;

    while (more) {
        SD_TRY(value(p, &opened));
        if (opened) {
            char close = p->st[p->depth].c->type == SD_JSON_OBJECT ? '}' : ']';
            ws(p);
            if (at(p, close)) { /* an empty container */
                p->i++;
                p->depth--;
            } else {
                continue;
            }
        }
        SD_TRY(after_value(p, &more));
    }
    ws(p);
    if (p->i != p->n) {
        rc = bad(p, "trailing characters after the value");
    }
out:
    return rc;
}

sd_code sd_json_parse(const char *text, size_t len, size_t max_values, sd_json_doc **out,
                      sd_err *err)
{
    sd_code rc = SD_OK;
    sd_json_doc *d = NULL;
    parser p = {.s = text, .n = len, .err = err};

    *out = NULL;
    SD_ENSUREC(len < SIZE_MAX / 4, err, SD_E_INVALID, "InvalidParameter", "JSON text too long");
    d = calloc(1, sizeof *d);
    SD_ENSURE(d != NULL, err, SD_E_NOMEM, "out of memory");
    d->cap = max_values < len + 1 ? max_values : len + 1;
    d->nodes = calloc(d->cap > 0 ? d->cap : 1, sizeof *d->nodes);
    d->arena = malloc((2 * len) + 2);
    SD_ENSURE(d->nodes != NULL && d->arena != NULL, err, SD_E_NOMEM, "out of memory");
    d->root_holder.type = SD_JSON_ARRAY;
    p.d = d;
    p.st[0] = (frame){&d->root_holder, NULL};
    SD_ENSUREC(memchr(text, '\0', len) == NULL, err, SD_E_INVALID, "InvalidParameter",
               "invalid JSON: a NUL byte");
    SD_TRY(run(&p));
    SD_ENSUREC(d->root_holder.child != NULL, err, SD_E_INVALID, "InvalidParameter",
               "invalid JSON: no value");
    *out = d;
    d = NULL;
out:
    sd_json_doc_free(d);
    return rc;
}

const sd_json_val *sd_json_root(const sd_json_doc *d)
{
    return d->root_holder.child;
}

const sd_json_val *sd_json_get(const sd_json_val *obj, const char *key)
{
    if (obj == NULL || obj->type != SD_JSON_OBJECT) {
        return NULL;
    }
    for (const sd_json_val *c = obj->child; c != NULL; c = c->next) {
        if (strcmp(c->key, key) == 0) {
            return c;
        }
    }
    return NULL;
}

const char *sd_json_get_str(const sd_json_val *obj, const char *key)
{
    const sd_json_val *v = sd_json_get(obj, key);

    return v != NULL && v->type == SD_JSON_STRING ? v->str : NULL;
}

void sd_json_doc_free(sd_json_doc *d)
{
    if (d == NULL) {
        return;
    }
    free(d->nodes);
    free(d->arena);
    free(d);
}
