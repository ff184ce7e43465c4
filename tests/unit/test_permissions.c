/*
 * The permission matrix: the most specific rule wins (user ID, then
 * server, then "*"), a user with no rule is a guest, federated users get
 * only what the table gives them, and every decision names its rule.
 */
#include "autoconfig.h"

#include <string.h>

#include "appservice/permissions.h"
#include "tests/tap.h"

int
main(void)
{
    struct config_level_rule rules[] = {
        {.subject = (char *)"*", .level = PERM_NONE},
        {.subject = (char *)"example.org", .level = PERM_ANALYST},
        {.subject = (char *)"@boss:example.org", .level = PERM_ADMIN},
        {.subject = (char *)"partner.net", .level = PERM_GUEST},
        {.subject = (char *)"@intern:example.org", .level = PERM_GUEST},
    };
    struct config_level_map map = {.rules = rules, .n = sizeof(rules) / sizeof(rules[0])};
    struct config_level_map empty = {0};
    struct permissions_decision d;

    d = permissions_resolve(&map, "@alice:example.org");
    is_int(d.level, PERM_ANALYST, "local analyst by server rule");
    is_str(d.rule, "example.org", "decided by the server rule");
    d = permissions_resolve(&map, "@boss:example.org");
    is_int(d.level, PERM_ADMIN, "admin by user rule");
    is_str(d.rule, "@boss:example.org", "decided by the user rule");
    d = permissions_resolve(&map, "@intern:example.org");
    is_int(d.level, PERM_GUEST, "a user rule can lower a server rule");
    d = permissions_resolve(&map, "@eve:partner.net");
    is_int(d.level, PERM_GUEST, "federated partner is a guest");
    d = permissions_resolve(&map, "@mallory:evil.example");
    is_int(d.level, PERM_NONE, "unknown server falls to '*'");
    is_str(d.rule, "*", "decided by '*'");
    d = permissions_resolve(&map, "@alice:example.org.evil.example");
    is_int(d.level, PERM_NONE, "a server that merely starts like ours is not ours");
    d = permissions_resolve(&map, "not-a-user");
    is_int(d.level, PERM_NONE, "a malformed ID gets only '*'");
    d = permissions_resolve(&empty, "@alice:example.org");
    is_int(d.level, PERM_GUEST, "no table: everyone is a guest");
    is_str(d.rule, "default", "decided by the default");
    is_str(permissions_server_of("@a:host:8448"), "host:8448", "server name keeps the port");
    ok(permissions_server_of("@:x") == NULL && permissions_server_of("a:x") == NULL, "malformed IDs");
    is_str(permissions_level_name(PERM_ANALYST), "analyst", "level names");
    tap_done();
}
