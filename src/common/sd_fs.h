/* sd_fs: file-system helpers shared by the server, the CLI and the stores.
 * Thread model: reentrant. */
#ifndef SD_FS_H
#define SD_FS_H

#include <stddef.h>

#include <sys/types.h>

#include "common/sd_err.h"

/* mkdir -p: creates path and its missing parents with mode (existing ones
 * are left as they are).  SD_E_INVALID for an empty or over-long path;
 * SD_E_IO names the directory that could not be made and why. */
SD_MUST_USE sd_code sd_mkdirs(const char *path, mode_t mode, sd_err *err);

/* realpath(3) into out (cap bytes).  libc writes a resolved path of up to
 * PATH_MAX (4096) bytes wherever it is given a buffer, and FORTIFY_SOURCE
 * aborts the process if that buffer is smaller; so the path is resolved
 * into libc's own allocation and copied only if it fits.  The errno of a
 * failed resolution is left in errno.  SD_E_NOT_FOUND: path (or a part of
 * it) does not exist or cannot be searched; SD_E_INVALID: the resolved
 * path does not fit in cap; SD_E_NOMEM. */
SD_MUST_USE sd_code sd_realpath(const char *path, char *out, size_t cap, sd_err *err);

/* Writes this process's id and a newline to path, through a temporary
 * file renamed over it, so a reader sees no file or the whole id: a
 * supervisor (or a test) that waits for the file waits for the condition
 * the caller writes it after, such as bound listeners.  SD_E_IO. */
SD_MUST_USE sd_code sd_write_pidfile(const char *path, sd_err *err);

#endif
