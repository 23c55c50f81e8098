/* srv_dataplane.c: the disk side of the server: the block store, the NBD
 * server on a unix socket in the data directory, and the ECS control plane
 * wired to both (its exports become NBD exports; its KMS calls go through
 * kms_client_local, so quotas and key states apply). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/block.h"
#include "crypto/crypto.h"
#include "ecs/ecs.h"
#include "nbd/nbds.h"
#include "server/srv_int.h"

struct srv_dataplane {
    blk_store *blocks;
    crypto_tls_ctx *tls;
    nbds_server *nbd;
    ecs *e;
    char socket[600];
};

static sd_code export_add(void *h, const char *name, const blk_export *exp, char *uri, size_t cap,
                          sd_err *err)
{
    srv_dataplane *dp = h;
    sd_code rc = SD_OK;

    SD_TRY(nbds_export_add(dp->nbd, name, exp, err));
    /* the URI qemu-img, nbdinfo and nbdcopy take as it is */
    SD_ENSURE(snprintf(uri, cap, "nbd+unix:///%s?socket=%s", name, dp->socket) < (int)cap, err,
              SD_E_INVALID, "export URI too long");
out:
    return rc;
}

static void export_remove(void *h, const char *name)
{
    srv_dataplane *dp = h;
    sd_err err = SD_ERR_INIT;

    if (nbds_export_remove(dp->nbd, name, &err) != SD_OK) {
        sd_log(SD_LOG_ERROR, "nbd", "removing export %s: %s", name, err.msg);
    }
}

sd_code srv__dataplane_open(const srv_config *c, kms *k, iam *accounts, srv_dataplane **out,
                            sd_err *err)
{
    sd_code rc = SD_OK;
    srv_dataplane *dp = calloc(1, sizeof *dp);
    char path[600];
    char images[600];
    nbds_opts no = NBDS_OPTS_INIT;
    ecs_opts eo = {0};
    const char *regions[SRV_REGIONS_MAX + 1];
    size_t nregions;
    const char *zones[SRV_ZONES_MAX];

    *out = NULL;
    SD_ENSURE(dp != NULL, err, SD_E_NOMEM, "out of memory");
    SD_ENSURE(snprintf(path, sizeof path, "%s/blocks", c->data_dir) < (int)sizeof path, err,
              SD_E_INVALID, "data directory path too long");
    SD_TRY(sd_mkdirs(path, 0700, err));
    SD_TRY(blk_store_open_local(path, &dp->blocks, err));
    SD_ENSURE(snprintf(dp->socket, sizeof dp->socket, "%s/nbd.sock", c->data_dir) <
                  (int)sizeof dp->socket,
              err, SD_E_INVALID, "data directory path too long");
    no.unix_path = dp->socket;
    no.handshake_ms = c->nbd_handshake_timeout * 1000u;
    no.tls_ms = c->nbd_tls_timeout * 1000u;
    no.payload_ms = c->nbd_payload_timeout * 1000u;
    no.max_preauth = c->nbd_preauth_conns;
    no.max_preauth_addr = c->nbd_preauth_per_address;
    if (c->nbd_listen_addr[0] != '\0') {
        /* NBD over TCP carries disk data: TLS or nothing */
        if (c->nbd_tls_psk[0] != '\0') {
            SD_TRY(crypto_tls_ctx_psk(c->nbd_tls_psk, &dp->tls, err));
        } else {
            SD_ENSURE(c->nbd_tls_cert[0] != '\0' && c->nbd_tls_key[0] != '\0', err, SD_E_INVALID,
                      "nbd_listen needs nbd_tls_psk, or nbd_tls_cert and nbd_tls_key");
            SD_TRY(crypto_tls_ctx_x509(c->nbd_tls_cert, c->nbd_tls_key, &dp->tls, err));
        }
        no.tcp_addr = c->nbd_listen_addr;
        no.tcp_port = c->nbd_listen_port;
        no.tls = dp->tls;
    }
    SD_TRY(nbds_start(&no, &dp->nbd, err));
    SD_ENSURE(snprintf(path, sizeof path, "%s/meta.db", c->data_dir) < (int)sizeof path, err,
              SD_E_INVALID, "data directory path too long");
    eo.db_path = path;
    eo.blocks = dp->blocks;
    eo.kms = kms_client_local(k);
    eo.iam = accounts;
    eo.exporter = (ecs_exporter){export_add, export_remove, dp};
    nregions = srv_config_regions(c, regions);
    eo.regions = regions;
    eo.nregions = nregions;
    for (size_t i = 0; i < c->nzones; i++) {
        zones[i] = c->zones[i];
    }
    eo.zones = zones;
    eo.nzones = c->nzones;
    /* each account's image files, IMAGE_DIR/<account>/ (import, export) */
    if (c->image_dir[0] != '\0') {
        SD_ENSURE(snprintf(images, sizeof images, "%s", c->image_dir) < (int)sizeof images, err,
                  SD_E_INVALID, "image_dir too long");
    } else {
        SD_ENSURE(snprintf(images, sizeof images, "%s/images", c->data_dir) < (int)sizeof images,
                  err, SD_E_INVALID, "data directory path too long");
    }
    SD_TRY(sd_mkdirs(images, 0700, err));
    eo.image_dir = images;
    eo.clock = sd_clock_system();
    eo.rng = crypto_rng_system();
    SD_TRY(ecs_open(&eo, &dp->e, err));
    sd_log(SD_LOG_INFO, "server", "data plane ready nbd=%s", dp->socket);
    *out = dp;
    dp = NULL;
out:
    srv__dataplane_close(dp);
    return rc;
}

ecs *srv__dataplane_ecs(srv_dataplane *dp)
{
    return dp->e;
}

void srv__dataplane_close(srv_dataplane *dp)
{
    if (dp == NULL) {
        return;
    }
    ecs_close(dp->e);   /* withdraws exports, closes disks, wipes keys */
    nbds_stop(dp->nbd); /* then no client can reach anything */
    crypto_tls_ctx_free(dp->tls);
    blk_store_close(dp->blocks);
    free(dp);
}
