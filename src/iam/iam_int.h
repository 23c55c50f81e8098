/* iam_int.h: internals shared by the iam files (not for other modules). */
#ifndef SD_IAM_INT_H
#define SD_IAM_INT_H

#include "iam/iam.h"

/* The names of API Code strings used in more than one file. */
#define IAM_C_INVALID   "InvalidParameter"
#define IAM_C_MISSING   "MissingParameter"
#define IAM_C_INCOMPL   "IncompleteSignature"
#define IAM_C_MISMATCH  "SignatureDoesNotMatch"
#define IAM_C_TS_FORMAT "InvalidTimeStamp.Format"
#define IAM_C_TS_EXPIRY "InvalidTimeStamp.Expired"
#define IAM_C_NONCE     "SignatureNonceUsed"
#define IAM_C_AK_NF     "InvalidAccessKeyId.NotFound"
#define IAM_C_AK_OFF    "InvalidAccessKeyId.Inactive"

/* Nonce replay cache (iam_nonce.c). Not thread-safe: the iam mutex guards it. */
typedef struct iam_nonce_cache iam_nonce_cache;
SD_MUST_USE sd_code iam__nonce_new(size_t capacity, const sd_rng *rng, iam_nonce_cache **out,
                                   sd_err *err);
void iam__nonce_free(iam_nonce_cache *c);
/* Records (akid, nonce) valid until expires; SD_E_AUTH SignatureNonceUsed if
 * a live entry exists, SD_E_THROTTLED if the cache is full of live entries. */
SD_MUST_USE sd_code iam__nonce_record(iam_nonce_cache *c, const char *akid, const char *nonce,
                                      int64_t now, int64_t expires, sd_err *err);

#endif
