/* sd_err: the one error type of sealdisk.
 *
 * Every fallible function returns an sd_code (a *kind* of failure) and
 * reports detail through an optional sd_err.  Rules (STYLE B2 §5):
 *   - err may be NULL;
 *   - a success never writes to it;
 *   - the first failure wins: later sd_err_set calls on a set err are ignored;
 *   - the return value always carries the kind.
 * The API-specific Code string (for example "Forbidden.KeyNotFound") is set by
 * the module that knows it, with sd_err_setc; api/ maps kinds without one.
 *
 * sd_err is a plain struct on purpose: callers keep it on the stack
 * (sd_err err = SD_ERR_INIT), which an opaque type would forbid.
 * Thread model: an sd_err belongs to one call chain; never share one. */
#ifndef SD_ERR_H
#define SD_ERR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum sd_code {
    SD_OK = 0,
    SD_E_INVALID,   /* bad input from the caller */
    SD_E_NOT_FOUND, /* the named thing does not exist (for this account) */
    SD_E_DENIED,    /* not allowed: permissions, authorisation */
    SD_E_KEY_STATE, /* the key exists but its state forbids the operation */
    SD_E_AUTH,      /* authentication failed: tag, signature, wrong key */
    SD_E_THROTTLED, /* over a quota */
    SD_E_CONFLICT,  /* the resource's state forbids it, or it already exists */
    SD_E_IO,        /* storage or network failure */
    SD_E_NOMEM,     /* allocation failed */
    SD_E_INTERNAL,  /* a bug or a library failure we cannot attribute */
    SD_E_NOSPACE,   /* the storage under us is full (ENOSPC, EDQUOT, SQLITE_FULL) */
} sd_code;

#define SD_ERR_MSG_MAX 256
#define SD_ERR_API_MAX 64

typedef struct sd_err {
    sd_code code;
    const char *file;
    int line;
    char api_code[SD_ERR_API_MAX]; /* "" unless a module named one */
    char msg[SD_ERR_MSG_MAX];
} sd_err;

#define SD_ERR_INIT          \
    {                        \
        SD_OK, NULL, 0, {0}, \
        {                    \
            0                \
        }                    \
    }

#if defined(__GNUC__)
#define SD_MUST_USE     __attribute__((warn_unused_result))
#define SD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SD_MUST_USE
#define SD_PRINTF(f, a)
#endif

#define SD_HERE __FILE__, __LINE__

/* Records the first failure in err (if err is non-NULL and still clear).
 * Prefer the macros below, which also yield the kind. */
void sd_err_record(sd_err *err, sd_code code, const char *api_code, const char *file, int line,
                   const char *fmt, ...) SD_PRINTF(6, 7);

/* sd_err_set(err, code, SD_HERE, fmt, ...): records the failure and yields
 * code, so it can be used as `return sd_err_set(...)`.  A macro rather than
 * a function so that static analysis sees the kind it returns (code is
 * evaluated twice: pass a constant or a variable). */
#define sd_err_set(err, code, ...) (sd_err_record((err), (code), NULL, __VA_ARGS__), (code))
/* As sd_err_set, and also names the API Code string (copied, truncated). */
#define sd_err_setc(err, code, api_code, ...) \
    (sd_err_record((err), (code), (api_code), __VA_ARGS__), (code))

/* Resets err to SD_ERR_INIT; accepts NULL. */
void sd_err_clear(sd_err *err);

/* A stable name for a kind ("SD_E_AUTH"); never NULL. */
const char *sd_code_name(sd_code code);

/* The kind of a failed system call's errno on storage: SD_E_NOSPACE for a
 * full file system or quota (ENOSPC, EDQUOT), SD_E_IO otherwise. */
sd_code sd_errno_kind(int e);

/* Guard macros: every function using them declares `sd_code rc = SD_OK;`
 * and ends with an `out:` label that only cleans up. */
#define SD_TRY(expr)     \
    do {                 \
        rc = (expr);     \
        if (rc != SD_OK) \
            goto out;    \
    } while (0)
#define SD_FAIL(err, code, ...)                               \
    do {                                                      \
        rc = sd_err_set((err), (code), SD_HERE, __VA_ARGS__); \
        goto out;                                             \
    } while (0)
#define SD_FAILC(err, code, api, ...)                                 \
    do {                                                              \
        rc = sd_err_setc((err), (code), (api), SD_HERE, __VA_ARGS__); \
        goto out;                                                     \
    } while (0)
#define SD_ENSURE(cond, err, code, ...)          \
    do {                                         \
        if (!(cond))                             \
            SD_FAIL((err), (code), __VA_ARGS__); \
    } while (0)
#define SD_ENSUREC(cond, err, code, api, ...)            \
    do {                                                 \
        if (!(cond))                                     \
            SD_FAILC((err), (code), (api), __VA_ARGS__); \
    } while (0)

/* A deliberately ignored result; the call site says why in a comment. */
static inline void sd_ignore(sd_code rc)
{
    (void)rc;
}

/* Defensive checks (SQLite's ALWAYS/NEVER): true in release, loud in tests. */
#ifdef NDEBUG
#define SD_ALWAYS(x) (x)
#define SD_NEVER(x)  (x)
#else
#include <assert.h>
#define SD_ALWAYS(x) ((x) ? 1 : (assert(0 && #x), 0))
#define SD_NEVER(x)  ((x) ? (assert(0 && #x), 1) : 0)
#endif

/* Checked size arithmetic (nbdkit's checked-overflow.h): true on overflow. */
#define sd_add_overflow(a, b, r) __builtin_add_overflow((a), (b), (r))
#define sd_mul_overflow(a, b, r) __builtin_mul_overflow((a), (b), (r))

#endif
