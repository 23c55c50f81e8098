/* cli_json.c: indenting a JSON response and reading its top-level string
 * members (Code, Message, RequestId) for error reports.
 *
 * Neither needs a full parser: indentation only tracks whether it is inside
 * a string; the member lookup scans the top-level object, skipping nested
 * values by bracket depth.  Both are bounded by the input length. */
#include <string.h>

#include "cli/cli.h"

static sd_code indent(sd_buf *out, int depth, sd_err *err)
{
    sd_code rc = SD_OK;

    SD_TRY(sd_buf_put_u8(out, '\n', err));
    for (int i = 0; i < depth; i++) {
        SD_TRY(sd_buf_append(out, "  ", 2, err));
    }
out:
    return rc;
}

sd_code cli_json_pretty(const char *t, size_t n, sd_buf *out, sd_err *err)
{
    sd_code rc = SD_OK;
    int depth = 0;
    bool in_str = false;
    bool esc = false;
    size_t start = out->len;

    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (in_str) {
            SD_TRY(sd_buf_put_u8(out, (uint8_t)c, err));
            if (esc) {
                esc = false;
            } else if (c == '\\') {
                esc = true;
            } else if (c == '"') {
                in_str = false;
            }
            continue;
        }
        switch (c) {
        case '"':
            in_str = true;
            SD_TRY(sd_buf_put_u8(out, (uint8_t)c, err));
            break;
        case '{':
        case '[':
            SD_TRY(sd_buf_put_u8(out, (uint8_t)c, err));
            /* an empty container stays on one line */
            if (i + 1 < n && (t[i + 1] == '}' || t[i + 1] == ']')) {
                SD_TRY(sd_buf_put_u8(out, (uint8_t)t[++i], err));
                break;
            }
            depth++;
            SD_TRY(indent(out, depth, err));
            break;
        case '}':
        case ']':
            if (depth == 0) {
                goto invalid;
            }
            depth--;
            SD_TRY(indent(out, depth, err));
            SD_TRY(sd_buf_put_u8(out, (uint8_t)c, err));
            break;
        case ',':
            SD_TRY(sd_buf_put_u8(out, (uint8_t)c, err));
            SD_TRY(indent(out, depth, err));
            break;
        case ':':
            SD_TRY(sd_buf_append(out, ": ", 2, err));
            break;
        case ' ':
        case '\n':
        case '\r':
        case '\t':
            break;
        default:
            SD_TRY(sd_buf_put_u8(out, (uint8_t)c, err));
            break;
        }
    }
    if (depth == 0 && !in_str) {
        goto out;
    }
invalid:
    out->len = start;
    SD_TRY(sd_buf_append(out, t, n, err));
out:
    return rc;
}

/* Reads a JSON string starting at t[*i] == '"' into out (cap bytes, NUL
 * terminated); leaves *i after the closing quote.  Returns 0 on success. */
static int read_string(const char *t, size_t n, size_t *i, char *out, size_t cap)
{
    size_t o = 0;

    for ((*i)++; *i < n; (*i)++) {
        char c = t[*i];
        if (c == '"') {
            (*i)++;
            if (out != NULL) {
                out[o] = '\0';
            }
            return 0;
        }
        if (c == '\\') {
            if (++(*i) >= n) {
                return -1;
            }
            c = t[*i];
            switch (c) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'b':
            case 'f':
                c = ' ';
                break;
            case 'u':
                if (*i + 4 >= n) {
                    return -1;
                }
                *i += 4;
                c = '?';
                break;
            default:
                break; /* \" \\ \/ */
            }
        }
        if (out != NULL && o + 1 < cap) {
            out[o++] = c;
        }
    }
    return -1;
}

static size_t skip_ws(const char *t, size_t n, size_t i)
{
    while (i < n && (t[i] == ' ' || t[i] == '\n' || t[i] == '\t' || t[i] == '\r')) {
        i++;
    }
    return i;
}

/* At a string (t[*i] == '"') inside the object at depth: if it is the key
 * `name` of a top-level member with a string value, copies the value and
 * returns 1; returns 0 to go on scanning, -1 on malformed input. */
static int member_at(const char *t, size_t n, size_t *i, int depth, const char *name, char *out,
                     size_t cap)
{
    char key[128];

    if (read_string(t, n, i, depth == 1 ? key : NULL, sizeof key) != 0) {
        return -1;
    }
    *i = skip_ws(t, n, *i);
    if (depth == 1 && *i < n && t[*i] == ':') {
        *i = skip_ws(t, n, *i + 1);
        if (strcmp(key, name) == 0 && *i < n && t[*i] == '"') {
            return read_string(t, n, i, out, cap) == 0 ? 1 : -1;
        }
    }
    (*i)--; /* the caller's loop steps past what was read */
    return 0;
}

sd_code cli_json_string(const char *t, size_t n, const char *name, char *out, size_t cap,
                        sd_err *err)
{
    size_t i = 0;
    int depth = 0;

    while (i < n && t[i] != '{') {
        i++;
    }
    for (; i < n; i++) {
        char c = t[i];
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (c == '"') {
            int r = member_at(t, n, &i, depth, name, out, cap);
            if (r == 1) {
                return SD_OK;
            }
            if (r < 0) {
                break;
            }
        }
    }
    return sd_err_set(err, SD_E_NOT_FOUND, SD_HERE, "no string member '%s'", name);
}
