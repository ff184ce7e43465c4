/*
 * The bridge host: runs the bridges of bridges/bridges.c for the router.
 *
 * At start-up it applies each bridge's configuration (bridges.<name>, the
 * common keys and the bridge's own, with file:line errors), calls its
 * init, and gives each enabled bridge its bot.  At run time it starts
 * calls: a call is checked against the bridge's per-user rate limit,
 * answered from the tool cache when the same lookup was made within the
 * cache TTL, queued while the bridge runs as many calls as its
 * concurrency allows, and ended by its timeout if the tool is slow.  The
 * router gets progress and the outcome through callbacks, always from the
 * loop and never from inside bridge_host_start().
 */
#ifndef WARROOM_BRIDGE_HOST_H
#define WARROOM_BRIDGE_HOST_H

#include <json-c/json.h>
#include <stdint.h>
#include <uv.h>

#include "bridges/bridge.h"
#include "command_parse.h"

struct config;
struct config_errors;
struct curl_uv;
struct store;
struct bots;
struct bot;
struct hs_client;
struct bridge_host;
struct bridge_host_call;

struct bridge_host_options {
    uv_loop_t *loop;
    const struct config *cfg;
    struct curl_uv *cu;
    struct store *store;  /* the loop thread's connection (tool cache) */
    struct bots *bots;    /* each enabled bridge's bot is added here */
    struct hs_client *hc; /* media downloads, as the bridge's bot */
    /* warroom -t: apply the configuration and run each enabled bridge's
     * init (which checks what the tables cannot: keys present, files
     * readable), but add no bots; cu, store, bots and hc may be NULL. */
    int check_only;
};

/* Returns 0 with *out (free with bridge_host_free()), or -1 with lines
 * added to errs (configuration errors, or a bridge's init failing). */
int bridge_host_new(const struct bridge_host_options *opt, struct bridge_host **out, struct config_errors *errs);

/* The enabled bridge called name, or NULL. */
const struct bridge *bridge_host_find(struct bridge_host *h, const char *name);
/* Its bot. */
struct bot *bridge_host_bot(struct bridge_host *h, const struct bridge *b);
/* The bridge a bot speaks for, or NULL (the main bot). */
const struct bridge *bridge_host_bridge_of(struct bridge_host *h, const struct bot *bot);
/* The enabled bridges, in table order; i from 0 while it returns non-NULL. */
const struct bridge *bridge_host_at(struct bridge_host *h, size_t i);
/* The command called name of bridge b, or NULL. */
const struct bridge_command *bridge_host_command(const struct bridge *b, const char *name);

/* How a call ended. */
struct bridge_host_outcome {
    struct bridge_result *result; /* on success (borrowed for the callback) */
    const char *error;            /* else what the analyst reads */
    int from_cache;               /* answered from the tool cache */
    int timed_out;
    int64_t duration_ms;
};

struct bridge_host_request {
    const struct bridge *bridge;
    const struct bridge_command *cmd;
    struct command_args args; /* taken */
    const char *sender;
    const char *room_id;
    struct json_object *reply_content; /* the replied-to message's content, or NULL (a reference is taken) */
};

struct bridge_host_callbacks {
    void (*progress)(const char *text, void *arg); /* may be NULL */
    void (*done)(const struct bridge_host_outcome *outcome, void *arg);
    void *arg;
};

/* Starts a call; req->args are taken.  done runs exactly once, from the
 * loop, unless the call is cancelled.  Returns the call (valid until done
 * has run or it is cancelled). */
struct bridge_host_call *bridge_host_start(struct bridge_host *h, struct bridge_host_request *req,
                                           const struct bridge_host_callbacks *cb);

/* Cancels a call; done will not run.  NULL is a no-op. */
void bridge_host_cancel(struct bridge_host_call *call);

/* Calls running or queued. */
unsigned bridge_host_active(const struct bridge_host *h);

/* Cancels every call, calls each bridge's free, frees its config values
 * and the host; run the loop once more afterwards.  NULL is a no-op. */
void bridge_host_free(struct bridge_host *h);

#endif
