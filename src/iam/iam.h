/* iam: accounts, AccessKeys and Alibaba Cloud OpenAPI request signatures.
 *
 * Three parts:
 *   - iam_params_parse / iam_pct_encode: the x-www-form-urlencoded and URL
 *     query parser (bounded, strict) and the canonical percent-encoder of
 *     research/alibaba-api.md §3.2;
 *   - iam_sig_*: RPC signature v1 (HMAC-SHA1) and V3 (ACS3-HMAC-SHA256),
 *     verification and signing (the CLI signs with the same code);
 *   - iam_open / iam_verify / iam_account_* / iam_key_*: accounts and
 *     AccessKeys persisted in the store, with AccessKey secrets sealed under a
 *     wrapping key (AES-256-GCM, AAD = AccessKeyId), and the full request
 *     authentication with clock-skew and nonce-replay checks (the nonces
 *     are kept in the store, so a replay is refused across restarts).
 *
 * Errors carry an API Code string (sd_err.api_code): SignatureDoesNotMatch,
 * IncompleteSignature, InvalidTimeStamp.Expired, InvalidTimeStamp.Format,
 * SignatureNonceUsed (SD_E_AUTH); Throttling.User (SD_E_THROTTLED); InvalidAccessKeyId.NotFound
 * (SD_E_NOT_FOUND); InvalidAccessKeyId.Inactive (SD_E_DENIED);
 * MissingParameter, InvalidParameter (SD_E_INVALID).
 *
 * Thread model: an iam handle may be shared by many threads (one mutex
 * guards its store handles and secret cache).  iam_params and
 * iam_request belong to one thread.  The iam_sig_* and parsing functions are
 * pure. */
#ifndef SD_IAM_H
#define SD_IAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sd_buf.h"
#include "common/sd_env.h"
#include "common/sd_err.h"
#include "common/sd_rate.h"
#include "common/sd_secret.h"

/* ---- Query / form parameters ----------------------------------------- */

/* One decoded parameter or header: NUL-terminated strings.  For headers the
 * name is lower case. */
typedef struct iam_pair {
    const char *name;
    const char *value;
} iam_pair;

/* A decoded parameter list (plain struct: the HTTP layer keeps it on the
 * stack).  Initialise with IAM_PARAMS_INIT, release with iam_params_free. */
typedef struct iam_params {
    iam_pair *v; /* each v[i].name starts one allocation "name\0value\0" */
    size_t n;
    size_t cap;
} iam_params;

#define IAM_PARAMS_INIT \
    {                   \
        NULL, 0, 0      \
    }

/* Parser limits (option bundle). */
typedef struct iam_parse_opts {
    size_t max_params;     /* number of name=value pairs */
    size_t max_name;       /* decoded bytes of a name */
    size_t max_value;      /* decoded bytes of a value */
    size_t max_input;      /* encoded bytes of the whole string */
    bool allow_duplicates; /* false: a repeated name is InvalidParameter */
} iam_parse_opts;

#define IAM_PARSE_OPTS_INIT                                     \
    {                                                           \
        512, 128, (size_t)64 * 1024, (size_t)1024 * 1024, false \
    }

/* Parses s[0..len) ("a=1&b=x%20y", also a URL query without its '?') into
 * *out, which must be IAM_PARAMS_INIT or freed; caller frees with
 * iam_params_free.  opts may be NULL for the defaults.  '+' decodes to a
 * space; empty segments ("a=1&&b") are skipped; "a" alone is a = "".
 * SD_E_INVALID (api Code InvalidParameter) on a bad %-escape, a NUL, invalid
 * UTF-8, a control character in a name, an empty name, a repeated name or
 * any limit exceeded; the message names the parameter or offset. */
SD_MUST_USE sd_code iam_params_parse(const char *s, size_t len, const iam_parse_opts *opts,
                                     iam_params *out, sd_err *err);
/* Frees the pairs and resets p to IAM_PARAMS_INIT; accepts NULL. */
void iam_params_free(iam_params *p);
/* Borrowed: the value of the first parameter called name, or NULL. */
const char *iam_params_get(const iam_params *p, const char *name);
/* Appends a copy of (name, value) to p (for the CLI building a request).
 * SD_E_NOMEM. */
SD_MUST_USE sd_code iam_params_add(iam_params *p, const char *name, const char *value, sd_err *err);

/* Appends the canonical encoding of s[0..n) (§3.2: unreserved A-Z a-z 0-9
 * - _ . ~ kept, every other byte %XX upper-case, space %20) to out.
 * SD_E_INVALID if out would exceed its max. */
SD_MUST_USE sd_code iam_pct_encode(const char *s, size_t n, sd_buf *out, sd_err *err);

/* ---- Requests and signatures ----------------------------------------- */

/* The request view the HTTP layer fills; everything is borrowed. */
typedef struct iam_request {
    const char *method;      /* "POST", "GET" */
    const char *path;        /* "/" (decoded path, no query) */
    const iam_params *query; /* decoded URL query; may be NULL */
    const iam_params *form;  /* decoded form body params; NULL unless form-encoded */
    const iam_pair *headers; /* names lower case; repeated names allowed */
    size_t n_headers;
    const uint8_t *body; /* raw body bytes (may be NULL when body_len is 0) */
    size_t body_len;
} iam_request;

typedef enum iam_scheme {
    IAM_SIG_V1 = 1, /* RPC HMAC-SHA1 */
    IAM_SIG_V3 = 3, /* ACS3-HMAC-SHA256 */
} iam_scheme;

#define IAM_ACCOUNT_ID_LEN 16
#define IAM_AKID_MAX       64  /* AccessKeyId, NUL included */
#define IAM_NAME_MAX       64  /* action, version, account name, NUL included */
#define IAM_NONCE_MAX      128 /* SignatureNonce, NUL included */

/* What a request claims, before it is checked (plain struct). */
typedef struct iam_sig_info {
    iam_scheme scheme;
    char access_key_id[IAM_AKID_MAX];
    char action[IAM_NAME_MAX];
    char version[IAM_NAME_MAX];
    char timestamp[32];
    char nonce[IAM_NONCE_MAX];
} iam_sig_info;

/* Decides the scheme (Authorization: ACS3-… → V3, else v1) and extracts the
 * claimed identity into *out without checking the signature.
 * SD_E_INVALID: MissingParameter (no Signature/AccessKeyId/Timestamp/
 * SignatureNonce/Action/Version), InvalidParameter (SignatureMethod other
 * than HMAC-SHA1, SignatureVersion other than 1.0, a parameter both in the
 * query and the form body); SD_E_AUTH: IncompleteSignature (malformed
 * Authorization header, unsupported V3 algorithm, a required header not
 * signed or repeated, a signed header absent, a repeated Authorization
 * header, a content-type or x-acs-* header of the request not signed). */
SD_MUST_USE sd_code iam_sig_parse(const iam_request *req, iam_sig_info *out, sd_err *err);

/* Appends the StringToSign of req (scheme as iam_sig_parse decides) to out
 * (v1: METHOD&%2F&enc(canonical query); V3: ACS3-HMAC-SHA256\nhex(sha256(
 * canonical request))).  Errors as iam_sig_parse. */
SD_MUST_USE sd_code iam_sig_string_to_sign(const iam_request *req, sd_buf *out, sd_err *err);

/* Checks req's signature against secret.  SD_E_AUTH SignatureDoesNotMatch
 * (the message never carries the string-to-sign) when the signature or the
 * V3 body hash differs; other errors as iam_sig_parse.  Constant-time
 * comparison.  No clock or nonce check (see iam_verify). */
SD_MUST_USE sd_code iam_sig_check(const iam_request *req, const sd_secret *secret, sd_err *err);

/* v1 signing for the CLI: base64(HMAC-SHA1(secret + "&", StringToSign)) of
 * method and params (which must not contain Signature) into out (at least
 * 29 bytes, NUL-terminated). */
SD_MUST_USE sd_code iam_sign_v1(const char *method, const iam_params *params,
                                const sd_secret *secret, char out[29], sd_err *err);

/* V3 signing for the CLI: signs every header of req named host,
 * content-type or x-acs-* (req must carry x-acs-content-sha256 etc. already;
 * an existing authorization header is ignored) and appends the value of the
 * Authorization header ("ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,
 * Signature=…") to out. */
SD_MUST_USE sd_code iam_sign_v3(const iam_request *req, const char *access_key_id,
                                const sd_secret *secret, sd_buf *out, sd_err *err);

/* Lower-case hex SHA-256 of body (for x-acs-content-sha256) into out. */
SD_MUST_USE sd_code iam_body_sha256_hex(const uint8_t *body, size_t n, char out[65], sd_err *err);

/* ---- Accounts, AccessKeys and authentication ------------------------- */

typedef struct iam iam;

typedef struct iam_opts {
    const char *db_path;       /* the metadata store (iam opens its own handle) */
    const sd_secret *wrap_key; /* 32 bytes; borrowed for the call only (copied) */
    sd_clock clock;
    sd_rng rng;
    int64_t max_skew;      /* seconds; 900 = ±15 min */
    bool skip_clock_check; /* for replaying captured vectors only */
    bool skip_nonce_check; /* for replaying captured vectors only */
    /* Per-AccessKey request rate (Throttling.User beyond it): tokens per
     * second and bucket size; user_rate 0: no limit, user_burst 0: rate. */
    double user_rate;
    double user_burst;
    sd_mono_fn mono; /* the rate's clock; NULL: CLOCK_MONOTONIC */
    void *mono_ctx;
} iam_opts;

#define IAM_OPTS_INIT                                                               \
    {                                                                               \
        NULL, NULL, {NULL, NULL}, {NULL, NULL}, 900, false, false, 0, 0, NULL, NULL \
    }

/* Caller owns *out (iam_close).  Opens the store and checks the wrapping key
 * against the store's check value (written on first open): SD_E_AUTH if the
 * key is not the one the store was created with; SD_E_IO, SD_E_INVALID. */
SD_MUST_USE sd_code iam_open(const iam_opts *opts, iam **out, sd_err *err);
/* Wipes cached secrets and closes; accepts NULL. */
void iam_close(iam *self);

/* The authenticated caller (plain struct). */
typedef struct iam_auth {
    iam_scheme scheme;
    char account_id[IAM_ACCOUNT_ID_LEN + 1];
    char access_key_id[IAM_AKID_MAX];
    char action[IAM_NAME_MAX];
    char version[IAM_NAME_MAX];
} iam_auth;

/* Authenticates req: structure (iam_sig_parse), timestamp format and skew
 * (InvalidTimeStamp.Format / .Expired, SD_E_AUTH), key lookup
 * (InvalidAccessKeyId.NotFound, SD_E_NOT_FOUND; .Inactive, SD_E_DENIED),
 * signature (SignatureDoesNotMatch, SD_E_AUTH), the AccessKey's request
 * rate (Throttling.User, SD_E_THROTTLED; counted only for requests whose
 * signature verified, so nobody else can spend a key's rate), nonce replay
 * within the
 * window (SignatureNonceUsed, SD_E_AUTH; recorded in the store, until the
 * request's timestamp leaves the window, only for requests whose signature
 * verified; SD_E_IO if the store cannot record it).  Fills *out on
 * success.  Thread-safe. */
SD_MUST_USE sd_code iam_verify(iam *self, const iam_request *req, iam_auth *out, sd_err *err);

typedef struct iam_account_info {
    char account_id[IAM_ACCOUNT_ID_LEN + 1];
    char name[IAM_NAME_MAX];
    int64_t created;
} iam_account_info;

typedef struct iam_key_info {
    char access_key_id[IAM_AKID_MAX];
    char account_id[IAM_ACCOUNT_ID_LEN + 1];
    bool active;
    int64_t created;
} iam_key_info;

/* Creates an account named name (1..63 bytes of [A-Za-z0-9._-]) with a new
 * 16-digit id.  SD_E_CONFLICT if the name exists; SD_E_INVALID. */
SD_MUST_USE sd_code iam_account_create(iam *self, const char *name, iam_account_info *out,
                                       sd_err *err);
/* SD_E_NOT_FOUND if account_id does not exist. */
SD_MUST_USE sd_code iam_account_get(iam *self, const char *account_id, iam_account_info *out,
                                    sd_err *err);

/* Creates an Active AccessKey (LTAI + 20 alphanumerics) for account_id.
 * Caller owns *secret (the 30-character AccessKeySecret, shown once).
 * SD_E_NOT_FOUND if the account does not exist. */
SD_MUST_USE sd_code iam_key_create(iam *self, const char *account_id, iam_key_info *out,
                                   sd_secret **secret, sd_err *err);
/* Adds a key with a given id and secret (operator import, tests): id is
 * 3..63 characters of [A-Za-z0-9]; secret 1..128 bytes.  SD_E_CONFLICT if the
 * id exists. */
SD_MUST_USE sd_code iam_key_import(iam *self, const char *account_id, const char *access_key_id,
                                   const sd_secret *secret, sd_err *err);
/* SD_E_NOT_FOUND unless the key exists. */
SD_MUST_USE sd_code iam_key_get(iam *self, const char *access_key_id, iam_key_info *out,
                                sd_err *err);
/* Caller owns *out (iam_key_list_free); the keys of account_id in creation
 * order. */
SD_MUST_USE sd_code iam_key_list(iam *self, const char *account_id, iam_key_info **out, size_t *n,
                                 sd_err *err);
/* Frees a list from iam_key_list; accepts NULL. */
void iam_key_list_free(iam_key_info *list);
/* Enables or disables a key of account_id (SD_E_NOT_FOUND if the key
 * belongs to another account). */
SD_MUST_USE sd_code iam_key_set_active(iam *self, const char *account_id, const char *access_key_id,
                                       bool active, sd_err *err);
/* Deletes a key of account_id and wipes its cached secret. */
SD_MUST_USE sd_code iam_key_delete(iam *self, const char *account_id, const char *access_key_id,
                                   sd_err *err);

/* First start: if the store holds no account, creates the root account
 * ("root") and one AccessKey and sets *created; *secret is then owned by the
 * caller (print it once).  Otherwise *created is false and *secret NULL. */
SD_MUST_USE sd_code iam_bootstrap(iam *self, bool *created, iam_account_info *account,
                                  iam_key_info *key, sd_secret **secret, sd_err *err);

/* ---- RAM roles --------------------------------------------------------- */

#define IAM_ROLE_NAME_MAX   65   /* 1..64 characters of [A-Za-z0-9.-], NUL included */
#define IAM_ROLE_POLICY_MAX 2048 /* AssumeRolePolicyDocument, bytes */
#define IAM_ROLE_DESC_MAX   1025

/* The service role that lets ECS use an account's customer CMKs (R10). */
#define IAM_ECS_DISK_ROLE "AliyunECSDiskEncryptDefaultRole"

typedef struct iam_role_info {
    char account_id[IAM_ACCOUNT_ID_LEN + 1];
    char name[IAM_ROLE_NAME_MAX];
    char role_id[32];
    char description[IAM_ROLE_DESC_MAX];
    char policy[IAM_ROLE_POLICY_MAX + 1];
    int64_t created;
} iam_role_info;

/* Creates role name in account_id.  policy is the AssumeRolePolicyDocument
 * (a JSON object, kept as given).  SD_E_CONFLICT EntityAlreadyExists.Role;
 * SD_E_INVALID InvalidParameter.RoleName.InvalidChars / .Length,
 * InvalidParameter.AssumeRolePolicyDocument. */
SD_MUST_USE sd_code iam_role_create(iam *self, const char *account_id, const char *name,
                                    const char *policy, const char *description, iam_role_info *out,
                                    sd_err *err);
/* SD_E_NOT_FOUND EntityNotExist.Role. */
SD_MUST_USE sd_code iam_role_get(iam *self, const char *account_id, const char *name,
                                 iam_role_info *out, sd_err *err);
SD_MUST_USE sd_code iam_role_delete(iam *self, const char *account_id, const char *name,
                                    sd_err *err);

#endif
