/* srv_ecs.c: the ECS control plane of `sealdisk server`: the block store
 * (DATA_DIR/blocks) and ecs over the metadata store, reaching the KMS
 * through the in-process kms_client as the ECS service.
 *
 * No exporter yet: instances start and unwrap their keys, but their disks
 * are not published over NBD (NbdUri stays ""). */
#include <stdio.h>

#include "block/block.h"
#include "crypto/crypto.h"
#include "ecs/ecs.h"
#include "kms/kms_client.h"
#include "server/srv_int.h"

sd_code srv__open_ecs(const srv_config *c, kms *k, iam *accounts, blk_store **bs, ecs **out,
                      sd_err *err)
{
    sd_code rc = SD_OK;
    char path[600];
    ecs_opts o = {0};

    *bs = NULL;
    *out = NULL;
    SD_ENSURE(snprintf(path, sizeof path, "%s/blocks", c->data_dir) < (int)sizeof path, err,
              SD_E_INVALID, "data directory path too long");
    SD_TRY(sd_mkdirs(path, 0700, err));
    SD_TRY(blk_store_open_local(path, bs, err));
    SD_ENSURE(snprintf(path, sizeof path, "%s/meta.db", c->data_dir) < (int)sizeof path, err,
              SD_E_INVALID, "data directory path too long");
    o.db_path = path;
    o.blocks = *bs;
    o.kms = kms_client_local(k);
    o.iam = accounts;
    o.region = c->region;
    o.clock = sd_clock_system();
    o.rng = crypto_rng_system();
    SD_TRY(ecs_open(&o, out, err));
out:
    return rc;
}
