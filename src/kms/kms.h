/* kms: customer master keys and envelope encryption (KMS 2016-01-20).
 *
 * Keys belong to an (account, region) pair: a caller names both, and
 * nothing of another account or region is visible.  A key is Enabled,
 * Disabled, PendingDeletion or PendingImport; every operation is allowed or
 * refused per the contract's state table (alibaba-api.md §6.2), refusals
 * carrying the exact Code (Rejected.Disabled, ...).  Key versions hold 256
 * bits of material stored only wrapped under the root key (AES-256-GCM,
 * AAD = key id and version id); the newest version encrypts, every version
 * decrypts.  Ciphertext blobs are self-describing (kms_blob.c), so Decrypt
 * needs no key id, and the encryption context is bound as AAD in one
 * canonical form (kms_ctx.c).
 *
 * Every call that takes a key reference accepts a key id, an alias
 * ("alias/...") or an ARN ("acs:kms:<region>:<account>:key/<id>" or
 * ":alias/...").  The service key "alias/acs/ecs" is created on first use
 * and can be neither disabled, scheduled for deletion nor re-aliased.
 *
 * Over a region's quota a call fails with SD_E_THROTTLED (Code
 * Rejected.Throttling) before doing anything.
 *
 * Errors: SD_E_NOT_FOUND (Forbidden.KeyNotFound, Forbidden.AliasNotFound),
 * SD_E_KEY_STATE (409 Rejected.*), SD_E_INVALID (InvalidParameter,
 * AliasAlreadyExists, ...), SD_E_AUTH (a blob or context that does not
 * authenticate: InvalidParameter), SD_E_IO.  The Code is in sd_err.api_code.
 *
 * Thread model: a kms handle may be shared by any number of threads; its
 * calls are serialised by one mutex (they are short: one SQLite lookup and
 * one AES-GCM operation with a cached key). */
#ifndef SD_KMS_H
#define SD_KMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

typedef struct kms kms;
typedef struct kms_rootkey kms_rootkey;

/* ---- root key --------------------------------------------------------- */

/* Caller owns *out: the root key in the file at path (32 random bytes).
 * create: make the file (0600, O_EXCL) if it does not exist.
 * SD_E_NOT_FOUND when absent and !create; SD_E_INVALID when malformed. */
SD_MUST_USE sd_code kms_rootkey_file(const char *path, bool create, kms_rootkey **out, sd_err *err);
/* Caller owns *out: a root key stretched from a passphrase with scrypt
 * (N=2^log2n, r=8, p=1) and a 16-byte salt kept in salt_path (created 0600
 * when create and absent).  The passphrase is copied into locked memory by
 * the caller; it is never read from argv. */
SD_MUST_USE sd_code kms_rootkey_passphrase(const sd_secret *pass, const char *salt_path,
                                           bool create, unsigned log2n, kms_rootkey **out,
                                           sd_err *err);
/* Caller owns *out: a 32-byte key derived from the root key for another
 * module's purpose (HKDF-SHA256, info = label), so the root key itself
 * never leaves kms.  Used for the AccessKey-secret wrapping key of iam. */
SD_MUST_USE sd_code kms_rootkey_derive(const kms_rootkey *rk, const char *label, sd_secret **out,
                                       sd_err *err);
void kms_rootkey_free(kms_rootkey *rk);

/* ---- the handle ------------------------------------------------------- */

/* Per-region request quotas, requests per second (R14: the KMS calls that
 * disk management makes count too).  0 turns a quota off. */
typedef struct kms_quota {
    double crypto;    /* Encrypt, Decrypt, GenerateDataKey*: 1000 */
    double reencrypt; /* ReEncrypt: 750 */
    double create;    /* CreateKey: 10 */
} kms_quota;

#define KMS_QUOTA_DEFAULT \
    {                     \
        1000, 750, 10     \
    }

typedef struct kms_opts {
    const char *db_path;     /* the metadata store (SQLite file, or ":memory:") */
    const kms_rootkey *root; /* borrowed; must outlive the kms */
    sd_clock clock;
    sd_rng rng;
    kms_quota quota; /* all zero: no quotas */
    sd_mono_fn mono; /* the quotas' clock; NULL: CLOCK_MONOTONIC */
    void *mono_ctx;
} kms_opts;

/* Caller owns *out.  Checks the root key against the verifier stored at
 * the first open: a different root key is SD_E_AUTH ("the root key does not
 * match this data directory") and nothing is written. */
SD_MUST_USE sd_code kms_open(const kms_opts *o, kms **out, sd_err *err);
/* Wipes every cached key and frees; accepts NULL. */
void kms_close(kms *k);

/* Who is calling: every resource is scoped by both. */
typedef struct kms_caller {
    const char *account; /* account (UID) */
    const char *region;
} kms_caller;

/* ---- keys --------------------------------------------------------------- */

#define KMS_ID_MAX   64
#define KMS_ARN_MAX  192
#define KMS_DESC_MAX 8192

typedef struct kms_key_meta {
    char key_id[KMS_ID_MAX];
    char arn[KMS_ARN_MAX];
    char description[KMS_DESC_MAX + 1];
    char state[24];      /* Enabled, Disabled, PendingDeletion, PendingImport */
    char usage[24];      /* ENCRYPT/DECRYPT */
    char spec[24];       /* Aliyun_AES_256 */
    char origin[16];     /* Aliyun_KMS or EXTERNAL */
    char protection[16]; /* SOFTWARE */
    char creator[KMS_ID_MAX];
    char primary_version[KMS_ID_MAX];
    char rotation[16]; /* AutomaticRotation: Enabled or Disabled */
    int64_t created;
    int64_t delete_at;        /* 0 unless PendingDeletion */
    int64_t rotation_seconds; /* 0 when rotation is off */
    int64_t last_rotation;    /* 0: never rotated */
    int64_t next_rotation;    /* 0 when rotation is off */
    int64_t material_expire;  /* EXTERNAL keys; 0: never */
    bool service;             /* the alias/acs/ecs service key */
} kms_key_meta;

typedef struct kms_create_opts {
    const char *description;       /* NULL: "" */
    const char *usage;             /* NULL: ENCRYPT/DECRYPT */
    const char *spec;              /* NULL: Aliyun_AES_256 */
    const char *origin;            /* NULL: Aliyun_KMS */
    const char *protection;        /* NULL: SOFTWARE */
    bool rotation;                 /* EnableAutomaticRotation */
    const char *rotation_interval; /* "365d", "604800s"; required with rotation */
} kms_create_opts;

#define KMS_CREATE_OPTS_INIT \
    {                        \
        0                    \
    }

SD_MUST_USE sd_code kms_create_key(kms *k, const kms_caller *c, const kms_create_opts *o,
                                   kms_key_meta *out, sd_err *err);
SD_MUST_USE sd_code kms_describe_key(kms *k, const kms_caller *c, const char *ref,
                                     kms_key_meta *out, sd_err *err);
/* Page (1-based) of key ids, oldest first; ids_out gets up to size entries. */
typedef void (*kms_key_fn)(void *ctx, const char *key_id);
SD_MUST_USE sd_code kms_list_keys(kms *k, const kms_caller *c, int64_t page, int64_t size,
                                  kms_key_fn fn, void *ctx, int64_t *total, sd_err *err);
SD_MUST_USE sd_code kms_enable_key(kms *k, const kms_caller *c, const char *ref, sd_err *err);
SD_MUST_USE sd_code kms_disable_key(kms *k, const kms_caller *c, const char *ref, sd_err *err);
/* days 7..366 */
SD_MUST_USE sd_code kms_schedule_deletion(kms *k, const kms_caller *c, const char *ref,
                                          int64_t days, sd_err *err);
SD_MUST_USE sd_code kms_cancel_deletion(kms *k, const kms_caller *c, const char *ref, sd_err *err);
SD_MUST_USE sd_code kms_update_description(kms *k, const kms_caller *c, const char *ref,
                                           const char *description, sd_err *err);

/* ---- rotation and versions ----------------------------------------------- */

/* Caller gets the new primary version id (KMS_ID_MAX). */
SD_MUST_USE sd_code kms_create_version(kms *k, const kms_caller *c, const char *ref,
                                       char *version_out, int64_t *created, sd_err *err);
typedef void (*kms_version_fn)(void *ctx, const char *key_id, const char *version_id,
                               int64_t created);
SD_MUST_USE sd_code kms_list_versions(kms *k, const kms_caller *c, const char *ref, int64_t page,
                                      int64_t size, kms_version_fn fn, void *ctx, int64_t *total,
                                      sd_err *err);
SD_MUST_USE sd_code kms_describe_version(kms *k, const kms_caller *c, const char *ref,
                                         const char *version_id, int64_t *created, char *key_id_out,
                                         sd_err *err);
/* interval NULL keeps the current one; required when enabling a key that has none. */
SD_MUST_USE sd_code kms_update_rotation(kms *k, const kms_caller *c, const char *ref, bool enable,
                                        const char *interval, sd_err *err);
/* Parses "<n>d|h|m|s" into seconds in [7 days, 730 days]. */
SD_MUST_USE sd_code kms_parse_interval(const char *s, int64_t *seconds, sd_err *err);

/* The scheduler step the server calls periodically: rotates keys whose
 * interval has passed and destroys keys whose deletion window has passed. */
SD_MUST_USE sd_code kms_tick(kms *k, sd_err *err);

/* ---- aliases and tags ------------------------------------------------------ */

SD_MUST_USE sd_code kms_create_alias(kms *k, const kms_caller *c, const char *alias,
                                     const char *ref, sd_err *err);
SD_MUST_USE sd_code kms_update_alias(kms *k, const kms_caller *c, const char *alias,
                                     const char *ref, sd_err *err);
SD_MUST_USE sd_code kms_delete_alias(kms *k, const kms_caller *c, const char *alias, sd_err *err);
typedef void (*kms_alias_fn)(void *ctx, const char *alias, const char *key_id);
/* ref NULL: every alias of the caller; otherwise the aliases of that key. */
SD_MUST_USE sd_code kms_list_aliases(kms *k, const kms_caller *c, const char *ref, int64_t page,
                                     int64_t size, kms_alias_fn fn, void *ctx, int64_t *total,
                                     sd_err *err);

SD_MUST_USE sd_code kms_tag(kms *k, const kms_caller *c, const char *ref, const char *key,
                            const char *value, sd_err *err);
SD_MUST_USE sd_code kms_untag(kms *k, const kms_caller *c, const char *ref, const char *key,
                              sd_err *err);
typedef void (*kms_tag_fn)(void *ctx, const char *key_id, const char *key, const char *value);
SD_MUST_USE sd_code kms_list_tags(kms *k, const kms_caller *c, const char *ref, kms_tag_fn fn,
                                  void *ctx, sd_err *err);

/* ---- BYOK (EXTERNAL keys) --------------------------------------------------- */

/* GetParametersForImport: a fresh RSA_2048 wrapping key for an EXTERNAL key
 * (Unsupported.Origin otherwise); its DER SubjectPublicKeyInfo is appended
 * to pubkey, the import token (valid 24 hours, bound to this key) copied to
 * token (KMS_ID_MAX).  algorithm: RSAES_OAEP_SHA_256, RSAES_OAEP_SHA_1 or
 * RSAES_PKCS1_V1_5; spec: RSA_2048. */
SD_MUST_USE sd_code kms_import_params(kms *k, const kms_caller *c, const char *ref,
                                      const char *algorithm, const char *spec, sd_buf *pubkey,
                                      char *token, int64_t *expires, sd_err *err);
/* ImportKeyMaterial: 32 bytes wrapped with the public key; expire_unix 0
 * (never) or in the future.  A re-import must carry the same material
 * (InvalidKeyMaterial otherwise); InvalidImportToken, ExpiredImportToken. */
SD_MUST_USE sd_code kms_import_material(kms *k, const kms_caller *c, const char *ref,
                                        const uint8_t *wrapped, size_t len, const char *token,
                                        int64_t expire_unix, sd_err *err);
/* DeleteKeyMaterial: the key returns to PendingImport (a PendingDeletion key
 * keeps its state); its blobs decrypt again once the same material is
 * imported. */
SD_MUST_USE sd_code kms_delete_material(kms *k, const kms_caller *c, const char *ref, sd_err *err);

/* ---- encryption context ------------------------------------------------- */

typedef struct kms_ctx kms_ctx;

/* Caller owns *out.  A JSON object of string values ({"k":"v"}); NULL or
 * "" is the empty context.  SD_E_INVALID (InvalidParameter) otherwise. */
SD_MUST_USE sd_code kms_ctx_from_json(const char *json, size_t len, kms_ctx **out, sd_err *err);
/* Caller owns *out: the context from n (key, value) pairs. */
SD_MUST_USE sd_code kms_ctx_from_pairs(const char *const *keys, const char *const *values, size_t n,
                                       kms_ctx **out, sd_err *err);
/* The canonical bytes bound as AAD (borrowed). */
const uint8_t *kms_ctx_bytes(const kms_ctx *c, size_t *len);
void kms_ctx_free(kms_ctx *c);

/* ---- envelope operations ------------------------------------------------- */

#define KMS_BLOB_MAX  8192
#define KMS_PLAIN_MAX 6144

typedef struct kms_used {
    char key_id[KMS_ID_MAX];
    char version_id[KMS_ID_MAX];
} kms_used;

/* A data key of nbytes (1..1024) from the CSPRNG: *plain (caller owns; NULL
 * to skip, as GenerateDataKeyWithoutPlaintext) and its blob appended to
 * blob.  ctx may be NULL. */
SD_MUST_USE sd_code kms_generate_data_key(kms *k, const kms_caller *c, const char *ref,
                                          size_t nbytes, const kms_ctx *ctx, sd_secret **plain,
                                          sd_buf *blob, kms_used *used, sd_err *err);
/* Encrypts up to 6 KiB of caller bytes (returned unchanged by Decrypt). */
SD_MUST_USE sd_code kms_encrypt(kms *k, const kms_caller *c, const char *ref, const uint8_t *pt,
                                size_t ptlen, const kms_ctx *ctx, sd_buf *blob, kms_used *used,
                                sd_err *err);
/* Caller owns *plain.  *is_data_key tells a generated data key (raw bytes,
 * shown base64 on the wire) from Encrypt's bytes (shown as given). */
SD_MUST_USE sd_code kms_decrypt(kms *k, const kms_caller *c, const uint8_t *blob, size_t len,
                                const kms_ctx *ctx, sd_secret **plain, bool *is_data_key,
                                kms_used *used, sd_err *err);
SD_MUST_USE sd_code kms_reencrypt(kms *k, const kms_caller *c, const uint8_t *blob, size_t len,
                                  const kms_ctx *src_ctx, const char *dst_ref,
                                  const kms_ctx *dst_ctx, sd_buf *out, kms_used *src_used,
                                  kms_used *dst_used, sd_err *err);

#endif
