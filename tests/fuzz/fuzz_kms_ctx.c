/* fuzz_kms_ctx.c: the EncryptionContext JSON parser.  Whatever parses must
 * give a canonical form that starts with its pair count. */
#include <stdlib.h>

#include "fuzz.h"
#include "kms/kms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kms_ctx *c = NULL;
    size_t n = 0;
    const uint8_t *b;

    if (kms_ctx_from_json((const char *)data, size, &c, NULL) == SD_OK) {
        b = kms_ctx_bytes(c, &n);
        if (n < 4 || sd_load_u32be(b) > 64) {
            abort();
        }
        kms_ctx_free(c);
    }
    return 0;
}
