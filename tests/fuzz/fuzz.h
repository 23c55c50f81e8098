/* fuzz.h: the libFuzzer entry point, declared so -Wmissing-prototypes
 * accepts each target's definition. */
#ifndef SD_FUZZ_H
#define SD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
