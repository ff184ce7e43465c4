/*
 * The configuration file: YAML, with the key names operators know from
 * mautrix bridges.  Every key is described once in config_table.c (name,
 * type, default, help), and the same generic validator checks the core keys
 * and each bridge's own keys under bridges.<name>, so every error is
 * reported as "file:line: what is wrong".
 *
 * Ownership: config_load() returns allocated, free with config_free().
 * Secrets (as_token, hs_token, anything of type CONFIG_SECRET) are wiped
 * when the config is freed.
 */
#ifndef WARROOM_CONFIG_H
#define WARROOM_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "permission_level.h"

struct yaml_document_s;

/* One "file:line: message" per problem, in file order. */
struct config_errors {
    char **lines;
    size_t n;
};

void config_errors_add(struct config_errors *errs, const char *file, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void config_errors_free(struct config_errors *errs);

enum config_type {
    CONFIG_STRING,   /* any string */
    CONFIG_SECRET,   /* a string that is never logged and wiped when freed */
    CONFIG_URL,      /* http:// or https:// URL, stored without a trailing slash */
    CONFIG_BOOL,     /* true/false (YAML 1.1 yes/no/on/off accepted) */
    CONFIG_INT,      /* integer within [min, max] */
    CONFIG_SIZE,     /* bytes: 1048576, "512KiB", "10MiB", "1GiB"; within [min, max] */
    CONFIG_DURATION, /* milliseconds: 1500, "250ms", "30s", "5m", "1h", "7d"; within [min, max] */
    CONFIG_ENUM,     /* one of choices[], stored as the index */
    CONFIG_LEVELMAP, /* mapping of subject -> none|guest|analyst|admin (bridge.permissions) */
    CONFIG_STRLIST,  /* sequence of strings (or one string, taken as a list of one) */
    CONFIG_SUBTREE,  /* a mapping whose content is validated elsewhere (bridges); nothing stored, offset unused */
};

/* struct config_key flags */
#define CONFIG_OPTIONAL 0x1 /* no default and not required: absent leaves NULL (strings) */

/* A permission rule: subject is a full user ID, a server name or "*". */
struct config_level_rule {
    char *subject;
    enum perm_level level;
    size_t line;
};

struct config_level_map {
    struct config_level_rule *rules;
    size_t n;
};

struct config_strlist {
    char **items;
    size_t n;
};

/*
 * One configuration key, as in tmux's options-table.c.  The value is stored
 * at `offset` in the target struct, as:
 *   STRING, SECRET, URL: char * (allocated)      BOOL, ENUM: int
 *   INT: long    SIZE: uint64_t    DURATION: uint64_t (milliseconds)
 *   LEVELMAP: struct config_level_map    STRLIST: struct config_strlist
 */
struct config_key {
    const char *name; /* dotted path relative to the table's root */
    enum config_type type;
    const char *default_value;  /* text as it would be written in YAML; NULL: required */
    const char *help;           /* one line for contrib/config.example.yaml and errors */
    const char *const *choices; /* CONFIG_ENUM: NULL-terminated names */
    int64_t min, max;           /* INT, SIZE, DURATION: bounds (both 0: unbounded) */
    size_t offset;              /* where the value goes in the target struct */
    unsigned flags;             /* CONFIG_OPTIONAL */
    /* Further checks of a string value, or NULL: returns NULL if the value
     * is acceptable, else a reason ("is not a valid server name"). */
    const char *(*check)(const char *value);
};

struct config {
    char *path; /* the file the config was read from */

    struct {
        char *address;  /* homeserver.address: client-server API base URL */
        char *domain;   /* homeserver.domain: server name of the homeserver */
        int verify_tls; /* homeserver.verify_tls */
    } homeserver;

    struct {
        char *address;           /* appservice.address: URL the homeserver uses to reach warroom */
        char *hostname;          /* appservice.hostname: address to listen on */
        long port;               /* appservice.port */
        char *id;                /* appservice.id: registration id */
        char *bot_username;      /* appservice.bot.username: sender_localpart */
        char *bot_displayname;   /* appservice.bot.displayname */
        char *as_token;          /* appservice.as_token: secret, may be absent before -g */
        char *hs_token;          /* appservice.hs_token: secret, may be absent before -g */
        char *database;          /* appservice.database: SQLite file */
        int database_sync;       /* appservice.database_sync: 0 full, 1 normal */
        uint64_t max_body_size;  /* appservice.max_body_size: bytes */
        int legacy_access_token; /* appservice.legacy_access_token: accept ?access_token= */
        uint64_t shutdown_grace; /* appservice.shutdown_grace: ms to finish in-flight work */
    } appservice;

    struct {
        int enabled;  /* metrics.enabled */
        char *listen; /* metrics.listen: "host:port", or "" to serve on the appservice port */
    } metrics;

    struct {
        char *username_template;             /* bridge.username_template: "soc_{name}" */
        char *command_prefix;                /* bridge.command_prefix: "!" */
        uint64_t command_max_age;            /* bridge.command_max_age: ms */
        uint64_t confirm_timeout;            /* bridge.confirm_timeout: ms */
        struct config_level_map permissions; /* bridge.permissions */
    } bridge;

    struct {
        int level;  /* logging.level: enum log_level */
        int format; /* logging.format: enum log_format */
    } logging;

    struct {
        uint64_t head_interval; /* audit.head_interval: ms between chain heads in the log (0: start/stop only) */
    } audit;

    /* The parsed YAML document, kept so that bridges can validate their own
     * keys under bridges.<name> with config_apply() and line numbers. */
    struct yaml_document_s *doc;
};

/* The table of the core keys, NULL-name terminated; see config_table.c. */
extern const struct config_key config_core_keys[];

/*
 * Reads and validates path.  On success returns 0 and sets *out.  On
 * failure returns -1, sets *out to NULL and adds one line per problem to
 * errs (a missing file, a YAML syntax error, an unknown key, a wrong type, a
 * value out of range, a required key absent).  Tokens may be absent: the
 * daemon refuses to run without them (config_check_runnable), -g creates
 * them.
 */
int config_load(const char *path, struct config **out, struct config_errors *errs);

/* Checks what the running daemon needs beyond config_load(): both tokens.
 * Returns 0, or -1 with lines added to errs. */
int config_check_runnable(const struct config *cfg, struct config_errors *errs);

/*
 * Applies a key table to the mapping found at root_path in the document
 * ("" for the document root, "bridges.dns" for a bridge), storing into
 * target.  Unknown keys under that mapping are errors; absent keys get
 * their defaults.  Returns 0, or -1 with lines added to errs.  Used by
 * config_load() for the core and by bridges for their own settings.
 * target must start zeroed; what is stored in it (also on failure) is
 * freed with config_free_target().  An absent or empty root_path counts
 * as an empty mapping: the defaults apply and a required key is reported
 * at the line of the nearest section present.
 */
int config_apply(const struct config *cfg, const char *root_path, const struct config_key *keys, void *target,
                 struct config_errors *errs);

/* Frees what config_apply() stored into target for that table. */
void config_free_target(const struct config_key *keys, void *target);

/* Names of the mappings directly under root_path ("bridges" -> "dns",
 * "rdap", ...), in file order; an empty entry ("dns:") counts as one.
 * Returns allocated, free with config_strlist_free(). */
struct config_strlist config_children(const struct config *cfg, const char *root_path);
void config_strlist_free(struct config_strlist *list);

/* The line of the key at path (where "key:" is written), or 0 if absent. */
size_t config_line(const struct config *cfg, const char *path);

/*
 * Sets scalar keys in the file at path, keeping everything else (comments,
 * order, other keys) as it was: an existing value is replaced in place, a
 * missing key is inserted under its parent mapping with the siblings'
 * indentation (the parent is created if absent).  The file is replaced
 * atomically and left with mode 0600, because what -g writes is secret.
 * keys and values are parallel arrays of n dotted paths and plain values.
 * Returns 0, or -1 with lines added to errs.
 */
int config_write_scalars(const char *path, const char *const *keys, const char *const *values, size_t n,
                         struct config_errors *errs);

void config_free(struct config *cfg);

/* Parses the value forms above; exposed for the unit tests and bridges.
 * Each returns 0, or -1 with an allocated reason in *cause. */
int config_parse_size(const char *text, uint64_t *out, char **cause);
int config_parse_duration(const char *text, uint64_t *out, char **cause);
int config_parse_bool(const char *text, int *out, char **cause);
int config_parse_level(const char *text, enum perm_level *out, char **cause);

/* Value checks of config_table.c, usable as config_key.check: NULL if the
 * value is acceptable, else the reason. */
const char *config_check_server_name(const char *value);
const char *config_check_localpart(const char *value);

#endif
