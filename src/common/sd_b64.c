/* sd_b64.c: base64 with a strict, table-free decoder.
 *
 * Decoding maps characters arithmetically instead of through a lookup table
 * indexed by the (possibly secret) character, so the memory access pattern
 * does not depend on the data: base64 carries data keys here. */
#include "common/sd_b64.h"

#include <string.h>

size_t sd_b64_enc_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

size_t sd_b64_dec_max(size_t n)
{
    return n / 4 * 3;
}

/* Constant-time-ish encode of a 6-bit value without indexing the table by it. */
static char enc6(unsigned v)
{
    unsigned c = v + 'A';
    c += ((25u - v) >> 8) & 6u;  /* v >= 26: 'a' - 'A' - 26 */
    c -= ((51u - v) >> 8) & 75u; /* v >= 52: '0' - 'a' + 26 */
    c -= ((61u - v) >> 8) & 15u; /* v >= 62: '+' - '0' - 10 */
    c += ((62u - v) >> 8) & 3u;  /* v == 63: '/' - '+' - 1 */
    return (char)c;
}

/* Returns the 6-bit value of c, or -1. */
static int dec6(unsigned char c)
{
    int ch = c;
    int ret = -1;
    ret += (((0x40 - ch) & (ch - 0x5b)) >> 8) & (ch - 64); /* A-Z: 0..25 (+1 offset) */
    ret += (((0x60 - ch) & (ch - 0x7b)) >> 8) & (ch - 70); /* a-z: 26..51 */
    ret += (((0x2f - ch) & (ch - 0x3a)) >> 8) & (ch + 5);  /* 0-9: 52..61 */
    ret += (((0x2a - ch) & (ch - 0x2c)) >> 8) & 63;        /* '+': 62 */
    ret += (((0x2e - ch) & (ch - 0x30)) >> 8) & 64;        /* '/': 63 */
    return ret;
}

sd_code sd_b64_encode(const uint8_t *in, size_t n, char *out, size_t cap, sd_err *err)
{
    size_t need = sd_b64_enc_len(n);
    size_t o = 0;
    size_t i = 0;

    if (n > ((size_t)-1 - 3) / 4 * 3 || cap < need + 1) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "base64 output buffer too small");
    }
    for (; i + 3 <= n; i += 3) {
        unsigned v = ((unsigned)in[i] << 16) | ((unsigned)in[i + 1] << 8) | in[i + 2];
        out[o++] = enc6((v >> 18) & 63u);
        out[o++] = enc6((v >> 12) & 63u);
        out[o++] = enc6((v >> 6) & 63u);
        out[o++] = enc6(v & 63u);
    }
    if (n - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        out[o++] = enc6((v >> 18) & 63u);
        out[o++] = enc6((v >> 12) & 63u);
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        unsigned v = ((unsigned)in[i] << 16) | ((unsigned)in[i + 1] << 8);
        out[o++] = enc6((v >> 18) & 63u);
        out[o++] = enc6((v >> 12) & 63u);
        out[o++] = enc6((v >> 6) & 63u);
        out[o++] = '=';
    }
    out[o] = '\0';
    return SD_OK;
}

sd_code sd_b64_decode(const char *text, size_t n, uint8_t *out, size_t cap, size_t *outlen,
                      sd_err *err)
{
    size_t o = 0;
    size_t pad = 0;

    *outlen = 0;
    if (n % 4 != 0) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "base64 length %zu is not a multiple of 4",
                          n);
    }
    if (n >= 1 && text[n - 1] == '=') {
        pad++;
    }
    if (n >= 2 && text[n - 2] == '=') {
        pad++;
    }
    if (n / 4 * 3 - pad > cap) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "base64 input decodes to more than %zu bytes",
                          cap);
    }
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        size_t q = (i + 4 == n) ? 4 - pad : 4;
        unsigned acc = 0;
        for (size_t j = 0; j < 4; j++) {
            v[j] = j < q ? dec6((unsigned char)text[i + j]) : 0;
            if (v[j] < 0) {
                return sd_err_set(err, SD_E_INVALID, SD_HERE,
                                  "invalid base64 character at offset %zu", i + j);
            }
            acc = (acc << 6) | (unsigned)v[j];
        }
        out[o++] = (uint8_t)(acc >> 16);
        if (q >= 3) {
            out[o++] = (uint8_t)(acc >> 8);
        } else if ((acc & 0xffffu) != 0) {
            return sd_err_set(err, SD_E_INVALID, SD_HERE, "non-canonical base64 padding bits");
        }
        if (q == 4) {
            out[o++] = (uint8_t)acc;
        } else if (q == 3 && (acc & 0xffu) != 0) {
            return sd_err_set(err, SD_E_INVALID, SD_HERE, "non-canonical base64 padding bits");
        }
    }
    *outlen = o;
    return SD_OK;
}
