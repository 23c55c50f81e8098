/* iam_query.c: the x-www-form-urlencoded / URL query parser and the
 * canonical percent-encoder of the Alibaba Cloud signatures.
 *
 * Parsing splits on '&', then on the first '=', and percent-decodes both
 * halves ('+' is a space).  It is strict where ambiguity would matter to a
 * signature or to a C string: every '%' must start two hex digits, NUL bytes
 * (raw or %00) are refused, names and values must be valid UTF-8 and names
 * free of control characters (the SDK flattens map keys such as
 * EncryptionContext.<key> into names, so a name may hold a space).  It is bounded by iam_parse_opts
 * (pairs, name and value lengths, input length), and by default refuses a repeated name, so the
 * value an action handler reads is the value that was signed.
 *
 * Each pair lives in one allocation "name\0value\0" that v[i].name
 * points to. */
#include <stdlib.h>
#include <string.h>

#include "iam/iam_int.h"

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* True if p[0..n) is well-formed UTF-8 (no overlongs, no surrogates, at most
 * U+10FFFF). */
static bool utf8_valid(const unsigned char *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned char c = p[i];
        size_t k;
        uint32_t cp;
        uint32_t min;

        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            k = 1;
            cp = c & 0x1F;
            min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2;
            cp = c & 0x0F;
            min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return false;
        }
        if (n - i <= k) {
            return false;
        }
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xC0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (p[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += k + 1;
    }
    return true;
}

/* Decodes s[0..n) into out (room for n + 1 bytes) and NUL-terminates it;
 * *outlen is the decoded length.  SD_E_INVALID on a bad escape or a NUL. */
static sd_code decode(const char *s, size_t n, size_t base, char *out, size_t *outlen,
                      const char *what, sd_err *err)
{
    sd_code rc = SD_OK;
    size_t o = 0;
    size_t i = 0;

    while (i < n) {
        size_t at = base + i;
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi = -1;
            int lo = -1;
            if (n - i >= 3) {
                hi = hexval((unsigned char)s[i + 1]);
                lo = hexval((unsigned char)s[i + 2]);
            }
            SD_ENSUREC(hi >= 0 && lo >= 0, err, SD_E_INVALID, IAM_C_INVALID,
                       "The %s at offset %zu has an invalid percent-escape.", what, at);
            c = (unsigned char)(hi * 16 + lo);
            i += 3;
        } else {
            if (c == '+') {
                c = ' ';
            }
            i++;
        }
        SD_ENSUREC(c != '\0', err, SD_E_INVALID, IAM_C_INVALID,
                   "The %s at offset %zu contains a NUL byte.", what, at);
        out[o++] = (char)c;
    }
    out[o] = '\0';
    *outlen = o;
out:
    return rc;
}

/* Makes room for one more pair. */
static sd_code grow(iam_params *p, sd_err *err)
{
    sd_code rc = SD_OK;

    if (p->n == p->cap) {
        size_t cap = p->cap != 0 ? p->cap * 2 : 16;
        iam_pair *v = realloc(p->v, cap * sizeof *v);
        SD_ENSURE(v != NULL, err, SD_E_NOMEM, "out of memory");
        p->v = v;
        p->cap = cap;
    }
out:
    return rc;
}

sd_code iam_params_add(iam_params *p, const char *name, const char *value, sd_err *err)
{
    size_t nl = strlen(name);
    size_t vl = strlen(value);
    char *mem = NULL;

    if (grow(p, err) != SD_OK) {
        return SD_E_NOMEM;
    }
    mem = malloc(nl + vl + 2);
    if (mem == NULL) {
        return sd_err_set(err, SD_E_NOMEM, SD_HERE, "out of memory");
    }
    memcpy(mem, name, nl + 1);
    memcpy(mem + nl + 1, value, vl + 1);
    p->v[p->n].name = mem;
    p->v[p->n].value = mem + nl + 1;
    p->n++;
    return SD_OK;
}

static bool name_ok(const char *s, size_t n)
{
    if (n == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7F) {
            return false;
        }
    }
    return utf8_valid((const unsigned char *)s, n);
}

/* Decodes one "name=value" segment s[0..n) and appends it to out. */
static sd_code parse_one(const char *s, size_t n, size_t base, const iam_parse_opts *o,
                         iam_params *out, sd_err *err)
{
    sd_code rc = SD_OK;
    const char *eq = memchr(s, '=', n);
    size_t ne = eq != NULL ? (size_t)(eq - s) : n;
    size_t vs = eq != NULL ? ne + 1 : n;
    char *mem = NULL;
    size_t nl = 0;
    size_t vl = 0;

    SD_TRY(grow(out, err));
    mem = malloc(n + 2);
    SD_ENSURE(mem != NULL, err, SD_E_NOMEM, "out of memory");
    SD_TRY(decode(s, ne, base, mem, &nl, "parameter name", err));
    SD_ENSUREC(name_ok(mem, nl), err, SD_E_INVALID, IAM_C_INVALID,
               "A parameter name is empty, has a control character or is not UTF-8.");
    SD_ENSUREC(nl <= o->max_name, err, SD_E_INVALID, IAM_C_INVALID,
               "A parameter name is longer than %zu bytes.", o->max_name);
    SD_TRY(decode(s + vs, n - vs, base + vs, mem + nl + 1, &vl, "value of the parameter", err));
    SD_ENSUREC(vl <= o->max_value, err, SD_E_INVALID, IAM_C_INVALID,
               "The value of %s is longer than %zu bytes.", mem, o->max_value);
    SD_ENSUREC(utf8_valid((const unsigned char *)mem + nl + 1, vl), err, SD_E_INVALID,
               IAM_C_INVALID, "The value of %s is not valid UTF-8.", mem);
    SD_ENSUREC(o->allow_duplicates || iam_params_get(out, mem) == NULL, err, SD_E_INVALID,
               IAM_C_INVALID, "The parameter %s is repeated.", mem);
    SD_ENSUREC(out->n < o->max_params, err, SD_E_INVALID, IAM_C_INVALID,
               "The request has more than %zu parameters.", o->max_params);
    out->v[out->n].name = mem;
    out->v[out->n].value = mem + nl + 1;
    out->n++;
    mem = NULL;
out:
    free(mem);
    return rc;
}

sd_code iam_params_parse(const char *s, size_t len, const iam_parse_opts *opts, iam_params *out,
                         sd_err *err)
{
    static const iam_parse_opts defaults = IAM_PARSE_OPTS_INIT;
    const iam_parse_opts *o = opts != NULL ? opts : &defaults;
    sd_code rc = SD_OK;
    size_t i = 0;

    SD_ENSUREC(len <= o->max_input, err, SD_E_INVALID, IAM_C_INVALID,
               "The request parameters are longer than %zu bytes.", o->max_input);
    while (i < len) {
        const char *amp = memchr(s + i, '&', len - i);
        size_t end = amp != NULL ? (size_t)(amp - s) : len;
        if (end > i) { /* "a=1&&b=2": an empty segment is harmless */
            SD_TRY(parse_one(s + i, end - i, i, o, out, err));
        }
        i = end + 1;
    }
out:
    if (rc != SD_OK) {
        iam_params_free(out);
    }
    return rc;
}

const char *iam_params_get(const iam_params *p, const char *name)
{
    if (p == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->v[i].name, name) == 0) {
            return p->v[i].value;
        }
    }
    return NULL;
}

void iam_params_free(iam_params *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->n; i++) {
        union {
            const char *c;
            char *m;
        } own = {p->v[i].name}; /* v[i].name owns its pair's allocation */
        free(own.m);
    }
    free(p->v);
    p->v = NULL;
    p->n = 0;
    p->cap = 0;
}

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

/* Sized first and written in place: this runs over every parameter of
 * every request (twice for v1), so byte-wise appends showed in profiles. */
sd_code iam_pct_encode(const char *s, size_t n, sd_buf *out, sd_err *err)
{
    static const char hex[] = "0123456789ABCDEF";
    sd_code rc = SD_OK;
    size_t need = 0;
    uint8_t *w;

    for (size_t i = 0; i < n; i++) {
        need += unreserved((unsigned char)s[i]) ? 1 : 3;
    }
    SD_TRY(sd_buf_reserve(out, need, err));
    w = out->data + out->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c)) {
            *w++ = c;
        } else {
            *w++ = '%';
            *w++ = (uint8_t)hex[c >> 4];
            *w++ = (uint8_t)hex[c & 15];
        }
    }
    out->len += need;
out:
    return rc;
}
