/*
 * Dangerous commands wait for the caller's confirmation: the bot asks in
 * the thread, and the command runs only if the same user reacts to that
 * question with 👍 (or ✅) within bridge.confirm_timeout.  Anyone else's
 * reaction does nothing; silence means the command is not run, and the
 * thread says so.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bots.h"
#include "config.h"
#include "log.h"
#include "outbox.h"
#include "reply.h"
#include "router_internal.h"
#include "store/store.h"
#include "xmalloc.h"

struct router_confirm {
    struct router_job *job;
    void (*start)(struct router_job *job);
    int64_t prompt_outbox_id;
    char *prompt_event_id; /* known once the outbox delivered the question */
    uv_timer_t timer;      /* the deadline; the struct is freed in its close callback */
    struct router_confirm *next;
};

static void
router_confirm_on_close(uv_handle_t *handle)
{
    struct router_confirm *c = handle->data;

    free(c->prompt_event_id);
    free(c);
}

/* Appends the audit entry of a step of a confirmation: "asked",
 * "confirmed", "expired", or "refused" (someone else reacted). */
static void
router_confirm_audit(struct router_job *job, const char *phase, const char *user, const char *reaction_id)
{
    struct json_object *d = router_audit_detail(job->event_id, job->room_id, user);

    json_object_object_add(d, "action", json_object_new_string("confirm"));
    json_object_object_add(d, "phase", json_object_new_string(phase));
    json_object_object_add(d, "command", json_object_new_string(job->command));
    json_object_object_add(d, "caller", json_object_new_string(job->sender));
    if (reaction_id != NULL)
        json_object_object_add(d, "reaction_event_id", json_object_new_string(reaction_id));
    router_audit(job->r, "permission", d);
}

/* Unlinks a confirmation from the router and its job, and frees it. */
static void
router_confirm_drop(struct router_confirm *c)
{
    struct router *r = c->job->r;

    for (struct router_confirm **p = &r->confirms; *p != NULL; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    c->job->confirm = NULL;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, router_confirm_on_close);
}

static void
router_confirm_on_timeout(uv_timer_t *t)
{
    struct router_confirm *c = t->data;
    struct router_job *job = c->job;
    char *limit = router_duration_words((int64_t)job->r->cfg->bridge.confirm_timeout);
    char *body = xasprintf("Not run: %s was not confirmed within %s.", job->command, limit);

    log_info("router: %s did not confirm %s", job->sender, job->command);
    router_confirm_audit(job, "expired", job->sender, NULL);
    router_confirm_drop(c);
    router_job_finish(job, STORE_COMMAND_REFUSED, body, NULL, NULL);
    free(body);
    free(limit);
}

void
router_confirm_ask(struct router_job *job, const char *what, void (*start)(struct router_job *job))
{
    struct router *r = job->r;
    struct router_confirm *c = xcalloc(1, sizeof(*c));
    struct reply_target t = {.event_id = job->event_id, .thread_root = job->thread_root};
    char *limit = router_duration_words((int64_t)r->cfg->bridge.confirm_timeout);
    char *body = xasprintf("\xe2\x9a\xa0 %s is marked dangerous. %s, react to this message with \xf0\x9f\x91\x8d "
                           "within %s to run it.",
                           what, job->sender, limit);
    struct json_object *content = reply_notice(&t, body, NULL, NULL);
    struct store_outbox_new e = {
        .room_id = job->room_id,
        .user_id = job->bot->user_id,
        .kind = STORE_OUTBOX_SEND,
        .event_type = "m.room.message",
        .cause_event_id = job->event_id,
    };
    char *cause = NULL;

    /* The question mentions the caller, so their client notifies them. */
    {
        struct json_object *mentions = json_object_new_object(), *ids = json_object_new_array();

        json_object_array_add(ids, json_object_new_string(job->sender));
        json_object_object_add(mentions, "user_ids", ids);
        json_object_object_add(content, "m.mentions", mentions);
    }
    c->job = job;
    c->start = start;
    if (uv_timer_init(r->loop, &c->timer) != 0)
        abort();
    c->timer.data = c;
    e.content = json_object_to_json_string_ext(content, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (store_outbox_add(r->store, &e, &c->prompt_outbox_id, &cause) != 0) {
        log_error("router: cannot ask for a confirmation: %s", cause);
        free(cause);
    }
    job->confirm = c;
    c->next = r->confirms;
    r->confirms = c;
    uv_timer_start(&c->timer, router_confirm_on_timeout, r->cfg->bridge.confirm_timeout, 0);
    outbox_kick(r->outbox);
    log_info("router: %s asked to confirm %s", job->sender, what);
    router_confirm_audit(job, "asked", job->sender, NULL);
    json_object_put(content);
    free(body);
    free(limit);
}

void
router_confirm_sent(struct router *r, int64_t outbox_id, const char *event_id)
{
    for (struct router_confirm *c = r->confirms; c != NULL; c = c->next) {
        if (c->prompt_outbox_id == outbox_id && event_id != NULL) {
            free(c->prompt_event_id);
            c->prompt_event_id = xstrdup(event_id);
        }
    }
}

void
router_confirm_reaction(struct router *r, const struct router_event *ev)
{
    struct json_object *rel, *v;
    const char *target, *key;

    if (!json_object_object_get_ex(ev->content, "m.relates_to", &rel) ||
        !json_object_object_get_ex(rel, "event_id", &v) || !json_object_is_type(v, json_type_string))
        return;
    target = json_object_get_string(v);
    if (!json_object_object_get_ex(rel, "key", &v) || !json_object_is_type(v, json_type_string))
        return;
    key = json_object_get_string(v);
    /* 👍, 👍 with a variation selector, or ✅ */
    if (strncmp(key, "\xf0\x9f\x91\x8d", 4) != 0 && strcmp(key, "\xe2\x9c\x85") != 0)
        return;
    for (struct router_confirm *c = r->confirms; c != NULL; c = c->next) {
        struct router_job *job = c->job;
        void (*start)(struct router_job *) = c->start;

        if (c->prompt_event_id == NULL || strcmp(c->prompt_event_id, target) != 0)
            continue;
        if (strcmp(ev->sender, job->sender) != 0) {
            log_info("router: %s reacted to %s's confirmation; only %s may confirm", ev->sender, job->command,
                     job->sender);
            router_confirm_audit(job, "refused", ev->sender, ev->event_id);
            return;
        }
        log_info("router: %s confirmed %s", ev->sender, job->command);
        router_confirm_audit(job, "confirmed", ev->sender, ev->event_id);
        router_confirm_drop(c);
        start(job);
        return;
    }
}

void
router_confirm_cancel(struct router_job *job)
{
    if (job->confirm != NULL)
        router_confirm_drop(job->confirm);
}
