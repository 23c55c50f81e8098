/* nbds_scope.c: scopes, the identities that decide which exports a
 * connection sees (nbds.h).
 *
 * A scope is a name plus the ways into it: its own unix socket, with its
 * own accept thread (polling the socket and a wake pipe), and/or a TLS PSK
 * identity.  The list hangs off srv->scopes under srv->mu; the handshake
 * looks a peer's identity up in it through nbds_registry.c, which is below
 * both.  Removing a
 * scope unlinks it first (no new TLS peer can join it), then stops its
 * thread (no new unix client), then closes the connections already in it:
 * in that order nothing can slip in between the last two steps.
 *
 * Invariants:
 *   1. A scope in srv->scopes has its socket bound and listening and its
 *      thread running, if it has a unix path.
 *   2. Only the scope's own thread accepts on its socket; it is joined
 *      before the socket is closed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "nbd/nbds_int.h"

static void scope_free(nbds_scope *sc)
{
    if (sc == NULL) {
        return;
    }
    if (sc->running) {
        /* An empty pipe takes one byte; glibc's fortified write must be checked. */
        if (write(sc->wake[1], "x", 1) != 1) {
            sd_log(SD_LOG_ERROR, "nbd", "cannot wake the listener of scope %s", sc->name);
        }
        (void)pthread_join(sc->thread, NULL);
    }
    if (sc->lfd >= 0) {
        (void)close(sc->lfd);
    }
    for (int i = 0; i < 2; i++) {
        if (sc->wake[i] >= 0) {
            (void)close(sc->wake[i]);
        }
    }
    if (sc->unix_path != NULL) {
        (void)unlink(sc->unix_path);
        free(sc->unix_path);
    }
    free(sc);
}

static void *scope_main(void *arg)
{
    nbds_scope *sc = arg;
    struct pollfd p[2];
    sd_err err = SD_ERR_INIT;

    for (;;) {
        p[0] = (struct pollfd){.fd = sc->wake[0], .events = POLLIN};
        p[1] = (struct pollfd){.fd = sc->lfd, .events = POLLIN};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            sd_log(SD_LOG_ERROR, "nbd", "poll failed: %s", strerrordesc_np(errno));
            break;
        }
        if (p[0].revents != 0) {
            break;
        }
        if (p[1].revents & POLLIN) {
            int fd = accept4(sc->lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0 && nbds_serve_fd_scoped(sc->srv, fd, false, sc->name, &err) != SD_OK) {
                sd_log(SD_LOG_WARN, "nbd", "client refused scope=%s: %s", sc->name, err.msg);
                err = (sd_err)SD_ERR_INIT;
            }
        }
    }
    return NULL;
}

/* The socket gets its mode and owner before listen(): until then nobody
 * can connect, so no client ever sees the umask's mode or our own owner. */
static sd_code scope_listen(nbds_scope *sc, const nbds_scope_opts *o, sd_err *err)
{
    sd_code rc = SD_OK;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    const char *path = o->unix_path;
    struct stat st;

    SD_ENSURE(strlen(path) < sizeof a.sun_path, err, SD_E_INVALID, "socket path too long: %s",
              path);
    SD_ENSURE(o->mode == 0600 || o->mode == 0660, err, SD_E_INVALID,
              "socket mode must be 0600 or 0660, not %04o", o->mode);
    memcpy(a.sun_path, path, strlen(path) + 1);
    if (lstat(path, &st) == 0) {
        SD_ENSURE(S_ISSOCK(st.st_mode), err, SD_E_INVALID, "%s exists and is not a socket", path);
        SD_ENSURE(unlink(path) == 0, err, SD_E_IO, "cannot replace %s: %s", path,
                  strerrordesc_np(errno));
    }
    sc->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    SD_ENSURE(sc->lfd >= 0, err, SD_E_IO, "socket: %s", strerrordesc_np(errno));
    SD_ENSURE(bind(sc->lfd, (struct sockaddr *)&a, sizeof a) == 0, err, SD_E_IO, "bind %s: %s",
              path, strerrordesc_np(errno));
    sc->unix_path = strdup(path); /* from here scope_free unlinks it */
    SD_ENSURE(sc->unix_path != NULL, err, SD_E_NOMEM, "out of memory");
    SD_ENSURE(chmod(path, o->mode) == 0, err, SD_E_IO, "chmod %s: %s", path,
              strerrordesc_np(errno));
    if (o->uid >= 0 || o->gid >= 0) {
        SD_ENSURE(lchown(path, (uid_t)o->uid, (gid_t)o->gid) == 0, err, SD_E_IO, "chown %s: %s",
                  path, strerrordesc_np(errno));
    }
    SD_ENSURE(listen(sc->lfd, 64) == 0, err, SD_E_IO, "listen %s: %s", path,
              strerrordesc_np(errno));
    SD_ENSURE(pipe2(sc->wake, O_CLOEXEC) == 0, err, SD_E_IO, "pipe: %s", strerrordesc_np(errno));
    SD_ENSURE(pthread_create(&sc->thread, NULL, scope_main, sc) == 0, err, SD_E_INTERNAL,
              "cannot start a listener thread");
    sc->running = true;
out:
    return rc;
}

/* Under s->mu. */
static bool taken_locked(const nbds_server *s, const char *name, const char *psk_id)
{
    for (const nbds_scope *sc = s->scopes; sc != NULL; sc = sc->next) {
        if (strcmp(sc->name, name) == 0 || (psk_id[0] != '\0' && strcmp(sc->psk_id, psk_id) == 0)) {
            return true;
        }
    }
    return false;
}

sd_code nbds_scope_add(nbds_server *s, const char *scope, const nbds_scope_opts *o, sd_err *err)
{
    sd_code rc = SD_OK;
    nbds_scope *sc = NULL;
    const char *psk_id = o->psk_id != NULL ? o->psk_id : "";
    size_t n = strlen(scope);

    SD_ENSURE(n > 0 && n <= NBDS_SCOPE_MAX, err, SD_E_INVALID, "scope name must be 1..%u bytes",
              NBDS_SCOPE_MAX);
    SD_ENSURE(strlen(psk_id) < sizeof sc->psk_id, err, SD_E_INVALID, "PSK identity too long");
    sc = calloc(1, sizeof *sc);
    SD_ENSURE(sc != NULL, err, SD_E_NOMEM, "out of memory");
    sc->srv = s;
    sc->lfd = sc->wake[0] = sc->wake[1] = -1;
    memcpy(sc->name, scope, n + 1);
    (void)snprintf(sc->psk_id, sizeof sc->psk_id, "%s", psk_id);
    pthread_mutex_lock(&s->mu);
    if (taken_locked(s, scope, psk_id) || s->stopping) {
        pthread_mutex_unlock(&s->mu);
        SD_FAIL(err, SD_E_CONFLICT, "scope %s or its identity exists", scope);
    }
    pthread_mutex_unlock(&s->mu);
    if (o->unix_path != NULL) {
        SD_TRY(scope_listen(sc, o, err));
    }
    pthread_mutex_lock(&s->mu);
    /* Checked again: another thread may have added the same scope meanwhile. */
    if (taken_locked(s, scope, psk_id) || s->stopping) {
        pthread_mutex_unlock(&s->mu);
        /* Leave a socket another scope now owns in place. */
        free(sc->unix_path);
        sc->unix_path = NULL;
        SD_FAIL(err, SD_E_CONFLICT, "scope %s or its identity exists", scope);
    }
    sc->next = s->scopes;
    s->scopes = sc;
    pthread_mutex_unlock(&s->mu);
    sd_log(SD_LOG_INFO, "nbd", "scope added scope=%s socket=%s tls=%s", scope,
           o->unix_path != NULL ? o->unix_path : "-", psk_id[0] != '\0' ? "psk" : "-");
    sc = NULL;
out:
    scope_free(sc);
    return rc;
}

void nbds_scope_remove(nbds_server *s, const char *scope)
{
    nbds_scope **pp;
    nbds_scope *sc = NULL;

    pthread_mutex_lock(&s->mu);
    for (pp = &s->scopes; *pp != NULL; pp = &(*pp)->next) {
        if (strcmp((*pp)->name, scope) == 0) {
            sc = *pp;
            *pp = sc->next;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (sc == NULL) {
        return;
    }
    scope_free(sc); /* no new client from here */
    pthread_mutex_lock(&s->mu);
    for (nbds_conn *c = s->conns; c != NULL; c = c->next) {
        if (strcmp(c->scope, scope) == 0) {
            nbds__conn_shutdown(c);
        }
    }
    pthread_mutex_unlock(&s->mu);
    sd_log(SD_LOG_INFO, "nbd", "scope removed scope=%s", scope);
}

void nbds__scopes_stop(nbds_server *s)
{
    nbds_scope *sc;

    pthread_mutex_lock(&s->mu);
    sc = s->scopes;
    s->scopes = NULL;
    pthread_mutex_unlock(&s->mu);
    while (sc != NULL) {
        nbds_scope *next = sc->next;
        scope_free(sc);
        sc = next;
    }
}
