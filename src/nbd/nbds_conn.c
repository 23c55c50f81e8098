/* nbds_conn.c: connections: admission into the negotiating pool, and the
 * thread that runs each one (conn_main): handshake, then transmission,
 * then teardown.
 *
 * Pre-authentication exhaustion is bounded two ways (invariants 4 and 5).
 * A connection that has not finished its handshake counts in a small pool
 * of its own, not against max_conns; admitting a client into a full pool,
 * or past its TCP address's share, closes the oldest negotiating
 * connection.  Evicting the oldest rather than refusing the newest means
 * idle connections cannot lock anyone out: to starve a real client an
 * attacker must open a pool's worth of connections within that client's
 * handshake (milliseconds), not one per deadline (seconds). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "nbd/nbds_int.h"

/* Whether a and b take from one share of the negotiating pool: the same
 * TCP address, or the same instance's unix socket.  A unix peer has no
 * address, but a scoped socket belongs to one instance, whose hypervisor
 * is its only client: so a flood on one instance's socket takes from that
 * instance's share and leaves the rest of the pool to the others.  The
 * unnamed unix scope (a test's socketpair, a local tool) has no share.
 * A unix connection's scope is fixed before its thread starts (invariant
 * 6 of nbds_int.h), so reading it here under srv->mu is safe. */
static bool same_share(const nbds_conn *a, const nbds_conn *b)
{
    if (a->addrlen == 0 || b->addrlen == 0) {
        return !a->tcp && !b->tcp && a->scope[0] != '\0' && strcmp(a->scope, b->scope) == 0;
    }
    return a->addrlen == b->addrlen && memcmp(a->addr, b->addr, a->addrlen) == 0;
}

static bool has_share(const nbds_conn *c)
{
    return c->addrlen > 0 || (!c->tcp && c->scope[0] != '\0');
}

/* Closes the oldest negotiating connection (from like's address, if like
 * is given); false if there is none.  conns is newest first. */
static bool evict_oldest_locked(nbds_server *s, const nbds_conn *like)
{
    nbds_conn *old = NULL;

    for (nbds_conn *c = s->conns; c != NULL; c = c->next) {
        if (c->pool == NBDS_POOL_PRE && (like == NULL || same_share(c, like))) {
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
           like != NULL ? "share" : "server");
    return true;
}

/* Makes room for c in the negotiating pool. */
static void make_room_locked(nbds_server *s, const nbds_conn *c)
{
    if (has_share(c)) {
        unsigned n = 0;
        for (const nbds_conn *x = s->conns; x != NULL; x = x->next) {
            n += x->pool == NBDS_POOL_PRE && same_share(x, c);
        }
        for (; n >= s->max_preauth_addr && evict_oldest_locked(s, c); n--) {
        }
    }
    while (s->npre >= s->max_preauth && evict_oldest_locked(s, NULL)) {
    }
}

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
        nbds__wake_service(s);
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
