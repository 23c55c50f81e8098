/* crypto_rng.c: the system CSPRNG as an sd_rng.
 *
 * OpenSSL's public DRBG is seeded from the kernel and is thread-safe, so one
 * stateless sd_rng value serves every context. */
#include <limits.h>

#include <openssl/rand.h>

#include "crypto/crypto.h"

sd_code crypto_rng_fill(void *buf, size_t n, sd_err *err)
{
    uint8_t *p = buf;

    while (n > 0) {
        int chunk = n > INT_MAX ? INT_MAX : (int)n;
        if (RAND_bytes(p, chunk) != 1) {
            return sd_err_set(err, SD_E_INTERNAL, SD_HERE, "the random number generator failed");
        }
        p += chunk;
        n -= (size_t)chunk;
    }
    return SD_OK;
}

static sd_code rng_system_fill(void *ctx, uint8_t *buf, size_t n, sd_err *err)
{
    (void)ctx;
    return crypto_rng_fill(buf, n, err);
}

sd_rng crypto_rng_system(void)
{
    sd_rng r = {rng_system_fill, NULL};
    return r;
}
