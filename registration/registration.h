/*
 * The registration file: what a homeserver needs to know about warroom
 * (id, url, tokens, the bots' namespace, the MSC flags), generated from
 * the configuration by `warroom -g`, and checked against it by `warroom
 * -t` and at start-up, so that a stale registration is caught before the
 * homeserver and warroom disagree.
 */
#ifndef WARROOM_REGISTRATION_H
#define WARROOM_REGISTRATION_H

#include "appservice/config.h"

/* A 64-character token from [A-Za-z0-9], from the system's random
 * generator without modulo bias.  Returns allocated, free with
 * xfree_secret(). */
char *registration_generate_token(void);

/* The exclusive namespace of the bots: "@" + the username template with
 * {name} as ".*" and the rest escaped + ":" + the escaped server name.
 * Returns allocated, free with free(). */
char *registration_user_regex(const struct config *cfg);

/* The namespace of the aliases of warroom's rooms ("#soc_.*:server").
 * Returns allocated, free with free(). */
char *registration_alias_regex(const struct config *cfg);

/*
 * The whole -g step: loads the config (the tokens may be absent), creates
 * any missing token and writes it back into the config file (keeping its
 * comments), and writes the registration file atomically with mode 0600,
 * refusing to replace anything but a regular file.  Returns 0, or -1 with
 * lines added to errs.
 */
int registration_generate(const char *config_path, const char *registration_path, struct config_errors *errs);

/*
 * Reads the registration file and reports, as "file:line: ..." lines,
 * everything that would make the homeserver and warroom disagree: id,
 * url, tokens (never printed), sender_localpart, the user namespace,
 * rate_limited.  Returns 0 if they agree, else -1.
 */
int registration_check(const struct config *cfg, const char *registration_path, struct config_errors *errs);

#endif
