/* fuzz_nbd_requests.c: arbitrary bytes as the request stream of a client
 * that negotiated structured replies, base:allocation and block sizes. */
#include "fuzz_nbd.h"

/* client flags; STRUCTURED_REPLY; SET_META_CONTEXT d1 base:allocation;
 * GO d1 asking for NBD_INFO_BLOCK_SIZE */
static const uint8_t handshake[] = {
    0,   0,   0,   3,   'I', 'H', 'A', 'V', 'E', 'O', 'P', 'T', 0,   0,   0,   8,   0,   0,   0,
    0,   'I', 'H', 'A', 'V', 'E', 'O', 'P', 'T', 0,   0,   0,   10,  0,   0,   0,   29,  0,   0,
    0,   2,   'd', '1', 0,   0,   0,   1,   0,   0,   0,   15,  'b', 'a', 's', 'e', ':', 'a', 'l',
    'l', 'o', 'c', 'a', 't', 'i', 'o', 'n', 'I', 'H', 'A', 'V', 'E', 'O', 'P', 'T', 0,   0,   0,
    7,   0,   0,   0,   10,  0,   0,   0,   2,   'd', '1', 0,   1,   0,   3,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_nbd_run(handshake, sizeof handshake, data, size);
    return 0;
}
