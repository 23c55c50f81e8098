/* srv_bootstrap.c: accounts at start-up, and the first start.
 *
 * The iam module keeps AccessKey secrets sealed under a key derived from
 * the root key (so the root key never leaves kms).  On an empty data
 * directory, once the server is up (its configuration checked and its
 * listeners bound), the root account and its first AccessKey are created,
 * printed once on stdout, and written to the CLI profile (0600), the one
 * place the secret is kept outside the data directory; later starts print
 * nothing. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "crypto/crypto.h"
#include "iam/iam.h"
#include "server/srv_int.h"

#define IAM_WRAP_LABEL "sealdisk-iam-access-key-wrap-v1"

sd_code srv__open_iam(const srv_config *c, const kms_rootkey *root, iam **out, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_secret *wrap = NULL;
    iam_opts o = IAM_OPTS_INIT;
    char db[600];

    *out = NULL;
    SD_ENSURE(snprintf(db, sizeof db, "%s/meta.db", c->data_dir) < (int)sizeof db, err,
              SD_E_INVALID, "data directory path too long");
    SD_TRY(kms_rootkey_derive(root, IAM_WRAP_LABEL, &wrap, err));
    o.db_path = db;
    o.wrap_key = wrap;
    o.clock = sd_clock_system();
    o.rng = crypto_rng_system();
    o.nonce_capacity = c->replay_cache_entries;
    SD_TRY(iam_open(&o, out, err));
out:
    sd_secret_free(wrap);
    if (rc != SD_OK) {
        iam_close(*out);
        *out = NULL;
    }
    return rc;
}

sd_code srv__first_start(const srv_config *c, iam *accounts, const char *endpoint, sd_err *err)
{
    sd_code rc = SD_OK;
    sd_secret *secret = NULL;
    iam_account_info acct;
    iam_key_info key;
    bool created = false;
    char profile[512];

    SD_TRY(iam_bootstrap(accounts, &created, &acct, &key, &secret, err));
    if (!created) {
        goto out;
    }
    SD_TRY(cli_profile_default_path(profile, sizeof profile, err));
    SD_TRY(cli_profile_write(profile, endpoint, c->region, key.access_key_id, secret, err));
    /* Shown once, on stdout (not the log): the operator's first credentials. */
    printf("sealdisk: initialised %s\n"
           "  root account:      %s\n"
           "  AccessKeyId:       %s\n"
           "  AccessKeySecret:   %.*s\n"
           "  CLI profile:       %s (0600)\n"
           "The secret is not shown again; it is kept only in the profile above.\n",
           c->data_dir, acct.account_id, key.access_key_id, (int)sd_secret_len(secret),
           (const char *)sd_secret_data(secret), profile);
    if (fflush(stdout) != 0) {
        sd_log(SD_LOG_WARN, "server", "could not print the first AccessKey");
    }
    sd_log(SD_LOG_INFO, "server", "initialised account=%s access_key_id=%s profile=%s",
           acct.account_id, key.access_key_id, profile);
out:
    sd_secret_free(secret);
    return rc;
}
