/* nbds_trans.c: the transmission phase.
 *
 * The connection's own thread is the reader: it takes a free request slot
 * (there are NBDS_SLOTS, so at most that many requests are in flight and
 * memory is bounded), reads one request header and any WRITE payload into
 * the slot's buffer, validates it, and either answers an invalid request
 * itself or queues the slot.  A fixed pool of workers (srv->workers per
 * connection, started here) takes queued slots, calls the export and
 * writes the reply under c->wmu, then returns the slot to the free list.
 * Slot buffers grow to the largest request seen and are then reused.
 *
 * The stream ends on DISC, end of file, a bad request magic, a payload
 * over NBDS_HARD_CAP, or a reply that cannot be written; then the queue is
 * drained (in-flight requests finish and are answered if the socket still
 * works) and the workers are joined before the caller releases the export.
 *
 * Replies: simple replies unless structured replies were negotiated; then
 * READ is one OFFSET_DATA chunk (or one ERROR chunk) and BLOCK_STATUS one
 * BLOCK_STATUS chunk, both flagged DONE; other commands keep simple
 * replies, which proto.md allows for commands that return no data. */
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include "nbd/nbds_int.h"

/* ---- errors ------------------------------------------------------------ */

/* The NBD error value for a failed export call. */
static uint32_t wire_errno(sd_code rc, const sd_err *err)
{
    switch (rc) {
    case SD_OK:
        return 0;
    case SD_E_INVALID:
        /* blk_export: a refused FAST_ZERO is SD_E_INVALID named "ENOTSUP". */
        return err != NULL && strcmp(err->api_code, "ENOTSUP") == 0 ? NBDS_ENOTSUP : NBDS_EINVAL;
    case SD_E_DENIED:
        return NBDS_EPERM;
    case SD_E_NOMEM:
        return NBDS_ENOMEM;
    case SD_E_NOSPACE:
        /* proto.md: ENOSPC for a write that found no room; the client can
         * tell the guest its disk is full instead of that it is broken. */
        return NBDS_ENOSPC;
    case SD_E_NOT_FOUND:
    case SD_E_KEY_STATE:
    case SD_E_AUTH:
    case SD_E_THROTTLED:
    case SD_E_CONFLICT:
    case SD_E_IO:
    case SD_E_INTERNAL:
        return NBDS_EIO;
    }
    return NBDS_EIO;
}

/* ---- replies ------------------------------------------------------------ */

static void mark_broken(nbds_conn *c)
{
    pthread_mutex_lock(&c->qmu);
    c->broken = true;
    pthread_mutex_unlock(&c->qmu);
    nbds__conn_shutdown(c); /* the reader must notice too */
}

/* Writes one reply (hdr, then data) atomically with respect to the other
 * replies of the connection. */
static void send_reply(nbds_conn *c, const uint8_t *hdr, size_t hlen, const void *data, size_t dlen)
{
    sd_err err = SD_ERR_INIT;
    sd_code rc;

    pthread_mutex_lock(&c->wmu);
    rc = nbds__write(c, hdr, hlen, dlen > 0, &err);
    if (rc == SD_OK && dlen > 0) {
        rc = nbds__write(c, data, dlen, false, &err);
    }
    pthread_mutex_unlock(&c->wmu);
    if (rc != SD_OK) {
        sd_log(SD_LOG_DEBUG, "nbd", "reply not sent: %s", err.msg);
        mark_broken(c);
    }
}

static void reply_simple(nbds_conn *c, const nbds_req *r, uint32_t error, const void *data,
                         size_t dlen)
{
    uint8_t hdr[16];

    nbds__put32(hdr, NBDS_SIMPLE_MAGIC);
    nbds__put32(hdr + 4, error);
    nbds__put64(hdr + 8, r->cookie);
    send_reply(c, hdr, sizeof hdr, data, dlen);
}

static void chunk_hdr(uint8_t *hdr, const nbds_req *r, uint16_t type, uint32_t len)
{
    nbds__put32(hdr, NBDS_CHUNK_MAGIC);
    nbds__put16(hdr + 4, NBDS_REPLY_FLAG_DONE);
    nbds__put16(hdr + 6, type);
    nbds__put64(hdr + 8, r->cookie);
    nbds__put32(hdr + 16, len);
}

/* READ and BLOCK_STATUS must fail with a structured ERROR chunk once
 * structured replies are on; everything else may use a simple reply. */
static void reply_error(nbds_conn *c, const nbds_req *r, uint32_t error, const char *msg)
{
    uint8_t hdr[20 + 6 + 64];
    size_t n = strnlen(msg, 64);

    if (!c->sr || (r->type != NBDS_CMD_READ && r->type != NBDS_CMD_BLOCK_STATUS)) {
        reply_simple(c, r, error, NULL, 0);
        return;
    }
    chunk_hdr(hdr, r, NBDS_REPLY_ERROR, (uint32_t)(6 + n));
    nbds__put32(hdr + 20, error);
    nbds__put16(hdr + 24, (uint16_t)n);
    memcpy(hdr + 26, msg, n);
    send_reply(c, hdr, 26 + n, NULL, 0);
}

static void reply_ok(nbds_conn *c, const nbds_req *r)
{
    uint8_t hdr[20];

    if (c->sr && r->type == NBDS_CMD_READ) {
        /* Only a zero-length READ gets here: it carries no data chunk. */
        chunk_hdr(hdr, r, NBDS_REPLY_NONE, 0);
        send_reply(c, hdr, sizeof hdr, NULL, 0);
        return;
    }
    reply_simple(c, r, 0, NULL, 0);
}

/* ---- commands ----------------------------------------------------------- */

static bool grow(nbds_req *r, size_t n)
{
    uint8_t *p;

    if (r->cap >= n) {
        return true;
    }
    p = realloc(r->buf, n);
    if (p == NULL) {
        return false;
    }
    r->buf = p;
    r->cap = n;
    return true;
}

static const blk_export *ex(const nbds_conn *c)
{
    return &c->exp->exp;
}

static sd_code do_read(nbds_conn *c, nbds_req *r, sd_err *err)
{
    sd_code rc = SD_OK;
    const size_t pre = 28; /* room for a chunk header and offset before the data */
    uint8_t *p;

    SD_ENSURE(grow(r, pre + r->len), err, SD_E_NOMEM, "out of memory");
    p = r->buf + pre;
    SD_TRY(ex(c)->ops->pread(ex(c)->h, p, r->len, r->offset, err));
    if (c->sr) {
        chunk_hdr(r->buf, r, NBDS_REPLY_OFFSET_DATA, 8 + r->len);
        nbds__put64(r->buf + 20, r->offset);
        send_reply(c, r->buf, pre, p, r->len);
    } else {
        reply_simple(c, r, 0, p, r->len);
    }
out:
    return rc;
}

static sd_code do_write(nbds_conn *c, nbds_req *r, sd_err *err)
{
    uint32_t f = (r->flags & NBDS_CMD_FLAG_FUA) != 0 ? BLK_F_FUA : 0;
    sd_code rc = ex(c)->ops->pwrite(ex(c)->h, r->buf, r->len, r->offset, f, err);

    if (rc == SD_OK) {
        reply_ok(c, r);
    }
    return rc;
}

static sd_code do_flush(nbds_conn *c, nbds_req *r, sd_err *err)
{
    sd_code rc = ex(c)->ops->flush(ex(c)->h, err);

    if (rc == SD_OK) {
        reply_ok(c, r);
    }
    return rc;
}

/* TRIM and WRITE_ZEROES may be longer than an export call takes (they
 * carry no payload, so the spec allows up to 4 GiB): split at max_block. */
static sd_code do_trim_zero(nbds_conn *c, nbds_req *r, sd_err *err)
{
    sd_code rc = SD_OK;
    uint32_t f = (r->flags & NBDS_CMD_FLAG_FUA) != 0 ? BLK_F_FUA : 0;
    uint64_t off = r->offset;
    uint32_t left = r->len;
    bool zero = r->type == NBDS_CMD_WRITE_ZEROES;

    if (zero) {
        f |= (r->flags & NBDS_CMD_FLAG_NO_HOLE) != 0 ? 0 : BLK_F_MAY_TRIM;
        f |= (r->flags & NBDS_CMD_FLAG_FAST_ZERO) != 0 ? BLK_F_FAST_ZERO : 0;
    }
    while (left > 0) {
        uint32_t n = left < ex(c)->max_block ? left : ex(c)->max_block;
        if (zero) {
            SD_TRY(ex(c)->ops->zero(ex(c)->h, n, off, f, err));
        } else {
            SD_TRY(ex(c)->ops->trim(ex(c)->h, n, off, f, err));
        }
        off += n;
        left -= n;
    }
    reply_ok(c, r);
out:
    return rc;
}

static sd_code do_cache(nbds_conn *c, nbds_req *r, sd_err *err)
{
    sd_code rc = SD_OK;
    uint32_t n = r->len < ex(c)->max_block ? r->len : ex(c)->max_block;

    /* A hint: without a cache op there is nothing to warm. */
    if (ex(c)->ops->cache != NULL) {
        SD_TRY(ex(c)->ops->cache(ex(c)->h, n, r->offset, err));
    }
    reply_ok(c, r);
out:
    return rc;
}

/* Extents gathered into the slot buffer as (length, flags) pairs. */
typedef struct extents {
    uint8_t *out;
    uint32_t n;
    uint32_t max;
    uint32_t want;
    uint32_t total;
    bool req_one;
    bool full; /* stop the walk: enough collected */
} extents;

static sd_code extent_cb(void *ctx, uint64_t length, uint32_t type, sd_err *err)
{
    extents *x = ctx;
    uint32_t flags = type & (BLK_EXTENT_HOLE | BLK_EXTENT_ZERO);
    uint32_t len;
    uint8_t *last = x->n > 0 ? x->out + 8 * (size_t)(x->n - 1) : NULL;

    (void)err;
    if (SD_NEVER(x->out == NULL) || length == 0) {
        return SD_OK;
    }
    len = length < (uint64_t)(x->want - x->total) ? (uint32_t)length : x->want - x->total;
    if (last != NULL && nbds__get32(last + 4) == flags) {
        nbds__put32(last, nbds__get32(last) + len); /* same status: one extent */
    } else if (x->n == x->max || (x->req_one && x->n == 1)) {
        x->full = true;
    } else {
        nbds__put32(x->out + 8 * (size_t)x->n, len);
        nbds__put32(x->out + 8 * (size_t)x->n + 4, flags);
        x->n++;
    }
    if (!x->full) {
        x->total += len;
        x->full = x->total >= x->want;
    }
    /* Stopping the walk is not a failure: do_block_status knows it by
     * x->full. */
    return x->full ? SD_E_CONFLICT : SD_OK;
}

static sd_code do_block_status(nbds_conn *c, nbds_req *r, sd_err *err)
{
    sd_code rc = SD_OK;
    extents x = {.max = NBDS_MAX_EXTENTS, .req_one = (r->flags & NBDS_CMD_FLAG_REQ_ONE) != 0};
    uint64_t left = ex(c)->size - r->offset;
    uint32_t f = x.req_one ? BLK_F_REQ_ONE : 0;
    uint8_t hdr[24];

    /* Answering less than asked is allowed (clients ask again); asking the
     * export for whole blocks keeps every extent aligned. */
    x.want = r->len < ex(c)->max_block ? r->len : ex(c)->max_block;
    x.want = (x.want + c->min_block - 1) / c->min_block * c->min_block;
    if (x.want > left) {
        x.want = (uint32_t)left;
    }
    SD_ENSURE(grow(r, 8 * (size_t)NBDS_MAX_EXTENTS), err, SD_E_NOMEM, "out of memory");
    x.out = r->buf;
    rc = ex(c)->ops->extents(ex(c)->h, x.want, r->offset, f, extent_cb, &x, err);
    if (rc != SD_OK && x.full) {
        rc = SD_OK;
    }
    SD_TRY(rc);
    if (x.n == 0) {
        /* Nothing reported: "allocated data" is always a safe answer. */
        nbds__put32(x.out, x.want);
        nbds__put32(x.out + 4, 0);
        x.n = 1;
    }
    chunk_hdr(hdr, r, NBDS_REPLY_BLOCK_STATUS, 4 + 8 * x.n);
    nbds__put32(hdr + 20, NBDS_META_ID);
    send_reply(c, hdr, sizeof hdr, x.out, 8 * (size_t)x.n);
out:
    return rc;
}

typedef sd_code (*cmd_fn)(nbds_conn *c, nbds_req *r, sd_err *err);

/* Per command: the flags it accepts (beyond FUA, accepted everywhere once
 * SEND_FUA is advertised), whether it addresses a range, whether it
 * modifies the disk, and its handler.  Indexed by command type. */
static const struct cmd_rule {
    uint16_t flags;
    bool range;
    bool writes;
    cmd_fn fn;
} rules[NBDS_CMD_COUNT] = {
    [NBDS_CMD_READ] = {NBDS_CMD_FLAG_DF, true, false, do_read},
    [NBDS_CMD_WRITE] = {0, true, true, do_write},
    [NBDS_CMD_DISC] = {0, false, false, NULL},
    [NBDS_CMD_FLUSH] = {0, false, false, do_flush},
    [NBDS_CMD_TRIM] = {0, true, true, do_trim_zero},
    [NBDS_CMD_CACHE] = {0, true, false, do_cache},
    [NBDS_CMD_WRITE_ZEROES] = {NBDS_CMD_FLAG_NO_HOLE | NBDS_CMD_FLAG_FAST_ZERO, true, true,
                               do_trim_zero},
    [NBDS_CMD_BLOCK_STATUS] = {NBDS_CMD_FLAG_REQ_ONE, true, false, do_block_status},
};

static void run(nbds_conn *c, nbds_req *r)
{
    sd_err err = SD_ERR_INIT;
    sd_code rc = SD_OK;

    if (r->len == 0) {
        /* proto.md leaves zero-length requests undefined but asks servers
         * not to disconnect: they succeed and touch nothing. */
        if (r->type == NBDS_CMD_FLUSH) {
            rc = do_flush(c, r, &err);
        } else {
            reply_ok(c, r);
        }
    } else {
        rc = rules[r->type].fn(c, r, &err);
    }
    if (rc != SD_OK) {
        sd_log(SD_LOG_DEBUG, "nbd", "request failed: type=%u offset=%llu len=%u: %s",
               (unsigned)r->type, (unsigned long long)r->offset, r->len, err.msg);
        reply_error(c, r, wire_errno(rc, &err), "request failed");
    }
}

/* ---- validation ------------------------------------------------------- */

/* The NBD error for a request, 0 if it may run (proto.md "Request
 * types" and "Error values"). */
static uint32_t check_range(const nbds_conn *c, const nbds_req *r)
{
    uint64_t end;

    if (sd_add_overflow(r->offset, (uint64_t)r->len, &end) || end > ex(c)->size) {
        /* proto.md: ENOSPC for data that does not fit; EINVAL otherwise. */
        return r->type == NBDS_CMD_WRITE || r->type == NBDS_CMD_WRITE_ZEROES ? NBDS_ENOSPC
                                                                             : NBDS_EINVAL;
    }
    if (r->offset % c->min_block != 0) {
        return NBDS_EINVAL;
    }
    /* BLOCK_STATUS lengths are rounded instead: clients ask for "the rest". */
    if (r->type != NBDS_CMD_BLOCK_STATUS && r->len % c->min_block != 0) {
        return NBDS_EINVAL;
    }
    return 0;
}

static uint32_t check_request(const nbds_conn *c, const nbds_req *r)
{
    uint16_t allowed;

    if (r->type >= NBDS_CMD_COUNT || r->type == NBDS_CMD_DISC) {
        return NBDS_EINVAL;
    }
    allowed = NBDS_CMD_FLAG_FUA | rules[r->type].flags;
    if ((c->tflags & NBDS_TF_SEND_DF) == 0) {
        allowed &= (uint16_t)~NBDS_CMD_FLAG_DF;
    }
    if ((r->flags & ~allowed) != 0) {
        return NBDS_EINVAL;
    }
    if (!rules[r->type].range) {
        return r->offset != 0 || r->len != 0 ? NBDS_EINVAL : 0; /* FLUSH */
    }
    if (rules[r->type].writes && ex(c)->readonly) {
        return NBDS_EPERM;
    }
    if (r->type == NBDS_CMD_BLOCK_STATUS && (!c->sr || !c->meta || r->len == 0)) {
        return NBDS_EINVAL;
    }
    if (r->type == NBDS_CMD_READ && r->len > ex(c)->max_block) {
        /* Structured replies could split it, but one chunk is our rule. */
        return c->sr ? NBDS_EOVERFLOW : NBDS_EINVAL;
    }
    if (r->type == NBDS_CMD_WRITE && r->len > ex(c)->max_block) {
        return NBDS_EINVAL;
    }
    return check_range(c, r);
}

/* ---- the reader and the workers ----------------------------------------- */

static void put_slot(nbds_conn *c, nbds_req *r)
{
    pthread_mutex_lock(&c->qmu);
    r->next = c->free;
    c->free = r;
    pthread_cond_signal(&c->slot);
    pthread_mutex_unlock(&c->qmu);
}

static void *worker_main(void *arg)
{
    nbds_conn *c = arg;
    nbds_req *r;

    for (;;) {
        pthread_mutex_lock(&c->qmu);
        while (c->qhead == NULL && !c->closing) {
            pthread_cond_wait(&c->work, &c->qmu);
        }
        r = c->qhead;
        if (r == NULL) {
            pthread_mutex_unlock(&c->qmu);
            break; /* closing and drained */
        }
        c->qhead = r->next;
        if (c->qhead == NULL) {
            c->qtail = NULL;
        }
        pthread_mutex_unlock(&c->qmu);
        run(c, r);
        put_slot(c, r);
    }
    return NULL;
}

/* Waits for a free slot; NULL once the connection is broken. */
static nbds_req *get_slot(nbds_conn *c)
{
    nbds_req *r;

    pthread_mutex_lock(&c->qmu);
    while (c->free == NULL && !c->broken) {
        pthread_cond_wait(&c->slot, &c->qmu);
    }
    r = c->broken ? NULL : c->free;
    if (r != NULL) {
        c->free = r->next;
    }
    pthread_mutex_unlock(&c->qmu);
    return r;
}

static void enqueue(nbds_conn *c, nbds_req *r)
{
    pthread_mutex_lock(&c->qmu);
    r->next = NULL;
    if (c->qtail != NULL) {
        c->qtail->next = r;
    } else {
        c->qhead = r;
    }
    c->qtail = r;
    pthread_cond_signal(&c->work);
    pthread_mutex_unlock(&c->qmu);
}

/* Reads one request into r.  *disc: the client said goodbye. */
static sd_code read_request(nbds_conn *c, nbds_req *r, bool *disc, uint32_t *error, sd_err *err)
{
    sd_code rc = SD_OK;
    uint8_t hdr[NBDS_REQ_HDR_LEN];

    SD_TRY(nbds__read(c, hdr, sizeof hdr, err));
    /* A stream with a bad magic cannot be resynchronised. */
    SD_ENSURE(nbds__get32(hdr) == NBDS_REQ_MAGIC, err, SD_E_INVALID, "bad request magic");
    r->flags = nbds__get16(hdr + 4);
    r->type = nbds__get16(hdr + 6);
    r->cookie = nbds__get64(hdr + 8);
    r->offset = nbds__get64(hdr + 16);
    r->len = nbds__get32(hdr + 24);
    if (r->type == NBDS_CMD_DISC) {
        *disc = true;
        goto out;
    }
    *error = check_request(c, r);
    if (r->type != NBDS_CMD_WRITE) {
        goto out;
    }
    SD_ENSURE(r->len <= NBDS_HARD_CAP, err, SD_E_INVALID, "WRITE of %u bytes", r->len);
    if (*error == 0 && !grow(r, r->len)) {
        *error = NBDS_ENOMEM;
    }
    /* A declared payload must arrive in time, or it holds this reader (and
     * a slot's buffer) for as long as the client likes. */
    if (r->len > 0) {
        nbds__conn_deadline(c, nbds__deadline_in(c->srv->payload_ns));
    }
    if (*error != 0) {
        /* Keep the stream in step: the payload comes whatever we think. */
        SD_TRY(nbds__discard(c, r->len, err));
    } else {
        SD_TRY(nbds__read(c, r->buf, r->len, err));
    }
    if (r->len > 0) {
        nbds__conn_deadline(c, 0);
    }
out:
    return rc;
}

static sd_code reader_loop(nbds_conn *c, sd_err *err)
{
    sd_code rc = SD_OK;
    nbds_req *r;
    bool disc = false;

    while (!disc) {
        uint32_t error = 0;
        r = get_slot(c);
        SD_ENSURE(r != NULL, err, SD_E_IO, "a reply could not be sent");
        rc = read_request(c, r, &disc, &error, err);
        if (rc != SD_OK || disc || error != 0) {
            if (rc == SD_OK && error != 0) {
                reply_error(c, r, error, "invalid request");
            }
            put_slot(c, r);
            SD_TRY(rc);
            continue;
        }
        enqueue(c, r);
    }
out:
    return rc;
}

sd_code nbds__transmit(nbds_conn *c, sd_err *err)
{
    sd_code rc = SD_OK;
    unsigned started = 0;

    for (; started < c->nworkers; started++) {
        if (pthread_create(&c->workers[started], NULL, worker_main, c) != 0) {
            break;
        }
    }
    SD_ENSURE(started > 0, err, SD_E_INTERNAL, "cannot start request workers");
    SD_TRY(reader_loop(c, err));
out:
    pthread_mutex_lock(&c->qmu);
    c->closing = true;
    pthread_cond_broadcast(&c->work);
    pthread_mutex_unlock(&c->qmu);
    for (unsigned i = 0; i < started; i++) {
        (void)pthread_join(c->workers[i], NULL);
    }
    return rc;
}
