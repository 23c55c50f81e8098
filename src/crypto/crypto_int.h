/* crypto_int.h: helpers shared by the crypto module's files only. */
#ifndef SD_CRYPTO_INT_H
#define SD_CRYPTO_INT_H

#include "crypto/crypto.h"

/* OpenSSL calls return 1 on success. */
#define SD_ENSURE_OSSL(call, err, ...) SD_ENSURE((call) == 1, (err), SD_E_INTERNAL, __VA_ARGS__)

/* OpenSSL's parameter and control APIs take non-const pointers to inputs
 * they only read; this strips const without an integer round trip. */
static inline void *crypto__unconst(const void *p)
{
    union {
        const void *c;
        void *m;
    } u;
    u.c = p;
    return u.m;
}

#endif
