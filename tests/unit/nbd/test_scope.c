/* test_scope.c: scopes over memory exports.  A connection sees, lists and
 * opens only its scope's exports; every other name answers exactly as a
 * missing one; a scope's own unix socket has the mode asked for, puts its
 * clients in the scope, and is gone (with its connections) once the scope
 * is removed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <cmocka.h>

#include "nbd/nbds.h"
#include "nbds_mem.h"

#define SIZE      (1u << 20)
#define OPT_MAGIC UINT64_C(0x49484156454f5054)

enum { OPT_EXPORT_NAME = 1, OPT_ABORT = 2, OPT_LIST = 3, OPT_INFO = 6, OPT_GO = 7 };
enum { REP_ACK = 1, REP_SERVER = 2, REP_INFO = 3 };
#define REP_ERR_UNKNOWN 0x80000006u

typedef struct fixture {
    nbds_server *srv;
    mem_export *m[3]; /* "plain" (unnamed scope), "a1" (scope A), "b1" (scope B) */
    char dir[64];
    char path[128];
} fixture;

static fixture F;

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool rd_ok(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    while (n > 0) {
        ssize_t r = recv(fd, b, n, 0);
        if (r <= 0) {
            return false;
        }
        b += r;
        n -= (size_t)r;
    }
    return true;
}

static void wr(int fd, const void *p, size_t n)
{
    assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Past the greeting, ready for options. */
static int greeted(int fd)
{
    uint8_t g[18];
    uint8_t f[4];
    struct timeval tv = {10, 0};

    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
    assert_true(rd_ok(fd, g, sizeof g));
    put32(f, 3);
    wr(fd, f, 4);
    return fd;
}

static int client_in(const char *scope)
{
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(nbds_serve_fd_scoped(F.srv, sv[0], false, scope, NULL), SD_OK);
    return greeted(sv[1]);
}

/* -1 with errno when the socket cannot be reached. */
static int client_at(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memcpy(a.sun_path, path, strlen(path) + 1);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return greeted(fd);
}

static void send_opt(int fd, uint32_t opt, const void *data, uint32_t len)
{
    uint8_t h[16];
    put32(h, (uint32_t)(OPT_MAGIC >> 32));
    put32(h + 4, (uint32_t)OPT_MAGIC);
    put32(h + 8, opt);
    put32(h + 12, len);
    wr(fd, h, sizeof h);
    if (len > 0) {
        wr(fd, data, len);
    }
}

/* One reply's type; its data into buf (NUL-terminated, <= 1023 bytes). */
static uint32_t recv_rep(int fd, char *buf)
{
    uint8_t h[20];
    uint32_t len;
    assert_true(rd_ok(fd, h, sizeof h));
    len = get32(h + 16);
    assert_true(len < 1024);
    assert_true(rd_ok(fd, buf, len));
    buf[len] = '\0';
    return get32(h + 12);
}

/* OPT_LIST: the names, space-separated, in out. */
static void list(int fd, char *out, size_t cap)
{
    char buf[1024];
    uint32_t t;

    out[0] = '\0';
    send_opt(fd, OPT_LIST, NULL, 0);
    while ((t = recv_rep(fd, buf)) == REP_SERVER) {
        (void)snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? " " : "", buf + 4);
    }
    assert_int_equal(t, REP_ACK);
}

/* INFO or GO for name: the final reply's type. */
static uint32_t info_go(int fd, uint32_t opt, const char *name, char *msg)
{
    uint8_t d[128];
    uint32_t n = (uint32_t)strlen(name);
    uint32_t t;

    put32(d, n);
    memcpy(d + 4, name, n);
    d[4 + n] = d[5 + n] = 0;
    send_opt(fd, opt, d, 6 + n);
    while ((t = recv_rep(fd, msg)) == REP_INFO) {
    }
    return t;
}

static void assert_closed(int fd)
{
    uint8_t b;
    assert_false(rd_ok(fd, &b, 1));
}

static int setup(void **state)
{
    nbds_opts o = NBDS_OPTS_INIT;
    blk_export e;
    const char *names[] = {"plain", "a1", "b1"};
    const char *scopes[] = {"", "i-a", "i-b"};
    (void)state;
    memset(&F, 0, sizeof F);
    (void)snprintf(F.dir, sizeof F.dir, "/tmp/nbdscope.XXXXXX");
    if (mkdtemp(F.dir) == NULL || nbds_start(&o, &F.srv, NULL) != SD_OK) {
        return -1;
    }
    (void)snprintf(F.path, sizeof F.path, "%s/i-a.sock", F.dir);
    for (int i = 0; i < 3; i++) {
        F.m[i] = mem_new(SIZE);
        e = mem_blk_export(F.m[i], false);
        if (F.m[i] == NULL ||
            nbds_export_add_scoped(F.srv, scopes[i], names[i], &e, NULL) != SD_OK) {
            return -1;
        }
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nbds_stop(F.srv);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(F.m[i]->closes, 1);
        mem_free(F.m[i]);
    }
    (void)unlink(F.path);
    (void)rmdir(F.dir);
    return 0;
}

static void a_scope_lists_and_opens_only_its_exports(void **state)
{
    char names[256];
    char msg[1024];
    int fd = client_in("i-a");
    (void)state;
    list(fd, names, sizeof names);
    assert_string_equal(names, "a1");
    assert_int_equal(info_go(fd, OPT_INFO, "a1", msg), REP_ACK);
    assert_int_equal(info_go(fd, OPT_GO, "", msg), REP_ACK); /* the scope's only export */
    close(fd);
}

static void other_scopes_exports_answer_as_missing_ones(void **state)
{
    char missing[1024];
    char msg[1024];
    int fd = client_in("i-a");
    (void)state;
    assert_int_equal(info_go(fd, OPT_INFO, "nope", missing), REP_ERR_UNKNOWN);
    assert_int_equal(info_go(fd, OPT_INFO, "b1", msg), REP_ERR_UNKNOWN);
    assert_string_equal(msg, missing);
    assert_int_equal(info_go(fd, OPT_GO, "plain", msg), REP_ERR_UNKNOWN);
    assert_string_equal(msg, missing);
    send_opt(fd, OPT_EXPORT_NAME, "b1", 2); /* no polite refusal: hung up on */
    assert_closed(fd);
    close(fd);
}

static void the_unnamed_scope_sees_none_of_the_named_ones(void **state)
{
    char names[256];
    char msg[1024];
    int fd = client_in("");
    (void)state;
    list(fd, names, sizeof names);
    assert_string_equal(names, "plain");
    assert_int_equal(info_go(fd, OPT_GO, "a1", msg), REP_ERR_UNKNOWN);
    assert_int_equal(info_go(fd, OPT_GO, "plain", msg), REP_ACK);
    close(fd);
}

static void a_scope_without_exports_lists_nothing(void **state)
{
    char names[256];
    char msg[1024];
    int fd = client_in("i-c");
    (void)state;
    list(fd, names, sizeof names);
    assert_string_equal(names, "");
    assert_int_equal(info_go(fd, OPT_GO, "", msg), REP_ERR_UNKNOWN);
    close(fd);
}

static void export_names_are_unique_across_scopes(void **state)
{
    mem_export *m = mem_new(SIZE);
    blk_export e = mem_blk_export(m, false);
    (void)state;
    assert_int_equal(nbds_export_add_scoped(F.srv, "i-b", "a1", &e, NULL), SD_E_CONFLICT);
    mem_free(m);
}

static void a_scope_socket_has_its_mode_and_puts_clients_in_the_scope(void **state)
{
    nbds_scope_opts so = NBDS_SCOPE_OPTS_INIT;
    struct stat st;
    char names[256];
    int fd;
    (void)state;
    so.unix_path = F.path;
    so.mode = 0660;
    assert_int_equal(nbds_scope_add(F.srv, "i-a", &so, NULL), SD_OK);
    assert_int_equal(stat(F.path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0660);
    fd = client_at(F.path);
    assert_true(fd >= 0);
    list(fd, names, sizeof names);
    assert_string_equal(names, "a1");
    close(fd);
}

static void removing_a_scope_unlinks_its_socket_and_closes_its_clients(void **state)
{
    nbds_scope_opts so = NBDS_SCOPE_OPTS_INIT;
    struct stat st;
    char msg[1024];
    int fd;
    int other = client_in("i-b");
    (void)state;
    so.unix_path = F.path;
    assert_int_equal(nbds_scope_add(F.srv, "i-a", &so, NULL), SD_OK);
    assert_int_equal(stat(F.path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    fd = client_at(F.path);
    assert_true(fd >= 0);
    assert_int_equal(info_go(fd, OPT_GO, "a1", msg), REP_ACK);
    nbds_scope_remove(F.srv, "i-a");
    assert_closed(fd);
    close(fd);
    assert_int_equal(client_at(F.path), -1);
    assert_int_equal(errno, ENOENT);
    /* another scope's client is untouched */
    assert_int_equal(info_go(other, OPT_INFO, "b1", msg), REP_ACK);
    close(other);
    nbds_scope_remove(F.srv, "i-a"); /* unknown now: ignored */
}

static void bad_scopes_are_refused(void **state)
{
    nbds_scope_opts so = NBDS_SCOPE_OPTS_INIT;
    nbds_scope_opts dup = NBDS_SCOPE_OPTS_INIT;
    char longname[NBDS_SCOPE_MAX + 2];
    (void)state;
    so.unix_path = F.path;
    so.mode = 0666;
    assert_int_equal(nbds_scope_add(F.srv, "i-a", &so, NULL), SD_E_INVALID);
    assert_int_equal(nbds_scope_add(F.srv, "", &dup, NULL), SD_E_INVALID);
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(nbds_scope_add(F.srv, longname, &dup, NULL), SD_E_INVALID);
    dup.psk_id = "id-a";
    assert_int_equal(nbds_scope_add(F.srv, "i-a", &dup, NULL), SD_OK);
    assert_int_equal(nbds_scope_add(F.srv, "i-a", &dup, NULL), SD_E_CONFLICT);
    assert_int_equal(nbds_scope_add(F.srv, "i-b", &dup, NULL), SD_E_CONFLICT); /* its identity */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_scope_lists_and_opens_only_its_exports, setup, teardown),
        cmocka_unit_test_setup_teardown(other_scopes_exports_answer_as_missing_ones, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_unnamed_scope_sees_none_of_the_named_ones, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_scope_without_exports_lists_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(export_names_are_unique_across_scopes, setup, teardown),
        cmocka_unit_test_setup_teardown(a_scope_socket_has_its_mode_and_puts_clients_in_the_scope,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(removing_a_scope_unlinks_its_socket_and_closes_its_clients,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(bad_scopes_are_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
