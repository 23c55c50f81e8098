/* srv_main.c: start-up and shutdown of `sealdisk server`.
 *
 * Start-up, in order (each step undone in reverse on the way out):
 *   1. configuration: defaults, then the config file, then flags; then the
 *      API's address is bound (not yet listening), so a taken port fails
 *      before anything is made;
 *   2. process hardening: no core dumps, not dumpable (keys live here);
 *   3. signals: SIGTERM and SIGINT blocked in every thread, awaited here;
 *   4. the data directory (0700, an existing one made so) and its lock, so
 *      two servers never share it;
 *   5. the metadata store (DATA_DIR/meta.db) and the audit log
 *      (DATA_DIR/audit.log);
 *   6. the root key and the KMS (a wrong root key stops here, changing
 *      nothing), the KMS scheduler (rotations, deletion windows), accounts
 *      and the data plane; the API's certificate (HTTPS unless api_tls is
 *      off; a self-signed one is made at the first start) is checked;
 *   7. on the first start only, now that everything else has started, the
 *      root account and AccessKey, printed once and written to the CLI
 *      profile; then the HTTP API listens;
 * then sigwait until SIGTERM or SIGINT, and an orderly stop.  SIGHUP makes
 * the API read its certificate and key files again. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "api/api.h"
#include "crypto/crypto.h"
#include "server/srv_int.h"
#include "store/store.h"

/* An existing data directory gets the mode a fresh one has (0700): it
 * holds the root key, the metadata and every disk's blocks.  A directory
 * we cannot make private is refused rather than used as it is. */
static sd_code private_data_dir(const char *dir, sd_err *err)
{
    sd_code rc = SD_OK;
    struct stat st;

    SD_ENSURE(stat(dir, &st) == 0 && S_ISDIR(st.st_mode), err, SD_E_IO,
              "the data directory %s is not a directory", dir);
    if ((st.st_mode & 077) != 0) {
        SD_ENSURE(chmod(dir, 0700) == 0, err, SD_E_DENIED,
                  "the data directory %s is mode %04o, readable by others, and cannot be made "
                  "0700 (errno %d): chmod 700 it, or run as its owner",
                  dir, (unsigned)(st.st_mode & 07777), errno);
        sd_log(SD_LOG_WARN, "server", "data directory was mode %04o; now 0700 data_dir=%s",
               (unsigned)(st.st_mode & 07777), dir);
    }
out:
    return rc;
}

/* Takes an exclusive lock on DATA_DIR/sealdisk.lock; *fd keeps it. */
static sd_code lock_data_dir(const char *dir, int *fd, sd_err *err)
{
    sd_code rc = SD_OK;
    char path[600];

    *fd = -1;
    SD_ENSURE(snprintf(path, sizeof path, "%s/sealdisk.lock", dir) < (int)sizeof path, err,
              SD_E_INVALID, "data directory path too long");
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    SD_ENSURE(*fd >= 0, err, SD_E_IO, "cannot open %s", path);
    SD_ENSURE(flock(*fd, LOCK_EX | LOCK_NB) == 0, err, SD_E_CONFLICT,
              "another sealdisk server is using %s", dir);
out:
    return rc;
}

sd_code srv__configure(srv_config *c, int argc, char **argv, bool *help, sd_err *err)
{
    sd_code rc = SD_OK;
    const char *config_path = NULL;
    char default_path[600];

    srv_config_defaults(c);
    /* flags first to find --config and --data-dir, then file, then flags again */
    SD_TRY(srv_config_flags(c, argc, argv, &config_path, help, err));
    if (*help) {
        goto out;
    }
    if (config_path != NULL) {
        SD_TRY(srv_config_load(c, config_path, err));
    } else {
        SD_ENSURE(snprintf(default_path, sizeof default_path, "%s/sealdisk.conf", c->data_dir) <
                      (int)sizeof default_path,
                  err, SD_E_INVALID, "data directory path too long");
        rc = srv_config_load(c, default_path, err);
        if (rc == SD_E_NOT_FOUND) {
            sd_err_clear(err);
            rc = SD_OK;
        }
        SD_TRY(rc);
    }
    SD_TRY(srv_config_flags(c, argc, argv, &config_path, help, err));
out:
    return rc;
}

/* An open disk holds two files per layer, and a chain may be 512 layers
 * deep (BLK_MAX_DEPTH): the usual soft limit of 1024 descriptors would
 * fail the first disk with 256 snapshots.  The hard limit is the
 * operator's; take all of it. */
static void raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) {
        return;
    }
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        sd_log(SD_LOG_WARN, "server", "cannot raise the open-files limit: %s",
               strerrordesc_np(errno));
    }
}

static sd_code run(const srv_config *c, sd_err *err)
{
    sd_code rc = SD_OK;
    sigset_t stop;
    int lock_fd = -1;
    int listen_fd = -1;
    struct sockaddr_in bound = {0};
    socklen_t bound_len = sizeof bound;
    store *st = NULL;
    api_server *api = NULL;
    api_audit *audit = NULL;
    kms_rootkey *root = NULL;
    kms *k = NULL;
    srv_ticker *ticker = NULL;
    iam *accounts = NULL;
    srv_dataplane *dp = NULL;
    char endpoint[128];
    char cert[600];
    char key[600];
    char pin[CRYPTO_PIN_CAP] = "";
    api_server_opts aopts = API_SERVER_OPTS_INIT;
    const char *regions[SRV_REGIONS_MAX + 1]; /* outlive the API server */
    size_t nregions;
    char db[600];
    int sig = 0;

    SD_TRY(sd_secret_harden_process(err));
    raise_fd_limit();
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    /* Blocked before any thread starts, so only sigwait below sees them. */
    SD_ENSURE(pthread_sigmask(SIG_BLOCK, &stop, NULL) == 0, err, SD_E_INTERNAL,
              "cannot block signals");
    signal(SIGPIPE, SIG_IGN); /* NOLINT(cert-err33-c): a closed peer is an EPIPE, not death */

    /* The API's address first: a taken port must fail before the data
     * directory is made or touched. */
    SD_TRY(api_bind(c->listen_addr, c->listen_port, &listen_fd, err));
    SD_ENSURE(getsockname(listen_fd, (struct sockaddr *)&bound, &bound_len) == 0, err, SD_E_IO,
              "cannot read the API's bound port");
    SD_ENSURE(snprintf(endpoint, sizeof endpoint, "%s%s:%u", c->api_tls ? "https://" : "",
                       c->listen_addr, (unsigned)ntohs(bound.sin_port)) < (int)sizeof endpoint,
              err, SD_E_INVALID, "listen address too long");
    /* Checked again by the API; here so a refusal comes before the data
     * directory is touched. */
    SD_TRY(api_transport_allowed(c->listen_addr, c->api_tls, c->api_insecure_http, err));
    SD_TRY(sd_mkdirs(c->data_dir, 0700, err));
    SD_TRY(private_data_dir(c->data_dir, err));
    SD_TRY(lock_data_dir(c->data_dir, &lock_fd, err));
    SD_ENSURE(snprintf(db, sizeof db, "%s/meta.db", c->data_dir) < (int)sizeof db, err,
              SD_E_INVALID, "data directory path too long");
    SD_TRY(store_open_sqlite(db, &st, err));
    SD_ENSURE(snprintf(db, sizeof db, "%s/audit.log", c->data_dir) < (int)sizeof db, err,
              SD_E_INVALID, "data directory path too long");
    SD_TRY(api_audit_open(db, &audit, err));
    SD_TRY(srv__open_kms(c, true, &root, &k, err));
    SD_TRY(srv__ticker_start(k, 60, &ticker, err));
    if (c->api_tls) {
        SD_TRY(srv__api_tls(c, cert, key, pin, err));
        aopts.tls_cert = cert;
        aopts.tls_key = key;
    }
    SD_TRY(srv__open_iam(c, root, &accounts, err));
    SD_TRY(srv__dataplane_open(c, k, accounts, &dp, err));

    aopts.bind_addr = c->listen_addr;
    aopts.port = c->listen_port;
    aopts.threads = c->http_threads;
    aopts.region = c->region;
    nregions = srv_config_regions(c, regions);
    aopts.regions = regions;
    aopts.nregions = nregions;
    aopts.audit = audit;
    aopts.kms = k;
    aopts.iam = accounts;
    aopts.ecs = srv__dataplane_ecs(dp);
    aopts.clock = sd_clock_system();
    aopts.insecure_http = c->api_insecure_http;
    aopts.use_listen_fd = true;
    aopts.listen_fd = listen_fd;
    /* Before the API answers: whoever waits for the port finds the profile. */
    SD_TRY(srv__first_start(c, accounts, endpoint, c->api_tls ? pin : NULL, err));
    listen_fd = -1; /* the API server's now, even if it fails to start */
    SD_TRY(api_server_start(&aopts, &api, err));
    sd_log(SD_LOG_INFO, "server", "ready data_dir=%s listen=%s:%u region=%s", c->data_dir,
           c->listen_addr, (unsigned)api_server_port(api), c->region);

    for (;;) {
        sd_err reload = SD_ERR_INIT;
        SD_ENSURE(sigwait(&stop, &sig) == 0, err, SD_E_INTERNAL, "sigwait failed");
        if (sig != SIGHUP) {
            break;
        }
        if (!c->api_tls) {
            sd_log(SD_LOG_INFO, "server", "SIGHUP: nothing to reload (api_tls is off)");
        } else if (api_server_reload(api, &reload) != SD_OK) {
            sd_log(SD_LOG_ERROR, "server", "SIGHUP: the API keeps its certificate: %s", reload.msg);
        } else if (crypto_cert_pin(cert, pin, &reload) == SD_OK) {
            sd_log(SD_LOG_INFO, "server", "SIGHUP: API certificate cert=%s pin=%s", cert, pin);
        }
    }
    sd_log(SD_LOG_INFO, "server", "stopping signal=%s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
out:
    api_server_stop(api);
    srv__dataplane_close(dp); /* after the API: no request can reach ECS now */
    srv__ticker_stop(ticker);
    iam_close(accounts);
    kms_close(k);
    kms_rootkey_free(root);
    api_audit_close(audit);
    store_close(st);
    if (lock_fd >= 0) {
        close(lock_fd);
    }
    if (listen_fd >= 0) {
        close(listen_fd);
    }
    return rc;
}

int srv_main(int argc, char **argv)
{
    srv_config c;
    sd_err err = SD_ERR_INIT;
    bool help = false;
    sd_code rc;

    rc = srv__configure(&c, argc, argv, &help, &err);
    if (rc == SD_OK && help) {
        srv__usage();
        return 0;
    }
    if (rc == SD_OK) {
        sd_log_set_debug(c.debug);
        rc = run(&c, &err);
    }
    if (rc != SD_OK) {
        sd_log(SD_LOG_ERROR, "server", "%s", err.msg);
        return 1;
    }
    sd_log(SD_LOG_INFO, "server", "stopped");
    return 0;
}
