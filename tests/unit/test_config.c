/*
 * The configuration: every value type with its exact error messages and
 * line numbers, the defaults, unknown keys with suggestions, duplicates,
 * every problem reported at once (a golden file), a bridge's own table
 * applied under bridges.<name>, config_children and config_line, writing
 * tokens back without disturbing the operator's file, and the example
 * config documenting every key with its default.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "appservice/bridge_host.h"
#include "appservice/config.h"
#include "appservice/xmalloc.h"
#include "appservice/yaml_tree.h"
#include "tests/tap.h"
#include "tests/unit/fixture.h"

/* The smallest valid config: lines 1 to 5.  Tests append from line 6. */
#define MIN_CONFIG                                                                                                     \
    "homeserver:\n"                                                                                                    \
    "  address: http://hs.example.org:8008/\n"                                                                         \
    "  domain: example.org\n"                                                                                          \
    "appservice:\n"                                                                                                    \
    "  address: http://127.0.0.1:29333\n"

static char *tmpdir;
static int file_counter;

/* Writes text to a new file in tmpdir with mode; returns its path,
 * allocated. */
static char *
write_file_mode(const char *name, const char *text, mode_t mode)
{
    char *path = name != NULL ? xasprintf("%s/%s", tmpdir, name) : xasprintf("%s/c%d.yaml", tmpdir, ++file_counter);
    FILE *f = fopen(path, "wb");

    if (f == NULL || fwrite(text, 1, strlen(text), f) != strlen(text) || fclose(f) != 0) {
        printf("# cannot write %s\n", path);
        abort();
    }
    chmod(path, mode);
    return path;
}

static char *
write_file(const char *text)
{
    return write_file_mode(NULL, text, 0644);
}

/* The whole file at path, allocated, or NULL. */
static char *
read_file(const char *path)
{
    char *text = NULL, *cause = NULL;
    size_t len;

    if (yaml_tree_read_file(path, &text, &len, &cause) != 0) {
        printf("# %s: %s\n", path, cause);
        free(cause);
    }
    return text;
}

/* Joins the error lines, each without the file name, with " | ", so that
 * one is_str() compares all of them at once.  Returns a static buffer. */
static const char *
errors_joined(const struct config_errors *errs, const char *path)
{
    static char buf[8192];
    size_t plen = path != NULL ? strlen(path) : 0;

    buf[0] = '\0';
    for (size_t i = 0; i < errs->n; i++) {
        const char *line = errs->lines[i];

        if (plen > 0 && strncmp(line, path, plen) == 0 && line[plen] == ':')
            line += plen + 1;
        if (i > 0)
            strncat(buf, " | ", sizeof(buf) - strlen(buf) - 1);
        strncat(buf, line, sizeof(buf) - strlen(buf) - 1);
    }
    return buf;
}

/* Loads text; returns the errors as errors_joined() does ("" if none),
 * and the config in *out if wanted (else it is freed). */
static const char *
load_text(const char *text, struct config **out)
{
    char *path = write_file(text);
    struct config *cfg = NULL;
    struct config_errors errs = {0};
    const char *joined;
    int rc = config_load(path, &cfg, &errs);

    joined = errors_joined(&errs, path);
    if ((rc == 0) != (errs.n == 0) || (rc == 0) != (cfg != NULL))
        printf("# config_load returned %d with %zu errors\n", rc, errs.n);
    config_errors_free(&errs);
    if (out != NULL)
        *out = cfg;
    else
        config_free(cfg);
    free(path);
    return joined;
}

/* Loads MIN_CONFIG followed by extra and returns the errors. */
static const char *
load_extra(const char *extra)
{
    char *text = xasprintf("%s%s", MIN_CONFIG, extra);
    const char *joined = load_text(text, NULL);

    free(text);
    return joined;
}

static void
test_defaults(void)
{
    struct config *cfg = NULL;

    is_str(load_text(MIN_CONFIG, &cfg), "", "the minimal config loads");
    if (cfg == NULL)
        return;
    is_str(cfg->homeserver.address, "http://hs.example.org:8008", "URL stored without the trailing slash");
    is_str(cfg->homeserver.domain, "example.org", "domain");
    is_int(cfg->homeserver.verify_tls, 1, "verify_tls defaults to true");
    is_str(cfg->appservice.address, "http://127.0.0.1:29333", "appservice address");
    is_str(cfg->appservice.hostname, "127.0.0.1", "hostname default");
    is_int(cfg->appservice.port, 29333, "port default");
    is_str(cfg->appservice.id, "warroom", "id default");
    is_str(cfg->appservice.bot_username, "warroom", "bot username default");
    is_str(cfg->appservice.bot_displayname, "Warroom", "bot displayname default");
    ok(cfg->appservice.as_token == NULL && cfg->appservice.hs_token == NULL, "tokens absent before -g");
    is_str(cfg->appservice.database, "warroom.db", "database default");
    is_int(cfg->appservice.database_sync, 0, "database_sync defaults to full");
    is_int(cfg->appservice.max_body_size, 16 * 1024 * 1024, "max_body_size defaults to 16MiB");
    is_int(cfg->appservice.legacy_access_token, 0, "legacy_access_token defaults to false");
    is_int(cfg->appservice.shutdown_grace, 10000, "shutdown_grace defaults to 10s");
    is_int(cfg->metrics.enabled, 1, "metrics enabled by default");
    is_str(cfg->metrics.listen, "", "metrics.listen defaults to empty");
    is_str(cfg->bridge.username_template, "soc_{name}", "username_template default");
    is_str(cfg->bridge.command_prefix, "!", "command_prefix default");
    is_int(cfg->bridge.command_max_age, 600000, "command_max_age defaults to 10m");
    is_int(cfg->bridge.permissions.n, 0, "permissions default to empty");
    is_int(cfg->logging.level, LOG_LEVEL_INFO, "logging.level defaults to info");
    is_int(cfg->logging.format, LOG_FORMAT_TEXT, "logging.format defaults to text");
    is_str(cfg->path + strlen(cfg->path) - 5, ".yaml", "path kept");
    config_free(cfg);
    config_free(NULL);
}

/* Every value set explicitly, in every spelling the types accept. */
static void
test_values(void)
{
    struct config *cfg = NULL;
    const char *text = "homeserver:\n"
                       "  address: 'https://matrix.example.org'\n"
                       "  domain: example.org:8448\n"
                       "  verify_tls: no\n"
                       "appservice:\n"
                       "  address: http://[::1]:29333/\n"
                       "  hostname: '::'\n"
                       "  port: 8080\n"
                       "  id: my.war-room_1~\n"
                       "  bot:\n"
                       "    username: soc.bot=1/x+y-z\n"
                       "    displayname: The War Room\n"
                       "  as_token: \"a\"\n"
                       "  hs_token: b\n"
                       "  database: /var/lib/warroom/w.db\n"
                       "  database_sync: NORMAL\n"
                       "  max_body_size: 512 KiB\n"
                       "  legacy_access_token: On\n"
                       "  shutdown_grace: 1m30s\n"
                       "metrics:\n"
                       "  enabled: FALSE\n"
                       "  listen: '[::1]:9100'\n"
                       "bridge:\n"
                       "  username_template: '{name}_soc'\n"
                       "  command_prefix: '\xc2\xa7\xc2\xa7'\n"
                       "  command_max_age: 2h\n"
                       "  permissions:\n"
                       "    '*': guest\n"
                       "    example.org: Analyst\n"
                       "    '@alice:example.org': admin\n"
                       "    '[::1]:8448': none\n"
                       "logging: {level: debug, format: json}\n"
                       "bridges: {dns: {anything: [goes, {here: 1}]}, rdap: ~}\n";

    is_str(load_text(text, &cfg), "", "a config with every key set loads");
    if (cfg == NULL)
        return;
    is_str(cfg->homeserver.address, "https://matrix.example.org", "quoted URL");
    is_str(cfg->homeserver.domain, "example.org:8448", "server name with port");
    is_int(cfg->homeserver.verify_tls, 0, "'no' is false");
    is_str(cfg->appservice.address, "http://[::1]:29333", "IPv6 URL");
    is_str(cfg->appservice.hostname, "::", "hostname");
    is_int(cfg->appservice.port, 8080, "port");
    is_str(cfg->appservice.id, "my.war-room_1~", "id with every allowed punctuation");
    is_str(cfg->appservice.bot_username, "soc.bot=1/x+y-z", "localpart with every allowed punctuation");
    is_str(cfg->appservice.bot_displayname, "The War Room", "displayname");
    is_str(cfg->appservice.as_token, "a", "as_token");
    is_str(cfg->appservice.hs_token, "b", "hs_token");
    is_str(cfg->appservice.database, "/var/lib/warroom/w.db", "database");
    is_int(cfg->appservice.database_sync, 1, "enum matched without regard to case");
    is_int(cfg->appservice.max_body_size, 512 * 1024, "size with a space before the unit");
    is_int(cfg->appservice.legacy_access_token, 1, "'On' is true");
    is_int(cfg->appservice.shutdown_grace, 90000, "duration in two parts");
    is_int(cfg->metrics.enabled, 0, "'FALSE' is false");
    is_str(cfg->metrics.listen, "[::1]:9100", "metrics listen");
    is_str(cfg->bridge.username_template, "{name}_soc", "template with a suffix");
    is_str(cfg->bridge.command_prefix, "\xc2\xa7\xc2\xa7", "prefix of two non-ASCII characters");
    is_int(cfg->bridge.command_max_age, 2 * 3600 * 1000, "command_max_age");
    is_int(cfg->logging.level, LOG_LEVEL_DEBUG, "flow mapping: level");
    is_int(cfg->logging.format, LOG_FORMAT_JSON, "flow mapping: format");
    is_int(cfg->bridge.permissions.n, 4, "four permission rules");
    if (cfg->bridge.permissions.n == 4) {
        const struct config_level_rule *r = cfg->bridge.permissions.rules;

        ok(strcmp(r[0].subject, "*") == 0 && r[0].level == PERM_GUEST && r[0].line == 28, "rule '*' guest, line 28");
        ok(strcmp(r[1].subject, "example.org") == 0 && r[1].level == PERM_ANALYST && r[1].line == 29,
           "rule server analyst, line 29");
        ok(strcmp(r[2].subject, "@alice:example.org") == 0 && r[2].level == PERM_ADMIN, "rule user admin");
        ok(strcmp(r[3].subject, "[::1]:8448") == 0 && r[3].level == PERM_NONE, "rule IPv6 server none");
    }
    config_free(cfg);

    /* "~", "null" and an empty value all mean "not set". */
    is_str(load_extra("  port: ~\n  hostname: null\n  id:\nlogging:\n"), "", "null values take the defaults");
    cfg = NULL;
    text = MIN_CONFIG "  port: ~\n  hostname: null\n  id:\n  database: ''\nmetrics: ~\n";
    load_text(text, &cfg);
    if (cfg != NULL) {
        ok(cfg->appservice.port == 29333 && strcmp(cfg->appservice.hostname, "127.0.0.1") == 0 &&
               strcmp(cfg->appservice.id, "warroom") == 0 && cfg->metrics.enabled == 1,
           "defaults applied for null values and a null section");
        config_free(cfg);
    }
}

static void
test_parsers(void)
{
    static const struct {
        const char *text;
        uint64_t want;
    } sizes[] = {{"1048576", 1048576},
                 {"512KiB", 524288},
                 {"16MiB", 16777216},
                 {"1GiB", 1073741824},
                 {"16 MiB", 16777216},
                 {"1K", 1024},
                 {"1KB", 1000},
                 {"2mib", 2097152},
                 {"0", 0},
                 {"3B", 3},
                 {"1TiB", UINT64_C(1099511627776)}},
      durations[] = {{"1500", 1500},    {"250ms", 250},     {"30s", 30000},      {"5m", 300000}, {"1h", 3600000},
                     {"7d", 604800000}, {"1h30m", 5400000}, {"1h 30m", 5400000}, {"2S", 2000},   {"0", 0}};
    static const char *const bad_sizes[] = {
        "", "-1", "1.5MiB", "10 parsecs", "MiB", "99999999999999999999", "20000000TiB", "1 2", "16MiB!", NULL};
    static const char *const bad_durations[] = {"", "1h30", "soon", "-5s", "5 minutes", "1.5h", "h", NULL};
    uint64_t v;
    int b;
    enum perm_level level;
    char *cause = NULL;

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        v = 0;
        ok(config_parse_size(sizes[i].text, &v, &cause) == 0 && v == sizes[i].want, "size '%s' is %llu", sizes[i].text,
           (unsigned long long)sizes[i].want);
    }
    for (size_t i = 0; bad_sizes[i] != NULL; i++) {
        ok(config_parse_size(bad_sizes[i], &v, &cause) == -1 && cause != NULL, "size '%s' refused", bad_sizes[i]);
        free(cause);
        cause = NULL;
    }
    config_parse_size("10 parsecs", &v, &cause);
    is_str(cause, "expected a size like 1048576, 512KiB or 16MiB, got '10 parsecs'", "size error text");
    free(cause);
    cause = NULL;

    for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
        v = 0;
        ok(config_parse_duration(durations[i].text, &v, &cause) == 0 && v == durations[i].want,
           "duration '%s' is %llu ms", durations[i].text, (unsigned long long)durations[i].want);
    }
    for (size_t i = 0; bad_durations[i] != NULL; i++) {
        ok(config_parse_duration(bad_durations[i], &v, &cause) == -1 && cause != NULL, "duration '%s' refused",
           bad_durations[i]);
        free(cause);
        cause = NULL;
    }
    config_parse_duration("soon", &v, &cause);
    is_str(cause, "expected a duration like 250ms, 30s, 5m, 1h or 7d, got 'soon'", "duration error text");
    free(cause);
    cause = NULL;

    ok(config_parse_bool("true", &b, &cause) == 0 && b == 1, "true");
    ok(config_parse_bool("Yes", &b, &cause) == 0 && b == 1, "Yes");
    ok(config_parse_bool("ON", &b, &cause) == 0 && b == 1, "ON");
    ok(config_parse_bool("false", &b, &cause) == 0 && b == 0, "false");
    ok(config_parse_bool("no", &b, &cause) == 0 && b == 0, "no");
    ok(config_parse_bool("Off", &b, &cause) == 0 && b == 0, "Off");
    ok(config_parse_bool("1", &b, &cause) == -1, "1 is not a boolean");
    free(cause);
    cause = NULL;
    ok(config_parse_bool("maybe", &b, &cause) == -1, "maybe is not a boolean");
    is_str(cause, "expected true or false, got 'maybe'", "bool error text");
    free(cause);
    cause = NULL;

    ok(config_parse_level("none", &level, &cause) == 0 && level == PERM_NONE, "none");
    ok(config_parse_level("guest", &level, &cause) == 0 && level == PERM_GUEST, "guest");
    ok(config_parse_level("analyst", &level, &cause) == 0 && level == PERM_ANALYST, "analyst");
    ok(config_parse_level("ADMIN", &level, &cause) == 0 && level == PERM_ADMIN, "ADMIN");
    ok(config_parse_level("root", &level, &cause) == -1, "root is not a level");
    is_str(cause, "'root' is not one of none, guest, analyst, admin", "level error text");
    free(cause);
}

static void
test_checks(void)
{
    static const char *const good_names[] = {"example.org", "example.org:8448",  "localhost",       "1.2.3.4",
                                             "[::1]",       "[2001:db8::1]:443", "a-b.c-d.example", NULL};
    static const char *const bad_names[] = {"",
                                            "exa mple",
                                            "example.org:0",
                                            "example.org:99999",
                                            "[zz]",
                                            ":8448",
                                            "a..b",
                                            ".example.org",
                                            "example.org:",
                                            "[::1",
                                            "ex_ample",
                                            "é.org",
                                            "a:b:c",
                                            "[::1]x",
                                            NULL};
    static const char *const good_localparts[] = {"soc_dns", "a=b/c+d-e.f", "0", NULL};
    static const char *const bad_localparts[] = {"", "Alice", "a:b", "a b", "ä", NULL};

    for (size_t i = 0; good_names[i] != NULL; i++)
        ok(config_check_server_name(good_names[i]) == NULL, "server name '%s' accepted", good_names[i]);
    for (size_t i = 0; bad_names[i] != NULL; i++)
        ok(config_check_server_name(bad_names[i]) != NULL, "server name '%s' refused", bad_names[i]);
    for (size_t i = 0; good_localparts[i] != NULL; i++)
        ok(config_check_localpart(good_localparts[i]) == NULL, "localpart '%s' accepted", good_localparts[i]);
    for (size_t i = 0; bad_localparts[i] != NULL; i++)
        ok(config_check_localpart(bad_localparts[i]) != NULL, "localpart '%s' refused", bad_localparts[i]);
}

/* Each type's errors through config_load, with the exact text and line. */
static void
test_type_errors(void)
{
    /* INT */
    is_str(load_extra("  port: abc\n"), "6: appservice.port: expected an integer, got 'abc'", "int: not a number");
    is_str(load_extra("  port: 70000\n"), "6: appservice.port: '70000' is out of range (1..65535)", "int: too big");
    is_str(load_extra("  port: 0\n"), "6: appservice.port: '0' is out of range (1..65535)", "int: too small");
    is_str(load_extra("  port: 12.5\n"), "6: appservice.port: expected an integer, got '12.5'", "int: a fraction");
    is_str(load_extra("  port: {a: 1}\n"), "6: appservice.port: expected an integer, got a mapping", "int: a mapping");
    is_str(load_extra("  port:\n    - 1\n"), "7: appservice.port: expected an integer, got a sequence",
           "int: a sequence, at the sequence's line");

    /* URL */
    is_str(load_text("homeserver:\n  address: example.org\n  domain: example.org\nappservice:\n  address: "
                     "ftp://x.org\n",
                     NULL),
           "2: homeserver.address: 'example.org' is not an http:// or https:// URL | 5: appservice.address: "
           "'ftp://x.org' is not an http:// or https:// URL",
           "URL without http(s)://");
    is_str(load_text("homeserver:\n  address: http://\n  domain: example.org\nappservice:\n  address: "
                     "http://a.org/?x=1\n",
                     NULL),
           "2: homeserver.address: 'http://' is not an http:// or https:// URL | 5: appservice.address: "
           "'http://a.org/?x=1' is not an http:// or https:// URL",
           "URL without a host, URL with a query");
    is_str(load_text("homeserver:\n  address: http://a b\n  domain: example.org\nappservice:\n  address: "
                     "HTTPS://A.ORG/base/\n",
                     NULL),
           "2: homeserver.address: 'http://a b' is not an http:// or https:// URL", "URL with a space");

    /* BOOL */
    is_str(load_extra("metrics:\n  enabled: maybe\n"), "7: metrics.enabled: expected true or false, got 'maybe'",
           "bool");
    is_str(load_extra("metrics:\n  enabled: [true]\n"), "7: metrics.enabled: expected true or false, got a sequence",
           "bool: a sequence");

    /* ENUM */
    is_str(load_extra("logging:\n  level: verbose\n"),
           "7: logging.level: 'verbose' is not one of debug, info, warn, error", "enum");
    is_str(load_extra("logging:\n  format: {}\n"), "7: logging.format: expected one of text, json, got a mapping",
           "enum: a mapping");

    /* SIZE */
    is_str(load_extra("  max_body_size: 512\n"), "6: appservice.max_body_size: '512' is out of range (1KiB..1GiB)",
           "size below the minimum");
    is_str(load_extra("  max_body_size: 2GiB\n"), "6: appservice.max_body_size: '2GiB' is out of range (1KiB..1GiB)",
           "size above the maximum");
    is_str(load_extra("  max_body_size: lots\n"),
           "6: appservice.max_body_size: expected a size like 1048576, 512KiB or 16MiB, got 'lots'", "size: not one");

    /* DURATION */
    is_str(load_extra("  shutdown_grace: 1h\n"), "6: appservice.shutdown_grace: '1h' is out of range (0s..10m)",
           "duration above the maximum");
    is_str(load_extra("bridge:\n  command_max_age: 500ms\n"),
           "7: bridge.command_max_age: '500ms' is out of range (1s..7d)", "duration below the minimum");
    is_str(load_extra("bridge:\n  command_max_age: soon\n"),
           "7: bridge.command_max_age: expected a duration like 250ms, 30s, 5m, 1h or 7d, got 'soon'",
           "duration: not one");

    /* STRING checks */
    is_str(
        load_text("homeserver:\n  address: http://a\n  domain: \"exa mple\"\nappservice:\n  address: http://b\n", NULL),
        "3: homeserver.domain: 'exa mple' is not a valid server name (a host name or IP literal, with an optional "
        ":port)",
        "server name");
    is_str(load_extra("  bot:\n    username: Warroom\n"),
           "7: appservice.bot.username: 'Warroom' is not a valid Matrix localpart (1 to 255 of a-z, 0-9 and ._=/+-)",
           "bot localpart");
    is_str(load_extra("  id: war room\n"), "6: appservice.id: 'war room' may only contain letters, digits and ._~-",
           "appservice.id");
    is_str(load_extra("  hostname: ''\n"), "6: appservice.hostname: '' must not be empty", "empty hostname");
    is_str(load_extra("  database: \"\"\n"), "6: appservice.database: '' must not be empty", "empty database");
    is_str(load_extra("  display: x\n  bot: {displayname: [a]}\n"),
           "6: unknown key 'appservice.display' | 7: appservice.bot.displayname: expected a string, got a sequence",
           "string: a sequence");
    is_str(load_extra("bridge:\n  username_template: soc_\n"),
           "7: bridge.username_template: 'soc_' must contain {name} exactly once", "template without {name}");
    is_str(load_extra("bridge:\n  username_template: '{name}_{name}'\n"),
           "7: bridge.username_template: '{name}_{name}' must contain {name} exactly once", "template with two");
    is_str(load_extra("bridge:\n  username_template: '{name}'\n"),
           "7: bridge.username_template: '{name}' must have characters around {name}, or the bots' namespace would "
           "claim every user",
           "bare {name}");
    is_str(load_extra("bridge:\n  username_template: 'Soc_{name}'\n"),
           "7: bridge.username_template: 'Soc_{name}' may only contain {name} and a-z, 0-9 and ._=/+-",
           "template with a capital");
    is_str(load_extra("bridge:\n  command_prefix: ''\n"),
           "7: bridge.command_prefix: '' must be 1 to 8 characters without spaces", "empty prefix");
    is_str(load_extra("bridge:\n  command_prefix: '!!!!!!!!!'\n"),
           "7: bridge.command_prefix: '!!!!!!!!!' must be 1 to 8 characters without spaces", "nine characters");
    is_str(load_extra("bridge:\n  command_prefix: '! '\n"),
           "7: bridge.command_prefix: '! ' must be 1 to 8 characters without spaces", "prefix with a space");
    is_str(load_extra("metrics:\n  listen: 9100\n"),
           "7: metrics.listen: '9100' must be empty or host:port (for example 127.0.0.1:9100 or [::1]:9100)",
           "listen without a host");
    is_str(load_extra("metrics:\n  listen: localhost\n"),
           "7: metrics.listen: 'localhost' must be empty or host:port (for example 127.0.0.1:9100 or [::1]:9100)",
           "listen without a port");
    is_str(load_extra("metrics:\n  listen: localhost:9100\n"), "", "listen host:port");

    /* SECRET: the value never appears. */
    is_str(load_extra("  as_token: {secret: x}\n"), "6: appservice.as_token: expected a string, got a mapping",
           "secret of the wrong type");

    /* LEVELMAP */
    is_str(load_extra("bridge:\n  permissions: [admin]\n"),
           "7: bridge.permissions: expected a mapping of subjects to levels, got a sequence", "levelmap: a sequence");
    is_str(
        load_extra(
            "bridge:\n  permissions:\n    'alice@example.org': admin\n    '@:example.org': admin\n    '@bob': admin\n"
            "    '@bob:exa mple': admin\n    [x]: admin\n"),
        "8: bridge.permissions: 'alice@example.org' is not a user ID (@user:server), a server name or '*' | "
        "9: bridge.permissions: '@:example.org' is not a user ID (@user:server), a server name or '*' | "
        "10: bridge.permissions: '@bob' is not a user ID (@user:server), a server name or '*' | "
        "11: bridge.permissions: '@bob:exa mple' is not a user ID (@user:server), a server name or '*' | "
        "12: bridge.permissions: a subject must be a string",
        "invalid subjects");
    is_str(load_extra("bridge:\n  permissions:\n    '*': root\n    example.org:\n    x.org: [admin]\n"),
           "8: bridge.permissions: 'root' is not one of none, guest, analyst, admin (for '*') | "
           "9: bridge.permissions: no level given for 'example.org' | "
           "10: bridge.permissions: expected a level for 'x.org', got a sequence",
           "invalid levels");
    is_str(load_extra("bridge:\n  permissions:\n    '*': guest\n    '*': admin\n"),
           "9: bridge.permissions: duplicate subject '*' (first at line 8)", "duplicate subject");
    is_str(load_extra("bridge:\n  permissions: ~\n"), "", "null permissions are the default");

    /* Mappings above keys */
    is_str(load_extra("metrics: true\n"), "6: metrics: expected a mapping, got a string", "section not a mapping");
    is_str(load_extra("  bot: [x]\n"), "6: appservice.bot: expected a mapping, got a sequence",
           "nested section not a mapping");
    is_str(load_text("- a\n- b\n", NULL), "1: expected a mapping of settings, got a sequence", "top level a sequence");
    is_str(load_text("just text\n", NULL), "1: expected a mapping of settings, got a string", "top level a string");
}

static void
test_required(void)
{
    is_str(load_text("homeserver:\n  address: http://hs\nappservice:\n  address: http://as\n", NULL),
           "1: missing required key 'homeserver.domain' (the homeserver's server name, the part after ':' in user "
           "IDs (example.org))",
           "missing key reported at its parent's line");
    is_str(load_text("# comment\n\nhomeserver:\n  address: http://hs\n  domain:\n", NULL),
           "1: missing required key 'appservice.address' (the URL the homeserver uses to reach warroom "
           "(http://localhost:29333)) | "
           "5: homeserver.domain: a value is required (the homeserver's server name, the part after ':' in user IDs "
           "(example.org))",
           "missing section reported at line 1, empty value at its line");
    is_str(load_text("appservice:\n  address: http://as\n", NULL),
           "1: missing required key 'homeserver.address' (the homeserver's client-server API, as warroom reaches it "
           "(http://localhost:8008)) | "
           "1: missing required key 'homeserver.domain' (the homeserver's server name, the part after ':' in user IDs "
           "(example.org))",
           "both keys of a missing section");
    is_str(load_text("", NULL),
           "1: missing required key 'homeserver.address' (the homeserver's client-server API, as warroom reaches it "
           "(http://localhost:8008)) | "
           "1: missing required key 'homeserver.domain' (the homeserver's server name, the part after ':' in user IDs "
           "(example.org)) | "
           "1: missing required key 'appservice.address' (the URL the homeserver uses to reach warroom "
           "(http://localhost:29333))",
           "an empty file");
    is_str(load_text("homeserver: 5\nappservice:\n  address: http://as\n", NULL),
           "1: homeserver: expected a mapping, got a string", "no 'missing' noise under a section that is not one");
}

static void
test_syntax_and_files(void)
{
    struct config *cfg = (struct config *)1;
    struct config_errors errs = {0};
    char *missing = xasprintf("%s/missing.yaml", tmpdir), *want;

    is_str(load_text("homeserver:\n  address: http://a\n    domain: x\n", NULL),
           "3: YAML syntax error: mapping values are not allowed in this context", "syntax error with its line");
    is_str(load_text("homeserver: [\n", NULL),
           "2: YAML syntax error: did not find expected node content (while parsing a flow node at line 2)",
           "unterminated flow sequence");
    is_str(load_text(MIN_CONFIG "---\nfoo: 1\n", NULL), "7: only one YAML document is allowed", "two documents");
    is_str(load_text(MIN_CONFIG "  id: \"a\\0b\"\n", NULL), "6: a value contains a NUL character", "a NUL");
    is_str(load_text(MIN_CONFIG "  id: \xff\n", NULL), "6: YAML syntax error: invalid leading UTF-8 octet (byte 0xff)",
           "invalid UTF-8");

    ok(config_load(missing, &cfg, &errs) == -1 && cfg == NULL, "a missing file fails and sets *out to NULL");
    want = xasprintf("%s: cannot open: No such file or directory", missing);
    is_str(errs.n == 1 ? errs.lines[0] : NULL, want, "a missing file is one line without a line number");
    config_errors_free(&errs);
    free(want);
    ok(config_load(tmpdir, &cfg, &errs) == -1 && errs.n == 1 && strstr(errs.lines[0], "is not a regular file"),
       "a directory is refused");
    config_errors_free(&errs);
    config_errors_free(&errs);
    config_errors_free(NULL);
    free(missing);
}

static void
test_unknown_and_duplicates(void)
{
    is_str(load_extra("  prot: 5\n"), "6: unknown key 'appservice.prot' (did you mean 'appservice.port'?)",
           "unknown key with a suggestion");
    is_str(load_extra("  bott:\n    username: x\n"),
           "6: unknown key 'appservice.bott' (did you mean 'appservice.bot'?)", "a misspelt section is suggested too");
    is_str(load_extra("loging:\n  level: info\n"), "6: unknown key 'loging' (did you mean 'logging'?)",
           "misspelt top-level section");
    is_str(load_extra("  verify_tls: true\n"), "6: unknown key 'appservice.verify_tls'",
           "known elsewhere but too far: no suggestion");
    is_str(load_extra("foo: 1\n"), "6: unknown key 'foo'", "unknown key without a suggestion");
    is_str(load_extra("appservice.port: 1\n"),
           "6: unknown key 'appservice.port' (write nested mappings, not dotted keys)", "a dotted key");
    is_str(load_extra("? [a, b]\n: 1\n"), "6: the top level: keys must be strings", "a complex key");
    is_str(load_extra("homeserver:\n  verify_tls: false\n"), "6: duplicate key 'homeserver' (first at line 1)",
           "duplicate section");
    is_str(
        load_extra("  port: 1\n  port: 2\n  port: 3\n"),
        "7: duplicate key 'appservice.port' (first at line 6) | 8: duplicate key 'appservice.port' (first at line 6)",
        "each duplicate reported");
    is_str(load_extra("bridges:\n  dns: {}\n  dns: {}\n"), "8: duplicate key 'bridges.dns' (first at line 7)",
           "duplicate bridge");
    is_str(load_extra("bridges:\n  dns:\n    whatever: [1, {x: y}]\n    a: {b: {c: d}}\n  rdap: ~\n  odd: 5\n"), "",
           "anything goes under bridges");
    is_str(load_extra("bridges: 5\n"), "6: bridges: expected a mapping, got a string", "bridges must be a mapping");
}

/* The golden file: every kind of problem in one config, all reported. */
static void
test_all_at_once(void)
{
    char *text = fixture_read("config/all-errors.yaml", NULL), *want = fixture_read("config/all-errors.expected", NULL);
    char *path, *got = xstrdup(""), *next;
    struct config *cfg = NULL;
    struct config_errors errs = {0};
    size_t plen;

    if (text == NULL || want == NULL) {
        ok(0, "fixtures config/all-errors.* readable");
        free(text);
        free(want);
        free(got);
        return;
    }
    path = write_file_mode("all-errors.yaml", text, 0644);
    plen = strlen(path) - strlen("all-errors.yaml");
    ok(config_load(path, &cfg, &errs) == -1 && cfg == NULL, "the config with every mistake fails");
    for (size_t i = 0; i < errs.n; i++) {
        next = xasprintf("%s%s\n", got, errs.lines[i] + plen);
        free(got);
        got = next;
    }
    is_str(got, want, "every problem reported, in file order, as tests/fixtures/config/all-errors.expected says");
    is_int(errs.n, 24, "24 problems");
    config_errors_free(&errs);
    free(path);
    free(text);
    free(want);
    free(got);
}

/* A bridge's own settings, as a bridge would describe them. */
struct example_bridge {
    char *api_key;
    uint64_t timeout;
    int enabled;
    struct config_strlist servers;
    char *url;
    int mode;
    long rate;
};

static const char *const example_modes[] = {"fast", "thorough", NULL};

static const char *
example_check_key(const char *value)
{
    return strlen(value) < 8 ? "must be at least 8 characters" : NULL;
}

static const struct config_key example_keys[] = {
    {.name = "api_key",
     .type = CONFIG_SECRET,
     .help = "the tool's API key",
     .offset = offsetof(struct example_bridge, api_key),
     .check = example_check_key},
    {.name = "timeout",
     .type = CONFIG_DURATION,
     .default_value = "5s",
     .help = "per lookup",
     .min = 1000,
     .max = 60000,
     .offset = offsetof(struct example_bridge, timeout)},
    {.name = "enabled",
     .type = CONFIG_BOOL,
     .default_value = "yes",
     .help = "on or off",
     .offset = offsetof(struct example_bridge, enabled)},
    {.name = "servers",
     .type = CONFIG_STRLIST,
     .default_value = "[8.8.8.8, 1.1.1.1]",
     .help = "resolvers",
     .offset = offsetof(struct example_bridge, servers)},
    {.name = "url",
     .type = CONFIG_URL,
     .help = "an optional endpoint",
     .offset = offsetof(struct example_bridge, url),
     .flags = CONFIG_OPTIONAL},
    {.name = "mode",
     .type = CONFIG_ENUM,
     .default_value = "fast",
     .help = "how hard to look",
     .choices = example_modes,
     .offset = offsetof(struct example_bridge, mode)},
    {.name = "limits.rate",
     .type = CONFIG_INT,
     .default_value = "10",
     .help = "requests per minute",
     .min = 1,
     .max = 100,
     .offset = offsetof(struct example_bridge, rate)},
    {.name = NULL},
};

static void
test_bridge_tables(void)
{
    const char *text = MIN_CONFIG "bridges:\n"                          /* 6 */
                                  "  dns:\n"                            /* 7 */
                                  "    api_key: \"s3cret-key\"\n"       /* 8 */
                                  "    timeout: 30s\n"                  /* 9 */
                                  "    servers: [9.9.9.9]\n"            /* 10 */
                                  "    limits:\n"                       /* 11 */
                                  "      rate: 50\n"                    /* 12 */
                                  "    mode: THOROUGH\n"                /* 13 */
                                  "  rdap:\n"                           /* 14 */
                                  "    api_kye: x\n"                    /* 15 */
                                  "  bad:\n"                            /* 16 */
                                  "    api_key: short\n"                /* 17 */
                                  "    timeout: 2m\n"                   /* 18 */
                                  "    servers: {a: b}\n"               /* 19 */
                                  "    mode: medium\n"                  /* 20 */
                                  "    url: gopher://x\n"               /* 21 */
                                  "    limits: {rate: 0, burst: 1}\n"   /* 22 */
                                  "  one:\n"                            /* 23 */
                                  "    api_key: 0123456789\n"           /* 24 */
                                  "    servers: 192.0.2.1\n"            /* 25 */
                                  "    url: http://tool.example/api/\n" /* 26 */
                                  "    limits: ~\n"                     /* 27 */
                                  "  empty:\n"                          /* 28 */
                                  "  scalar: 5\n";                      /* 29 */
    struct config *cfg = NULL;
    struct example_bridge b;
    struct config_errors errs = {0};
    struct config_strlist children;
    const char *path;

    is_str(load_text(text, &cfg), "", "bridges' settings are not checked by config_load");
    if (cfg == NULL)
        return;
    path = cfg->path;

    memset(&b, 0, sizeof(b));
    is_int(config_apply(cfg, "bridges.dns", example_keys, &b, &errs), 0, "bridges.dns applies");
    is_str(errors_joined(&errs, path), "", "no errors for bridges.dns");
    is_str(b.api_key, "s3cret-key", "secret stored");
    is_int(b.timeout, 30000, "duration stored");
    is_int(b.enabled, 1, "bool default");
    ok(b.servers.n == 1 && strcmp(b.servers.items[0], "9.9.9.9") == 0, "list stored");
    ok(b.url == NULL, "optional URL absent");
    is_int(b.mode, 1, "enum stored");
    is_int(b.rate, 50, "nested key stored");
    config_free_target(example_keys, &b);
    ok(b.api_key == NULL && b.servers.items == NULL, "config_free_target empties the target");
    config_errors_free(&errs);

    memset(&b, 0, sizeof(b));
    is_int(config_apply(cfg, "bridges.rdap", example_keys, &b, &errs), -1, "bridges.rdap fails");
    is_str(errors_joined(&errs, path),
           "14: missing required key 'bridges.rdap.api_key' (the tool's API key) | "
           "15: unknown key 'bridges.rdap.api_kye' (did you mean 'bridges.rdap.api_key'?)",
           "a bridge's unknown and missing keys, with the full path");
    ok(b.servers.n == 2 && strcmp(b.servers.items[1], "1.1.1.1") == 0 && b.timeout == 5000 && b.rate == 10,
       "defaults stored, list default parsed as YAML");
    config_free_target(example_keys, &b);
    config_errors_free(&errs);

    memset(&b, 0, sizeof(b));
    is_int(config_apply(cfg, "bridges.bad", example_keys, &b, &errs), -1, "bridges.bad fails");
    is_str(errors_joined(&errs, path),
           "17: bridges.bad.api_key: the secret value must be at least 8 characters | "
           "18: bridges.bad.timeout: '2m' is out of range (1s..1m) | "
           "19: bridges.bad.servers: expected a list of strings, got a mapping | "
           "20: bridges.bad.mode: 'medium' is not one of fast, thorough | "
           "21: bridges.bad.url: 'gopher://x' is not an http:// or https:// URL | "
           "22: unknown key 'bridges.bad.limits.burst' | "
           "22: bridges.bad.limits.rate: '0' is out of range (1..100)",
           "every error of a bridge's table, the secret not shown");
    ok(strstr(errors_joined(&errs, path), "short") == NULL, "the secret's value is in no message");
    config_free_target(example_keys, &b);
    config_errors_free(&errs);

    memset(&b, 0, sizeof(b));
    is_int(config_apply(cfg, "bridges.one", example_keys, &b, &errs), 0, "bridges.one applies");
    ok(b.servers.n == 1 && strcmp(b.servers.items[0], "192.0.2.1") == 0, "one string is a list of one");
    is_str(b.url, "http://tool.example/api", "optional URL stored");
    is_int(b.rate, 10, "null section: nested default");
    config_free_target(example_keys, &b);
    config_errors_free(&errs);

    memset(&b, 0, sizeof(b));
    is_int(config_apply(cfg, "bridges.empty", example_keys, &b, &errs), -1, "an empty section lacks the key");
    is_str(errors_joined(&errs, path), "28: missing required key 'bridges.empty.api_key' (the tool's API key)",
           "missing key at the bridge's line");
    config_free_target(example_keys, &b);
    config_errors_free(&errs);

    memset(&b, 0, sizeof(b));
    is_int(config_apply(cfg, "bridges.absent", example_keys, &b, &errs), -1, "an absent bridge lacks the key");
    is_str(errors_joined(&errs, path), "6: missing required key 'bridges.absent.api_key' (the tool's API key)",
           "missing key at the line of bridges");
    config_free_target(example_keys, &b);
    config_errors_free(&errs);

    memset(&b, 0, sizeof(b));
    is_int(config_apply(cfg, "bridges.scalar", example_keys, &b, &errs), -1, "a bridge that is a scalar");
    is_str(errors_joined(&errs, path), "29: bridges.scalar: expected a mapping, got a string",
           "a bridge section must be a mapping");
    config_free_target(example_keys, &b);
    config_errors_free(&errs);

    children = config_children(cfg, "bridges");
    is_int(children.n, 5, "five bridge sections (the scalar is not one)");
    if (children.n == 5)
        ok(strcmp(children.items[0], "dns") == 0 && strcmp(children.items[1], "rdap") == 0 &&
               strcmp(children.items[2], "bad") == 0 && strcmp(children.items[3], "one") == 0 &&
               strcmp(children.items[4], "empty") == 0,
           "children in file order, a null one included");
    config_strlist_free(&children);
    config_strlist_free(&children);
    children = config_children(cfg, "nothing.here");
    is_int(children.n, 0, "no children of an absent path");
    config_strlist_free(&children);
    children = config_children(cfg, "");
    is_int(children.n, 3, "children of the root");
    config_strlist_free(&children);

    is_int(config_line(cfg, "appservice.address"), 5, "config_line of a key");
    is_int(config_line(cfg, "bridges.dns.limits.rate"), 12, "config_line of a nested key");
    is_int(config_line(cfg, "bridges"), 6, "config_line of a section");
    is_int(config_line(cfg, "appservice.port"), 0, "config_line of an absent key");
    is_int(config_line(cfg, ""), 0, "config_line of the root");
    is_int(config_line(NULL, "bridges"), 0, "config_line of no config");
    config_free(cfg);
}

static void
test_check_runnable(void)
{
    struct config *cfg = NULL;
    struct config_errors errs = {0};

    load_text(MIN_CONFIG "  as_token:\n", &cfg);
    if (cfg == NULL) {
        ok(0, "config loads");
        return;
    }
    is_int(config_check_runnable(cfg, &errs), -1, "no tokens: not runnable");
    is_str(errors_joined(&errs, cfg->path),
           "6: appservice.as_token is not set: run warroom -g to generate the tokens and the registration file | "
           "4: appservice.hs_token is not set: run warroom -g to generate the tokens and the registration file",
           "each missing token at its line, or its section's");
    config_errors_free(&errs);
    config_free(cfg);

    load_text(MIN_CONFIG "  as_token: same\n  hs_token: same\n", &cfg);
    if (cfg != NULL) {
        is_int(config_check_runnable(cfg, &errs), -1, "equal tokens: not runnable");
        is_str(errors_joined(&errs, cfg->path), "7: appservice.as_token and appservice.hs_token must differ",
               "equal tokens refused");
        ok(strstr(errors_joined(&errs, cfg->path), "same:") == NULL, "without showing them");
        config_errors_free(&errs);
        config_free(cfg);
    }
    load_text(MIN_CONFIG "  as_token: one\n  hs_token: two\n", &cfg);
    if (cfg != NULL) {
        is_int(config_check_runnable(cfg, &errs), 0, "both tokens: runnable");
        config_errors_free(&errs);
        config_free(cfg);
    }
}

/* Sets two keys in a file holding before; checks the text after, the
 * mode, and that the result loads. */
static void
check_write(const char *what, const char *before, const char *after)
{
    static const char *const keys[] = {"appservice.as_token", "appservice.hs_token"};
    static const char *const values[] = {"AAAA", "BBBB"};
    char *path = write_file_mode(NULL, before, 0644), *got;
    struct config_errors errs = {0};
    struct stat st;

    is_int(config_write_scalars(path, keys, values, 2, &errs), 0, "%s: written", what);
    is_str(errors_joined(&errs, path), "", "%s: no errors", what);
    got = read_file(path);
    is_str(got, after, "%s: the text", what);
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "%s: mode 0600", what);
    config_errors_free(&errs);
    free(got);
    free(path);
}

static void
test_write_scalars(void)
{
    static const char *const keys[] = {"appservice.as_token", "appservice.hs_token"};
    static const char *const values[] = {"AAAA", "BBBB"};
    struct config_errors errs = {0};
    struct config *cfg = NULL;
    char *path, *link, *got, *target;
    const char *weird_keys[] = {"appservice.as_token"}, *weird_values[] = {"a \"quoted\" \\ value\twith\ncontrol"};

    check_write("existing values replaced",
                "# my config\n"
                "appservice:\n"
                "  as_token: old    # keep this comment\n"
                "  hs_token: 'older'\n"
                "  port: 1234\n",
                "# my config\n"
                "appservice:\n"
                "  as_token: \"AAAA\"    # keep this comment\n"
                "  hs_token: \"BBBB\"\n"
                "  port: 1234\n");
    check_write("empty and null values filled",
                "appservice:\n"
                "  as_token:   # set by warroom -g\n"
                "  hs_token: ~\n"
                "  id: x\n",
                "appservice:\n"
                "  as_token: \"AAAA\"   # set by warroom -g\n"
                "  hs_token: \"BBBB\"\n"
                "  id: x\n");
    check_write("missing keys inserted after the last entry, with the siblings' indentation",
                "homeserver:\n"
                "    domain: example.org   # the server name\n"
                "appservice:\n"
                "    # where we listen\n"
                "    port: 29333\n"
                "    bot:\n"
                "        username: warroom\n"
                "    # a comment after the section\n"
                "\n"
                "logging:\n"
                "    level: info\n",
                "homeserver:\n"
                "    domain: example.org   # the server name\n"
                "appservice:\n"
                "    # where we listen\n"
                "    port: 29333\n"
                "    bot:\n"
                "        username: warroom\n"
                "    as_token: \"AAAA\"\n"
                "    hs_token: \"BBBB\"\n"
                "    # a comment after the section\n"
                "\n"
                "logging:\n"
                "    level: info\n");
    check_write("section created when absent",
                "homeserver:\n"
                "   domain: example.org\n"
                "# the end",
                "homeserver:\n"
                "   domain: example.org\n"
                "appservice:\n"
                "   as_token: \"AAAA\"\n"
                "   hs_token: \"BBBB\"\n"
                "# the end");
    check_write("no final line break", "logging:\n  level: info",
                "logging:\n  level: info\nappservice:\n  as_token: \"AAAA\"\n  hs_token: \"BBBB\"\n");
    check_write("null section filled",
                "appservice: ~  # nothing yet\n"
                "logging:\n"
                "  level: info\n",
                "appservice:   # nothing yet\n"
                "  as_token: \"AAAA\"\n"
                "  hs_token: \"BBBB\"\n"
                "logging:\n"
                "  level: info\n");
    check_write("flow mapping", "appservice: {port: 1}\n",
                "appservice: {hs_token: \"BBBB\", as_token: \"AAAA\", port: 1}\n");
    check_write("empty file", "", "appservice:\n  as_token: \"AAAA\"\n  hs_token: \"BBBB\"\n");
    check_write("block scalar replaced", "appservice:\n  as_token: |\n    old\n  hs_token: >-\n    older\n  port: 1\n",
                "appservice:\n  as_token: \"AAAA\"\n  hs_token: \"BBBB\"\n  port: 1\n");
    check_write("CRLF line ends kept", "appservice:\r\n  port: 1\r\n",
                "appservice:\r\n  port: 1\r\n  as_token: \"AAAA\"\r\n  hs_token: \"BBBB\"\r\n");
    check_write("an entry ending with an alias",
                "defaults: &d 1\n"
                "appservice:\n"
                "  port: 1\n"
                "  list:\n"
                "  - a\n"
                "  - *d\n"
                "# about logging\n"
                "logging:\n"
                "  level: info\n",
                "defaults: &d 1\n"
                "appservice:\n"
                "  port: 1\n"
                "  list:\n"
                "  - a\n"
                "  - *d\n"
                "# about logging\n"
                "  as_token: \"AAAA\"\n"
                "  hs_token: \"BBBB\"\n"
                "logging:\n"
                "  level: info\n");
    check_write("an alias as the last value, at the end of the file", "p: &p 1\nappservice:\n  port: *p",
                "p: &p 1\nappservice:\n  port: *p\n  as_token: \"AAAA\"\n  hs_token: \"BBBB\"\n");
    check_write("a byte order mark", "\xef\xbb\xbf# caf\xc3\xa9\nappservice:\n  as_token: x\n  hs_token: y\n",
                "\xef\xbb\xbf# caf\xc3\xa9\nappservice:\n  as_token: \"AAAA\"\n  hs_token: \"BBBB\"\n");
    check_write("characters before the value counted, not bytes",
                "# caf\xc3\xa9 \xe2\x98\x95\nappservice:\n  id: \xc3\xa9t\xc3\xa9\n  as_token: x\n  hs_token: y\n",
                "# caf\xc3\xa9 \xe2\x98\x95\nappservice:\n  id: \xc3\xa9t\xc3\xa9\n  as_token: \"AAAA\"\n"
                "  hs_token: \"BBBB\"\n");

    /* A value that needs escaping comes back as it was. */
    path = write_file(MIN_CONFIG);
    is_int(config_write_scalars(path, weird_keys, weird_values, 1, &errs), 0, "a value with quotes and controls");
    if (config_load(path, &cfg, &errs) == 0)
        is_str(cfg->appservice.as_token, weird_values[0], "read back as written");
    else
        ok(0, "the file still loads: %s", errors_joined(&errs, path));
    config_free(cfg);
    cfg = NULL;
    config_errors_free(&errs);
    free(path);

    /* A symlinked config: the link stays, its target changes. */
    target = write_file_mode("target.yaml", MIN_CONFIG, 0600);
    link = xasprintf("%s/link.yaml", tmpdir);
    ok(symlink("target.yaml", link) == 0, "symlink made");
    is_int(config_write_scalars(link, keys, values, 2, &errs), 0, "written through a symlink");
    {
        struct stat st;
        char *t = read_file(target);

        ok(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the symlink is still a symlink");
        ok(t != NULL && strstr(t, "as_token: \"AAAA\"") != NULL, "its target holds the token");
        free(t);
    }
    config_errors_free(&errs);
    free(link);
    free(target);

    /* Failures leave the file as it was. */
    path = write_file("appservice: 5\n");
    is_int(config_write_scalars(path, keys, values, 2, &errs), -1, "a section that is a scalar");
    is_str(errors_joined(&errs, path), "1: cannot set appservice.as_token: appservice is a string, not a mapping",
           "says why");
    got = read_file(path);
    is_str(got, "appservice: 5\n", "file unchanged");
    free(got);
    config_errors_free(&errs);
    free(path);

    path = write_file("appservice:\n  as_token: [a]\n");
    is_int(config_write_scalars(path, keys, values, 2, &errs), -1, "a value that is a sequence");
    is_str(errors_joined(&errs, path), "2: cannot set appservice.as_token: it is a sequence, not a single value",
           "says why");
    config_errors_free(&errs);
    free(path);

    path = write_file("appservice:\n  port: 1\n    x: 2\n");
    is_int(config_write_scalars(path, keys, values, 2, &errs), -1, "a file with a syntax error");
    is_str(errors_joined(&errs, path), "3: YAML syntax error: mapping values are not allowed in this context",
           "the syntax error with its line");
    config_errors_free(&errs);
    free(path);

    path = write_file("- a\n");
    is_int(config_write_scalars(path, keys, values, 2, &errs), -1, "a file that is a list");
    config_errors_free(&errs);
    free(path);

    path = xasprintf("%s/none.yaml", tmpdir);
    is_int(config_write_scalars(path, keys, values, 2, &errs), -1, "a missing file");
    ok(access(path, F_OK) != 0, "is not created");
    config_errors_free(&errs);
    free(path);
}

/* contrib/config.example.yaml: loads as it is, names every core key, and
 * shows each default as the table has it. */
static void
test_example_config(void)
{
    const char *srcdir = getenv("WARROOM_SRCDIR");
    char *path = xasprintf("%s/contrib/config.example.yaml", srcdir != NULL ? srcdir : ".");
    struct config *cfg = NULL;
    struct config_errors errs = {0};
    yaml_node_t *root;

    is_int(config_load(path, &cfg, &errs), 0, "the example config loads");
    is_str(errors_joined(&errs, path), "", "with no errors");
    config_errors_free(&errs);
    if (cfg == NULL) {
        free(path);
        return;
    }
    root = yaml_document_get_root_node(cfg->doc);
    for (const struct config_key *k = config_core_keys; k->name != NULL; k++) {
        yaml_node_t *v = yaml_tree_path(cfg->doc, root, k->name, NULL);

        ok(config_line(cfg, k->name) != 0, "example names %s", k->name);
        ok(k->help != NULL && *k->help != '\0', "%s has help", k->name);
        if (v == NULL)
            continue;
        if (k->default_value == NULL && (k->flags & CONFIG_OPTIONAL))
            ok(yaml_tree_is_null(v), "%s is left empty", k->name);
        else if (k->default_value == NULL)
            ok(!yaml_tree_is_null(v), "%s (required) has an example value", k->name);
        else if (k->type == CONFIG_SUBTREE)
            ok(v->type == YAML_MAPPING_NODE, "%s is a mapping (each bridge's section with its defaults)", k->name);
        else if (k->type == CONFIG_LEVELMAP)
            ok(yaml_tree_is_null(v) ||
                   (v->type == YAML_MAPPING_NODE && v->data.mapping.pairs.top == v->data.mapping.pairs.start),
               "%s shows its default, empty", k->name);
        else
            is_str(yaml_tree_scalar(v), k->default_value, "%s shows its default", k->name);
    }
    for (const struct config_key *k = config_core_keys; k->name != NULL; k++) {
        for (const struct config_key *j = k + 1; j->name != NULL; j++)
            if (strcmp(k->name, j->name) == 0)
                ok(0, "%s is in the table twice", k->name);
        if (k->type == CONFIG_ENUM)
            ok(k->choices != NULL && k->choices[0] != NULL, "%s has choices", k->name);
    }
    /* The bridges' sections as warroom -t checks them. */
    {
        struct bridge_host_options bopt = {.cfg = cfg, .check_only = 1};
        struct bridge_host *h = NULL;
        uv_loop_t loop;

        uv_loop_init(&loop);
        bopt.loop = &loop;
        is_int(bridge_host_new(&bopt, &h, &errs), 0, "the example's bridge sections are valid");
        is_str(errors_joined(&errs, path), "", "with no errors");
        config_errors_free(&errs);
        bridge_host_free(h);
        while (uv_run(&loop, UV_RUN_NOWAIT) != 0)
            ;
        uv_loop_close(&loop);
    }
    config_free(cfg);
    free(path);
}

int
main(void)
{
    tmpdir = fixture_tmpdir();
    test_defaults();
    test_values();
    test_parsers();
    test_checks();
    test_type_errors();
    test_required();
    test_syntax_and_files();
    test_unknown_and_duplicates();
    test_all_at_once();
    test_bridge_tables();
    test_check_runnable();
    test_write_scalars();
    test_example_config();
    fixture_rmdir(tmpdir);
    tap_done();
}
