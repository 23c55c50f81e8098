/* cli_main.c: `sealdisk kms <Action> --Param value ...`, shaped like the
 * aliyun CLI.  The actions and their one-line summaries come from the
 * server's own actions table (api/api_actions.def), and their parameters
 * from its parameter table (api/api_params.def), so --help lists exactly
 * what the server serves, and a parameter the action does not take is
 * refused before anything is sent.
 *
 * Exit status: 0 on success (the response JSON, indented, on stdout);
 * 1 when the server answered an error ("ERROR: <Code>: <Message>" on
 * stderr, the body on stdout); 2 on a usage or configuration error;
 * 3 when the server cannot be reached. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

typedef struct product {
    const char *word;    /* "kms" */
    const char *tag;     /* the table's product column */
    const char *version; /* the API version */
} product;

typedef struct action_row {
    const char *product;
    const char *name;
    const char *summary;
} action_row;

static const action_row actions[] = {
#define API_ACTION(prod, name, summary) {#prod, #name, summary},
#include "api/api_actions.def"
#undef API_ACTION
};

typedef struct param_row {
    const char *product;
    const char *action;
    const char *name;
    const char *type;
    bool required;
    const char *meaning;
} param_row;

enum { CLI_NEED_Required, CLI_NEED_Optional };

static const param_row params[] = {
#define API_PARAM(prod, act, name, type, need, meaning) \
    {#prod, #act, name, #type, CLI_NEED_##need == CLI_NEED_Required, meaning},
#include "api/api_params.def"
#undef API_PARAM
};

static const product products[] = {
    {"kms", "KMS", CLI_KMS_VERSION},
    {"ecs", "ECS", CLI_ECS_VERSION},
    {"ram", "RAM", "2015-05-01"},
};

static const action_row *find_action(const product *p, const char *name)
{
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        if (strcmp(actions[i].product, p->tag) == 0 && strcmp(actions[i].name, name) == 0) {
            return &actions[i];
        }
    }
    return NULL;
}

static void usage(const product *p)
{
    printf("usage: sealdisk %s <Action> [--Param value ...] [--profile FILE] [--endpoint URL]\n"
           "                [--region ID] [--signature v3|v1] [--wait] [--yes]\n\n"
           "--endpoint: https://HOST:PORT, or HOST:PORT for plain HTTP.\n"
           "--wait: after CopyImage, ImportImage, CreateDisk or ReInitDisk, poll until\n"
           "the image or disk is ready, with a progress bar on stderr.\n"
           "--yes: DisableKey and ScheduleKeyDeletion of a key that disks, snapshots,\n"
           "images or instances depend on go ahead without asking.\n\n"
           "Credentials come from the profile the server wrote at its first start\n"
           "(~/.sealdisk/profile, or $SEALDISK_PROFILE), or from\n"
           "ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET.\n\n"
           "actions (%s API version %s):\n",
           p->word, p->tag, p->version);
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        if (strcmp(actions[i].product, p->tag) == 0) {
            printf("  %-32s %s\n", actions[i].name, actions[i].summary);
        }
    }
    if (strcmp(p->tag, "ECS") == 0) {
        printf("\ncommands:\n  %-32s %s\n", "bulk-encrypt-system-disks",
               "--InstanceIds i-1,i-2 [--KMSKeyId K]: image, copy encrypted, replace (R15)");
    }
}

/* `sealdisk kms CreateKey --help`: the summary, then each parameter. */
static void action_usage(const product *p, const action_row *row)
{
    bool any = false;

    printf("usage: sealdisk %s %s [--Param value ...]\n\n%s\n\nparameters:\n", p->word, row->name,
           row->summary);
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        const param_row *r = &params[i];
        if (strcmp(r->product, p->tag) == 0 && strcmp(r->action, row->name) == 0) {
            printf("  --%-30s %-7s %-8s %s\n", r->name, r->type,
                   r->required ? "required" : "optional", r->meaning);
            any = true;
        }
    }
    if (!any) {
        printf("  (none)\n");
    }
    printf("  --%-30s %-7s %-8s %s\n", "RegionId", "String", "optional",
           "the region (default: the profile's)");
    if (strcmp(p->tag, "ECS") == 0) {
        printf("  --%-30s %-7s %-8s %s\n", "DryRun", "Boolean", "optional",
               "run every check, change nothing");
    }
    printf("\nA name's N stands for 1, 2, ...: --DataDisk.1.Size 20.\n");
}

/* Whether the action takes name (api_params.def, or a common parameter). */
static bool takes(const product *p, const action_row *row, const char *name)
{
    if (strcmp(name, "RegionId") == 0 ||
        (strcmp(p->tag, "ECS") == 0 && strcmp(name, "DryRun") == 0)) {
        return true;
    }
    for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) {
        const param_row *r = &params[i];
        if (strcmp(r->product, p->tag) == 0 && strcmp(r->action, row->name) == 0 &&
            sd_name_match(r->name, name)) {
            return true;
        }
    }
    return false;
}

/* Prints the response, indented when it is JSON (doc, else NULL: printed as
 * it came); returns the exit status. */
static int report(int status, const sd_buf *body, const sd_json_doc *doc)
{
    sd_buf pretty = SD_BUF_INIT((size_t)64 << 20);
    const sd_json_val *root = doc != NULL ? sd_json_root(doc) : NULL;
    const char *code = sd_json_get_str(root, "Code");
    const char *msg = sd_json_get_str(root, "Message");
    const char *text = body->data != NULL ? (const char *)body->data : "";
    int exit_status = 0;
    sd_jw j;

    sd_jw_init_indented(&j, &pretty, NULL);
    if (root != NULL) {
        sd_jw_val(&j, NULL, root);
    }
    if (root != NULL && sd_jw_finish(&j) == SD_OK) {
        printf("%.*s\n", (int)pretty.len, (const char *)pretty.data);
    } else {
        printf("%.*s\n", (int)body->len, text);
    }
    if (status >= 400 || code != NULL) {
        (void)fprintf(stderr, "ERROR: %.127s: %.511s (HTTP %d)\n",
                      code != NULL && code[0] != '\0' ? code : "Unknown", msg != NULL ? msg : "",
                      status);
        exit_status = 1;
    }
    sd_buf_free(&pretty);
    return exit_status;
}

/* The profile to poll what the call made with: a copy to another region
 * (CopyImage's DestinationRegionId) lives, and is listed, there.  *there
 * borrows prof's secret; it is not cleared. */
static const sd_profile *where_made(const sd_profile *prof, const cli_args *a, sd_profile *there)
{
    for (size_t i = 0; i < a->nparams; i++) {
        if (strcmp(a->params[i].name, "DestinationRegionId") == 0 &&
            a->params[i].value[0] != '\0') {
            *there = *prof;
            (void)snprintf(there->region, sizeof there->region, "%s", a->params[i].value);
            return there;
        }
    }
    return prof;
}

/* --wait: what a background job of the call makes (or, for ReInitDisk,
 * rebuilds: the request's disk), polled until ready. */
static int wait_made(const sd_profile *prof, const product *p, const cli_args *a,
                     const sd_json_doc *doc)
{
    const char *action = a->action;
    static const char *const waits[][2] = {
        {"CopyImage", "ImageId"},
        {"ImportImage", "ImageId"},
        {"CreateDisk", "DiskId"},
    };
    const char *id;
    sd_profile there;

    for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
        id = doc != NULL ? sd_json_get_str(sd_json_root(doc), waits[i][1]) : NULL;
        if (strcmp(p->tag, "ECS") == 0 && strcmp(action, waits[i][0]) == 0 && id != NULL) {
            return cli_wait_bar(where_made(prof, a, &there), id);
        }
    }
    if (strcmp(p->tag, "ECS") == 0 && strcmp(action, "ReInitDisk") == 0) {
        for (size_t i = 0; i < a->nparams; i++) {
            if (strcmp(a->params[i].name, "DiskId") == 0) {
                return cli_wait_bar(prof, a->params[i].value);
            }
        }
    }
    (void)fprintf(stderr, "sealdisk: --wait applies to ecs CopyImage, ImportImage, CreateDisk "
                          "and ReInitDisk\n");
    return 2;
}

/* After the R12 warning: --yes, or a "y" typed at a terminal.  Without a
 * terminal to ask, the answer is no: a script must say --yes. */
static bool confirmed(const product *p, const cli_args *a)
{
    char line[16];

    if (a->yes) {
        return true;
    }
    if (!isatty(STDIN_FILENO)) {
        (void)fprintf(stderr, "sealdisk %s: %s not sent; give --yes to go ahead\n", p->word,
                      a->action);
        return false;
    }
    (void)fprintf(stderr, "%s anyway? [y/N] ", a->action);
    if (fgets(line, sizeof line, stdin) != NULL && (line[0] == 'y' || line[0] == 'Y')) {
        return true;
    }
    (void)fprintf(stderr, "sealdisk %s: %s not sent\n", p->word, a->action);
    return false;
}

/* R12: before DisableKey or ScheduleKeyDeletion, what depends on the key
 * is listed, and a key that anything depends on needs confirmation. */
static bool key_use_confirmed(const sd_profile *prof, const product *p, const cli_args *a)
{
    if (strcmp(p->tag, "KMS") != 0 ||
        (strcmp(a->action, "DisableKey") != 0 && strcmp(a->action, "ScheduleKeyDeletion") != 0)) {
        return true;
    }
    for (size_t i = 0; i < a->nparams; i++) {
        if (strcmp(a->params[i].name, "KeyId") == 0 &&
            cli_warn_dependents(prof, a->params[i].value) > 0 && !confirmed(p, a)) {
            return false;
        }
    }
    return true;
}

static int run(const product *p, const cli_args *a)
{
    sd_profile prof;
    sd_err err = SD_ERR_INIT;
    sd_buf body = SD_BUF_INIT((size_t)64 << 20);
    sd_json_doc *doc = NULL;
    int status = 0;
    int exit_status = 2;

    if (cli_profile_load(a->profile, &prof, &err) != SD_OK) {
        (void)fprintf(stderr, "sealdisk %s: %s\n", p->word, err.msg);
        return 2;
    }
    if (a->endpoint != NULL) {
        (void)snprintf(prof.endpoint, sizeof prof.endpoint, "%s", a->endpoint);
    }
    if (a->region != NULL) {
        (void)snprintf(prof.region, sizeof prof.region, "%s", a->region);
    }
    if (a->signature != NULL && strcmp(a->signature, "v1") != 0 &&
        strcmp(a->signature, "v3") != 0) {
        (void)fprintf(stderr, "sealdisk %s: --signature must be v1 or v3\n", p->word);
        goto out;
    }
    if (a->signature != NULL) {
        prof.sign_v1 = strcmp(a->signature, "v1") == 0;
    }
    if (!key_use_confirmed(&prof, p, a)) {
        goto out;
    }
    if (strcmp(p->tag, "ECS") == 0 && strcmp(a->action, "bulk-encrypt-system-disks") == 0) {
        exit_status = cli_bulk_encrypt(&prof, a);
        goto out;
    }
    if (cli_call(&prof, p->version, a->action, a->params, a->nparams, &status, &body, &err) !=
        SD_OK) {
        (void)fprintf(stderr, "sealdisk %s: %s\n", p->word, err.msg);
        exit_status = err.code == SD_E_IO ? 3 : 2;
        goto out;
    }
    /* a body that is not JSON (or too large to index) is printed as it came */
    sd_ignore(sd_json_parse(body.data != NULL ? (const char *)body.data : "", body.len,
                            CLI_JSON_MAX_VALUES, &doc, NULL));
    exit_status = report(status, &body, doc);
    if (exit_status == 0 && a->wait) {
        exit_status = wait_made(&prof, p, a, doc);
    }
out:
    sd_json_doc_free(doc);
    sd_buf_free(&body);
    sd_profile_clear(&prof);
    return exit_status;
}

size_t cli_warn_dependents(const sd_profile *prof, const char *key)
{
    cli_param p[] = {{"KMSKeyId", key}};
    cli_result r;
    sd_err err = SD_ERR_INIT;
    static const char *const kinds[][3] = {
        {"Disks", "Disk", "DiskId"},
        {"Snapshots", "Snapshot", "SnapshotId"},
        {"Images", "Image", "ImageId"},
        {"Instances", "Instance", "InstanceId"},
    };
    const sd_json_val *total;
    size_t n = 0;

    if (cli_call_json(prof, CLI_ECS_VERSION, "DescribeKeyDependents", p, 1, &r, &err) != SD_OK) {
        return 0; /* no ECS to ask: nothing to warn about */
    }
    total = cli_json_path(&r, "TotalCount", NULL);
    if (r.code[0] == '\0' && total != NULL && strcmp(total->str, "0") != 0) {
        n = (size_t)strtoul(total->str, NULL, 10);
        (void)fprintf(stderr,
                      "WARNING: %s resources depend on %s; with it disabled or deleted "
                      "they cannot be opened:\n",
                      total->str, key);
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            const sd_json_val *list = cli_json_path(&r, kinds[k][0], kinds[k][1]);
            for (const sd_json_val *v = list != NULL ? list->child : NULL; v != NULL; v = v->next) {
                const sd_json_val *id = sd_json_get(v, kinds[k][2]);
                const sd_json_val *st = sd_json_get(v, "Status");
                (void)fprintf(stderr, "  %-10s %s (%s)\n", kinds[k][1], id != NULL ? id->str : "?",
                              st != NULL ? st->str : "");
            }
        }
    }
    cli_result_free(&r);
    return n;
}

int cli_product_main(int argc, char **argv)
{
    const product *p = NULL;
    cli_args a;
    sd_err err = SD_ERR_INIT;
    const action_row *row;

    for (size_t i = 0; i < sizeof products / sizeof products[0]; i++) {
        if (strcmp(argv[0], products[i].word) == 0) {
            p = &products[i];
        }
    }
    if (p == NULL) {
        (void)fprintf(stderr, "sealdisk: unknown product '%s'\n", argv[0]);
        return 2;
    }
    if (cli_args_parse(argc - 1, argv + 1, &a, &err) != SD_OK) {
        (void)fprintf(stderr, "sealdisk %s: %s\n", p->word, err.msg);
        return 2;
    }
    if (a.action == NULL) {
        usage(p);
        return a.help ? 0 : 2;
    }
    row = find_action(p, a.action);
    if (row == NULL && strcmp(p->tag, "ECS") == 0 &&
        strcmp(a.action, "bulk-encrypt-system-disks") == 0) {
        return run(p, &a); /* a command of ours over several ECS actions (R15) */
    }
    if (row == NULL) {
        (void)fprintf(stderr, "sealdisk %s: unknown action '%s' (try 'sealdisk %s --help')\n",
                      p->word, a.action, p->word);
        return 2;
    }
    if (a.help) {
        action_usage(p, row);
        return 0;
    }
    for (size_t i = 0; i < a.nparams; i++) {
        if (!takes(p, row, a.params[i].name)) {
            /* the server would ignore it, and the call would do what was not asked */
            (void)fprintf(stderr,
                          "sealdisk %s: %s takes no parameter --%s; nothing was sent "
                          "(see 'sealdisk %s %s --help')\n",
                          p->word, row->name, a.params[i].name, p->word, row->name);
            return 2;
        }
    }
    return run(p, &a);
}
