/* common: the front door of the common module (prefix sd_).
 *
 * Errors (sd_err.h), logging (sd_log.h), bounded buffers and readers
 * (sd_buf.h), secrets and constant-time compare (sd_secret.h), base64
 * (sd_b64.h), the injectable clock and RNG and identifiers (sd_env.h),
 * fault points (sd_fault.h), "key = value" files (sd_kv.h), flattened
 * parameter names and safe names (sd_name.h), JSON reading and writing
 * (sd_json.h), the client profile file (sd_profile.h) and token-bucket
 * rate limits (sd_rate.h).  Depends on nothing but libc. */
#ifndef SD_COMMON_H
#define SD_COMMON_H

#include "common/sd_b64.h"
#include "common/sd_buf.h"
#include "common/sd_env.h"
#include "common/sd_err.h"
#include "common/sd_fault.h"
#include "common/sd_fs.h"
#include "common/sd_json.h"
#include "common/sd_kv.h"
#include "common/sd_log.h"
#include "common/sd_name.h"
#include "common/sd_profile.h"
#include "common/sd_rate.h"
#include "common/sd_secret.h"

#endif
