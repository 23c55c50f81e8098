/* api_audit.c: writing and querying the audit log.
 *
 * Lines are built with the JSON writer (so every field is escaped) and
 * written with a single write(2) on an O_APPEND descriptor.  Querying
 * matches fields by looking for their exact JSON encoding, which is
 * unambiguous because the writer emits one canonical form. */
#include "api/api_audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sd_json.h"

#define AUDIT_LINE_MAX 4096

struct api_audit {
    int fd;
    pthread_mutex_t mu;
};

sd_code api_audit_open(const char *path, api_audit **out, sd_err *err)
{
    sd_code rc = SD_OK;
    api_audit *a = NULL;

    *out = NULL;
    a = calloc(1, sizeof *a);
    SD_ENSURE(a != NULL, err, SD_E_NOMEM, "out of memory");
    a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    SD_ENSURE(a->fd >= 0, err, SD_E_IO, "cannot open the audit log %s", path);
    SD_ENSURE(pthread_mutex_init(&a->mu, NULL) == 0, err, SD_E_INTERNAL, "mutex init failed");
    *out = a;
    a = NULL;
out:
    if (a != NULL) {
        if (a->fd >= 0) {
            close(a->fd);
        }
        free(a);
    }
    return rc;
}

void api_audit_write(api_audit *a, const api_audit_rec *r)
{
    sd_buf line = SD_BUF_INIT(AUDIT_LINE_MAX);
    sd_jw j;
    char when[21];

    sd_time_iso8601(r->time, when);
    sd_jw_init(&j, &line, NULL);
    sd_jw_obj_begin(&j, NULL);
    sd_jw_str(&j, "Time", when);
    sd_jw_str(&j, "RequestId", r->request_id);
    sd_jw_str(&j, "Account", r->account);
    sd_jw_str(&j, "AccessKeyId", r->access_key_id);
    sd_jw_str(&j, "Action", r->action);
    if (r->key_id != NULL) {
        sd_jw_str(&j, "KeyId", r->key_id);
    }
    if (r->key_version_id != NULL) {
        sd_jw_str(&j, "KeyVersionId", r->key_version_id);
    }
    if (r->resource != NULL) {
        sd_jw_str(&j, "Resource", r->resource);
    }
    sd_jw_str(&j, "Result", r->code);
    sd_jw_int(&j, "HttpStatus", r->status);
    sd_jw_obj_end(&j);
    if (sd_jw_finish(&j) != SD_OK || sd_buf_put_u8(&line, '\n', NULL) != SD_OK) {
        sd_log(SD_LOG_ERROR, "audit", "audit line too long request_id=%s", r->request_id);
        goto out;
    }
    pthread_mutex_lock(&a->mu);
    if (write(a->fd, line.data, line.len) != (ssize_t)line.len) {
        sd_log(SD_LOG_ERROR, "audit", "cannot write the audit log request_id=%s errno=%d",
               r->request_id, errno);
    }
    pthread_mutex_unlock(&a->mu);
out:
    sd_buf_free(&line);
}

void api_audit_close(api_audit *a)
{
    if (a == NULL) {
        return;
    }
    close(a->fd);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

/* True when line has "name":"value" exactly (value JSON-escaped). */
static bool has_field(const char *line, const char *name, const char *value)
{
    sd_buf want = SD_BUF_INIT(AUDIT_LINE_MAX);
    sd_jw j;
    bool found = false;
    const char *s = NULL;

    sd_jw_init(&j, &want, NULL);
    sd_jw_str(&j, name, value);
    if (sd_jw_finish(&j) == SD_OK && sd_buf_cstr(&want, &s, NULL) == SD_OK) {
        found = strstr(line, s) != NULL;
    }
    sd_buf_free(&want);
    return found;
}

static bool matches(const char *line, const api_audit_filter *f)
{
    const char *t;
    int64_t when = 0;
    char ts[21];

    if (f->account != NULL && !has_field(line, "Account", f->account)) {
        return false;
    }
    if (f->action != NULL && !has_field(line, "Action", f->action)) {
        return false;
    }
    if (f->key_id != NULL && !has_field(line, "KeyId", f->key_id)) {
        return false;
    }
    if (f->since > 0) {
        t = strstr(line, "\"Time\":\"");
        if (t == NULL || strlen(t) < 8 + 20) {
            return false;
        }
        memcpy(ts, t + 8, 20);
        ts[20] = '\0';
        if (sd_time_parse_iso8601(ts, &when, NULL) != SD_OK || when < f->since) {
            return false;
        }
    }
    return true;
}

sd_code api_audit_query(const char *path, const api_audit_filter *f, api_audit_line_fn fn,
                        void *ctx, sd_err *err)
{
    sd_code rc = SD_OK;
    FILE *in = NULL;
    char line[AUDIT_LINE_MAX + 2];

    in = fopen(path, "re");
    SD_ENSURE(in != NULL, err, errno == ENOENT ? SD_E_NOT_FOUND : SD_E_IO,
              "cannot open the audit log %s", path);
    bool skipping = false;

    while (fgets(line, sizeof line, in) != NULL) {
        size_t n = strlen(line);
        bool whole = n > 0 && line[n - 1] == '\n';
        /* an over-long line arrives in pieces: skip every piece of it, and
         * a torn last line (no newline) too */
        if (!whole || skipping) {
            skipping = !whole;
            continue;
        }
        line[n - 1] = '\0';
        if (matches(line, f)) {
            fn(ctx, line);
        }
    }
out:
    if (in != NULL) {
        (void)fclose(in); /* read-only: nothing to lose */
    }
    return rc;
}
