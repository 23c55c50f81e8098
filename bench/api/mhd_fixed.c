/* mhd_fixed.c: the peer of the API benchmark: a minimal server on the same
 * HTTP library and threading (libmicrohttpd, epoll thread pool) that answers
 * every request with a fixed JSON body of a GenerateDataKey's size.  What
 * sealdisk serves beyond this rate is the cost of parsing, signatures, the
 * KMS and JSON.
 *
 * usage: mhd_fixed PORT THREADS   (stops on SIGTERM/SIGINT) */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

static char body[] = /* not const: MHD takes void * (never written) */
    "{\"RequestId\":\"9A0F0E8C-3D1A-4C52-9B7E-0D1C2B3A4F56\",\"KeyId\":\"key-"
    "0123456789abcdefghij\","
    "\"KeyVersionId\":\"6e5b2f0a-1c3d-4e5f-8a9b-0c1d2e3f4a5b\",\"CiphertextBlob\":"
    "\"AQEYa2V5LTZ5Y3dkdXN3OG1rOWE2bnM4eWd6JDA5MjkwODkyLTlkMGYtNDk2YS04N2JkLTAzYTgwZTIwOTQ3ZPgis"
    "xNCbBQergPQLg3g8MO6hVBmf484F4RMJWGy6lQIAPmGieseHNoq+j5CisMFUGVwayM53b4LxZYkRg==\","
    "\"Plaintext\":\"s+P8K5TBVctirR5PoowSSB7S9oh4jOfP34NYaAY3jqs=\"}";

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload;
    if (*con_cls == NULL) {
        *con_cls = conn; /* first call: headers only */
        return MHD_YES;
    }
    *upload_size = 0;
    r = MHD_create_response_from_buffer(sizeof body - 1, body, MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        return MHD_NO;
    }
    if (MHD_add_response_header(r, "Content-Type", "application/json;charset=utf-8") != MHD_YES) {
        MHD_destroy_response(r);
        return MHD_NO;
    }
    ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

int main(int argc, char **argv)
{
    struct sockaddr_in addr = {0};
    struct MHD_Daemon *d;
    sigset_t set;
    int sig = 0;

    if (argc != 3) {
        (void)fprintf(stderr, "usage: mhd_fixed PORT THREADS\n");
        return 2;
    }
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)strtoul(argv[1], NULL, 10));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD, 0, NULL, NULL, on_request, NULL,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                         MHD_OPTION_THREAD_POOL_SIZE, (unsigned)strtoul(argv[2], NULL, 10),
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
    if (d == NULL) {
        (void)fprintf(stderr, "mhd_fixed: cannot listen on port %s\n", argv[1]);
        return 1;
    }
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    return 0;
}
