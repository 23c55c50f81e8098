/* sd_fs: file-system helpers shared by the server, the CLI and the stores.
 * Thread model: reentrant. */
#ifndef SD_FS_H
#define SD_FS_H

#include <sys/types.h>

#include "common/sd_err.h"

/* mkdir -p: creates path and its missing parents with mode (existing ones
 * are left as they are).  SD_E_INVALID for an empty or over-long path;
 * SD_E_IO names the directory that could not be made and why. */
SD_MUST_USE sd_code sd_mkdirs(const char *path, mode_t mode, sd_err *err);

#endif
