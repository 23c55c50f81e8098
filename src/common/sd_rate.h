/* sd_rate: a token-bucket rate limiter (requests per second with a burst).
 *
 * Used for the per-region KMS request quotas (R14): a bucket holds up to
 * `burst` tokens and refills at `rate` per second; a request takes one
 * token or is refused.  Time comes from an injectable monotonic clock in
 * nanoseconds so tests can step it.
 * Thread model: sd_rate_take is thread-safe (a mutex per bucket). */
#ifndef SD_RATE_H
#define SD_RATE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/sd_err.h"

typedef struct sd_rate sd_rate;

/* Monotonic nanoseconds. */
typedef int64_t (*sd_mono_fn)(void *ctx);

/* CLOCK_MONOTONIC. */
int64_t sd_mono_ns(void *ctx);

/* Caller owns *out.  rate > 0 tokens per second, burst >= 1 (0: rate).
 * mono NULL: the system monotonic clock. */
SD_MUST_USE sd_code sd_rate_new(double rate, double burst, sd_mono_fn mono, void *ctx,
                                sd_rate **out, sd_err *err);
/* Takes one token; false when the bucket is empty (over quota). */
bool sd_rate_take(sd_rate *r);
/* Changes rate and burst at run time (configuration reload, tests). */
void sd_rate_set(sd_rate *r, double rate, double burst);
void sd_rate_free(sd_rate *r);

#endif
