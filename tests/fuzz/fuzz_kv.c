/* fuzz_kv.c: the config and profile file parser.  Whatever parses must
 * give back each key through sd_kv_get. */
#include <stdlib.h>

#include "common/common.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sd_kv *kv = NULL;

    if (sd_kv_parse((const char *)data, size, &kv, NULL) == SD_OK) {
        for (size_t i = 0; i < sd_kv_count(kv); i++) {
            if (sd_kv_get(kv, sd_kv_key(kv, i)) == NULL) {
                abort();
            }
        }
        sd_kv_free(kv);
    }
    return 0;
}
