/* nbds_int.h: what the files of src/nbd share.  Not for other modules.
 *
 * The files form layers, each calling only those below it (checked by
 * scripts/check-layering.sh; docs/dev/architecture.md says why):
 *
 *   nbds_server.c     nbds_start, nbds_stop, listeners, the service thread
 *   nbds_scope.c      per-scope listeners
 *   nbds_conn.c       admission, and each connection's thread
 *   nbds_trans.c      transmission
 *   nbds_handshake.c  option haggling
 *   nbds_registry.c   exports, scope identities, pools and deadlines
 *   nbds_wire.c       bytes on a connection
 *
 * The declarations below come one section per layer, bottom first.
 *
 * Wire constants follow doc/proto.md of NetworkBlockDevice/nbd; every
 * integer on the wire is big-endian.
 *
 * Invariants (the connection lifecycle: nbds_conn.c, nbds_registry.c,
 * nbds_trans.c and nbds_server.c):
 *   1. A connection is in srv->conns from nbds__conn_spawn until conn_main
 *      unlinks it; while listed, its fd is open, so shutdown(fd) from
 *      nbds_export_remove or nbds_stop is safe.
 *   2. c->exp is set (with e->refs incremented) under srv->mu at GO or
 *      EXPORT_NAME, and released (refs decremented, cv broadcast) only after
 *      every worker of the connection has been joined: no export op runs
 *      once refs reaches 0.
 *   3. HANDSHAKE --GO--> TRANSMISSION --EOF|DISC|error--> DRAINING (workers
 *      finish the queue) --> CLOSED.  Replies are written only under c->wmu.
 *   4. Pools (c->pool, srv->npre, srv->nest, under srv->mu): a connection
 *      is PRE from nbds_serve_fd until nbds__conn_promote (GO or
 *      EXPORT_NAME) makes it EST, or until the service thread evicts it
 *      (NONE: shut down, counted in neither pool while its thread ends).
 *      nest <= max_conns always; npre <= max_preauth but for connections
 *      whose GO failed after promotion (nbds__conn_demote), until the next
 *      admission evicts down to it.  nconns counts every listed
 *      connection, whatever its pool.
 *   5. c->deadline (monotonic ns, 0 = none) is written only by the
 *      connection's own thread (nbds__conn_deadline) and cleared by the
 *      service thread when it shuts the connection down for it.  The
 *      service thread sleeps no later than srv->next_wake; a deadline set
 *      earlier than that wakes it.
 *   6. c->scope is fixed before the connection's thread starts, except that
 *      STARTTLS may set it once from the PSK identity (nbds__scope_of_tls),
 *      before any export is bound.  An export is visible to c only when
 *      e->scope equals c->scope (nbds_registry.c find_locked). */
#ifndef SD_NBDS_INT_H
#define SD_NBDS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "nbd/nbds.h"

/* ---- handshake -------------------------------------------------------- */
#define NBDS_MAGIC     UINT64_C(0x4e42444d41474943) /* "NBDMAGIC" */
#define NBDS_IHAVEOPT  UINT64_C(0x49484156454f5054) /* "IHAVEOPT" */
#define NBDS_REP_MAGIC UINT64_C(0x0003e889045565a9)

#define NBDS_FLAG_FIXED_NEWSTYLE   (1u << 0)
#define NBDS_FLAG_NO_ZEROES        (1u << 1)
#define NBDS_FLAG_C_FIXED_NEWSTYLE (1u << 0)
#define NBDS_FLAG_C_NO_ZEROES      (1u << 1)

#define NBDS_OPT_EXPORT_NAME      1u
#define NBDS_OPT_ABORT            2u
#define NBDS_OPT_LIST             3u
#define NBDS_OPT_STARTTLS         5u
#define NBDS_OPT_INFO             6u
#define NBDS_OPT_GO               7u
#define NBDS_OPT_STRUCTURED_REPLY 8u
#define NBDS_OPT_LIST_META        9u
#define NBDS_OPT_SET_META         10u

#define NBDS_REP_ACK          1u
#define NBDS_REP_SERVER       2u
#define NBDS_REP_INFO         3u
#define NBDS_REP_META_CONTEXT 4u
#define NBDS_REP_ERR_UNSUP    (0x80000000u + 1)
#define NBDS_REP_ERR_POLICY   (0x80000000u + 2)
#define NBDS_REP_ERR_INVALID  (0x80000000u + 3)
#define NBDS_REP_ERR_TLS_REQD (0x80000000u + 5)
#define NBDS_REP_ERR_UNKNOWN  (0x80000000u + 6)
#define NBDS_REP_ERR_TOO_BIG  (0x80000000u + 9)

#define NBDS_INFO_EXPORT      0u
#define NBDS_INFO_NAME        1u
#define NBDS_INFO_DESCRIPTION 2u
#define NBDS_INFO_BLOCK_SIZE  3u

/* transmission flags */
#define NBDS_TF_HAS_FLAGS         (1u << 0)
#define NBDS_TF_READ_ONLY         (1u << 1)
#define NBDS_TF_SEND_FLUSH        (1u << 2)
#define NBDS_TF_SEND_FUA          (1u << 3)
#define NBDS_TF_SEND_TRIM         (1u << 5)
#define NBDS_TF_SEND_WRITE_ZEROES (1u << 6)
#define NBDS_TF_SEND_DF           (1u << 7)
#define NBDS_TF_CAN_MULTI_CONN    (1u << 8)
#define NBDS_TF_SEND_CACHE        (1u << 10)
#define NBDS_TF_SEND_FAST_ZERO    (1u << 11)

/* ---- transmission ----------------------------------------------------- */
#define NBDS_REQ_MAGIC    UINT32_C(0x25609513)
#define NBDS_SIMPLE_MAGIC UINT32_C(0x67446698)
#define NBDS_CHUNK_MAGIC  UINT32_C(0x668e33ef)
#define NBDS_REQ_HDR_LEN  28u

#define NBDS_CMD_READ         0u
#define NBDS_CMD_WRITE        1u
#define NBDS_CMD_DISC         2u
#define NBDS_CMD_FLUSH        3u
#define NBDS_CMD_TRIM         4u
#define NBDS_CMD_CACHE        5u
#define NBDS_CMD_WRITE_ZEROES 6u
#define NBDS_CMD_BLOCK_STATUS 7u
#define NBDS_CMD_COUNT        8u

#define NBDS_CMD_FLAG_FUA       (1u << 0)
#define NBDS_CMD_FLAG_NO_HOLE   (1u << 1)
#define NBDS_CMD_FLAG_DF        (1u << 2)
#define NBDS_CMD_FLAG_REQ_ONE   (1u << 3)
#define NBDS_CMD_FLAG_FAST_ZERO (1u << 4)

#define NBDS_REPLY_FLAG_DONE    (1u << 0)
#define NBDS_REPLY_NONE         0u
#define NBDS_REPLY_OFFSET_DATA  1u
#define NBDS_REPLY_BLOCK_STATUS 5u
#define NBDS_REPLY_ERROR        (0x8000u + 1)

/* NBD error values: fixed by the protocol, not the host's errno. */
#define NBDS_EPERM     1u
#define NBDS_EIO       5u
#define NBDS_ENOMEM    12u
#define NBDS_EINVAL    22u
#define NBDS_ENOSPC    28u
#define NBDS_EOVERFLOW 75u
#define NBDS_ENOTSUP   95u

/* ---- limits ----------------------------------------------------------- */
#define NBDS_STR_MAX       4096u       /* any protocol string (spec MUST) */
#define NBDS_OPT_MAX       (64u << 10) /* option data we parse */
#define NBDS_OPT_DROP      (16u << 20) /* option data beyond: a DoS, disconnect */
#define NBDS_MAX_PAYLOAD   (32u << 20) /* advertised max payload */
#define NBDS_HARD_CAP      (64u << 20) /* WRITE payloads beyond: disconnect */
#define NBDS_SLOTS         16u         /* requests in flight per connection */
#define NBDS_MAX_EXTENTS   1024u       /* extents per BLOCK_STATUS reply */
#define NBDS_HANDSHAKE_SEC 10u         /* default deadline from connect to GO */
#define NBDS_META_ID       1u          /* base:allocation's context id */
#define NBDS_META_BASE     "base:allocation"

/* ---- state ------------------------------------------------------------ */

/* A published export. */
typedef struct nbds_export {
    struct nbds_export *next;
    char name[NBDS_NAME_MAX + 1];
    char scope[NBDS_SCOPE_MAX + 1]; /* "" is the unnamed scope */
    char *description;              /* owned copy, may be NULL */
    blk_export exp;
    unsigned refs; /* connections bound to it (invariant 2) */
} nbds_export;

/* One request slot: header fields and a buffer grown once and reused. */
typedef struct nbds_req {
    struct nbds_req *next;
    uint16_t flags;
    uint16_t type;
    uint64_t cookie;
    uint64_t offset;
    uint32_t len;
    uint8_t *buf;
    size_t cap;
} nbds_req;

/* Which pool a connection counts in (invariant 4). */
typedef enum nbds_pool { NBDS_POOL_PRE, NBDS_POOL_EST, NBDS_POOL_NONE } nbds_pool;

typedef struct nbds_conn {
    nbds_server *srv;
    struct nbds_conn *next; /* in srv->conns (invariant 1) */
    int fd;
    bool tcp;                       /* TLS is mandatory */
    crypto_tls *tls;                /* NULL until STARTTLS */
    char scope[NBDS_SCOPE_MAX + 1]; /* invariant 6 */

    /* admission and deadlines (invariants 4 and 5) */
    nbds_pool pool;           /* under srv->mu */
    uint8_t addr[8];          /* the peer's IPv4 address or IPv6 /64 ... */
    uint8_t addrlen;          /* ... its length; 0: no address (unix) */
    int64_t born;             /* monotonic ns at nbds_serve_fd */
    _Atomic int64_t deadline; /* 0: none */

    /* negotiated in the handshake */
    bool no_zeroes;
    bool sr;          /* structured replies */
    bool meta;        /* base:allocation selected ... */
    char *meta_name;  /* ... for this export name (owned) */
    nbds_export *exp; /* bound export (invariant 2) */
    uint32_t min_block;
    uint16_t tflags;
    /* transmission */
    pthread_mutex_t wmu; /* one reply on the wire at a time */
    pthread_mutex_t qmu; /* the fields below */
    pthread_cond_t work; /* queue non-empty or closing */
    pthread_cond_t slot; /* a slot was freed */
    nbds_req slots[NBDS_SLOTS];
    nbds_req *free;
    nbds_req *qhead;
    nbds_req *qtail;
    bool closing;
    bool broken; /* a reply could not be written: stop */
    unsigned nworkers;
    pthread_t *workers;
} nbds_conn;

struct nbds_server {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* conns left, export refs dropped */
    nbds_export *exports;
    struct nbds_scope *scopes; /* nbds_registry.c, nbds_scope.c */
    nbds_conn *conns;
    unsigned nconns;
    bool stopping;
    int lfd[2]; /* listeners: unix, tcp; -1 when absent */
    int wake[2];
    bool serving;
    pthread_t service; /* accepts clients, enforces deadlines */
    char *unix_path;
    uint16_t tcp_port;
    const crypto_tls_ctx *tls;
    unsigned workers;
    unsigned max_conns;

    /* admission and deadlines (invariants 4 and 5) */
    unsigned npre;
    unsigned nest;
    _Atomic int64_t next_wake;
    unsigned max_preauth;
    unsigned max_preauth_addr;
    int64_t handshake_ns;
    int64_t tls_ns;
    int64_t payload_ns;
};

/* ---- nbds_wire.c: bytes on a connection ------------------------------- */
SD_MUST_USE sd_code nbds__read(nbds_conn *c, void *buf, size_t n, sd_err *err);
/* more: another write of the same message follows at once (MSG_MORE). */
SD_MUST_USE sd_code nbds__write(nbds_conn *c, const void *buf, size_t n, bool more, sd_err *err);
SD_MUST_USE sd_code nbds__discard(nbds_conn *c, uint64_t n, sd_err *err);
/* Wakes any thread blocked on c's socket; the fd stays open. */
void nbds__conn_shutdown(nbds_conn *c);

static inline void nbds__put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void nbds__put32(uint8_t *p, uint32_t v)
{
    nbds__put16(p, (uint16_t)(v >> 16));
    nbds__put16(p + 2, (uint16_t)v);
}
static inline void nbds__put64(uint8_t *p, uint64_t v)
{
    nbds__put32(p, (uint32_t)(v >> 32));
    nbds__put32(p + 4, (uint32_t)v);
}
static inline uint16_t nbds__get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t nbds__get32(const uint8_t *p)
{
    return ((uint32_t)nbds__get16(p) << 16) | nbds__get16(p + 2);
}
static inline uint64_t nbds__get64(const uint8_t *p)
{
    return ((uint64_t)nbds__get32(p) << 32) | nbds__get32(p + 4);
}

/* ---- nbds_registry.c: exports, scopes, pools and deadlines ----------- */

/* A copy of what the handshake needs to know about an export. */
typedef struct nbds_export_info {
    char name[NBDS_NAME_MAX + 1];
    char description[NBDS_STR_MAX / 4];
    uint64_t size;
    uint32_t min_block;
    uint32_t pref_block;
    uint32_t max_block;
    bool readonly;
} nbds_export_info;

/* Looks name[0..len) up ("" is the only export, if there is exactly one).
 * With bind, the connection binds to it (invariant 2).  SD_E_NOT_FOUND. */
SD_MUST_USE sd_code nbds__export_find(nbds_conn *c, const uint8_t *name, size_t len, bool bind,
                                      nbds_export_info *out, sd_err *err);
/* Calls fn for each export name in c's scope, under the registry lock (fn
 * must not block on the registry). */
SD_MUST_USE sd_code nbds__export_each(nbds_conn *c,
                                      sd_code (*fn)(void *ctx, const char *name, sd_err *err),
                                      void *ctx, sd_err *err);

/* Sets c's deadline (monotonic ns; 0 clears it); past it the service
 * thread shuts c's socket down, which fails its pending and later I/O.
 * Only c's own thread calls this (invariant 5). */
void nbds__conn_deadline(nbds_conn *c, int64_t at);
/* Now plus ns, on the deadlines' clock. */
int64_t nbds__deadline_in(int64_t ns);
/* Moves c from the negotiating pool to the established one (invariant 4).
 * SD_E_CONFLICT: max_conns are established; SD_E_IO: c was evicted. */
SD_MUST_USE sd_code nbds__conn_promote(nbds_conn *c, sd_err *err);
/* Undoes nbds__conn_promote (a GO that then failed). */
void nbds__conn_demote(nbds_conn *c);
/* Wakes the service thread (it then rescans the deadlines, or finds
 * s->stopping set). */
void nbds__wake_service(nbds_server *s);

/* Frees an export nobody uses any more (refs 0, unlinked). */
void nbds__export_close(nbds_export *e);

/* A scope (nbds.h), in srv->scopes under srv->mu: nbds_scope.c adds and
 * removes them with their listeners; a connection looks its TLS identity
 * up here. */
typedef struct nbds_scope {
    struct nbds_scope *next;
    nbds_server *srv;
    char name[NBDS_SCOPE_MAX + 1];
    char psk_id[NBDS_SCOPE_MAX * 2 + 1]; /* "" without */
    char *unix_path;                     /* NULL without */
    int lfd;
    int wake[2];
    pthread_t thread;
    bool running;
} nbds_scope;

/* After STARTTLS: c joins the scope whose PSK identity the peer used, or
 * the unnamed scope. */
void nbds__scope_of_tls(nbds_conn *c);

/* ---- nbds_handshake.c ------------------------------------------------- */

/* Runs option haggling.  SD_OK with c->exp set: go to transmission; SD_OK
 * with c->exp NULL: the client aborted; otherwise drop the connection. */
SD_MUST_USE sd_code nbds__handshake(nbds_conn *c, sd_err *err);

/* ---- nbds_trans.c ----------------------------------------------------- */

/* Serves requests until the client leaves or the socket breaks. */
SD_MUST_USE sd_code nbds__transmit(nbds_conn *c, sd_err *err);

/* ---- nbds_scope.c: per-scope listeners ---------------------------------- */

/* From nbds_stop, before connections are closed: every scope listener is
 * closed and its thread joined. */
void nbds__scopes_stop(nbds_server *s);

#endif
