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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "api/api.h"

static api_server *srv;

static int setup(void **state)
{
    api_server_opts o = API_SERVER_OPTS_INIT;
    (void)state;
    o.port = 0;
    o.max_body = 256;
    return api_server_start(&o, &srv, NULL) == SD_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    api_server_stop(srv);
    return 0;
}

static int connect_srv(void)
{
    struct sockaddr_in a = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    a.sin_family = AF_INET;
    a.sin_port = htons(api_server_port(srv));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Sends req and reads one response (headers + Content-Length body). */
static void roundtrip(int fd, const char *req, char *resp, size_t cap)
{
    size_t n = 0;
    const char *hdr_end = NULL;

    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    for (;;) {
        ssize_t r = read(fd, resp + n, cap - 1 - n);
        assert_true(r > 0);
        n += (size_t)r;
        resp[n] = '\0';
        hdr_end = strstr(resp, "\r\n\r\n");
        if (hdr_end != NULL) {
            const char *cl = strcasestr(resp, "Content-Length:");
            assert_non_null(cl);
            if (n >= (size_t)(hdr_end + 4 - resp) + strtoul(cl + 15, NULL, 10)) {
                return;
            }
        }
    }
}

static void http_answers_every_request_with_a_json_error_shape(void **state)
{
    char resp[4096];
    int fd = connect_srv();

    (void)state;
    roundtrip(fd, "POST /?Action=Nope HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", resp,
              sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 404"));
    assert_non_null(strcasestr(resp, "Content-Type: application/json;charset=utf-8"));
    assert_non_null(strstr(resp, "\"RequestId\":\""));
    assert_non_null(strstr(resp, "\"Code\":\"InvalidAction.NotFound\""));
    assert_non_null(strstr(resp, "\"Message\":\""));
    close(fd);
}

static void http_refuses_a_body_over_the_limit(void **state)
{
    char req[1024], resp[4096], body[400];
    int fd = connect_srv();

    (void)state;
    memset(body, 'a', sizeof body - 1);
    body[sizeof body - 1] = '\0';
    snprintf(req, sizeof req,
             "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    roundtrip(fd, req, resp, sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 400"));
    assert_non_null(strstr(resp, "\"Code\":\"InvalidParameter\""));
    assert_non_null(strstr(resp, "exceeds 256 bytes"));
    close(fd);
}

static void http_reads_chunked_bodies_and_keeps_the_connection(void **state)
{
    char resp[4096];
    int fd = connect_srv();

    (void)state;
    roundtrip(fd,
              "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
              "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
              "5\r\nA=b&c\r\n3\r\n=de\r\n0\r\n\r\n",
              resp, sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 404"));
    /* the same connection serves a second request */
    roundtrip(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", resp, sizeof resp);
    assert_non_null(strstr(resp, "HTTP/1.1 404"));
    assert_non_null(strstr(resp, "\"RequestId\""));
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
    o.port = api_server_port(srv); /* taken */
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
        cmocka_unit_test(http_refuses_to_listen_on_a_bad_address),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
