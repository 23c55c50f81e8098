/* api_json.c: the streaming JSON writer.
 *
 * A small state stack records, per open container, whether a member was
 * written yet (for commas).  Escaping writes runs of plain bytes in one
 * append rather than byte by byte. */
#include "api/api_json.h"

#include <inttypes.h>
#include <string.h>

void api_json_init(api_json *j, sd_buf *out, sd_err *err)
{
    j->out = out;
    j->err = err;
    j->rc = SD_OK;
    j->depth = 0;
    j->first[0] = true;
}

static void put(api_json *j, const char *s, size_t n)
{
    if (j->rc == SD_OK) {
        j->rc = sd_buf_append(j->out, s, n, j->err);
    }
}

static void put_escaped(api_json *j, const char *s, size_t n)
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

/* Comma and key before a value. */
static void member(api_json *j, const char *key)
{
    if (j->rc != SD_OK) {
        return;
    }
    if (!j->first[j->depth]) {
        put(j, ",", 1);
    }
    j->first[j->depth] = false;
    if (key != NULL) {
        put_escaped(j, key, strlen(key));
        put(j, ":", 1);
    }
}

static void open_container(api_json *j, const char *key, const char *brace)
{
    member(j, key);
    if (j->rc != SD_OK) {
        return;
    }
    if (j->depth + 1 >= API_JSON_DEPTH) {
        j->rc = sd_err_set(j->err, SD_E_INTERNAL, SD_HERE, "JSON nesting too deep");
        return;
    }
    put(j, brace, 1);
    j->depth++;
    j->first[j->depth] = true;
}

static void close_container(api_json *j, const char *brace)
{
    if (j->rc != SD_OK) {
        return;
    }
    if (j->depth == 0) {
        j->rc = sd_err_set(j->err, SD_E_INTERNAL, SD_HERE, "JSON container closed twice");
        return;
    }
    j->depth--;
    put(j, brace, 1);
}

void api_json_obj_begin(api_json *j, const char *key)
{
    open_container(j, key, "{");
}

void api_json_obj_end(api_json *j)
{
    close_container(j, "}");
}

void api_json_arr_begin(api_json *j, const char *key)
{
    open_container(j, key, "[");
}

void api_json_arr_end(api_json *j)
{
    close_container(j, "]");
}

void api_json_strn(api_json *j, const char *key, const char *value, size_t n)
{
    member(j, key);
    if (j->rc == SD_OK) {
        put_escaped(j, value, n);
    }
}

void api_json_str(api_json *j, const char *key, const char *value)
{
    api_json_strn(j, key, value != NULL ? value : "", value != NULL ? strlen(value) : 0);
}

void api_json_int(api_json *j, const char *key, int64_t value)
{
    member(j, key);
    if (j->rc == SD_OK) {
        j->rc = sd_buf_printf(j->out, j->err, "%" PRId64, value);
    }
}

void api_json_bool(api_json *j, const char *key, bool value)
{
    member(j, key);
    put(j, value ? "true" : "false", value ? 4 : 5);
}

sd_code api_json_finish(api_json *j)
{
    if (j->rc == SD_OK && j->depth != 0) {
        j->rc =
            sd_err_set(j->err, SD_E_INTERNAL, SD_HERE, "JSON left %d containers open", j->depth);
    }
    return j->rc;
}
