/* sd_err.c: recording the first failure of a call chain.
 *
 * The message is formatted once into the fixed buffer of the sd_err; nothing
 * here allocates, so reporting an out-of-memory failure cannot itself fail. */
#include "common/sd_err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void err_fill(sd_err *err, sd_code code, const char *file, int line, const char *fmt,
                     va_list ap) SD_PRINTF(5, 0);

static void err_fill(sd_err *err, sd_code code, const char *file, int line, const char *fmt,
                     va_list ap)
{
    err->code = code;
    err->file = file;
    err->line = line;
    if (vsnprintf(err->msg, sizeof err->msg, fmt, ap) < 0) {
        err->msg[0] = '\0';
    }
}

void sd_err_record(sd_err *err, sd_code code, const char *api_code, const char *file, int line,
                   const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || err->code != SD_OK || code == SD_OK) {
        return;
    }
    va_start(ap, fmt);
    err_fill(err, code, file, line, fmt, ap);
    va_end(ap);
    if (api_code != NULL) {
        size_t n = strnlen(api_code, sizeof err->api_code - 1);
        memcpy(err->api_code, api_code, n);
        err->api_code[n] = '\0';
    }
}

void sd_err_clear(sd_err *err)
{
    if (err != NULL) {
        *err = (sd_err)SD_ERR_INIT;
    }
}

const char *sd_code_name(sd_code code)
{
    switch (code) {
    case SD_OK:
        return "SD_OK";
    case SD_E_INVALID:
        return "SD_E_INVALID";
    case SD_E_NOT_FOUND:
        return "SD_E_NOT_FOUND";
    case SD_E_DENIED:
        return "SD_E_DENIED";
    case SD_E_KEY_STATE:
        return "SD_E_KEY_STATE";
    case SD_E_AUTH:
        return "SD_E_AUTH";
    case SD_E_THROTTLED:
        return "SD_E_THROTTLED";
    case SD_E_CONFLICT:
        return "SD_E_CONFLICT";
    case SD_E_IO:
        return "SD_E_IO";
    case SD_E_NOMEM:
        return "SD_E_NOMEM";
    case SD_E_INTERNAL:
        return "SD_E_INTERNAL";
    case SD_E_NOSPACE:
        return "SD_E_NOSPACE";
    }
    return "SD_E_UNKNOWN";
}

sd_code sd_errno_kind(int e)
{
    return e == ENOSPC || e == EDQUOT ? SD_E_NOSPACE : SD_E_IO;
}
