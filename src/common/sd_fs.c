/* sd_fs.c: file-system helpers. */
#include "common/sd_fs.h"

#include <errno.h>
#include <string.h>

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
