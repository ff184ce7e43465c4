/*
 * The core configuration keys, one line each (tmux's options-table.c):
 * name, type, default, help, and where the value goes in struct config.
 * contrib/config.example.yaml documents the same keys; a unit test checks
 * that it names every one.  Also the checks of values that a type alone
 * does not express (server names, localparts, the bot name template).
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "config.h"

const char *
config_check_server_name(const char *value)
{
    const char *colon, *host_end, *p;
    size_t host_len;

    /* Matrix server names: a DNS name, an IPv4 literal or a [IPv6]
     * literal, with an optional :port. */
    if (value[0] == '[') {
        host_end = strchr(value, ']');
        if (host_end == NULL || host_end == value + 1)
            return "is not a valid server name";
        for (p = value + 1; p < host_end; p++) {
            if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
                return "is not a valid server name";
        }
        colon = host_end[1] == ':' ? host_end + 1 : NULL;
        if (host_end[1] != '\0' && colon == NULL)
            return "is not a valid server name";
        host_end++;
    } else {
        colon = strchr(value, ':');
        host_end = colon != NULL ? colon : value + strlen(value);
        host_len = (size_t)(host_end - value);
        if (host_len == 0 || host_len > 255)
            return "is not a valid server name";
        for (p = value; p < host_end; p++) {
            if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
                return "is not a valid server name";
        }
    }
    if (colon != NULL) {
        size_t digits = strlen(colon + 1);

        if (digits == 0 || digits > 5 || strspn(colon + 1, "0123456789") != digits)
            return "has an invalid port";
    }
    return NULL;
}

const char *
config_check_localpart(const char *value)
{
    if (value[0] == '\0')
        return "is empty";
    if (strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789._=-/+") != strlen(value))
        return "is not a valid Matrix user name (lower-case letters, digits and ._=-/+ only)";
    return NULL;
}

static const char *
config_check_id(const char *value)
{
    if (value[0] == '\0' ||
        strspn(value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-") != strlen(value))
        return "is not a valid registration id (letters, digits and ._~- only)";
    return NULL;
}

static const char *
config_check_template(const char *value)
{
    const char *name = strstr(value, "{name}");
    char without[256];
    size_t before;

    if (name == NULL || strstr(name + 1, "{name}") != NULL)
        return "must contain {name} exactly once";
    before = (size_t)(name - value);
    if (strlen(value) - 6 >= sizeof(without))
        return "is too long";
    memcpy(without, value, before);
    strcpy(without + before, name + 6);
    if (without[0] == '\0')
        return "needs a prefix or suffix around {name}, so that the bots have a namespace of their own";
    if (strspn(without, "abcdefghijklmnopqrstuvwxyz0123456789._=-/+") != strlen(without))
        return "may hold only lower-case letters, digits and ._=-/+ around {name}";
    return NULL;
}

static const char *
config_check_prefix(const char *value)
{
    size_t len = strlen(value);

    if (len == 0 || len > 8)
        return "must be 1 to 8 characters";
    for (const char *p = value; *p != '\0'; p++) {
        if (isspace((unsigned char)*p))
            return "must not contain white space";
    }
    return NULL;
}

static const char *
config_check_listen(const char *value)
{
    const char *colon = strrchr(value, ':');

    if (value[0] == '\0')
        return NULL;
    if (colon == NULL || colon == value || colon[1] == '\0' || strspn(colon + 1, "0123456789") != strlen(colon + 1))
        return "must be host:port (or empty to serve metrics on the appservice port)";
    return NULL;
}

static const char *const config_sync_choices[] = {"full", "normal", NULL};
static const char *const config_level_choices[] = {"debug", "info", "warn", "error", NULL};
static const char *const config_format_choices[] = {"text", "json", NULL};

#define CFG(field) offsetof(struct config, field)

const struct config_key config_core_keys[] = {
    {"homeserver.address", CONFIG_URL, NULL, "client-server API base URL of the homeserver", NULL, 0, 0,
     CFG(homeserver.address), 0, NULL},
    {"homeserver.domain", CONFIG_STRING, NULL, "the homeserver's server name, as in @user:server", NULL, 0, 0,
     CFG(homeserver.domain), 0, config_check_server_name},
    {"homeserver.verify_tls", CONFIG_BOOL, "true", "verify the homeserver's TLS certificate", NULL, 0, 0,
     CFG(homeserver.verify_tls), 0, NULL},
    {"appservice.address", CONFIG_URL, NULL, "URL at which the homeserver reaches warroom", NULL, 0, 0,
     CFG(appservice.address), 0, NULL},
    {"appservice.hostname", CONFIG_STRING, "127.0.0.1", "address to listen on", NULL, 0, 0, CFG(appservice.hostname), 0,
     NULL},
    {"appservice.port", CONFIG_INT, "29333", "port to listen on", NULL, 1, 65535, CFG(appservice.port), 0, NULL},
    {"appservice.id", CONFIG_STRING, "warroom", "the registration's id", NULL, 0, 0, CFG(appservice.id), 0,
     config_check_id},
    {"appservice.bot.username", CONFIG_STRING, "warroom", "localpart of the main bot (sender_localpart)", NULL, 0, 0,
     CFG(appservice.bot_username), 0, config_check_localpart},
    {"appservice.bot.displayname", CONFIG_STRING, "Warroom", "display name of the main bot", NULL, 0, 0,
     CFG(appservice.bot_displayname), 0, NULL},
    {"appservice.as_token", CONFIG_SECRET, NULL, "token warroom presents to the homeserver (generated by -g)", NULL, 0,
     0, CFG(appservice.as_token), CONFIG_OPTIONAL, NULL},
    {"appservice.hs_token", CONFIG_SECRET, NULL, "token the homeserver presents to warroom (generated by -g)", NULL, 0,
     0, CFG(appservice.hs_token), CONFIG_OPTIONAL, NULL},
    {"appservice.database", CONFIG_STRING, "warroom.db", "the SQLite database file", NULL, 0, 0,
     CFG(appservice.database), 0, NULL},
    {"appservice.database_sync", CONFIG_ENUM, "full", "full: fsync at every commit; normal: survive crashes only",
     config_sync_choices, 0, 0, CFG(appservice.database_sync), 0, NULL},
    {"appservice.max_body_size", CONFIG_SIZE, "16MiB", "largest request body accepted (413 M_TOO_LARGE above)", NULL,
     1024, INT32_MAX, CFG(appservice.max_body_size), 0, NULL},
    {"appservice.legacy_access_token", CONFIG_BOOL, "false", "also accept the hs_token as ?access_token=", NULL, 0, 0,
     CFG(appservice.legacy_access_token), 0, NULL},
    {"appservice.shutdown_grace", CONFIG_DURATION, "10s", "how long a shutdown waits for work in flight", NULL, 0,
     3600000, CFG(appservice.shutdown_grace), 0, NULL},
    {"metrics.enabled", CONFIG_BOOL, "true", "serve Prometheus metrics at /metrics", NULL, 0, 0, CFG(metrics.enabled),
     0, NULL},
    {"metrics.listen", CONFIG_STRING, "", "host:port of a separate metrics listener; empty: the appservice port", NULL,
     0, 0, CFG(metrics.listen), 0, config_check_listen},
    {"bridge.username_template", CONFIG_STRING, "soc_{name}", "localpart of each tool bot", NULL, 0, 0,
     CFG(bridge.username_template), 0, config_check_template},
    {"bridge.command_prefix", CONFIG_STRING, "!", "what starts a command", NULL, 0, 0, CFG(bridge.command_prefix), 0,
     config_check_prefix},
    {"bridge.command_max_age", CONFIG_DURATION, "10m", "commands older than this are not run", NULL, 0, 0,
     CFG(bridge.command_max_age), 0, NULL},
    {"bridge.permissions", CONFIG_LEVELMAP, "{}", "user ID, server name or * to none, guest, analyst or admin", NULL, 0,
     0, CFG(bridge.permissions), 0, NULL},
    {"logging.level", CONFIG_ENUM, "info", "debug, info, warn or error", config_level_choices, 0, 0, CFG(logging.level),
     0, NULL},
    {"logging.format", CONFIG_ENUM, "text", "text or json lines on stderr", config_format_choices, 0, 0,
     CFG(logging.format), 0, NULL},
    {"bridges", CONFIG_SUBTREE, "{}", "settings of each tool bridge, under bridges.<name>", NULL, 0, 0, 0, 0, NULL},
    {NULL, 0, NULL, NULL, NULL, 0, 0, 0, 0, NULL},
};
