/* sd_name.c: segment-wise matching of flattened parameter names, and the
 * check of safe names.  A pattern's "N" stands for a list index; everything
 * else is literal, so a table row names a whole family of flattened
 * parameters. */
#include "common/sd_name.h"

#include <string.h>

/* Length of the segment at s (up to '.' or the end). */
static size_t seg_len(const char *s)
{
    const char *dot = strchr(s, '.');
    return dot != NULL ? (size_t)(dot - s) : strlen(s);
}

static bool is_index(const char *s, size_t n)
{
    if (n == 0 || n > 6 || s[0] < '1' || s[0] > '9') {
        return false;
    }
    for (size_t i = 1; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

static bool seg_match(const char *p, size_t pn, const char *s, size_t sn)
{
    if (pn == 1 && p[0] == 'N') {
        return is_index(s, sn);
    }
    return pn == sn && strncmp(p, s, pn) == 0;
}

bool sd_name_match(const char *pattern, const char *name)
{
    for (;;) {
        size_t pn = seg_len(pattern);
        size_t sn = seg_len(name);
        if (!seg_match(pattern, pn, name, sn)) {
            return false;
        }
        pattern += pn;
        name += sn;
        if (*pattern == '\0' || *name == '\0') {
            return *pattern == '\0' && *name == '\0';
        }
        pattern++; /* both at a '.' */
        name++;
    }
}

bool sd_name_has_prefix(const char *pattern, const char *prefix)
{
    for (;;) {
        size_t pn = seg_len(pattern);
        size_t sn = seg_len(prefix);
        if (!seg_match(pattern, pn, prefix, sn)) {
            return false;
        }
        pattern += pn;
        prefix += sn;
        if (*prefix == '\0') {
            return true;
        }
        if (*pattern == '\0') {
            return false;
        }
        pattern++;
        prefix++;
    }
}

bool sd_name_ok(const char *name, size_t max)
{
    size_t n = strnlen(name, max + 1);

    if (n == 0 || n > max) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}
