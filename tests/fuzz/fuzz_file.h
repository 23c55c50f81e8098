/* fuzz_file.h: hands fuzzer bytes to a parser that reads a file by path,
 * through an anonymous memory file (memfd) named /proc/self/fd/N, so the
 * target exercises the same loading code a real file goes through and
 * leaves nothing on disk. */
#ifndef SD_FUZZ_FILE_H
#define SD_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sys/mman.h>

/* Writes data to a fresh memfd and its /proc path into path; returns the
 * fd (close it after the parse).  Aborts if the kernel refuses, since the
 * target could then test nothing. */
static inline int fuzz_file(const uint8_t *data, size_t size, char path[64])
{
    int fd = memfd_create("fuzz", MFD_CLOEXEC);
    size_t off = 0;

    if (fd < 0) {
        abort();
    }
    while (off < size) {
        ssize_t n = write(fd, data + off, size - off);
        if (n <= 0) {
            abort();
        }
        off += (size_t)n;
    }
    (void)snprintf(path, 64, "/proc/self/fd/%d", fd);
    return fd;
}

#endif
