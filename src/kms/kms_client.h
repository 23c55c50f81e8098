/* kms_client.h: the only door from the disk side (ecs/) to the KMS.
 *
 * A vtable, so a deployment can later point disks at a KMS on another host;
 * kms_client_local is the in-process implementation.  Calls are made by
 * the ECS service principal on behalf of an account (the caller names it);
 * the KMS's state checks apply exactly as for the account's own calls, so
 * disabling a key stops new data keys and unwrapping at once.
 * Thread model: as the kms handle behind it (shareable). */
#ifndef SD_KMS_CLIENT_H
#define SD_KMS_CLIENT_H

#include "kms/kms.h"

typedef struct kms_client_ops {
    /* A fresh 256-bit data key for a disk under ref (id, alias, ARN): *dk
     * (caller owns) and its blob appended to blob. */
    SD_MUST_USE sd_code (*generate_data_key)(void *h, const kms_caller *c, const char *ref,
                                             const kms_ctx *ctx, sd_secret **dk, sd_buf *blob,
                                             kms_used *used, sd_err *err);
    /* Unwraps a disk's data key blob into *dk (caller owns).  Refuses blobs
     * that are not data keys. */
    SD_MUST_USE sd_code (*decrypt_data_key)(void *h, const kms_caller *c, const uint8_t *blob,
                                            size_t len, const kms_ctx *ctx, sd_secret **dk,
                                            kms_used *used, sd_err *err);
    /* Re-wraps a data key blob under dst_ref (shared snapshots, copies). */
    SD_MUST_USE sd_code (*reencrypt_data_key)(void *h, const kms_caller *c, const uint8_t *blob,
                                              size_t len, const kms_ctx *ctx, const char *dst_ref,
                                              sd_buf *out, kms_used *used, sd_err *err);
    SD_MUST_USE sd_code (*describe_key)(void *h, const kms_caller *c, const char *ref,
                                        kms_key_meta *out, sd_err *err);
} kms_client_ops;

typedef struct kms_client {
    const kms_client_ops *ops;
    void *h;
} kms_client;

/* The in-process client over k (borrowed; k must outlive it). */
kms_client kms_client_local(kms *k);

#endif
