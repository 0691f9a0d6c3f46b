/* Where a model or checkpoint is written (model_file.c's save writes and
 * renames): the file a path names, whether it may be replaced, the probe
 * before training, and the clean-up after a save (the folder synced, the
 * temporary files of killed writers removed). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "io/io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The folder that holds `path` ("." for a bare name), in dir[0..cap);
 * false when it does not fit. */
static bool parent_dir(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t n = !slash ? 1 : slash == path ? 1 : (size_t)(slash - path);
    if (n >= cap)
        return false;
    memcpy(dir, slash ? path : ".", n);
    dir[n] = '\0';
    return true;
}

/* Makes the rename durable; best effort, as some file systems refuse. */
void rw_sync_parent_dir(const char *path)
{
    char dir[4096];
    if (!parent_dir(path, dir, sizeof dir))
        return;
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Removes what writers of `path` that were killed mid-write left behind:
 * "<path>.tmp.<pid>" files of processes no longer running on this
 * machine, untouched for STALE_SECONDS (a writer on another machine that
 * shares the folder, whose pid means nothing here, writes to its file all
 * the time). Best effort: nothing here can fail the save. */
#define STALE_SECONDS 600
void rw_remove_stale_temps(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char dir[4096];
    if (!parent_dir(path, dir, sizeof dir))
        return;
    size_t bl = strlen(base);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        if (strncmp(nm, base, bl) != 0 || strncmp(nm + bl, ".tmp.", 5) != 0)
            continue;
        const char *digits = nm + bl + 5;
        size_t nd = strspn(digits, "0123456789");
        if (nd == 0 || nd > 9 || digits[nd] != '\0')
            continue; /* not a name save_impl writes */
        long pid = strtol(digits, NULL, 10);
        if (pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* running, or not ours to ask about */
        char full[4096 + 256];
        int k = snprintf(full, sizeof full, "%s/%s", dir, nm);
        struct stat sb;
        if (k > 0 && (size_t)k < sizeof full && lstat(full, &sb) == 0 &&
            S_ISREG(sb.st_mode) && time(NULL) - sb.st_mtime > STALE_SECONDS)
            (void)remove(full);
    }
    closedir(d);
}

/* The file a save of `path` replaces, into real (cap bytes): path itself
 * when it is new or a regular file, the file a symbolic link leads to
 * (so that the link stays and its file is replaced), and an error for a
 * folder, a device, a pipe or a socket, which the rename would replace
 * by a regular file (/dev/null, run as root). */
rw_status rw_save_target(const char *path, const char *what, char *real,
                         size_t cap, rw_error *err)
{
    struct stat sb;
    if (!path || !*path)
        return rw_fail(err, RW_ERR_ARG, "the %s path is empty: expected a "
                       "file name", what);
    if (strlen(path) >= cap)
        return rw_fail(err, RW_ERR_ARG, "%s path is too long (%zu bytes)", what,
                       strlen(path));
    snprintf(real, cap, "%s", path);
    if (lstat(path, &sb) != 0)
        return RW_OK; /* a new name (or a missing folder, found later) */
    if (S_ISLNK(sb.st_mode)) {
        char *to = realpath(path, NULL);
        if (!to)
            return rw_fail(err, RW_ERR_IO, "%s: a symbolic link to a file "
                           "that cannot be reached (%s): expected a file name "
                           "for the %s", path, strerror(errno), what);
        size_t n = strlen(to);
        if (n < cap)
            memcpy(real, to, n + 1);
        free(to);
        if (n >= cap)
            return rw_fail(err, RW_ERR_ARG, "%s: the %s path the link leads "
                           "to is too long (%zu bytes)", path, what, n);
        if (stat(real, &sb) != 0)
            return RW_OK;
    }
    if (S_ISDIR(sb.st_mode))
        return rw_fail(err, RW_ERR_IO, "%s: is a folder: expected a file name "
                       "for the %s", path, what);
    if (!S_ISREG(sb.st_mode))
        return rw_fail(err, RW_ERR_IO, "%s: is not a regular file (a device, "
                       "pipe or socket), which saving the %s would replace: "
                       "expected a file name", path, what);
    return RW_OK;
}

rw_status rw_check_writable(const char *path, const char *what, rw_error *err)
{
    char tmp[4200], real[4096];
    rw_status st = rw_save_target(path, what, real, sizeof real, err);
    if (st != RW_OK)
        return st;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", real, (long)getpid()) >=
        sizeof tmp)
        return rw_fail(err, RW_ERR_ARG, "%s path is too long (%zu bytes)", what,
                       strlen(real));
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return rw_fail(err, RW_ERR_IO, "%s: cannot write the %s there "
                       "(checked before training): %s", path, what,
                       strerror(errno));
    fclose(f);
    remove(tmp);
    return RW_OK;
}

