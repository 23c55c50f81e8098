/* nbds_wire.c: exact reads and writes on a connection's socket.
 *
 * Every byte the server exchanges goes through nbds__read / nbds__write, so
 * the handshake and transmission code never see whether the stream is plain
 * or TLS.  A read that hits end of stream is an SD_E_IO like any other
 * failure: the caller drops the connection either way. */
#include <errno.h>
#include <string.h>

#include <sys/socket.h>

#include "nbd/nbds_int.h"

static sd_code read_some(nbds_conn *c, void *buf, size_t n, size_t *got, sd_err *err)
{
    ssize_t r;

    if (c->tls != NULL) {
        return crypto_tls_read(c->tls, buf, n, got, err);
    }
    do {
        r = recv(c->fd, buf, n, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        return sd_err_set(err, SD_E_IO, SD_HERE, "recv: %s", strerrordesc_np(errno));
    }
    *got = (size_t)r;
    return SD_OK;
}

sd_code nbds__read(nbds_conn *c, void *buf, size_t n, sd_err *err)
{
    sd_code rc = SD_OK;
    uint8_t *p = buf;
    size_t got = 0;

    while (n > 0) {
        SD_TRY(read_some(c, p, n, &got, err));
        SD_ENSURE(got > 0, err, SD_E_IO, "client closed the connection");
        p += got;
        n -= got;
    }
out:
    return rc;
}

sd_code nbds__write(nbds_conn *c, const void *buf, size_t n, bool more, sd_err *err)
{
    sd_code rc = SD_OK;
    const uint8_t *p = buf;
    ssize_t w;

    if (c->tls != NULL) {
        return crypto_tls_write(c->tls, buf, n, err);
    }
    while (n > 0) {
        w = send(c->fd, p, n, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
        if (w < 0 && errno == EINTR) {
            continue;
        }
        SD_ENSURE(w > 0, err, SD_E_IO, "send: %s", strerrordesc_np(errno));
        p += w;
        n -= (size_t)w;
    }
out:
    return rc;
}

sd_code nbds__discard(nbds_conn *c, uint64_t n, sd_err *err)
{
    sd_code rc = SD_OK;
    uint8_t sink[16384];

    while (n > 0) {
        size_t k = n < sizeof sink ? (size_t)n : sizeof sink;
        SD_TRY(nbds__read(c, sink, k, err));
        n -= k;
    }
out:
    return rc;
}

void nbds__conn_shutdown(nbds_conn *c)
{
    /* Wakes a reader blocked in recv and fails later sends; the fd itself
     * stays valid until the connection's own thread closes it. */
    (void)shutdown(c->fd, SHUT_RDWR);
}
