/*
 * bridge.permissions: who may do what.  A rule names a full user ID, a
 * server name, or "*"; the most specific rule that matches decides (user
 * ID, then server, then "*"), as in mautrix bridges.  With no matching
 * rule a user is a guest: warroom's own users and federated users alike
 * may read and talk, and run only what guests may run, until the table
 * says more.  Every decision names the rule that made it, for the log
 * and the audit trail.
 */
#ifndef WARROOM_PERMISSIONS_H
#define WARROOM_PERMISSIONS_H

#include "config.h"
#include "permission_level.h"

struct permissions_decision {
    enum perm_level level;
    const char *rule; /* the subject that matched ("@a:x", "x", "*"), or "default"; borrowed from the map */
};

/* Resolves user_id's level; never fails.  A malformed user ID gets the
 * "*" rule or the default. */
struct permissions_decision permissions_resolve(const struct config_level_map *map, const char *user_id);

/* "none", "guest", "analyst", "admin". */
const char *permissions_level_name(enum perm_level level);

/* The server name of a user ID ("@a:example.org:8448" -> "example.org:8448"),
 * borrowed from user_id, or NULL if it is not a user ID. */
const char *permissions_server_of(const char *user_id);

#endif
