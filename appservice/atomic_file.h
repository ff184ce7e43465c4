/*
 * Replacing a file atomically: readers (the homeserver, a second warroom,
 * an editor) see the old contents or the new, never a half-written file,
 * and a crash leaves one of the two on disk.  Used by `warroom -g` for the
 * configuration and the registration file, both of which hold tokens.
 */
#ifndef WARROOM_ATOMIC_FILE_H
#define WARROOM_ATOMIC_FILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Writes len bytes of data to path: a new temporary file in the same
 * directory (created with O_EXCL, so never through a symlink), fsync,
 * rename over path, fsync of the directory.  The file gets mode, and the
 * owner and group of the file it replaces where the process may set them.
 * An existing path that is not a regular file (a symlink, a directory, a
 * device) is refused, not followed.  Returns 0, or -1 with *cause
 * (allocated, free with free()); on failure path is unchanged, except
 * when only the final sync of the directory fails (the cause says so).
 */
int atomic_file_write(const char *path, const void *data, size_t len, mode_t mode, char **cause);

/* Whether atomic_file_write() would accept path as a target: returns 0 if
 * path is absent or a regular file, else -1 with *cause (allocated, free
 * with free()).  Lets a caller refuse before doing anything else. */
int atomic_file_check(const char *path, char **cause);

#endif
