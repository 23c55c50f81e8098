/* srv_config.c: the server's configuration: embedded defaults, the config
 * file (sd_kv format) and flags.  Every key of the file has a flag of the
 * same name (--listen, --data-dir ...), described in one table so the two
 * cannot drift apart and --help lists them all. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/srv_int.h"

typedef sd_code (*opt_set)(srv_config *c, const char *v, sd_err *err);

typedef struct opt {
    const char *key;  /* config file key */
    const char *flag; /* command-line flag */
    opt_set set;
    const char *help;
} opt;

static sd_code copy_str(char *dst, size_t cap, const char *v, const char *what, sd_err *err)
{
    size_t n = strlen(v);
    if (n == 0 || n >= cap) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "%s must be 1 to %zu characters", what,
                          cap - 1);
    }
    memcpy(dst, v, n + 1);
    return SD_OK;
}

static sd_code parse_uint(const char *v, unsigned long max, unsigned long *out, const char *what,
                          sd_err *err)
{
    char *end = NULL;
    unsigned long n;

    errno = 0;
    n = strtoul(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || n > max) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "%s must be a number up to %lu", what, max);
    }
    *out = n;
    return SD_OK;
}

static sd_code set_listen(srv_config *c, const char *v, sd_err *err)
{
    sd_code rc = SD_OK;
    const char *colon = strrchr(v, ':');
    unsigned long port = 0;
    size_t hlen;

    SD_ENSURE(colon != NULL, err, SD_E_INVALID, "listen must be ADDRESS:PORT, not '%s'", v);
    hlen = (size_t)(colon - v);
    SD_ENSURE(hlen > 0 && hlen < sizeof c->listen_addr, err, SD_E_INVALID,
              "listen must be ADDRESS:PORT, not '%s'", v);
    SD_TRY(parse_uint(colon + 1, 65535, &port, "the listen port", err));
    memcpy(c->listen_addr, v, hlen);
    c->listen_addr[hlen] = '\0';
    c->listen_port = (uint16_t)port;
out:
    return rc;
}

static sd_code set_data_dir(srv_config *c, const char *v, sd_err *err)
{
    return copy_str(c->data_dir, sizeof c->data_dir, v, "data_dir", err);
}

/* Region ids are what Alibaba Cloud uses: lower-case letters, digits and
 * dashes (cn-hangzhou, ap-southeast-1); they end up in ARNs and endpoints. */
static sd_code region_name(const char *v, size_t n, const char *what, sd_err *err)
{
    if (n == 0 || n >= 64 || v[0] == '-') {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "%s: an id is 1 to 63 characters", what);
    }
    for (size_t i = 0; i < n; i++) {
        char ch = v[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) {
            return sd_err_set(err, SD_E_INVALID, SD_HERE,
                              "%s: '%.*s' is not an id (a-z, 0-9 and '-')", what, (int)n, v);
        }
    }
    return SD_OK;
}

static sd_code set_region(srv_config *c, const char *v, sd_err *err)
{
    sd_code rc = SD_OK;

    SD_TRY(region_name(v, strlen(v), "region", err));
    SD_TRY(copy_str(c->region, sizeof c->region, v, "region", err));
out:
    return rc;
}

/* A comma-separated list of ids into out[max][64]; *n gets the count. */
static sd_code id_list(const char *v, const char *what, char (*out)[64], size_t max, size_t *n,
                       sd_err *err)
{
    sd_code rc = SD_OK;
    const char *p = v;

    *n = 0;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        SD_TRY(region_name(p, len, what, err));
        SD_ENSURE(*n < max, err, SD_E_INVALID, "%s: at most %zu", what, max);
        memcpy(out[*n], p, len);
        out[(*n)++][len] = '\0';
        p += len;
        if (*p == ',') {
            p++;
            SD_ENSURE(*p != '\0', err, SD_E_INVALID, "%s: a trailing comma", what);
        }
    }
out:
    return rc;
}

/* The default region need not be repeated. */
static sd_code set_regions(srv_config *c, const char *v, sd_err *err)
{
    return id_list(v, "regions", c->regions, SRV_REGIONS_MAX, &c->nregions, err);
}

/* Zone ids begin with their region's (cn-hangzhou-h, ap-southeast-1a):
 * the server places each in the served region it begins with. */
static sd_code set_zones(srv_config *c, const char *v, sd_err *err)
{
    return id_list(v, "zones", c->zones, SRV_ZONES_MAX, &c->nzones, err);
}

size_t srv_config_regions(const srv_config *c, const char *out[SRV_REGIONS_MAX + 1])
{
    size_t n = 0;

    out[n++] = c->region;
    for (size_t i = 0; i < c->nregions; i++) {
        bool seen = false;
        for (size_t k = 0; k < n; k++) {
            seen = seen || strcmp(out[k], c->regions[i]) == 0;
        }
        if (!seen) {
            out[n++] = c->regions[i];
        }
    }
    return n;
}

static sd_code set_root_key(srv_config *c, const char *v, sd_err *err)
{
    if (strcmp(v, "file") != 0 && strcmp(v, "passphrase") != 0) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE,
                          "root_key must be 'file' or 'passphrase', not '%s'", v);
    }
    return copy_str(c->root_key, sizeof c->root_key, v, "root_key", err);
}

static sd_code set_root_key_file(srv_config *c, const char *v, sd_err *err)
{
    return copy_str(c->root_key_file, sizeof c->root_key_file, v, "root_key_file", err);
}

static sd_code set_passphrase_env(srv_config *c, const char *v, sd_err *err)
{
    return copy_str(c->passphrase_env, sizeof c->passphrase_env, v, "passphrase_env", err);
}

static sd_code set_passphrase_fd(srv_config *c, const char *v, sd_err *err)
{
    sd_code rc = SD_OK;
    unsigned long fd = 0;

    SD_TRY(parse_uint(v, 1u << 20, &fd, "passphrase_fd", err));
    c->passphrase_fd = (int)fd;
out:
    return rc;
}

static sd_code set_http_threads(srv_config *c, const char *v, sd_err *err)
{
    sd_code rc = SD_OK;
    unsigned long n = 0;

    SD_TRY(parse_uint(v, 256, &n, "http_threads", err));
    SD_ENSURE(n > 0, err, SD_E_INVALID, "http_threads must be at least 1");
    c->http_threads = (unsigned)n;
out:
    return rc;
}

static sd_code parse_bool(const char *v, const char *t, const char *f, bool *out, const char *what,
                          sd_err *err)
{
    if (strcmp(v, t) == 0 || strcmp(v, f) == 0) {
        *out = strcmp(v, t) == 0;
        return SD_OK;
    }
    return sd_err_set(err, SD_E_INVALID, SD_HERE, "%s must be '%s' or '%s', not '%s'", what, t, f,
                      v);
}

static sd_code set_api_tls(srv_config *c, const char *v, sd_err *err)
{
    return parse_bool(v, "on", "off", &c->api_tls, "api_tls", err);
}

static sd_code set_api_tls_cert(srv_config *c, const char *v, sd_err *err)
{
    return copy_str(c->api_tls_cert, sizeof c->api_tls_cert, v, "api_tls_cert", err);
}

static sd_code set_api_tls_key(srv_config *c, const char *v, sd_err *err)
{
    return copy_str(c->api_tls_key, sizeof c->api_tls_key, v, "api_tls_key", err);
}

static sd_code set_api_insecure_http(srv_config *c, const char *v, sd_err *err)
{
    return parse_bool(v, "true", "false", &c->api_insecure_http, "api_insecure_http", err);
}

/* A requests-per-second quota: a decimal number, 0 turning it off. */
static sd_code parse_rate(const char *v, const char *name, double *out, sd_err *err)
{
    unsigned long n = 0;
    sd_code rc = parse_uint(v, 1000000, &n, name, err);

    if (rc == SD_OK) {
        *out = (double)n;
    }
    return rc;
}

static sd_code set_quota_crypto(srv_config *c, const char *v, sd_err *err)
{
    return parse_rate(v, "kms_quota_crypto", &c->kms_quota.crypto, err);
}

static sd_code set_quota_reencrypt(srv_config *c, const char *v, sd_err *err)
{
    return parse_rate(v, "kms_quota_reencrypt", &c->kms_quota.reencrypt, err);
}

static sd_code set_quota_create(srv_config *c, const char *v, sd_err *err)
{
    return parse_rate(v, "kms_quota_create", &c->kms_quota.create, err);
}

static sd_code set_nbd_listen(srv_config *c, const char *v, sd_err *err)
{
    sd_code rc = SD_OK;
    const char *colon = strrchr(v, ':');
    unsigned long port = 0;

    SD_ENSURE(colon != NULL && (size_t)(colon - v) < sizeof c->nbd_listen_addr, err, SD_E_INVALID,
              "nbd_listen must be ADDRESS:PORT, not '%s'", v);
    SD_TRY(parse_uint(colon + 1, 65535, &port, "the nbd_listen port", err));
    memcpy(c->nbd_listen_addr, v, (size_t)(colon - v));
    c->nbd_listen_addr[colon - v] = '\0';
    c->nbd_listen_port = (uint16_t)port;
out:
    return rc;
}

static sd_code set_nbd_tls_psk(srv_config *c, const char *v, sd_err *err)
{
    return copy_str(c->nbd_tls_psk, sizeof c->nbd_tls_psk, v, "nbd_tls_psk", err);
}

static sd_code set_nbd_tls_cert(srv_config *c, const char *v, sd_err *err)
{
    return copy_str(c->nbd_tls_cert, sizeof c->nbd_tls_cert, v, "nbd_tls_cert", err);
}

static sd_code set_nbd_tls_key(srv_config *c, const char *v, sd_err *err)
{
    return copy_str(c->nbd_tls_key, sizeof c->nbd_tls_key, v, "nbd_tls_key", err);
}

/* A positive whole number up to max, for the NBD limits. */
static sd_code set_positive(unsigned *dst, const char *v, unsigned long max, const char *what,
                            sd_err *err)
{
    sd_code rc = SD_OK;
    unsigned long n = 0;

    SD_TRY(parse_uint(v, max, &n, what, err));
    SD_ENSURE(n > 0, err, SD_E_INVALID, "%s must be at least 1", what);
    *dst = (unsigned)n;
out:
    return rc;
}

static sd_code set_nbd_handshake_timeout(srv_config *c, const char *v, sd_err *err)
{
    return set_positive(&c->nbd_handshake_timeout, v, 3600, "nbd_handshake_timeout", err);
}

static sd_code set_nbd_tls_timeout(srv_config *c, const char *v, sd_err *err)
{
    return set_positive(&c->nbd_tls_timeout, v, 3600, "nbd_tls_timeout", err);
}

static sd_code set_nbd_payload_timeout(srv_config *c, const char *v, sd_err *err)
{
    return set_positive(&c->nbd_payload_timeout, v, 3600, "nbd_payload_timeout", err);
}

static sd_code set_nbd_preauth_conns(srv_config *c, const char *v, sd_err *err)
{
    return set_positive(&c->nbd_preauth_conns, v, 4096, "nbd_preauth_conns", err);
}

static sd_code set_nbd_preauth_per_address(srv_config *c, const char *v, sd_err *err)
{
    return set_positive(&c->nbd_preauth_per_address, v, 4096, "nbd_preauth_per_address", err);
}

static sd_code set_nbd_socket_mode(srv_config *c, const char *v, sd_err *err)
{
    if (strcmp(v, "0600") == 0 || strcmp(v, "600") == 0) {
        c->nbd_socket_mode = 0600;
    } else if (strcmp(v, "0660") == 0 || strcmp(v, "660") == 0) {
        c->nbd_socket_mode = 0660;
    } else {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "nbd_socket_mode must be 0600 or 0660");
    }
    return SD_OK;
}

/* A user or group: a name known to the system, or a number. */
static sd_code parse_id(const char *v, bool group, long *out, sd_err *err)
{
    char buf[4096];
    struct passwd pw;
    struct passwd *pwp = NULL;
    struct group gr;
    struct group *grp = NULL;
    unsigned long n = 0;
    const char *what = group ? "nbd_socket_group" : "nbd_socket_owner";

    if (v[0] >= '0' && v[0] <= '9') {
        if (parse_uint(v, 0x7fffffffUL, &n, what, err) != SD_OK) {
            return SD_E_INVALID;
        }
        *out = (long)n;
        return SD_OK;
    }
    if (group ? getgrnam_r(v, &gr, buf, sizeof buf, &grp) != 0 || grp == NULL
              : getpwnam_r(v, &pw, buf, sizeof buf, &pwp) != 0 || pwp == NULL) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "%s: no such %s '%s'", what,
                          group ? "group" : "user", v);
    }
    *out = group ? (long)grp->gr_gid : (long)pwp->pw_uid;
    return SD_OK;
}

static sd_code set_nbd_socket_owner(srv_config *c, const char *v, sd_err *err)
{
    return parse_id(v, false, &c->nbd_socket_uid, err);
}

static sd_code set_nbd_socket_group(srv_config *c, const char *v, sd_err *err)
{
    return parse_id(v, true, &c->nbd_socket_gid, err);
}

static sd_code set_block_backend(srv_config *c, const char *v, sd_err *err)
{
    sd_code rc = SD_OK;

    SD_ENSURE(strcmp(v, "local") == 0 || strcmp(v, "rados") == 0, err, SD_E_INVALID,
              "block_backend must be local or rados, not '%s'", v);
    c->block_rados = strcmp(v, "rados") == 0;
out:
    return rc;
}

static sd_code set_rados_conf(srv_config *c, const char *v, sd_err *err)
{
    return copy_str(c->rados_conf, sizeof c->rados_conf, v, "rados_conf", err);
}

static sd_code set_rados_pool(srv_config *c, const char *v, sd_err *err)
{
    return copy_str(c->rados_pool, sizeof c->rados_pool, v, "rados_pool", err);
}

static sd_code set_rados_id(srv_config *c, const char *v, sd_err *err)
{
    return copy_str(c->rados_id, sizeof c->rados_id, v, "rados_id", err);
}

static sd_code set_image_dir(srv_config *c, const char *v, sd_err *err)
{
    return copy_str(c->image_dir, sizeof c->image_dir, v, "image_dir", err);
}

static sd_code set_debug(srv_config *c, const char *v, sd_err *err)
{
    return copy_str(c->debug, sizeof c->debug, v, "debug", err);
}

static sd_code set_user_rate(srv_config *c, const char *v, sd_err *err)
{
    return parse_rate(v, "user_rate_limit", &c->user_rate, err);
}

static sd_code set_user_burst(srv_config *c, const char *v, sd_err *err)
{
    return parse_rate(v, "user_rate_burst", &c->user_burst, err);
}

/* Obsolete since the replay records moved to the store: accepted, so an
 * existing config file still loads, and otherwise ignored. */
static sd_code set_replay_cache(srv_config *c, const char *v, sd_err *err)
{
    sd_code rc = SD_OK;
    unsigned long n = 0;

    (void)c;
    SD_TRY(parse_uint(v, 1ul << 24, &n, "replay_cache_entries", err));
    sd_log(SD_LOG_WARN, "server",
           "replay_cache_entries is obsolete and ignored: SignatureNonces are kept in the store");
out:
    return rc;
}

static const opt opts[] = {
    {"listen", "--listen", set_listen, "ADDRESS:PORT of the HTTP API (127.0.0.1:8080)"},
    {"data_dir", "--data-dir", set_data_dir, "where metadata, disks and the root key live"},
    {"region", "--region", set_region, "region of requests that name none (cn-hangzhou)"},
    {"regions", "--regions", set_regions,
     "further regions served, comma-separated; each has its own keys, quotas and zones"},
    {"zones", "--zones", set_zones,
     "zones, comma-separated, each in the region its id begins with (<region>-a, -b)"},
    {"root_key", "--root-key", set_root_key, "root key provider: file or passphrase (file)"},
    {"root_key_file", "--root-key-file", set_root_key_file, "root key file (DATA_DIR/root.key)"},
    {"passphrase_env", "--passphrase-env", set_passphrase_env,
     "environment variable with the root passphrase (SEALDISK_ROOT_PASSPHRASE)"},
    {"passphrase_fd", "--passphrase-fd", set_passphrase_fd,
     "read the root passphrase from this file descriptor"},
    {"http_threads", "--http-threads", set_http_threads, "HTTP worker threads (2)"},
    {"api_tls", "--api-tls", set_api_tls,
     "on: the API speaks HTTPS (TLS 1.2/1.3); off: plain HTTP, loopback only (on)"},
    {"api_tls_cert", "--api-tls-cert", set_api_tls_cert,
     "API certificate chain, PEM, reread on SIGHUP (DATA_DIR/tls/api.crt, self-signed at "
     "first start)"},
    {"api_tls_key", "--api-tls-key", set_api_tls_key,
     "its private key, PEM (DATA_DIR/tls/api.key)"},
    {"api_insecure_http", "--api-insecure-http", set_api_insecure_http,
     "true: allow api_tls = off on a non-loopback address (false)"},
    {"kms_quota_crypto", "--kms-quota-crypto", set_quota_crypto,
     "KMS Encrypt/Decrypt/GenerateDataKey requests per second per region, 0: none (1000)"},
    {"kms_quota_reencrypt", "--kms-quota-reencrypt", set_quota_reencrypt,
     "KMS ReEncrypt requests per second per region, 0: none (750)"},
    {"kms_quota_create", "--kms-quota-create", set_quota_create,
     "KMS CreateKey requests per second per region, 0: none (10)"},
    {"user_rate_limit", "--user-rate-limit", set_user_rate,
     "signed requests per second per AccessKey, beyond which Throttling.User, 0: none (1000)"},
    {"user_rate_burst", "--user-rate-burst", set_user_burst,
     "requests an AccessKey may send at once above that rate, 0: the rate (2000)"},
    {"replay_cache_entries", "--replay-cache-entries", set_replay_cache,
     "obsolete, ignored (SignatureNonces are kept in the store)"},
    {"nbd_listen", "--nbd-listen", set_nbd_listen,
     "ADDRESS:PORT for NBD over TCP: TLS with each running instance's own PSK "
     "(default: unix sockets only)"},
    {"nbd_socket_mode", "--nbd-socket-mode", set_nbd_socket_mode,
     "mode of each running instance's socket DATA_DIR/nbd/<InstanceId>.sock: 0600 or 0660 (0600)"},
    {"nbd_socket_owner", "--nbd-socket-owner", set_nbd_socket_owner,
     "owner of those sockets, a user name or uid (the server's)"},
    {"nbd_socket_group", "--nbd-socket-group", set_nbd_socket_group,
     "group of those sockets, a group name or gid (the server's)"},
    {"nbd_tls_psk", "--nbd-tls-psk", set_nbd_tls_psk,
     "refused: NBD over TCP uses per-instance PSKs (DescribeInstanceDataPlane)"},
    {"nbd_tls_cert", "--nbd-tls-cert", set_nbd_tls_cert, "refused, as nbd_tls_psk"},
    {"nbd_tls_key", "--nbd-tls-key", set_nbd_tls_key, "refused, as nbd_tls_psk"},
    {"nbd_handshake_timeout", "--nbd-handshake-timeout", set_nbd_handshake_timeout,
     "NBD: seconds from connecting to the end of option negotiation (10)"},
    {"nbd_tls_timeout", "--nbd-tls-timeout", set_nbd_tls_timeout,
     "NBD over TCP: seconds from connecting to TLS established (5)"},
    {"nbd_payload_timeout", "--nbd-payload-timeout", set_nbd_payload_timeout,
     "NBD: seconds a WRITE's payload may take to arrive after its header (30)"},
    {"nbd_preauth_conns", "--nbd-preauth-conns", set_nbd_preauth_conns,
     "NBD clients still negotiating; one more closes the oldest (16)"},
    {"nbd_preauth_per_address", "--nbd-preauth-per-address", set_nbd_preauth_per_address,
     "of those, from one TCP address (IPv6: one /64); one more closes its oldest (4)"},
    {"block_backend", "--block-backend", set_block_backend,
     "where disks' bytes live: local (DATA_DIR/blocks) or rados (local)"},
    {"rados_conf", "--rados-conf", set_rados_conf,
     "ceph.conf of the RADOS cluster, naming the keyring (/etc/ceph/ceph.conf)"},
    {"rados_pool", "--rados-pool", set_rados_pool, "RADOS pool of the disks (sealdisk)"},
    {"rados_id", "--rados-id", set_rados_id, "cephx client of the server, without client. (admin)"},
    {"image_dir", "--image-dir", set_image_dir,
     "per-account directories of image files for ImportImage/ExportImage (DATA_DIR/images)"},
    {"debug", "--debug", set_debug, "modules whose debug lines are shown (kms,nbd or all)"},
};

void srv_config_defaults(srv_config *c)
{
    const char *home = getenv("HOME"); /* NOLINT(concurrency-mt-unsafe): start-up */

    memset(c, 0, sizeof *c);
    /* root: /var/lib/sealdisk; others: ~/.local/share/sealdisk if it fits */
    if (geteuid() == 0 || home == NULL || home[0] == '\0' ||
        snprintf(c->data_dir, sizeof c->data_dir, "%s/.local/share/sealdisk", home) >=
            (int)sizeof c->data_dir) {
        memcpy(c->data_dir, "/var/lib/sealdisk", sizeof "/var/lib/sealdisk");
    }
    memcpy(c->listen_addr, "127.0.0.1", sizeof "127.0.0.1");
    memcpy(c->rados_conf, "/etc/ceph/ceph.conf", sizeof "/etc/ceph/ceph.conf");
    memcpy(c->rados_pool, "sealdisk", sizeof "sealdisk");
    memcpy(c->rados_id, "admin", sizeof "admin");
    c->listen_port = 8080;
    memcpy(c->region, "cn-hangzhou", sizeof "cn-hangzhou");
    memcpy(c->root_key, "file", sizeof "file");
    memcpy(c->passphrase_env, "SEALDISK_ROOT_PASSPHRASE", sizeof "SEALDISK_ROOT_PASSPHRASE");
    c->passphrase_fd = -1;
    c->http_threads = 2;
    c->api_tls = true;
    c->kms_quota = (kms_quota)KMS_QUOTA_DEFAULT;
    c->user_rate = 1000;
    c->user_burst = 2000;
    c->nbd_socket_mode = 0600;
    c->nbd_socket_uid = -1;
    c->nbd_socket_gid = -1;
}

sd_code srv_config_load(srv_config *c, const char *path, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_kv *kv = NULL;

    SD_TRY(sd_kv_load(path, &kv, err));
    for (size_t i = 0; i < sd_kv_count(kv); i++) {
        const char *key = sd_kv_key(kv, i);
        const opt *o = NULL;
        for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
            if (strcmp(opts[k].key, key) == 0) {
                o = &opts[k];
            }
        }
        SD_ENSURE(o != NULL, err, SD_E_INVALID, "%s: unknown key '%s'", path, key);
        SD_TRY(o->set(c, sd_kv_get(kv, key), err));
    }
out:
    sd_kv_free(kv);
    return rc;
}

sd_code srv_config_flags(srv_config *c, int argc, char **argv, const char **config_path, bool *help,
                         sd_err *err)
{
    sd_code rc = SD_OK;

    *help = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');
        size_t nlen = eq != NULL ? (size_t)(eq - a) : strlen(a);
        const char *value = NULL;
        const opt *o = NULL;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            *help = true;
            continue;
        }
        if (eq != NULL) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[i + 1];
        }
        if (nlen == strlen("--config") && strncmp(a, "--config", nlen) == 0) {
            SD_ENSURE(value != NULL, err, SD_E_INVALID, "--config needs a file");
            *config_path = value;
            i += eq == NULL;
            continue;
        }
        for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
            if (strlen(opts[k].flag) == nlen && strncmp(opts[k].flag, a, nlen) == 0) {
                o = &opts[k];
            }
        }
        SD_ENSURE(o != NULL, err, SD_E_INVALID, "unknown option '%s' (try --help)", a);
        SD_ENSURE(value != NULL, err, SD_E_INVALID, "%s needs a value", o->flag);
        SD_TRY(o->set(c, value, err));
        i += eq == NULL;
    }
out:
    return rc;
}

/* Usage text: the table above, one line per option. */
void srv__usage(void)
{
    printf("usage: sealdisk server [--config FILE] [options]\n\n"
           "Runs the KMS and ECS APIs and the NBD data plane.  Options override the\n"
           "config file (same names, with '_' for '-'):\n\n");
    printf("  %-22s %s\n", "--config FILE", "read options from FILE (DATA_DIR/sealdisk.conf)");
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        printf("  %-22s %s\n", opts[k].flag, opts[k].help);
    }
}
