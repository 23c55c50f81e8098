/* cli_bulk.c: `sealdisk ecs bulk-encrypt-system-disks --InstanceIds
 * i-1,i-2 [--KMSKeyId K]` (R15), as the seeds describe it: per instance,
 * image the system disk, copy the image encrypted, replace the system disk
 * with the copy, and start the instance again if it was running.
 *
 * Resumable: each finished step is written to a state file per instance
 * (~/.sealdisk/bulk/<instance>, or beside $SEALDISK_PROFILE) before the
 * next begins, so a run that is interrupted continues where it stopped
 * instead of imaging twice.  A progress bar on stderr shows the steps. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define STEPS 5

typedef struct bulk_state {
    char path[600];
    char was_running[8]; /* "1", "0" or "" (not yet known) */
    char image[64];      /* the plain image of the system disk */
    char copy[64];       /* its encrypted copy */
    char disk[64];       /* the new system disk */
    char done[8];
} bulk_state;

static void bar(size_t index, size_t total, int stepno, const char *instance, const char *what)
{
    char b[STEPS + 1];

    for (int i = 0; i < STEPS; i++) {
        b[i] = i < stepno ? '#' : '.';
    }
    b[STEPS] = '\0';
    (void)fprintf(stderr, "\r[%s] %zu/%zu %s: %-40s", b, index + 1, total, instance, what);
    if (stepno == STEPS) {
        (void)fprintf(stderr, "\n");
    }
}

static void state_path(const char *instance, bulk_state *s)
{
    char base[512];
    sd_err err = SD_ERR_INIT;
    char *slash;

    if (sd_profile_default_path(base, sizeof base, &err) != SD_OK) {
        (void)snprintf(base, sizeof base, "./profile");
    }
    slash = strrchr(base, '/');
    if (slash != NULL) {
        *slash = '\0';
    }
    (void)snprintf(s->path, sizeof s->path, "%s/bulk/%s", base, instance);
}

static void state_load(bulk_state *s)
{
    sd_kv *kv = NULL;
    FILE *f = fopen(s->path, "r");
    char text[1024];
    size_t n;

    if (f == NULL) {
        return;
    }
    n = fread(text, 1, sizeof text, f);
    (void)fclose(f);
    if (sd_kv_parse(text, n, &kv, NULL) != SD_OK) {
        return;
    }
    (void)snprintf(s->was_running, sizeof s->was_running, "%s",
                   sd_kv_get(kv, "was_running") != NULL ? sd_kv_get(kv, "was_running") : "");
    (void)snprintf(s->image, sizeof s->image, "%s",
                   sd_kv_get(kv, "image") != NULL ? sd_kv_get(kv, "image") : "");
    (void)snprintf(s->copy, sizeof s->copy, "%s",
                   sd_kv_get(kv, "copy") != NULL ? sd_kv_get(kv, "copy") : "");
    (void)snprintf(s->disk, sizeof s->disk, "%s",
                   sd_kv_get(kv, "disk") != NULL ? sd_kv_get(kv, "disk") : "");
    (void)snprintf(s->done, sizeof s->done, "%s",
                   sd_kv_get(kv, "done") != NULL ? sd_kv_get(kv, "done") : "");
    sd_kv_free(kv);
}

/* Written whole to a temporary file and renamed, so a crash leaves the
 * old state or the new one. */
static bool state_save(const bulk_state *s)
{
    char dir[600];
    char tmp[620];
    FILE *f;
    char *slash;

    (void)snprintf(dir, sizeof dir, "%s", s->path);
    slash = strrchr(dir, '/');
    if (slash != NULL) {
        *slash = '\0';
        if (sd_mkdirs(dir, 0700, NULL) != SD_OK) {
            return false;
        }
    }
    (void)snprintf(tmp, sizeof tmp, "%s.tmp", s->path);
    f = fopen(tmp, "w");
    if (f == NULL) {
        return false;
    }
    (void)fprintf(f, "was_running = %s\nimage = %s\ncopy = %s\ndisk = %s\ndone = %s\n",
                  s->was_running, s->image, s->copy, s->disk, s->done);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        (void)fclose(f);
        return false;
    }
    return fclose(f) == 0 && rename(tmp, s->path) == 0;
}

typedef struct bulk {
    const sd_profile *prof;
    const char *key; /* may be NULL: the service key or the default */
    char error[700];
} bulk;

/* One call; on an API error its Code and Message go to b->error. */
static bool act(bulk *b, const char *action, const cli_param *p, size_t n, const char *member,
                char *out, size_t cap)
{
    cli_result r;
    sd_err err = SD_ERR_INIT;
    bool ok = false;

    if (cli_call_json(b->prof, CLI_ECS_VERSION, action, p, n, &r, &err) != SD_OK) {
        (void)snprintf(b->error, sizeof b->error, "%s: %s", action, err.msg);
        return false;
    }
    if (r.code[0] != '\0') {
        (void)snprintf(b->error, sizeof b->error, "%s: %s: %s", action, r.code, r.message);
    } else {
        const sd_json_val *v = member != NULL ? cli_json_path(&r, member, NULL) : NULL;
        if (out != NULL) {
            (void)snprintf(out, cap, "%s", v != NULL ? v->str : "");
        }
        ok = true;
    }
    cli_result_free(&r);
    return ok;
}

static bool instance_running(bulk *b, const char *instance, bool *running)
{
    char ids[96];
    cli_param p[] = {{"InstanceIds", ids}};
    cli_result r;
    sd_err err = SD_ERR_INIT;
    const sd_json_val *list;
    bool ok = false;

    (void)snprintf(ids, sizeof ids, "[\"%s\"]", instance);
    if (cli_call_json(b->prof, CLI_ECS_VERSION, "DescribeInstances", p, 1, &r, &err) != SD_OK) {
        (void)snprintf(b->error, sizeof b->error, "DescribeInstances: %s", err.msg);
        return false;
    }
    list = cli_json_path(&r, "Instances", "Instance");
    if (r.code[0] == '\0' && list != NULL && list->child != NULL) {
        const sd_json_val *st = sd_json_get(list->child, "Status");
        *running = st != NULL && strcmp(st->str, "Running") == 0;
        ok = true;
    } else {
        (void)snprintf(b->error, sizeof b->error, "the instance %s does not exist", instance);
    }
    cli_result_free(&r);
    return ok;
}

typedef struct copy_bar {
    size_t index;
    size_t total;
    const char *inst;
} copy_bar;

static void copy_progress(void *ctx, const char *status, const char *progress)
{
    const copy_bar *c = ctx;
    char what[64];

    (void)status;
    (void)snprintf(what, sizeof what, "copying the image encrypted %s", progress);
    bar(c->index, c->total, 2, c->inst, what);
}

/* A re-encrypting copy runs in the server's background: polls it, with
 * its progress on the bar, until it is Available. */
static bool wait_image(bulk *b, const char *image, size_t index, size_t total, const char *inst)
{
    copy_bar c = {index, total, inst};

    return cli_wait_ready(b->prof, image, copy_progress, &c, b->error, sizeof b->error);
}

/* Step 1: remember whether the instance ran, and stop it. */
static bool stop_first(bulk *b, const char *inst, bulk_state *s)
{
    bool running = false;
    cli_param stop[] = {{"InstanceId", inst}};

    if (!instance_running(b, inst, &running)) {
        return false;
    }
    (void)snprintf(s->was_running, sizeof s->was_running, "%s", running ? "1" : "0");
    if (running && !act(b, "StopInstance", stop, 1, NULL, NULL, 0)) {
        return false;
    }
    if (!state_save(s)) {
        (void)snprintf(b->error, sizeof b->error, "cannot write %s", s->path);
        return false;
    }
    return true;
}

/* The steps for one instance, skipping those its state says are done. */
static bool encrypt_one(bulk *b, const char *inst, size_t index, size_t total)
{
    bulk_state s = {.was_running = ""};
    cli_param stop[] = {{"InstanceId", inst}};

    state_path(inst, &s);
    state_load(&s);
    if (strcmp(s.done, "1") == 0) {
        bar(index, total, STEPS, inst, "already done");
        return true;
    }
    bar(index, total, 0, inst, "stopping");
    if (s.was_running[0] == '\0' && !stop_first(b, inst, &s)) {
        return false;
    }
    bar(index, total, 1, inst, "imaging the system disk");
    if (s.image[0] == '\0') {
        cli_param p[] = {{"InstanceId", inst}, {"ImageName", "bulk-encrypt"}};
        if (!act(b, "CreateImage", p, 2, "ImageId", s.image, sizeof s.image) || !state_save(&s)) {
            return false;
        }
    }
    bar(index, total, 2, inst, "copying the image encrypted");
    if (s.copy[0] == '\0') {
        cli_param p[] = {{"ImageId", s.image}, {"Encrypted", "true"}, {"KMSKeyId", b->key}};
        if (!act(b, "CopyImage", p, b->key != NULL ? 3 : 2, "ImageId", s.copy, sizeof s.copy) ||
            !state_save(&s)) {
            return false;
        }
    }
    if (!wait_image(b, s.copy, index, total, inst)) {
        return false;
    }
    bar(index, total, 3, inst, "replacing the system disk");
    if (s.disk[0] == '\0') {
        cli_param p[] = {{"InstanceId", inst}, {"ImageId", s.copy}};
        if (!act(b, "ReplaceSystemDisk", p, 2, "DiskId", s.disk, sizeof s.disk) ||
            !state_save(&s)) {
            return false;
        }
    }
    bar(index, total, 4, inst, "cleaning up and restarting");
    {
        cli_param p[] = {{"ImageId", s.image}};
        /* the plain intermediate image goes; a failure leaves only it */
        (void)act(b, "DeleteImage", p, 1, NULL, NULL, 0);
    }
    if (strcmp(s.was_running, "1") == 0 && !act(b, "StartInstance", stop, 1, NULL, NULL, 0)) {
        return false;
    }
    (void)snprintf(s.done, sizeof s.done, "1");
    (void)state_save(&s);
    bar(index, total, STEPS, inst, s.disk);
    return true;
}

int cli_bulk_encrypt(const sd_profile *prof, const cli_args *a)
{
    bulk b = {.prof = prof};
    const char *ids = NULL;
    char list[4096];
    char *save = NULL;
    char *tok;
    size_t total = 0;
    size_t index = 0;
    int failures = 0;

    for (size_t i = 0; i < a->nparams; i++) {
        if (strcmp(a->params[i].name, "InstanceIds") == 0) {
            ids = a->params[i].value;
        } else if (strcmp(a->params[i].name, "KMSKeyId") == 0) {
            b.key = a->params[i].value;
        }
    }
    if (ids == NULL || strlen(ids) >= sizeof list) {
        (void)fprintf(stderr, "usage: sealdisk ecs bulk-encrypt-system-disks --InstanceIds "
                              "i-1,i-2 [--KMSKeyId KEY]\n");
        return 2;
    }
    (void)snprintf(list, sizeof list, "%s", ids);
    for (const char *p = list; *p != '\0'; p++) {
        total += *p == ',' ? 1 : 0;
    }
    total++;
    for (tok = strtok_r(list, ",[]\" ", &save); tok != NULL;
         tok = strtok_r(NULL, ",[]\" ", &save), index++) {
        b.error[0] = '\0';
        if (!encrypt_one(&b, tok, index, total)) {
            (void)fprintf(stderr, "\n%s: %s (run the command again to resume)\n", tok, b.error);
            failures++;
        }
    }
    (void)fprintf(stderr, "%zu instance(s), %d failed\n", index, failures);
    return failures == 0 ? 0 : 1;
}
