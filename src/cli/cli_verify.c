/* cli_verify.c: `sealdisk verify-encryption --InstanceId i-...` (R16), the
 * seeds' FAQ check made a command: disable the CMKs of the instance's
 * encrypted disks, restart the instance, observe that it cannot start
 * because its disks cannot be opened, then enable the keys again and put
 * the instance back as it was.  It also lists what depends on each key
 * before disabling it (R12), and never leaves a key disabled that it
 * disabled itself.
 *
 * The service key cannot be disabled (by design), so disks under it are
 * reported and skipped: verifying them needs a customer CMK. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#define KEYS_MAX 16

typedef struct verify {
    const sd_profile *prof;
    const char *instance;
    char keys[KEYS_MAX][128];
    size_t nkeys;
    bool disabled[KEYS_MAX];
    int encrypted_disks;
    int service_disks;
    bool was_running;
} verify;

static void step(const char *what)
{
    (void)fprintf(stderr, "  %s ... ", what);
}

static bool call(verify *v, const char *version, const char *action, const cli_param *p, size_t n,
                 cli_result *r)
{
    sd_err err = SD_ERR_INIT;

    if (cli_call_json(v->prof, version, action, p, n, r, &err) != SD_OK) {
        (void)fprintf(stderr, "failed: %s\n", err.msg);
        return false;
    }
    return true;
}

static bool is_service_key(verify *v, const char *key)
{
    cli_param p[] = {{"KeyId", key}};
    cli_result r;
    const sd_json_val *dp;
    bool service = false;

    if (call(v, CLI_KMS_VERSION, "DescribeKey", p, 1, &r) && r.code[0] == '\0') {
        dp = cli_json_path(&r, "KeyMetadata", "DeletionProtection");
        service = dp != NULL && strcmp(dp->str, "Enabled") == 0;
    }
    cli_result_free(&r);
    return service;
}

/* The instance's disks: which are encrypted, under which keys. */
static bool inventory(verify *v)
{
    cli_param p[] = {{"InstanceId", v->instance}, {"PageSize", "100"}};
    cli_result r;
    const sd_json_val *disks;
    bool ok = false;

    if (!call(v, CLI_ECS_VERSION, "DescribeDisks", p, 2, &r)) {
        return false;
    }
    if (r.code[0] != '\0') {
        (void)fprintf(stderr, "DescribeDisks: %s: %s\n", r.code, r.message);
        goto out;
    }
    disks = cli_json_path(&r, "Disks", "Disk");
    for (const sd_json_val *d = disks != NULL ? disks->child : NULL; d != NULL; d = d->next) {
        const sd_json_val *id = sd_json_get(d, "DiskId");
        const sd_json_val *enc = sd_json_get(d, "Encrypted");
        const sd_json_val *key = sd_json_get(d, "KMSKeyId");
        bool encrypted = enc != NULL && strcmp(enc->str, "true") == 0;
        (void)fprintf(stderr, "  disk %s: %s%s\n", id != NULL ? id->str : "?",
                      encrypted ? "encrypted under " : "not encrypted",
                      encrypted && key != NULL ? key->str : "");
        if (!encrypted || key == NULL) {
            continue;
        }
        v->encrypted_disks++;
        if (is_service_key(v, key->str)) {
            v->service_disks++;
            continue;
        }
        bool seen = false;
        for (size_t i = 0; i < v->nkeys; i++) {
            seen = seen || strcmp(v->keys[i], key->str) == 0;
        }
        if (!seen && v->nkeys < KEYS_MAX) {
            (void)snprintf(v->keys[v->nkeys++], sizeof v->keys[0], "%s", key->str);
        }
    }
    ok = true;
out:
    cli_result_free(&r);
    return ok;
}

static bool instance_status(verify *v, char *status, size_t cap)
{
    char ids[96];
    cli_param p[] = {{"InstanceIds", ids}};
    cli_result r;
    const sd_json_val *list;
    bool ok = false;

    (void)snprintf(ids, sizeof ids, "[\"%s\"]", v->instance);
    if (call(v, CLI_ECS_VERSION, "DescribeInstances", p, 1, &r) && r.code[0] == '\0') {
        list = cli_json_path(&r, "Instances", "Instance");
        const sd_json_val *st =
            list != NULL && list->child != NULL ? sd_json_get(list->child, "Status") : NULL;
        if (st != NULL) {
            (void)snprintf(status, cap, "%s", st->str);
            ok = true;
        }
    }
    cli_result_free(&r);
    return ok;
}

/* Calls action on the instance; *refused gets the server's Code. */
static bool instance_action(verify *v, const char *action, char *refused, size_t cap)
{
    cli_param p[] = {{"InstanceId", v->instance}};
    cli_result r;
    bool ok;

    refused[0] = '\0';
    ok = call(v, CLI_ECS_VERSION, action, p, 1, &r);
    if (ok && r.code[0] != '\0') {
        (void)snprintf(refused, cap, "%s: %s", r.code, r.message);
    }
    cli_result_free(&r);
    return ok;
}

static bool key_action(verify *v, const char *action, const char *key)
{
    cli_param p[] = {{"KeyId", key}};
    cli_result r;
    bool ok = call(v, CLI_KMS_VERSION, action, p, 1, &r) && r.code[0] == '\0';

    if (r.code[0] != '\0') {
        (void)fprintf(stderr, "refused: %s: %s\n", r.code, r.message);
    }
    cli_result_free(&r);
    return ok;
}

/* Enables every key this run disabled; false if one could not be. */
static bool restore_keys(verify *v)
{
    bool ok = true;

    for (size_t i = 0; i < v->nkeys; i++) {
        if (v->disabled[i]) {
            char what[160];
            (void)snprintf(what, sizeof what, "enabling %s again", v->keys[i]);
            step(what);
            if (key_action(v, "EnableKey", v->keys[i])) {
                v->disabled[i] = false;
                (void)fprintf(stderr, "ok\n");
            } else {
                ok = false;
            }
        }
    }
    return ok;
}

/* The check itself: keys off, start refused?  Returns 0 when verified. */
static int experiment(verify *v)
{
    char refused[700];
    int result = 1;

    for (size_t i = 0; i < v->nkeys; i++) {
        char what[160];
        (void)cli_warn_dependents(v->prof, v->keys[i]); /* enabled again below */
        (void)snprintf(what, sizeof what, "disabling %s", v->keys[i]);
        step(what);
        if (!key_action(v, "DisableKey", v->keys[i])) {
            return 1;
        }
        v->disabled[i] = true;
        (void)fprintf(stderr, "ok\n");
    }
    step("starting the instance with its keys disabled");
    if (!instance_action(v, "StartInstance", refused, sizeof refused)) {
        return 1;
    }
    if (refused[0] != '\0') {
        (void)fprintf(stderr, "refused, as it must be:\n    %s\n", refused);
        result = strstr(refused, "KMSKeyId") != NULL ? 0 : 1;
    } else {
        (void)fprintf(stderr, "IT STARTED: its disks opened without their keys\n");
        char ignored[700];
        step("stopping it again");
        (void)fprintf(stderr, "%s\n",
                      instance_action(v, "StopInstance", ignored, sizeof ignored) ? "ok"
                                                                                  : "failed");
    }
    return result;
}

int cli_verify_main(int argc, char **argv)
{
    cli_args a;
    sd_profile prof;
    verify v = {.prof = &prof};
    sd_err err = SD_ERR_INIT;
    char status[32] = "";
    char refused[700];
    int result = 1;

    if (cli_args_parse(argc - 1, argv + 1, &a, &err) != SD_OK || a.help || a.nparams != 1 ||
        strcmp(a.params[0].name, "InstanceId") != 0) {
        (void)fprintf(stderr, "usage: sealdisk verify-encryption --InstanceId i-...\n\n"
                              "Disables the CMKs of the instance's encrypted disks, restarts the "
                              "instance,\nchecks that it cannot start, and enables the keys "
                              "again (R16).\n");
        return a.help ? 0 : 2;
    }
    v.instance = a.params[0].value;
    if (cli_profile_load(a.profile, &prof, &err) != SD_OK) {
        (void)fprintf(stderr, "sealdisk verify-encryption: %s\n", err.msg);
        return 2;
    }
    if (a.endpoint != NULL) {
        (void)snprintf(prof.endpoint, sizeof prof.endpoint, "%s", a.endpoint);
    }
    (void)fprintf(stderr, "verify-encryption %s\n", v.instance);
    if (!instance_status(&v, status, sizeof status) || !inventory(&v)) {
        (void)fprintf(stderr, "result: cannot read the instance %s\n", v.instance);
        goto out;
    }
    if (v.nkeys == 0) {
        (void)fprintf(stderr,
                      "result: nothing to verify: %d encrypted disk(s), %d under the service "
                      "key, which cannot be disabled (use a customer CMK to verify)\n",
                      v.encrypted_disks, v.service_disks);
        goto out;
    }
    v.was_running = strcmp(status, "Running") == 0;
    if (v.was_running) {
        step("stopping the instance");
        if (!instance_action(&v, "StopInstance", refused, sizeof refused) || refused[0] != '\0') {
            (void)fprintf(stderr, "%s\n", refused);
            goto out;
        }
        (void)fprintf(stderr, "ok\n");
    }
    result = experiment(&v);
    if (!restore_keys(&v)) {
        result = 1;
    }
    if (v.was_running) {
        step("starting the instance again");
        bool ok = instance_action(&v, "StartInstance", refused, sizeof refused);
        (void)fprintf(stderr, "%s\n", ok && refused[0] == '\0' ? "ok" : refused);
    }
    (void)fprintf(stderr, "result: %s\n",
                  result == 0 ? "VERIFIED: with its keys disabled the instance's disks could not "
                                "be opened"
                              : "NOT VERIFIED (see above)");
    if (v.service_disks > 0) {
        (void)fprintf(stderr, "note: %d disk(s) under the service key were not part of the check\n",
                      v.service_disks);
    }
out:
    if (!restore_keys(&v)) { /* after an early exit: never leave a key disabled */
        result = 1;
    }
    sd_profile_clear(&prof);
    return result;
}
