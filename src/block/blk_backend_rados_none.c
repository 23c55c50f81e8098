/* blk_backend_rados_none.c: blk_backend_rados in a build without librados
 * (librados-dev missing at configure time), so callers need no #ifdef and
 * a configuration asking for RADOS gets a clear error instead of a link
 * failure. */
#include "block/blk_backend.h"

sd_code blk_backend_rados(const blk_rados_opts *opts, blk_backend **out, sd_err *err)
{
    (void)opts;
    *out = NULL;
    return sd_err_set(err, SD_E_INVALID, SD_HERE,
                      "this sealdisk was built without librados (install librados-dev)");
}
