/*
 * The registration file: what a homeserver needs to know about warroom
 * (id, url, the two tokens, the bots' namespace, the MSC flags).  `warroom
 * -g` generates it from the configuration, creating the tokens and writing
 * them back into the configuration; registration_check() compares an
 * existing one with the configuration, so that a stale registration is
 * reported before the homeserver and warroom start disagreeing.
 */
#ifndef WARROOM_REGISTRATION_H
#define WARROOM_REGISTRATION_H

#include "appservice/config.h"

/* Length of a generated as_token or hs_token. */
#define REGISTRATION_TOKEN_LEN 64

/* A token of REGISTRATION_TOKEN_LEN characters from [A-Za-z0-9], drawn
 * with OpenSSL's RAND_bytes() without modulo bias.  Returns allocated,
 * free with xfree_secret(); NULL if the random generator failed. */
char *registration_generate_token(void);

/* The bots' exclusive user namespace: "@" + the username template with
 * {name} as ".*" and every regex metacharacter of the rest escaped + ":"
 * + the escaped server name, e.g. "@soc_.*:example\.org".  Returns
 * allocated, free with free(). */
char *registration_user_regex(const struct config *cfg);

/* The same for room aliases, with "#": "#soc_.*:example\.org".  Returns
 * allocated, free with free(). */
char *registration_alias_regex(const struct config *cfg);

/*
 * The whole -g step: loads the config at config_path (the tokens may be
 * absent), creates any missing token and writes it into the config with
 * config_write_scalars() (keeping its comments), then writes the
 * registration file atomically with mode 0600, refusing to replace a
 * symlink or anything but a regular file.  Run again, it keeps the tokens
 * and writes the same file.  Returns 0, or -1 with lines added to errs.
 */
int registration_generate(const char *config_path, const char *registration_path, struct config_errors *errs);

/*
 * Reads the registration file and adds one "file:line: ..." line to errs
 * for everything that would make the homeserver and warroom disagree: id,
 * url, as_token and hs_token (never printed), sender_localpart, a missing
 * or non-exclusive user namespace or one that does not cover the bots,
 * and rate_limited other than false.  Returns 0 if they agree, else -1.
 */
int registration_check(const struct config *cfg, const char *registration_path, struct config_errors *errs);

#endif
