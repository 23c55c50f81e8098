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
 * and HostId and a 4xx/5xx status (never an empty body). */
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "api/api_int.h"
#include "crypto/crypto.h"

struct api_server {
    api_server_opts opts;
    struct MHD_Daemon *mhd;
    uint16_t port;
    char host_id[64];
    sd_rng rng;
};

typedef struct api_call {
    api_server *srv;
    char *uri;
    sd_buf body;
    bool too_large;
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

/* Writes the error body for err into out; returns the status. */
static int error_body(api_server *srv, api_product product, const char *request_id,
                      const sd_err *err, sd_buf *out)
{
    api_json j;
    int status = 500;
    const char *code = "InternalError";

    api__error_map(product, err, &status, &code);
    sd_buf_reset(out);
    api_json_init(&j, out, NULL);
    api_json_obj_begin(&j, NULL);
    api_json_str(&j, "RequestId", request_id);
    api_json_str(&j, "HostId", srv->host_id);
    api_json_str(&j, "Code", code);
    api_json_str(&j, "Message", err->msg[0] != '\0' ? err->msg : code);
    api_json_str(&j, "Recommend", "");
    api_json_int(&j, "HttpStatus", status);
    api_json_obj_end(&j);
    if (api_json_finish(&j) != SD_OK) {
        static const char fallback[] =
            "{\"Code\":\"InternalError\",\"Message\":\"response too large\"}";
        sd_buf_reset(out);
        sd_ignore(sd_buf_append(out, fallback, sizeof fallback - 1, NULL)); /* fits any max */
        status = 500;
    }
    return status;
}

/* The request pipeline: parse, authenticate, dispatch.  Returns the HTTP
 * status and fills out with the JSON body. */
static int process(api_server *srv, api_call *call, struct MHD_Connection *conn, sd_buf *out)
{
    sd_err err = SD_ERR_INIT;
    api_product product = API_ECS;

    (void)conn;
    if (call->too_large) {
        sd_ignore(sd_err_setc(&err, SD_E_INVALID, "InvalidParameter", SD_HERE,
                              "the request body exceeds %zu bytes", srv->opts.max_body));
        return error_body(srv, product, call->request_id, &err, out);
    }
    sd_ignore(sd_err_setc(&err, SD_E_NOT_FOUND, "InvalidAction.NotFound", SD_HERE,
                          "Specified api is not found, please check your url and method."));
    return error_body(srv, product, call->request_id, &err, out);
}

static enum MHD_Result respond(struct MHD_Connection *conn, int status, const sd_buf *body)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    r = MHD_create_response_from_buffer(body->len, body->data, MHD_RESPMEM_MUST_COPY);
    if (r == NULL) {
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
    sd_buf out = SD_BUF_INIT((size_t)16 << 20);
    enum MHD_Result ret;
    int status;

    (void)url;
    (void)method;
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
    status = process(srv, call, conn, &out);
    ret = respond(conn, status, &out);
    sd_buf_free(&out);
    return ret;
}

sd_code api_server_start(const api_server_opts *opts, api_server **out, sd_err *err)
{
    sd_code rc = SD_OK;
    api_server *s = NULL;
    struct sockaddr_in addr;
    const union MHD_DaemonInfo *info;

    *out = NULL;
    s = calloc(1, sizeof *s);
    SD_ENSURE(s != NULL, err, SD_E_NOMEM, "out of memory");
    s->opts = *opts;
    if (s->opts.threads == 0) {
        s->opts.threads = 2;
    }
    s->rng = crypto_rng_system();
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(opts->port);
    SD_ENSURE(inet_pton(AF_INET, opts->bind_addr, &addr.sin_addr) == 1, err, SD_E_INVALID,
              "cannot listen on '%s': not an IPv4 address", opts->bind_addr);
    /* The logger must be the first option, or MHD logs to stderr meanwhile. */
    s->mhd = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, s,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->opts.threads, MHD_OPTION_URI_LOG_CALLBACK,
        uri_log, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)60, MHD_OPTION_END);
    SD_ENSURE(s->mhd != NULL, err, SD_E_IO, "cannot listen on %s:%u (address in use?)",
              opts->bind_addr, (unsigned)opts->port);
    info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info != NULL ? info->port : opts->port;
    SD_ENSURE(snprintf(s->host_id, sizeof s->host_id, "%s:%u", opts->bind_addr, (unsigned)s->port) <
                  (int)sizeof s->host_id,
              err, SD_E_INVALID, "bind address too long");
    sd_log(SD_LOG_INFO, "api", "listening addr=%s port=%u threads=%u", opts->bind_addr,
           (unsigned)s->port, s->opts.threads);
    *out = s;
    s = NULL;
out:
    api_server_stop(s);
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
    if (s->mhd != NULL) {
        MHD_stop_daemon(s->mhd);
    }
    free(s);
}
