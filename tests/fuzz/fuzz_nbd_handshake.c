/* fuzz_nbd_handshake.c: arbitrary bytes as a client's side of the
 * handshake: client flags, then options (and, after a GO, requests). */
#include "fuzz_nbd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_nbd_run(NULL, 0, data, size);
    return 0;
}
