/* sd_buf and sd_rd: bounded byte buffers and checked readers.
 *
 * sd_buf grows on demand but never beyond its max (curl's "toobig"), so a
 * peer cannot make us allocate without limit.  It is for non-secret bytes
 * only; key material lives in sd_secret.
 * sd_rd is a cursor over borrowed bytes (s2n's stuffer): every read checks
 * the remaining length and fails with SD_E_INVALID instead of overrunning.
 * sd_str_copy is the bounded string copy into a fixed array.
 * Thread model: both belong to one thread at a time. */
#ifndef SD_BUF_H
#define SD_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sd_err.h"

typedef struct sd_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max; /* required: the largest len this buffer may reach */
} sd_buf;

#define SD_BUF_INIT(maxlen)  \
    {                        \
        NULL, 0, 0, (maxlen) \
    }

/* Makes room for n more bytes.  SD_E_INVALID over max, SD_E_NOMEM. */
SD_MUST_USE sd_code sd_buf_reserve(sd_buf *b, size_t n, sd_err *err);
/* Appends n bytes (p may be NULL only when n is 0). */
SD_MUST_USE sd_code sd_buf_append(sd_buf *b, const void *p, size_t n, sd_err *err);
/* Appends a NUL-terminated string, without its NUL. */
SD_MUST_USE sd_code sd_buf_puts(sd_buf *b, const char *s, sd_err *err);
/* Appends printf output, without its NUL. */
SD_MUST_USE sd_code sd_buf_printf(sd_buf *b, sd_err *err, const char *fmt, ...) SD_PRINTF(3, 4);
SD_MUST_USE sd_code sd_buf_put_u8(sd_buf *b, uint8_t v, sd_err *err);
SD_MUST_USE sd_code sd_buf_put_u16be(sd_buf *b, uint16_t v, sd_err *err);
SD_MUST_USE sd_code sd_buf_put_u32be(sd_buf *b, uint32_t v, sd_err *err);
SD_MUST_USE sd_code sd_buf_put_u64be(sd_buf *b, uint64_t v, sd_err *err);
/* Ensures data[len] == '\0' (not counted in len) and returns data as a string. */
SD_MUST_USE sd_code sd_buf_cstr(sd_buf *b, const char **out, sd_err *err);
/* Empties the buffer, keeping its allocation. */
void sd_buf_reset(sd_buf *b);
/* Frees the allocation; the buffer can be reused afterwards.  Accepts NULL. */
void sd_buf_free(sd_buf *b);

typedef struct sd_rd {
    const uint8_t *p;
    size_t len;
    size_t pos;
} sd_rd;

static inline sd_rd sd_rd_make(const void *p, size_t len)
{
    sd_rd r = {(const uint8_t *)p, len, 0};
    return r;
}

static inline size_t sd_rd_left(const sd_rd *r)
{
    return r->len - r->pos;
}

SD_MUST_USE sd_code sd_rd_u8(sd_rd *r, uint8_t *out, sd_err *err);
SD_MUST_USE sd_code sd_rd_u16be(sd_rd *r, uint16_t *out, sd_err *err);
SD_MUST_USE sd_code sd_rd_u32be(sd_rd *r, uint32_t *out, sd_err *err);
SD_MUST_USE sd_code sd_rd_u64be(sd_rd *r, uint64_t *out, sd_err *err);
/* Borrows n bytes at the cursor (*out points into the reader's memory). */
SD_MUST_USE sd_code sd_rd_bytes(sd_rd *r, size_t n, const uint8_t **out, sd_err *err);
/* Copies n bytes out. */
SD_MUST_USE sd_code sd_rd_copy(sd_rd *r, void *dst, size_t n, sd_err *err);

/* Big-endian stores and loads for fixed wire and disk formats. */
static inline void sd_store_u32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void sd_store_u64be(uint8_t *p, uint64_t v)
{
    sd_store_u32be(p, (uint32_t)(v >> 32));
    sd_store_u32be(p + 4, (uint32_t)v);
}
static inline uint32_t sd_load_u32be(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t sd_load_u64be(const uint8_t *p)
{
    return ((uint64_t)sd_load_u32be(p) << 32) | sd_load_u32be(p + 4);
}
static inline void sd_store_u16be(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline uint16_t sd_load_u16be(const uint8_t *p)
{
    return (uint16_t)(((unsigned)p[0] << 8) | p[1]);
}

/* Copies the string src (NULL: "") into dst[cap] with its NUL.
 * SD_E_INVALID when it does not fit (or cap is 0): dst is then "" (when
 * cap > 0), never a truncated prefix, since a cut id or name would name
 * something else. */
SD_MUST_USE sd_code sd_str_copy(char *dst, size_t cap, const char *src, sd_err *err);

#endif
