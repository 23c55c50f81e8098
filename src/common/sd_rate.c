/* sd_rate.c: token buckets.
 *
 * Tokens are kept as a double and refilled lazily on each take from the
 * time elapsed since the last one, so an idle bucket costs nothing. */
#include "common/sd_rate.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct sd_rate {
    pthread_mutex_t mu;
    double rate;
    double burst;
    double tokens;
    int64_t last_ns;
    sd_mono_fn mono;
    void *ctx;
};

int64_t sd_mono_ns(void *ctx)
{
    struct timespec ts;

    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

sd_code sd_rate_new(double rate, double burst, sd_mono_fn mono, void *ctx, sd_rate **out,
                    sd_err *err)
{
    sd_code rc = SD_OK;
    sd_rate *r = NULL;

    *out = NULL;
    SD_ENSURE(rate > 0 && burst >= 0, err, SD_E_INVALID, "a rate must be positive");
    r = calloc(1, sizeof *r);
    SD_ENSURE(r != NULL, err, SD_E_NOMEM, "out of memory");
    SD_ENSURE(pthread_mutex_init(&r->mu, NULL) == 0, err, SD_E_INTERNAL, "mutex init failed");
    r->mono = mono != NULL ? mono : sd_mono_ns;
    r->ctx = ctx;
    r->rate = rate;
    r->burst = burst >= 1 ? burst : rate;
    r->tokens = r->burst;
    r->last_ns = r->mono(r->ctx);
    *out = r;
    r = NULL;
out:
    free(r);
    return rc;
}

bool sd_rate_take(sd_rate *r)
{
    bool ok;
    int64_t now;

    pthread_mutex_lock(&r->mu);
    now = r->mono(r->ctx);
    if (now > r->last_ns) {
        r->tokens += (double)(now - r->last_ns) * r->rate / 1e9;
        if (r->tokens > r->burst) {
            r->tokens = r->burst;
        }
        r->last_ns = now;
    }
    ok = r->tokens >= 1.0;
    if (ok) {
        r->tokens -= 1.0;
    }
    pthread_mutex_unlock(&r->mu);
    return ok;
}

void sd_rate_set(sd_rate *r, double rate, double burst)
{
    pthread_mutex_lock(&r->mu);
    if (rate > 0) {
        r->rate = rate;
        r->burst = burst >= 1 ? burst : rate;
        if (r->tokens > r->burst) {
            r->tokens = r->burst;
        }
    }
    pthread_mutex_unlock(&r->mu);
}

void sd_rate_free(sd_rate *r)
{
    if (r == NULL) {
        return;
    }
    pthread_mutex_destroy(&r->mu);
    free(r);
}
