/* nbds_handshake.c: fixed-newstyle negotiation (proto.md "Newstyle
 * negotiation"), option by option, dispatched from a table.
 *
 * The server greets (NBDMAGIC, IHAVEOPT, FIXED_NEWSTYLE|NO_ZEROES), reads
 * the client flags, then reads options until one of them ends haggling:
 * GO or EXPORT_NAME (transmission) or ABORT.  Every option's data is read
 * in full before it is looked at, so an unknown or refused option never
 * loses the framing; data longer than NBDS_OPT_MAX is discarded and
 * refused, and longer than NBDS_OPT_DROP ends the connection (a client
 * that sends that much is not negotiating).  On TCP the server is in
 * FORCEDTLS mode: before STARTTLS everything except STARTTLS and ABORT is
 * refused with ERR_TLS_REQD (EXPORT_NAME, which cannot carry an error,
 * disconnects). */
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include "nbd/nbds_int.h"

typedef struct hs {
    nbds_conn *c;
    uint32_t opt;
    const uint8_t *data;
    uint32_t len;
    bool quit; /* ABORT: close without transmission */
} hs;

typedef sd_code (*opt_fn)(hs *h, sd_err *err);

/* ---- replies ---------------------------------------------------------- */

static sd_code reply(hs *h, uint32_t type, const void *data, uint32_t len, sd_err *err)
{
    sd_code rc = SD_OK;
    uint8_t hdr[20];

    nbds__put64(hdr, NBDS_REP_MAGIC);
    nbds__put32(hdr + 8, h->opt);
    nbds__put32(hdr + 12, type);
    nbds__put32(hdr + 16, len);
    SD_TRY(nbds__write(h->c, hdr, sizeof hdr, len > 0, err));
    if (len > 0) {
        SD_TRY(nbds__write(h->c, data, len, false, err));
    }
out:
    return rc;
}

static sd_code reply_err(hs *h, uint32_t type, const char *msg, sd_err *err)
{
    return reply(h, type, msg, (uint32_t)strlen(msg), err);
}

static sd_code reply_info(hs *h, uint16_t info, const void *data, uint32_t len, sd_err *err)
{
    uint8_t buf[2 + NBDS_STR_MAX];

    nbds__put16(buf, info);
    memcpy(buf + 2, data, len);
    return reply(h, NBDS_REP_INFO, buf, 2 + len, err);
}

/* ---- options ---------------------------------------------------------- */

/* Transmission flags for c's export, as the handshake advertises them. */
static uint16_t export_tflags(const nbds_conn *c, const nbds_export_info *e)
{
    uint16_t f = NBDS_TF_HAS_FLAGS | NBDS_TF_SEND_FLUSH | NBDS_TF_SEND_FUA | NBDS_TF_SEND_CACHE |
                 NBDS_TF_CAN_MULTI_CONN; /* blk_export.flush covers every connection */

    if (e->readonly) {
        f |= NBDS_TF_READ_ONLY;
    } else {
        f |= NBDS_TF_SEND_TRIM | NBDS_TF_SEND_WRITE_ZEROES | NBDS_TF_SEND_FAST_ZERO;
    }
    if (c->sr) {
        /* A READ reply is always one data chunk, so DF is honoured as is. */
        f |= NBDS_TF_SEND_DF;
    }
    return f;
}

static sd_code opt_export_name(hs *h, sd_err *err)
{
    sd_code rc = SD_OK;
    nbds_conn *c = h->c;
    nbds_export_info e;
    uint8_t buf[10 + 124] = {0};

    SD_ENSURE(h->len <= NBDS_STR_MAX, err, SD_E_INVALID, "export name too long");
    /* No way to report an error here but hanging up (proto.md). */
    SD_TRY(nbds__conn_promote(c, err));
    SD_TRY(nbds__export_find(c, h->data, h->len, true, &e, err));
    if (c->meta && (c->meta_name == NULL || strlen(c->meta_name) != h->len ||
                    memcmp(c->meta_name, h->data, h->len) != 0)) {
        c->meta = false;
    }
    c->min_block = 512; /* never agreed on block sizes: default alignment */
    c->tflags = export_tflags(c, &e);
    nbds__put64(buf, e.size);
    nbds__put16(buf + 8, c->tflags);
    SD_TRY(nbds__write(c, buf, c->no_zeroes ? 10 : sizeof buf, false, err));
out:
    return rc;
}

static sd_code opt_abort(hs *h, sd_err *err)
{
    h->quit = true;
    /* The client may already be gone (proto.md): a failed ACK is fine. */
    sd_ignore(reply(h, NBDS_REP_ACK, NULL, 0, NULL));
    (void)err;
    return SD_OK;
}

static sd_code list_one(void *ctx, const char *name, sd_err *err)
{
    hs *h = ctx;
    uint8_t buf[4 + NBDS_NAME_MAX];
    uint32_t n = (uint32_t)strnlen(name, NBDS_NAME_MAX);

    nbds__put32(buf, n);
    memcpy(buf + 4, name, n);
    return reply(h, NBDS_REP_SERVER, buf, 4 + n, err);
}

static sd_code opt_list(hs *h, sd_err *err)
{
    sd_code rc = SD_OK;

    if (h->len != 0) {
        return reply_err(h, NBDS_REP_ERR_INVALID, "LIST takes no data", err);
    }
    SD_TRY(nbds__export_each(h->c, list_one, h, err));
    SD_TRY(reply(h, NBDS_REP_ACK, NULL, 0, err));
out:
    return rc;
}

static sd_code opt_starttls(hs *h, sd_err *err)
{
    sd_code rc = SD_OK;
    nbds_conn *c = h->c;

    if (h->len != 0) {
        return reply_err(h, NBDS_REP_ERR_INVALID, "STARTTLS takes no data", err);
    }
    if (c->tls != NULL) {
        return reply_err(h, NBDS_REP_ERR_INVALID, "TLS is already on", err);
    }
    if (!c->tcp || c->srv->tls == NULL) {
        /* A unix socket is as private as its mode: TLS adds nothing. */
        return reply_err(h, NBDS_REP_ERR_POLICY, "TLS is offered on TCP only", err);
    }
    SD_TRY(reply(h, NBDS_REP_ACK, NULL, 0, err));
    /* The connection's deadline bounds the TLS handshake as a whole (the
     * service thread shuts the socket down); tls_ns per wait is a backstop. */
    SD_TRY(crypto_tls_accept(c->srv->tls, c->fd, (int)(c->srv->tls_ns / 1000000), &c->tls, err));
    nbds__conn_deadline(c, c->born + c->srv->handshake_ns);
    nbds__scope_of_tls(c); /* the PSK identity says whose disks it may see */
    /* proto.md: everything negotiated before TLS is forgotten. */
    c->sr = false;
    c->meta = false;
out:
    return rc;
}

static sd_code opt_structured_reply(hs *h, sd_err *err)
{
    if (h->len != 0) {
        return reply_err(h, NBDS_REP_ERR_INVALID, "STRUCTURED_REPLY takes no data", err);
    }
    h->c->sr = true;
    return reply(h, NBDS_REP_ACK, NULL, 0, err);
}

/* The requests of INFO and GO: which info types the client asked for. */
typedef struct info_req {
    const uint8_t *name;
    uint32_t namelen;
    bool block_size;
    bool want_name;
    bool want_desc;
} info_req;

static bool parse_info_req(const hs *h, info_req *r)
{
    uint32_t n;
    uint16_t nreq;

    if (h->len < 6) {
        return false;
    }
    n = nbds__get32(h->data);
    if (n > h->len - 6 || n > NBDS_STR_MAX) {
        return false;
    }
    nreq = nbds__get16(h->data + 4 + n);
    if (h->len != 4 + n + 2 + 2 * (uint32_t)nreq) {
        return false;
    }
    r->name = h->data + 4;
    r->namelen = n;
    for (uint16_t i = 0; i < nreq; i++) {
        uint16_t t = nbds__get16(h->data + 6 + n + 2 * (size_t)i);
        r->block_size |= t == NBDS_INFO_BLOCK_SIZE;
        r->want_name |= t == NBDS_INFO_NAME;
        r->want_desc |= t == NBDS_INFO_DESCRIPTION;
    }
    return true;
}

static sd_code send_infos(hs *h, const info_req *r, const nbds_export_info *e, sd_err *err)
{
    sd_code rc = SD_OK;
    nbds_conn *c = h->c;
    uint8_t buf[12];

    nbds__put64(buf, e->size);
    nbds__put16(buf + 8, export_tflags(c, e));
    SD_TRY(reply_info(h, NBDS_INFO_EXPORT, buf, 10, err));
    if (r->want_name) {
        SD_TRY(reply_info(h, NBDS_INFO_NAME, e->name, (uint32_t)strlen(e->name), err));
    }
    if (r->want_desc && e->description[0] != '\0') {
        SD_TRY(reply_info(h, NBDS_INFO_DESCRIPTION, e->description,
                          (uint32_t)strlen(e->description), err));
    }
    /* A client that asked for block sizes honours the export's minimum; one
     * that did not is entitled to 512-byte requests (the export handles
     * them by read-modify-write), so that is what it is told (as qemu-nbd
     * does).  Always sent: the answer is the same for INFO and GO. */
    nbds__put32(buf, r->block_size ? e->min_block : 512);
    nbds__put32(buf + 4, e->pref_block);
    nbds__put32(buf + 8, e->max_block);
    SD_TRY(reply_info(h, NBDS_INFO_BLOCK_SIZE, buf, 12, err));
out:
    return rc;
}

static sd_code opt_info_go(hs *h, sd_err *err)
{
    sd_code rc = SD_OK;
    nbds_conn *c = h->c;
    info_req r = {0};
    nbds_export_info e;
    sd_err lookup = SD_ERR_INIT;
    bool go = h->opt == NBDS_OPT_GO;

    if (!parse_info_req(h, &r)) {
        return reply_err(h, NBDS_REP_ERR_INVALID, "malformed INFO/GO request", err);
    }
    /* Leaving the negotiating pool first: the established one may be full. */
    if (go && (rc = nbds__conn_promote(c, &lookup)) != SD_OK) {
        SD_ENSURE(rc == SD_E_CONFLICT, err, rc, "%s", lookup.msg);
        return reply_err(h, NBDS_REP_ERR_POLICY, "too many connections, try again later", err);
    }
    if (nbds__export_find(c, r.name, r.namelen, go, &e, &lookup) != SD_OK) {
        if (go) {
            nbds__conn_demote(c);
        }
        return reply_err(h, NBDS_REP_ERR_UNKNOWN, "no such export", err);
    }
    SD_TRY(send_infos(h, &r, &e, err));
    SD_TRY(reply(h, NBDS_REP_ACK, NULL, 0, err));
    if (go) {
        if (c->meta &&
            (strlen(c->meta_name) != r.namelen || memcmp(c->meta_name, r.name, r.namelen) != 0)) {
            c->meta = false; /* contexts were chosen for another export */
        }
        c->min_block = r.block_size ? e.min_block : 512;
        c->tflags = export_tflags(c, &e);
    }
out:
    return rc;
}

/* Meta-context requests: export name, then queries.  SET selects
 * base:allocation when asked for by its exact name; LIST also takes the
 * "base:" wildcard and an empty query list. */
static sd_code opt_meta(hs *h, sd_err *err)
{
    sd_code rc = SD_OK;
    nbds_conn *c = h->c;
    bool set = h->opt == NBDS_OPT_SET_META;
    bool match = false;
    uint32_t namelen;
    uint32_t nq;
    uint32_t pos;
    nbds_export_info e;
    sd_err lookup = SD_ERR_INIT;
    uint8_t buf[4 + sizeof NBDS_META_BASE];

    if (!c->sr) {
        return reply_err(h, NBDS_REP_ERR_INVALID, "negotiate structured replies first", err);
    }
    if (h->len < 8 || (namelen = nbds__get32(h->data)) > h->len - 8 || namelen > NBDS_STR_MAX) {
        return reply_err(h, NBDS_REP_ERR_INVALID, "malformed meta context request", err);
    }
    nq = nbds__get32(h->data + 4 + namelen);
    pos = 8 + namelen;
    for (uint32_t i = 0; i < nq; i++) {
        uint32_t ql;
        if (h->len - pos < 4 || (ql = nbds__get32(h->data + pos)) > h->len - pos - 4) {
            return reply_err(h, NBDS_REP_ERR_INVALID, "malformed meta context query", err);
        }
        const char *q = (const char *)h->data + pos + 4;
        if ((ql == strlen(NBDS_META_BASE) && memcmp(q, NBDS_META_BASE, ql) == 0) ||
            (!set && ql == 5 && memcmp(q, "base:", 5) == 0)) {
            match = true;
        }
        pos += 4 + ql;
    }
    if (pos != h->len) {
        return reply_err(h, NBDS_REP_ERR_INVALID, "trailing bytes in meta context request", err);
    }
    if (nbds__export_find(c, h->data + 4, namelen, false, &e, &lookup) != SD_OK) {
        return reply_err(h, NBDS_REP_ERR_UNKNOWN, "no such export", err);
    }
    match |= !set && nq == 0;
    if (set) {
        free(c->meta_name);
        c->meta_name = strndup((const char *)h->data + 4, namelen);
        SD_ENSURE(c->meta_name != NULL, err, SD_E_NOMEM, "out of memory");
        c->meta = match;
    }
    if (match) {
        /* LIST's ids are reserved (0); SET's is the one BLOCK_STATUS uses. */
        nbds__put32(buf, set ? NBDS_META_ID : 0);
        memcpy(buf + 4, NBDS_META_BASE, sizeof NBDS_META_BASE - 1);
        SD_TRY(reply(h, NBDS_REP_META_CONTEXT, buf, 4 + (uint32_t)sizeof NBDS_META_BASE - 1, err));
    }
    SD_TRY(reply(h, NBDS_REP_ACK, NULL, 0, err));
out:
    return rc;
}

static const struct {
    uint32_t opt;
    opt_fn fn;
} options[] = {
    {NBDS_OPT_EXPORT_NAME, opt_export_name},
    {NBDS_OPT_ABORT, opt_abort},
    {NBDS_OPT_LIST, opt_list},
    {NBDS_OPT_STARTTLS, opt_starttls},
    {NBDS_OPT_INFO, opt_info_go},
    {NBDS_OPT_GO, opt_info_go},
    {NBDS_OPT_STRUCTURED_REPLY, opt_structured_reply},
    {NBDS_OPT_LIST_META, opt_meta},
    {NBDS_OPT_SET_META, opt_meta},
};

/* ---- the loop ---------------------------------------------------------- */

static sd_code greet(nbds_conn *c, sd_err *err)
{
    sd_code rc = SD_OK;
    uint8_t buf[18];
    uint32_t cflags;

    nbds__put64(buf, NBDS_MAGIC);
    nbds__put64(buf + 8, NBDS_IHAVEOPT);
    nbds__put16(buf + 16, NBDS_FLAG_FIXED_NEWSTYLE | NBDS_FLAG_NO_ZEROES);
    SD_TRY(nbds__write(c, buf, sizeof buf, false, err));
    SD_TRY(nbds__read(c, buf, 4, err));
    cflags = nbds__get32(buf);
    /* proto.md: unknown client flags MUST end the session. */
    SD_ENSURE((cflags & ~(NBDS_FLAG_C_FIXED_NEWSTYLE | NBDS_FLAG_C_NO_ZEROES)) == 0, err,
              SD_E_INVALID, "unknown client flags 0x%x", cflags);
    c->no_zeroes = (cflags & NBDS_FLAG_C_NO_ZEROES) != 0;
out:
    return rc;
}

static opt_fn find_option(uint32_t opt)
{
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
        if (options[i].opt == opt) {
            return options[i].fn;
        }
    }
    return NULL;
}

/* One option: read its header and data, then answer it. */
static sd_code one_option(hs *h, uint8_t *data, sd_err *err)
{
    sd_code rc = SD_OK;
    nbds_conn *c = h->c;
    uint8_t hdr[16];
    opt_fn fn;

    SD_TRY(nbds__read(c, hdr, sizeof hdr, err));
    SD_ENSURE(nbds__get64(hdr) == NBDS_IHAVEOPT, err, SD_E_INVALID, "bad option magic");
    h->opt = nbds__get32(hdr + 8);
    h->len = nbds__get32(hdr + 12);
    h->data = data;
    SD_ENSURE(h->len <= NBDS_OPT_DROP, err, SD_E_INVALID, "option of %u bytes", h->len);
    if (h->len > NBDS_OPT_MAX) {
        SD_TRY(nbds__discard(c, h->len, err));
        SD_TRY(reply_err(h, NBDS_REP_ERR_TOO_BIG, "option data too large", err));
        goto out;
    }
    SD_TRY(nbds__read(c, data, h->len, err));
    fn = find_option(h->opt);
    if (c->tcp && c->tls == NULL && h->opt != NBDS_OPT_STARTTLS && h->opt != NBDS_OPT_ABORT) {
        SD_ENSURE(h->opt != NBDS_OPT_EXPORT_NAME, err, SD_E_DENIED,
                  "EXPORT_NAME before STARTTLS on TCP");
        SD_TRY(reply_err(h, NBDS_REP_ERR_TLS_REQD, "TLS is required: use STARTTLS", err));
    } else if (fn == NULL) {
        SD_TRY(reply_err(h, NBDS_REP_ERR_UNSUP, "option not supported", err));
    } else {
        SD_TRY(fn(h, err));
    }
out:
    return rc;
}

sd_code nbds__handshake(nbds_conn *c, sd_err *err)
{
    sd_code rc = SD_OK;
    hs h = {.c = c};
    uint8_t *data = malloc(NBDS_OPT_MAX);

    SD_ENSURE(data != NULL, err, SD_E_NOMEM, "out of memory");
    SD_TRY(greet(c, err));
    while (c->exp == NULL && !h.quit) {
        SD_TRY(one_option(&h, data, err));
    }
out:
    free(data);
    return rc;
}
