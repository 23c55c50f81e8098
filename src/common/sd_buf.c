/* sd_buf.c: bounded growable buffers and the checked reader.
 *
 * Growth doubles the capacity (amortised O(1) appends) but is clamped to max;
 * every size computation goes through the overflow builtins. */
#include "common/sd_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sd_code sd_buf_reserve(sd_buf *b, size_t n, sd_err *err)
{
    size_t need;
    size_t cap;
    uint8_t *p;

    if (sd_add_overflow(b->len, n, &need) || need > b->max) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "buffer limit of %zu bytes exceeded", b->max);
    }
    /* +1 keeps room for the NUL of sd_buf_cstr without a second growth. */
    if (need + 1 <= b->cap) {
        return SD_OK;
    }
    cap = b->cap != 0 ? b->cap : 64;
    while (cap < need + 1) {
        if (sd_mul_overflow(cap, (size_t)2, &cap)) {
            cap = need + 1;
            break;
        }
    }
    if (cap > b->max + 1) {
        cap = b->max + 1;
    }
    p = realloc(b->data, cap);
    if (p == NULL) {
        return sd_err_set(err, SD_E_NOMEM, SD_HERE, "out of memory growing a buffer to %zu", cap);
    }
    b->data = p;
    b->cap = cap;
    return SD_OK;
}

sd_code sd_buf_append(sd_buf *b, const void *p, size_t n, sd_err *err)
{
    sd_code rc = SD_OK;

    if (n == 0) {
        return SD_OK;
    }
    SD_TRY(sd_buf_reserve(b, n, err));
    memcpy(b->data + b->len, p, n);
    b->len += n;
out:
    return rc;
}

sd_code sd_buf_puts(sd_buf *b, const char *s, sd_err *err)
{
    return sd_buf_append(b, s, strlen(s), err);
}

sd_code sd_buf_printf(sd_buf *b, sd_err *err, const char *fmt, ...)
{
    sd_code rc = SD_OK;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    SD_ENSURE(n >= 0, err, SD_E_INTERNAL, "bad format");
    SD_TRY(sd_buf_reserve(b, (size_t)n, err));
    va_start(ap, fmt);
    n = vsnprintf((char *)b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    SD_ENSURE(n >= 0, err, SD_E_INTERNAL, "bad format");
    b->len += (size_t)n;
out:
    return rc;
}

sd_code sd_buf_put_u8(sd_buf *b, uint8_t v, sd_err *err)
{
    return sd_buf_append(b, &v, 1, err);
}

sd_code sd_buf_put_u16be(sd_buf *b, uint16_t v, sd_err *err)
{
    uint8_t t[2];
    sd_store_u16be(t, v);
    return sd_buf_append(b, t, sizeof t, err);
}

sd_code sd_buf_put_u32be(sd_buf *b, uint32_t v, sd_err *err)
{
    uint8_t t[4];
    sd_store_u32be(t, v);
    return sd_buf_append(b, t, sizeof t, err);
}

sd_code sd_buf_put_u64be(sd_buf *b, uint64_t v, sd_err *err)
{
    uint8_t t[8];
    sd_store_u64be(t, v);
    return sd_buf_append(b, t, sizeof t, err);
}

sd_code sd_buf_cstr(sd_buf *b, const char **out, sd_err *err)
{
    sd_code rc = SD_OK;

    if (b->data == NULL || b->cap < b->len + 1) {
        SD_TRY(sd_buf_reserve(b, 0, err)); /* grows to len + 1, within max + 1 */
    }
    SD_ENSURE(b->data != NULL, err, SD_E_NOMEM, "out of memory");
    b->data[b->len] = '\0';
    *out = (const char *)b->data;
out:
    return rc;
}

void sd_buf_reset(sd_buf *b)
{
    b->len = 0;
}

void sd_buf_free(sd_buf *b)
{
    if (b == NULL) {
        return;
    }
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

static sd_code rd_need(const sd_rd *r, size_t n, sd_err *err)
{
    if (n > r->len - r->pos) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "truncated input: need %zu bytes, have %zu",
                          n, r->len - r->pos);
    }
    return SD_OK;
}

sd_code sd_rd_u8(sd_rd *r, uint8_t *out, sd_err *err)
{
    sd_code rc = SD_OK;
    SD_TRY(rd_need(r, 1, err));
    *out = r->p[r->pos++];
out:
    return rc;
}

sd_code sd_rd_u16be(sd_rd *r, uint16_t *out, sd_err *err)
{
    sd_code rc = SD_OK;
    SD_TRY(rd_need(r, 2, err));
    *out = sd_load_u16be(r->p + r->pos);
    r->pos += 2;
out:
    return rc;
}

sd_code sd_rd_u32be(sd_rd *r, uint32_t *out, sd_err *err)
{
    sd_code rc = SD_OK;
    SD_TRY(rd_need(r, 4, err));
    *out = sd_load_u32be(r->p + r->pos);
    r->pos += 4;
out:
    return rc;
}

sd_code sd_rd_u64be(sd_rd *r, uint64_t *out, sd_err *err)
{
    sd_code rc = SD_OK;
    SD_TRY(rd_need(r, 8, err));
    *out = sd_load_u64be(r->p + r->pos);
    r->pos += 8;
out:
    return rc;
}

sd_code sd_rd_bytes(sd_rd *r, size_t n, const uint8_t **out, sd_err *err)
{
    sd_code rc = SD_OK;
    SD_TRY(rd_need(r, n, err));
    *out = r->p + r->pos;
    r->pos += n;
out:
    return rc;
}

sd_code sd_rd_copy(sd_rd *r, void *dst, size_t n, sd_err *err)
{
    sd_code rc = SD_OK;
    SD_TRY(rd_need(r, n, err));
    if (n > 0) {
        memcpy(dst, r->p + r->pos, n);
    }
    r->pos += n;
out:
    return rc;
}

sd_code sd_str_copy(char *dst, size_t cap, const char *src, sd_err *err)
{
    size_t n = src != NULL ? strnlen(src, cap) : 0;

    if (n >= cap) {
        if (cap > 0) {
            dst[0] = '\0';
        }
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "string longer than %zu bytes",
                          cap > 0 ? cap - 1 : 0);
    }
    if (n > 0) {
        memcpy(dst, src, n);
    }
    dst[n] = '\0';
    return SD_OK;
}
