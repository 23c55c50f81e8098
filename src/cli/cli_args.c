/* cli_args.c: argv to action, parameters and client options.
 *
 * `--Name value` with an upper-case first letter is an API parameter
 * (names are PascalCase, with dots for nesting); `--name value` in lower
 * case is a client option; `--Name=value` works for both; `--wait` and
 * `--yes` take no value.  Values are borrowed from argv. */
#include <string.h>

#include "cli/cli.h"

static int is_param_name(const char *n)
{
    return n[0] >= 'A' && n[0] <= 'Z' && sd_name_ok(n, strlen(n));
}

static sd_code set_option(cli_args *a, const char *name, size_t nlen, const char *value,
                          sd_err *err)
{
    static const struct {
        const char *name;
        size_t off;
    } opts[] = {
        {"endpoint", offsetof(cli_args, endpoint)},
        {"profile", offsetof(cli_args, profile)},
        {"region", offsetof(cli_args, region)},
        {"signature", offsetof(cli_args, signature)},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        if (strlen(opts[i].name) == nlen && strncmp(opts[i].name, name, nlen) == 0) {
            const char **slot = (const char **)(void *)((char *)a + opts[i].off);
            *slot = value;
            return SD_OK;
        }
    }
    return sd_err_set(err, SD_E_INVALID, SD_HERE, "unknown option '--%.*s' (try --help)", (int)nlen,
                      name);
}

sd_code cli_args_parse(int argc, char **argv, cli_args *out, sd_err *err)
{
    sd_code rc = SD_OK;

    memset(out, 0, sizeof *out);
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        char *name;
        char *eq;
        const char *value;
        size_t nlen;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            out->help = true;
            continue;
        }
        if (strcmp(a, "--wait") == 0) {
            out->wait = true; /* the options without a value */
            continue;
        }
        if (strcmp(a, "--yes") == 0) {
            out->yes = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            SD_ENSURE(out->action == NULL, err, SD_E_INVALID,
                      "unexpected '%s': parameters are --Name value", a);
            out->action = a;
            continue;
        }
        name = a + 2;
        eq = strchr(name, '=');
        nlen = eq != NULL ? (size_t)(eq - name) : strlen(name);
        if (eq != NULL) {
            value = eq + 1;
        } else {
            SD_ENSURE(i + 1 < argc, err, SD_E_INVALID, "%s needs a value", a);
            value = argv[++i];
        }
        SD_ENSURE(nlen > 0, err, SD_E_INVALID, "empty option name");
        if (name[0] >= 'a' && name[0] <= 'z') {
            SD_TRY(set_option(out, name, nlen, value, err));
            continue;
        }
        SD_ENSURE(eq == NULL || nlen < 256, err, SD_E_INVALID, "parameter name too long");
        SD_ENSURE(out->nparams < CLI_MAX_PARAMS, err, SD_E_INVALID, "too many parameters");
        if (eq != NULL) {
            *eq = '\0'; /* --Name=value: end the name in place */
        }
        SD_ENSURE(is_param_name(name), err, SD_E_INVALID, "'%s' is not a parameter name", name);
        for (size_t k = 0; k < out->nparams; k++) {
            SD_ENSURE(strcmp(out->params[k].name, name) != 0, err, SD_E_INVALID,
                      "--%s is given twice", name);
        }
        out->params[out->nparams].name = name;
        out->params[out->nparams].value = value;
        out->nparams++;
    }
out:
    return rc;
}
