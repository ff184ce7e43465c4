/*
 * Resolving bridge.permissions; see permissions.h.
 */
#include "autoconfig.h"

#include <string.h>

#include "permissions.h"

static const char *const permissions_names[] = {"none", "guest", "analyst", "admin"};

const char *
permissions_level_name(enum perm_level level)
{
    return permissions_names[level];
}

const char *
permissions_server_of(const char *user_id)
{
    const char *colon;

    if (user_id == NULL || user_id[0] != '@')
        return NULL;
    colon = strchr(user_id, ':');
    if (colon == NULL || colon == user_id + 1 || colon[1] == '\0')
        return NULL;
    return colon + 1;
}

struct permissions_decision
permissions_resolve(const struct config_level_map *map, const char *user_id)
{
    struct permissions_decision d = {.level = PERM_GUEST, .rule = "default"};
    const char *server = permissions_server_of(user_id);
    int best = 0; /* 3 user, 2 server, 1 star */

    for (size_t i = 0; i < map->n; i++) {
        const struct config_level_rule *r = &map->rules[i];
        int rank = 0;

        if (server != NULL && strcmp(r->subject, user_id) == 0)
            rank = 3;
        else if (server != NULL && strcmp(r->subject, server) == 0)
            rank = 2;
        else if (strcmp(r->subject, "*") == 0)
            rank = 1;
        if (rank > best) {
            best = rank;
            d.level = r->level;
            d.rule = r->subject;
        }
    }
    return d;
}
