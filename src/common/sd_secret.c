/* sd_secret.c: locked, undumpable, wiped memory for key material.
 *
 * Layout: one header struct on the ordinary heap (it holds no secret) and the
 * secret bytes in a separate page-aligned region rounded up to whole pages,
 * so mlock/MADV_DONTDUMP cover exactly our pages and nobody else's data.
 *
 * Invariants:
 *   1. While an sd_secret exists, its pages are locked (or the escape hatch
 *      SEALDISK_ALLOW_UNLOCKED_KEYS=1 was set and logged).
 *   2. sd_secret_free wipes all `cap` bytes before munlock and free.
 *   3. No function here copies secret bytes anywhere but another sd_secret. */
#include "common/sd_secret.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "common/sd_log.h"

#define SECRET_MAX (1u << 20)

struct sd_secret {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool locked;
};

static atomic_int unlocked_warned;

void sd_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0) {
        explicit_bzero(p, n);
    }
}

bool sd_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a;
    const volatile uint8_t *y = b;
    uint8_t d = 0;

    for (size_t i = 0; i < n; i++) {
        d |= (uint8_t)(x[i] ^ y[i]);
    }
    return d == 0;
}

static bool allow_unlocked(void)
{
    const char *v = getenv("SEALDISK_ALLOW_UNLOCKED_KEYS"); /* NOLINT(concurrency-mt-unsafe) */
    return v != NULL && strcmp(v, "1") == 0;
}

sd_code sd_secret_new(size_t len, sd_secret **out, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_secret *s = NULL;
    long page = sysconf(_SC_PAGESIZE);
    size_t cap;

    *out = NULL;
    SD_ENSURE(len <= SECRET_MAX, err, SD_E_INVALID, "secret of %zu bytes is too large", len);
    SD_ENSURE(page > 0, err, SD_E_INTERNAL, "cannot read the page size");
    cap = len == 0 ? (size_t)page : (len + (size_t)page - 1) / (size_t)page * (size_t)page;
    s = calloc(1, sizeof *s);
    SD_ENSURE(s != NULL, err, SD_E_NOMEM, "out of memory for a secret");
    if (posix_memalign((void **)&s->data, (size_t)page, cap) != 0) {
        s->data = NULL;
        SD_FAIL(err, SD_E_NOMEM, "out of memory for a secret of %zu bytes", len);
    }
    s->cap = cap;
    s->len = len;
    if (mlock(s->data, cap) == 0) {
        s->locked = true;
    } else if (allow_unlocked()) {
        if (atomic_exchange(&unlocked_warned, 1) == 0) {
            sd_log(SD_LOG_WARN, "secret",
                   "mlock failed; keys may be swapped because SEALDISK_ALLOW_UNLOCKED_KEYS=1");
        }
    } else {
        SD_FAIL(err, SD_E_INTERNAL,
                "cannot lock key memory (mlock failed; raise RLIMIT_MEMLOCK, "
                "or set SEALDISK_ALLOW_UNLOCKED_KEYS=1 to accept swappable keys)");
    }
#if !defined(SD_SANITIZE)
    /* ASan's shadow bookkeeping dislikes DONTDUMP regions (s2n does the same). */
    if (madvise(s->data, cap, MADV_DONTDUMP) != 0) {
        sd_log(SD_LOG_WARN, "secret", "madvise(MADV_DONTDUMP) failed");
    }
#endif
    sd_wipe(s->data, cap); /* posix_memalign does not zero */
    *out = s;
    s = NULL;
out:
    sd_secret_free(s);
    return rc;
}

sd_code sd_secret_from(const void *p, size_t len, sd_secret **out, sd_err *err)
{
    sd_code rc = SD_OK;

    SD_TRY(sd_secret_new(len, out, err));
    if (len > 0) {
        memcpy((*out)->data, p, len);
    }
out:
    return rc;
}

sd_code sd_secret_dup(const sd_secret *s, sd_secret **out, sd_err *err)
{
    return sd_secret_from(s->data, s->len, out, err);
}

uint8_t *sd_secret_data(const sd_secret *s)
{
    return s->data;
}

size_t sd_secret_len(const sd_secret *s)
{
    return s->len;
}

void sd_secret_truncate(sd_secret *s, size_t len)
{
    if (len < s->len) {
        sd_wipe(s->data + len, s->len - len);
        s->len = len;
    }
}

void sd_secret_free(sd_secret *s)
{
    if (s == NULL) {
        return;
    }
    if (s->data != NULL) {
        sd_wipe(s->data, s->cap);
        if (s->locked) {
            munlock(s->data, s->cap);
        }
        free(s->data);
    }
    free(s);
}

sd_secret *sd_secret_take(sd_secret **p)
{
    sd_secret *s = *p;
    *p = NULL;
    return s;
}

sd_code sd_secret_harden_process(sd_err *err)
{
    sd_code rc = SD_OK;
    struct rlimit rl = {0, 0};

    SD_ENSURE(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0, err, SD_E_INTERNAL,
              "prctl(PR_SET_DUMPABLE) failed");
    SD_ENSURE(setrlimit(RLIMIT_CORE, &rl) == 0, err, SD_E_INTERNAL,
              "setrlimit(RLIMIT_CORE) failed");
out:
    return rc;
}
