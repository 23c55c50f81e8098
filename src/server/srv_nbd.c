/* srv_nbd.c: `sealdisk nbd-serve`, a developer command that serves one
 * disk of a local block store over NBD, without the KMS or the APIs.
 *
 * It opens (and with --size first creates) the disk, with the 32-byte data
 * key from --key-file for an encrypted disk, exports it under its own name
 * on a unix socket and/or TCP (TLS is mandatory on TCP: --tls-psk, or
 * --tls-cert with --tls-key), and serves until SIGTERM or SIGINT.  The data
 * key lives only in an sd_secret here and in the disk's derived XTS key,
 * which the export's close wipes. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "block/block.h"
#include "nbd/nbds.h"
#include "server/srv.h"

typedef struct nbd_args {
    const char *disk;
    const char *store;
    uint64_t size; /* 0: open an existing disk */
    const char *key_file;
    const char *socket;
    char listen_addr[64];
    uint16_t listen_port;
    bool tcp;
    const char *tls_psk;
    const char *tls_cert;
    const char *tls_key;
    bool readonly;
    const char *debug;
    const char *pidfile;
} nbd_args;

static void nbd_usage(void)
{
    (void)fprintf(
        stderr,
        "usage: sealdisk nbd-serve --disk NAME --store DIR [--size BYTES] [--key-file FILE]\n"
        "                          [--socket PATH] [--listen ADDR:PORT (--tls-psk FILE |\n"
        "                          --tls-cert FILE --tls-key FILE)] [--readonly] [--debug M]\n"
        "                          [--pidfile PATH]\n\n"
        "Serves one disk of the block store in DIR over NBD until SIGTERM or SIGINT.\n"
        "  --size BYTES    create the disk first (a multiple of 4096; K, M, G suffixes)\n"
        "  --key-file FILE 32 raw bytes: the disk's data key (absent: unencrypted)\n"
        "  --socket PATH   unix socket, mode 0600\n"
        "  --listen A:P    TCP; clients must STARTTLS (psktool keys or an x509 pair)\n"
        "  --pidfile PATH  write the process id there once clients can connect\n");
}

static sd_code parse_size(const char *v, uint64_t *out, sd_err *err)
{
    char *end = NULL;
    unsigned long long n;
    unsigned shift = 0;

    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno != 0 || end == v || v[0] == '-') {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "bad size '%s'", v);
    }
    if (*end != '\0') {
        const char *units = "KMGT";
        const char *u = strchr(units, *end);
        if (u == NULL || end[1] != '\0') {
            return sd_err_set(err, SD_E_INVALID, SD_HERE, "bad size suffix in '%s'", v);
        }
        shift = 10 * (unsigned)(u - units + 1);
    }
    if (n == 0 || n > (UINT64_MAX >> shift)) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "bad size '%s'", v);
    }
    *out = (uint64_t)n << shift;
    return SD_OK;
}

static sd_code parse_listen(nbd_args *a, const char *v, sd_err *err)
{
    const char *colon = strrchr(v, ':');
    const char *host = v;
    size_t hlen;
    char *end = NULL;
    unsigned long port;

    if (colon == NULL) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "--listen wants ADDR:PORT, not '%s'", v);
    }
    hlen = (size_t)(colon - v);
    if (hlen >= 2 && v[0] == '[' && v[hlen - 1] == ']') {
        host++;
        hlen -= 2;
    }
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (hlen == 0 || hlen >= sizeof a->listen_addr || errno != 0 || *end != '\0' ||
        end == colon + 1 || port > 65535) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "bad --listen '%s'", v);
    }
    memcpy(a->listen_addr, host, hlen);
    a->listen_addr[hlen] = '\0';
    a->listen_port = (uint16_t)port;
    a->tcp = true;
    return SD_OK;
}

/* The flags that take a value, and where it goes. */
static const char **string_flag(nbd_args *a, const char *flag)
{
    static const char *const names[] = {"--disk",    "--store",   "--key-file",
                                        "--socket",  "--tls-psk", "--tls-cert",
                                        "--tls-key", "--debug",   "--pidfile"};
    const char **slots[] = {&a->disk,     &a->store,   &a->key_file, &a->socket, &a->tls_psk,
                            &a->tls_cert, &a->tls_key, &a->debug,    &a->pidfile};

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(flag, names[i]) == 0) {
            return slots[i];
        }
    }
    return NULL;
}

static sd_code parse_args(nbd_args *a, int argc, char **argv, sd_err *err)
{
    sd_code rc = SD_OK;

    for (int i = 1; i < argc; i++) {
        const char **slot = string_flag(a, argv[i]);
        if (strcmp(argv[i], "--readonly") == 0) {
            a->readonly = true;
            continue;
        }
        SD_ENSURE(i + 1 < argc, err, SD_E_INVALID, "unknown flag or missing value: %s", argv[i]);
        if (slot != NULL) {
            *slot = argv[++i];
        } else if (strcmp(argv[i], "--size") == 0) {
            SD_TRY(parse_size(argv[++i], &a->size, err));
        } else if (strcmp(argv[i], "--listen") == 0) {
            SD_TRY(parse_listen(a, argv[++i], err));
        } else {
            SD_FAIL(err, SD_E_INVALID, "unknown flag %s", argv[i]);
        }
    }
    SD_ENSURE(a->disk != NULL && a->store != NULL, err, SD_E_INVALID,
              "--disk and --store are required");
    SD_ENSURE(a->socket != NULL || a->tcp, err, SD_E_INVALID, "give --socket and/or --listen");
    SD_ENSURE(!a->tcp || a->tls_psk != NULL || (a->tls_cert != NULL && a->tls_key != NULL), err,
              SD_E_INVALID, "--listen needs --tls-psk FILE or --tls-cert and --tls-key");
out:
    return rc;
}

static sd_code read_key(const char *path, sd_secret **out, sd_err *err)
{
    sd_code rc = SD_OK;
    uint8_t buf[BLK_DK_LEN + 1];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    SD_ENSURE(fd >= 0, err, SD_E_INVALID, "cannot open key file %s: %s", path,
              strerrordesc_np(errno));
    n = read(fd, buf, sizeof buf);
    SD_ENSURE(n == BLK_DK_LEN, err, SD_E_INVALID, "key file %s must hold exactly %u bytes", path,
              BLK_DK_LEN);
    SD_TRY(sd_secret_from(buf, BLK_DK_LEN, out, err));
out:
    sd_wipe(buf, sizeof buf);
    if (fd >= 0) {
        (void)close(fd);
    }
    return rc;
}

static sd_code open_disk(const nbd_args *a, const sd_secret *dk, blk_store **bs, blk_disk **d,
                         sd_err *err)
{
    sd_code rc = SD_OK;

    if (mkdir(a->store, 0700) != 0 && errno != EEXIST) {
        SD_FAIL(err, SD_E_IO, "cannot create %s: %s", a->store, strerrordesc_np(errno));
    }
    SD_TRY(blk_store_open_local(a->store, bs, err));
    if (a->size != 0) {
        SD_TRY(blk_disk_create(*bs, a->disk, a->size, dk != NULL, err));
    }
    SD_TRY(blk_disk_open(*bs, a->disk, dk, d, err));
    blk_disk_set_helper(*d, false); /* NBD clients bring their own concurrency */
out:
    return rc;
}

static sd_code serve(const nbd_args *a, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_secret *dk = NULL;
    crypto_tls_ctx *tls = NULL;
    blk_store *bs = NULL;
    blk_disk *d = NULL;
    blk_export exp;
    nbds_server *srv = NULL;
    nbds_opts o = NBDS_OPTS_INIT;
    sigset_t stop;
    int sig = 0;
    bool wrote_pidfile = false;

    SD_TRY(sd_secret_harden_process(err));
    (void)sigemptyset(&stop);
    (void)sigaddset(&stop, SIGTERM);
    (void)sigaddset(&stop, SIGINT);
    /* Blocked before any thread starts, so only sigwait below sees them. */
    SD_ENSURE(pthread_sigmask(SIG_BLOCK, &stop, NULL) == 0, err, SD_E_INTERNAL,
              "cannot block signals");
    signal(SIGPIPE, SIG_IGN); /* NOLINT(cert-err33-c): a closed peer is an EPIPE, not death */
    if (a->key_file != NULL) {
        SD_TRY(read_key(a->key_file, &dk, err));
    }
    if (a->tls_psk != NULL) {
        SD_TRY(crypto_tls_ctx_psk(a->tls_psk, &tls, err));
    } else if (a->tls_cert != NULL) {
        SD_TRY(crypto_tls_ctx_x509(a->tls_cert, a->tls_key, &tls, err));
    }
    SD_TRY(open_disk(a, dk, &bs, &d, err));
    sd_secret_free(dk); /* the disk keeps only its derived key */
    dk = NULL;
    blk_disk_export(d, &exp);
    exp.readonly = a->readonly;
    o.unix_path = a->socket;
    o.tcp_addr = a->tcp ? a->listen_addr : NULL;
    o.tcp_port = a->listen_port;
    o.tls = tls;
    SD_TRY(nbds_start(&o, &srv, err));
    SD_TRY(nbds_export_add(srv, a->disk, &exp, err));
    d = NULL; /* the server closes it */
    if (a->pidfile != NULL) {
        SD_TRY(sd_write_pidfile(a->pidfile, err));
        wrote_pidfile = true;
    }
    sd_log(SD_LOG_INFO, "nbd", "ready disk=%s socket=%s port=%u readonly=%d", a->disk,
           a->socket != NULL ? a->socket : "-", (unsigned)nbds_tcp_port(srv), (int)a->readonly);
    SD_ENSURE(sigwait(&stop, &sig) == 0, err, SD_E_INTERNAL, "sigwait failed");
    sd_log(SD_LOG_INFO, "nbd", "stopping signal=%s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
out:
    if (wrote_pidfile) {
        (void)unlink(a->pidfile);
    }
    nbds_stop(srv);
    if (d != NULL && blk_disk_close(d, NULL) != SD_OK) {
        sd_log(SD_LOG_WARN, "nbd", "closing the disk failed");
    }
    blk_store_close(bs);
    crypto_tls_ctx_free(tls);
    sd_secret_free(dk);
    return rc;
}

int srv_nbd_main(int argc, char **argv)
{
    nbd_args a = {0};
    sd_err err = SD_ERR_INIT;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        nbd_usage();
        return 0;
    }
    if (parse_args(&a, argc, argv, &err) != SD_OK) {
        sd_log(SD_LOG_ERROR, "nbd", "%s", err.msg);
        nbd_usage();
        return 2;
    }
    sd_log_set_debug(a.debug);
    if (serve(&a, &err) != SD_OK) {
        sd_log(SD_LOG_ERROR, "nbd", "%s", err.msg);
        return 1;
    }
    sd_log(SD_LOG_INFO, "nbd", "stopped");
    return 0;
}
