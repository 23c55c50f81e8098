/* unit_proc.h: what /proc tells a unit test about its own process. */
#ifndef SD_UNIT_PROC_H
#define SD_UNIT_PROC_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kilobytes of this process's memory locked in RAM (VmLck).  Under
 * SD_SANITIZE it never moves: ASan's mlock interceptor locks nothing. */
static inline long unit_locked_kb(void)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");

    assert_non_null(f);
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmLck:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
        }
    }
    (void)fclose(f);
    assert_true(kb >= 0);
    return kb;
}

/* Mappings of this process that are locked (VmFlags "lo") and, of those,
 * the ones still included in core dumps (no "dd"). */
static inline void unit_locked_mappings(int *locked, int *dumpable)
{
    char line[512];
    FILE *f = fopen("/proc/self/smaps", "r");

    assert_non_null(f);
    *locked = 0;
    *dumpable = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmFlags:", 8) == 0 && strstr(line, " lo") != NULL) {
            (*locked)++;
            *dumpable += strstr(line, " dd") == NULL;
        }
    }
    (void)fclose(f);
}

#endif
