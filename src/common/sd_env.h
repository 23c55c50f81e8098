/* sd_env: the injectable clock and random source (STYLE B2 §11).
 *
 * Every context that needs the time or random bytes takes an sd_clock and
 * an sd_rng from its creator, so tests and fuzzers can be deterministic:
 * a test clock is advanced by hand to expire a deletion window, a test RNG
 * replays a seed.  The production RNG is crypto_rng_system() (crypto/).
 * Thread model: the system clock is thread-safe; an sd_rng's thread safety
 * is its implementation's (crypto_rng_system is thread-safe). */
#ifndef SD_ENV_H
#define SD_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "common/sd_err.h"

typedef struct sd_clock {
    int64_t (*now)(void *ctx); /* Unix time in seconds */
    void *ctx;
} sd_clock;

typedef struct sd_rng {
    sd_code (*fill)(void *ctx, uint8_t *buf, size_t n, sd_err *err);
    void *ctx;
} sd_rng;

/* The wall clock. */
sd_clock sd_clock_system(void);

/* A clock that returns *t (a test advances t). */
sd_clock sd_clock_fixed(int64_t *t);

static inline int64_t sd_now(const sd_clock *c)
{
    return c->now(c->ctx);
}

SD_MUST_USE static inline sd_code sd_rng_fill(const sd_rng *r, void *buf, size_t n, sd_err *err)
{
    return r->fill(r->ctx, (uint8_t *)buf, n, err);
}

/* Formats t as "YYYY-MM-DDThh:mm:ssZ" into out (at least 21 bytes). */
void sd_time_iso8601(int64_t t, char out[21]);
/* Parses "YYYY-MM-DDThh:mm:ssZ" (as the OpenAPI Timestamp), optionally with a
 * fraction of 1-9 digits before the Z ("…:19.772Z", as older SDKs send;
 * dropped: *out is whole seconds); SD_E_INVALID otherwise. */
SD_MUST_USE sd_code sd_time_parse_iso8601(const char *s, int64_t *out, sd_err *err);

/* Random identifiers.  prefix + n characters of [0-9a-z], NUL-terminated;
 * cap must be at least strlen(prefix) + n + 1. */
SD_MUST_USE sd_code sd_id_new(const sd_rng *rng, const char *prefix, size_t n, char *out,
                              size_t cap, sd_err *err);
/* A lower-case RFC 4122 version 4 UUID (36 characters + NUL). */
SD_MUST_USE sd_code sd_id_uuid(const sd_rng *rng, char out[37], sd_err *err);
/* Lower-case hex of in[0..n) into out (2n + 1 bytes). */
void sd_hex(const uint8_t *in, size_t n, char *out);

#endif
