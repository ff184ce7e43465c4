/*
 * Helpers for unit tests that read files under tests/fixtures: the
 * captured Synapse requests, whose "body" member is what the homeserver
 * sent.  The source directory comes from WARROOM_SRCDIR (set by make
 * check), or the current directory.
 */
#ifndef WARROOM_TEST_FIXTURE_H
#define WARROOM_TEST_FIXTURE_H

#include <stddef.h>

/* Returns allocated (free with free()) the contents of
 * $WARROOM_SRCDIR/tests/fixtures/<rel>, NUL-terminated, or NULL. */
char *fixture_read(const char *rel, size_t *len);

/* Returns allocated (free with free()) the "body" of a captured request
 * in tests/fixtures/synapse/<name>, serialized compactly, or NULL. */
char *fixture_synapse_body(const char *name, size_t *len);

/* Makes a fresh temporary directory; returns allocated, free with
 * fixture_rmdir() which removes it and everything in it. */
char *fixture_tmpdir(void);
void fixture_rmdir(char *dir);

#endif
