/* fuzz_cli_profile.c: the CLI's profile file (~/.sealdisk/profile), read
 * by cli_profile_load through sd_profile_read: sd_kv's syntax, then its
 * fields (endpoint, region, credentials, signature).  A
 * profile that loads must hold terminated fields and a secret; one that
 * does not must leave nothing behind (ASan's leak check). */
#include <string.h>

#include "cli/cli.h"
#include "fuzz.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sd_profile p;
    char path[64];
    int fd = fuzz_file(data, size, path);

    if (cli_profile_load(path, &p, NULL) == SD_OK) {
        if (memchr(p.endpoint, '\0', sizeof p.endpoint) == NULL ||
            memchr(p.access_key_id, '\0', sizeof p.access_key_id) == NULL ||
            p.access_key_secret == NULL) {
            abort();
        }
        sd_profile_clear(&p);
    }
    (void)close(fd);
    return 0;
}
