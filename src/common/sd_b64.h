/* sd_b64: standard base64 (RFC 4648 §4, with padding), strict decoding.
 *
 * The decoder rejects characters outside the alphabet, whitespace, missing
 * or misplaced padding and non-zero trailing bits, so one byte string has one
 * encoding (a blob cannot be altered through its base64 form).
 * Callers pass the output memory, which may be secret (sd_secret_data).
 * Thread model: pure functions. */
#ifndef SD_B64_H
#define SD_B64_H

#include <stddef.h>
#include <stdint.h>

#include "common/sd_err.h"

/* Characters needed to encode n bytes, without the NUL. */
size_t sd_b64_enc_len(size_t n);
/* Largest number of bytes that a text of n characters can decode to. */
size_t sd_b64_dec_max(size_t n);

/* Writes the encoding of in[0..n) and a NUL to out; cap must be at least
 * sd_b64_enc_len(n) + 1.  SD_E_INVALID if it is not. */
SD_MUST_USE sd_code sd_b64_encode(const uint8_t *in, size_t n, char *out, size_t cap, sd_err *err);
/* Decodes text[0..n) into out (cap bytes), length in *outlen.
 * SD_E_INVALID names the offending offset on malformed input. */
SD_MUST_USE sd_code sd_b64_decode(const char *text, size_t n, uint8_t *out, size_t cap,
                                  size_t *outlen, sd_err *err);

#endif
