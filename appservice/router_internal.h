/*
 * What the router's files share: router.c (dispatch, invites, catch-up),
 * router_job.c (a command's life in the room), router_bridge.c (tool
 * commands), router_enrich.c (!enrich), router_confirm.c (dangerous
 * commands), router_help.c and router_builtin.c.  Not for use outside the
 * router.
 */
#ifndef WARROOM_ROUTER_INTERNAL_H
#define WARROOM_ROUTER_INTERNAL_H

#include <json-c/json.h>
#include <stdint.h>
#include <uv.h>

#include "permission_level.h"
#include "permissions.h"
#include "render.h"
#include "router.h"
#include "store/store.h"

struct hs_call;
struct bot;
struct bridge;
struct bridge_host;
struct bridge_host_call;
struct router_room;
struct router_enrich;
struct router_confirm;
struct bridge_host_request;

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

/*
 * A command being run.  It is recorded once (its event ID), answered in
 * its thread, and if the work takes longer than a second it first posts an
 * acknowledgement that progress and the final answer then edit.  The
 * struct embeds its timer, so it is freed in the timer's close callback.
 */
struct router_job {
    struct router *r;
    struct bot *bot; /* the bot that answers */
    char *event_id;
    char *room_id;
    char *sender;
    char *thread_root;
    char *command;               /* "ping", "dns mx": the record and the log */
    char *args;                  /* the text after the command word */
    const struct bridge *bridge; /* a tool's command, or NULL */
    int64_t origin_server_ts;
    int64_t received_at;
    struct permissions_decision perm;

    struct hs_call *call;                /* a built-in's asynchronous step */
    struct bridge_host_call *bcall;      /* a tool call */
    struct router_enrich *enrich;        /* !enrich's fan-out */
    struct router_confirm *confirm;      /* waiting for the caller's reaction */
    struct bridge_host_request *pending; /* a dangerous tool call waiting for that reaction */

    uv_timer_t timer;      /* the acknowledgement's delay, then the pace of progress edits */
    int64_t ack_outbox_id; /* the acknowledgement, once posted */
    char *progress;        /* the latest progress text */
    int progress_shown;    /* it was put in an edit */
    uint64_t last_edit;    /* uv_now() of the last progress edit */
    int done;
    struct router_job *next;
};

struct router {
    uv_loop_t *loop;
    const struct config *cfg;
    struct store *store;
    struct bots *bots;
    struct outbox *outbox;
    struct hs_client *hc;
    struct bridge_host *bridges;
    struct router_job *jobs;
    unsigned running;
    struct router_room *rooms; /* cache of direct-chat facts, by room ID (uthash) */
    unsigned nrooms;
    struct router_confirm *confirms; /* dangerous commands waiting for a reaction */
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

/* router_job.c */

/*
 * Makes a job for a command (recorded by the caller) and links it to the
 * router.  Returns the job, owned by the router until it is finished.
 */
struct router_job *router_job_new(struct router *r, const struct router_event *ev, struct bot *bot, const char *command,
                                  const char *args, const struct bridge *bridge, struct permissions_decision perm);

/* The work has started: if it is not done within a second, an
 * acknowledgement is posted in the thread. */
void router_job_started(struct router_job *job);

/* Shows progress ("3 of 5 sources answered") by editing the
 * acknowledgement, at most every two seconds. */
void router_job_progress(struct router_job *job, const char *text);

/*
 * Answers the command in its thread (as an edit of the acknowledgement if
 * one was posted, and a file for output too large for a message),
 * records the outcome with the answer in one write, and frees the job.
 * out is borrowed; verdict may be NULL.
 */
void router_job_answer(struct router_job *job, enum store_command_status status, const struct render_out *out,
                       const char *verdict);

/* router_job_answer() with a plain body, optional HTML and a result
 * object (taken, may be NULL). */
void router_job_finish(struct router_job *job, enum store_command_status status, const char *body, const char *html,
                       struct json_object *result);

/* Cancels what the job still runs and frees it without answering (the
 * command stays recorded as running, and is run again at the next start). */
void router_job_abandon(struct router_job *job);

/* router_bridge.c */

/* Runs a tool's command: text is what follows the tool's name.  resume:
 * the command was recorded by a run that died. */
void router_bridge_command(struct router *r, const struct router_event *ev, struct bot *answerer,
                           const struct bridge *b, const char *text, int resume);
/* Frees a tool call that was waiting for a confirmation. */
void router_bridge_forget(struct router_job *job);

/* router_enrich.c */

/* !enrich <indicator>: every tool that takes that kind of indicator. */
void router_enrich_run(struct router_job *job);
/* Cancels the calls of a job's fan-out and frees it. */
void router_enrich_cancel(struct router_job *job);

/* router_confirm.c */

/* Asks the caller to confirm a dangerous command with a reaction; start
 * runs if they do within bridge.confirm_timeout, else the job is answered
 * that nothing was run. */
void router_confirm_ask(struct router_job *job, const char *what, void (*start)(struct router_job *job));
/* A reaction: starts the command it confirms, if it does. */
void router_confirm_reaction(struct router *r, const struct router_event *ev);
/* The outbox delivered an entry: a prompt's event ID becomes known. */
void router_confirm_sent(struct router *r, int64_t outbox_id, const char *event_id);
/* Drops a job's pending confirmation. */
void router_confirm_cancel(struct router_job *job);

/* router_help.c */

/* !help [tool [command]]: what the caller may run, and nothing else. */
void router_help_run(struct router_job *job);
/* The usage of a command, for error messages ("!dns mx <domain>"). */
char *router_help_usage(const struct router *r, const struct bridge *b, const struct bridge_command *cmd);

/* router.c */

/* A permission decision recorded with a command (router_record()). */
struct router_decision {
    struct permissions_decision d;
    enum perm_level need; /* the level the command needs */
};

/* Appends an audit entry (takes ownership of detail); a failure is
 * logged.  For entries that do not go with another write. */
void router_audit(struct router *r, const char *kind, struct json_object *detail);
/* A new audit detail with the fields every entry about an event has:
 * event_id, room_id, user (the sender).  Returns a new object. */
struct json_object *router_audit_detail(const char *event_id, const char *room_id, const char *user);

int router_bot_joined(struct router *r, struct bot *bot, const char *room_id);
void router_save_position(struct router *r);
char *router_duration_words(int64_t ms);
/* Records a command once, with its audit entries ("command" received, and
 * the permission decision if dec is not NULL) in the same write; returns
 * 1 if recorded now, 0 if it was before (offered again), -1 on a store
 * error (logged). */
int router_record(struct router *r, const struct router_event *ev, const char *bridge, const char *command,
                  const char *args_json, const struct router_decision *dec);
/* Refuses or skips a command that is too old or not permitted; returns 1
 * if it answered the job (then freed), else 0. */
int router_check_stale(struct router_job *job);

#endif
