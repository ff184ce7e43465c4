/*
 * What bridge_host.c (instances, queues, limits, cache) and
 * bridge_call.c (a call and its services) share.  Not for use elsewhere.
 */
#ifndef WARROOM_BRIDGE_HOST_INTERNAL_H
#define WARROOM_BRIDGE_HOST_INTERNAL_H

#include <uv.h>

#include "bridge_host.h"

struct tool_http;
struct dns_resolver;
struct bridge_rate;
struct bridge_op;

/* One bridge, enabled or not. */
struct bridge_instance {
    struct bridge_host *host;
    const struct bridge *bridge;
    struct bridge_state *state; /* allocated, bridge->state_size bytes */
    struct config_key *keys;    /* the common keys and the bridge's own, NULL-name terminated */
    struct bot *bot;            /* NULL when disabled */
    int inited;                 /* bridge->init ran and succeeded */
    struct tool_http *http;     /* made on first use */
    struct dns_resolver *dns;   /* made on first use */
    unsigned running;
    struct bridge_call *queue_head, *queue_tail;
    struct bridge_rate *rates; /* calls per user in the last minute (uthash) */
};

struct bridge_host {
    uv_loop_t *loop;
    const struct config *cfg;
    struct curl_uv *cu;
    struct store *store;
    struct bots *bots;
    struct hs_client *hc;
    struct bridge_instance *inst;
    size_t ninst;
    struct bridge_call *calls; /* every call not yet freed */
    unsigned active;
};

enum bridge_call_phase {
    BRIDGE_CALL_QUEUED,
    BRIDGE_CALL_RUNNING,
    BRIDGE_CALL_ENDED,     /* waiting to report from the loop */
    BRIDGE_CALL_CANCELLED, /* no report; closing */
};

struct bridge_call {
    struct bridge_instance *inst;
    const struct bridge_command *cmd;
    struct command_args args;
    char *sender;
    char *room_id;
    struct json_object *reply;
    struct bridge_host_callbacks cb;
    enum bridge_call_phase phase;
    uv_timer_t timer;      /* the timeout while running, then the deferred report */
    uint64_t started;      /* uv_now() when it ran */
    struct bridge_op *ops; /* service requests under way */
    struct bridge_result *result;
    char *error;
    int timed_out;
    int from_cache;
    char *cache_key; /* NULL: not cached */
    void *attached;  /* bridge_call_attach(): freed with attached_free when the call is freed */
    void (*attached_free)(void *data);
    struct bridge_call *qnext;
    struct bridge_call *next;
    struct bridge_call **pprev;
};

/* Ends a running call (result or error), from bridge_done/bridge_fail or
 * the timeout: cancels its services, frees its slot, schedules the report
 * and the next queued call. */
void bridge_host_end(struct bridge_call *call);

/* Cancels every service request of a call (their callbacks will not run;
 * pool work is orphaned and its after callback gets NULL). */
void bridge_call_cancel_ops(struct bridge_call *call);

/* The tool HTTP client and resolver of an instance, made on first use;
 * NULL with *cause set if they cannot be made. */
struct tool_http *bridge_host_http(struct bridge_instance *inst, char **cause);
struct dns_resolver *bridge_host_dns(struct bridge_instance *inst, char **cause);

#endif
