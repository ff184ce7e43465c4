/*
 * Atomic file replacement; see atomic_file.h.  The temporary file lives in
 * the target's directory because rename(2) is only atomic within one file
 * system.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file.h"
#include "xmalloc.h"

/* The directory part of path ("." for a bare name).  Returns allocated,
 * free with free(). */
static char *
atomic_file_dir(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

/* Writes all of data to fd, going on after short writes and EINTR. */
static int
atomic_file_write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int
atomic_file_check(const char *path, char **cause)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        *cause = xasprintf("cannot stat: %s", strerror(errno));
        return -1;
    }
    if (S_ISLNK(st.st_mode)) {
        *cause = xstrdup("is a symbolic link; refusing to replace it");
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        *cause = xstrdup("is not a regular file; refusing to replace it");
        return -1;
    }
    return 0;
}

int
atomic_file_write(const char *path, const void *data, size_t len, mode_t mode, char **cause)
{
    struct stat st;
    char *dir = NULL, *tmp = NULL;
    const char *base;
    int fd = -1, dfd = -1, have_old = 0, rc = -1;

    *cause = NULL;
    if (atomic_file_check(path, cause) != 0)
        goto out;
    have_old = lstat(path, &st) == 0;

    dir = atomic_file_dir(path);
    base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
    tmp = xasprintf("%s/.%s.tmp-XXXXXX", dir, base);
    /* mkstemp creates the file with O_EXCL and mode 0600, so the secret
     * is never readable by others, not even for a moment. */
    fd = mkstemp(tmp);
    if (fd < 0) {
        *cause = xasprintf("cannot create a temporary file in %s: %s", dir, strerror(errno));
        free(tmp);
        tmp = NULL;
        goto out;
    }
    if (have_old && (st.st_uid != geteuid() || st.st_gid != getegid())) {
        /* Keep the owner an administrator chose (for example the
         * homeserver's group); failing that, the file stays ours. */
        if (fchown(fd, st.st_uid, st.st_gid) != 0 && errno != EPERM) {
            *cause = xasprintf("cannot set the owner: %s", strerror(errno));
            goto out;
        }
    }
    if (fchmod(fd, mode) != 0) {
        *cause = xasprintf("cannot set the mode: %s", strerror(errno));
        goto out;
    }
    if (atomic_file_write_all(fd, data, len) != 0) {
        *cause = xasprintf("cannot write: %s", strerror(errno));
        goto out;
    }
    if (fsync(fd) != 0) {
        *cause = xasprintf("cannot sync: %s", strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        *cause = xasprintf("cannot close: %s", strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        *cause = xasprintf("cannot rename the temporary file into place: %s", strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL;
    /* The rename is durable only once the directory is synced. */
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        *cause = xasprintf("written, but cannot sync the directory %s: %s", dir, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (tmp != NULL) {
        unlink(tmp);
        free(tmp);
    }
    free(dir);
    return rc;
}
