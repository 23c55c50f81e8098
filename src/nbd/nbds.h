/* nbd: the NBD server (prefix nbds_, because libnbd owns nbd_).
 *
 * Serves blk_export disks to NBD clients (qemu, libnbd's tools, the Linux
 * kernel through nbd-client) with the fixed-newstyle handshake, structured
 * replies and base:allocation block status, on a unix socket and/or TCP.
 * The module knows nothing of block/ beyond block/blk_export.h, so it is
 * tested and fuzzed over in-memory exports.
 *
 * Lifecycle of a server: nbds_start (listeners and the accept thread run) →
 * nbds_export_add / nbds_export_remove and nbds_scope_add /
 * nbds_scope_remove at any time → nbds_stop (every connection closed,
 * every remaining export closed, everything freed).
 *
 * Scopes: who a connection is.  Every export belongs to one scope and a
 * connection is in one scope; a connection sees and opens only the exports
 * of its own scope (OPT_LIST lists only those), and any other name is
 * answered exactly as a name that does not exist, so names outside the
 * scope are not revealed.  A connection is in a named scope when it came
 * through that scope's own unix socket, or authenticated on TCP with that
 * scope's TLS PSK identity; every other connection (nbds_opts' listeners,
 * nbds_serve_fd, PSK identities of no scope, certificates) is in the
 * unnamed scope "", which nbds_export_add publishes to.  The server (ECS)
 * makes one scope per running instance.
 *
 * Thread model: an nbds_server may be used from any thread; nbds_export_add,
 * nbds_export_remove and nbds_serve_fd may run concurrently with each other
 * and with client traffic, but not with or after nbds_stop.  Internally one
 * service thread accepts clients and enforces their deadlines, and each
 * connection has one reader thread (the handshake, then request parsing) and
 * a small fixed pool of workers that run requests; replies are serialised by
 * a per-connection write lock. */
#ifndef SD_NBDS_H
#define SD_NBDS_H

#include <stdbool.h>
#include <stdint.h>

#include "block/blk_export.h"
#include "common/common.h"
#include "crypto/crypto.h"

#define NBDS_NAME_MAX  256u /* export names, bytes (the spec's SHOULD) */
#define NBDS_SCOPE_MAX 64u  /* scope names, bytes */

typedef struct nbds_server nbds_server;

/* Options for nbds_start (an option bundle: a plain struct). */
typedef struct nbds_opts {
    const char *unix_path; /* NULL: no unix socket; else created 0600 */
    const char *tcp_addr;  /* NULL: no TCP listener; else e.g. "127.0.0.1" */
    uint16_t tcp_port;     /* 0: a free port (see nbds_tcp_port) */
    /* Borrowed, must outlive the server.  Required with tcp_addr: TCP
     * clients must STARTTLS before anything else (FORCEDTLS). */
    const crypto_tls_ctx *tls;
    unsigned workers;   /* request workers per connection; 0 = 4 */
    unsigned max_conns; /* 0 = 64: connections past the handshake; GO beyond is refused */
    /* Connections still negotiating (TLS, options) are a separate pool, so
     * idle ones cannot keep a client that completes its handshake out: when
     * it is full, or one TCP address (an IPv6 /64) holds its share, the
     * oldest such connection is closed to admit the new one. */
    unsigned max_preauth;      /* 0 = 16 */
    unsigned max_preauth_addr; /* 0 = 4: per TCP address or scoped unix socket */
    /* Deadlines, in milliseconds; past one the connection is closed. */
    unsigned handshake_ms; /* 0 = 10000: connect to GO or EXPORT_NAME */
    unsigned tls_ms;       /* 0 = 5000: on TCP, connect to TLS established */
    unsigned payload_ms;   /* 0 = 30000: a WRITE header to its last payload byte */
} nbds_opts;

#define NBDS_OPTS_INIT                           \
    {                                            \
        NULL, NULL, 0, NULL, 0, 0, 0, 0, 0, 0, 0 \
    }

/* Caller owns *out (release with nbds_stop).  Binds the listeners and
 * starts accepting; with neither listener, only nbds_serve_fd brings
 * clients.  An existing socket file at unix_path is replaced; any other
 * file there is an error.  SD_E_INVALID: TCP without TLS; SD_E_IO: cannot
 * bind or listen. */
SD_MUST_USE sd_code nbds_start(const nbds_opts *o, nbds_server **out, sd_err *err);

/* The TCP port actually bound (useful with tcp_port 0); 0 without TCP. */
uint16_t nbds_tcp_port(const nbds_server *s);

/* Publishes exp under name (1..NBDS_NAME_MAX bytes).  On success the server
 * owns the export: it calls exp->ops->close once, on removal or stop; the
 * struct is copied and exp->description too.  On failure the caller still
 * owns it.  SD_E_INVALID: bad name or geometry; SD_E_CONFLICT: name taken. */
SD_MUST_USE sd_code nbds_export_add(nbds_server *s, const char *name, const blk_export *exp,
                                    sd_err *err);

/* As nbds_export_add, in the named scope (which need not exist yet: a
 * scope is only a name that connections and exports share).  Export names
 * are unique across scopes.  SD_E_INVALID also: scope longer than
 * NBDS_SCOPE_MAX. */
SD_MUST_USE sd_code nbds_export_add_scoped(nbds_server *s, const char *scope, const char *name,
                                           const blk_export *exp, sd_err *err);

/* How connections reach a scope (an option bundle). */
typedef struct nbds_scope_opts {
    /* NULL: none; else a unix socket of its own, created here (an existing
     * socket file is replaced, anything else is an error) with mode, uid
     * and gid set before it listens, and unlinked by nbds_scope_remove. */
    const char *unix_path;
    unsigned mode;      /* 0600 or 0660 */
    long uid;           /* -1: the server's */
    long gid;           /* -1: the server's */
    const char *psk_id; /* NULL: none; else TLS peers with this PSK identity */
} nbds_scope_opts;

#define NBDS_SCOPE_OPTS_INIT     \
    {                            \
        NULL, 0600, -1, -1, NULL \
    }

/* Makes scope reachable as o says.  The PSK key itself belongs to the TLS
 * context (crypto_tls_ctx_psk_add): this only says that the identity is
 * the scope's.  SD_E_INVALID: bad name, mode or path; SD_E_CONFLICT: the
 * scope or the identity exists; SD_E_IO: cannot bind, chown or listen. */
SD_MUST_USE sd_code nbds_scope_add(nbds_server *s, const char *scope, const nbds_scope_opts *o,
                                   sd_err *err);

/* Unreachable from now: the socket is closed and unlinked, the identity
 * no longer names the scope, and every connection in the scope is closed
 * (without waiting).  The scope's exports stay: remove them first.
 * Unknown scopes are ignored. */
void nbds_scope_remove(nbds_server *s, const char *scope);

/* Unpublishes an export: new clients no longer see it, its connections are
 * closed (their in-flight requests finish first), then exp->ops->close
 * runs, which wipes its key.  Blocks until all of that is done.
 * SD_E_NOT_FOUND: no such export. */
SD_MUST_USE sd_code nbds_export_remove(nbds_server *s, const char *name, sd_err *err);

/* Serves one already-connected stream socket as a client connection, on its
 * own threads; the server takes fd (closed by the server, also on
 * failure).  tcp says whether the peer counts as remote (then TLS is
 * mandatory); an AF_INET or AF_INET6 peer also counts against its
 * address's share of the negotiating pool, and may push the oldest
 * negotiating connection out (see nbds_opts).  Used for tests, fuzzing and
 * socket activation.  SD_E_CONFLICT: the server is stopping. */
SD_MUST_USE sd_code nbds_serve_fd(nbds_server *s, int fd, bool tcp, sd_err *err);
/* As nbds_serve_fd, with the connection in the named scope from the start
 * (a TCP peer's PSK identity may still move it). */
SD_MUST_USE sd_code nbds_serve_fd_scoped(nbds_server *s, int fd, bool tcp, const char *scope,
                                         sd_err *err);

/* Stops accepting, closes every connection, closes every export, frees.
 * Accepts NULL. */
void nbds_stop(nbds_server *s);

#endif
