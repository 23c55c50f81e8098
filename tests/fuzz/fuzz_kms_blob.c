/* fuzz_kms_blob.c: the ciphertext blob parser.  A blob it accepts must
 * have its parts inside the input, in order, and ids that fit. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kms/kms_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kms_blob b;

    if (kms__blob_parse(data, size, &b, NULL) == SD_OK) {
        if (b.header != data || b.header_len > size || b.nonce != data + b.header_len ||
            b.tag + 16 != data + size || strlen(b.key_id) == 0 || strlen(b.version_id) == 0 ||
            b.ct_len > KMS_PLAIN_MAX) {
            abort();
        }
    }
    return 0;
}
