/* sd_json_write.c: the streaming JSON writer (sd_jw).
 *
 * A small state stack records, per open container, whether a member was
 * written yet (for commas and, indented, for the line before a closing
 * bracket).  Escaping writes runs of plain bytes in one append rather than
 * byte by byte.  sd_jw_val walks a parsed tree with an explicit stack, as
 * the reader builds it, so a deep document costs no C stack. */
#include <inttypes.h>
#include <string.h>

#include "common/sd_json.h"

static void init(sd_jw *j, sd_buf *out, sd_err *err, bool indent)
{
    j->out = out;
    j->err = err;
    j->rc = SD_OK;
    j->depth = 0;
    j->indent = indent;
    j->first[0] = true;
}

void sd_jw_init(sd_jw *j, sd_buf *out, sd_err *err)
{
    init(j, out, err, false);
}

void sd_jw_init_indented(sd_jw *j, sd_buf *out, sd_err *err)
{
    init(j, out, err, true);
}

static void put(sd_jw *j, const char *s, size_t n)
{
    if (j->rc == SD_OK) {
        j->rc = sd_buf_append(j->out, s, n, j->err);
    }
}

/* Indented: a new line at the given depth. */
static void newline(sd_jw *j, int depth)
{
    put(j, "\n", 1);
    for (int i = 0; i < depth; i++) {
        put(j, "  ", 2);
    }
}

static void put_escaped(sd_jw *j, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;

    put(j, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6];
        size_t elen = 2;

        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                u[0] = '\\';
                u[1] = 'u';
                u[2] = '0';
                u[3] = '0';
                u[4] = hex[c >> 4];
                u[5] = hex[c & 15];
                esc = u;
                elen = 6;
            }
            break;
        }
        if (esc != NULL) {
            put(j, s + i - run, run);
            run = 0;
            put(j, esc, elen);
        } else {
            run++;
        }
    }
    put(j, s + n - run, run);
    put(j, "\"", 1);
}

/* Comma, line and key before a value. */
static void member(sd_jw *j, const char *key)
{
    if (j->rc != SD_OK) {
        return;
    }
    if (!j->first[j->depth]) {
        put(j, ",", 1);
    }
    j->first[j->depth] = false;
    if (j->indent && j->depth > 0) {
        newline(j, j->depth);
    }
    if (key != NULL) {
        put_escaped(j, key, strlen(key));
        put(j, j->indent ? ": " : ":", j->indent ? 2 : 1);
    }
}

static void open_container(sd_jw *j, const char *key, const char *brace)
{
    member(j, key);
    if (j->rc != SD_OK) {
        return;
    }
    if (j->depth + 1 >= SD_JW_DEPTH) {
        j->rc = sd_err_set(j->err, SD_E_INTERNAL, SD_HERE, "JSON nesting too deep");
        return;
    }
    put(j, brace, 1);
    j->depth++;
    j->first[j->depth] = true;
}

static void close_container(sd_jw *j, const char *brace)
{
    if (j->rc != SD_OK) {
        return;
    }
    if (j->depth == 0) {
        j->rc = sd_err_set(j->err, SD_E_INTERNAL, SD_HERE, "JSON container closed twice");
        return;
    }
    j->depth--;
    if (j->indent && !j->first[j->depth + 1]) {
        newline(j, j->depth);
    }
    put(j, brace, 1);
}

void sd_jw_obj_begin(sd_jw *j, const char *key)
{
    open_container(j, key, "{");
}

void sd_jw_obj_end(sd_jw *j)
{
    close_container(j, "}");
}

void sd_jw_arr_begin(sd_jw *j, const char *key)
{
    open_container(j, key, "[");
}

void sd_jw_arr_end(sd_jw *j)
{
    close_container(j, "]");
}

void sd_jw_strn(sd_jw *j, const char *key, const char *value, size_t n)
{
    member(j, key);
    if (j->rc == SD_OK) {
        put_escaped(j, value, n);
    }
}

void sd_jw_str(sd_jw *j, const char *key, const char *value)
{
    sd_jw_strn(j, key, value != NULL ? value : "", value != NULL ? strlen(value) : 0);
}

void sd_jw_int(sd_jw *j, const char *key, int64_t value)
{
    member(j, key);
    if (j->rc == SD_OK) {
        j->rc = sd_buf_printf(j->out, j->err, "%" PRId64, value);
    }
}

void sd_jw_bool(sd_jw *j, const char *key, bool value)
{
    member(j, key);
    put(j, value ? "true" : "false", value ? 4 : 5);
}

/* A parsed scalar, or the opening bracket of a parsed container. */
static void start_val(sd_jw *j, const char *key, const sd_json_val *v)
{
    switch (v->type) {
    case SD_JSON_STRING:
        sd_jw_strn(j, key, v->str, v->len);
        break;
    case SD_JSON_NUMBER:
    case SD_JSON_BOOL:
        member(j, key);
        put(j, v->str, v->len);
        break;
    case SD_JSON_NULL:
        member(j, key);
        put(j, "null", 4);
        break;
    case SD_JSON_ARRAY:
        sd_jw_arr_begin(j, key);
        break;
    case SD_JSON_OBJECT:
        sd_jw_obj_begin(j, key);
        break;
    }
}

void sd_jw_val(sd_jw *j, const char *key, const sd_json_val *v)
{
    /* Per open container: the next child to write, and the container. */
    const sd_json_val *next[SD_JW_DEPTH];
    const sd_json_val *open[SD_JW_DEPTH];
    int sp = 0;

    start_val(j, key, v);
    if (v->type == SD_JSON_ARRAY || v->type == SD_JSON_OBJECT) {
        next[0] = v->child;
        open[0] = v;
        sp = 1;
    }
    while (sp > 0 && j->rc == SD_OK) {
        const sd_json_val *c = next[sp - 1];
        if (c == NULL) {
            sp--;
            close_container(j, open[sp]->type == SD_JSON_OBJECT ? "}" : "]");
            continue;
        }
        next[sp - 1] = c->next;
        start_val(j, c->key, c);
        if ((c->type == SD_JSON_ARRAY || c->type == SD_JSON_OBJECT) && j->rc == SD_OK) {
            /* start_val refused nesting deeper than SD_JW_DEPTH, so sp fits */
            next[sp] = c->child;
            open[sp] = c;
            sp++;
        }
    }
}

sd_code sd_jw_finish(sd_jw *j)
{
    if (j->rc == SD_OK && j->depth != 0) {
        j->rc =
            sd_err_set(j->err, SD_E_INTERNAL, SD_HERE, "JSON left %d containers open", j->depth);
    }
    return j->rc;
}
