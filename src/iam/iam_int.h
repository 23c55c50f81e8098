/* iam_int.h: internals shared by the iam files (not for other modules). */
#ifndef SD_IAM_INT_H
#define SD_IAM_INT_H

#include "iam/iam.h"
#include "store/store.h"

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
#define IAM_C_THROTTLE  "Throttling.User"

/* Replay records in the store (iam_nonce.c); the iam mutex guards st. */
/* Records (akid, nonce) until expires.  SD_E_AUTH SignatureNonceUsed if a
 * record of them has not expired by now; SD_E_IO. */
SD_MUST_USE sd_code iam__nonce_record(store *st, const char *akid, const char *nonce, int64_t now,
                                      int64_t expires, sd_err *err);
/* Deletes the records expired by now.  SD_E_IO. */
SD_MUST_USE sd_code iam__nonce_purge(store *st, int64_t now, sd_err *err);

#endif
