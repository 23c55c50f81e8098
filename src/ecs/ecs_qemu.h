/* ecs_qemu.h: running qemu-img, the one program the ECS control plane
 * starts (ImportImage's qcow2 info and convert).
 *
 * Thread model: ecs_qemu_run may be called from any thread; each call owns
 * its child process and pipes. */
#ifndef SD_ECS_QEMU_H
#define SD_ECS_QEMU_H

#include <stdint.h>

#include "common/common.h"

/* One run's options.  Start from ECS_QEMU_OPTS_INIT. */
typedef struct ecs_qemu_opts {
    const char *prog;   /* NULL: "qemu-img", looked up in PATH */
    int64_t timeout_ms; /* 0: none; past it the program is killed */
    sd_buf *out;        /* its standard output, at most out->max bytes; NULL: discarded */
} ecs_qemu_opts;

#define ECS_QEMU_OPTS_INIT \
    {                      \
        NULL, 0, NULL      \
    }

/* Runs `prog args... files...` and waits for it.  args (NULL-terminated)
 * are options and subcommands, passed as they are; files
 * (NULL-terminated) are paths, and one that is not absolute is passed as
 * "./<file>", so that no name (a leading '-', "nbd:", "json:") reads as an
 * option or a protocol.  No shell is involved, so spaces and quotes in a
 * name are only bytes.  The program's standard input is /dev/null.
 *
 * Errors, each message naming the program:
 *   SD_E_NOT_FOUND  the program is not installed (not in PATH);
 *   SD_E_INTERNAL   it could not be started otherwise (pipes, spawn);
 *   SD_E_IO         it was killed by a signal, or outlived timeout_ms
 *                   (then it is killed);
 *   SD_E_INVALID    it exited with a non-zero status (the message gives
 *                   the status and the first line of its standard error),
 *                   or wrote more than out->max bytes (then it is killed),
 *                   or too many arguments were given. */
SD_MUST_USE sd_code ecs_qemu_run(const ecs_qemu_opts *o, const char *const *args,
                                 const char *const *files, sd_err *err);

#endif
