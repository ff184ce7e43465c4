/*
 * Routing of stored events to invites and commands; see router.h.  The
 * built-in commands of the main bot (!ping and !help) live in
 * router_builtin.c.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "audit/audit.h"
#include "bots.h"
#include "bridge_host.h"
#include "clock.h"
#include "command_line.h"
#include "config.h"
#include "hs_client.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "permissions.h"
#include "reply.h"
#include "router_internal.h"
#include "store/store.h"
#include "txn.h"
#include "xmalloc.h"

/* How often the routing position is saved when it moved. */
#define ROUTER_SAVE_INTERVAL_MS 5000
/* The direct-chat cache forgets everything beyond this many rooms. */
#define ROUTER_MAX_CACHED_ROOMS 10000

/* What the router knows of a room without asking the store: whether it is
 * a direct chat with one of the bots.  Every message that is neither
 * prefixed nor a mention needs this, so it must not cost queries each
 * time; a membership event in the room drops the entry. */
struct router_room {
    char *room_id;
    struct bot *dm_bot; /* NULL: not a direct chat with a bot */
    UT_hash_handle hh;
};

static void
router_on_save_timer(uv_timer_t *t)
{
    router_save_position(t->data);
}

/* The outbox delivered an entry: a confirmation question may wait for
 * its event ID. */
static void
router_on_sent(int64_t id, const char *event_id, void *arg)
{
    router_confirm_sent(arg, id, event_id);
}

struct router *
router_new(const struct router_options *opt)
{
    struct router *r = xcalloc(1, sizeof(*r));

    r->loop = opt->loop;
    r->cfg = opt->cfg;
    r->store = opt->store;
    r->bots = opt->bots;
    r->outbox = opt->outbox;
    r->hc = opt->hc;
    r->bridges = opt->bridges;
    outbox_set_sent_hook(r->outbox, router_on_sent, r);
    if (uv_timer_init(r->loop, &r->timer) != 0)
        abort();
    r->timer.data = r;
    return r;
}

void
router_save_position(struct router *r)
{
    char value[32], *cause = NULL;

    if (r->saved_txn_seq == r->done_txn_seq)
        return;
    snprintf(value, sizeof(value), "%" PRId64, r->done_txn_seq);
    if (store_meta_set(r->store, "router.txn_seq", value, &cause) != 0) {
        log_warn("router: cannot save the routing position: %s", cause);
        free(cause);
        return;
    }
    r->saved_txn_seq = r->done_txn_seq;
}

/* Reads the common fields of an event. */
static int
router_event_fields(struct json_object *ev, struct router_event *out)
{
    struct json_object *v;

    memset(out, 0, sizeof(*out));
    out->json = ev;
#define ROUTER_STR(field)                                                                                              \
    if (json_object_object_get_ex(ev, #field, &v) && json_object_is_type(v, json_type_string))                         \
    out->field = json_object_get_string(v)
    ROUTER_STR(event_id);
    ROUTER_STR(room_id);
    ROUTER_STR(sender);
    ROUTER_STR(type);
    ROUTER_STR(state_key);
#undef ROUTER_STR
    if (json_object_object_get_ex(ev, "origin_server_ts", &v))
        out->origin_server_ts = json_object_get_int64(v);
    if (!json_object_object_get_ex(ev, "content", &out->content) ||
        !json_object_is_type(out->content, json_type_object))
        return -1;
    return out->event_id != NULL && out->room_id != NULL && out->sender != NULL && out->type != NULL ? 0 : -1;
}

/* 1 if bot is joined to room_id, as far as the stored events say. */
int
router_bot_joined(struct router *r, struct bot *bot, const char *room_id)
{
    char *membership = NULL, *cause = NULL;
    int joined;

    if (store_membership(r->store, room_id, bot->user_id, &membership, &cause) != 0) {
        log_warn("router: %s", cause);
        free(cause);
        return 0;
    }
    joined = membership != NULL && strcmp(membership, "join") == 0;
    free(membership);
    return joined;
}

/* The bot this room is a direct chat with, from the store: a room marked
 * direct by the invite, or a room of two where one is a bot.  NULL if
 * none. */
static struct bot *
router_dm_bot_stored(struct router *r, const char *room_id)
{
    int is_direct = 0;
    int64_t joined = 0;
    char *cause = NULL;
    struct bot *found = NULL;

    if (store_room_is_direct(r->store, room_id, &is_direct, &cause) != 0 ||
        store_joined_count(r->store, room_id, &joined, &cause) != 0) {
        log_warn("router: %s", cause);
        free(cause);
        return NULL;
    }
    if (!is_direct && joined != 2)
        return NULL;
    for (struct bot *b = bots_first(r->bots); b != NULL && found == NULL; b = b->next) {
        if (router_bot_joined(r, b, room_id))
            found = b;
    }
    return found;
}

/* Empties the direct-chat cache. */
static void
router_rooms_clear(struct router *r)
{
    struct router_room *room, *tmp;

    HASH_ITER(hh, r->rooms, room, tmp)
    {
        HASH_DEL(r->rooms, room);
        free(room->room_id);
        free(room);
    }
    r->nrooms = 0;
}

/* Drops what the cache knows of a room (its membership changed). */
static void
router_rooms_forget(struct router *r, const char *room_id)
{
    struct router_room *room;

    HASH_FIND_STR(r->rooms, room_id, room);
    if (room != NULL) {
        HASH_DEL(r->rooms, room);
        free(room->room_id);
        free(room);
        r->nrooms--;
    }
}

/* The bot this room is a direct chat with, or NULL; cached. */
static struct bot *
router_dm_bot(struct router *r, const char *room_id)
{
    struct router_room *room;

    HASH_FIND_STR(r->rooms, room_id, room);
    if (room != NULL)
        return room->dm_bot;
    if (r->nrooms >= ROUTER_MAX_CACHED_ROOMS)
        router_rooms_clear(r);
    room = xcalloc(1, sizeof(*room));
    room->room_id = xstrdup(room_id);
    room->dm_bot = router_dm_bot_stored(r, room_id);
    HASH_ADD_KEYPTR(hh, r->rooms, room->room_id, strlen(room->room_id), room);
    r->nrooms++;
    return room->dm_bot;
}

/* A duration in words an analyst reads: "45 seconds", "1 minute",
 * "10 minutes", "2 hours", "3 days".  Returns allocated. */
char *
router_duration_words(int64_t ms)
{
    static const struct {
        int64_t ms;
        const char *one, *many;
    } units[] = {{86400000, "day", "days"},
                 {3600000, "hour", "hours"},
                 {60000, "minute", "minutes"},
                 {1000, "second", "seconds"}};

    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (ms >= units[i].ms || i + 1 == sizeof(units) / sizeof(units[0])) {
            int64_t n = ms / units[i].ms;

            return xasprintf("%" PRId64 " %s", n, n == 1 ? units[i].one : units[i].many);
        }
    }
    return xstrdup("");
}

void
router_audit(struct router *r, const char *kind, struct json_object *detail)
{
    char *cause = NULL;

    if (audit_append(r->store, kind, detail, &cause) != 0) {
        log_error("router: cannot append to the audit log: %s", cause);
        free(cause);
    }
    json_object_put(detail);
}

struct json_object *
router_audit_detail(const char *event_id, const char *room_id, const char *user)
{
    struct json_object *d = json_object_new_object();

    json_object_object_add(d, "event_id", json_object_new_string(event_id));
    json_object_object_add(d, "room_id", json_object_new_string(room_id));
    json_object_object_add(d, "user", json_object_new_string(user));
    return d;
}

/* Adds a permission decision's fields to an audit detail. */
static void
router_audit_decision(struct json_object *detail, const struct permissions_decision *d, enum perm_level need)
{
    json_object_object_add(detail, "allowed", json_object_new_boolean(d->level >= need));
    json_object_object_add(detail, "level", json_object_new_string(permissions_level_name(d->level)));
    json_object_object_add(detail, "rule", json_object_new_string(d->rule));
    json_object_object_add(detail, "needed", json_object_new_string(permissions_level_name(need)));
}

/* Queues a join or a leave caused by an invite, with the permission
 * decision's audit entry in the same write. */
static void
router_answer_invite(struct router *r, const struct router_event *ev, struct bot *bot, int accept, const char *reason,
                     const struct permissions_decision *d)
{
    struct store_outbox_new e = {
        .room_id = ev->room_id,
        .user_id = bot->user_id,
        .kind = accept ? STORE_OUTBOX_JOIN : STORE_OUTBOX_LEAVE,
        .cause_event_id = ev->event_id,
    };
    struct json_object *body = json_object_new_object(), *detail = NULL;
    char *cause = NULL;
    int64_t id = 0;

    if (reason != NULL)
        json_object_object_add(body, "reason", json_object_new_string(reason));
    e.content = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (store_begin(r->store, &cause) != 0)
        goto fail;
    if (store_outbox_add(r->store, &e, &id, &cause) != 0)
        goto rollback;
    if (id != 0) {
        /* Only the first time: an invite offered again was audited then. */
        detail = router_audit_detail(ev->event_id, ev->room_id, ev->sender);
        json_object_object_add(detail, "action", json_object_new_string("invite"));
        json_object_object_add(detail, "bot", json_object_new_string(bot->user_id));
        router_audit_decision(detail, d, bot->invite_level);
        if (audit_append(r->store, "permission", detail, &cause) != 0)
            goto rollback;
    }
    if (store_commit(r->store, &cause) != 0)
        goto fail;
    outbox_kick(r->outbox);
    goto out;
rollback:
    store_rollback(r->store);
fail:
    /* Not queued: the invite is offered again at the next start. */
    log_error("router: cannot queue the answer to the invite %s: %s", ev->event_id, cause);
    free(cause);
out:
    json_object_put(detail);
    json_object_put(body);
}

/* An invite of one of our bots: accept it from a user allowed to, reject
 * it from anyone else. */
static void
router_invite(struct router *r, const struct router_event *ev)
{
    struct json_object *v;
    struct bot *bot;
    struct permissions_decision d;
    char *reason;

    if (ev->state_key == NULL || !json_object_object_get_ex(ev->content, "membership", &v) ||
        !json_object_is_type(v, json_type_string) || strcmp(json_object_get_string(v), "invite") != 0)
        return;
    if ((bot = bots_find(r->bots, ev->state_key)) == NULL || bots_in_namespace(r->bots, ev->sender))
        return;
    d = permissions_resolve(&r->cfg->bridge.permissions, ev->sender);
    if (d.level >= bot->invite_level) {
        log_info("router: %s invited %s to %s: accepted (level %s by rule '%s')", ev->sender, bot->user_id, ev->room_id,
                 permissions_level_name(d.level), d.rule);
        router_answer_invite(r, ev, bot, 1, NULL, &d);
        return;
    }
    log_warn("router: %s invited %s to %s: refused (level %s by rule '%s', needs %s)", ev->sender, bot->user_id,
             ev->room_id, permissions_level_name(d.level), d.rule, permissions_level_name(bot->invite_level));
    reason = xasprintf("%s may not invite this bot (permission level %s; %s needed)", ev->sender,
                       permissions_level_name(d.level), permissions_level_name(bot->invite_level));
    router_answer_invite(r, ev, bot, 0, reason, &d);
    free(reason);
}

int
router_record(struct router *r, const struct router_event *ev, const char *bridge, const char *command,
              const char *args_json, const struct router_decision *dec)
{
    struct store_command rec = {
        .event_id = ev->event_id,
        .room_id = ev->room_id,
        .sender = ev->sender,
        .bridge = bridge,
        .command = command,
        .args_json = args_json,
        .received_at = ev->origin_server_ts,
    };
    struct json_object *detail = NULL, *args = NULL;
    int inserted = 0, ret = -1;
    char *cause = NULL;

    if (store_begin(r->store, &cause) != 0)
        goto fail;
    if (store_command_insert(r->store, &rec, &inserted, &cause) != 0)
        goto rollback;
    if (inserted) {
        detail = router_audit_detail(ev->event_id, ev->room_id, ev->sender);
        json_object_object_add(detail, "phase", json_object_new_string("received"));
        json_object_object_add(detail, "command", json_object_new_string(command));
        json_object_object_add(detail, "bridge", bridge != NULL ? json_object_new_string(bridge) : NULL);
        /* The arguments as recorded, secrets already removed. */
        if (args_json != NULL && (args = json_tokener_parse(args_json)) != NULL)
            json_object_object_add(detail, "args", args);
        if (audit_append(r->store, "command", detail, &cause) != 0)
            goto rollback;
        if (dec != NULL) {
            json_object_put(detail);
            detail = router_audit_detail(ev->event_id, ev->room_id, ev->sender);
            json_object_object_add(detail, "action", json_object_new_string("command"));
            json_object_object_add(detail, "command", json_object_new_string(command));
            router_audit_decision(detail, &dec->d, dec->need);
            if (audit_append(r->store, "permission", detail, &cause) != 0)
                goto rollback;
        }
    }
    if (store_commit(r->store, &cause) != 0)
        goto fail;
    ret = inserted;
    goto out;
rollback:
    store_rollback(r->store);
fail:
    log_error("router: cannot record the command %s: %s", ev->event_id, cause);
    free(cause);
out:
    json_object_put(detail);
    return ret;
}

int
router_check_stale(struct router_job *job)
{
    struct router *r = job->r;
    int64_t age = job->received_at - job->origin_server_ts;
    char *ago, *limit, *body;

    if (age <= (int64_t)r->cfg->bridge.command_max_age)
        return 0;
    ago = router_duration_words(age);
    limit = router_duration_words((int64_t)r->cfg->bridge.command_max_age);
    body = xasprintf("I did not run %s%s: it was sent %s ago, while warroom was not running, and commands older "
                     "than %s are not run. Send it again if it is still needed.",
                     r->cfg->bridge.command_prefix, job->command, ago, limit);
    log_info("router: %s from %s is %s old; not run", job->command, job->sender, ago);
    router_job_finish(job, STORE_COMMAND_STALE, body, NULL, NULL);
    free(ago);
    free(limit);
    free(body);
    return 1;
}

/* Runs a built-in command: recorded once, checked, run. */
static void
router_builtin(struct router *r, const struct router_event *ev, struct bot *bot, const struct router_builtin *b,
               const char *word, const char *args, int resume)
{
    struct permissions_decision d = permissions_resolve(&r->cfg->bridge.permissions, ev->sender);
    const char *name = b != NULL ? b->name : word;
    struct router_job *job;

    if (!resume) {
        struct json_object *a = json_object_new_object();
        int recorded;

        struct router_decision dec = {.d = d, .need = b != NULL ? b->level : PERM_NONE};

        json_object_object_add(a, "text", json_object_new_string(args));
        /* An unknown command has no permission to decide. */
        recorded = router_record(r, ev, NULL, name, json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN),
                                 b != NULL ? &dec : NULL);
        json_object_put(a);
        if (recorded != 1)
            return; /* handled before (offered again after a restart), or not recordable */
    }
    job = router_job_new(r, ev, bot, name, args, NULL, d);
    if (b == NULL) {
        char *body = xasprintf("I do not know the command \"%s\". Send %shelp for what you may run.", word,
                               r->cfg->bridge.command_prefix);

        router_job_finish(job, STORE_COMMAND_REFUSED, body, NULL, NULL);
        free(body);
        return;
    }
    if (d.level < b->level) {
        char *body = xasprintf("You may not run %s%s here: your permission level is %s (rule '%s'), and it "
                               "needs %s.",
                               r->cfg->bridge.command_prefix, b->name, permissions_level_name(d.level), d.rule,
                               permissions_level_name(b->level));

        log_info("router: %s may not run %s (level %s by rule '%s')", ev->sender, b->name,
                 permissions_level_name(d.level), d.rule);
        router_job_finish(job, STORE_COMMAND_REFUSED, body, NULL, NULL);
        free(body);
        return;
    }
    if (router_check_stale(job))
        return;
    log_info("router: %s runs %s%s in %s (level %s by rule '%s')", ev->sender, r->cfg->bridge.command_prefix, b->name,
             ev->room_id, permissions_level_name(d.level), d.rule);
    b->run(job);
}

/* The bot that answers: the tool's own (a tool speaks for itself, even
 * when the command was written to the main bot in a direct chat), else
 * the one addressed, else the main bot; it must be in the room (NULL if
 * none is). */
static struct bot *
router_answerer(struct router *r, const char *room_id, struct bot *addressed, const struct bridge *tool)
{
    struct bot *candidates[3] = {tool != NULL ? bridge_host_bot(r->bridges, tool) : NULL, addressed,
                                 bots_main(r->bots)};

    for (size_t i = 0; i < 3; i++) {
        if (candidates[i] != NULL && router_bot_joined(r, candidates[i], room_id))
            return candidates[i];
    }
    return NULL;
}

/* A message: if it holds a command for one of our bots, run it. */
static void
router_message(struct router *r, const struct router_event *ev, int resume)
{
    struct command_line cl;
    struct bot *dm_bot = NULL, *answerer;
    const struct bridge *tool = NULL, *bot_tool;
    const struct router_builtin *builtin;
    const char *rest;
    char *word;

    if (command_line_extract(ev->content, r->cfg->bridge.command_prefix, r->bots, NULL, &cl) != 0) {
        /* Not prefixed, not a mention: a command only in a direct chat. */
        if ((dm_bot = router_dm_bot(r, ev->room_id)) == NULL ||
            command_line_extract(ev->content, r->cfg->bridge.command_prefix, r->bots, dm_bot, &cl) != 0)
            return;
    }
    word = command_line_first_word(cl.text, &rest);
    if (word[0] == '\0') {
        free(word);
        word = xstrdup("help");
    }
    builtin = router_builtin_find(word);
    tool = builtin == NULL ? bridge_host_find(r->bridges, word) : NULL;
    bot_tool = cl.bot != NULL ? bridge_host_bridge_of(r->bridges, cl.bot) : NULL;
    if (builtin == NULL && tool == NULL && bot_tool != NULL) {
        /* "@soc_dns: mx example.com", or "mx example.com" in a direct chat
         * with the DNS bot: the tool is the bot's. */
        tool = bot_tool;
        rest = cl.text;
    }
    /* Prefixed text that names nothing of ours may be for another bot in
     * the room: only answer it when one of ours was addressed. */
    if (builtin == NULL && tool == NULL && cl.bot == NULL)
        goto out;
    if ((answerer = router_answerer(r, ev->room_id, cl.bot, tool)) == NULL) {
        log_debug("router: none of warroom's bots is in %s; not answering %s", ev->room_id, ev->event_id);
        goto out;
    }
    if (tool != NULL)
        router_bridge_command(r, ev, answerer, tool, rest, resume);
    else
        router_builtin(r, ev, answerer, builtin, word, rest, resume);
out:
    free(word);
    command_line_clear(&cl);
}

/* Offers one event; resume is set for a command left running by a
 * previous run. */
static void
router_offer_event(struct router *r, struct json_object *json, int resume)
{
    struct router_event ev;

    if (router_event_fields(json, &ev) != 0)
        return;
    if (strcmp(ev.type, "m.room.member") == 0)
        router_rooms_forget(r, ev.room_id);
    if (bots_in_namespace(r->bots, ev.sender))
        return;
    if (strcmp(ev.type, "m.room.member") == 0)
        router_invite(r, &ev);
    else if (strcmp(ev.type, "m.reaction") == 0)
        router_confirm_reaction(r, &ev);
    else if (strcmp(ev.type, "m.room.message") == 0 && !r->stopping)
        router_message(r, &ev, resume);
}

void
router_offer_txn(struct router *r, const struct txn *txn, const unsigned char *is_new, int64_t txn_seq)
{
    for (size_t i = 0; i < txn->nevents; i++) {
        if (is_new[i])
            router_offer_event(r, txn->events[i].json, 0);
    }
    if (txn_seq > r->done_txn_seq)
        r->done_txn_seq = txn_seq;
    if (!uv_is_active((uv_handle_t *)&r->timer))
        uv_timer_start(&r->timer, router_on_save_timer, ROUTER_SAVE_INTERVAL_MS, 0);
}

/* Offers a stored event again (catch-up and resume). */
static void
router_offer_stored(struct router *r, const struct store_event *sev, int resume)
{
    struct json_object *json = json_tokener_parse(sev->json);

    if (json == NULL) {
        log_warn("router: stored event %s is not JSON; skipped", sev->event_id);
        return;
    }
    router_offer_event(r, json, resume);
    json_object_put(json);
}

static int
router_on_catch_up(const struct store_event *sev, void *arg)
{
    struct router *r = arg;

    router_offer_stored(r, sev, 0);
    if (sev->txn_seq > r->done_txn_seq)
        r->done_txn_seq = sev->txn_seq;
    return 0;
}

static int
router_on_running(const char *event_id, void *arg)
{
    struct router *r = arg;
    struct store_event *sev = NULL;
    char *cause = NULL;

    if (store_event_get(r->store, event_id, &sev, &cause) != 0) {
        log_warn("router: %s", cause);
        free(cause);
        return 0;
    }
    if (sev != NULL) {
        log_info("router: running again the command %s, interrupted by a restart", event_id);
        router_offer_stored(r, sev, 1);
    }
    store_event_free(sev);
    return 0;
}

int
router_start(struct router *r, char **cause)
{
    static const char *const types[] = {"m.room.message", "m.room.member", "m.reaction", NULL};
    char *value = NULL;

    if (store_meta_get(r->store, "router.txn_seq", &value, cause) != 0)
        return -1;
    r->done_txn_seq = r->saved_txn_seq = value != NULL ? strtoll(value, NULL, 10) : 0;
    free(value);
    if (store_commands_running(r->store, router_on_running, r, cause) != 0)
        return -1;
    if (store_events_after_txn(r->store, r->done_txn_seq, types, router_on_catch_up, r, cause) != 0)
        return -1;
    router_save_position(r);
    return 0;
}

unsigned
router_running(const struct router *r)
{
    return r->running;
}

static void
router_on_shutdown_timer(uv_timer_t *t)
{
    struct router *r = t->data;

    if (r->running == 0 && r->done != NULL) {
        void (*done)(void *) = r->done;

        r->done = NULL;
        done(r->done_arg);
    }
}

void
router_shutdown(struct router *r, void (*done)(void *arg), void *arg)
{
    r->stopping = 1;
    r->done = done;
    r->done_arg = arg;
    router_save_position(r);
    log_info("router: %u command(s) still running", r->running);
    uv_timer_start(&r->timer, router_on_shutdown_timer, 0, 0);
}

static void
router_on_close(uv_handle_t *handle)
{
    free(handle->data);
}

void
router_free(struct router *r)
{
    if (r == NULL)
        return;
    r->done = NULL;
    /* What still runs stays recorded as running, and runs again at the
     * next start. */
    while (r->jobs != NULL)
        router_job_abandon(r->jobs);
    outbox_set_sent_hook(r->outbox, NULL, NULL);
    router_save_position(r);
    router_rooms_clear(r);
    uv_close((uv_handle_t *)&r->timer, router_on_close);
}
