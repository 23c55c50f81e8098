/* nbds_server.c: listeners, the service thread, connections, their pools
 * and deadlines, and the export registry.
 *
 * One service thread polls the listeners and a wake pipe (written by
 * nbds_stop, and by a connection that sets a deadline earlier than the
 * thread's next wake-up).  Each accepted socket becomes an nbds_conn run
 * by its own detached thread (conn_main): handshake, then transmission,
 * then teardown.  The registry (exports and live connections) is guarded
 * by srv->mu; srv->cv is broadcast whenever a connection ends or drops its
 * export reference, which is what nbds_export_remove and nbds_stop wait
 * for (invariants 1 and 2 in nbds_int.h).
 *
 * Pre-authentication exhaustion is bounded two ways (invariants 4 and 5).
 * A connection that has not finished its handshake counts in a small pool
 * of its own, not against max_conns; admitting a client into a full pool,
 * or past its TCP address's share, closes the oldest negotiating
 * connection.  Evicting the oldest rather than refusing the newest means
 * idle connections cannot lock anyone out: to starve a real client an
 * attacker must open a pool's worth of connections within that client's
 * handshake (milliseconds), not one per deadline (seconds).  And every
 * connection has a deadline while it negotiates (the TLS one is shorter),
 * and while a WRITE's payload is due: the service thread shuts the socket
 * down when one passes, which ends whatever read or write (plain, TLS, or
 * the TLS handshake) is pending, however slowly the peer trickles bytes.
 *
 * Lookups on behalf of a connection see only the exports of its scope
 * (invariant 6). */
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

/* ---- the export registry --------------------------------------------- */

/* scope NULL: any scope (export names are unique across scopes). */
static nbds_export *find_locked(nbds_server *s, const char *scope, const uint8_t *name, size_t len)
{
    nbds_export *e;
    nbds_export *only = NULL;
    size_t n = 0;

    for (e = s->exports; e != NULL; e = e->next) {
        if (scope != NULL && strcmp(e->scope, scope) != 0) {
            continue;
        }
        if (len > 0 && strlen(e->name) == len && memcmp(e->name, name, len) == 0) {
            return e;
        }
        only = e;
        n++;
    }
    /* The default export "": unambiguous only when the scope has one. */
    return len == 0 && n == 1 ? only : NULL;
}

sd_code nbds__export_find(nbds_conn *c, const uint8_t *name, size_t len, bool bind,
                          nbds_export_info *out, sd_err *err)
{
    nbds_server *s = c->srv;
    nbds_export *e;
    sd_code rc = SD_OK;

    pthread_mutex_lock(&s->mu);
    e = find_locked(s, c->scope, name, len);
    if (e == NULL || s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return sd_err_set(err, SD_E_NOT_FOUND, SD_HERE, "no such export");
    }
    (void)snprintf(out->name, sizeof out->name, "%s", e->name);
    (void)snprintf(out->description, sizeof out->description, "%s",
                   e->description != NULL ? e->description : "");
    out->size = e->exp.size;
    out->min_block = e->exp.min_block;
    out->pref_block = e->exp.pref_block;
    out->max_block = e->exp.max_block;
    out->readonly = e->exp.readonly;
    if (bind) {
        e->refs++;
        c->exp = e;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

sd_code nbds__export_each(nbds_conn *c, sd_code (*fn)(void *ctx, const char *name, sd_err *err),
                          void *ctx, sd_err *err)
{
    sd_code rc = SD_OK;
    nbds_server *s = c->srv;
    nbds_export *e;

    pthread_mutex_lock(&s->mu);
    for (e = s->exports; e != NULL && rc == SD_OK; e = e->next) {
        if (strcmp(e->scope, c->scope) == 0) {
            rc = fn(ctx, e->name, err);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static bool is_pow2(uint32_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

static sd_code check_export(const char *name, const blk_export *exp, sd_err *err)
{
    size_t n = name != NULL ? strlen(name) : 0;

    if (n == 0 || n > NBDS_NAME_MAX) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "export name must be 1..%u bytes",
                          NBDS_NAME_MAX);
    }
    if (exp == NULL || exp->ops == NULL || exp->ops->pread == NULL || exp->ops->pwrite == NULL ||
        exp->ops->flush == NULL || exp->ops->trim == NULL || exp->ops->zero == NULL ||
        exp->ops->extents == NULL) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "export %s lacks an operation", name);
    }
    /* The spec's block-size rules: min a power of two <= 64 KiB (and we
     * also serve 512-byte clients), preferred a power of two >= min, max a
     * multiple of min, size a multiple of min. */
    if (!is_pow2(exp->min_block) || exp->min_block > 65536 || exp->min_block < 512 ||
        !is_pow2(exp->pref_block) || exp->pref_block < exp->min_block ||
        exp->max_block < exp->pref_block || exp->max_block > NBDS_MAX_PAYLOAD ||
        exp->max_block % exp->min_block != 0 || exp->size % exp->min_block != 0 ||
        exp->size > INT64_MAX) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "export %s has a bad geometry", name);
    }
    return SD_OK;
}

sd_code nbds_export_add(nbds_server *s, const char *name, const blk_export *exp, sd_err *err)
{
    return nbds_export_add_scoped(s, "", name, exp, err);
}

sd_code nbds_export_add_scoped(nbds_server *s, const char *scope, const char *name,
                               const blk_export *exp, sd_err *err)
{
    sd_code rc = SD_OK;
    nbds_export *e = NULL;

    SD_ENSURE(strlen(scope) <= NBDS_SCOPE_MAX, err, SD_E_INVALID, "scope name too long");
    SD_TRY(check_export(name, exp, err));
    e = calloc(1, sizeof *e);
    SD_ENSURE(e != NULL, err, SD_E_NOMEM, "out of memory");
    (void)snprintf(e->name, sizeof e->name, "%s", name);
    (void)snprintf(e->scope, sizeof e->scope, "%s", scope);
    e->exp = *exp;
    if (exp->description != NULL) {
        e->description = strndup(exp->description, NBDS_STR_MAX / 4 - 1);
        SD_ENSURE(e->description != NULL, err, SD_E_NOMEM, "out of memory");
    }
    e->exp.description = e->description;
    pthread_mutex_lock(&s->mu);
    if (find_locked(s, NULL, (const uint8_t *)name, strlen(name)) != NULL) {
        pthread_mutex_unlock(&s->mu);
        SD_FAIL(err, SD_E_CONFLICT, "export %s already exists", name);
    }
    e->next = s->exports;
    s->exports = e;
    pthread_mutex_unlock(&s->mu);
    sd_log(SD_LOG_INFO, "nbd", "export added name=%s scope=%s size=%llu readonly=%d", name,
           scope[0] != '\0' ? scope : "-", (unsigned long long)exp->size, (int)exp->readonly);
    e = NULL;
out:
    if (e != NULL) {
        free(e->description);
        free(e);
    }
    return rc;
}

static void export_close(nbds_export *e)
{
    if (e->exp.ops->close != NULL) {
        e->exp.ops->close(e->exp.h);
    }
    free(e->description);
    free(e);
}

sd_code nbds_export_remove(nbds_server *s, const char *name, sd_err *err)
{
    nbds_export **pp;
    nbds_export *e = NULL;
    nbds_conn *c;

    pthread_mutex_lock(&s->mu);
    for (pp = &s->exports; *pp != NULL; pp = &(*pp)->next) {
        if (strcmp((*pp)->name, name) == 0) {
            e = *pp;
            *pp = e->next;
            break;
        }
    }
    if (e == NULL) {
        pthread_mutex_unlock(&s->mu);
        return sd_err_set(err, SD_E_NOT_FOUND, SD_HERE, "no export named %s", name);
    }
    for (c = s->conns; c != NULL; c = c->next) {
        if (c->exp == e) {
            nbds__conn_shutdown(c);
        }
    }
    while (e->refs > 0) {
        pthread_cond_wait(&s->cv, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    sd_log(SD_LOG_INFO, "nbd", "export removed name=%s", e->name);
    export_close(e);
    return SD_OK;
}

/* ---- pools and deadlines -------------------------------------------- */

int64_t nbds__deadline_in(int64_t ns)
{
    return sd_mono_ns(NULL) + ns;
}

/* Wakes the service thread; a full pipe means it is awake already. */
static void wake_service(nbds_server *s)
{
    if (write(s->wake[1], "w", 1) < 0 && errno != EAGAIN) {
        sd_log(SD_LOG_ERROR, "nbd", "cannot wake the service thread: %s", strerrordesc_np(errno));
    }
}

void nbds__conn_deadline(nbds_conn *c, int64_t at)
{
    atomic_store(&c->deadline, at);
    if (at != 0 && at < atomic_load(&c->srv->next_wake)) {
        wake_service(c->srv);
    }
}

sd_code nbds__conn_promote(nbds_conn *c, sd_err *err)
{
    nbds_server *s = c->srv;
    sd_code rc = SD_OK;

    pthread_mutex_lock(&s->mu);
    if (c->pool != NBDS_POOL_PRE) {
        rc = sd_err_set(err, SD_E_IO, SD_HERE, "closed to make room for newer clients");
    } else if (s->nest >= s->max_conns) {
        rc = sd_err_set(err, SD_E_CONFLICT, SD_HERE, "server has %u connections", s->max_conns);
    } else {
        c->pool = NBDS_POOL_EST;
        s->npre--;
        s->nest++;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void nbds__conn_demote(nbds_conn *c)
{
    nbds_server *s = c->srv;

    /* The pool may now hold one more than max_preauth until the next
     * admission evicts down to it (make_room_locked). */
    pthread_mutex_lock(&s->mu);
    if (c->pool == NBDS_POOL_EST) {
        c->pool = NBDS_POOL_PRE;
        s->nest--;
        s->npre++;
    }
    pthread_mutex_unlock(&s->mu);
}

static bool same_addr(const nbds_conn *a, const nbds_conn *b)
{
    return a->addrlen == b->addrlen && memcmp(a->addr, b->addr, a->addrlen) == 0;
}

/* Closes the oldest negotiating connection (from like's address, if like
 * is given); false if there is none.  conns is newest first. */
static bool evict_oldest_locked(nbds_server *s, const nbds_conn *like)
{
    nbds_conn *old = NULL;

    for (nbds_conn *c = s->conns; c != NULL; c = c->next) {
        if (c->pool == NBDS_POOL_PRE && (like == NULL || same_addr(c, like))) {
            old = c;
        }
    }
    if (old == NULL) {
        return false;
    }
    old->pool = NBDS_POOL_NONE;
    s->npre--;
    nbds__conn_shutdown(old);
    sd_log(SD_LOG_DEBUG, "nbd", "negotiating client closed to make room: pool=%s",
           like != NULL ? "address" : "server");
    return true;
}

/* Makes room for c in the negotiating pool. */
static void make_room_locked(nbds_server *s, const nbds_conn *c)
{
    if (c->addrlen > 0) {
        unsigned n = 0;
        for (const nbds_conn *x = s->conns; x != NULL; x = x->next) {
            n += x->pool == NBDS_POOL_PRE && same_addr(x, c);
        }
        for (; n >= s->max_preauth_addr && evict_oldest_locked(s, c); n--) {
        }
    }
    while (s->npre >= s->max_preauth && evict_oldest_locked(s, NULL)) {
    }
}

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

/* ---- connections ----------------------------------------------------- */

static void conn_free(nbds_conn *c)
{
    for (unsigned i = 0; i < NBDS_SLOTS; i++) {
        free(c->slots[i].buf);
    }
    if (c->tls != NULL) {
        crypto_tls_free(c->tls);
    }
    free(c->meta_name);
    free(c->workers);
    pthread_mutex_destroy(&c->wmu);
    pthread_mutex_destroy(&c->qmu);
    pthread_cond_destroy(&c->work);
    pthread_cond_destroy(&c->slot);
    free(c);
}

static void *conn_main(void *arg)
{
    nbds_conn *c = arg;
    nbds_server *s = c->srv;
    nbds_conn **pp;
    nbds_export *e;
    sd_err err = SD_ERR_INIT;
    sd_code rc;

    rc = nbds__handshake(c, &err);
    if (rc == SD_OK && c->exp != NULL) {
        nbds__conn_deadline(c, 0); /* idle clients are normal from here on */
        rc = nbds__transmit(c, &err);
    }
    if (rc != SD_OK) {
        sd_log(SD_LOG_DEBUG, "nbd", "connection ended: %s", err.msg);
    }
    /* Unlisted first, so nobody shuts down an fd number we are closing. */
    pthread_mutex_lock(&s->mu);
    for (pp = &s->conns; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    if (c->pool == NBDS_POOL_PRE) {
        s->npre--;
    } else if (c->pool == NBDS_POOL_EST) {
        s->nest--;
    }
    pthread_mutex_unlock(&s->mu);
    if (c->tls != NULL) {
        crypto_tls_close(c->tls);
    }
    (void)close(c->fd);
    e = c->exp;
    conn_free(c);
    pthread_mutex_lock(&s->mu);
    if (e != NULL) {
        e->refs--;
    }
    s->nconns--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu); /* s may be freed from here on */
    return NULL;
}

/* The peer's IPv4 address or IPv6 /64 (one site's share), if it has one. */
static void peer_addr(nbds_conn *c)
{
    union {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
        struct sockaddr_storage ss;
    } a = {0};
    socklen_t sl = sizeof a;

    if (getpeername(c->fd, &a.sa, &sl) != 0) {
        return;
    }
    if (a.sa.sa_family == AF_INET) {
        memcpy(c->addr, &a.in.sin_addr, 4);
        c->addrlen = 4;
    } else if (a.sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a.in6.sin6_addr)) {
        memcpy(c->addr, a.in6.sin6_addr.s6_addr + 12, 4);
        c->addrlen = 4;
    } else if (a.sa.sa_family == AF_INET6) {
        memcpy(c->addr, a.in6.sin6_addr.s6_addr, 8);
        c->addrlen = 8;
    }
}

static sd_code conn_new(nbds_server *s, int fd, bool tcp, nbds_conn **out, sd_err *err)
{
    nbds_conn *c = calloc(1, sizeof *c);
    int64_t first;

    if (c == NULL) {
        return sd_err_set(err, SD_E_NOMEM, SD_HERE, "out of memory");
    }
    c->srv = s;
    c->fd = fd;
    c->tcp = tcp;
    c->pool = NBDS_POOL_PRE;
    c->born = sd_mono_ns(NULL);
    /* On TCP nothing but STARTTLS is served before TLS: its own, shorter
     * deadline comes first (opt_starttls moves on to the handshake's). */
    first = tcp && s->tls_ns < s->handshake_ns ? s->tls_ns : s->handshake_ns;
    atomic_init(&c->deadline, c->born + first);
    peer_addr(c);
    pthread_mutex_init(&c->wmu, NULL);
    pthread_mutex_init(&c->qmu, NULL);
    pthread_cond_init(&c->work, NULL);
    pthread_cond_init(&c->slot, NULL);
    for (unsigned i = 0; i < NBDS_SLOTS; i++) {
        c->slots[i].next = c->free;
        c->free = &c->slots[i];
    }
    c->nworkers = s->workers;
    c->workers = calloc(c->nworkers, sizeof *c->workers);
    if (c->workers == NULL) {
        conn_free(c);
        return sd_err_set(err, SD_E_NOMEM, SD_HERE, "out of memory");
    }
    *out = c;
    return SD_OK;
}

sd_code nbds_serve_fd(nbds_server *s, int fd, bool tcp, sd_err *err)
{
    return nbds_serve_fd_scoped(s, fd, tcp, "", err);
}

sd_code nbds_serve_fd_scoped(nbds_server *s, int fd, bool tcp, const char *scope, sd_err *err)
{
    sd_code rc = SD_OK;
    nbds_conn *c = NULL;
    pthread_attr_t attr;
    int64_t deadline;

    SD_ENSURE(strlen(scope) <= NBDS_SCOPE_MAX, err, SD_E_INVALID, "scope name too long");
    SD_TRY(conn_new(s, fd, tcp, &c, err));
    (void)snprintf(c->scope, sizeof c->scope, "%s", scope);
    deadline = atomic_load(&c->deadline);
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        SD_FAIL(err, SD_E_CONFLICT, "server is stopping");
    }
    make_room_locked(s, c);
    (void)pthread_attr_init(&attr);
    (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&(pthread_t){0}, &attr, conn_main, c) != 0) {
        pthread_mutex_unlock(&s->mu);
        (void)pthread_attr_destroy(&attr);
        SD_FAIL(err, SD_E_INTERNAL, "cannot start a connection thread");
    }
    (void)pthread_attr_destroy(&attr);
    c->next = s->conns;
    s->conns = c;
    s->nconns++;
    s->npre++;
    pthread_mutex_unlock(&s->mu);
    c = NULL;
    fd = -1;
    /* The service thread rescans after each accept; others must wake it. */
    if (!(s->serving && pthread_equal(pthread_self(), s->service)) &&
        deadline < atomic_load(&s->next_wake)) {
        wake_service(s);
    }
out:
    if (c != NULL) {
        conn_free(c);
    }
    if (fd >= 0) {
        (void)close(fd);
    }
    return rc;
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
        wake_service(s); /* it finds s->stopping set */
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
        export_close(e);
    }
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
