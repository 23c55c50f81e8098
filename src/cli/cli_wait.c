/* cli_wait.c: waiting for what a background job makes (CopyImage,
 * ImportImage, a re-encrypting CreateDisk) or rebuilds (a re-encrypting
 * ReInitDisk), as an SDK user polls: the image or disk is Describe'd every
 * 200 ms until it is no longer Creating or ReIniting.  `--wait` on those
 * actions draws a progress bar on stderr; bulk-encrypt-system-disks draws
 * its own. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define BAR 30

/* The Status and Progress of image ("m-...") or disk ("d-...") id; both
 * "" when it is not listed. */
static bool describe(const sd_profile *prof, const char *id, char status[32], char progress[16],
                     char *error, size_t cap)
{
    bool image = strncmp(id, "m-", 2) == 0;
    char ids[96];
    cli_param p[] = {{image ? "ImageId" : "DiskIds", ids}, {"Status", image ? "ALL" : "All"}};
    cli_result r;
    sd_err err = SD_ERR_INIT;
    const sd_json_val *list;
    const sd_json_val *st = NULL;
    const sd_json_val *pr = NULL;

    (void)snprintf(ids, sizeof ids, image ? "%s" : "[\"%s\"]", id);
    if (cli_call_json(prof, CLI_ECS_VERSION, image ? "DescribeImages" : "DescribeDisks", p, 2, &r,
                      &err) != SD_OK) {
        (void)snprintf(error, cap, "%s", err.msg);
        return false;
    }
    if (r.code[0] != '\0') {
        (void)snprintf(error, cap, "%s: %s", r.code, r.message);
        cli_result_free(&r);
        return false;
    }
    list = cli_json_path(&r, image ? "Images" : "Disks", image ? "Image" : "Disk");
    if (list != NULL && list->child != NULL) {
        st = sd_json_get(list->child, "Status");
        pr = sd_json_get(list->child, "Progress");
    }
    (void)snprintf(status, 32, "%s", st != NULL ? st->str : "");
    (void)snprintf(progress, 16, "%s", pr != NULL ? pr->str : "");
    cli_result_free(&r);
    return true;
}

/* Whether a job is still working on a resource in this status. */
static bool busy(const char *status)
{
    return strcmp(status, "Creating") == 0 || strcmp(status, "ReIniting") == 0;
}

bool cli_wait_ready(const sd_profile *prof, const char *id, cli_wait_fn fn, void *ctx, char *error,
                    size_t cap)
{
    char status[32];
    char progress[16];

    for (;;) {
        if (!describe(prof, id, status, progress, error, cap)) {
            return false;
        }
        if (fn != NULL) {
            fn(ctx, status, progress);
        }
        if (!busy(status)) {
            break;
        }
        (void)usleep(200 * 1000);
    }
    if (strcmp(status, "Available") == 0 || strcmp(status, "In_use") == 0) {
        return true;
    }
    (void)snprintf(error, cap, "%s %s", id,
                   status[0] != '\0' ? status : "is gone: its creation failed");
    return false;
}

typedef struct bar_ctx {
    const char *id;
} bar_ctx;

static void draw(void *ctx, const char *status, const char *progress)
{
    const bar_ctx *b = ctx;
    char cells[BAR + 1];
    int pct = 0;

    for (const char *p = progress; *p >= '0' && *p <= '9' && pct < 100; p++) {
        pct = pct * 10 + (*p - '0');
    }
    for (int i = 0; i < BAR; i++) {
        cells[i] = i < pct * BAR / 100 ? '#' : '.';
    }
    cells[BAR] = '\0';
    (void)fprintf(stderr, "\r[%s] %3d%% %s %-12s", cells, pct, b->id, status);
    if (!busy(status)) {
        (void)fprintf(stderr, "\n");
    }
}

int cli_wait_bar(const sd_profile *prof, const char *id)
{
    bar_ctx b = {id};
    char error[700] = "";

    if (!cli_wait_ready(prof, id, draw, &b, error, sizeof error)) {
        (void)fprintf(stderr, "\nERROR: %s\n", error);
        return 1;
    }
    return 0;
}
