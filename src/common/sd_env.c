/* sd_env.c: clocks, time formats and random identifiers.
 *
 * Identifiers draw bytes from the injected RNG and reject bytes >= 252 so the
 * 36-symbol alphabet is used without modulo bias. */
#include "common/sd_env.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/sd_secret.h"

static int64_t clock_system_now(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL);
}

static int64_t clock_fixed_now(void *ctx)
{
    return *(int64_t *)ctx;
}

sd_clock sd_clock_system(void)
{
    sd_clock c = {clock_system_now, NULL};
    return c;
}

sd_clock sd_clock_fixed(int64_t *t) /* NOLINT(readability-non-const-parameter): tests advance *t */
{
    sd_clock c = {clock_fixed_now, t};
    return c;
}

void sd_time_iso8601(int64_t t, char out[21])
{
    struct tm tm;
    time_t tt = (time_t)t;

    if (gmtime_r(&tt, &tm) == NULL || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20) {
        memcpy(out, "1970-01-01T00:00:00Z", 21);
    }
}

/* The fixed shape "YYYY-MM-DDThh:mm:ss" of s[0..19): strptime alone would
 * take one-digit fields and leading spaces. */
static bool iso8601_shape(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";

    for (size_t i = 0; i < sizeof shape - 1; i++) {
        bool ok = shape[i] == 'd' ? s[i] >= '0' && s[i] <= '9' : s[i] == shape[i];
        if (!ok) {
            return false;
        }
    }
    return true;
}

sd_code sd_time_parse_iso8601(const char *s, int64_t *out, sd_err *err)
{
    struct tm tm = {0};
    const char *end;
    size_t n = s != NULL ? strlen(s) : 0;
    size_t frac = 0;

    if (n < 20 || !iso8601_shape(s)) {
        goto bad;
    }
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end != s + 19) {
        goto bad;
    }
    /* Older SDKs send milliseconds, as the service accepts: the fraction
     * is dropped, since the window is counted in whole seconds. */
    if (*end == '.') {
        while (end[1 + frac] >= '0' && end[1 + frac] <= '9') {
            frac++;
        }
        if (frac == 0 || frac > 9) {
            goto bad;
        }
        end += 1 + frac;
    }
    if (end[0] != 'Z' || end[1] != '\0') {
        goto bad;
    }
    *out = (int64_t)timegm(&tm);
    return SD_OK;
bad:
    return sd_err_set(err, SD_E_INVALID, SD_HERE, "time must be YYYY-MM-DDThh:mm:ss[.fff]Z");
}

sd_code sd_id_new(const sd_rng *rng, const char *prefix, size_t n, char *out, size_t cap,
                  sd_err *err)
{
    static const char alpha[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    sd_code rc = SD_OK;
    size_t plen = strlen(prefix);
    size_t have = 0;
    uint8_t pool[64];

    SD_ENSURE(plen + n + 1 <= cap, err, SD_E_INVALID, "identifier buffer too small");
    memcpy(out, prefix, plen);
    while (have < n) {
        SD_TRY(sd_rng_fill(rng, pool, sizeof pool, err));
        for (size_t i = 0; i < sizeof pool && have < n; i++) {
            if (pool[i] < 252) {
                out[plen + have++] = alpha[pool[i] % 36];
            }
        }
    }
    out[plen + n] = '\0';
out:
    sd_wipe(pool, sizeof pool);
    return rc;
}

void sd_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

sd_code sd_id_uuid(const sd_rng *rng, char out[37], sd_err *err)
{
    sd_code rc = SD_OK;
    uint8_t b[16];
    char hex[33];

    SD_TRY(sd_rng_fill(rng, b, sizeof b, err));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    sd_hex(b, sizeof b, hex);
    SD_ENSURE(snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
                       hex + 20) == 36,
              err, SD_E_INTERNAL, "cannot format a UUID");
out:
    return rc;
}
