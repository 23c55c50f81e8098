/* srv_bootstrap.c: accounts at start-up, and the first start.
 *
 * The iam module keeps AccessKey secrets sealed under a key derived from
 * the root key (so the root key never leaves kms).  On an empty data
 * directory, once the server is up (its configuration checked and its
 * listeners bound), the root account and its first AccessKey are created,
 * printed once on stdout, and written to the CLI profile (0600), the one
 * place the secret is kept outside the data directory; later starts print
 * nothing.
 *
 * The API's TLS certificate, unless configured, is DATA_DIR/tls/api.crt
 * and api.key, made self-signed when both are missing.  The profile pins
 * its public key, and every start logs the pin, so an operator can check
 * what a client is shown. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
    o.user_rate = c->user_rate;
    o.user_burst = c->user_burst;
    SD_TRY(iam_open(&o, out, err));
out:
    sd_secret_free(wrap);
    if (rc != SD_OK) {
        iam_close(*out);
        *out = NULL;
    }
    return rc;
}

sd_code srv__first_start(const srv_config *c, iam *accounts, const char *endpoint,
                         const char *tls_pin, sd_err *err)
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
    SD_TRY(sd_profile_default_path(profile, sizeof profile, err));
    SD_TRY(sd_profile_write(profile, endpoint, tls_pin, c->region, key.access_key_id, secret, err));
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

/* path = DATA_DIR/tls/name, or the configured value. */
static sd_code tls_path(const srv_config *c, const char *configured, const char *name, char *path,
                        sd_err *err)
{
    int n = configured[0] != '\0' ? snprintf(path, 600, "%s", configured)
                                  : snprintf(path, 600, "%s/tls/%s", c->data_dir, name);

    if (n < 0 || n >= 600) {
        return sd_err_set(err, SD_E_INVALID, SD_HERE, "TLS file path too long");
    }
    return SD_OK;
}

sd_code srv__api_tls(const srv_config *c, char *cert, char *key, char *pin, sd_err *err)
{
    sd_code rc = SD_OK;
    char dir[600];
    crypto_tls_ctx *check = NULL;
    bool defaults = c->api_tls_cert[0] == '\0' && c->api_tls_key[0] == '\0';

    SD_TRY(tls_path(c, c->api_tls_cert, "api.crt", cert, err));
    SD_TRY(tls_path(c, c->api_tls_key, "api.key", key, err));
    if (defaults && access(cert, F_OK) != 0 && access(key, F_OK) != 0) {
        SD_ENSURE(snprintf(dir, sizeof dir, "%s/tls", c->data_dir) < (int)sizeof dir, err,
                  SD_E_INVALID, "data directory path too long");
        SD_TRY(sd_mkdirs(dir, 0700, err));
        SD_TRY(crypto_cert_self_signed(cert, key, err));
        sd_log(SD_LOG_INFO, "server", "made a self-signed API certificate cert=%s", cert);
    }
    /* the pair is checked now, before the first start prints a secret or
     * writes a profile pointing at a server that will not start */
    SD_TRY(crypto_tls_ctx_x509(cert, key, &check, err));
    SD_TRY(crypto_cert_pin(cert, pin, err));
    sd_log(SD_LOG_INFO, "server", "API certificate cert=%s pin=%s", cert, pin);
out:
    crypto_tls_ctx_free(check);
    return rc;
}
