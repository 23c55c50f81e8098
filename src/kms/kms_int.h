/* kms_int.h: what the kms module's files share. */
#ifndef SD_KMS_INT_H
#define SD_KMS_INT_H

#include <pthread.h>

#include "kms/kms.h"
#include "store/store.h"

#define KMS_CTX_MAX_PAIRS 64
#define KMS_CTX_MAX_BYTES ((size_t)8192)

/* Blob kinds: what the plaintext is (part of the authenticated header). */
#define KMS_BLOB_DATA_KEY 1 /* GenerateDataKey: raw key bytes */
#define KMS_BLOB_DATA     2 /* Encrypt: the caller's bytes */

typedef struct kms_blob {
    uint8_t kind;
    char key_id[KMS_ID_MAX];
    char version_id[KMS_ID_MAX];
    const uint8_t *header; /* format byte .. version id, borrowed */
    size_t header_len;
    const uint8_t *nonce; /* 12 bytes, borrowed */
    const uint8_t *ct;    /* borrowed */
    size_t ct_len;
    const uint8_t *tag; /* 16 bytes, borrowed */
} kms_blob;

/* Parses a blob (borrowing from bytes).  SD_E_AUTH + InvalidParameter when
 * it is not one of ours (a malformed blob is told apart from nothing). */
SD_MUST_USE sd_code kms__blob_parse(const uint8_t *bytes, size_t len, kms_blob *out, sd_err *err);
/* Seals pt under the version key into a new blob appended to out. */
SD_MUST_USE sd_code kms__blob_seal(const sd_secret *vkey, uint8_t kind, const char *key_id,
                                   const char *version_id, const kms_ctx *ctx, const uint8_t *pt,
                                   size_t ptlen, const sd_rng *rng, sd_buf *out, sd_err *err);
/* Opens a parsed blob under the version key into *plain (caller owns). */
SD_MUST_USE sd_code kms__blob_open(const sd_secret *vkey, const kms_blob *b, const kms_ctx *ctx,
                                   sd_secret **plain, sd_err *err);

/* Root key wrap/unwrap of 32-byte version material (and the verifier). */
SD_MUST_USE sd_code kms__root_wrap(const kms_rootkey *rk, const char *aad, const sd_secret *pt,
                                   const sd_rng *rng, sd_buf *out, sd_err *err);
SD_MUST_USE sd_code kms__root_unwrap(const kms_rootkey *rk, const char *aad, const uint8_t *wrapped,
                                     size_t len, sd_secret **out, sd_err *err);

/* An unwrapped version key kept in locked memory. */
typedef struct kms_vkey {
    char version_id[KMS_ID_MAX];
    char key_id[KMS_ID_MAX];
    sd_secret *key;
    struct kms_vkey *next;
} kms_vkey;

/* The quota buckets of one region. */
typedef struct kms_region_quota {
    char region[64];
    sd_rate *crypto;
    sd_rate *reencrypt;
    sd_rate *create;
    struct kms_region_quota *next;
} kms_region_quota;

typedef enum kms_quota_class {
    KMS_Q_CRYPTO,
    KMS_Q_REENCRYPT,
    KMS_Q_CREATE,
} kms_quota_class;

struct kms {
    pthread_mutex_t mu; /* serialises every public call */
    kms_quota quota;
    sd_mono_fn mono;
    void *mono_ctx;
    kms_region_quota *quotas;
    store *st;
    const kms_rootkey *root;
    sd_clock clock;
    sd_rng rng;
    kms_vkey *cache;
};

/* What an operation needs of a key's state (alibaba-api.md §6.2). */
typedef enum kms_op {
    KMS_OP_CRYPTO, /* Encrypt, Decrypt, GenerateDataKey*, CreateKeyVersion, UpdateRotationPolicy */
    KMS_OP_READ,   /* Describe*, List*, DeleteAlias */
    KMS_OP_META,   /* UpdateKeyDescription, TagResource, UntagResource */
    KMS_OP_ENABLE, /* EnableKey, DisableKey */
    KMS_OP_SCHEDULE,     /* ScheduleKeyDeletion */
    KMS_OP_CANCEL,       /* CancelKeyDeletion */
    KMS_OP_CREATE_ALIAS, /* CreateAlias, ImportKeyMaterial */
    KMS_OP_ALIAS_TARGET, /* UpdateAlias: the new target */
} kms_op;

#define KMS_SERVICE_ALIAS "alias/acs/ecs"

/* Resolves a key id, alias or ARN of the caller into *m (the service key
 * is created on first reference to its alias).  A key whose deletion
 * window has passed is destroyed here and answers Forbidden.KeyNotFound. */
SD_MUST_USE sd_code kms__resolve(kms *k, const kms_caller *c, const char *ref, kms_key_meta *m,
                                 sd_err *err);
/* Looks up alias of the caller: *found, and its key id (KMS_ID_MAX) when
 * key_id is non-NULL. */
SD_MUST_USE sd_code kms__alias_target(kms *k, const kms_caller *c, const char *alias, char *key_id,
                                      bool *found, sd_err *err);
/* Refuses op on a key in m's state with the exact Code. */
SD_MUST_USE sd_code kms__state_allows(const kms_key_meta *m, kms_op op, sd_err *err);
/* The unwrapped key of a version of key_id (borrowed from the cache). */
SD_MUST_USE sd_code kms__version_key(kms *k, const char *key_id, const char *version_id,
                                     const sd_secret **out, sd_err *err);
/* Adds a new primary version to key_id (material from the RNG). */
SD_MUST_USE sd_code kms__new_version(kms *k, const char *key_id, int64_t now, char *version_out,
                                     sd_err *err);
/* Stores material (32 bytes) wrapped under the root key as version_id of
 * key_id (insert, or replace after DeleteKeyMaterial) and makes it primary. */
SD_MUST_USE sd_code kms__put_version(kms *k, const char *key_id, const char *version_id,
                                     const sd_secret *material, int64_t now, sd_err *err);
/* Unloads an EXTERNAL key's material (DeleteKeyMaterial, expiry): wipes
 * every version's material, keeping the rows so the same material can
 * return under the same version ids; drops the cache; clears the expiry;
 * the key goes back to PendingImport unless it is PendingDeletion. */
SD_MUST_USE sd_code kms__wipe_material(kms *k, const char *key_id, sd_err *err);
/* Overwrites and deletes a key's material and rows, drops its cache. */
SD_MUST_USE sd_code kms__destroy(kms *k, const char *key_id, sd_err *err);
/* Inserts a key row and, unless EXTERNAL, its first version, in one
 * transaction (k->mu held, no transaction open); the new key in *m.
 * service: the alias/acs/ecs key, created with its alias. */
SD_MUST_USE sd_code kms__insert_key(kms *k, const kms_caller *c, const char *desc,
                                    const char *usage, const char *spec, const char *origin,
                                    const char *protection, int64_t rotation, bool service,
                                    kms_key_meta *m, sd_err *err);
/* Takes a token of the caller's region for class q; SD_E_THROTTLED with
 * Rejected.Throttling when none is left (k->mu held). */
SD_MUST_USE sd_code kms__quota(kms *k, const kms_caller *c, kms_quota_class q, sd_err *err);

#endif
