/* api_http.c: the libmicrohttpd glue: one api_call per HTTP request.
 *
 * Lifecycle of a request (MHD calls these in order):
 *   1. uri_log:        the raw request-target arrives; an api_call is made
 *                      and holds a copy (signatures are computed over our own
 *                      decoding of it, never over libmicrohttpd's);
 *   2. on_request (first call):   nothing to read yet;
 *   3. on_request (upload calls): body bytes appended, bounded by max_body
 *                      (beyond it the rest is consumed and dropped);
 *   4. on_request (final call):   api__process builds the response;
 *   5. on_completed:   the api_call is freed.
 * Every response is JSON with a RequestId; errors also carry Code, Message
 * and HostId and a 4xx/5xx status (never an empty body).
 *
 * Sizes: libmicrohttpd answers a request line or header block that does
 * not fit a connection's memory pool with an HTML page of its own, which
 * cannot be changed.  So the pool (MEMORY_LIMIT) is made far larger than
 * what we accept (MAX_URI, MAX_HEADER_BYTES), and a request between the
 * two gets our JSON 414 or 431; only a request beyond the pool (64 KiB of
 * request line and headers) still meets libmicrohttpd's page.  Not more:
 * libmicrohttpd zeroes the whole pool between the requests of a
 * connection, so its size is paid on every request.
 *
 * HTTPS: libmicrohttpd's GnuTLS with the certificate and key held in
 * memory (sd_secrets), TLS 1.2 and 1.3 only.  A reload (SIGHUP) reads the
 * files again and starts a second daemon on the same listening socket
 * (MHD_quiesce_daemon hands it over, so no connection is refused); the
 * quiesced daemon finishes its connections until the next reload or the
 * stop.  Plain HTTP is refused on an address outside 127.0.0.0/8 unless
 * insecure_http says otherwise. */
#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "api/api_int.h"
#include "crypto/crypto.h"

/* One daemon and the credentials it was started with. */
typedef struct api_daemon {
    struct MHD_Daemon *mhd;
    sd_secret *cert; /* PEM, NUL-terminated (NULL: plain HTTP) */
    sd_secret *key;
} api_daemon;

struct api_server {
    api_server_opts opts;
    api_daemon cur;
    api_daemon old; /* quiesced by the last reload: finishing its connections */
    uint16_t port;
    char host_id[64];
    sd_rng rng;
};

typedef struct api_call {
    api_server *srv;
    char *uri;
    sd_buf body;
    bool too_large;
    bool uri_too_long;
    bool started;
    char request_id[37];
} api_call;

/* libmicrohttpd's own messages go through our log. */
static void mhd_log(void *cls, const char *fmt, va_list ap) SD_PRINTF(2, 0);
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];

    (void)cls;
    if (vsnprintf(line, sizeof line, fmt, ap) < 0) {
        return;
    }
    line[strcspn(line, "\n")] = '\0';
    sd_log(SD_LOG_WARN, "api", "http: %s", line);
}

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
    api_server *srv = cls;
    api_call *call = calloc(1, sizeof *call);

    (void)conn;
    if (call == NULL) {
        return NULL;
    }
    call->srv = srv;
    call->uri = strdup(uri != NULL ? uri : "/");
    call->uri_too_long = call->uri != NULL && strlen(call->uri) > API_MAX_URI;
    call->body = (sd_buf)SD_BUF_INIT(srv->opts.max_body);
    return call;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    api_call *call = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (call != NULL) {
        if (call->body.data != NULL) {
            sd_wipe(call->body.data, call->body.cap); /* Plaintext of Encrypt, secrets */
        }
        sd_buf_free(&call->body);
        free(call->uri);
        free(call);
        *con_cls = NULL;
    }
}

/* Upper-case RequestId in the manner of Alibaba's ECS gateway. */
static void make_request_id(api_server *srv, char out[37])
{
    if (sd_id_uuid(&srv->rng, out, NULL) != SD_OK) {
        memcpy(out, "00000000-0000-4000-8000-000000000000", 37);
    }
    for (char *p = out; *p != '\0'; p++) {
        if (*p >= 'a' && *p <= 'f') {
            *p = (char)(*p - 'a' + 'A');
        }
    }
}

#define MAX_HEADERS     64
#define HEADER_NAME_CAP 4096
/* libmicrohttpd's per-connection pool: twice the limits (API_MAX_*). */
#define MEMORY_LIMIT ((size_t)64 << 10)

/* The request's headers with lower-cased names, as iam expects them.  The
 * names are copied into one arena on the stack: a request allocates
 * nothing for its headers.  Too many or too long names is overflow (the
 * request is refused as too large). */
typedef struct header_set {
    iam_pair v[MAX_HEADERS];
    char names[HEADER_NAME_CAP];
    size_t used;
    size_t n;
    size_t bytes; /* names and values as sent, with ": " and CRLF */
    bool overflow;
} header_set;

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    header_set *h = cls;
    size_t len = strlen(key);
    char *name = h->names + h->used;

    (void)kind;
    h->bytes += len + (value != NULL ? strlen(value) : 0) + 4;
    if (h->n == MAX_HEADERS || len >= sizeof h->names - h->used ||
        h->bytes > API_MAX_HEADER_BYTES) {
        h->overflow = true;
        return MHD_NO;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = key[i];
        if (ch >= 'A' && ch <= 'Z') {
            ch = (char)(ch - 'A' + 'a');
        }
        name[i] = ch;
    }
    name[len] = '\0';
    h->used += len + 1;
    h->v[h->n] = (iam_pair){name, value != NULL ? value : ""};
    h->n++;
    return MHD_YES;
}

/* Runs the pipeline over the collected request; returns the status. */
static int process(api_server *srv, api_call *call, struct MHD_Connection *conn, const char *method,
                   sd_buf *out)
{
    header_set h;
    api_http_req hr;
    int status;

    h.used = 0;
    h.n = 0;
    h.bytes = 0;
    h.overflow = false;
    sd_ignore((sd_code)MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &h));
    hr = (api_http_req){
        .method = method,
        .target = call->uri,
        .headers = h.v,
        .n_headers = h.n,
        .body = call->body.data,
        .body_len = call->body.len,
        .too_large = call->too_large,
        .uri_too_long = call->uri_too_long,
        .headers_too_large = h.overflow,
        .secure = srv->opts.tls_cert != NULL,
        .request_id = call->request_id,
        .host_id = srv->host_id,
    };
    status = api__process(&srv->opts, &hr, out);
    return status;
}

/* Responses may carry a data key in plaintext (GenerateDataKey, Decrypt):
 * the buffer is handed to libmicrohttpd without a copy and wiped when it
 * has been sent. */
static void wipe_body(void *cls)
{
    sd_buf *b = cls;

    if (b->data != NULL) {
        sd_wipe(b->data, b->cap);
    }
    sd_buf_free(b);
    free(b);
}

/* Takes body (heap) in all cases. */
static enum MHD_Result respond(struct MHD_Connection *conn, int status, sd_buf *body)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    r = MHD_create_response_from_buffer_with_free_callback_cls(body->len, body->data, wipe_body,
                                                               body);
    if (r == NULL) {
        wipe_body(body);
        return MHD_NO;
    }
    if (MHD_add_response_header(r, "Content-Type", "application/json;charset=utf-8") != MHD_YES) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    api_server *srv = cls;
    api_call *call = *con_cls;
    sd_buf *out;
    int status;

    (void)url;
    (void)version;
    if (call == NULL) {
        return MHD_NO; /* out of memory in uri_log: drop the connection */
    }
    if (!call->started) {
        call->started = true;
        make_request_id(srv, call->request_id);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!call->too_large &&
            sd_buf_append(&call->body, upload_data, *upload_data_size, NULL) != SD_OK) {
            call->too_large = true;
            sd_buf_free(&call->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    out = malloc(sizeof *out);
    if (out == NULL) {
        return MHD_NO;
    }
    *out = (sd_buf)SD_BUF_INIT((size_t)16 << 20);
    status = process(srv, call, conn, method, out);
    return respond(conn, status, out);
}

/* 127.0.0.0/8: traffic that never leaves the host. */
static bool is_loopback(const struct in_addr *a)
{
    return (ntohl(a->s_addr) >> 24) == 127;
}

sd_code api_transport_allowed(const char *addr, bool tls, bool insecure_http, sd_err *err)
{
    sd_code rc = SD_OK;
    struct in_addr a;

    SD_ENSURE(inet_pton(AF_INET, addr, &a) == 1, err, SD_E_INVALID,
              "cannot listen on '%s': not an IPv4 address", addr);
    SD_ENSURE(tls || insecure_http || is_loopback(&a), err, SD_E_INVALID,
              "refusing plain HTTP on %s, which is not a loopback address: request signatures "
              "and data keys would cross the network in clear; turn TLS on (api_tls), or set "
              "api_insecure_http = true if something else encrypts the traffic",
              addr);
out:
    return rc;
}

#define PEM_MAX ((size_t)64 << 10)

/* The whole of a PEM file, NUL-terminated, into locked memory. */
static sd_code read_pem(const char *path, sd_secret **out, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_secret *s = NULL;
    FILE *f = NULL;
    size_t n = 0;

    *out = NULL;
    SD_TRY(sd_secret_new(PEM_MAX + 1, &s, err));
    f = fopen(path, "rbe");
    SD_ENSURE(f != NULL, err, SD_E_INVALID, "cannot read %s", path);
    n = fread(sd_secret_data(s), 1, PEM_MAX + 1, f);
    SD_ENSURE(!ferror(f), err, SD_E_INVALID, "cannot read %s", path);
    SD_ENSURE(n > 0 && n <= PEM_MAX, err, SD_E_INVALID, "%s is empty or too large", path);
    sd_secret_data(s)[n] = '\0';
    sd_secret_truncate(s, n + 1);
    *out = sd_secret_take(&s);
out:
    if (f != NULL) {
        (void)fclose(f); /* read only */
    }
    sd_secret_free(s);
    return rc;
}

/* Reads and checks the certificate chain and key the options name: a
 * mismatch is found here, with a clear message, not in GnuTLS. */
static sd_code load_credentials(const api_server_opts *o, api_daemon *d, sd_err *err)
{
    sd_code rc = SD_OK;
    crypto_tls_ctx *check = NULL;

    SD_ENSURE(o->tls_key != NULL, err, SD_E_INVALID, "a TLS certificate needs its key");
    SD_TRY(crypto_tls_ctx_x509(o->tls_cert, o->tls_key, &check, err));
    SD_TRY(read_pem(o->tls_cert, &d->cert, err));
    SD_TRY(read_pem(o->tls_key, &d->key, err));
out:
    crypto_tls_ctx_free(check);
    return rc;
}

static void daemon_stop(api_daemon *d)
{
    if (d->mhd != NULL) {
        MHD_stop_daemon(d->mhd);
    }
    sd_secret_free(d->cert);
    sd_secret_free(d->key);
    *d = (api_daemon){0};
}

/* GnuTLS priorities: its defaults without SSL 3.0, TLS 1.0 and 1.1. */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* Starts d's daemon on addr, or on the listening socket fd when fd >= 0. */
static sd_code daemon_start(api_server *s, api_daemon *d, struct sockaddr_in *addr, int fd,
                            sd_err *err)
{
    static char priorities[] = TLS_PRIORITIES; /* MHD_OptionItem holds a void * */
    sd_code rc = SD_OK;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    struct MHD_OptionItem tls[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, NULL},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, NULL},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, priorities},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_OptionItem where[] = {
        {fd >= 0 ? MHD_OPTION_LISTEN_SOCKET : MHD_OPTION_SOCK_ADDR, fd, fd >= 0 ? NULL : addr},
        {MHD_OPTION_END, 0, NULL},
    };

    if (d->cert != NULL) {
        flags |= MHD_USE_TLS;
        tls[0].ptr_value = sd_secret_data(d->cert);
        tls[1].ptr_value = sd_secret_data(d->key);
    } else {
        tls[0] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    }
    /* The logger must be the first option, or MHD logs to stderr meanwhile. */
    d->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
                              mhd_log, s, MHD_OPTION_ARRAY, where, MHD_OPTION_ARRAY, tls,
                              MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->opts.threads,
                              MHD_OPTION_URI_LOG_CALLBACK, uri_log, s, MHD_OPTION_NOTIFY_COMPLETED,
                              on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                              MHD_OPTION_CONNECTION_MEMORY_LIMIT, MEMORY_LIMIT, MHD_OPTION_END);
    SD_ENSURE(d->mhd != NULL, err, SD_E_IO, "cannot listen on %s:%u (address in use?)",
              s->opts.bind_addr, (unsigned)s->opts.port);
out:
    return rc;
}

/* Why a bind failed, in words (strerror is not thread-safe). */
static const char *bind_reason(int e)
{
    switch (e) {
    case EADDRINUSE:
        return "the address is in use";
    case EADDRNOTAVAIL:
        return "no interface of this host has that address";
    case EACCES:
        return "permission denied (ports below 1024 need privileges)";
    default:
        return "bind failed";
    }
}

sd_code api_bind(const char *addr, uint16_t port, int *fd, sd_err *err)
{
    sd_code rc = SD_OK;
    struct sockaddr_in sa;
    int one = 1;
    int e;

    *fd = -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    SD_ENSURE(inet_pton(AF_INET, addr, &sa.sin_addr) == 1, err, SD_E_INVALID,
              "cannot listen on '%s': not an IPv4 address", addr);
    *fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    SD_ENSURE(*fd >= 0, err, SD_E_IO, "cannot listen on %s:%u: no socket (errno %d)", addr,
              (unsigned)port, errno);
    /* a restarted server must not wait out TIME_WAIT connections */
    SD_ENSURE(setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0, err, SD_E_IO,
              "cannot listen on %s:%u: setsockopt failed (errno %d)", addr, (unsigned)port, errno);
    if (bind(*fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        e = errno;
        SD_FAIL(err, SD_E_IO, "cannot listen on %s:%u: %s (errno %d)", addr, (unsigned)port,
                bind_reason(e), e);
    }
out:
    if (rc != SD_OK && *fd >= 0) {
        close(*fd);
        *fd = -1;
    }
    return rc;
}

sd_code api_server_start(const api_server_opts *opts, api_server **out, sd_err *err)
{
    sd_code rc = SD_OK;
    api_server *s = NULL;
    const union MHD_DaemonInfo *info;
    int fd = opts->use_listen_fd ? opts->listen_fd : -1;

    *out = NULL;
    s = calloc(1, sizeof *s);
    SD_ENSURE(s != NULL, err, SD_E_NOMEM, "out of memory");
    s->opts = *opts;
    if (s->opts.threads == 0) {
        s->opts.threads = 2;
    }
    s->rng = crypto_rng_system();
    if (s->opts.clock.now == NULL) {
        s->opts.clock = sd_clock_system();
    }
    SD_TRY(
        api_transport_allowed(opts->bind_addr, opts->tls_cert != NULL, opts->insecure_http, err));
    if (opts->tls_cert != NULL) {
        SD_TRY(load_credentials(opts, &s->cur, err));
    }
    if (!opts->use_listen_fd) {
        SD_TRY(api_bind(opts->bind_addr, opts->port, &fd, err));
    }
    SD_ENSURE(listen(fd, 128) == 0, err, SD_E_IO, "cannot listen on %s:%u (errno %d)",
              opts->bind_addr, (unsigned)opts->port, errno);
    /* MHD gets a socket we bound, so a bind failure is ours to explain (it
     * would say "Failed to bind to port 0" for any address). */
    SD_TRY(daemon_start(s, &s->cur, NULL, fd, err));
    fd = -1; /* MHD closes it when stopped */
    info = MHD_get_daemon_info(s->cur.mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info != NULL ? info->port : opts->port;
    SD_ENSURE(snprintf(s->host_id, sizeof s->host_id, "%s:%u", opts->bind_addr, (unsigned)s->port) <
                  (int)sizeof s->host_id,
              err, SD_E_INVALID, "bind address too long");
    sd_log(SD_LOG_INFO, "api", "listening addr=%s port=%u threads=%u transport=%s", opts->bind_addr,
           (unsigned)s->port, s->opts.threads, opts->tls_cert != NULL ? "https" : "http");
    *out = s;
    s = NULL;
out:
    if (fd >= 0) {
        close(fd);
    }
    api_server_stop(s);
    return rc;
}

sd_code api_server_reload(api_server *s, sd_err *err)
{
    sd_code rc = SD_OK;
    api_daemon next = {0};
    MHD_socket fd;

    SD_ENSURE(s->opts.tls_cert != NULL, err, SD_E_INVALID, "the API serves plain HTTP");
    SD_ENSURE(s->cur.mhd != NULL, err, SD_E_INTERNAL, "the API lost its socket in a reload");
    SD_TRY(load_credentials(&s->opts, &next, err));
    fd = MHD_quiesce_daemon(s->cur.mhd);
    SD_ENSURE(fd != MHD_INVALID_SOCKET, err, SD_E_INTERNAL, "cannot hand over the API socket");
    rc = daemon_start(s, &next, NULL, fd, err);
    if (rc != SD_OK) {
        /* the quiesced daemon no longer accepts: serve the socket with the
         * credentials that worked before rather than not at all */
        api_daemon again = {.cert = sd_secret_take(&s->cur.cert),
                            .key = sd_secret_take(&s->cur.key)};
        daemon_stop(&s->old);
        s->old = s->cur;
        s->cur = again;
        if (daemon_start(s, &s->cur, NULL, fd, NULL) != SD_OK) {
            sd_log(SD_LOG_ERROR, "api", "the API no longer accepts connections");
        }
        goto out;
    }
    daemon_stop(&s->old);
    s->old = s->cur;
    s->cur = next;
    next = (api_daemon){0};
    sd_log(SD_LOG_INFO, "api", "reloaded cert=%s", s->opts.tls_cert);
out:
    daemon_stop(&next);
    return rc;
}

uint16_t api_server_port(const api_server *s)
{
    return s->port;
}

void api_server_stop(api_server *s)
{
    if (s == NULL) {
        return;
    }
    daemon_stop(&s->cur);
    daemon_stop(&s->old);
    free(s);
}
