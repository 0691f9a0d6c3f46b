/* Small helpers more than one floor needs, kept once: a qsort comparison,
 * the last part of a path and zlib's message without its path. */
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rw_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

const char *rw_base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

const char *rw_gz_msg(const char *msg, const char *path)
{
    size_t n = strlen(path);
    if (msg && strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
        return msg + n + 2;
    return msg ? msg : "unknown error";
}

const char *rw_not_regular(const struct stat *sb)
{
    if (S_ISREG(sb->st_mode))
        return NULL;
    return S_ISDIR(sb->st_mode) ? "is a folder, expected a file"
                                : "not a regular file (a pipe, device or socket)";
}

FILE *rw_open_regular(const char *path, const char **why)
{
    /* Opened without blocking, so that a pipe (which open() would wait on
     * for a writer) is seen and refused, then read as usual. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        *why = strerror(errno);
        return NULL;
    }
    struct stat sb;
    int flags = fcntl(fd, F_GETFL);
    FILE *f = NULL;
    *why = fstat(fd, &sb) != 0 ? strerror(errno) : rw_not_regular(&sb);
    if (!*why && (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 ||
                  !(f = fdopen(fd, "rb"))))
        *why = strerror(errno);
    if (!f)
        close(fd);
    return f;
}
