/* server: the `sealdisk server` process: configuration, the data
 * directory, start-up and orderly shutdown of every module.
 *
 * This is the one place besides main.c that links every module; it wires
 * them together (the store and root key under the KMS, the KMS under the
 * API) and owns nothing else.  Configuration comes from embedded defaults,
 * then the config file, then flags (later wins); secrets never come from
 * argv (the root-key passphrase is read from an environment variable or a
 * file descriptor).
 * Thread model: srv_main runs on the main thread and blocks until
 * SIGTERM or SIGINT. */
#ifndef SD_SRV_H
#define SD_SRV_H

#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"
#include "kms/kms.h"

#define SRV_REGIONS_MAX 8
#define SRV_ZONES_MAX   32

typedef struct srv_config {
    char data_dir[512];
    char listen_addr[64];
    uint16_t listen_port;
    char region[64];                   /* the default region: of requests that name none */
    char regions[SRV_REGIONS_MAX][64]; /* further regions served, besides region */
    size_t nregions;
    char zones[SRV_ZONES_MAX][64]; /* "" none: each region has <region>-a and -b */
    size_t nzones;
    char root_key[16];       /* "file" or "passphrase" */
    char root_key_file[512]; /* "" = DATA_DIR/root.key */
    char passphrase_env[64]; /* environment variable holding the passphrase */
    int passphrase_fd;       /* -1, or a descriptor to read it from */
    unsigned http_threads;
    bool api_tls;             /* HTTPS (default) or plain HTTP */
    char api_tls_cert[512];   /* "" = DATA_DIR/tls/api.crt, made at the first start */
    char api_tls_key[512];    /* "" = DATA_DIR/tls/api.key, likewise */
    bool api_insecure_http;   /* plain HTTP allowed off loopback */
    kms_quota kms_quota;      /* per-region request quotas (alibaba-api.md figures) */
    char nbd_listen_addr[64]; /* "" = no TCP NBD listener (the unix socket only) */
    uint16_t nbd_listen_port;
    char nbd_tls_psk[512];    /* refused: TCP uses per-instance PSKs */
    char nbd_tls_cert[512];   /* refused, as is */
    char nbd_tls_key[512];    /* its key */
    unsigned nbd_socket_mode; /* of each instance's socket: 0600 (default) or 0660 */
    long nbd_socket_uid;      /* its owner; -1: the server's */
    long nbd_socket_gid;      /* its group; -1: the server's */
    char image_dir[512];      /* "" = DATA_DIR/images: per-account image files */
    bool block_rados;         /* disks' bytes in Ceph RADOS, not in DATA_DIR/blocks */
    char rados_conf[512];     /* its ceph.conf (monitors, keyring) */
    char rados_pool[128];     /* its pool */
    char rados_id[64];        /* its cephx client, without "client." */
    double user_rate;         /* signed requests per second per AccessKey; 0: none */
    double user_burst;        /* requests an AccessKey may send at once */
    char debug[128];          /* modules whose debug lines are shown */

    /* NBD admission limits; 0: the NBD server's defaults (nbds_opts) */
    unsigned nbd_handshake_timeout;   /* seconds, connect to GO */
    unsigned nbd_tls_timeout;         /* seconds, connect to TLS (TCP) */
    unsigned nbd_payload_timeout;     /* seconds, WRITE header to payload */
    unsigned nbd_preauth_conns;       /* clients still negotiating */
    unsigned nbd_preauth_per_address; /* ... from one TCP address */
} srv_config;

/* The regions served, the default region first, in out[0..n); borrowed
 * from c.  Returns n. */
size_t srv_config_regions(const srv_config *c, const char *out[SRV_REGIONS_MAX + 1]);
/* Fills c with the embedded defaults. */
void srv_config_defaults(srv_config *c);
/* Applies a config file's keys over c.  SD_E_INVALID names an unknown key
 * or a bad value; SD_E_NOT_FOUND when the file does not exist. */
SD_MUST_USE sd_code srv_config_load(srv_config *c, const char *path, sd_err *err);
/* Applies command-line flags (argv[0] is "server") over c; *config_path is
 * set when --config was given.  SD_E_INVALID on an unknown flag. */
SD_MUST_USE sd_code srv_config_flags(srv_config *c, int argc, char **argv, const char **config_path,
                                     bool *help, sd_err *err);

/* `sealdisk server [flags]`: returns the process exit status. */
int srv_main(int argc, char **argv);

/* `sealdisk account create NAME [server flags]`: on the server's host,
 * creates an account (tenant) and its first AccessKey; exit status. */
int srv_account_main(int argc, char **argv);

/* `sealdisk audit [filters]`: prints matching audit lines; exit status. */
int srv_audit_main(int argc, char **argv);

/* `sealdisk gc [--data-dir DIR] [--dry-run]`: removes (or lists) the
 * block store's orphan objects; refuses while a server runs; exit status
 * (3 when the store is in use). */
int srv_gc_main(int argc, char **argv);

/* `sealdisk nbd-serve --disk NAME --store DIR ...`: a developer command that
 * serves one block-store disk over NBD until SIGTERM/SIGINT; exit status. */
int srv_nbd_main(int argc, char **argv);

#endif
