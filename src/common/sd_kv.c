/* sd_kv.c: parsing "key = value" files.
 *
 * The text is copied once; entries point into the copy, with each line's
 * separators replaced by NULs.  Limits keep a hostile file from costing
 * more than its bounded size. */
#include "common/sd_kv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sd_buf.h"
#include "common/sd_secret.h"

#define KV_MAX_ENTRIES 256
#define KV_MAX_LINE    4096

struct sd_kv {
    char *text;
    size_t len;
    size_t n;
    const char *key[KV_MAX_ENTRIES];
    const char *value[KV_MAX_ENTRIES];
};

void sd_kv_free(sd_kv *kv)
{
    if (kv == NULL) {
        return;
    }
    if (kv->text != NULL) {
        sd_wipe(kv->text, kv->len + 1); /* profiles hold secrets */
    }
    free(kv->text);
    free(kv);
}

static char *trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t')) {
        s++;
    }
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) {
        end--;
    }
    *end = '\0';
    return s;
}

static int key_ok(const char *k)
{
    if (*k == '\0') {
        return 0;
    }
    for (; *k != '\0'; k++) {
        char c = *k;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-')) {
            return 0;
        }
    }
    return 1;
}

/* Parses one line [p, end); line is its 1-based number. */
static sd_code kv_line(sd_kv *kv, char *p, char *end, size_t line, sd_err *err)
{
    sd_code rc = SD_OK;
    char *eq;
    char *key;
    char *value;

    SD_ENSURE((size_t)(end - p) <= KV_MAX_LINE, err, SD_E_INVALID, "line %zu is too long", line);
    *end = '\0';
    p = trim(p, end);
    if (*p == '\0' || *p == '#') {
        goto out;
    }
    eq = strchr(p, '=');
    SD_ENSURE(eq != NULL, err, SD_E_INVALID, "line %zu: expected 'key = value'", line);
    key = trim(p, eq);
    value = trim(eq + 1, end);
    SD_ENSURE(key_ok(key), err, SD_E_INVALID, "line %zu: invalid key", line);
    SD_ENSURE(sd_kv_get(kv, key) == NULL, err, SD_E_INVALID, "line %zu: '%s' is given twice", line,
              key);
    SD_ENSURE(kv->n < KV_MAX_ENTRIES, err, SD_E_INVALID, "more than %d entries", KV_MAX_ENTRIES);
    kv->key[kv->n] = key;
    kv->value[kv->n] = value;
    kv->n++;
out:
    return rc;
}

sd_code sd_kv_parse(const char *text, size_t len, sd_kv **out, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_kv *kv = NULL;
    char *p;
    char *end;
    size_t line = 1;

    *out = NULL;
    SD_ENSURE(len <= SD_KV_MAX_BYTES, err, SD_E_INVALID, "file larger than %zu bytes",
              SD_KV_MAX_BYTES);
    SD_ENSURE(memchr(text, '\0', len) == NULL, err, SD_E_INVALID, "file contains a NUL byte");
    kv = calloc(1, sizeof *kv);
    SD_ENSURE(kv != NULL, err, SD_E_NOMEM, "out of memory");
    kv->text = malloc(len + 1);
    SD_ENSURE(kv->text != NULL, err, SD_E_NOMEM, "out of memory");
    kv->len = len;
    if (len > 0) {
        memcpy(kv->text, text, len);
    }
    kv->text[len] = '\0';
    p = kv->text;
    end = kv->text + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl != NULL ? nl : end;
        SD_TRY(kv_line(kv, p, stop, line, err));
        p = stop + 1;
        line++;
    }
    *out = kv;
    kv = NULL;
out:
    sd_kv_free(kv);
    return rc;
}

sd_code sd_kv_load(const char *path, sd_kv **out, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_buf b = SD_BUF_INIT(SD_KV_MAX_BYTES);
    char chunk[4096];
    int fd;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            SD_FAIL(err, SD_E_NOT_FOUND, "%s does not exist", path);
        }
        SD_FAIL(err, SD_E_IO, "cannot open %s", path);
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        SD_ENSURE(n >= 0, err, SD_E_IO, "cannot read %s", path);
        if (n == 0) {
            break;
        }
        rc = sd_buf_append(&b, chunk, (size_t)n, NULL);
        SD_ENSURE(rc == SD_OK, err, SD_E_INVALID, "%s is larger than %zu bytes", path,
                  SD_KV_MAX_BYTES);
    }
    rc = sd_kv_parse(b.data != NULL ? (const char *)b.data : "", b.len, out, err);
out:
    if (fd >= 0) {
        close(fd);
    }
    if (b.data != NULL) {
        sd_wipe(b.data, b.cap); /* profiles hold secrets */
    }
    sd_buf_free(&b);
    return rc;
}

const char *sd_kv_get(const sd_kv *kv, const char *key)
{
    for (size_t i = 0; i < kv->n; i++) {
        if (strcmp(kv->key[i], key) == 0) {
            return kv->value[i];
        }
    }
    return NULL;
}

size_t sd_kv_count(const sd_kv *kv)
{
    return kv->n;
}

const char *sd_kv_key(const sd_kv *kv, size_t i)
{
    return i < kv->n ? kv->key[i] : NULL;
}
