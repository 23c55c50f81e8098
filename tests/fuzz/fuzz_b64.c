/* fuzz_b64.c: the strict base64 decoder.  Whatever it accepts must
 * re-encode to exactly the same text (one encoding per byte string). */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *out;
    char *text;
    size_t n = 0;

    if (size > 4096) {
        return 0;
    }
    out = malloc(sd_b64_dec_max(size) + 1);
    text = malloc(size + 1);
    if (out == NULL || text == NULL) {
        goto out;
    }
    if (sd_b64_decode((const char *)data, size, out, sd_b64_dec_max(size), &n, NULL) == SD_OK) {
        if (sd_b64_encode(out, n, text, size + 1, NULL) != SD_OK || strlen(text) != size ||
            memcmp(text, data, size) != 0) {
            abort();
        }
    }
out:
    free(out);
    free(text);
    return 0;
}
