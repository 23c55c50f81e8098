/* sd_name: names.  Flattened parameter names (alibaba-api.md §4.1), shared
 * by the server's parameter checks and the CLI, which both read
 * api_params.def; and the safe names the block store gives disks and
 * objects.
 * Thread model: pure functions. */
#ifndef SD_NAME_H
#define SD_NAME_H

#include <stdbool.h>
#include <stddef.h>

/* Whether name matches pattern: dot-separated segments compared exactly,
 * except that a pattern segment "N" matches a list index (1, 2, ... with
 * no leading zero), so "DataDisk.N.Size" matches "DataDisk.2.Size". */
bool sd_name_match(const char *pattern, const char *name);

/* Whether some name matching pattern starts with prefix + "." or is
 * prefix itself ("DataDisk" for "DataDisk.N.Size"). */
bool sd_name_has_prefix(const char *pattern, const char *prefix);

/* Whether name is 1 to max bytes of [A-Za-z0-9._-]: safe as a file name
 * component and in a store row, with no separator, space or control byte.
 * (A file name must also refuse a leading '.': the caller checks that.) */
bool sd_name_ok(const char *name, size_t max);

#endif
