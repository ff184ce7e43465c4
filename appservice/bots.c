/*
 * Bot users: registration and display names; see bots.h.
 *
 * Registration retries on its own: hs_client retries 429, 5xx and network
 * errors; a 401 (the homeserver does not know our as_token yet: the
 * registration file is not installed, or the homeserver was not
 * restarted) is retried here on a slower timer, up to five minutes apart,
 * because an operator fixes that while warroom runs.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "bots.h"
#include "config.h"
#include "hs_client.h"
#include "log.h"
#include "xmalloc.h"

struct bot_waiter {
    void (*cb)(struct bot *bot, int ok, void *arg);
    void *arg;
    struct bot_waiter *next;
};

struct bots {
    uv_loop_t *loop;
    const struct config *cfg;
    struct hs_client *hc;
    struct bot *list;
    struct bot *main_bot;
    char *prefix; /* username_template before {name} */
    char *suffix; /* after {name} */
    void (*ready_hook)(void *arg);
    void *ready_arg;
    int local; /* no homeserver: bots are ready as they are added */
    uv_idle_t notify; /* runs waiters of already-ready bots from the loop */
    unsigned closing; /* handles still closing in bots_free */
};

static void bots_register(struct bot *bot);

struct bots *
bots_new(uv_loop_t *loop, const struct config *cfg, struct hs_client *hc)
{
    struct bots *bots = xcalloc(1, sizeof(*bots));
    const char *t = cfg->bridge.username_template;
    const char *name = strstr(t, "{name}");

    bots->loop = loop;
    bots->cfg = cfg;
    bots->hc = hc;
    bots->prefix = name != NULL ? xstrndup(t, (size_t)(name - t)) : xstrdup(t);
    bots->suffix = xstrdup(name != NULL ? name + 6 : "");
    if (uv_idle_init(loop, &bots->notify) != 0)
        abort();
    bots->notify.data = bots;
    bots->main_bot = bots_add(bots, cfg->appservice.bot_username, cfg->appservice.bot_displayname, NULL, PERM_ANALYST);
    return bots;
}

struct bot *
bots_add(struct bots *bots, const char *localpart, const char *displayname, const char *tool,
         enum perm_level invite_level)
{
    struct bot *bot = xcalloc(1, sizeof(*bot)), **tail;

    bot->owner = bots;
    bot->localpart = xstrdup(localpart);
    bot->user_id = xasprintf("@%s:%s", localpart, bots->cfg->homeserver.domain);
    bot->displayname = xstrdup(displayname);
    bot->tool = tool != NULL ? xstrdup(tool) : NULL;
    bot->invite_level = invite_level;
    bot->retry_delay_ms = 5000;
    if (uv_timer_init(bots->loop, &bot->retry_timer) != 0)
        abort();
    bot->retry_timer.data = bot;
    for (tail = &bots->list; *tail != NULL; tail = &(*tail)->next)
        ;
    *tail = bot;
    if (bots->local)
        bot->state = BOT_READY;
    return bot;
}

struct bot *
bots_main(struct bots *bots)
{
    return bots->main_bot;
}

struct bot *
bots_first(struct bots *bots)
{
    return bots->list;
}

struct bot *
bots_find(struct bots *bots, const char *user_id)
{
    for (struct bot *b = bots->list; b != NULL; b = b->next) {
        if (strcmp(b->user_id, user_id) == 0)
            return b;
    }
    return NULL;
}

int
bots_in_namespace(const struct bots *bots, const char *user_id)
{
    const char *colon, *local;
    size_t len, plen = strlen(bots->prefix), slen = strlen(bots->suffix);

    if (user_id == NULL || user_id[0] != '@' || (colon = strchr(user_id, ':')) == NULL)
        return 0;
    if (strcmp(colon + 1, bots->cfg->homeserver.domain) != 0)
        return 0;
    local = user_id + 1;
    len = (size_t)(colon - local);
    if (len == strlen(bots->cfg->appservice.bot_username) &&
        strncmp(local, bots->cfg->appservice.bot_username, len) == 0)
        return 1;
    return len > plen + slen && strncmp(local, bots->prefix, plen) == 0 &&
           strncmp(local + len - slen, bots->suffix, slen) == 0;
}

void
bots_set_ready_hook(struct bots *bots, void (*hook)(void *arg), void *arg)
{
    bots->ready_hook = hook;
    bots->ready_arg = arg;
}

/* Runs and frees the waiters of bots that are ready or failed. */
static void
bots_run_waiters(struct bots *bots)
{
    for (struct bot *b = bots->list; b != NULL; b = b->next) {
        while (b->waiters != NULL && (b->state == BOT_READY || b->state == BOT_FAILED)) {
            struct bot_waiter *w = b->waiters;

            b->waiters = w->next;
            w->cb(b, b->state == BOT_READY, w->arg);
            free(w);
        }
    }
}

static void
bots_on_notify(uv_idle_t *idle)
{
    struct bots *bots = idle->data;

    uv_idle_stop(idle);
    bots_run_waiters(bots);
}

/* Marks bot ready or failed and tells whoever waits. */
static void
bots_settle(struct bot *bot, enum bot_state state)
{
    struct bots *bots = bot->owner;

    bot->state = state;
    uv_idle_start(&bots->notify, bots_on_notify);
    if (state == BOT_READY && bots->ready_hook != NULL)
        bots->ready_hook(bots->ready_arg);
}

static void
bots_on_displayname_set(const struct hs_response *res, void *arg)
{
    struct bot *bot = arg;

    bot->call = NULL;
    if (hs_response_ok(res)) {
        log_info("bots: %s is now called \"%s\"", bot->user_id, bot->displayname);
    } else {
        char *why = hs_error_describe(&res->error);

        log_warn("bots: could not set the display name of %s: %s", bot->user_id, why);
        free(why);
    }
}

/* Sets the display name only if it differs: every change is a member
 * event in every room the bot is in. */
static void
bots_on_displayname_get(const struct hs_response *res, void *arg)
{
    struct bot *bot = arg;
    struct json_object *v, *body;
    struct hs_request req = {0};
    char *path;

    bot->call = NULL;
    if (hs_response_ok(res) && res->body != NULL && json_object_object_get_ex(res->body, "displayname", &v) &&
        json_object_is_type(v, json_type_string) && strcmp(json_object_get_string(v), bot->displayname) == 0)
        return;
    path = hs_client_path("/_matrix/client/v3/profile/%s/displayname", bot->user_id);
    body = json_object_new_object();
    json_object_object_add(body, "displayname", json_object_new_string(bot->displayname));
    req.method = "PUT";
    req.path = path;
    req.user_id = bot->user_id;
    req.body = body;
    req.retry = HS_RETRY_FOREVER;
    bot->call = hs_client_request(bot->owner->hc, &req, bots_on_displayname_set, bot);
    json_object_put(body);
    free(path);
}

static void
bots_check_displayname(struct bot *bot)
{
    struct hs_request req = {0};
    char *path = hs_client_path("/_matrix/client/v3/profile/%s/displayname", bot->user_id);

    req.method = "GET";
    req.path = path;
    req.retry = HS_RETRY_FOREVER;
    bot->call = hs_client_request(bot->owner->hc, &req, bots_on_displayname_get, bot);
    free(path);
}

static void
bots_on_retry_timer(uv_timer_t *t)
{
    bots_register(t->data);
}

static void
bots_on_registered(const struct hs_response *res, void *arg)
{
    struct bot *bot = arg;
    const char *errcode = res->error.errcode;

    bot->call = NULL;
    if (hs_response_ok(res) || (errcode != NULL && strcmp(errcode, "M_USER_IN_USE") == 0)) {
        log_info("bots: %s is registered", bot->user_id);
        bots_settle(bot, BOT_READY);
        bots_check_displayname(bot);
        return;
    }
    if (res->status == 0 || res->status == 429 || res->status >= 500) {
        /* Only when hs_client stopped retrying (a shutdown): try later. */
        bot->state = BOT_UNREGISTERED;
        uv_timer_start(&bot->retry_timer, bots_on_retry_timer, bot->retry_delay_ms, 0);
        return;
    }
    if (res->status == 401 || res->status == 403) {
        char *why = hs_error_describe(&res->error);

        log_error("bots: the homeserver refused to register %s (%s). Is warroom's registration file installed "
                  "on the homeserver, and was the homeserver restarted? Retrying in %u s",
                  bot->user_id, why, bot->retry_delay_ms / 1000);
        free(why);
        bot->state = BOT_UNREGISTERED;
        uv_timer_start(&bot->retry_timer, bots_on_retry_timer, bot->retry_delay_ms, 0);
        if (bot->retry_delay_ms < 300000)
            bot->retry_delay_ms *= 2;
        return;
    }
    {
        char *why = hs_error_describe(&res->error);

        log_error("bots: the homeserver will not register %s: %s%s", bot->user_id, why,
                  errcode != NULL && strcmp(errcode, "M_EXCLUSIVE") == 0
                      ? " (the user is outside warroom's namespace: regenerate the registration with -g and "
                        "install it on the homeserver)"
                      : "");
        free(why);
    }
    bots_settle(bot, BOT_FAILED);
}

static void
bots_register(struct bot *bot)
{
    struct hs_request req = {0};
    struct json_object *body = json_object_new_object();

    json_object_object_add(body, "type", json_object_new_string("m.login.application_service"));
    json_object_object_add(body, "username", json_object_new_string(bot->localpart));
    json_object_object_add(body, "inhibit_login", json_object_new_boolean(1));
    req.method = "POST";
    req.path = "/_matrix/client/v3/register";
    req.body = body;
    req.retry = HS_RETRY_FOREVER;
    bot->state = BOT_REGISTERING;
    bot->call = hs_client_request(bot->owner->hc, &req, bots_on_registered, bot);
    json_object_put(body);
}

void
bots_local(struct bots *bots)
{
    for (struct bot *b = bots->list; b != NULL; b = b->next)
        b->state = BOT_READY;
    bots->local = 1;
}

void
bots_start(struct bots *bots)
{
    for (struct bot *b = bots->list; b != NULL; b = b->next) {
        if (b->state == BOT_UNREGISTERED && b->call == NULL)
            bots_register(b);
    }
}

void
bots_when_ready(struct bots *bots, struct bot *bot, void (*cb)(struct bot *bot, int ok, void *arg), void *arg)
{
    struct bot_waiter *w = xcalloc(1, sizeof(*w)), **tail;

    w->cb = cb;
    w->arg = arg;
    for (tail = &bot->waiters; *tail != NULL; tail = &(*tail)->next)
        ;
    *tail = w;
    if (bot->state == BOT_READY || bot->state == BOT_FAILED)
        uv_idle_start(&bots->notify, bots_on_notify);
    else if (bot->state == BOT_UNREGISTERED && bot->call == NULL && !uv_is_active((uv_handle_t *)&bot->retry_timer))
        bots_register(bot);
}

void
bots_cancel_wait(struct bots *bots, struct bot *bot, void (*cb)(struct bot *bot, int ok, void *arg), void *arg)
{
    (void)bots;
    for (struct bot_waiter **p = &bot->waiters; *p != NULL; p = &(*p)->next) {
        if ((*p)->cb == cb && (*p)->arg == arg) {
            struct bot_waiter *w = *p;

            *p = w->next;
            free(w);
            return;
        }
    }
}

/* Frees bots once its last handle has closed. */
static void
bots_release(struct bots *bots)
{
    if (--bots->closing > 0)
        return;
    free(bots->prefix);
    free(bots->suffix);
    free(bots);
}

static void
bots_on_timer_close(uv_handle_t *handle)
{
    struct bot *bot = handle->data;
    struct bots *bots = bot->owner;

    free(bot->localpart);
    free(bot->user_id);
    free(bot->displayname);
    free(bot->tool);
    free(bot);
    bots_release(bots);
}

static void
bots_on_notify_close(uv_handle_t *handle)
{
    bots_release(handle->data);
}

void
bots_free(struct bots *bots)
{
    struct bot *b, *next;

    if (bots == NULL)
        return;
    bots->closing = 1;
    for (b = bots->list; b != NULL; b = next) {
        next = b->next;
        hs_client_cancel(b->call);
        while (b->waiters != NULL) {
            struct bot_waiter *w = b->waiters;

            b->waiters = w->next;
            free(w);
        }
        bots->closing++;
        uv_close((uv_handle_t *)&b->retry_timer, bots_on_timer_close);
    }
    bots->list = NULL;
    uv_close((uv_handle_t *)&bots->notify, bots_on_notify_close);
}
