/*
 * The core configuration keys, one entry each, as tmux's options-table.c
 * describes its options: name, type, default, help.  config.c validates a
 * file against this table, contrib/config.example.yaml documents the same
 * keys (a unit test checks that it names every one with its default), and
 * bridges describe their own keys under bridges.<name> the same way.
 *
 * The value checks a string key may name (config_key.check) live here too:
 * each returns NULL for an acceptable value, or the end of a sentence
 * that config.c prefixes with the key and the value.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

#include "config.h"

/* Same order as enum log_level and enum log_format. */
static const char *const config_table_log_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const config_table_log_formats[] = {"text", "json", NULL};
/* SQLite's PRAGMA synchronous, as struct config documents: 0 full, 1 normal. */
static const char *const config_table_sync[] = {"full", "normal", NULL};

/* True if c may appear in a Matrix user localpart. */
static int
config_table_localpart_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("._=/+-", c) != NULL;
}

/* Parses "[v6]" or a DNS name/IPv4 address, then an optional or required
 * ":port"; returns 0 if value is such a host. */
static int
config_table_host_port(const char *value, int port_required)
{
    const char *p = value, *colon;
    size_t hostlen;
    long port = 0;
    char buf[INET6_ADDRSTRLEN + 1];
    struct in6_addr a6;

    if (*p == '[') {
        const char *close = strchr(p, ']');

        if (close == NULL || (size_t)(close - p - 1) >= sizeof(buf) || close == p + 1)
            return -1;
        memcpy(buf, p + 1, (size_t)(close - p - 1));
        buf[close - p - 1] = '\0';
        if (inet_pton(AF_INET6, buf, &a6) != 1)
            return -1;
        p = close + 1;
        if (*p != '\0' && *p != ':')
            return -1;
    } else {
        colon = strchr(p, ':');
        hostlen = colon != NULL ? (size_t)(colon - p) : strlen(p);
        /* The spec's dns-name: 1 to 255 of letters, digits, '-' and '.';
         * empty labels (".." or a leading dot) are refused as well. */
        if (hostlen == 0 || hostlen > 255 || *p == '.')
            return -1;
        for (size_t i = 0; i < hostlen; i++) {
            char c = p[i];

            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
                return -1;
            if (c == '.' && i + 1 < hostlen && p[i + 1] == '.')
                return -1;
        }
        p += hostlen;
    }
    if (*p == '\0')
        return port_required ? -1 : 0;
    p++; /* the ':' */
    if (*p == '\0' || strlen(p) > 5)
        return -1;
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        port = port * 10 + (*p - '0');
    }
    return port >= 1 && port <= 65535 ? 0 : -1;
}

const char *
config_check_server_name(const char *value)
{
    if (config_table_host_port(value, 0) != 0)
        return "is not a valid server name (a host name or IP literal, with an optional :port)";
    return NULL;
}

const char *
config_check_localpart(const char *value)
{
    if (*value == '\0' || strlen(value) > 255)
        return "is not a valid Matrix localpart (1 to 255 of a-z, 0-9 and ._=/+-)";
    for (const char *p = value; *p != '\0'; p++) {
        if (!config_table_localpart_char(*p))
            return "is not a valid Matrix localpart (1 to 255 of a-z, 0-9 and ._=/+-)";
    }
    return NULL;
}

/* appservice.id: the registration id, which homeservers put in URLs. */
static const char *
config_table_check_id(const char *value)
{
    if (*value == '\0')
        return "must not be empty";
    for (const char *p = value; *p != '\0'; p++) {
        char c = *p;

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("._~-", c)))
            return "may only contain letters, digits and ._~-";
    }
    return NULL;
}

/* A value that would only fail later, at bind() or sqlite3_open(). */
static const char *
config_table_check_nonempty(const char *value)
{
    return *value == '\0' ? "must not be empty" : NULL;
}

/*
 * bridge.username_template: "{name}" exactly once, and something around
 * it, because the bots' exclusive namespace is derived from the template:
 * a bare "{name}" would claim every user of the homeserver.
 */
static const char *
config_table_check_template(const char *value)
{
    const char *at = strstr(value, "{name}");
    size_t len = strlen(value);

    if (at == NULL || strstr(at + 1, "{name}") != NULL)
        return "must contain {name} exactly once";
    if (len == strlen("{name}"))
        return "must have characters around {name}, or the bots' namespace would claim every user";
    for (size_t i = 0; i < len; i++) {
        if (value + i == at) {
            i += strlen("{name}") - 1;
            continue;
        }
        if (!config_table_localpart_char(value[i]))
            return "may only contain {name} and a-z, 0-9 and ._=/+-";
    }
    return NULL;
}

/* bridge.command_prefix: 1 to 8 characters (not bytes), none of them a
 * space or a control character, so that "!dns" is told from prose. */
static const char *
config_table_check_prefix(const char *value)
{
    size_t chars = 0;

    for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
        if (*p <= 0x20 || *p == 0x7f)
            return "must be 1 to 8 characters without spaces";
        if ((*p & 0xc0) != 0x80)
            chars++;
    }
    if (chars < 1 || chars > 8)
        return "must be 1 to 8 characters without spaces";
    return NULL;
}

/* metrics.listen: "" (the appservice listener) or host:port. */
static const char *
config_table_check_listen(const char *value)
{
    if (*value != '\0' && config_table_host_port(value, 1) != 0)
        return "must be empty or host:port (for example 127.0.0.1:9100 or [::1]:9100)";
    return NULL;
}

#define OFF(field) offsetof(struct config, field)

const struct config_key config_core_keys[] = {
    {.name = "homeserver.address",
     .type = CONFIG_URL,
     .help = "the homeserver's client-server API, as warroom reaches it (http://localhost:8008)",
     .offset = OFF(homeserver.address)},
    {.name = "homeserver.domain",
     .type = CONFIG_STRING,
     .help = "the homeserver's server name, the part after ':' in user IDs (example.org)",
     .offset = OFF(homeserver.domain),
     .check = config_check_server_name},
    {.name = "homeserver.verify_tls",
     .type = CONFIG_BOOL,
     .default_value = "true",
     .help = "check the homeserver's TLS certificate (turn off only for a test homeserver)",
     .offset = OFF(homeserver.verify_tls)},

    {.name = "appservice.address",
     .type = CONFIG_URL,
     .help = "the URL the homeserver uses to reach warroom (http://localhost:29333)",
     .offset = OFF(appservice.address)},
    {.name = "appservice.hostname",
     .type = CONFIG_STRING,
     .default_value = "127.0.0.1",
     .help = "the address warroom listens on (0.0.0.0 or :: for every interface)",
     .offset = OFF(appservice.hostname),
     .check = config_table_check_nonempty},
    {.name = "appservice.port",
     .type = CONFIG_INT,
     .default_value = "29333",
     .help = "the TCP port warroom listens on",
     .min = 1,
     .max = 65535,
     .offset = OFF(appservice.port)},
    {.name = "appservice.id",
     .type = CONFIG_STRING,
     .default_value = "warroom",
     .help = "the id of the registration; homeservers use it in URLs and logs",
     .offset = OFF(appservice.id),
     .check = config_table_check_id},
    {.name = "appservice.bot.username",
     .type = CONFIG_STRING,
     .default_value = "warroom",
     .help = "the localpart of warroom's own bot (sender_localpart in the registration)",
     .offset = OFF(appservice.bot_username),
     .check = config_check_localpart},
    {.name = "appservice.bot.displayname",
     .type = CONFIG_STRING,
     .default_value = "Warroom",
     .help = "the display name of warroom's own bot",
     .offset = OFF(appservice.bot_displayname)},
    {.name = "appservice.as_token",
     .type = CONFIG_SECRET,
     .help = "the token warroom sends to the homeserver; written by warroom -g",
     .offset = OFF(appservice.as_token),
     .flags = CONFIG_OPTIONAL},
    {.name = "appservice.hs_token",
     .type = CONFIG_SECRET,
     .help = "the token the homeserver sends to warroom; written by warroom -g",
     .offset = OFF(appservice.hs_token),
     .flags = CONFIG_OPTIONAL},
    {.name = "appservice.database",
     .type = CONFIG_STRING,
     .default_value = "warroom.db",
     .help = "the SQLite database file (events, index, outbox, audit log)",
     .offset = OFF(appservice.database),
     .check = config_table_check_nonempty},
    {.name = "appservice.database_sync",
     .type = CONFIG_ENUM,
     .default_value = "full",
     .help = "SQLite's synchronous mode: full survives a power cut, normal only a crash of warroom",
     .choices = config_table_sync,
     .offset = OFF(appservice.database_sync)},
    {.name = "appservice.max_body_size",
     .type = CONFIG_SIZE,
     .default_value = "16MiB",
     .help = "the largest request body the homeserver may send (larger ones get 413 M_TOO_LARGE)",
     .min = 1024,
     .max = 1024 * 1024 * 1024,
     .offset = OFF(appservice.max_body_size)},
    {.name = "appservice.legacy_access_token",
     .type = CONFIG_BOOL,
     .default_value = "false",
     .help = "also accept the hs_token as ?access_token= (homeservers older than Matrix 1.4)",
     .offset = OFF(appservice.legacy_access_token)},
    {.name = "appservice.shutdown_grace",
     .type = CONFIG_DURATION,
     .default_value = "10s",
     .help = "how long a stopping warroom lets work in progress finish",
     .min = 0,
     .max = 10 * 60 * 1000,
     .offset = OFF(appservice.shutdown_grace)},

    {.name = "metrics.enabled",
     .type = CONFIG_BOOL,
     .default_value = "true",
     .help = "serve Prometheus metrics on /metrics",
     .offset = OFF(metrics.enabled)},
    {.name = "metrics.listen",
     .type = CONFIG_STRING,
     .default_value = "",
     .help = "host:port of a separate metrics listener, or empty to serve them on the appservice port",
     .offset = OFF(metrics.listen),
     .check = config_table_check_listen},

    {.name = "bridge.username_template",
     .type = CONFIG_STRING,
     .default_value = "soc_{name}",
     .help = "the localparts of the tool bots; {name} is the bridge's name (soc_dns)",
     .offset = OFF(bridge.username_template),
     .check = config_table_check_template},
    {.name = "bridge.command_prefix",
     .type = CONFIG_STRING,
     .default_value = "!",
     .help = "what a command starts with in a room (!dns mx example.org)",
     .offset = OFF(bridge.command_prefix),
     .check = config_table_check_prefix},
    {.name = "bridge.command_max_age",
     .type = CONFIG_DURATION,
     .default_value = "10m",
     .help = "commands older than this (sent while warroom was down) are not run",
     .min = 1000,
     .max = 7LL * 24 * 60 * 60 * 1000,
     .offset = OFF(bridge.command_max_age)},
    {.name = "bridge.confirm_timeout",
     .type = CONFIG_DURATION,
     .default_value = "2m",
     .help = "how long a dangerous command waits for its caller's confirming reaction",
     .min = 5000,
     .max = 24LL * 60 * 60 * 1000,
     .offset = OFF(bridge.confirm_timeout)},
    {.name = "bridge.permissions",
     .type = CONFIG_LEVELMAP,
     .default_value = "{}",
     .help = "who may do what: a user ID, a server name or * mapped to none, guest, analyst or admin",
     .offset = OFF(bridge.permissions)},

    {.name = "logging.level",
     .type = CONFIG_ENUM,
     .default_value = "info",
     .help = "the least severe messages logged",
     .choices = config_table_log_levels,
     .offset = OFF(logging.level)},
    {.name = "logging.format",
     .type = CONFIG_ENUM,
     .default_value = "text",
     .help = "text lines for people, json lines for log collectors",
     .choices = config_table_log_formats,
     .offset = OFF(logging.format)},

    {.name = "audit.head_interval",
     .type = CONFIG_DURATION,
     .default_value = "1h",
     .help = "how often the audit chain's head is logged and recorded, to anchor it outside (0: start and stop only)",
     .max = 366LL * 24 * 3600 * 1000,
     .offset = OFF(audit.head_interval)},

    {.name = "bridges",
     .type = CONFIG_SUBTREE,
     .default_value = "{}",
     .help = "each bridge's own settings, under bridges.<name>; checked by that bridge"},

    {.name = NULL},
};
