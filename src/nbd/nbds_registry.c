/* nbds_registry.c: what a connection looks up or changes in the server's
 * shared state, under srv->mu: the exports (added, found, bound, removed),
 * the scope a TLS identity names, and the connection pools and deadlines
 * (invariants 2, 4, 5 and 6 in nbds_int.h).
 *
 * It sits low in the module's file order (docs/dev/architecture.md): the
 * handshake and transmission call it, and it calls only nbds_wire.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nbd/nbds_int.h"

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

void nbds__export_close(nbds_export *e)
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
    nbds__export_close(e);
    return SD_OK;
}

/* ---- pools and deadlines -------------------------------------------- */

int64_t nbds__deadline_in(int64_t ns)
{
    return sd_mono_ns(NULL) + ns;
}

/* Wakes the service thread; a full pipe means it is awake already. */
void nbds__wake_service(nbds_server *s)
{
    if (write(s->wake[1], "w", 1) < 0 && errno != EAGAIN) {
        sd_log(SD_LOG_ERROR, "nbd", "cannot wake the service thread: %s", strerrordesc_np(errno));
    }
}

void nbds__conn_deadline(nbds_conn *c, int64_t at)
{
    atomic_store(&c->deadline, at);
    if (at != 0 && at < atomic_load(&c->srv->next_wake)) {
        nbds__wake_service(c->srv);
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

/* ---- scopes ----------------------------------------------------------- */

void nbds__scope_of_tls(nbds_conn *c)
{
    nbds_server *s = c->srv;
    const char *id = crypto_tls_psk_identity(c->tls);

    pthread_mutex_lock(&s->mu);
    c->scope[0] = '\0';
    for (const nbds_scope *sc = s->scopes; sc != NULL; sc = sc->next) {
        if (id != NULL && sc->psk_id[0] != '\0' && strcmp(sc->psk_id, id) == 0) {
            memcpy(c->scope, sc->name, sizeof c->scope);
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
}
