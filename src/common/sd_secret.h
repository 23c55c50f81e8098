/* sd_secret: the one type for key material, and constant-time helpers.
 *
 * An sd_secret's bytes live in their own page-aligned allocation that is
 * mlock()ed (never swapped) and MADV_DONTDUMP (never in a core dump), and
 * they are wiped with explicit_bzero before munlock and free.  The bytes are
 * reached only through sd_secret_data/sd_secret_len; there is no accessor
 * that turns a secret into a string.
 *
 * If mlock fails, creation fails with SD_E_INTERNAL and says why, unless the
 * environment sets SEALDISK_ALLOW_UNLOCKED_KEYS=1 (logged loudly once).
 *
 * Thread model: an sd_secret is immutable after it is filled and may be read
 * from many threads; freeing it is the owner's job, once. */
#ifndef SD_SECRET_H
#define SD_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sd_err.h"

typedef struct sd_secret sd_secret;

/* Caller owns *out: len zeroed, locked bytes (len may be 0..1 MiB). */
SD_MUST_USE sd_code sd_secret_new(size_t len, sd_secret **out, sd_err *err);
/* Caller owns *out: a locked copy of p[0..len). */
SD_MUST_USE sd_code sd_secret_from(const void *p, size_t len, sd_secret **out, sd_err *err);
/* Caller owns *out: a locked copy of s. */
SD_MUST_USE sd_code sd_secret_dup(const sd_secret *s, sd_secret **out, sd_err *err);
/* Borrowed: valid while s lives. */
uint8_t *sd_secret_data(const sd_secret *s);
size_t sd_secret_len(const sd_secret *s);
/* Shrinks the visible length (for a key that turned out shorter); never grows. */
void sd_secret_truncate(sd_secret *s, size_t len);
/* Wipes, unlocks and frees; accepts NULL. */
void sd_secret_free(sd_secret *s);
/* Moves ownership: returns *p and sets *p = NULL. */
sd_secret *sd_secret_take(sd_secret **p);

/* Wipes memory in a way the compiler cannot elide. */
void sd_wipe(void *p, size_t n);

/* Constant-time equality of two n-byte strings (time depends only on n). */
bool sd_ct_equal(const void *a, const void *b, size_t n);

/* Process hardening for servers: no core dumps, not ptrace-attachable by
 * other users (PR_SET_DUMPABLE 0, RLIMIT_CORE 0). */
SD_MUST_USE sd_code sd_secret_harden_process(sd_err *err);

#endif
