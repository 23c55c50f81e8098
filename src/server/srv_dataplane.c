/* srv_dataplane.c: the disk side of the server: the block store, the NBD
 * server, and the ECS control plane wired to both (its exports become NBD
 * exports; its KMS calls go through kms_client_local, so quotas and key
 * states apply).
 *
 * Each running instance has its own data-plane identity (DESIGN §6): an
 * NBD scope named after the instance, reachable through its own socket
 * DATA_DIR/nbd/<InstanceId>.sock (nbd_socket_mode/owner/group) and, with
 * nbd_listen, through TLS with its own PSK identity "<InstanceId>.<random>"
 * and a random 256-bit key that lives only in locked memory here and in
 * the TLS context.  The identity is made with the instance's first export
 * (StartInstance, or a restart finding it Running) and destroyed with its
 * last (StopInstance, DeleteInstance, close): then its socket is unlinked,
 * its key wiped and its connections closed.  There is no shared socket:
 * nothing reaches a disk except through its instance's identity.
 *
 * Invariant: an instance is in dp->insts exactly while it has exports;
 * its scope and its PSK exist exactly as long.  All under dp->mu (ECS
 * calls the exporter under its own lock too, so this one only guards
 * against describe racing with the others). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "block/block.h"
#include "crypto/crypto.h"
#include "ecs/ecs.h"
#include "nbd/nbds.h"
#include "server/srv_int.h"

#define PSK_LEN 32 /* 256 bits */

typedef struct dp_inst {
    struct dp_inst *next;
    char id[ECS_ID_MAX];
    char socket[108];             /* sizeof sun_path: longer cannot be bound */
    char psk_id[ECS_ID_MAX + 24]; /* "" without TCP */
    sd_secret *psk;
    unsigned nexports;
} dp_inst;

struct srv_dataplane {
    blk_store *blocks;
    crypto_tls_ctx *tls; /* PSK, NULL without nbd_listen */
    nbds_server *nbd;
    ecs *e;
    char dir[600]; /* DATA_DIR/nbd: the instances' sockets */
    char tcp[80];  /* "host:port" of nbd_listen, "" without */
    unsigned mode; /* of the sockets */
    long uid;
    long gid;
    pthread_mutex_t mu;
    dp_inst *insts;
};

static dp_inst *inst_find(srv_dataplane *dp, const char *id)
{
    for (dp_inst *i = dp->insts; i != NULL; i = i->next) {
        if (strcmp(i->id, id) == 0) {
            return i;
        }
    }
    return NULL;
}

/* Unlinked from dp->insts already (or never linked). */
static void inst_destroy(srv_dataplane *dp, dp_inst *i)
{
    nbds_scope_remove(dp->nbd, i->id); /* socket gone, connections closed */
    if (i->psk_id[0] != '\0') {
        crypto_tls_ctx_psk_remove(dp->tls, i->psk_id); /* its key wiped there */
    }
    sd_secret_free(i->psk);
    sd_log(SD_LOG_INFO, "server", "data-plane identity destroyed instance=%s", i->id);
    free(i);
}

/* The instance's identity, made with its first export. */
static sd_code inst_create(srv_dataplane *dp, const char *id, dp_inst **out, sd_err *err)
{
    sd_code rc = SD_OK;
    dp_inst *i = calloc(1, sizeof *i);
    nbds_scope_opts so = NBDS_SCOPE_OPTS_INIT;
    uint8_t nonce[8];
    bool psk_added = false;

    SD_ENSURE(i != NULL, err, SD_E_NOMEM, "out of memory");
    SD_ENSURE(strlen(id) < sizeof i->id, err, SD_E_INVALID, "instance id too long");
    memcpy(i->id, id, strlen(id) + 1);
    SD_ENSURE(snprintf(i->socket, sizeof i->socket, "%s/%s.sock", dp->dir, id) <
                  (int)sizeof i->socket,
              err, SD_E_INVALID, "socket path too long");
    if (dp->tls != NULL) {
        /* A fresh identity each start: a client still holding the last
         * start's key names an identity that no longer exists. */
        SD_TRY(crypto_rng_fill(nonce, sizeof nonce, err));
        (void)snprintf(i->psk_id, sizeof i->psk_id, "%s.%02x%02x%02x%02x%02x%02x%02x%02x", id,
                       nonce[0], nonce[1], nonce[2], nonce[3], nonce[4], nonce[5], nonce[6],
                       nonce[7]);
        SD_TRY(sd_secret_new(PSK_LEN, &i->psk, err));
        SD_TRY(crypto_rng_fill(sd_secret_data(i->psk), PSK_LEN, err));
        SD_TRY(crypto_tls_ctx_psk_add(dp->tls, i->psk_id, i->psk, err));
        psk_added = true;
        so.psk_id = i->psk_id;
    }
    so.unix_path = i->socket;
    so.mode = dp->mode;
    so.uid = dp->uid;
    so.gid = dp->gid;
    SD_TRY(nbds_scope_add(dp->nbd, id, &so, err));
    sd_log(SD_LOG_INFO, "server", "data-plane identity made instance=%s socket=%s tls=%s", id,
           i->socket, psk_added ? "psk" : "-");
    *out = i;
    i = NULL;
out:
    if (i != NULL) {
        if (psk_added) {
            crypto_tls_ctx_psk_remove(dp->tls, i->psk_id);
        }
        sd_secret_free(i->psk);
        free(i);
    }
    return rc;
}

static sd_code export_add(void *h, const char *instance_id, const char *name, const blk_export *exp,
                          char *uri, size_t cap, sd_err *err)
{
    srv_dataplane *dp = h;
    sd_code rc = SD_OK;
    dp_inst *i;
    bool made = false;

    pthread_mutex_lock(&dp->mu);
    i = inst_find(dp, instance_id);
    if (i == NULL) {
        SD_TRY(inst_create(dp, instance_id, &i, err));
        made = true;
    }
    /* the URI qemu-img, nbdinfo and nbdcopy take as it is */
    SD_ENSURE(snprintf(uri, cap, "nbd+unix:///%s?socket=%s", name, i->socket) < (int)cap, err,
              SD_E_INVALID, "export URI too long");
    SD_TRY(nbds_export_add_scoped(dp->nbd, instance_id, name, exp, err));
    i->nexports++;
    if (made) {
        i->next = dp->insts;
        dp->insts = i;
        made = false;
    }
out:
    if (made) {
        inst_destroy(dp, i);
    }
    pthread_mutex_unlock(&dp->mu);
    return rc;
}

static void export_remove(void *h, const char *instance_id, const char *name)
{
    srv_dataplane *dp = h;
    sd_err err = SD_ERR_INIT;
    dp_inst **pp;

    if (nbds_export_remove(dp->nbd, name, &err) != SD_OK) {
        sd_log(SD_LOG_ERROR, "nbd", "removing export %s: %s", name, err.msg);
    }
    pthread_mutex_lock(&dp->mu);
    for (pp = &dp->insts; *pp != NULL; pp = &(*pp)->next) {
        dp_inst *i = *pp;
        if (strcmp(i->id, instance_id) == 0) {
            if (i->nexports > 0) {
                i->nexports--;
            }
            if (i->nexports == 0) {
                *pp = i->next;
                inst_destroy(dp, i);
            }
            break;
        }
    }
    pthread_mutex_unlock(&dp->mu);
}

static sd_code describe(void *h, const char *instance_id, ecs_dataplane *out, sd_err *err)
{
    srv_dataplane *dp = h;
    sd_code rc = SD_OK;
    dp_inst *i;

    pthread_mutex_lock(&dp->mu);
    i = inst_find(dp, instance_id);
    SD_ENSUREC(i != NULL, err, SD_E_NOT_FOUND, "IncorrectInstanceStatus",
               "The instance %s has no disk exported.", instance_id);
    (void)snprintf(out->socket, sizeof out->socket, "%s", i->socket);
    if (i->psk != NULL) {
        (void)snprintf(out->tcp_address, sizeof out->tcp_address, "%s", dp->tcp);
        (void)snprintf(out->psk_identity, sizeof out->psk_identity, "%s", i->psk_id);
        SD_TRY(sd_secret_dup(i->psk, &out->psk, err));
    }
out:
    pthread_mutex_unlock(&dp->mu);
    return rc;
}

/* The block store in dir: its bytes in dir too, or in RADOS (block_backend
 * = rados), its database in dir either way.  The local store reclaims
 * what a crash left at open; on RADOS that waits for the exclusive writer
 * of issue #15's next step, so nothing is reclaimed there yet. */
static sd_code open_blocks(const srv_config *c, const char *dir, blk_store **out, sd_err *err)
{
    sd_code rc = SD_OK;
    blk_rados_opts o = BLK_RADOS_OPTS_INIT;
    blk_backend *be = NULL;
    char db[600];

    if (!c->block_rados) {
        return blk_store_open_local(dir, out, err);
    }
    SD_ENSURE(snprintf(db, sizeof db, "%s/block.db", dir) < (int)sizeof db, err, SD_E_INVALID,
              "data directory path too long");
    o.conf = c->rados_conf;
    o.pool = c->rados_pool;
    o.id = c->rados_id;
    SD_TRY(blk_backend_rados(&o, &be, err));
    SD_TRY(blk_store_open(db, &be, out, err));
    sd_log(SD_LOG_INFO, "server", "block store on RADOS: pool=%s id=%s", c->rados_pool,
           c->rados_id);
out:
    return rc;
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
    pthread_mutex_init(&dp->mu, NULL);
    dp->mode = c->nbd_socket_mode;
    dp->uid = c->nbd_socket_uid;
    dp->gid = c->nbd_socket_gid;
    SD_ENSURE(snprintf(path, sizeof path, "%s/blocks", c->data_dir) < (int)sizeof path, err,
              SD_E_INVALID, "data directory path too long");
    SD_TRY(sd_mkdirs(path, 0700, err));
    SD_TRY(open_blocks(c, path, &dp->blocks, err));
    /* Shared keys and certificates would let a client reach disks without
     * its instance's identity, or reach none: both are refused, loudly. */
    SD_ENSURE(c->nbd_tls_psk[0] == '\0', err, SD_E_INVALID,
              "nbd_tls_psk is no longer used: each running instance has its own TLS PSK "
              "(DescribeInstanceDataPlane)");
    SD_ENSURE(c->nbd_tls_cert[0] == '\0' && c->nbd_tls_key[0] == '\0', err, SD_E_INVALID,
              "nbd_tls_cert/nbd_tls_key are not supported: NBD over TCP authenticates each "
              "instance with its own TLS PSK");
    SD_ENSURE(snprintf(dp->dir, sizeof dp->dir, "%s/nbd", c->data_dir) < (int)sizeof dp->dir, err,
              SD_E_INVALID, "data directory path too long");
    /* 0711: a client that may open its socket may reach it; nobody may list them */
    SD_TRY(sd_mkdirs(dp->dir, 0711, err));
    SD_ENSURE(chmod(dp->dir, 0711) == 0, err, SD_E_IO, "chmod %s failed", dp->dir);
    SD_ENSURE(snprintf(path, sizeof path, "%s/nbd.sock", c->data_dir) < (int)sizeof path, err,
              SD_E_INVALID, "data directory path too long");
    (void)unlink(path); /* the shared socket of earlier versions, if left */
    no.handshake_ms = c->nbd_handshake_timeout * 1000u;
    no.tls_ms = c->nbd_tls_timeout * 1000u;
    no.payload_ms = c->nbd_payload_timeout * 1000u;
    no.max_preauth = c->nbd_preauth_conns;
    no.max_preauth_addr = c->nbd_preauth_per_address;
    if (c->nbd_listen_addr[0] != '\0') {
        /* NBD over TCP carries disk data: TLS, with the instances' own keys */
        SD_TRY(crypto_tls_ctx_psk(NULL, &dp->tls, err));
        no.tcp_addr = c->nbd_listen_addr;
        no.tcp_port = c->nbd_listen_port;
        no.tls = dp->tls;
    }
    SD_TRY(nbds_start(&no, &dp->nbd, err));
    if (c->nbd_listen_addr[0] != '\0') {
        bool v6 = strchr(c->nbd_listen_addr, ':') != NULL;
        SD_ENSURE(snprintf(dp->tcp, sizeof dp->tcp, "%s%s%s:%u", v6 ? "[" : "", c->nbd_listen_addr,
                           v6 ? "]" : "", (unsigned)nbds_tcp_port(dp->nbd)) < (int)sizeof dp->tcp,
                  err, SD_E_INVALID, "nbd_listen address too long");
    }
    SD_ENSURE(snprintf(path, sizeof path, "%s/meta.db", c->data_dir) < (int)sizeof path, err,
              SD_E_INVALID, "data directory path too long");
    eo.db_path = path;
    eo.blocks = dp->blocks;
    eo.kms = kms_client_local(k);
    eo.iam = accounts;
    eo.exporter = (ecs_exporter){export_add, export_remove, dp, describe};
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
    sd_log(SD_LOG_INFO, "server", "data plane ready nbd=%s/ tcp=%s", dp->dir,
           dp->tcp[0] != '\0' ? dp->tcp : "-");
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
    while (dp->insts != NULL) {
        dp_inst *i = dp->insts; /* only if ecs failed to open: its exports never came */
        dp->insts = i->next;
        sd_secret_free(i->psk);
        free(i);
    }
    crypto_tls_ctx_free(dp->tls);
    blk_store_close(dp->blocks);
    pthread_mutex_destroy(&dp->mu);
    free(dp);
}
