/*
 * What router.c and the built-in commands share.  Not for use outside
 * the router.
 */
#ifndef WARROOM_ROUTER_INTERNAL_H
#define WARROOM_ROUTER_INTERNAL_H

#include <json-c/json.h>
#include <stdint.h>
#include <uv.h>

#include "permission_level.h"
#include "router.h"
#include "store/store.h"

struct hs_call;
struct bot;
struct router_room;

/* The fields of an event the router reads; borrowed from json. */
struct router_event {
    struct json_object *json;
    struct json_object *content;
    const char *event_id;
    const char *room_id;
    const char *sender;
    const char *type;
    const char *state_key;
    int64_t origin_server_ts;
};

/* A command being run. */
struct router_job {
    struct router *r;
    struct bot *bot; /* the bot that answers */
    char *event_id;
    char *room_id;
    char *sender;
    char *thread_root;
    char *command;
    char *args; /* the text after the command word */
    int64_t origin_server_ts;
    int64_t received_at;
    enum perm_level level;
    struct hs_call *call; /* an asynchronous step, cancelled on shutdown */
    struct router_job *next;
};

struct router {
    uv_loop_t *loop;
    const struct config *cfg;
    struct store *store;
    struct bots *bots;
    struct outbox *outbox;
    struct hs_client *hc;
    struct router_job *jobs;
    unsigned running;
    struct router_room *rooms; /* cache of direct-chat facts, by room ID (uthash) */
    unsigned nrooms;
    int64_t done_txn_seq;
    int64_t saved_txn_seq;
    uv_timer_t timer;
    int stopping;
    void (*done)(void *arg);
    void *done_arg;
};

/* A command of the main bot. */
struct router_builtin {
    const char *name;
    const char *usage;
    const char *help;
    enum perm_level level;
    void (*run)(struct router_job *job);
};

/* The built-in command called name, or NULL. */
const struct router_builtin *router_builtin_find(const char *name);
/* The NULL-name-terminated table of built-ins. */
extern const struct router_builtin router_builtins[];

/*
 * Answers the job's command in its thread, records the outcome with the
 * answer in one write, and frees the job.  result is taken (may be NULL).
 */
void router_job_finish(struct router_job *job, enum store_command_status status, const char *body, const char *html,
                       struct json_object *result);

int router_bot_joined(struct router *r, struct bot *bot, const char *room_id);
char *router_duration_words(int64_t ms);
void router_save_position(struct router *r);

#endif
