/* Status codes and error messages. The library never prints: it fills an
 * rw_error that the caller reports. */
#include "base/base.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *rw_status_str(rw_status s)
{
    switch (s) {
    case RW_OK: return "ok";
    case RW_ERR_ARG: return "invalid argument";
    case RW_ERR_NOMEM: return "out of memory";
    case RW_ERR_IO: return "input/output error";
    case RW_ERR_FORMAT: return "malformed file";
    case RW_ERR_DATA: return "data does not fit";
    case RW_ERR_DIVERGED: return "training diverged";
    case RW_ERR_UNSUPPORTED: return "unsupported";
    case RW_ERR_INTERRUPTED: return "interrupted";
    case RW_ERR_DIST: return "ranks disagree";
    }
    return "unknown status";
}

void rw_error_clear(rw_error *err)
{
    if (!err)
        return;
    err->status = RW_OK;
    err->msg[0] = '\0';
}

rw_status rw_fail(rw_error *err, rw_status st, const char *fmt, ...)
{
    if (err) {
        /* Formatted into a copy first: an argument may point into
         * err->msg itself (a message prefixed with context). */
        char msg[sizeof err->msg];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        memcpy(err->msg, msg, sizeof msg);
        err->status = st;
    }
    return st;
}
