/*
 * The bridge interface: how a security tool becomes a bot in Matrix rooms.
 *
 * A bridge is one file in bridges/ that fills one constant struct bridge
 * (as tmux's cmd_entry and curl's Curl_protocol), listed once in
 * bridges/bridges.c.  It names its bot, its configuration keys and a table
 * of commands; each command declares its arguments, the indicator types
 * it accepts (so that !enrich can fan out), the permission level it
 * needs, whether it is dangerous, and its timeout.  Help text, argument
 * checking, permissions, queueing, rate limits, timeouts, caching and the
 * rendering of answers are all done by warroom from these declarations;
 * a bridge only does the lookup and fills a struct bridge_result.  It
 * never formats Matrix messages.
 *
 * Writing a bridge, from this header alone:
 *   1. struct mytool_state { struct bridge_state super; char *api_key; };
 *   2. a config key table for bridges.mytool.* with offsets into it;
 *   3. commands whose run() starts the work with the services below
 *      (bridge_http, bridge_dns, bridge_work, bridge_media) and ends it,
 *      exactly once, with bridge_done() or bridge_fail();
 *   4. const struct bridge bridge_mytool = {...}; and one line in
 *      bridges/bridges.c and in Makefile.am.
 * A call's run() and every service callback run on the loop thread;
 * nothing may block (work for the CPU or the disk goes to bridge_work()).
 */
#ifndef WARROOM_BRIDGE_H
#define WARROOM_BRIDGE_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "appservice/config.h"
#include "appservice/indicator.h"
#include "appservice/permission_level.h"

struct bridge_call;
struct bridge_state;

/* The Cortex taxonomy levels, in increasing order of concern. */
enum bridge_verdict {
    BRIDGE_VERDICT_NONE, /* the tool does not judge (DNS, RDAP) */
    BRIDGE_VERDICT_INFO,
    BRIDGE_VERDICT_SAFE,
    BRIDGE_VERDICT_SUSPICIOUS,
    BRIDGE_VERDICT_MALICIOUS,
};

const char *bridge_verdict_name(enum bridge_verdict v);

/* Argument flags. */
#define BRIDGE_ARG_REQUIRED 0x01   /* the command fails with its usage when it is missing */
#define BRIDGE_ARG_ARRAY 0x02      /* comma-separated values ("a,b,c"), or one per positional word */
#define BRIDGE_ARG_SECRET 0x04     /* never stored in the command record, never logged, never cached */
#define BRIDGE_ARG_POSITIONAL 0x08 /* may be given without "name=": positional words fill these in order */
#define BRIDGE_ARG_FROM_REPLY                                                                                          \
    0x10 /* missing, and the command replies to a message: take that message                                           \
          * (its text for IND_TEXT, its file for IND_FILE) */
#define BRIDGE_ARG_REST                                                                                                \
    0x20 /* positional: takes the rest of the command line as written, quotes                                          \
          * and all (free text for the ioc bridge) */

/* One argument of a command.  Values are checked by warroom before run():
 * types (refanged first: an analyst may paste "hxxps://evil[.]com"),
 * allowed values, required. */
struct bridge_arg {
    const char *name;           /* "name" in name=value; NULL ends the table */
    const char *help;           /* one line, for !help <tool> <command> */
    unsigned types;             /* enum indicator_type bits the value must be, or 0 for any text */
    unsigned flags;             /* BRIDGE_ARG_* */
    const char *default_value;  /* used when absent (NULL: absent) */
    const char *const *allowed; /* NULL-terminated values the argument may take, or NULL */
};

/* One command of a bridge. */
struct bridge_command {
    const char *name;              /* "mx", as in "!dns mx example.com"; NULL ends the table */
    const char *usage;             /* "mx <domain>", shown after "!dns " */
    const char *help;              /* one line */
    const struct bridge_arg *args; /* may be NULL: no arguments */
    /* Indicator types of the command's first positional argument that
     * !enrich may send it, or 0 if !enrich never runs it. */
    unsigned enrich;
    enum perm_level level; /* who may run it (at least the bridge's level) */
    int dangerous;         /* run only after the caller confirms with a reaction */
    unsigned timeout_ms;   /* 0: the bridge's configured timeout */
    int cacheable;         /* the same arguments within the cache TTL reuse the answer */
    /* Starts the work.  Called on the loop thread with the arguments
     * checked.  Must end the call exactly once, now or later, with
     * bridge_done() or bridge_fail().  Never NULL. */
    void (*run)(struct bridge_call *call);
};

/* One bridge. */
struct bridge {
    const char *name;        /* "dns": the command word, the bot's {name}, the config section bridges.<name> */
    const char *displayname; /* the bot's display name ("DNS") */
    const char *description; /* one line, for !help */
    enum perm_level level;   /* who may use any of it (and invite its bot) */
    int enabled_by_default;  /* enabled when bridges.<name>.enabled is absent */
    const struct bridge_command *commands; /* NULL-name terminated; the first is the default command */
    /* The bridge's own keys under bridges.<name>, with offsets into its
     * state struct; NULL if it has none.  The common keys (enabled,
     * concurrency, rate_limit, timeout, cache_ttl, allow_networks) are
     * added by warroom and must not be repeated. */
    const struct config_key *config;
    /* sizeof the bridge's state struct, which starts with struct
     * bridge_state; sizeof(struct bridge_state) if it has no state. */
    size_t state_size;
    /* Called once at start-up after the configuration is applied, on the
     * loop thread; may open clients.  Returns 0, or -1 with an allocated
     * reason (warroom does not start).  May be NULL. */
    int (*init)(struct bridge_state *st, uv_loop_t *loop, char **cause);
    /* Called once at shutdown; frees what init made (not the config
     * values, which warroom frees).  May be NULL. */
    void (*free)(struct bridge_state *st);
};

/* What every bridge's state starts with: the common settings under
 * bridges.<name>. */
struct bridge_state {
    const struct bridge *bridge;
    int enabled;                          /* bridges.<name>.enabled */
    long concurrency;                     /* .concurrency: calls at once; more wait in a queue */
    long rate_limit;                      /* .rate_limit: calls per user per minute (0: unlimited) */
    uint64_t timeout_ms;                  /* .timeout */
    uint64_t cache_ttl_ms;                /* .cache_ttl (0: no cache) */
    struct config_strlist allow_networks; /* .allow_networks: CIDRs tool lookups may reach (SSRF guard) */
    struct config_strlist resolvers; /* .resolvers: DNS servers for bridge_dns ("host:port"); empty: the system's */
    void *runtime;                   /* warroom's, not the bridge's */
};

/* The result of a command: what the tool found, never Matrix text. */
struct bridge_result {
    char *title; /* "example.com MX" */
    enum bridge_verdict verdict;
    char *summary;  /* the key facts in one line, for the !enrich table; may be NULL */
    char **columns; /* the table's header, ncolumns cells */
    size_t ncolumns;
    char ***rows; /* nrows rows of ncolumns cells */
    size_t nrows;
    struct indicator_list artifacts; /* new indicators the tool found */
    struct json_object *raw;         /* the tool's own answer, or NULL */
    /* Text shown as written, in a code block, NOT defanged (still
     * HTML-escaped): only for output the analyst asked to be live, such as
     * !ioc refang.  NULL: none. */
    char *code;
    /* How long the answer may be reused from the tool cache, at most,
     * when the tool's data says so itself (a DNS record's TTL): when
     * max_age_set, the cache keeps it for the smaller of max_age_ms and the
     * bridge's cache_ttl, and not at all for 0.  Set with
     * bridge_result_max_age(). */
    int max_age_set;
    uint64_t max_age_ms;
};

/* Building a result.  Strings are copied; NULL-terminated lists of cells. */
struct bridge_result *bridge_result_new(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bridge_result_verdict(struct bridge_result *r, enum bridge_verdict v);
void bridge_result_summary(struct bridge_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bridge_result_columns(struct bridge_result *r, const char *first, ...) __attribute__((sentinel));
/* A row must have as many cells as there are columns (extra cells are
 * dropped, missing ones are empty). */
void bridge_result_row(struct bridge_result *r, const char *first, ...) __attribute__((sentinel));
void bridge_result_artifact(struct bridge_result *r, enum indicator_type type, const char *value);
/* Takes ownership of raw. */
void bridge_result_raw(struct bridge_result *r, struct json_object *raw);
/* Sets the verbatim code block (see struct bridge_result). */
void bridge_result_code(struct bridge_result *r, const char *text);
/* Limits how long the answer is cached (see max_age_ms); a second call
 * keeps the smaller limit. */
void bridge_result_max_age(struct bridge_result *r, uint64_t ms);
void bridge_result_free(struct bridge_result *r);

/* Reading the call.  Strings are borrowed, valid until the call ends. */
struct bridge_state *bridge_call_state(struct bridge_call *call);
const struct bridge_command *bridge_call_command(struct bridge_call *call);
/* The (first) value of an argument, or its default, or NULL. */
const char *bridge_call_arg(struct bridge_call *call, const char *name);
/* The values of an array argument. */
size_t bridge_call_arg_count(struct bridge_call *call, const char *name);
const char *bridge_call_arg_at(struct bridge_call *call, const char *name, size_t i);
/* The indicator type the value was recognised as (0 for text). */
unsigned bridge_call_arg_type(struct bridge_call *call, const char *name);
const char *bridge_call_sender(struct bridge_call *call);
const char *bridge_call_room(struct bridge_call *call);
/* The message the command replies to, or NULL (its content object). */
struct json_object *bridge_call_reply_content(struct bridge_call *call);
uv_loop_t *bridge_call_loop(struct bridge_call *call);

/* Ties data to the call: free_fn(data) runs once, on the loop thread, when
 * the call is over however it ended (done, failed, timed out, cancelled
 * at shutdown), after the last of its service callbacks could run.  For
 * state several service requests share (the dns bridge's queries): a
 * timeout cancels them, so no callback of theirs could free it.  Do not
 * hand attached data to bridge_work(), whose after may run later still.
 * One per call: attaching twice is a bug and aborts. */
void bridge_call_attach(struct bridge_call *call, void *data, void (*free_fn)(void *data));

/* Services.  Each callback runs on the loop thread, at most once, and
 * never after the call has ended (a timeout ends it: what is still
 * running is cancelled, and the room is told). */

struct tool_http_request;
struct tool_http_response;
/* An HTTP request through the SSRF guard, with the bridge's
 * allow_networks.  req and what it points to (URL, header lines, body)
 * are copied: they may be freed when this returns.  res is borrowed for
 * the callback.  The callback does not run for a call that ended first
 * (a timeout), so arg must not own memory: derive what the callback
 * needs from the call (its arguments), or point at static data. */
void bridge_http(struct bridge_call *call, const struct tool_http_request *req,
                 void (*cb)(struct bridge_call *call, const struct tool_http_response *res, void *arg), void *arg);

struct dns_answer;
/* A DNS query with the bridge's resolver (see bridges/dns.c and
 * dns_resolver.h; type is ns_t_a, ns_t_mx, ...). */
void bridge_dns(struct bridge_call *call, const char *name, int type,
                void (*cb)(struct bridge_call *call, const struct dns_answer *answer, void *arg), void *arg);

/* CPU or disk work on the thread pool: work(arg) runs on a pool thread
 * and must not touch the call; after(call, arg) runs on the loop thread.
 * If the call ended meanwhile (timeout), after is called with call NULL,
 * so that arg can still be freed. */
void bridge_work(struct bridge_call *call, void (*work)(void *arg), void (*after)(struct bridge_call *call, void *arg),
                 void *arg);

/* Downloads a Matrix file (an mxc:// URI) as the bridge's bot, through the
 * authenticated media endpoint or else the legacy one, at most max bytes.
 * data is borrowed for the callback; on failure data is NULL and error
 * says why.  A file larger than max is not read further: data is NULL
 * and len is max + 1 (on any other failure len is 0). */
void bridge_media(struct bridge_call *call, const char *mxc_uri, size_t max,
                  void (*cb)(struct bridge_call *call, const void *data, size_t len, const char *content_type,
                             const char *error, void *arg),
                  void *arg);

/* Tells the room how far the work is ("3 of 5 sources answered"); shown
 * by editing the acknowledgement of long commands. */
void bridge_progress(struct bridge_call *call, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Ends the call with a result (takes ownership). */
void bridge_done(struct bridge_call *call, struct bridge_result *result);

/* Ends the call with an error the analyst reads in the room ("VirusTotal
 * refused the API key (HTTP 401)"); detail (may be NULL) goes only to the
 * log. */
void bridge_fail(struct bridge_call *call, const char *detail, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Ends the call for a tool HTTP answer that is not a success, in an
 * analyst's words: "<tool> refused the API key (HTTP 401)", "<tool>'s
 * quota is used up (HTTP 429: <its message>); try again in N s", "<tool>
 * is failing (HTTP 500)", "<tool> cannot be reached (<why>)", "<tool>
 * took too long", "<tool> answered with something that is not JSON".
 */
void bridge_fail_http(struct bridge_call *call, const char *tool, const struct tool_http_response *res);

/* For a bridge's init: 0 if the API key is set and can go in an HTTP
 * header, else -1 with *cause (allocated) saying "api_key is required:
 * <where>" (where the operator finds it) or what is wrong with it. */
int bridge_check_api_key(const char *key, const char *where, char **cause);

/* For warroom (the tool cache): a result as JSON and back.  to_json
 * returns allocated (release with json_object_put()); from_json returns
 * allocated (free with bridge_result_free()), or NULL if json is not a
 * result. */
struct json_object *bridge_result_to_json(const struct bridge_result *r);
struct bridge_result *bridge_result_from_json(struct json_object *json);

/* The table of every bridge (bridges/bridges.c), NULL-terminated. */
extern const struct bridge *const bridges_all[];

#endif
