/*
 * The main bot's own commands, which exercise the whole path (homeserver,
 * store, router, outbox, homeserver) before any tool bridge exists:
 *   !ping    measures the round trip homeserver -> warroom -> homeserver
 *            with the appservice ping (Matrix 1.7), and how long the
 *            command took to reach warroom;
 *   !help    lists what the caller may run, and nothing else (router_help.c);
 *   !enrich  asks every tool about an indicator (router_enrich.c).
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "hs_client.h"
#include "log.h"
#include "permissions.h"
#include "reply.h"
#include "router_internal.h"
#include "xmalloc.h"

static void router_builtin_ping(struct router_job *job);

const struct router_builtin router_builtins[] = {
    {.name = "ping",
     .usage = "ping",
     .help = "check that warroom answers, and measure the round trip to the homeserver",
     .level = PERM_GUEST,
     .run = router_builtin_ping},
    {.name = "help",
     .usage = "help [tool [command]]",
     .help = "list the commands you may run, or explain one",
     .level = PERM_GUEST,
     .run = router_help_run},
    {.name = "enrich",
     .usage = "enrich <indicator>",
     .help = "ask every tool that knows this kind of indicator, and sum up their verdicts",
     .level = PERM_ANALYST,
     .run = router_enrich_run},
    {.name = NULL},
};

const struct router_builtin *
router_builtin_find(const char *name)
{
    for (const struct router_builtin *b = router_builtins; b->name != NULL; b++) {
        if (strcmp(b->name, name) == 0)
            return b;
    }
    return NULL;
}

/* The part of the answer about the command's own trip. */
static char *
router_builtin_arrival(const struct router_job *job)
{
    int64_t ms = job->received_at - job->origin_server_ts;

    /* The homeserver's clock is not ours; a negative delay says so. */
    if (ms < 0)
        return xstrdup("");
    return xasprintf("; your message reached warroom %" PRId64 " ms after it was sent", ms);
}

static void
router_builtin_on_ping(const struct hs_response *res, void *arg)
{
    struct router_job *job = arg;
    struct json_object *v, *result = json_object_new_object();
    char *arrival = router_builtin_arrival(job), *body;

    job->call = NULL;
    json_object_object_add(result, "command", json_object_new_string("ping"));
    json_object_object_add(result, "arrival_ms", json_object_new_int64(job->received_at - job->origin_server_ts));
    if (hs_response_ok(res) && res->body != NULL && json_object_object_get_ex(res->body, "duration_ms", &v)) {
        int64_t rtt = json_object_get_int64(v);

        json_object_object_add(result, "round_trip_ms", json_object_new_int64(rtt));
        body = xasprintf("pong: homeserver -> warroom -> homeserver round trip %" PRId64 " ms%s.", rtt, arrival);
        router_job_finish(job, STORE_COMMAND_DONE, body, NULL, result);
    } else {
        const char *errcode = res->error.errcode != NULL ? res->error.errcode : "";
        const char *why;

        if (strcmp(errcode, "M_UNRECOGNIZED") == 0 || res->status == 404)
            why = "this homeserver does not offer the appservice ping (it needs Matrix 1.7)";
        else if (strcmp(errcode, "M_CONNECTION_FAILED") == 0)
            why = "the homeserver cannot connect to warroom's appservice.address";
        else if (strcmp(errcode, "M_CONNECTION_TIMEOUT") == 0)
            why = "the homeserver's request to warroom timed out";
        else if (res->status == 0)
            why = "warroom cannot reach the homeserver";
        else
            why = "the homeserver refused the ping";
        json_object_object_add(result, "error", json_object_new_string(errcode));
        body = xasprintf("pong%s. The round trip could not be measured: %s.", arrival, why);
        router_job_finish(job, STORE_COMMAND_DONE, body, NULL, result);
    }
    free(body);
    free(arrival);
}

static void
router_builtin_ping(struct router_job *job)
{
    struct router *r = job->r;
    struct hs_request req = {0};
    struct json_object *body = json_object_new_object();
    char *path = hs_client_path("/_matrix/client/v1/appservice/%s/ping", r->cfg->appservice.id);
    char *txn = xasprintf("warroom-ping-%s", job->event_id);

    json_object_object_add(body, "transaction_id", json_object_new_string(txn));
    req.method = "POST";
    req.path = path;
    req.body = body;
    req.timeout_ms = 15000;
    req.retry = HS_RETRY_NONE;
    job->call = hs_client_request(r->hc, &req, router_builtin_on_ping, job);
    router_job_started(job);
    json_object_put(body);
    free(path);
    free(txn);
}
