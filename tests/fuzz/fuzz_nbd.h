/* fuzz_nbd.h: the harness both NBD fuzz targets share.  One server (no
 * listeners) with a 1 MiB memory export lives for the whole process; each
 * input is one client connection on a socketpair: a thread writes prefix
 * then the input and half-closes, while the caller reads every reply until
 * the server hangs up.  The server must neither crash nor hang. */
#ifndef SD_FUZZ_NBD_H
#define SD_FUZZ_NBD_H

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>

#include "../unit/nbd/nbds_mem.h"
#include "fuzz.h"
#include "nbd/nbds.h"

typedef struct fuzz_feed {
    int fd;
    const uint8_t *p;
    size_t n;
} fuzz_feed;

static void *fuzz_nbd_writer(void *arg)
{
    fuzz_feed *f = arg;
    while (f->n > 0) {
        ssize_t w = send(f->fd, f->p, f->n, MSG_NOSIGNAL);
        if (w <= 0) {
            break; /* the server hung up: fine */
        }
        f->p += w;
        f->n -= (size_t)w;
    }
    (void)shutdown(f->fd, SHUT_WR);
    return NULL;
}

static nbds_server *fuzz_nbd_server(void)
{
    static nbds_server *srv;
    nbds_opts o = NBDS_OPTS_INIT;
    blk_export e;
    mem_export *m;

    if (srv == NULL) {
        sd_log_set_level(SD_LOG_ERROR);
        m = mem_new(1u << 20);
        e = mem_blk_export(m, false);
        if (m == NULL || nbds_start(&o, &srv, NULL) != SD_OK ||
            nbds_export_add(srv, "d1", &e, NULL) != SD_OK) {
            abort();
        }
    }
    return srv;
}

static void fuzz_nbd_run(const uint8_t *prefix, size_t plen, const uint8_t *data, size_t n)
{
    int sv[2];
    uint8_t *all = malloc(plen + n + 1);
    uint8_t sink[65536];
    fuzz_feed f;
    pthread_t t;

    if (all == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        abort();
    }
    if (plen > 0) {
        memcpy(all, prefix, plen);
    }
    if (n > 0) {
        memcpy(all + plen, data, n);
    }
    f = (fuzz_feed){sv[1], all, plen + n};
    if (nbds_serve_fd(fuzz_nbd_server(), sv[0], false, NULL) != SD_OK ||
        pthread_create(&t, NULL, fuzz_nbd_writer, &f) != 0) {
        abort();
    }
    while (recv(sv[1], sink, sizeof sink, 0) > 0) {
    }
    (void)pthread_join(t, NULL);
    (void)close(sv[1]);
    free(all);
}

#endif
