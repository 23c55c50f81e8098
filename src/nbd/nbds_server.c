/* nbds_server.c: the top of the nbd module: nbds_start and nbds_stop, the
 * listeners, and the service thread.
 *
 * One service thread polls the listeners and a wake pipe (written by
 * nbds_stop, and by a connection that sets a deadline earlier than the
 * thread's next wake-up).  Each accepted socket becomes an nbds_conn
 * (nbds_conn.c).  The registry (exports and live connections) is guarded
 * by srv->mu; srv->cv is broadcast whenever a connection ends or drops its
 * export reference, which is what nbds_export_remove and nbds_stop wait
 * for (invariants 1 and 2 in nbds_int.h).
 *
 * Every connection has a deadline while it negotiates (the TLS one is
 * shorter), and while a WRITE's payload is due: the service thread shuts
 * the socket down when one passes, which ends whatever read or write
 * (plain, TLS, or the TLS handshake) is pending, however slowly the peer
 * trickles bytes (invariant 5).
 *
 * Lookups on behalf of a connection see only the exports of its scope
 * (invariant 6, nbds_registry.c). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "nbd/nbds_int.h"

#define DEFAULT_WORKERS      4u
#define DEFAULT_MAX_CONNS    64u
#define DEFAULT_PREAUTH      16u
#define DEFAULT_PREAUTH_ADDR 4u
#define DEFAULT_HANDSHAKE_MS (NBDS_HANDSHAKE_SEC * 1000u)
#define DEFAULT_TLS_MS       5000u
#define DEFAULT_PAYLOAD_MS   30000u
#define MAX_WORKERS          64u
#define NS_PER_MS            INT64_C(1000000)

/* Shuts down every connection whose deadline has passed; returns the
 * earliest deadline still ahead (INT64_MAX: none). */
static int64_t expire_locked(nbds_server *s, int64_t now)
{
    int64_t next = INT64_MAX;

    for (nbds_conn *c = s->conns; c != NULL; c = c->next) {
        int64_t d = atomic_load(&c->deadline);
        if (d == 0) {
            continue;
        }
        if (d > now) {
            next = d < next ? d : next;
            continue;
        }
        /* Lost only to the connection's own thread, which just met or moved
         * its deadline. */
        if (atomic_compare_exchange_strong(&c->deadline, &d, 0)) {
            sd_log(SD_LOG_DEBUG, "nbd", "deadline passed, connection closed: phase=%s",
                   c->pool == NBDS_POOL_EST ? "payload" : "handshake");
            nbds__conn_shutdown(c);
        }
    }
    return next;
}

/* Enforces the deadlines due; how long poll may then sleep (-1: forever). */
static int service_timeout(nbds_server *s)
{
    int64_t next;
    int64_t left;

    /* While the scan runs, any new deadline wakes us: one set after the
     * scan read its connection would otherwise be missed (invariant 5). */
    atomic_store(&s->next_wake, INT64_MAX);
    pthread_mutex_lock(&s->mu);
    next = expire_locked(s, sd_mono_ns(NULL));
    pthread_mutex_unlock(&s->mu);
    atomic_store(&s->next_wake, next);
    if (next == INT64_MAX) {
        return -1;
    }
    left = (next - sd_mono_ns(NULL) + NS_PER_MS - 1) / NS_PER_MS;
    return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* ---- listeners ------------------------------------------------------- */

static void accept_one(nbds_server *s, int lfd, bool tcp)
{
    sd_err err = SD_ERR_INIT;
    int one = 1;
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0) {
        return; /* the client gave up, or we are out of fds: keep serving */
    }
    if (tcp) {
        /* Small replies must not wait for Nagle (the spec's SHOULD). */
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (nbds_serve_fd(s, fd, tcp, &err) != SD_OK) {
        sd_log(SD_LOG_WARN, "nbd", "client refused: %s", err.msg);
    }
}

/* Empties the wake pipe; true if the server is stopping. */
static bool woken_to_stop(nbds_server *s)
{
    char buf[64];
    bool stop;

    while (read(s->wake[0], buf, sizeof buf) > 0) {
    }
    pthread_mutex_lock(&s->mu);
    stop = s->stopping;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

static void *service_main(void *arg)
{
    nbds_server *s = arg;
    struct pollfd p[3];

    for (;;) {
        int timeout = service_timeout(s);
        /* An absent listener is fd -1, which poll skips. */
        p[0] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
        p[1] = (struct pollfd){.fd = s->lfd[0], .events = POLLIN};
        p[2] = (struct pollfd){.fd = s->lfd[1], .events = POLLIN};
        if (poll(p, 3, timeout) < 0) {
            if (errno == EINTR) {
                continue;
            }
            sd_log(SD_LOG_ERROR, "nbd", "poll failed: %s", strerrordesc_np(errno));
            break;
        }
        if (p[0].revents != 0 && woken_to_stop(s)) {
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (p[i + 1].revents & POLLIN) {
                accept_one(s, s->lfd[i], i == 1);
            }
        }
    }
    return NULL;
}

static sd_code listen_unix(nbds_server *s, const char *path, sd_err *err)
{
    sd_code rc = SD_OK;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    struct stat st;
    int fd = -1;

    SD_ENSURE(strlen(path) < sizeof a.sun_path, err, SD_E_INVALID, "socket path too long: %s",
              path);
    memcpy(a.sun_path, path, strlen(path) + 1);
    if (lstat(path, &st) == 0) {
        SD_ENSURE(S_ISSOCK(st.st_mode), err, SD_E_INVALID, "%s exists and is not a socket", path);
        SD_ENSURE(unlink(path) == 0, err, SD_E_IO, "cannot replace %s: %s", path,
                  strerrordesc_np(errno));
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    SD_ENSURE(fd >= 0, err, SD_E_IO, "socket: %s", strerrordesc_np(errno));
    SD_ENSURE(bind(fd, (struct sockaddr *)&a, sizeof a) == 0, err, SD_E_IO, "bind %s: %s", path,
              strerrordesc_np(errno));
    s->unix_path = strdup(path);
    SD_ENSURE(s->unix_path != NULL, err, SD_E_NOMEM, "out of memory");
    /* 0600 before listen(): until then nobody can connect, so there is no
     * window in which the umask's mode lets another user in. */
    SD_ENSURE(chmod(path, 0600) == 0, err, SD_E_IO, "chmod %s: %s", path, strerrordesc_np(errno));
    SD_ENSURE(listen(fd, 64) == 0, err, SD_E_IO, "listen %s: %s", path, strerrordesc_np(errno));
    s->lfd[0] = fd;
    fd = -1;
out:
    if (fd >= 0) {
        (void)close(fd);
    }
    return rc;
}

static sd_code listen_tcp(nbds_server *s, const char *addr, uint16_t port, sd_err *err)
{
    sd_code rc = SD_OK;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    union {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
        struct sockaddr_storage ss;
    } bound = {0};
    socklen_t sl = sizeof bound;
    char service[8];
    int fd = -1;
    int one = 1;
    int gai;

    (void)snprintf(service, sizeof service, "%u", (unsigned)port);
    gai = getaddrinfo(addr, service, &hints, &ai);
    SD_ENSURE(gai == 0, err, SD_E_INVALID, "bad listen address %s: %s", addr, gai_strerror(gai));
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    SD_ENSURE(fd >= 0, err, SD_E_IO, "socket: %s", strerrordesc_np(errno));
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    SD_ENSURE(bind(fd, ai->ai_addr, ai->ai_addrlen) == 0, err, SD_E_IO, "bind %s:%u: %s", addr,
              (unsigned)port, strerrordesc_np(errno));
    SD_ENSURE(listen(fd, 64) == 0, err, SD_E_IO, "listen: %s", strerrordesc_np(errno));
    SD_ENSURE(getsockname(fd, &bound.sa, &sl) == 0, err, SD_E_IO, "getsockname: %s",
              strerrordesc_np(errno));
    s->tcp_port = ntohs(bound.sa.sa_family == AF_INET6 ? bound.in6.sin6_port : bound.in.sin_port);
    s->lfd[1] = fd;
    fd = -1;
out:
    if (ai != NULL) {
        freeaddrinfo(ai);
    }
    if (fd >= 0) {
        (void)close(fd);
    }
    return rc;
}

static sd_code server_new(const nbds_opts *o, nbds_server **out, sd_err *err)
{
    nbds_server *s = calloc(1, sizeof *s);

    if (s == NULL) {
        return sd_err_set(err, SD_E_NOMEM, SD_HERE, "out of memory");
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->lfd[0] = s->lfd[1] = -1;
    s->wake[0] = s->wake[1] = -1;
    s->tls = o->tls;
    s->workers = o->workers == 0 ? DEFAULT_WORKERS : o->workers;
    if (s->workers > MAX_WORKERS) {
        s->workers = MAX_WORKERS;
    }
    s->max_conns = o->max_conns == 0 ? DEFAULT_MAX_CONNS : o->max_conns;
    s->max_preauth = o->max_preauth == 0 ? DEFAULT_PREAUTH : o->max_preauth;
    s->max_preauth_addr = o->max_preauth_addr == 0 ? DEFAULT_PREAUTH_ADDR : o->max_preauth_addr;
    s->handshake_ns = (o->handshake_ms == 0 ? DEFAULT_HANDSHAKE_MS : o->handshake_ms) * NS_PER_MS;
    s->tls_ns = (o->tls_ms == 0 ? DEFAULT_TLS_MS : o->tls_ms) * NS_PER_MS;
    s->payload_ns = (o->payload_ms == 0 ? DEFAULT_PAYLOAD_MS : o->payload_ms) * NS_PER_MS;
    atomic_init(&s->next_wake, INT64_MAX);
    *out = s;
    return SD_OK;
}

sd_code nbds_start(const nbds_opts *o, nbds_server **out, sd_err *err)
{
    sd_code rc = SD_OK;
    nbds_server *s = NULL;

    *out = NULL;
    SD_ENSURE(o->tcp_addr == NULL || o->tls != NULL, err, SD_E_INVALID,
              "NBD over TCP needs TLS credentials");
    SD_TRY(server_new(o, &s, err));
    SD_ENSURE(pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) == 0, err, SD_E_IO, "pipe: %s",
              strerrordesc_np(errno));
    if (o->unix_path != NULL) {
        SD_TRY(listen_unix(s, o->unix_path, err));
    }
    if (o->tcp_addr != NULL) {
        SD_TRY(listen_tcp(s, o->tcp_addr, o->tcp_port, err));
    }
    /* Even without listeners: nbds_serve_fd's clients have deadlines too. */
    SD_ENSURE(pthread_create(&s->service, NULL, service_main, s) == 0, err, SD_E_INTERNAL,
              "cannot start the service thread");
    s->serving = true;
    *out = s;
    s = NULL;
out:
    nbds_stop(s);
    return rc;
}

uint16_t nbds_tcp_port(const nbds_server *s)
{
    return s->tcp_port;
}

void nbds_stop(nbds_server *s)
{
    nbds_conn *c;
    nbds_export *e;

    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_mutex_unlock(&s->mu);
    if (s->serving) {
        nbds__wake_service(s); /* it finds s->stopping set */
        (void)pthread_join(s->service, NULL);
    }
    nbds__scopes_stop(s);
    for (int i = 0; i < 2; i++) {
        if (s->lfd[i] >= 0) {
            (void)close(s->lfd[i]);
        }
        if (s->wake[i] >= 0) {
            (void)close(s->wake[i]);
        }
    }
    if (s->unix_path != NULL) {
        (void)unlink(s->unix_path);
        free(s->unix_path);
    }
    pthread_mutex_lock(&s->mu);
    for (c = s->conns; c != NULL; c = c->next) {
        nbds__conn_shutdown(c);
    }
    while (s->nconns > 0) {
        pthread_cond_wait(&s->cv, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    while ((e = s->exports) != NULL) {
        s->exports = e->next;
        nbds__export_close(e);
    }
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
