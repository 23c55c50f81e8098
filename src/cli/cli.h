/* cli: the client, shaped like the aliyun CLI:
 *
 *   sealdisk kms GenerateDataKey --KeyId alias/prod --KeySpec AES_256
 *
 * Parameters are `--Name value` (PascalCase, dots for nested names such as
 * --SystemDisk.Category); lower-case options (--endpoint, --profile,
 * --region, --signature) configure the client.  Credentials come from the
 * profile the server writes at its first start (~/.sealdisk/profile, or
 * $SEALDISK_PROFILE), overridden by the environment
 * (ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET, SEALDISK_ENDPOINT, SEALDISK_REGION).
 * Output is the response's JSON, indented; a failure exits non-zero with
 * the error's Code and Message on stderr.
 * Thread model: single-threaded command-line code. */
#ifndef SD_CLI_H
#define SD_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "common/common.h"

/* ---- profile ----------------------------------------------------------- */

/* Loads the profile (sd_profile.h) at path (NULL: $SEALDISK_PROFILE or
 * ~/.sealdisk/profile) over the defaults (127.0.0.1:8080, cn-hangzhou),
 * then applies the environment.  A missing file is fine when the
 * environment supplies the credentials.  SD_E_INVALID names what is
 * missing.  Free with sd_profile_clear. */
SD_MUST_USE sd_code cli_profile_load(const char *path, sd_profile *out, sd_err *err);

/* ---- parameters -------------------------------------------------------- */

typedef struct cli_param {
    const char *name;
    const char *value;
} cli_param;

#define CLI_MAX_PARAMS 128

typedef struct cli_args {
    const char *action;
    cli_param params[CLI_MAX_PARAMS];
    size_t nparams;
    const char *endpoint;  /* --endpoint */
    const char *profile;   /* --profile */
    const char *region;    /* --region */
    const char *signature; /* --signature v1|v3 */
    bool wait;             /* --wait: poll until what the call makes is ready */
    bool yes;              /* --yes: no confirmation before DisableKey of a used key */
    bool help;
} cli_args;

/* Splits argv (after the product word) into the action, its parameters
 * and client options.  SD_E_INVALID on a dangling or malformed option. */
SD_MUST_USE sd_code cli_args_parse(int argc, char **argv, cli_args *out, sd_err *err);

/* ---- JSON output ------------------------------------------------------- */

/* Values a response may hold for the CLI to index it (sd_json_parse). */
#define CLI_JSON_MAX_VALUES ((size_t)1 << 20)

/* ---- transport --------------------------------------------------------- */

typedef struct cli_header {
    const char *name;
    const char *value;
} cli_header;

/* The host:port of an endpoint, without its scheme; borrowed from it. */
const char *cli_endpoint_host(const char *endpoint);

/* POSTs to the profile's endpoint + "/" + query (already encoded, may be
 * "") with headers; *status gets the HTTP status and body the response
 * body.  Over HTTPS (TLS 1.2 or later) the server must present the key
 * tls_pin names when one is set (with no ca_file, the pin alone is the
 * trust: a self-signed certificate passes), and a certificate that chains
 * to ca_file, or else to the system's CAs.  SD_E_IO when the server cannot
 * be reached or is not trusted (the message says where and why). */
SD_MUST_USE sd_code cli_http_post(const sd_profile *prof, const char *query,
                                  const cli_header *headers, size_t nheaders, int *status,
                                  sd_buf *body, sd_err *err);

/* ---- calls --------------------------------------------------------------- */

/* Signs (V3, or v1 when the profile says so) and POSTs one call of action
 * at version with params; RegionId is added from the profile unless given.
 * *status and body get the response.  SD_E_IO when unreachable. */
SD_MUST_USE sd_code cli_call(const sd_profile *prof, const char *version, const char *action,
                             const cli_param *params, size_t n, int *status, sd_buf *body,
                             sd_err *err);

/* A call whose JSON answer is parsed: code[0] != '\0' when the server
 * answered an error (its Code and Message).  Free with cli_result_free. */
typedef struct cli_result {
    int status;
    sd_buf body;
    sd_json_doc *doc;
    char code[128];
    char message[512];
} cli_result;

SD_MUST_USE sd_code cli_call_json(const sd_profile *prof, const char *version, const char *action,
                                  const cli_param *params, size_t n, cli_result *out, sd_err *err);
void cli_result_free(cli_result *r);
/* root[a][b] (either NULL to stop there), or NULL. */
const sd_json_val *cli_json_path(const cli_result *r, const char *a, const char *b);

#define CLI_KMS_VERSION "2016-01-20"
#define CLI_ECS_VERSION "2014-05-26"

/* ---- background jobs ------------------------------------------------------ */

/* Sees each poll's Status and Progress ("42%"). */
typedef void (*cli_wait_fn)(void *ctx, const char *status, const char *progress);

/* Polls DescribeImages (id "m-...") or DescribeDisks (id "d-...") until id
 * is no longer Creating or ReIniting; fn may be NULL.  true when it ended
 * Available (or In_use, a disk attached);
 * else error says why (CreateFailed, gone, unreachable). */
bool cli_wait_ready(const sd_profile *prof, const char *id, cli_wait_fn fn, void *ctx, char *error,
                    size_t cap);
/* cli_wait_ready with a progress bar on stderr; returns the exit status. */
int cli_wait_bar(const sd_profile *prof, const char *id);

/* `sealdisk verify-encryption --InstanceId i-...` (R16): disable the CMKs
 * of an instance's disks, restart it, observe the failure, enable them
 * again; returns the exit status (0: verified). */
int cli_verify_main(int argc, char **argv);

/* `sealdisk ecs bulk-encrypt-system-disks --InstanceIds i-1,i-2
 * [--KMSKeyId K]` (R15), resumable; returns the exit status. */
int cli_bulk_encrypt(const sd_profile *prof, const cli_args *a);

/* Warns on stderr when ECS resources depend on key (R12) and returns how
 * many; 0 when none, or when there is no ECS to ask. */
size_t cli_warn_dependents(const sd_profile *prof, const char *key);

/* `sealdisk <product> <Action> ...` (argv[0] is the product word, "kms");
 * returns the exit status. */
int cli_product_main(int argc, char **argv);

#endif
