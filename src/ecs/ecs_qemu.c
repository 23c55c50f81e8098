/* ecs_qemu.c: runs qemu-img for ImportImage, outside the control plane's
 * own code paths.
 *
 * The program is started with posix_spawnp from an argv (never a shell),
 * its standard input reading /dev/null and its standard output and error
 * on two pipes.  One poll loop drains both: standard output into the
 * caller's bounded buffer, standard error down to its first line, which
 * names what went wrong ("Could not open ...: Image is not in qcow2
 * format").  A run that passes its deadline, or whose output overflows
 * the buffer, is killed with SIGKILL; the child is always reaped, so no
 * zombie outlives a call. */
#include "ecs/ecs_qemu.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/wait.h>

#define ARGS_MAX     32   /* more is a caller's bug */
#define ARGS_BYTES   8192 /* likewise: two paths and a few options */
#define ERR_LINE_MAX 256  /* what is kept of standard error */
#define NS_PER_MS    INT64_C(1000000)

extern char **environ;

/* One child and what it has said so far. */
typedef struct qrun {
    const ecs_qemu_opts *o;
    pid_t pid;
    int out_fd; /* -1 once at EOF */
    int err_fd; /* likewise */
    char line[ERR_LINE_MAX];
    size_t line_len;
    bool line_done; /* a newline was seen: the rest is drained, not kept */
    bool too_big;
    bool timed_out;
} qrun;

/* An argv and the bytes it points into (posix_spawn wants mutable
 * strings, so the caller's are copied). */
typedef struct qargv {
    char *v[ARGS_MAX + 1];
    size_t n;
    char bytes[ARGS_BYTES];
    size_t used;
} qargv;

/* Appends pre + s. */
static sd_code add_arg(qargv *a, const char *pre, const char *s, sd_err *err)
{
    size_t lp = strlen(pre);
    size_t ls = strlen(s);

    if (a->n == ARGS_MAX || ARGS_BYTES - a->used < lp + ls + 1) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "%s: more than %d arguments or %d bytes",
                          a->n > 0 ? a->v[0] : s, ARGS_MAX, ARGS_BYTES);
    }
    a->v[a->n++] = a->bytes + a->used;
    memcpy(a->bytes + a->used, pre, lp);
    memcpy(a->bytes + a->used + lp, s, ls + 1);
    a->used += lp + ls + 1;
    a->v[a->n] = NULL;
    return SD_OK;
}

/* The argv to run: prog, args, then each file as a path. */
static sd_code make_argv(const char *prog, const char *const *args, const char *const *files,
                         qargv *a, sd_err *err)
{
    sd_code rc = SD_OK;

    SD_TRY(add_arg(a, "", prog, err));
    for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
        SD_TRY(add_arg(a, "", args[i], err));
    }
    for (size_t i = 0; files != NULL && files[i] != NULL; i++) {
        SD_TRY(add_arg(a, files[i][0] == '/' ? "" : "./", files[i], err));
    }
out:
    return rc;
}

static sd_code spawn(qrun *r, char *const argv[], int out_w, int err_w, sd_err *err)
{
    sd_code rc = SD_OK;
    posix_spawn_file_actions_t fa;
    int e;

    SD_ENSURE(posix_spawn_file_actions_init(&fa) == 0, err, SD_E_NOMEM, "out of memory");
    (void)posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    if (out_w >= 0) {
        (void)posix_spawn_file_actions_adddup2(&fa, out_w, STDOUT_FILENO);
    } else {
        (void)posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    }
    (void)posix_spawn_file_actions_adddup2(&fa, err_w, STDERR_FILENO);
    e = posix_spawnp(&r->pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e != 0) {
        r->pid = -1;
    }
    SD_ENSURE(e != ENOENT, err, SD_E_NOT_FOUND,
              "%s is not installed: not found in PATH (Debian: apt-get install qemu-utils)",
              argv[0]);
    SD_ENSURE(e == 0, err, SD_E_INTERNAL, "cannot run %s: %s", argv[0], strerrordesc_np(e));
out:
    return rc;
}

/* Takes what one read gave from standard error: the first line is kept. */
static void keep_line(qrun *r, const char *buf, size_t n)
{
    for (size_t i = 0; i < n && !r->line_done; i++) {
        if (buf[i] == '\n') {
            r->line_done = true;
        } else if (r->line_len + 1 < sizeof r->line) {
            r->line[r->line_len++] = buf[i];
        }
    }
    r->line[r->line_len] = '\0';
}

/* Reads what fd has: false at EOF or on an error (the fd is done). */
static bool drain(qrun *r, int fd)
{
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);

    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return true;
    }
    if (n <= 0) {
        return false;
    }
    if (fd == r->err_fd) {
        keep_line(r, buf, (size_t)n);
    } else if (!r->too_big && sd_buf_append(r->o->out, buf, (size_t)n, NULL) != SD_OK) {
        r->too_big = true;
    }
    return true;
}

/* How long poll may wait before deadline (0: none) in *ms (-1: forever);
 * false once it has passed. */
static bool time_left(int64_t deadline, int *ms)
{
    int64_t left;

    *ms = -1;
    if (deadline == 0) {
        return true;
    }
    left = (deadline - sd_mono_ns(NULL) + NS_PER_MS - 1) / NS_PER_MS;
    if (left <= 0) {
        return false;
    }
    *ms = left > INT32_MAX ? INT32_MAX : (int)left;
    return true;
}

/* Polls both pipes until both end, the output overflows or the deadline
 * passes (the child is then killed). */
static void collect(qrun *r)
{
    int64_t deadline = r->o->timeout_ms > 0 ? sd_mono_ns(NULL) + r->o->timeout_ms * NS_PER_MS : 0;

    while ((r->out_fd >= 0 || r->err_fd >= 0) && !r->too_big) {
        struct pollfd p[2] = {{.fd = r->out_fd, .events = POLLIN},
                              {.fd = r->err_fd, .events = POLLIN}};
        int wait_ms;
        int n;

        if (!time_left(deadline, &wait_ms)) {
            r->timed_out = true;
            break;
        }
        n = poll(p, 2, wait_ms); /* an fd of -1 is skipped */
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            break; /* cannot watch it: it is killed below */
        }
        for (int i = 0; i < 2; i++) {
            int *fd = i == 0 ? &r->out_fd : &r->err_fd;
            if (p[i].revents != 0 && !drain(r, *fd)) {
                (void)close(*fd);
                *fd = -1;
            }
        }
    }
    if (r->out_fd >= 0 || r->err_fd >= 0) {
        (void)kill(r->pid, SIGKILL);
    }
}

/* Waits for the child; its wait status, or -1. */
static int reap(pid_t pid)
{
    int status = 0;

    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return status;
}

static sd_code verdict(const qrun *r, const char *prog, int status, sd_err *err)
{
    if (r->timed_out) {
        return sd_err_set(err, SD_E_IO, SD_HERE, "%s did not finish within %lld ms and was killed",
                          prog, (long long)r->o->timeout_ms);
    }
    if (r->too_big) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "%s wrote more than %zu bytes and was killed",
                          prog, r->o->out->max);
    }
    if (status == -1) {
        return sd_err_set(err, SD_E_IO, SD_HERE, "cannot learn how %s ended: %s", prog,
                          strerrordesc_np(errno));
    }
    if (WIFSIGNALED(status)) {
        return sd_err_set(err, SD_E_IO, SD_HERE, "%s was killed by signal %d", prog,
                          WTERMSIG(status));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "%s exited with status %d: %s", prog,
                          WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                          r->line_len > 0 ? r->line : "(nothing on standard error)");
    }
    return SD_OK;
}

sd_code ecs_qemu_run(const ecs_qemu_opts *o, const char *const *args, const char *const *files,
                     sd_err *err)
{
    sd_code rc = SD_OK;
    const char *prog = o->prog != NULL ? o->prog : "qemu-img";
    qargv *a = calloc(1, sizeof *a); /* too big for a thread's stack */
    int outp[2] = {-1, -1};
    int errp[2] = {-1, -1};
    qrun r = {.o = o, .pid = -1, .out_fd = -1, .err_fd = -1};

    SD_ENSURE(a != NULL, err, SD_E_NOMEM, "out of memory");
    SD_TRY(make_argv(prog, args, files, a, err));
    SD_ENSURE(pipe2(errp, O_CLOEXEC) == 0 && (o->out == NULL || pipe2(outp, O_CLOEXEC) == 0), err,
              SD_E_INTERNAL, "cannot run %s: %s", prog, strerrordesc_np(errno));
    SD_TRY(spawn(&r, a->v, outp[1], errp[1], err));
    /* the child has its copies: EOF comes when it exits */
    (void)close(errp[1]);
    errp[1] = -1;
    if (outp[1] >= 0) {
        (void)close(outp[1]);
        outp[1] = -1;
    }
    r.out_fd = outp[0];
    r.err_fd = errp[0];
    outp[0] = errp[0] = -1;
    collect(&r);
    rc = verdict(&r, prog, reap(r.pid), err);
    r.pid = -1;
out:
    for (int i = 0; i < 2; i++) {
        if (outp[i] >= 0) {
            (void)close(outp[i]);
        }
        if (errp[i] >= 0) {
            (void)close(errp[i]);
        }
    }
    if (r.out_fd >= 0) {
        (void)close(r.out_fd);
    }
    if (r.err_fd >= 0) {
        (void)close(r.err_fd);
    }
    free(a);
    return rc;
}
