/* sd_profile.c: the client profile file, read and written.
 *
 * The secret goes straight into an sd_secret and sd_kv wipes its parsed
 * copy.  The file is written through a temporary file and rename, mode
 * 0600, so a reader never sees half of it and nobody else can read it. */
#include "common/sd_profile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "common/sd_buf.h"
#include "common/sd_fs.h"
#include "common/sd_kv.h"

/* sd_str_copy with the field named in the error. */
static sd_code copy_field(char *dst, size_t cap, const char *v, const char *what, sd_err *err)
{
    if (sd_str_copy(dst, cap, v, NULL) != SD_OK) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "%s is too long", what);
    }
    return SD_OK;
}

sd_code sd_profile_default_path(char *out, size_t cap, sd_err *err)
{
    const char *env = getenv("SEALDISK_PROFILE"); /* NOLINT(concurrency-mt-unsafe) */
    const char *home = getenv("HOME");            /* NOLINT(concurrency-mt-unsafe) */
    int n;

    if (env != NULL && env[0] != '\0') {
        n = snprintf(out, cap, "%s", env);
    } else if (home != NULL && home[0] != '\0') {
        n = snprintf(out, cap, "%s/.sealdisk/profile", home);
    } else {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "no profile: set HOME or SEALDISK_PROFILE");
    }
    if (n < 0 || (size_t)n >= cap) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "profile path too long");
    }
    return SD_OK;
}

sd_code sd_profile_read(const char *path, sd_profile *p, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_kv *kv = NULL;
    const char *v;

    SD_TRY(sd_kv_load(path, &kv, err));
    if ((v = sd_kv_get(kv, "endpoint")) != NULL) {
        SD_TRY(copy_field(p->endpoint, sizeof p->endpoint, v, "endpoint", err));
    }
    if ((v = sd_kv_get(kv, "region")) != NULL) {
        SD_TRY(copy_field(p->region, sizeof p->region, v, "region", err));
    }
    if ((v = sd_kv_get(kv, "access_key_id")) != NULL) {
        SD_TRY(copy_field(p->access_key_id, sizeof p->access_key_id, v, "access_key_id", err));
    }
    if ((v = sd_kv_get(kv, "access_key_secret")) != NULL) {
        /* sd_kv_free wipes the parsed copy */
        sd_secret_free(p->access_key_secret);
        p->access_key_secret = NULL;
        SD_TRY(sd_secret_from(v, strlen(v), &p->access_key_secret, err));
    }
    if ((v = sd_kv_get(kv, "tls_pin")) != NULL) {
        SD_ENSURE(strncmp(v, "sha256//", 8) == 0, err, SD_E_INVALID,
                  "%s: tls_pin must be sha256//BASE64", path);
        SD_TRY(copy_field(p->tls_pin, sizeof p->tls_pin, v, "tls_pin", err));
    }
    if ((v = sd_kv_get(kv, "ca_file")) != NULL) {
        SD_TRY(copy_field(p->ca_file, sizeof p->ca_file, v, "ca_file", err));
    }
    if ((v = sd_kv_get(kv, "signature")) != NULL) {
        SD_ENSURE(strcmp(v, "v1") == 0 || strcmp(v, "v3") == 0, err, SD_E_INVALID,
                  "%s: signature must be v1 or v3", path);
        p->sign_v1 = strcmp(v, "v1") == 0;
    }
out:
    sd_kv_free(kv);
    return rc;
}

void sd_profile_clear(sd_profile *p)
{
    sd_secret_free(p->access_key_secret);
    p->access_key_secret = NULL;
}

/* The profile's directory (~/.sealdisk), made private like the file. */
static sd_code make_parent(const char *path, sd_err *err)
{
    char dir[512];
    const char *slash = strrchr(path, '/');
    size_t n;

    if (slash == NULL || slash == path) {
        return SD_OK;
    }
    n = (size_t)(slash - path);
    if (n >= sizeof dir) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "profile path too long");
    }
    memcpy(dir, path, n);
    dir[n] = '\0';
    return sd_mkdirs(dir, 0700, err);
}

sd_code sd_profile_write(const char *path, const char *endpoint, const char *tls_pin,
                         const char *region, const char *access_key_id, const sd_secret *secret,
                         sd_err *err)
{
    sd_code rc = SD_OK;
    sd_buf text = SD_BUF_INIT(SD_KV_MAX_BYTES);
    char tmp[600];
    int fd = -1;

    SD_TRY(make_parent(path, err));
    SD_ENSURE(snprintf(tmp, sizeof tmp, "%s.tmp", path) < (int)sizeof tmp, err, SD_E_INVALID,
              "profile path too long");
    SD_TRY(sd_buf_printf(&text, err,
                         "# sealdisk CLI profile, written by 'sealdisk server' at its first "
                         "start\nendpoint = %s\n",
                         endpoint));
    if (tls_pin != NULL && tls_pin[0] != '\0') {
        SD_TRY(sd_buf_printf(&text, err, "tls_pin = %s\n", tls_pin));
    }
    SD_TRY(sd_buf_printf(
        &text, err, "region = %s\naccess_key_id = %s\nsignature = v3\naccess_key_secret = ", region,
        access_key_id));
    SD_TRY(sd_buf_append(&text, sd_secret_data(secret), sd_secret_len(secret), err));
    SD_TRY(sd_buf_put_u8(&text, '\n', err));
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    SD_ENSURE(fd >= 0, err, SD_E_IO, "cannot create %s", tmp);
    SD_ENSURE(write(fd, text.data, text.len) == (ssize_t)text.len && fsync(fd) == 0, err, SD_E_IO,
              "cannot write %s", tmp);
    SD_ENSURE(close(fd) == 0, err, SD_E_IO, "cannot write %s", tmp);
    fd = -1;
    SD_ENSURE(rename(tmp, path) == 0, err, SD_E_IO, "cannot replace %s", path);
out:
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    if (text.data != NULL) {
        sd_wipe(text.data, text.cap); /* it held the secret */
    }
    sd_buf_free(&text);
    return rc;
}
