/* sd_log.c: formatting and writing log lines.
 *
 * A line is "<iso time> <level> <module>: <message>\n", built in a stack
 * buffer and written with a single write(2) so lines from concurrent threads
 * never interleave.  Over-long lines are truncated, never split. */
#include "common/sd_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX  2048
#define LOG_DEBUG_MAX 256

static _Atomic int log_level = SD_LOG_INFO;
static _Atomic int log_fd = -1;
static char log_debug[LOG_DEBUG_MAX]; /* set at start-up, before threads */

void sd_log_set_level(sd_log_level level)
{
    atomic_store(&log_level, (int)level);
}

void sd_log_set_fd(int fd)
{
    atomic_store(&log_fd, fd);
}

void sd_log_set_debug(const char *modules)
{
    size_t n = modules != NULL ? strnlen(modules, sizeof log_debug - 1) : 0;

    if (n > 0) {
        memcpy(log_debug, modules, n);
    }
    log_debug[n] = '\0';
    if (n > 0) {
        atomic_store(&log_level, SD_LOG_DEBUG);
    }
}

static int debug_enabled(const char *module)
{
    size_t mlen = strlen(module);
    const char *p = log_debug;

    if (strcmp(log_debug, "all") == 0) {
        return 1;
    }
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (len == mlen && strncmp(p, module, len) == 0) {
            return 1;
        }
        if (comma == NULL) {
            break;
        }
        p = comma + 1;
    }
    return 0;
}

void sd_log(sd_log_level level, const char *module, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    char line[LOG_LINE_MAX];
    struct timespec ts;
    struct tm tm;
    size_t off;
    int n;
    va_list ap;
    int fd;

    if ((int)level > atomic_load(&log_level)) {
        return;
    }
    if (level == SD_LOG_DEBUG && !debug_enabled(module)) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    off = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(line + off, sizeof line - off, ".%03ldZ %s %s: ", ts.tv_nsec / 1000000L,
                 names[level], module);
    if (n < 0) {
        return;
    }
    off += (size_t)n < sizeof line - off ? (size_t)n : sizeof line - off - 1;
    va_start(ap, fmt);
    n = vsnprintf(line + off, sizeof line - off, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    off += (size_t)n < sizeof line - off ? (size_t)n : sizeof line - off - 1;
    if (off >= sizeof line - 1) {
        off = sizeof line - 2;
    }
    line[off++] = '\n';
    fd = atomic_load(&log_fd);
    if (write(fd >= 0 ? fd : STDERR_FILENO, line, off) < 0) {
        return; /* nowhere left to report a failing log */
    }
}
