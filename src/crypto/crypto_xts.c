/* crypto_xts.c: AES-256-XTS over data units (IEEE 1619), through libgcrypt.
 *
 * The tweak of data unit i is i as a 128-bit little-endian integer, which is
 * what IEEE 1619 specifies and what dm-crypt's "plain64" and QEMU's LUKS
 * "plain64" generators produce.
 *
 * Why libgcrypt and not OpenSSL, which does everything else here: sector
 * encryption is the data plane's whole cost, and Debian 12's OpenSSL 3.0 has
 * no VAES path for XTS (that came in 3.2), so it runs at about 6 GB/s on one
 * core, slower than copying the same bytes into the page cache.  libgcrypt
 * 1.10's VAES/AVX2 XTS gives byte-identical output at about 11.7 GB/s on the
 * same core.  Both are checked against IEEE 1619 vectors and against each
 * other in tests/unit/crypto/test_xts.c.
 *
 * The key schedule is done once in crypto_xts_new, inside libgcrypt's secure
 * memory (mlock()ed, wiped when the handle is closed), so round keys are
 * never swapped; each unit only sets its tweak.  Should that pool fail to
 * lock, libgcrypt says so on stderr ("using insecure memory"); the XTS key
 * itself is an sd_secret, which already refuses unlocked memory unless the
 * operator allowed it.
 *
 * libgcrypt maps and locks that pool itself and offers no hook to mark it
 * MADV_DONTDUMP, so after it is set up, and after each handle (the pool
 * grows by whole new mappings), every locked mapping of the process is
 * marked: locked memory here is key memory, and sd_secret's slabs are
 * marked already. */
#include <gcrypt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

#include "crypto/crypto.h"

/* The oldest libgcrypt with a VAES XTS; an older one would still be correct,
 * only slower, but we would rather know. */
#define XTS_GCRYPT_MIN "1.9.0"
/* Secure memory for cipher handles: one handle is about 2 KiB, and the pool
 * grows by the same step when many disks are open. */
#define XTS_SECMEM_POOL (64 * 1024)

struct crypto_xts {
    gcry_cipher_hd_t h;
};

static pthread_once_t xts_once = PTHREAD_ONCE_INIT;
static bool xts_ready;
#if !defined(SD_SANITIZE)
static pthread_mutex_t xts_dump_mu = PTHREAD_MUTEX_INITIALIZER;
#endif

/* Marks every locked mapping (VmFlags "lo") without "dd" MADV_DONTDUMP.
 * A failure is logged: the server also disables core dumps outright. */
static void xts_dontdump_locked(void)
{
#if !defined(SD_SANITIZE) /* ASan's shadow bookkeeping dislikes DONTDUMP regions */
    char line[512];
    uintptr_t lo = 0;
    uintptr_t hi = 0;
    FILE *f;

    pthread_mutex_lock(&xts_dump_mu);
    f = fopen("/proc/self/smaps", "re");
    if (f == NULL) {
        sd_log(SD_LOG_WARN, "crypto", "cannot read /proc/self/smaps: secure pool left dumpable");
        goto out;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        char *end = NULL;
        uintptr_t a = (uintptr_t)strtoull(line, &end, 16);
        if (end != NULL && end != line && *end == '-') {
            lo = a; /* a mapping's header: "start-end perms ..." */
            hi = (uintptr_t)strtoull(end + 1, NULL, 16);
            continue;
        }
        if (strncmp(line, "VmFlags:", 8) == 0 && strstr(line, " lo") != NULL &&
            strstr(line, " dd") == NULL && hi > lo &&
            madvise((void *)lo, hi - lo, MADV_DONTDUMP) != 0) { // NOLINT(performance-no-int-to-ptr)
            sd_log(SD_LOG_WARN, "crypto", "madvise(MADV_DONTDUMP) failed on a locked mapping");
        }
    }
    (void)fclose(f);
out:
    pthread_mutex_unlock(&xts_dump_mu);
#endif
}

/* libgcrypt must be initialised once before any other call; we are its only
 * user in the process, so we own its set-up. */
static void xts_init_library(void)
{
    if (gcry_check_version(XTS_GCRYPT_MIN) == NULL) {
        return;
    }
    if (gcry_control(GCRYCTL_INIT_SECMEM, XTS_SECMEM_POOL, 0) != 0 ||
        gcry_control(GCRYCTL_AUTO_EXPAND_SECMEM, XTS_SECMEM_POOL, 0) != 0 ||
        gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0) != 0) {
        return;
    }
    xts_dontdump_locked();
    xts_ready = true;
}

void crypto_xts_free(crypto_xts *x)
{
    if (x == NULL) {
        return;
    }
    gcry_cipher_close(x->h); /* wipes the key schedule; accepts NULL */
    free(x);
}

sd_code crypto_xts_new(const sd_secret *key, crypto_xts **out, sd_err *err)
{
    sd_code rc = SD_OK;
    crypto_xts *x = NULL;
    const uint8_t *k = sd_secret_data(key);
    gcry_error_t ge = 0;

    *out = NULL;
    SD_ENSURE(sd_secret_len(key) == CRYPTO_XTS_KEY_LEN, err, SD_E_INVALID,
              "an AES-256-XTS key is %d bytes, not %zu", CRYPTO_XTS_KEY_LEN, sd_secret_len(key));
    SD_ENSURE(!sd_ct_equal(k, k + 32, 32), err, SD_E_INVALID,
              "the two halves of an XTS key must differ");
    SD_ENSURE(pthread_once(&xts_once, xts_init_library) == 0 && xts_ready, err, SD_E_INTERNAL,
              "libgcrypt %s or newer is needed for AES-256-XTS (found %s)", XTS_GCRYPT_MIN,
              gcry_check_version(NULL));
    x = calloc(1, sizeof *x);
    SD_ENSURE(x != NULL, err, SD_E_NOMEM, "out of memory");
    ge = gcry_cipher_open(&x->h, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_XTS, GCRY_CIPHER_SECURE);
    SD_ENSURE(ge == 0, err, SD_E_NOMEM, "cannot open an AES-256-XTS handle: %s", gcry_strerror(ge));
    xts_dontdump_locked(); /* the pool may have grown a mapping for this handle */
    ge = gcry_cipher_setkey(x->h, k, CRYPTO_XTS_KEY_LEN);
    SD_ENSURE(ge == 0, err, SD_E_INVALID, "AES-256-XTS key rejected: %s", gcry_strerror(ge));
    *out = x;
    x = NULL;
out:
    crypto_xts_free(x);
    return rc;
}

static sd_code xts_crypt(crypto_xts *x, bool enc, uint64_t unit, const uint8_t *in, uint8_t *out,
                         size_t len, sd_err *err)
{
    uint8_t tweak[16] = {0};
    gcry_error_t ge = 0;

    if (len < 16 || len > INT_MAX) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "XTS data unit of %zu bytes", len);
    }
    for (int i = 0; i < 8; i++) {
        tweak[i] = (uint8_t)(unit >> (8 * i));
    }
    ge = gcry_cipher_setiv(x->h, tweak, sizeof tweak);
    if (ge == 0) {
        /* libgcrypt's documented in-place form is a NULL input. */
        const uint8_t *src = in == out ? NULL : in;
        size_t srclen = in == out ? 0 : len;
        ge = enc ? gcry_cipher_encrypt(x->h, out, len, src, srclen)
                 : gcry_cipher_decrypt(x->h, out, len, src, srclen);
    }
    if (ge != 0) {
        return sd_err_set(err, SD_E_INTERNAL, SD_HERE, "AES-256-XTS failed on unit %llu: %s",
                          (unsigned long long)unit, gcry_strerror(ge));
    }
    return SD_OK;
}

sd_code crypto_xts_encrypt(crypto_xts *x, uint64_t unit, const uint8_t *in, uint8_t *out,
                           size_t len, sd_err *err)
{
    return xts_crypt(x, true, unit, in, out, len, err);
}

sd_code crypto_xts_decrypt(crypto_xts *x, uint64_t unit, const uint8_t *in, uint8_t *out,
                           size_t len, sd_err *err)
{
    return xts_crypt(x, false, unit, in, out, len, err);
}

/* n whole sectors from sector index first, one data unit each. */
static sd_code xts_sectors(crypto_xts *x, bool enc, uint64_t first, const uint8_t *in, uint8_t *out,
                           size_t n, sd_err *err)
{
    sd_code rc = SD_OK;

    for (size_t i = 0; i < n; i++) {
        size_t off = i * CRYPTO_SECTOR_SIZE;
        SD_TRY(xts_crypt(x, enc, first + i, in + off, out + off, CRYPTO_SECTOR_SIZE, err));
    }
out:
    return rc;
}

sd_code crypto_xts_encrypt_sectors(crypto_xts *x, uint64_t first, const uint8_t *in, uint8_t *out,
                                   size_t n, sd_err *err)
{
    return xts_sectors(x, true, first, in, out, n, err);
}

sd_code crypto_xts_decrypt_sectors(crypto_xts *x, uint64_t first, const uint8_t *in, uint8_t *out,
                                   size_t n, sd_err *err)
{
    return xts_sectors(x, false, first, in, out, n, err);
}
