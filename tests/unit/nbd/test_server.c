/* test_server.c: the NBD server over socketpairs and memory exports,
 * driven byte by byte by a raw client: handshake and options, commands,
 * the spec's errors (each followed by proof the connection still works),
 * malformed input that must end only the offending connection, pipelining,
 * export removal, and the limits on clients that have not finished their
 * handshake (deadlines, the negotiating pool and its per-address share)
 * or that never send a WRITE's payload. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cmocka.h>

#include "nbd/nbds.h"
#include "nbds_mem.h"

#define SIZE      (4u << 20)
#define OPT_MAGIC UINT64_C(0x49484156454f5054)
#define REP_MAGIC UINT64_C(0x0003e889045565a9)

/* protocol values the raw client uses */
enum {
    OPT_EXPORT_NAME = 1,
    OPT_ABORT = 2,
    OPT_LIST = 3,
    OPT_STARTTLS = 5,
    OPT_INFO = 6,
    OPT_GO = 7,
    OPT_SR = 8,
    OPT_SET_META = 10,
    REP_ACK = 1,
    REP_SERVER = 2,
    REP_INFO = 3,
    REP_META = 4,
    CMD_READ = 0,
    CMD_WRITE = 1,
    CMD_DISC = 2,
    CMD_FLUSH = 3,
    CMD_TRIM = 4,
    CMD_WZ = 6,
    CMD_BS = 7,
};
#define REP_ERR_UNSUP    0x80000001u
#define REP_ERR_POLICY   0x80000002u
#define REP_ERR_INVALID  0x80000003u
#define REP_ERR_TLS_REQD 0x80000005u
#define REP_ERR_UNKNOWN  0x80000006u

typedef struct fixture {
    nbds_server *srv;
    crypto_tls_ctx *tls; /* for the TCP listener's tests */
    char psk[64];        /* its key file */
    mem_export *mem;
    mem_export *ro;
    int fd; /* the client's end */
    /* from the last GO */
    uint64_t size;
    uint16_t tflags;
    uint32_t min_block;
} fixture;

static fixture F;

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}
static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}
static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)get16(p) << 16) | get16(p + 2);
}
static uint64_t get64(const uint8_t *p)
{
    return ((uint64_t)get32(p) << 32) | get32(p + 4);
}

static void wr(const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = send(F.fd, b, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        b += w;
        n -= (size_t)w;
    }
}

/* false at end of stream */
static bool rd_ok(void *p, size_t n)
{
    uint8_t *b = p;
    while (n > 0) {
        ssize_t r = recv(F.fd, b, n, 0);
        if (r <= 0) {
            return false;
        }
        b += r;
        n -= (size_t)r;
    }
    return true;
}

static void rd(void *p, size_t n)
{
    assert_true(rd_ok(p, n));
}

static void assert_closed(void)
{
    uint8_t b;
    assert_false(rd_ok(&b, 1));
}

/* connect_scoped: as connect_client, on a unix socket of scope (an
 * instance's socket); connect_client: the unnamed scope. */
static void connect_scoped(const char *scope, bool tcp, uint32_t cflags)
{
    int sv[2];
    uint8_t g[18];
    uint8_t f[4];
    struct timeval tv = {10, 0};

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(nbds_serve_fd_scoped(F.srv, sv[0], tcp, scope, NULL), SD_OK);
    F.fd = sv[1];
    /* a test that hangs fails instead */
    assert_int_equal(setsockopt(F.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    rd(g, sizeof g);
    assert_true(get64(g) == UINT64_C(0x4e42444d41474943));
    assert_true(get64(g + 8) == OPT_MAGIC);
    assert_int_equal(get16(g + 16), 3); /* FIXED_NEWSTYLE | NO_ZEROES */
    put32(f, cflags);
    wr(f, 4);
}

static void connect_client(bool tcp, uint32_t cflags)
{
    connect_scoped("", tcp, cflags);
}

static void disconnect(void)
{
    if (F.fd >= 0) {
        close(F.fd);
        F.fd = -1;
    }
}

static void send_opt(uint32_t opt, const void *data, uint32_t len)
{
    uint8_t h[16];
    put64(h, OPT_MAGIC);
    put32(h + 8, opt);
    put32(h + 12, len);
    wr(h, sizeof h);
    if (len > 0) {
        wr(data, len);
    }
}

/* Reads one option reply for opt into buf (up to 4096 bytes); its type. */
static uint32_t recv_rep(uint32_t opt, uint8_t *buf, uint32_t *len)
{
    uint8_t h[20];
    rd(h, sizeof h);
    assert_true(get64(h) == REP_MAGIC);
    assert_int_equal(get32(h + 8), opt);
    *len = get32(h + 16);
    assert_true(*len <= 4096);
    rd(buf, *len);
    return get32(h + 12);
}

static uint32_t go_req(uint32_t opt, const char *name, bool blocksize)
{
    uint8_t d[512];
    uint8_t buf[4096];
    uint32_t n = (uint32_t)strlen(name);
    uint32_t len;
    uint32_t type;

    put32(d, n);
    memcpy(d + 4, name, n);
    put16(d + 4 + n, blocksize ? 1 : 0);
    put16(d + 6 + n, 3); /* NBD_INFO_BLOCK_SIZE */
    send_opt(opt, d, 6 + n + (blocksize ? 2 : 0));
    while ((type = recv_rep(opt, buf, &len)) == REP_INFO) {
        if (get16(buf) == 0) {
            assert_int_equal(len, 12);
            F.size = get64(buf + 2);
            F.tflags = get16(buf + 10);
        } else if (get16(buf) == 3) {
            assert_int_equal(len, 14);
            F.min_block = get32(buf + 2);
            assert_int_equal(get32(buf + 6), 4096);
            assert_int_equal(get32(buf + 10), 32u << 20);
        }
    }
    return type;
}

static void sr_and_meta(void)
{
    uint8_t buf[4096];
    uint8_t d[64];
    uint32_t len;
    const char *q = "base:allocation";

    send_opt(OPT_SR, NULL, 0);
    assert_int_equal(recv_rep(OPT_SR, buf, &len), REP_ACK);
    put32(d, 2);
    memcpy(d + 4, "d1", 2);
    put32(d + 6, 1);
    put32(d + 10, (uint32_t)strlen(q));
    memcpy(d + 14, q, strlen(q));
    send_opt(OPT_SET_META, d, 14 + (uint32_t)strlen(q));
    assert_int_equal(recv_rep(OPT_SET_META, buf, &len), REP_META);
    assert_int_equal(get32(buf), 1);
    assert_memory_equal(buf + 4, q, strlen(q));
    assert_int_equal(recv_rep(OPT_SET_META, buf, &len), REP_ACK);
}

/* Connects to d1 (or name) in transmission; sr: structured replies and
 * base:allocation first. */
static void open_export(const char *name, bool sr)
{
    connect_client(false, 3);
    if (sr) {
        sr_and_meta();
    }
    assert_int_equal(go_req(OPT_GO, name, true), REP_ACK);
}

static void send_req(uint16_t flags, uint16_t type, uint64_t cookie, uint64_t off, uint32_t len,
                     const void *payload)
{
    uint8_t h[28];
    put32(h, 0x25609513);
    put16(h + 4, flags);
    put16(h + 6, type);
    put64(h + 8, cookie);
    put64(h + 16, off);
    put32(h + 24, len);
    wr(h, sizeof h);
    if (payload != NULL) {
        wr(payload, len);
    }
}

/* A simple reply's error; data (if any) follows on the socket. */
static uint32_t recv_simple(uint64_t *cookie)
{
    uint8_t h[16];
    rd(h, sizeof h);
    assert_int_equal(get32(h), 0x67446698);
    *cookie = get64(h + 8);
    return get32(h + 4);
}

static uint32_t simple(uint16_t flags, uint16_t type, uint64_t off, uint32_t len,
                       const void *payload)
{
    uint64_t cookie = 0;
    uint32_t e;
    send_req(flags, type, 77, off, len, payload);
    e = recv_simple(&cookie);
    assert_true(cookie == 77);
    return e;
}

/* One structured chunk: its type, flags, and payload into buf. */
static uint16_t recv_chunk(uint64_t cookie, uint16_t *flags, uint8_t *buf, uint32_t *len,
                           size_t cap)
{
    uint8_t h[20];
    rd(h, sizeof h);
    assert_int_equal(get32(h), 0x668e33ef);
    assert_true(get64(h + 8) == cookie);
    *flags = get16(h + 4);
    *len = get32(h + 16);
    assert_true(*len <= cap);
    rd(buf, *len);
    return get16(h + 6);
}

static int setup_with(const nbds_opts *o)
{
    blk_export e;
    F.fd = -1;
    F.mem = mem_new(SIZE);
    F.ro = mem_new(SIZE);
    if (F.mem == NULL || F.ro == NULL || nbds_start(o, &F.srv, NULL) != SD_OK) {
        return -1;
    }
    e = mem_blk_export(F.mem, false);
    if (nbds_export_add(F.srv, "d1", &e, NULL) != SD_OK) {
        return -1;
    }
    e = mem_blk_export(F.ro, true);
    return nbds_export_add(F.srv, "ro", &e, NULL) == SD_OK ? 0 : -1;
}

static int setup(void **state)
{
    nbds_opts o = NBDS_OPTS_INIT;
    (void)state;
    return setup_with(&o);
}

/* Deadlines short enough to pass in a test, long enough for any handshake. */
static int setup_deadlines(void **state)
{
    nbds_opts o = NBDS_OPTS_INIT;
    (void)state;
    o.handshake_ms = 1000;
    o.payload_ms = 1000;
    return setup_with(&o);
}

static int setup_small_pool(void **state)
{
    nbds_opts o = NBDS_OPTS_INIT;
    (void)state;
    o.max_preauth = 2;
    return setup_with(&o);
}

static int setup_one_conn(void **state)
{
    nbds_opts o = NBDS_OPTS_INIT;
    (void)state;
    o.max_conns = 1;
    return setup_with(&o);
}

/* Two negotiating clients per share, unix sockets only. */
static int setup_small_share(void **state)
{
    nbds_opts o = NBDS_OPTS_INIT;
    (void)state;
    o.max_preauth_addr = 2;
    return setup_with(&o);
}

/* A TCP listener on 127.0.0.1 (which needs TLS credentials, though these
 * tests never start TLS), two negotiating clients per address. */
static int setup_tcp(void **state)
{
    nbds_opts o = NBDS_OPTS_INIT;
    int fd;
    (void)state;
    memcpy(F.psk, "/tmp/test_server_psk.XXXXXX", sizeof "/tmp/test_server_psk.XXXXXX");
    fd = mkstemp(F.psk);
    if (fd < 0 || write(fd, "alice:0123456789abcdef0123456789abcdef\n", 39) != 39 ||
        close(fd) != 0 || crypto_tls_ctx_psk(F.psk, &F.tls, NULL) != SD_OK) {
        return -1;
    }
    o.tcp_addr = "127.0.0.1";
    o.tls = F.tls;
    o.max_preauth_addr = 2;
    return setup_with(&o);
}

static int teardown(void **state)
{
    (void)state;
    disconnect();
    nbds_stop(F.srv);
    F.srv = NULL;
    crypto_tls_ctx_free(F.tls);
    F.tls = NULL;
    if (F.psk[0] != '\0') {
        unlink(F.psk);
        F.psk[0] = '\0';
    }
    assert_int_equal(F.mem->closes, 1); /* every export closed exactly once */
    mem_free(F.mem);
    mem_free(F.ro);
    return 0;
}

/* ---- handshake ---------------------------------------------------------- */

static void go_reports_size_flags_and_block_sizes(void **state)
{
    (void)state;
    connect_client(false, 3);
    assert_int_equal(go_req(OPT_INFO, "d1", false), REP_ACK);
    assert_int_equal(F.min_block, 512); /* did not ask: 512 */
    assert_true(F.size == SIZE);
    /* HAS_FLAGS FLUSH FUA TRIM WZ MULTI_CONN CACHE FAST_ZERO, no DF without SR */
    assert_int_equal(F.tflags, 0x0d6d);
    assert_int_equal(go_req(OPT_GO, "d1", true), REP_ACK);
    assert_int_equal(F.min_block, 4096); /* asked: the export's minimum */
    assert_int_equal(simple(0, CMD_FLUSH, 0, 0, NULL), 0);
}

static void readonly_export_says_so_and_refuses_writes_with_eperm(void **state)
{
    uint8_t buf[4096] = {1};
    (void)state;
    open_export("ro", false);
    assert_int_equal(F.tflags & 0x2, 0x2);   /* READ_ONLY */
    assert_int_equal(F.tflags & 0x860, 0x0); /* no TRIM, WRITE_ZEROES, FAST_ZERO */
    assert_int_equal(simple(0, CMD_WRITE, 0, 4096, buf), 1);
    assert_int_equal(simple(0, CMD_TRIM, 0, 4096, NULL), 1);
    assert_int_equal(simple(0, CMD_READ, 0, 4096, NULL), 0); /* payload was drained */
    rd(buf, sizeof buf);
}

static void unknown_option_is_refused_and_haggling_goes_on(void **state)
{
    uint8_t junk[300] = {0};
    uint8_t buf[4096];
    uint32_t len;
    (void)state;
    connect_client(false, 3);
    send_opt(42, junk, sizeof junk);
    assert_int_equal(recv_rep(42, buf, &len), REP_ERR_UNSUP);
    send_opt(OPT_LIST, NULL, 0);
    assert_int_equal(recv_rep(OPT_LIST, buf, &len), REP_SERVER);
    assert_int_equal(recv_rep(OPT_LIST, buf, &len), REP_SERVER);
    assert_int_equal(recv_rep(OPT_LIST, buf, &len), REP_ACK);
    send_opt(OPT_LIST, "x", 1);
    assert_int_equal(recv_rep(OPT_LIST, buf, &len), REP_ERR_INVALID);
    send_opt(OPT_ABORT, NULL, 0);
    assert_int_equal(recv_rep(OPT_ABORT, buf, &len), REP_ACK);
    assert_closed();
}

static void bad_go_requests_get_option_errors(void **state)
{
    uint8_t d[16] = {0};
    uint8_t buf[4096];
    uint32_t len;
    (void)state;
    connect_client(false, 3);
    assert_int_equal(go_req(OPT_GO, "nope", true), REP_ERR_UNKNOWN);
    put32(d, 100); /* name longer than the option */
    send_opt(OPT_GO, d, sizeof d);
    assert_int_equal(recv_rep(OPT_GO, buf, &len), REP_ERR_INVALID);
    send_opt(OPT_GO, d, 3); /* shorter than any GO */
    assert_int_equal(recv_rep(OPT_GO, buf, &len), REP_ERR_INVALID);
    send_opt(OPT_SET_META, d, 8); /* before structured replies */
    assert_int_equal(recv_rep(OPT_SET_META, buf, &len), REP_ERR_INVALID);
    send_opt(OPT_STARTTLS, NULL, 0); /* a unix socket: no TLS */
    assert_int_equal(recv_rep(OPT_STARTTLS, buf, &len), REP_ERR_POLICY);
    assert_int_equal(go_req(OPT_GO, "d1", true), REP_ACK);
}

static void tcp_clients_must_start_tls(void **state)
{
    uint8_t buf[4096];
    uint32_t len;
    (void)state;
    connect_client(true, 3);
    assert_int_equal(go_req(OPT_GO, "d1", true), REP_ERR_TLS_REQD);
    send_opt(OPT_LIST, NULL, 0);
    assert_int_equal(recv_rep(OPT_LIST, buf, &len), REP_ERR_TLS_REQD);
    send_opt(OPT_EXPORT_NAME, "d1", 2); /* cannot be refused politely */
    assert_closed();
}

static void unknown_client_flags_end_the_session(void **state)
{
    (void)state;
    connect_client(false, 0x80);
    assert_closed();
}

static void bad_option_magic_ends_the_session(void **state)
{
    uint8_t h[16] = {0};
    (void)state;
    connect_client(false, 3);
    wr(h, sizeof h);
    assert_closed();
}

static void export_name_enters_transmission(void **state)
{
    uint8_t r[10];
    (void)state;
    connect_client(false, 3); /* NO_ZEROES: no 124-byte padding */
    send_opt(OPT_EXPORT_NAME, "d1", 2);
    rd(r, sizeof r);
    assert_true(get64(r) == SIZE);
    assert_int_equal(simple(0, CMD_FLUSH, 0, 0, NULL), 0);
    /* 512-byte alignment: the client never agreed to more */
    assert_int_equal(simple(0, CMD_READ, 512, 512, NULL), 0);
    rd(r, 10);
}

/* ---- transmission ------------------------------------------------------- */

static void writes_read_back_with_simple_and_structured_replies(void **state)
{
    uint8_t w[8192];
    uint8_t r[8192 + 8];
    uint16_t flags;
    uint32_t len;
    (void)state;
    memset(w, 0xa5, sizeof w);
    open_export("d1", false);
    assert_int_equal(simple(1, CMD_WRITE, 65536, sizeof w, w), 0); /* FUA */
    assert_int_equal(simple(0, CMD_READ, 65536, sizeof w, NULL), 0);
    rd(r, sizeof w);
    assert_memory_equal(r, w, sizeof w);
    disconnect();

    open_export("d1", true);
    assert_int_equal(F.tflags & 0x80, 0x80); /* DF with structured replies */
    send_req(4, CMD_READ, 9, 65536, sizeof w, NULL);
    assert_int_equal(recv_chunk(9, &flags, r, &len, sizeof r), 1); /* OFFSET_DATA */
    assert_int_equal(flags, 1);                                    /* DONE */
    assert_true(get64(r) == 65536);
    assert_memory_equal(r + 8, w, sizeof w);
    send_req(0, CMD_READ, 10, 0, 0, NULL); /* zero length: NONE */
    assert_int_equal(recv_chunk(10, &flags, r, &len, sizeof r), 0);
    assert_int_equal(simple(0, CMD_WZ, 65536, 4096, NULL), 0);
}

static void errors_follow_the_spec_and_keep_the_connection(void **state)
{
    uint8_t buf[8192] = {0};
    uint16_t flags;
    uint32_t len;
    (void)state;
    open_export("d1", false);
    assert_int_equal(simple(0, CMD_READ, SIZE, 4096, NULL), 22);            /* EINVAL */
    assert_int_equal(simple(0, CMD_WRITE, SIZE - 4096, 8192, buf), 28);     /* ENOSPC */
    assert_int_equal(simple(0, CMD_WZ, UINT64_MAX - 4095, 4096, NULL), 28); /* overflow */
    assert_int_equal(simple(0, CMD_TRIM, SIZE, 4096, NULL), 22);
    assert_int_equal(simple(0, CMD_READ, 512, 4096, NULL), 22); /* misaligned */
    assert_int_equal(simple(0, CMD_WRITE, 0, 512, buf), 22);
    assert_int_equal(simple(0, 99, 0, 0, NULL), 22);             /* unknown command */
    assert_int_equal(simple(0x40, CMD_READ, 0, 4096, NULL), 22); /* unknown flag */
    assert_int_equal(simple(2, CMD_READ, 0, 4096, NULL), 22);    /* NO_HOLE on READ */
    assert_int_equal(simple(4, CMD_READ, 0, 4096, NULL), 22);    /* DF without SR */
    assert_int_equal(simple(0, CMD_FLUSH, 4096, 0, NULL), 22);
    assert_int_equal(simple(0, CMD_BS, 0, 4096, NULL), 22); /* no meta context */
    assert_int_equal(simple(0, CMD_READ, 0, (32u << 20) + 4096, NULL), 22);
    assert_int_equal(simple(1, CMD_READ, 0, 4096, NULL), 0); /* FUA on a read: fine */
    rd(buf, 4096);
    disconnect();

    open_export("d1", true);
    send_req(0, CMD_READ, 5, 0, (32u << 20) + 4096, NULL);
    assert_int_equal(recv_chunk(5, &flags, buf, &len, sizeof buf), 0x8001); /* ERROR */
    assert_int_equal(get32(buf), 75);                                       /* EOVERFLOW */
    F.mem->fail_reads = true;
    send_req(0, CMD_READ, 6, 0, 4096, NULL);
    assert_int_equal(recv_chunk(6, &flags, buf, &len, sizeof buf), 0x8001);
    assert_int_equal(get32(buf), 5); /* EIO */
    F.mem->fail_reads = false;
    /* a full store is ENOSPC, not EIO; the connection goes on */
    F.mem->full = true;
    assert_int_equal(simple(0, CMD_WRITE, 0, 4096, buf), 28);
    F.mem->full = false;
    assert_int_equal(simple(0, CMD_WRITE, 0, 4096, buf), 0);
    F.mem->refuse_fast_zero = true;
    assert_int_equal(simple(0x10, CMD_WZ, 0, 4096, NULL), 95); /* ENOTSUP */
    F.mem->refuse_fast_zero = false;
    assert_int_equal(simple(0x10, CMD_WZ, 0, 4096, NULL), 0);
}

static void oversized_writes_are_drained_or_end_the_connection(void **state)
{
    size_t big = (32u << 20) + 4096;
    uint8_t *p = calloc(1, big);
    uint8_t r[4096];
    (void)state;
    assert_non_null(p);
    open_export("d1", false);
    assert_int_equal(simple(0, CMD_WRITE, 0, (uint32_t)big, p), 22);
    assert_int_equal(simple(0, CMD_READ, 0, 4096, NULL), 0);
    rd(r, sizeof r);
    send_req(0, CMD_WRITE, 1, 0, (64u << 20) + 4096, NULL); /* over the hard cap */
    assert_closed();
    free(p);
}

static void bad_request_magic_ends_only_that_connection(void **state)
{
    uint8_t h[28] = {0};
    int first;
    (void)state;
    open_export("d1", false);
    first = F.fd;
    F.fd = -1;
    open_export("d1", false);
    {
        int second = F.fd;
        F.fd = first;
        wr(h, sizeof h);
        assert_closed();
        close(first);
        F.fd = second;
    }
    assert_int_equal(simple(0, CMD_FLUSH, 0, 0, NULL), 0);
}

static void block_status_reports_holes_and_data(void **state)
{
    uint8_t w[4096];
    uint8_t buf[8192];
    uint16_t flags;
    uint32_t len;
    (void)state;
    memset(w, 1, sizeof w);
    open_export("d1", true);
    assert_int_equal(simple(0, CMD_TRIM, 0, SIZE, NULL), 0);
    assert_int_equal(simple(0, CMD_WRITE, 8192, 4096, w), 0);
    send_req(0, CMD_BS, 3, 0, 65536, NULL);
    assert_int_equal(recv_chunk(3, &flags, buf, &len, sizeof buf), 5);
    assert_int_equal(flags, 1);
    assert_int_equal(get32(buf), 1); /* the context id SET gave */
    assert_int_equal(len, 4 + 3 * 8);
    assert_int_equal(get32(buf + 4), 8192);
    assert_int_equal(get32(buf + 8), 3); /* HOLE | ZERO */
    assert_int_equal(get32(buf + 12), 4096);
    assert_int_equal(get32(buf + 16), 0);
    assert_int_equal(get32(buf + 20), 65536 - 12288);
    send_req(8, CMD_BS, 4, 0, 65536, NULL); /* REQ_ONE */
    assert_int_equal(recv_chunk(4, &flags, buf, &len, sizeof buf), 5);
    assert_int_equal(len, 4 + 8);
    assert_int_equal(get32(buf + 4), 8192);
    send_req(0, CMD_BS, 5, SIZE - 4096, 100, NULL); /* rounded up, clamped at the end */
    assert_int_equal(recv_chunk(5, &flags, buf, &len, sizeof buf), 5);
    assert_int_equal(get32(buf + 4), 4096);
}

static void pipelined_requests_are_all_answered(void **state)
{
    enum { N = 40 };
    uint8_t w[4096];
    bool seen[N] = {false};
    (void)state;
    open_export("d1", false);
    for (int i = 0; i < N; i++) {
        memset(w, i, sizeof w);
        send_req(0, CMD_WRITE, (uint64_t)i, (uint64_t)i * 4096, sizeof w, w);
    }
    for (int i = 0; i < N; i++) {
        uint64_t cookie = 0;
        assert_int_equal(recv_simple(&cookie), 0);
        assert_true(cookie < N && !seen[cookie]);
        seen[cookie] = true;
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(F.mem->data[i * 4096 + 7], i);
    }
    send_req(0, CMD_DISC, 0, 0, 0, NULL);
    assert_closed();
}

static void removing_an_export_closes_its_connections_and_it(void **state)
{
    mem_export *m = mem_new(1u << 20);
    blk_export e = mem_blk_export(m, false);
    uint8_t buf[4096];
    uint32_t len;
    (void)state;
    assert_int_equal(nbds_export_add(F.srv, "tmp", &e, NULL), SD_OK);
    assert_int_equal(nbds_export_add(F.srv, "tmp", &e, NULL), SD_E_CONFLICT);
    assert_int_equal(nbds_export_add(F.srv, "", &e, NULL), SD_E_INVALID);
    open_export("tmp", false);
    assert_int_equal(nbds_export_remove(F.srv, "tmp", NULL), SD_OK);
    assert_int_equal(m->closes, 1);
    assert_closed();
    disconnect();
    assert_int_equal(nbds_export_remove(F.srv, "tmp", NULL), SD_E_NOT_FOUND);
    connect_client(false, 3);
    assert_int_equal(go_req(OPT_GO, "tmp", true), REP_ERR_UNKNOWN);
    send_opt(OPT_ABORT, NULL, 0);
    assert_int_equal(recv_rep(OPT_ABORT, buf, &len), REP_ACK);
    mem_free(m);
}

/* ---- clients that do not finish ----------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* True if the server closes fd within ms (whatever it sends first is read
 * and dropped); false if it is still open then. */
static bool closed_within(int fd, long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    double until = now_s() + (double)ms / 1000;
    uint8_t buf[4096];

    assert_true(ms > 0); /* 0 would mean no timeout at all */
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    while (now_s() < until) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r == 0 || (r < 0 && errno == ECONNRESET)) {
            return true;
        }
        if (r < 0) {
            return false; /* timed out: still open */
        }
    }
    return false;
}

/* The connection on F.fd still answers options. */
static void assert_negotiating(void)
{
    uint8_t buf[4096];
    uint32_t len;
    uint32_t type;
    send_opt(OPT_LIST, NULL, 0);
    while ((type = recv_rep(OPT_LIST, buf, &len)) == REP_SERVER) {
    }
    assert_true(type == REP_ACK || type == REP_ERR_TLS_REQD);
}

static int take_fd(void)
{
    int fd = F.fd;
    F.fd = -1;
    return fd;
}

static void stalled_handshake_is_closed_after_the_deadline(void **state)
{
    double t0 = now_s();
    (void)state;
    connect_client(false, 3);
    /* The deadline is 1 s; anything under 8 s is the deadline at work. */
    assert_true(closed_within(F.fd, 8000));
    assert_true(now_s() - t0 < 8);
}

static void trickled_handshake_is_closed_too(void **state)
{
    uint8_t h[16];
    bool closed = false;
    (void)state;
    connect_client(false, 3);
    put64(h, OPT_MAGIC);
    put32(h + 8, OPT_LIST);
    put32(h + 12, 1u << 20);
    /* A byte every 100 ms: never idle, but never done; the 1 s deadline
     * must still end it, well within 8 s. */
    for (int i = 0; i < 80 && !closed; i++) {
        closed = send(F.fd, h + (i % 16), 1, MSG_NOSIGNAL) != 1 || closed_within(F.fd, 100);
    }
    assert_true(closed);
}

static void finished_handshake_may_idle_past_the_deadline(void **state)
{
    uint8_t w[4096] = {7};
    (void)state;
    open_export("d1", false);
    sleep_ms(1500); /* past the 1 s handshake and payload deadlines */
    assert_int_equal(simple(0, CMD_FLUSH, 0, 0, NULL), 0);
    assert_int_equal(simple(0, CMD_WRITE, 0, sizeof w, w), 0);
}

static void missing_write_payload_closes_only_that_connection(void **state)
{
    uint8_t w[4096] = {9};
    uint8_t r[4096];
    int stalled;
    int drained;
    (void)state;
    open_export("d1", false);
    stalled = take_fd();
    open_export("d1", false);
    drained = take_fd();
    open_export("d1", false); /* the bystander stays on F.fd */
    {
        int bystander = take_fd();
        F.fd = stalled; /* 1 MiB announced, 4 KiB sent */
        send_req(0, CMD_WRITE, 1, 0, 1u << 20, NULL);
        wr(w, sizeof w);
        F.fd = drained; /* too big to run: drained, which must be timely too */
        send_req(0, CMD_WRITE, 2, 0, (32u << 20) + 4096, NULL);
        F.fd = bystander;
    }
    assert_true(closed_within(stalled, 8000));
    assert_true(closed_within(drained, 8000));
    close(stalled);
    close(drained);
    assert_int_equal(simple(0, CMD_WRITE, 8192, sizeof w, w), 0);
    assert_int_equal(simple(0, CMD_READ, 8192, sizeof r, NULL), 0);
    rd(r, sizeof r);
    assert_memory_equal(r, w, sizeof w);
}

static void full_negotiating_pool_closes_its_oldest(void **state)
{
    int est;
    int a;
    int b;
    (void)state;
    open_export("d1", false);
    est = take_fd();
    connect_client(false, 3);
    a = take_fd();
    connect_client(false, 3);
    b = take_fd();
    connect_client(false, 3); /* a third: the pool holds two */
    assert_true(closed_within(a, 8000));
    close(a);
    assert_negotiating();
    {
        int c = take_fd();
        F.fd = b;
        assert_negotiating();
        F.fd = c;
    }
    assert_int_equal(go_req(OPT_GO, "d1", true), REP_ACK); /* leaves the pool */
    assert_int_equal(simple(0, CMD_FLUSH, 0, 0, NULL), 0);
    close(b);
    disconnect();
    F.fd = est; /* established before any of it, and untouched */
    assert_int_equal(simple(0, CMD_FLUSH, 0, 0, NULL), 0);
}

static void established_connections_are_not_in_the_negotiating_pool(void **state)
{
    int fds[4];
    (void)state;
    for (int i = 0; i < 4; i++) {
        open_export("d1", false);
        fds[i] = take_fd();
    }
    connect_client(false, 3);
    connect_client(false, 3); /* two negotiating beside four established */
    assert_negotiating();
    disconnect();
    for (int i = 0; i < 4; i++) {
        F.fd = fds[i];
        assert_int_equal(simple(0, CMD_FLUSH, 0, 0, NULL), 0);
        disconnect();
    }
}

static int tcp_client(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(nbds_tcp_port(F.srv))};
    struct timeval tv = {10, 0};
    uint8_t g[18];
    uint8_t f[4];
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    F.fd = fd;
    rd(g, sizeof g); /* greeted: accepted and counted */
    put32(f, 3);
    wr(f, 4);
    return take_fd();
}

static void one_tcp_address_holds_only_its_share_of_the_pool(void **state)
{
    int first = tcp_client();
    int second = tcp_client();
    int third = tcp_client(); /* the address's share is two */
    (void)state;
    assert_true(closed_within(first, 8000));
    close(first);
    F.fd = second;
    assert_negotiating(); /* ERR_TLS_REQD: an answer, so still open */
    disconnect();
    F.fd = third;
    assert_negotiating();
}

static void unix_clients_have_no_address_share(void **state)
{
    int fds[3];
    (void)state;
    for (int i = 0; i < 3; i++) {
        connect_client(false, 3);
        fds[i] = take_fd();
    }
    for (int i = 0; i < 3; i++) {
        F.fd = fds[i];
        assert_negotiating();
        disconnect();
    }
}

/* An instance's unix socket is one share: a third negotiating client on
 * it closes its oldest, and another instance's clients are untouched. */
static void one_instance_socket_holds_only_its_share_of_the_pool(void **state)
{
    int a[3];
    int b[2];
    (void)state;
    for (int i = 0; i < 2; i++) {
        connect_scoped("i-b", false, 3);
        b[i] = take_fd();
    }
    for (int i = 0; i < 3; i++) {
        connect_scoped("i-a", false, 3);
        a[i] = take_fd();
    }
    assert_true(closed_within(a[0], 8000));
    close(a[0]);
    for (int i = 1; i < 3; i++) {
        F.fd = a[i];
        assert_negotiating();
        disconnect();
    }
    for (int i = 0; i < 2; i++) { /* twin: i-b's two are within its share */
        F.fd = b[i];
        assert_negotiating();
        disconnect();
    }
}

static void go_beyond_max_conns_is_refused_and_may_be_retried(void **state)
{
    uint32_t type = 0;
    int first;
    (void)state;
    open_export("d1", false);
    first = take_fd();
    connect_client(false, 3);
    assert_int_equal(go_req(OPT_GO, "d1", true), REP_ERR_POLICY);
    assert_negotiating(); /* still haggling */
    close(first);
    /* The first connection's end is asynchronous: retry, as a client would. */
    for (int i = 0; i < 100 && (type = go_req(OPT_GO, "nope", true)) == REP_ERR_POLICY; i++) {
        sleep_ms(50);
    }
    assert_int_equal(type, REP_ERR_UNKNOWN); /* a failed GO gives the place back */
    assert_int_equal(go_req(OPT_GO, "d1", true), REP_ACK);
    assert_int_equal(simple(0, CMD_FLUSH, 0, 0, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(go_reports_size_flags_and_block_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(readonly_export_says_so_and_refuses_writes_with_eperm,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_option_is_refused_and_haggling_goes_on, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bad_go_requests_get_option_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(tcp_clients_must_start_tls, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_client_flags_end_the_session, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_option_magic_ends_the_session, setup, teardown),
        cmocka_unit_test_setup_teardown(export_name_enters_transmission, setup, teardown),
        cmocka_unit_test_setup_teardown(writes_read_back_with_simple_and_structured_replies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(errors_follow_the_spec_and_keep_the_connection, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(oversized_writes_are_drained_or_end_the_connection, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(bad_request_magic_ends_only_that_connection, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(block_status_reports_holes_and_data, setup, teardown),
        cmocka_unit_test_setup_teardown(pipelined_requests_are_all_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(removing_an_export_closes_its_connections_and_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(stalled_handshake_is_closed_after_the_deadline,
                                        setup_deadlines, teardown),
        cmocka_unit_test_setup_teardown(trickled_handshake_is_closed_too, setup_deadlines,
                                        teardown),
        cmocka_unit_test_setup_teardown(finished_handshake_may_idle_past_the_deadline,
                                        setup_deadlines, teardown),
        cmocka_unit_test_setup_teardown(missing_write_payload_closes_only_that_connection,
                                        setup_deadlines, teardown),
        cmocka_unit_test_setup_teardown(full_negotiating_pool_closes_its_oldest, setup_small_pool,
                                        teardown),
        cmocka_unit_test_setup_teardown(established_connections_are_not_in_the_negotiating_pool,
                                        setup_small_pool, teardown),
        cmocka_unit_test_setup_teardown(one_tcp_address_holds_only_its_share_of_the_pool, setup_tcp,
                                        teardown),
        cmocka_unit_test_setup_teardown(unix_clients_have_no_address_share, setup_tcp, teardown),
        cmocka_unit_test_setup_teardown(one_instance_socket_holds_only_its_share_of_the_pool,
                                        setup_small_share, teardown),
        cmocka_unit_test_setup_teardown(go_beyond_max_conns_is_refused_and_may_be_retried,
                                        setup_one_conn, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
