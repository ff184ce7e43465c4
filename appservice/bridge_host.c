/*
 * The bridge host; see bridge_host.h.
 *
 * Each bridge gets the common keys under bridges.<name> (enabled,
 * concurrency, rate_limit, timeout, cache_ttl, allow_networks,
 * resolvers) in front of its own, applied by the generic config validator
 * into its state struct, so every mistake is reported as file:line like
 * the core keys.
 *
 * A call moves QUEUED -> RUNNING -> ENDED and reports from its timer (never
 * from inside bridge_host_start() or a bridge's run()).  Its struct, which
 * embeds the timer, is freed in the timer's close callback.
 */
#include "autoconfig.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "bots.h"
#include "bridge_host_internal.h"
#include "clock.h"
#include "config.h"
#include "dns_resolver.h"
#include "log.h"
#include "store/store.h"
#include "tool_http.h"
#include "xmalloc.h"

#define BRIDGE_HOST_RATE_WINDOW_MS 60000
/* Bounds of the resolver's wait for one server's answer (bridge_host_dns). */
#define BRIDGE_HOST_DNS_TRY_MIN_MS 50
#define BRIDGE_HOST_DNS_TRY_MAX_MS 2000

/* Calls one user made of one bridge in the last minute. */
struct bridge_rate {
    char *user;
    uint64_t *times; /* uv_now() of each call, oldest first */
    size_t n;
    UT_hash_handle hh;
};

#define BS(field) offsetof(struct bridge_state, field)

/* The keys every bridge has, before its own. */
static const struct config_key bridge_host_common_keys[] = {
    {"enabled", CONFIG_BOOL, "false", "run this bridge and give it a bot", NULL, 0, 0, BS(enabled), 0, NULL},
    {"concurrency", CONFIG_INT, "4", "calls at once; more wait in a queue", NULL, 1, 256, BS(concurrency), 0, NULL},
    {"rate_limit", CONFIG_INT, "30", "calls per user per minute (0: no limit)", NULL, 0, 100000, BS(rate_limit), 0,
     NULL},
    {"timeout", CONFIG_DURATION, "30s", "how long a call may take", NULL, 100, 3600000, BS(timeout_ms), 0, NULL},
    {"cache_ttl", CONFIG_DURATION, "1h", "how long a tool's answer is reused for the same lookup (0: never)", NULL, 0,
     0, BS(cache_ttl_ms), 0, NULL},
    {"allow_networks", CONFIG_STRLIST, "[]", "internal networks (CIDR) this tool may reach", NULL, 0, 0,
     BS(allow_networks), 0, NULL},
    {"resolvers", CONFIG_STRLIST, "[]", "DNS servers (host:port) for this bridge; empty: the system's", NULL, 0, 0,
     BS(resolvers), 0, NULL},
};

#define BRIDGE_HOST_NCOMMON (sizeof(bridge_host_common_keys) / sizeof(bridge_host_common_keys[0]))

/* The common keys (with the bridge's default for enabled) followed by the
 * bridge's own; allocated, NULL-name terminated. */
static struct config_key *
bridge_host_keys(const struct bridge *b)
{
    size_t own = 0;
    struct config_key *keys;

    for (const struct config_key *k = b->config; k != NULL && k->name != NULL; k++)
        own++;
    keys = xcalloc(BRIDGE_HOST_NCOMMON + own + 1, sizeof(*keys));
    memcpy(keys, bridge_host_common_keys, sizeof(bridge_host_common_keys));
    keys[0].default_value = b->enabled_by_default ? "true" : "false";
    if (own > 0)
        memcpy(keys + BRIDGE_HOST_NCOMMON, b->config, own * sizeof(*keys));
    return keys;
}

/* The bot's localpart: the template with {name} replaced. */
static char *
bridge_host_localpart(const struct config *cfg, const char *name)
{
    const char *t = cfg->bridge.username_template, *at = strstr(t, "{name}");

    if (at == NULL)
        return xasprintf("%s%s", t, name);
    return xasprintf("%.*s%s%s", (int)(at - t), t, name, at + 6);
}

int
bridge_host_new(const struct bridge_host_options *opt, struct bridge_host **out, struct config_errors *errs)
{
    struct bridge_host *h = xcalloc(1, sizeof(*h));
    struct config_strlist present;
    size_t n = 0;
    int ret = 0;

    *out = NULL;
    h->loop = opt->loop;
    h->cfg = opt->cfg;
    h->cu = opt->cu;
    h->store = opt->store;
    h->bots = opt->bots;
    h->hc = opt->hc;
    while (bridges_all[n] != NULL)
        n++;
    h->inst = xcalloc(n + 1, sizeof(*h->inst));
    h->ninst = n;

    /* A section for a bridge this build does not have is a mistake too. */
    present = config_children(opt->cfg, "bridges");
    for (size_t i = 0; i < present.n; i++) {
        size_t j;

        for (j = 0; j < n && strcmp(bridges_all[j]->name, present.items[i]) != 0; j++)
            ;
        if (j == n) {
            char *path = xasprintf("bridges.%s", present.items[i]);

            config_errors_add(errs, opt->cfg->path, config_line(opt->cfg, path), "unknown bridge '%s'",
                              present.items[i]);
            free(path);
            ret = -1;
        }
    }
    config_strlist_free(&present);

    for (size_t i = 0; i < n; i++) {
        struct bridge_instance *inst = &h->inst[i];
        const struct bridge *b = bridges_all[i];
        char *root = xasprintf("bridges.%s", b->name);

        inst->host = h;
        inst->bridge = b;
        inst->state =
            xcalloc(1, b->state_size > sizeof(struct bridge_state) ? b->state_size : sizeof(struct bridge_state));
        inst->state->bridge = b;
        inst->state->runtime = inst;
        inst->keys = bridge_host_keys(b);
        if (config_apply(opt->cfg, root, inst->keys, inst->state, errs) != 0)
            ret = -1;
        free(root);
    }
    if (ret != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct bridge_instance *inst = &h->inst[i];
        const struct bridge *b = inst->bridge;
        char *cause = NULL, *local;

        if (!inst->state->enabled)
            continue;
        if (b->init != NULL && b->init(inst->state, opt->loop, &cause) != 0) {
            /* At the bridge's own section if it has one (an enabled bridge
             * usually has), else at bridges:, else the top. */
            char *section = xasprintf("bridges.%s", b->name);
            size_t line = config_line(opt->cfg, section);

            if (line == 0)
                line = config_line(opt->cfg, "bridges") ? config_line(opt->cfg, "bridges") : 1;
            config_errors_add(errs, opt->cfg->path, line, "bridges.%s: %s", b->name,
                              cause != NULL ? cause : "cannot start");
            free(section);
            free(cause);
            ret = -1;
            continue;
        }
        inst->inited = 1;
        if (opt->check_only)
            continue;
        local = bridge_host_localpart(opt->cfg, b->name);
        inst->bot =
            bots_add(opt->bots, local, b->displayname, b->name, b->level > PERM_ANALYST ? b->level : PERM_ANALYST);
        free(local);
        log_info("bridges: %s enabled as %s", b->name, inst->bot->user_id);
    }
out:
    if (ret != 0) {
        bridge_host_free(h);
        return -1;
    }
    *out = h;
    return 0;
}

static struct bridge_instance *
bridge_host_instance(struct bridge_host *h, const struct bridge *b)
{
    for (size_t i = 0; i < h->ninst; i++) {
        if (h->inst[i].bridge == b)
            return &h->inst[i];
    }
    return NULL;
}

const struct bridge *
bridge_host_find(struct bridge_host *h, const char *name)
{
    for (size_t i = 0; i < h->ninst; i++) {
        if (h->inst[i].bot != NULL && strcmp(h->inst[i].bridge->name, name) == 0)
            return h->inst[i].bridge;
    }
    return NULL;
}

struct bot *
bridge_host_bot(struct bridge_host *h, const struct bridge *b)
{
    struct bridge_instance *inst = bridge_host_instance(h, b);

    return inst != NULL ? inst->bot : NULL;
}

const struct bridge *
bridge_host_bridge_of(struct bridge_host *h, const struct bot *bot)
{
    for (size_t i = 0; i < h->ninst; i++) {
        if (h->inst[i].bot != NULL && h->inst[i].bot == bot)
            return h->inst[i].bridge;
    }
    return NULL;
}

const struct bridge *
bridge_host_at(struct bridge_host *h, size_t i)
{
    for (size_t j = 0; j < h->ninst; j++) {
        if (h->inst[j].bot == NULL)
            continue;
        if (i-- == 0)
            return h->inst[j].bridge;
    }
    return NULL;
}

const struct bridge_command *
bridge_host_command(const struct bridge *b, const char *name)
{
    for (const struct bridge_command *c = b->commands; c != NULL && c->name != NULL; c++) {
        if (strcmp(c->name, name) == 0)
            return c;
    }
    return NULL;
}

struct tool_http *
bridge_host_http(struct bridge_instance *inst, char **cause)
{
    if (inst->http == NULL) {
        struct tool_http_allow allow = {.cidrs = (const char *const *)inst->state->allow_networks.items,
                                        .n = inst->state->allow_networks.n};

        if (tool_http_new(inst->host->cu, &allow, &inst->http, cause) != 0)
            return NULL;
    }
    return inst->http;
}

struct dns_resolver *
bridge_host_dns(struct bridge_instance *inst, char **cause)
{
    if (inst->dns == NULL) {
        const char **servers = NULL;
        struct dns_resolver_options opt = {0};
        uint64_t nservers = inst->state->resolvers.n > 0 ? inst->state->resolvers.n : 1, per_try;
        int rc;

        /* The resolver must give up before the call's own timeout, so that
         * the analyst hears which resolver did not answer rather than only
         * that the bridge took too long.  c-ares asks each server once per
         * try and doubles the wait on the second try: 3 waits per server
         * in all; a quarter of the call's time is left over.  The system's
         * servers count as one. */
        per_try = inst->state->timeout_ms / (3 * nservers + 1);
        if (per_try > BRIDGE_HOST_DNS_TRY_MAX_MS)
            per_try = BRIDGE_HOST_DNS_TRY_MAX_MS;
        if (per_try < BRIDGE_HOST_DNS_TRY_MIN_MS)
            per_try = BRIDGE_HOST_DNS_TRY_MIN_MS;
        opt.timeout_ms = (unsigned)per_try;
        opt.tries = 2;
        /* A bridge tells SERVFAIL and REFUSED apart from an unreachable
         * server (the dns bridge says which). */
        opt.keep_errors = 1;
        if (inst->state->resolvers.n > 0) {
            servers = xcalloc(inst->state->resolvers.n + 1, sizeof(*servers));
            for (size_t i = 0; i < inst->state->resolvers.n; i++)
                servers[i] = inst->state->resolvers.items[i];
            opt.servers = servers;
        }
        rc = dns_resolver_new(inst->host->loop, &opt, &inst->dns, cause);
        free(servers);
        if (rc != 0)
            return NULL;
    }
    return inst->dns;
}

/* Frees a call after its timer has closed. */
static void
bridge_host_on_call_close(uv_handle_t *handle)
{
    struct bridge_call *call = handle->data;

    if (call->attached_free != NULL)
        call->attached_free(call->attached);
    command_args_clear(&call->args);
    json_object_put(call->reply);
    bridge_result_free(call->result);
    free(call->error);
    free(call->cache_key);
    free(call->sender);
    free(call->room_id);
    free(call);
}

/* Unlinks a call from the host and closes it. */
static void
bridge_host_close_call(struct bridge_call *call)
{
    struct bridge_host *h = call->inst->host;

    if (call->pprev != NULL) {
        *call->pprev = call->next;
        if (call->next != NULL)
            call->next->pprev = call->pprev;
        call->pprev = NULL;
        h->active--;
    }
    uv_timer_stop(&call->timer);
    uv_close((uv_handle_t *)&call->timer, bridge_host_on_call_close);
}

/* Reports the outcome (from the timer, on the loop) and frees the call. */
static void
bridge_host_on_report(uv_timer_t *t)
{
    struct bridge_call *call = t->data;
    struct bridge_host_outcome o = {0};

    o.result = call->result;
    o.error = call->error;
    o.from_cache = call->from_cache;
    o.timed_out = call->timed_out;
    o.duration_ms = call->started != 0 ? (int64_t)(uv_now(call->inst->host->loop) - call->started) : 0;
    call->cb.done(&o, call->cb.arg);
    bridge_host_close_call(call);
}

static void bridge_host_run(struct bridge_call *call);

/* Starts queued calls while the bridge has room. */
static void
bridge_host_drain(struct bridge_instance *inst)
{
    while (inst->queue_head != NULL && inst->running < (unsigned)inst->state->concurrency) {
        struct bridge_call *call = inst->queue_head;

        inst->queue_head = call->qnext;
        if (inst->queue_head == NULL)
            inst->queue_tail = NULL;
        call->qnext = NULL;
        bridge_host_run(call);
    }
}

void
bridge_host_end(struct bridge_call *call)
{
    struct bridge_instance *inst = call->inst;
    struct bridge_host *h = inst->host;
    uint64_t ttl_ms = inst->state->cache_ttl_ms;

    if (call->phase != BRIDGE_CALL_RUNNING)
        return;
    call->phase = BRIDGE_CALL_ENDED;
    uv_timer_stop(&call->timer);
    bridge_call_cancel_ops(call);
    inst->running--;
    /* The tool's own limit (a DNS TTL) may be shorter than the bridge's. */
    if (call->result != NULL && call->result->max_age_set && call->result->max_age_ms < ttl_ms)
        ttl_ms = call->result->max_age_ms;
    if (call->result != NULL && call->cache_key != NULL && ttl_ms > 0) {
        struct json_object *j = bridge_result_to_json(call->result);
        char *cause = NULL;
        int64_t now = clock_now_ms();

        if (store_cache_put(h->store, call->cache_key, json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN), now,
                            now + (int64_t)ttl_ms, &cause) != 0) {
            log_warn("bridges: cannot cache an answer of %s: %s", inst->bridge->name, cause);
            free(cause);
        }
        json_object_put(j);
    }
    uv_timer_start(&call->timer, bridge_host_on_report, 0, 0);
    bridge_host_drain(inst);
}

static void
bridge_host_on_timeout(uv_timer_t *t)
{
    struct bridge_call *call = t->data;
    uint64_t ms = call->cmd->timeout_ms != 0 ? call->cmd->timeout_ms : call->inst->state->timeout_ms;

    call->timed_out = 1;
    call->error = xasprintf("%s did not answer within %llu s", call->inst->bridge->displayname,
                            (unsigned long long)(ms + 999) / 1000);
    log_warn("bridges: %s %s for %s timed out after %llu ms", call->inst->bridge->name, call->cmd->name, call->sender,
             (unsigned long long)ms);
    bridge_host_end(call);
}

/* Runs a call now. */
static void
bridge_host_run(struct bridge_call *call)
{
    struct bridge_instance *inst = call->inst;
    uint64_t ms = call->cmd->timeout_ms != 0 ? call->cmd->timeout_ms : inst->state->timeout_ms;

    call->phase = BRIDGE_CALL_RUNNING;
    call->started = uv_now(inst->host->loop);
    inst->running++;
    uv_timer_start(&call->timer, bridge_host_on_timeout, ms, 0);
    call->cmd->run(call);
}

/* Checks and counts a call against the user's rate limit.  Returns 0, or
 * the milliseconds until the oldest call leaves the window. */
static uint64_t
bridge_host_rate(struct bridge_instance *inst, const char *user)
{
    uint64_t now = uv_now(inst->host->loop);
    long limit = inst->state->rate_limit;
    struct bridge_rate *r;
    size_t keep = 0;

    if (limit <= 0)
        return 0;
    HASH_FIND_STR(inst->rates, user, r);
    if (r == NULL) {
        r = xcalloc(1, sizeof(*r));
        r->user = xstrdup(user);
        r->times = xcalloc((size_t)limit, sizeof(*r->times));
        HASH_ADD_KEYPTR(hh, inst->rates, r->user, strlen(r->user), r);
    }
    for (size_t i = 0; i < r->n; i++) {
        if (now - r->times[i] < BRIDGE_HOST_RATE_WINDOW_MS)
            r->times[keep++] = r->times[i];
    }
    r->n = keep;
    if (r->n >= (size_t)limit)
        return BRIDGE_HOST_RATE_WINDOW_MS - (now - r->times[0]);
    r->times[r->n++] = now;
    return 0;
}

/* The cache key of a call: bridge, command and every argument but the
 * secret ones, in table order. */
static char *
bridge_host_cache_key(const struct bridge *b, const struct bridge_command *cmd, const struct command_args *args)
{
    char *key = xasprintf("%s %s", b->name, cmd->name);

    for (const struct bridge_arg *a = cmd->args; a != NULL && a->name != NULL; a++) {
        const struct command_arg_value *v = command_args_get(args, a->name);

        if (v == NULL || (a->flags & BRIDGE_ARG_SECRET))
            continue;
        for (size_t i = 0; i < v->n; i++) {
            char *next = xasprintf("%s %s=%s", key, a->name, v->values[i]);

            free(key);
            key = next;
        }
    }
    return key;
}

/* A call was queued: start what the bridge has room for. */
static void
bridge_host_on_queued(uv_timer_t *t)
{
    struct bridge_call *call = t->data;

    bridge_host_drain(call->inst);
}

struct bridge_host_call *
bridge_host_start(struct bridge_host *h, struct bridge_host_request *req, const struct bridge_host_callbacks *cb)
{
    struct bridge_instance *inst = bridge_host_instance(h, req->bridge);
    struct bridge_call *call = xcalloc(1, sizeof(*call));
    uint64_t wait;

    call->inst = inst;
    call->cmd = req->cmd;
    call->args = req->args;
    memset(&req->args, 0, sizeof(req->args));
    call->sender = xstrdup(req->sender);
    call->room_id = xstrdup(req->room_id);
    call->reply = req->reply_content != NULL ? json_object_get(req->reply_content) : NULL;
    call->cb = *cb;
    if (uv_timer_init(h->loop, &call->timer) != 0)
        abort();
    call->timer.data = call;
    call->next = h->calls;
    if (call->next != NULL)
        call->next->pprev = &call->next;
    call->pprev = &h->calls;
    h->calls = call;
    h->active++;

    if ((wait = bridge_host_rate(inst, req->sender)) != 0) {
        call->phase = BRIDGE_CALL_ENDED;
        call->error = xasprintf("You have run %ld %s commands in the last minute, the limit; try again in %llu s",
                                inst->state->rate_limit, inst->bridge->name, (unsigned long long)(wait + 999) / 1000);
        uv_timer_start(&call->timer, bridge_host_on_report, 0, 0);
        return (struct bridge_host_call *)call;
    }
    if (req->cmd->cacheable && inst->state->cache_ttl_ms > 0) {
        char *cached = NULL, *cause = NULL;

        call->cache_key = bridge_host_cache_key(inst->bridge, req->cmd, &call->args);
        if (store_cache_get(h->store, call->cache_key, clock_now_ms(), &cached, &cause) != 0) {
            log_warn("bridges: cannot read the tool cache: %s", cause);
            free(cause);
        } else if (cached != NULL) {
            struct json_object *j = json_tokener_parse(cached);

            call->result = bridge_result_from_json(j);
            json_object_put(j);
            free(cached);
            if (call->result != NULL) {
                call->from_cache = 1;
                call->phase = BRIDGE_CALL_ENDED;
                free(call->cache_key);
                call->cache_key = NULL;
                uv_timer_start(&call->timer, bridge_host_on_report, 0, 0);
                return (struct bridge_host_call *)call;
            }
        }
    }
    call->phase = BRIDGE_CALL_QUEUED;
    if (inst->queue_tail != NULL)
        inst->queue_tail->qnext = call;
    else
        inst->queue_head = call;
    inst->queue_tail = call;
    /* Run from the loop, so that done never runs inside this call even
     * for a bridge that answers at once. */
    uv_timer_start(&call->timer, bridge_host_on_queued, 0, 0);
    return (struct bridge_host_call *)call;
}

void
bridge_host_cancel(struct bridge_host_call *hc)
{
    struct bridge_call *call = (struct bridge_call *)hc;
    struct bridge_instance *inst;

    if (call == NULL || call->phase == BRIDGE_CALL_CANCELLED)
        return;
    inst = call->inst;
    if (call->phase == BRIDGE_CALL_QUEUED) {
        struct bridge_call **p;

        for (p = &inst->queue_head; *p != NULL && *p != call; p = &(*p)->qnext)
            ;
        if (*p == call) {
            *p = call->qnext;
            if (inst->queue_tail == call) {
                inst->queue_tail = NULL;
                for (struct bridge_call *c = inst->queue_head; c != NULL; c = c->qnext)
                    inst->queue_tail = c;
            }
        }
    } else if (call->phase == BRIDGE_CALL_RUNNING) {
        bridge_call_cancel_ops(call);
        inst->running--;
    }
    call->phase = BRIDGE_CALL_CANCELLED;
    bridge_host_close_call(call);
    bridge_host_drain(inst);
}

unsigned
bridge_host_active(const struct bridge_host *h)
{
    return h->active;
}

/* Frees the host's struct after the last instance handle closed. */
void
bridge_host_free(struct bridge_host *h)
{
    if (h == NULL)
        return;
    while (h->calls != NULL) {
        struct bridge_call *call = h->calls;

        /* Nothing may start from the queues while they are emptied. */
        call->inst->queue_head = call->inst->queue_tail = NULL;
        bridge_host_cancel((struct bridge_host_call *)call);
    }
    for (size_t i = 0; i < h->ninst; i++) {
        struct bridge_instance *inst = &h->inst[i];
        struct bridge_rate *r, *tmp;

        if (inst->inited && inst->bridge->free != NULL)
            inst->bridge->free(inst->state);
        tool_http_free(inst->http);
        dns_resolver_free(inst->dns);
        HASH_ITER(hh, inst->rates, r, tmp)
        {
            HASH_DEL(inst->rates, r);
            free(r->user);
            free(r->times);
            free(r);
        }
        if (inst->keys != NULL)
            config_free_target(inst->keys, inst->state);
        free(inst->keys);
        free(inst->state);
    }
    free(h->inst);
    free(h);
}
