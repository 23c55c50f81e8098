/* sd_secret.c: locked, undumpable, wiped memory for key material.
 *
 * Layout: one header struct on the ordinary heap (it holds no secret) and the
 * secret bytes in a separate page-aligned region rounded up to whole pages,
 * so mlock/MADV_DONTDUMP cover exactly our pages and nobody else's data.
 *
 * Small secrets (data keys, derived keys: at most SLOT bytes) come from a
 * slab instead: chunks of locked, undumpable pages, mapped once and never
 * unmapped, cut into SLOT-byte slots.  A data-key call made three system
 * calls and faulted in a fresh page per secret; profiles of the API showed
 * it.  A slot is wiped when freed, before it goes back to the free list.
 *
 * Invariants:
 *   1. While an sd_secret exists, its bytes are in locked memory (or the
 *      escape hatch SEALDISK_ALLOW_UNLOCKED_KEYS=1 was set and logged).
 *   2. sd_secret_free wipes all `cap` bytes before the memory is reused,
 *      unlocked or freed.
 *   3. No function here copies secret bytes anywhere but another sd_secret. */
#include "common/sd_secret.h"

#include <pthread.h>
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
    bool slot; /* from the slab */
};

#define SLOT        256u
#define CHUNK_BYTES ((size_t)64 << 10)

/* A free slot's first bytes link the free list (the rest stays zero). */
typedef struct free_slot {
    struct free_slot *next;
} free_slot;

static pthread_mutex_t slab_mu = PTHREAD_MUTEX_INITIALIZER;
static free_slot *slab_free;

/* A new locked chunk cut into slots; false when it cannot be locked. */
static bool slab_grow(void)
{
    uint8_t *chunk =
        mmap(NULL, CHUNK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (chunk == MAP_FAILED) {
        return false;
    }
    if (mlock(chunk, CHUNK_BYTES) != 0) {
        munmap(chunk, CHUNK_BYTES);
        return false; /* the page path decides about the escape hatch */
    }
#if !defined(SD_SANITIZE)
    if (madvise(chunk, CHUNK_BYTES, MADV_DONTDUMP) != 0) {
        sd_log(SD_LOG_WARN, "secret", "madvise(MADV_DONTDUMP) failed");
    }
#endif
    for (size_t off = CHUNK_BYTES; off > 0; off -= SLOT) {
        free_slot *f = (free_slot *)(void *)(chunk + off - SLOT);
        f->next = slab_free;
        slab_free = f;
    }
    return true;
}

/* A zeroed, locked slot, or NULL. */
static uint8_t *slab_take(void)
{
    free_slot *f;

    pthread_mutex_lock(&slab_mu);
    if (slab_free == NULL && !slab_grow()) {
        pthread_mutex_unlock(&slab_mu);
        return NULL;
    }
    f = slab_free;
    slab_free = f->next;
    pthread_mutex_unlock(&slab_mu);
    sd_wipe(f, sizeof *f);
    return (uint8_t *)f;
}

/* p's SLOT bytes, already wiped, back to the free list. */
static void slab_give(uint8_t *p)
{
    free_slot *f = (free_slot *)(void *)p;

    pthread_mutex_lock(&slab_mu);
    f->next = slab_free;
    slab_free = f;
    pthread_mutex_unlock(&slab_mu);
}

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
    if (len <= SLOT && (s->data = slab_take()) != NULL) {
        s->cap = SLOT;
        s->len = len;
        s->locked = true;
        s->slot = true;
        *out = s;
        return SD_OK;
    }
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
        if (s->slot) {
            slab_give(s->data); /* stays locked, for the next secret */
        } else {
            if (s->locked) {
                munlock(s->data, s->cap);
            }
            free(s->data);
        }
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
