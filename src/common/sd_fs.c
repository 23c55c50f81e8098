/* sd_fs.c: file-system helpers. */
#include "common/sd_fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#define PATH_MAX_SD 1024

sd_code sd_mkdirs(const char *path, mode_t mode, sd_err *err)
{
    char buf[PATH_MAX_SD];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof buf) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "directory path is empty or too long");
    }
    memcpy(buf, path, n + 1);
    /* each prefix ending at a '/' (and the whole path) in turn */
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, mode) != 0 && errno != EEXIST) {
                int e = errno;
                char why[128];
                /* strerror_r (GNU) may return a static string instead of filling why */
                const char *msg = strerror_r(e, why, sizeof why);
                return sd_err_set(err, SD_E_IO, SD_HERE, "cannot create %s: %s", buf, msg);
            }
            buf[i] = c;
        }
    }
    return SD_OK;
}

sd_code sd_realpath(const char *path, char *out, size_t cap, sd_err *err)
{
    sd_code rc = SD_OK;
    char *real = realpath(path, NULL);
    size_t n;
    int e = errno;

    if (real == NULL) {
        rc = sd_err_set(err, e == ENOMEM ? SD_E_NOMEM : SD_E_NOT_FOUND, SD_HERE,
                        "cannot resolve %s", path);
        errno = e;
        return rc;
    }
    n = strlen(real);
    if (n >= cap) {
        rc = sd_err_set(err, SD_E_INVALID, SD_HERE, "resolved path too long (%zu bytes): %s", n,
                        path);
    } else {
        memcpy(out, real, n + 1);
    }
    free(real);
    return rc;
}

sd_code sd_write_pidfile(const char *path, sd_err *err)
{
    sd_code rc = SD_OK;
    char tmp[PATH_MAX_SD];
    FILE *f = NULL;

    SD_ENSURE(snprintf(tmp, sizeof tmp, "%s.tmp", path) < (int)sizeof tmp, err, SD_E_INVALID,
              "pid file path too long: %s", path);
    f = fopen(tmp, "we");
    SD_ENSURE(f != NULL, err, SD_E_IO, "cannot create %s: %s", tmp, strerrordesc_np(errno));
    SD_ENSURE(fprintf(f, "%ld\n", (long)getpid()) > 0, err, SD_E_IO, "cannot write %s", tmp);
    SD_ENSURE(fclose(f) == 0, err, SD_E_IO, "cannot write %s", tmp);
    f = NULL;
    SD_ENSURE(rename(tmp, path) == 0, err, SD_E_IO, "cannot create %s: %s", path,
              strerrordesc_np(errno));
out:
    if (f != NULL) {
        (void)fclose(f);
    }
    if (rc != SD_OK) {
        (void)unlink(tmp);
    }
    return rc;
}
