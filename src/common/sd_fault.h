/* sd_fault: named fault-injection points for test builds (STYLE B3).
 *
 *   if (SD_FAULT("blk.flush")) { errno = EIO; goto fail; }
 *
 * A point is armed from the environment: SEALDISK_FAULTS=blk.flush:3 makes
 * the third pass through "blk.flush" fail; "blk.flush:3+" makes the third and
 * every later pass fail.  Several points are separated by commas.  Tests may
 * also arm points in-process with sd_fault_arm.  Builds without SD_FAULTS
 * compile every point to 0.
 * Thread model: thread-safe (a mutex around the counters). */
#ifndef SD_FAULT_H
#define SD_FAULT_H

#include <stdbool.h>

#ifdef SD_FAULTS
bool sd_fault_hit(const char *name);
/* Arms name to fail on its nth next pass (and after, if sticky); n = 0 disarms. */
void sd_fault_arm(const char *name, unsigned n, bool sticky);
/* Disarms every point and forgets the environment. */
void sd_fault_reset(void);
#define SD_FAULT(name) sd_fault_hit(name)
#else
#define SD_FAULT(name) ((void)(name), false) /* names still count as used */
#endif

#endif
