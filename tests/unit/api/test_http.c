/* test_http.c: the HTTP transport over a real socket: JSON error shape,
 * bounded bodies, chunked uploads and keep-alive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api_fixture.h"

static fixture *fx;

static int setup(void **state)
{
    (void)state;
    fx = fx_open(256);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_close(fx);
    return 0;
}

static void http_answers_every_request_with_a_json_error_shape(void **state)
{
    char resp[4096];
    int fd = fx_connect(fx);

    (void)state;
    fx_roundtrip(fd, "POST /?Action=Nope HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", resp,
                 sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 400")); /* unsigned */
    assert_non_null(strcasestr(resp, "Content-Type: application/json;charset=utf-8"));
    assert_non_null(strstr(resp, "\"RequestId\":\""));
    assert_non_null(strstr(resp, "\"Code\":\"MissingParameter\""));
    assert_non_null(strstr(resp, "\"Message\":\""));
    close(fd);
}

static void http_refuses_a_body_over_the_limit(void **state)
{
    char req[1024], resp[4096], body[400];
    int fd = fx_connect(fx);

    (void)state;
    memset(body, 'a', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    snprintf(req, sizeof req,
             "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    fx_roundtrip(fd, req, resp, sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 400"));
    assert_non_null(strstr(resp, "\"Code\":\"InvalidParameter\""));
    assert_non_null(strstr(resp, "larger than the server accepts"));
    close(fd);
}

static void http_reads_chunked_bodies_and_keeps_the_connection(void **state)
{
    char resp[4096];
    int fd = fx_connect(fx);

    (void)state;
    fx_roundtrip(fd,
                 "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                 "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
                 "5\r\nA=b&c\r\n3\r\n=de\r\n0\r\n\r\n",
                 resp, sizeof resp);
    /* the chunked form body was read whole: its parameters were parsed
     * (a body split wrongly would not be valid form data) */
    assert_non_null(strstr(resp, "HTTP/1.1 400"));
    assert_non_null(strstr(resp, "\"Code\":\"MissingParameter\""));
    /* the same connection serves a second request */
    fx_roundtrip(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", resp, sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 400"));
    assert_non_null(strstr(resp, "\"RequestId\""));
    close(fd);
}

/* Header names are lower-cased into a fixed arena: more headers or longer
 * names than it holds are refused like an oversized body, and a request
 * just inside the limits is read normally. */
static void send_headers(int n, char *resp, size_t cap)
{
    static char req[16384];
    size_t off = 0;
    int fd = fx_connect(fx);

    off += (size_t)snprintf(req + off, sizeof req - off, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < n; i++) {
        off += (size_t)snprintf(req + off, sizeof req - off, "X-Extra-%d: v\r\n", i);
    }
    snprintf(req + off, sizeof req - off, "\r\n");
    fx_roundtrip(fd, req, resp, cap);
    close(fd);
}

static void http_refuses_more_headers_than_it_keeps(void **state)
{
    char resp[4096];

    (void)state;
    send_headers(70, resp, sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 431"));
    assert_non_null(strstr(resp, "\"Code\":\"RequestHeaderFieldsTooLarge\""));
    send_headers(60, resp, sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 400"));
    assert_non_null(strstr(resp, "\"Code\":\"MissingParameter\""));
}

/* A request with a target of uri_len bytes and one header of hdr_len. */
static void send_big(size_t uri_len, size_t hdr_len, char *resp, size_t cap)
{
    size_t reqcap = uri_len + hdr_len + 256;
    char *req = malloc(reqcap);
    size_t off = 0;
    int fd = fx_connect(fx);

    assert_non_null(req);
    off += (size_t)snprintf(req, reqcap, "GET /?a=");
    memset(req + off, 'a', uri_len - 4); /* the target is "/?a=" and these */
    off += uri_len - 4;
    off += (size_t)snprintf(req + off, reqcap - off, " HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(req + off, 'b', hdr_len);
    off += hdr_len;
    snprintf(req + off, reqcap - off, "\r\n\r\n");
    fx_roundtrip(fd, req, resp, cap);
    close(fd);
    free(req);
}

/* The error shape of the API, not libmicrohttpd's HTML page. */
static void assert_json_error(const char *resp, const char *status, const char *code)
{
    assert_non_null(strstr(resp, status));
    assert_non_null(strcasestr(resp, "Content-Type: application/json;charset=utf-8"));
    assert_non_null(strstr(resp, code));
    assert_non_null(strstr(resp, "\"RequestId\":\""));
    assert_non_null(strstr(resp, "\"Message\":\""));
    assert_null(strstr(resp, "<html>"));
}

static void http_answers_an_overlong_uri_with_a_json_414(void **state)
{
    char resp[4096];

    (void)state;
    send_big(API_MAX_URI + 1, 10, resp, sizeof resp);
    assert_json_error(resp, "HTTP/1.1 414", "\"Code\":\"RequestURITooLong\"");
    send_big((size_t)60 << 10, 10, resp, sizeof resp);
    assert_json_error(resp, "HTTP/1.1 414", "\"Code\":\"RequestURITooLong\"");
    /* negative twin: just inside the limit, the request is read */
    send_big(API_MAX_URI, 10, resp, sizeof resp);
    assert_json_error(resp, "HTTP/1.1 400", "\"Code\":\"MissingParameter\"");
}

static void http_answers_overlarge_headers_with_a_json_431(void **state)
{
    char resp[4096];

    (void)state;
    send_big(10, API_MAX_HEADER_BYTES, resp, sizeof resp);
    assert_json_error(resp, "HTTP/1.1 431", "\"Code\":\"RequestHeaderFieldsTooLarge\"");
    send_big(10, (size_t)60 << 10, resp, sizeof resp);
    assert_json_error(resp, "HTTP/1.1 431", "\"Code\":\"RequestHeaderFieldsTooLarge\"");
    /* negative twin: well inside the limit, the request is read */
    send_big(10, API_MAX_HEADER_BYTES - 64, resp, sizeof resp);
    assert_json_error(resp, "HTTP/1.1 400", "\"Code\":\"MissingParameter\"");
}

static void http_refuses_plain_http_off_loopback(void **state)
{
    api_server_opts o = API_SERVER_OPTS_INIT;
    api_server *s = NULL;
    sd_err err = SD_ERR_INIT;

    (void)state;
    o.port = 0;
    o.bind_addr = "0.0.0.0";
    assert_int_equal(api_server_start(&o, &s, &err), SD_E_INVALID);
    assert_null(s);
    assert_non_null(strstr(err.msg, "not a loopback address"));
    /* negative twins: told explicitly, or on any 127/8 address, it listens */
    o.insecure_http = true;
    assert_int_equal(api_server_start(&o, &s, NULL), SD_OK);
    api_server_stop(s);
    s = NULL;
    o.insecure_http = false;
    o.bind_addr = "127.0.0.2";
    assert_int_equal(api_server_start(&o, &s, NULL), SD_OK);
    api_server_stop(s);
}

static void http_refuses_other_methods(void **state)
{
    char resp[4096];
    int fd = fx_connect(fx);

    (void)state;
    fx_roundtrip(fd, "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", resp, sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 403"));
    assert_non_null(strstr(resp, "\"Code\":\"UnsupportedHTTPMethod\""));
    close(fd);
}

static void http_refuses_to_listen_on_a_bad_address(void **state)
{
    api_server_opts o = API_SERVER_OPTS_INIT;
    api_server *s = NULL;
    sd_err err = SD_ERR_INIT;

    (void)state;
    o.bind_addr = "not-an-address";
    assert_int_equal(api_server_start(&o, &s, &err), SD_E_INVALID);
    assert_null(s);
    o.bind_addr = "127.0.0.1";
    o.port = api_server_port(fx->srv); /* taken */
    assert_int_equal(api_server_start(&o, &s, &err), SD_E_IO);
    assert_null(s);
    assert_non_null(strstr(err.msg, "cannot listen"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(http_answers_every_request_with_a_json_error_shape),
        cmocka_unit_test(http_refuses_a_body_over_the_limit),
        cmocka_unit_test(http_reads_chunked_bodies_and_keeps_the_connection),
        cmocka_unit_test(http_refuses_more_headers_than_it_keeps),
        cmocka_unit_test(http_answers_an_overlong_uri_with_a_json_414),
        cmocka_unit_test(http_answers_overlarge_headers_with_a_json_431),
        cmocka_unit_test(http_refuses_plain_http_off_loopback),
        cmocka_unit_test(http_refuses_other_methods),
        cmocka_unit_test(http_refuses_to_listen_on_a_bad_address),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
