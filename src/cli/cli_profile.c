/* sd_profile.c: the client's credentials and endpoint: built-in
 * defaults, then the profile file (common/sd_profile.c, which the server
 * writes), then the environment, each overriding the one before. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static sd_code apply_env(sd_profile *p, sd_err *err)
{
    sd_code rc = SD_OK;
    /* NOLINTBEGIN(concurrency-mt-unsafe): single-threaded start-up */
    const char *id = getenv("ALIBABA_CLOUD_ACCESS_KEY_ID");
    const char *secret = getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET");
    const char *endpoint = getenv("SEALDISK_ENDPOINT");
    const char *region = getenv("SEALDISK_REGION");
    /* NOLINTEND(concurrency-mt-unsafe) */

    if (id != NULL && id[0] != '\0') {
        SD_TRY(sd_str_copy(p->access_key_id, sizeof p->access_key_id, id, err));
    }
    if (secret != NULL && secret[0] != '\0') {
        sd_secret_free(p->access_key_secret);
        p->access_key_secret = NULL;
        SD_TRY(sd_secret_from(secret, strlen(secret), &p->access_key_secret, err));
    }
    if (endpoint != NULL && endpoint[0] != '\0') {
        SD_TRY(sd_str_copy(p->endpoint, sizeof p->endpoint, endpoint, err));
    }
    if (region != NULL && region[0] != '\0') {
        SD_TRY(sd_str_copy(p->region, sizeof p->region, region, err));
    }
out:
    return rc;
}

sd_code cli_profile_load(const char *path, sd_profile *out, sd_err *err)
{
    sd_code rc = SD_OK;
    char def[512];

    memset(out, 0, sizeof *out);
    memcpy(out->endpoint, "127.0.0.1:8080", sizeof "127.0.0.1:8080");
    memcpy(out->region, "cn-hangzhou", sizeof "cn-hangzhou");
    if (path == NULL) {
        SD_TRY(sd_profile_default_path(def, sizeof def, err));
        path = def;
    }
    rc = sd_profile_read(path, out, err);
    if (rc == SD_E_NOT_FOUND) {
        sd_err_clear(err);
        rc = SD_OK;
    }
    SD_TRY(rc);
    SD_TRY(apply_env(out, err));
    SD_ENSURE(out->access_key_id[0] != '\0' && out->access_key_secret != NULL, err, SD_E_INVALID,
              "no credentials: %s has none and ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET are not set",
              path);
out:
    if (rc != SD_OK) {
        sd_profile_clear(out);
    }
    return rc;
}
