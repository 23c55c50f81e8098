/* srv_int.h: what the server module's files share. */
#ifndef SD_SRV_INT_H
#define SD_SRV_INT_H

#include "kms/kms.h"
#include "server/srv.h"

/* Loads the configured root key and opens the KMS over DATA_DIR/meta.db.
 * SD_E_AUTH when the root key is not the data directory's. */
SD_MUST_USE sd_code srv__open_kms(const srv_config *c, kms_rootkey **root, kms **k, sd_err *err);

#include "iam/iam.h"

/* Opens iam (AccessKey secrets sealed under a key derived from root) and,
 * on an empty data directory, creates the root account and AccessKey,
 * prints them once and writes the CLI profile pointing at endpoint. */
SD_MUST_USE sd_code srv__open_iam(const srv_config *c, const kms_rootkey *root,
                                  const char *endpoint, iam **out, sd_err *err);

#include "block/block.h"
#include "ecs/ecs.h"

/* Opens the block store (DATA_DIR/blocks) and ecs over DATA_DIR/meta.db;
 * the caller closes both (ecs first), also on failure. */
SD_MUST_USE sd_code srv__open_ecs(const srv_config *c, kms *k, iam *accounts, blk_store **bs,
                                  ecs **out, sd_err *err);

/* A thread that runs kms_tick every `seconds` (rotations, deletions). */
typedef struct srv_ticker srv_ticker;
SD_MUST_USE sd_code srv__ticker_start(kms *k, unsigned seconds, srv_ticker **out, sd_err *err);
void srv__ticker_stop(srv_ticker *t);

/* Embedded defaults, then the config file, then flags (argv[0] is the
 * command word). */
SD_MUST_USE sd_code srv__configure(srv_config *c, int argc, char **argv, bool *help, sd_err *err);

/* Prints `sealdisk server --help` to stdout. */
void srv__usage(void);

#endif
