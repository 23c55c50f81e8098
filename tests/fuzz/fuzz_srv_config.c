/* fuzz_srv_config.c: the server's configuration file (DATA_DIR/sealdisk.conf):
 * sd_kv's syntax, then every key's value parser (addresses, ports, region
 * and zone lists, rates, file descriptors).  Whatever loads must leave a
 * configuration whose strings are terminated within their fields. */
#include <string.h>

#include "fuzz.h"
#include "fuzz_file.h"
#include "server/srv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    srv_config c;
    char path[64];
    int fd = fuzz_file(data, size, path);

    srv_config_defaults(&c);
    if (srv_config_load(&c, path, NULL) == SD_OK) {
        if (memchr(c.data_dir, '\0', sizeof c.data_dir) == NULL ||
            memchr(c.listen_addr, '\0', sizeof c.listen_addr) == NULL ||
            memchr(c.region, '\0', sizeof c.region) == NULL) {
            abort();
        }
    }
    (void)close(fd);
    return 0;
}
