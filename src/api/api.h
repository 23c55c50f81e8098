/* api: the HTTP server that speaks the Alibaba Cloud OpenAPI (RPC style)
 * protocol: KMS (2016-01-20) and ECS (2014-05-26) actions, signed as the
 * official SDKs sign (alibaba-api.md).
 *
 * HTTP/1.1 with keep-alive and chunked request bodies comes from
 * libmicrohttpd; this module reads each request whole (bounded), answers
 * JSON, and maps every failure to a status and Code through one table.
 *
 * HTTPS (TLS 1.2 and 1.3) when a certificate is given; plain HTTP only on
 * a loopback address unless insecure_http says otherwise.  Whether a
 * request came over TLS reaches its handler (api_req.secure_transport: the
 * acs:SecureTransport condition key of RAM policies).
 *
 * Thread model: api_server_start spawns libmicrohttpd's worker threads;
 * handlers run concurrently on them.  api_server_stop joins them;
 * api_server_reload is called from one thread (the one that started). */
#ifndef SD_API_H
#define SD_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api_audit.h"
#include "common/common.h"

typedef struct api_server api_server;

typedef struct api_server_opts {
    const char *bind_addr;      /* IPv4 address to listen on */
    uint16_t port;              /* 0: any free port (see api_server_port) */
    unsigned threads;           /* worker threads; 0: 2 */
    size_t max_body;            /* largest request body accepted, bytes */
    const char *region;         /* region of requests that name none */
    const char *const *regions; /* every region served, region among them (NULL: region only) */
    size_t nregions;
    api_audit *audit;     /* borrowed; every KMS call is recorded here */
    struct kms *kms;      /* borrowed: serves the KMS actions */
    struct iam *iam;      /* borrowed: authenticates every request */
    struct ecs *ecs;      /* borrowed: serves the ECS actions (NULL: they fail) */
    sd_clock clock;       /* time of audit records */
    const char *tls_cert; /* PEM certificate chain: HTTPS (NULL: plain HTTP) */
    const char *tls_key;  /* its private key (PEM) */
    bool insecure_http;   /* allow plain HTTP on an address outside 127.0.0.0/8 */
    bool use_listen_fd;   /* listen_fd is a socket from api_bind (bind_addr and port then
                             only name it); api_server_start owns it from then on */
    int listen_fd;
} api_server_opts;

/* The longest request-target (path and query) accepted: longer is 414
 * RequestURITooLong.  All headers together (names, values, ": " and CRLF)
 * beyond API_MAX_HEADER_BYTES, or more than 64 of them, is 431
 * RequestHeaderFieldsTooLarge. */
#define API_MAX_URI          ((size_t)32 << 10)
#define API_MAX_HEADER_BYTES ((size_t)32 << 10)

/* Designated, so a new field can never be left out by accident. */
#define API_SERVER_OPTS_INIT                                                 \
    {                                                                        \
        .bind_addr = "127.0.0.1", .port = 8080, .max_body = (size_t)1 << 20, \
        .region = "cn-hangzhou"                                              \
    }

/* Binds a TCP socket to addr:port (IPv4; port 0: any free one) without
 * listening yet, so a server can claim its address before it prepares
 * anything else, and answer connections only once api_server_start
 * listens; *fd is the caller's (close it, or hand it to
 * api_server_start).  SD_E_INVALID: addr is not an IPv4 address; SD_E_IO:
 * the bind failed, the message names the address and why. */
SD_MUST_USE sd_code api_bind(const char *addr, uint16_t port, int *fd, sd_err *err);

/* Whether the API may listen on addr (IPv4) with or without TLS: plain
 * HTTP only on 127.0.0.0/8 unless insecure_http.  api_server_start checks
 * it; a server calls it earlier too, before it writes anything.
 * SD_E_INVALID says why not. */
SD_MUST_USE sd_code api_transport_allowed(const char *addr, bool tls, bool insecure_http,
                                          sd_err *err);

/* Caller owns *out.  SD_E_IO: cannot listen (the message says why);
 * SD_E_INVALID: a bad address, plain HTTP on a non-loopback address
 * without insecure_http, or unreadable or mismatched TLS files.  Takes
 * opts->listen_fd when use_listen_fd, even on failure. */
SD_MUST_USE sd_code api_server_start(const api_server_opts *opts, api_server **out, sd_err *err);
/* Reads the certificate and key files again and serves new connections
 * with them, on the same socket (connections already open keep theirs).
 * SD_E_INVALID: plain HTTP, or bad files (the old ones stay in use). */
SD_MUST_USE sd_code api_server_reload(api_server *s, sd_err *err);
/* The TCP port the server listens on. */
uint16_t api_server_port(const api_server *s);
/* Stops accepting, finishes or aborts requests in flight, frees; accepts NULL. */
void api_server_stop(api_server *s);

#endif
