/* srv_audit.c: `sealdisk audit`, which prints the audit log's lines that
 * match the given filters, as JSON lines, on the host that runs the server
 * (the log lives in its data directory). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_audit.h"
#include "server/srv_int.h"

static void print_line(void *ctx, const char *line)
{
    unsigned long *n = ctx;
    (*n)++;
    printf("%s\n", line);
}

static void audit_usage(void)
{
    printf("usage: sealdisk audit [--data-dir DIR] [--account ID] [--action NAME]\n"
           "                      [--key-id KEY] [--since YYYY-MM-DDThh:mm:ssZ]\n\n"
           "Prints the KMS audit log's lines that match every filter given.\n");
}

int srv_audit_main(int argc, char **argv)
{
    srv_config c;
    api_audit_filter f = {NULL, NULL, NULL, 0};
    char path[600];
    sd_err err = SD_ERR_INIT;
    unsigned long n = 0;

    srv_config_defaults(&c);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            audit_usage();
            return 0;
        }
        if (v == NULL) {
            sd_log(SD_LOG_ERROR, "audit", "%s needs a value (try --help)", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--data-dir") == 0 && strlen(v) < sizeof c.data_dir) {
            memcpy(c.data_dir, v, strlen(v) + 1);
        } else if (strcmp(a, "--account") == 0) {
            f.account = v;
        } else if (strcmp(a, "--action") == 0) {
            f.action = v;
        } else if (strcmp(a, "--key-id") == 0) {
            f.key_id = v;
        } else if (strcmp(a, "--since") == 0) {
            if (sd_time_parse_iso8601(v, &f.since, &err) != SD_OK) {
                sd_log(SD_LOG_ERROR, "audit", "--since: %s", err.msg);
                return 2;
            }
        } else {
            sd_log(SD_LOG_ERROR, "audit", "unknown option '%s' (try --help)", a);
            return 2;
        }
    }
    if (snprintf(path, sizeof path, "%s/audit.log", c.data_dir) >= (int)sizeof path) {
        sd_log(SD_LOG_ERROR, "audit", "data directory path too long");
        return 2;
    }
    if (api_audit_query(path, &f, print_line, &n, &err) != SD_OK) {
        sd_log(SD_LOG_ERROR, "audit", "%s", err.msg);
        return 1;
    }
    return 0;
}
