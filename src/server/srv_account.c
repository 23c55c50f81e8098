/* srv_account.c: `sealdisk account create NAME`, run by the operator on the
 * server's host: creates an account (a tenant: its keys, aliases and,
 * later, disks are invisible to every other account) and its first
 * AccessKey, and prints them once as JSON.
 *
 * It opens the data directory the way the server does (same config file,
 * flags and root key) but takes no server lock: SQLite serialises the
 * writes, and a running server sees the new AccessKey on its first use. */
#include <stdio.h>
#include <string.h>

#include <sys/stat.h>

#include "iam/iam.h"
#include "server/srv_int.h"

static void account_usage(void)
{
    printf("usage: sealdisk account create NAME [--data-dir DIR] [--config FILE] [root key "
           "flags]\n\n"
           "Creates an account and its first AccessKey in an initialised data directory\n"
           "and prints them once as JSON; the secret is not kept anywhere else.\n"
           "NAME: 1-63 characters of A-Z a-z 0-9 . _ -\n");
}

static sd_code create(const srv_config *c, const char *name, sd_err *err)
{
    sd_code rc = SD_OK;
    kms_rootkey *root = NULL;
    kms *k = NULL;
    iam *accounts = NULL;
    iam_account_info acct;
    iam_key_info key;
    sd_secret *secret = NULL;
    char db[600];
    struct stat st;

    SD_ENSURE(snprintf(db, sizeof db, "%s/meta.db", c->data_dir) < (int)sizeof db, err,
              SD_E_INVALID, "data directory path too long");
    SD_ENSURE(stat(db, &st) == 0, err, SD_E_NOT_FOUND,
              "%s is not an initialised data directory (start the server once first)", c->data_dir);
    SD_TRY(srv__open_kms(c, false, &root, &k, err)); /* never a new root key */
    SD_TRY(srv__open_iam(c, root, &accounts, err));
    SD_TRY(iam_account_create(accounts, name, &acct, err));
    SD_TRY(iam_key_create(accounts, acct.account_id, &key, &secret, err));
    printf("{\"AccountId\":\"%s\",\"AccountName\":\"%s\",\"AccessKeyId\":\"%s\","
           "\"AccessKeySecret\":\"%.*s\"}\n",
           acct.account_id, acct.name, key.access_key_id, (int)sd_secret_len(secret),
           (const char *)sd_secret_data(secret));
    SD_ENSURE(fflush(stdout) == 0, err, SD_E_IO, "cannot print the new AccessKey");
    sd_log(SD_LOG_INFO, "server", "created account=%s name=%s access_key_id=%s", acct.account_id,
           acct.name, key.access_key_id);
out:
    sd_secret_free(secret);
    iam_close(accounts);
    kms_close(k);
    kms_rootkey_free(root);
    return rc;
}

int srv_account_main(int argc, char **argv)
{
    srv_config c;
    sd_err err = SD_ERR_INIT;
    bool help = false;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        account_usage();
        return 0;
    }
    if (argc < 3 || strcmp(argv[1], "create") != 0 || argv[2][0] == '-') {
        account_usage();
        return 2;
    }
    /* argv[2] (the name) stands where srv__configure expects the command word */
    if (srv__configure(&c, argc - 2, argv + 2, &help, &err) != SD_OK) {
        sd_log(SD_LOG_ERROR, "account", "%s", err.msg);
        return 2;
    }
    if (help) {
        account_usage();
        return 0;
    }
    if (create(&c, argv[2], &err) != SD_OK) {
        sd_log(SD_LOG_ERROR, "account", "%s", err.msg);
        return 1;
    }
    return 0;
}
