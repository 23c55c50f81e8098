/* iam_nonce.c: the SignatureNonce replay cache.
 *
 * A fixed-size open-addressing table of (tag, expiry).  The tag is the
 * first 16 bytes of SHA-256(salt || AccessKeyId || 0 || nonce), with a
 * random per-process salt, so a client cannot aim nonces at one bucket.  An
 * entry whose expiry has passed is free for reuse; lookups probe a bounded
 * window (IAM_NONCE_PROBE).  When that whole window holds live entries the
 * request is refused (Throttling) rather than forgetting a live nonce: the
 * cache fails closed.  Memory is capacity * 24 bytes, allocated once.
 *
 * Not thread-safe by itself: the iam mutex guards every call. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "iam/iam_int.h"

#define IAM_NONCE_PROBE 64
#define IAM_TAG_LEN     16

typedef struct nonce_slot {
    uint8_t tag[IAM_TAG_LEN];
    int64_t expires; /* 0: never used */
} nonce_slot;

struct iam_nonce_cache {
    nonce_slot *slots;
    size_t mask;
    uint8_t salt[16];
};

sd_code iam__nonce_new(size_t capacity, const sd_rng *rng, iam_nonce_cache **out, sd_err *err)
{
    sd_code rc = SD_OK;
    iam_nonce_cache *c = NULL;
    size_t cap = 64;

    while (cap < capacity && cap < ((size_t)1 << 24)) {
        cap <<= 1;
    }
    c = calloc(1, sizeof *c);
    SD_ENSURE(c != NULL, err, SD_E_NOMEM, "out of memory");
    c->slots = calloc(cap, sizeof *c->slots);
    SD_ENSURE(c->slots != NULL, err, SD_E_NOMEM, "out of memory");
    c->mask = cap - 1;
    SD_TRY(sd_rng_fill(rng, c->salt, sizeof c->salt, err));
    *out = c;
    c = NULL;
out:
    iam__nonce_free(c);
    return rc;
}

void iam__nonce_free(iam_nonce_cache *c)
{
    if (c == NULL) {
        return;
    }
    free(c->slots);
    free(c);
}

static sd_code tag_of(const iam_nonce_cache *c, const char *akid, const char *nonce,
                      uint8_t tag[IAM_TAG_LEN], sd_err *err)
{
    sd_code rc = SD_OK;
    sd_buf b = SD_BUF_INIT(4096);
    uint8_t h[CRYPTO_SHA256_LEN];

    SD_TRY(sd_buf_append(&b, c->salt, sizeof c->salt, err));
    SD_TRY(sd_buf_append(&b, akid, strlen(akid) + 1, err));
    SD_TRY(sd_buf_puts(&b, nonce, err));
    SD_TRY(crypto_sha256(b.data, b.len, h, err));
    memcpy(tag, h, IAM_TAG_LEN);
out:
    sd_buf_free(&b);
    return rc;
}

sd_code iam__nonce_record(iam_nonce_cache *c, const char *akid, const char *nonce, int64_t now,
                          int64_t expires, sd_err *err)
{
    sd_code rc = SD_OK;
    uint8_t tag[IAM_TAG_LEN];
    nonce_slot *freeslot = NULL;
    size_t start;

    SD_TRY(tag_of(c, akid, nonce, tag, err));
    start = (((size_t)tag[0] << 24) | ((size_t)tag[1] << 16) | ((size_t)tag[2] << 8) | tag[3]) &
            c->mask;
    for (size_t i = 0; i < IAM_NONCE_PROBE && i <= c->mask; i++) {
        nonce_slot *s = &c->slots[(start + i) & c->mask];
        bool live = s->expires > now;
        if (live && sd_ct_equal(s->tag, tag, IAM_TAG_LEN)) {
            SD_FAILC(err, SD_E_AUTH, IAM_C_NONCE, "Specified signature nonce was used already.");
        }
        if (!live && freeslot == NULL) {
            freeslot = s;
        }
        if (s->expires == 0) {
            break; /* never used: nothing further along this probe */
        }
    }
    SD_ENSUREC(freeslot != NULL, err, SD_E_THROTTLED, "Throttling",
               "Too many requests in the replay window; retry later.");
    memcpy(freeslot->tag, tag, IAM_TAG_LEN);
    freeslot->expires = expires;
out:
    return rc;
}
