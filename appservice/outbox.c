/*
 * Delivery of outbox entries; see outbox.h.
 *
 * Each room with work has a queue of entries in id order.  A room is
 * "busy" while its head entry is in flight, and "waiting" until a time
 * (uv_now) when it backs off after a 401.  One timer wakes the pump at the
 * earliest waiting time; bots becoming ready also wake it.
 */
#include "autoconfig.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "bots.h"
#include "hs_client.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "store/store.h"
#include "xmalloc.h"

/* At most this many rooms have a request in flight at once. */
#define OUTBOX_MAX_IN_FLIGHT 32
#define OUTBOX_RETRY_INITIAL_MS 2000
#define OUTBOX_RETRY_MAX_MS 300000

struct outbox_item {
    struct store_outbox_entry *e;
    char *content_uri; /* where its file was uploaded, once it was */
    struct outbox_item *next;
};

struct outbox_room {
    struct outbox *ob;
    char *room_id;
    struct outbox_item *head, *tail;
    struct hs_call *call; /* the head's request, while busy */
    uint64_t not_before;  /* uv_now() before which the head is not tried */
    unsigned backoff_ms;
    struct outbox_room *next;
};

struct outbox {
    uv_loop_t *loop;
    struct store *store;
    struct hs_client *hc;
    struct bots *bots;
    struct outbox_room *rooms;
    int64_t last_id;
    int64_t depth;
    unsigned in_flight;
    uv_timer_t timer;
    int stopping;
    void (*done)(void *arg);
    void *done_arg;
    void (*sent_hook)(int64_t id, const char *event_id, void *arg);
    void *sent_arg;
    outbox_sink_fn sink; /* delivers locally instead (warroom shell) */
    void *sink_arg;
};

static void outbox_pump(struct outbox *ob);

static void
outbox_on_timer(uv_timer_t *t)
{
    outbox_pump(t->data);
}

static void
outbox_on_bot_ready(void *arg)
{
    outbox_pump(arg);
}

struct outbox *
outbox_new(uv_loop_t *loop, struct store *store, struct hs_client *hc, struct bots *bots)
{
    struct outbox *ob = xcalloc(1, sizeof(*ob));

    ob->loop = loop;
    ob->store = store;
    ob->hc = hc;
    ob->bots = bots;
    if (uv_timer_init(loop, &ob->timer) != 0)
        abort();
    ob->timer.data = ob;
    bots_set_ready_hook(bots, outbox_on_bot_ready, ob);
    return ob;
}

int64_t
outbox_depth(const struct outbox *ob)
{
    return ob->depth;
}

unsigned
outbox_in_flight(const struct outbox *ob)
{
    return ob->in_flight;
}

void
outbox_set_sent_hook(struct outbox *ob, void (*cb)(int64_t id, const char *event_id, void *arg), void *arg)
{
    ob->sent_hook = cb;
    ob->sent_arg = arg;
}

/* Returns the queue of room_id, creating it. */
static struct outbox_room *
outbox_room(struct outbox *ob, const char *room_id)
{
    struct outbox_room *r;

    for (r = ob->rooms; r != NULL; r = r->next) {
        if (strcmp(r->room_id, room_id) == 0)
            return r;
    }
    r = xcalloc(1, sizeof(*r));
    r->ob = ob;
    r->room_id = xstrdup(room_id);
    r->next = ob->rooms;
    ob->rooms = r;
    return r;
}

/* Takes ownership of e and appends it to its room's queue. */
static int
outbox_on_loaded(struct store_outbox_entry *e, void *arg)
{
    struct outbox *ob = arg;
    struct outbox_room *r = outbox_room(ob, e->room_id);
    struct outbox_item *it = xcalloc(1, sizeof(*it));

    it->e = e;
    if (r->tail != NULL)
        r->tail->next = it;
    else
        r->head = it;
    r->tail = it;
    if (e->id > ob->last_id)
        ob->last_id = e->id;
    ob->depth++;
    return 0;
}

void
outbox_kick(struct outbox *ob)
{
    char *cause = NULL;

    if (store_outbox_pending(ob->store, ob->last_id, outbox_on_loaded, ob, &cause) != 0) {
        /* The entries stay in the store; the next kick loads them. */
        log_error("outbox: cannot read pending entries: %s", cause);
        free(cause);
    }
    outbox_pump(ob);
}

/* Removes the head of r's queue; frees r if it is empty. */
static void
outbox_pop(struct outbox_room *r)
{
    struct outbox *ob = r->ob;
    struct outbox_item *it = r->head;

    r->head = it->next;
    if (r->head == NULL)
        r->tail = NULL;
    store_outbox_entry_free(it->e);
    free(it->content_uri);
    free(it);
    ob->depth--;
    r->backoff_ms = 0;
    r->not_before = 0;
    if (r->head == NULL) {
        struct outbox_room **p;

        for (p = &ob->rooms; *p != r; p = &(*p)->next)
            ;
        *p = r->next;
        free(r->room_id);
        free(r);
    }
}

/* The path of the request for entry e (allocated). */
static char *
outbox_path(const struct store_outbox_entry *e)
{
    switch (e->kind) {
    case STORE_OUTBOX_JOIN:
        return hs_client_path("/_matrix/client/v3/rooms/%s/join", e->room_id);
    case STORE_OUTBOX_LEAVE:
        return hs_client_path("/_matrix/client/v3/rooms/%s/leave", e->room_id);
    case STORE_OUTBOX_SEND:
    default:
        return hs_client_path("/_matrix/client/v3/rooms/%s/send/%s/%s", e->room_id,
                              e->event_type != NULL ? e->event_type : "m.room.message", e->txn_id);
    }
}

/*
 * Wraps content as an edit (m.replace) of the event target_event_id:
 * clients that understand edits show m.new_content in place of the
 * original; the others show the fallback body marked with "* ".
 */
static struct json_object *
outbox_wrap_edit(struct json_object *content, const char *target_event_id)
{
    struct json_object *edit = json_object_new_object(), *v, *rel;
    const char *keys[] = {"msgtype", "body", "format", "formatted_body"};

    json_object_object_del(content, "m.relates_to");
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (!json_object_object_get_ex(content, keys[i], &v))
            continue;
        if ((strcmp(keys[i], "body") == 0 || strcmp(keys[i], "formatted_body") == 0) &&
            json_object_is_type(v, json_type_string)) {
            char *s = xasprintf("* %s", json_object_get_string(v));

            json_object_object_add(edit, keys[i], json_object_new_string(s));
            free(s);
        } else {
            json_object_object_add(edit, keys[i], json_object_get(v));
        }
    }
    rel = json_object_new_object();
    json_object_object_add(rel, "rel_type", json_object_new_string("m.replace"));
    json_object_object_add(rel, "event_id", json_object_new_string(target_event_id));
    json_object_object_add(edit, "m.new_content", content);
    json_object_object_add(edit, "m.relates_to", rel);
    return edit;
}

/* The request body for e: its content, or an edit of an earlier entry.
 * Returns allocated, or NULL if e's content is not JSON (then e fails). */
static struct json_object *
outbox_body(struct outbox *ob, const struct outbox_item *it)
{
    const struct store_outbox_entry *e = it->e;
    struct json_object *content = e->content != NULL ? json_tokener_parse(e->content) : json_object_new_object();
    char *target = NULL, *cause = NULL;

    if (content == NULL || !json_object_is_type(content, json_type_object)) {
        json_object_put(content);
        return NULL;
    }
    if (it->content_uri != NULL)
        json_object_object_add(content, "url", json_object_new_string(it->content_uri));
    if (e->kind != STORE_OUTBOX_SEND || e->replaces_id == 0)
        return content;
    if (store_outbox_event_id(ob->store, e->replaces_id, &target, &cause) != 0) {
        log_warn("outbox: %s", cause);
        free(cause);
    }
    if (target == NULL) {
        /* The original was never delivered (refused for good): send this
         * one as a message of its own, so the room still gets it. */
        return content;
    }
    content = outbox_wrap_edit(content, target);
    free(target);
    return content;
}

/*
 * True if the homeserver refused for good (a 4xx but 401 and 429).  A 401
 * means it does not know our as_token yet, which an operator fixes while
 * warroom runs; 429, 5xx and network errors pass (hs_client retries them,
 * and reports them only if it was stopped).
 */
static int
outbox_is_final(const struct hs_response *res)
{
    return res->status >= 400 && res->status < 500 && res->status != 401 && res->status != 429;
}

static void
outbox_on_response(const struct hs_response *res, void *arg)
{
    struct outbox_room *r = arg;
    struct outbox *ob = r->ob;
    struct store_outbox_entry *e = r->head->e;
    char *cause = NULL;

    r->call = NULL;
    ob->in_flight--;
    if (hs_response_ok(res)) {
        struct json_object *v;
        const char *event_id = NULL;
        int64_t id = e->id;

        if (res->body != NULL && json_object_object_get_ex(res->body, "event_id", &v) &&
            json_object_is_type(v, json_type_string))
            event_id = json_object_get_string(v);
        if (store_outbox_sent(ob->store, e->id, event_id, &cause) != 0) {
            /* Delivered but not recorded: a restart resends it with the
             * same txnId, which the homeserver answers with the same event. */
            log_error("outbox: entry %lld delivered but not recorded: %s", (long long)e->id, cause);
            free(cause);
        }
        metrics_add(METRICS_OUTBOX_SENT, 1);
        log_debug("outbox: entry %lld delivered to %s%s%s", (long long)e->id, e->room_id,
                  event_id != NULL ? " as " : "", event_id != NULL ? event_id : "");
        if (ob->sent_hook != NULL)
            ob->sent_hook(id, event_id, ob->sent_arg);
        outbox_pop(r);
    } else if (ob->stopping && !outbox_is_final(res)) {
        log_info("outbox: entry %lld left for the next run", (long long)e->id);
    } else if (!outbox_is_final(res)) {
        char *why = hs_error_describe(&res->error);

        r->backoff_ms = r->backoff_ms == 0 ? OUTBOX_RETRY_INITIAL_MS : r->backoff_ms * 2;
        if (r->backoff_ms > OUTBOX_RETRY_MAX_MS)
            r->backoff_ms = OUTBOX_RETRY_MAX_MS;
        r->not_before = uv_now(ob->loop) + r->backoff_ms;
        if (res->status == 401)
            log_error("outbox: the homeserver refused warroom's token (%s); is the registration installed and "
                      "the homeserver restarted? Retrying in %u s",
                      why, r->backoff_ms / 1000);
        else
            log_warn("outbox: entry %lld not delivered (%s); retrying in %u ms", (long long)e->id, why, r->backoff_ms);
        free(why);
        metrics_add(METRICS_OUTBOX_RETRIES, 1);
        if (store_outbox_attempted(ob->store, e->id, "not delivered yet", &cause) != 0) {
            log_warn("outbox: %s", cause);
            free(cause);
        }
    } else {
        char *why = hs_error_describe(&res->error);

        log_warn("outbox: the homeserver refused entry %lld for %s in %s for good: %s", (long long)e->id, e->user_id,
                 e->room_id, why);
        metrics_add(METRICS_OUTBOX_FAILED, 1);
        if (store_outbox_failed(ob->store, e->id, why, &cause) != 0) {
            log_error("outbox: %s", cause);
            free(cause);
        }
        free(why);
        outbox_pop(r);
    }
    outbox_pump(ob);
}

/* Fails the head of r for a reason found before sending. */
static void
outbox_fail_head(struct outbox_room *r, const char *why)
{
    char *cause = NULL;

    log_warn("outbox: entry %lld cannot be sent: %s", (long long)r->head->e->id, why);
    metrics_add(METRICS_OUTBOX_FAILED, 1);
    if (store_outbox_failed(r->ob->store, r->head->e->id, why, &cause) != 0) {
        log_error("outbox: %s", cause);
        free(cause);
    }
    outbox_pop(r);
}

static int outbox_start(struct outbox_room *r);

/* The file of the head entry is uploaded: send the message that carries
 * it (or fail the entry if the homeserver refused the file). */
static void
outbox_on_uploaded(const struct hs_response *res, void *arg)
{
    struct outbox_room *r = arg;
    struct outbox *ob = r->ob;
    struct json_object *v;

    r->call = NULL;
    ob->in_flight--;
    if (hs_response_ok(res) && res->body != NULL && json_object_object_get_ex(res->body, "content_uri", &v) &&
        json_object_is_type(v, json_type_string)) {
        r->head->content_uri = xstrdup(json_object_get_string(v));
    } else if (!ob->stopping) {
        char *why = hs_error_describe(&res->error);

        outbox_fail_head(r, why);
        free(why);
    }
    outbox_pump(ob);
}

/* Uploads the head entry's file as its bot. */
static void
outbox_upload(struct outbox_room *r)
{
    struct outbox *ob = r->ob;
    struct store_outbox_entry *e = r->head->e;
    struct hs_request req = {0};
    char *name = hs_client_escape(e->blob_name != NULL ? e->blob_name : "file");
    char *query = xasprintf("filename=%s", name);

    req.method = "POST";
    req.path = "/_matrix/media/v3/upload";
    req.user_id = e->user_id;
    req.query = query;
    req.raw_body = e->blob;
    req.raw_body_len = e->blob_len;
    req.content_type = e->blob_type != NULL ? e->blob_type : "application/octet-stream";
    req.retry = HS_RETRY_FOREVER;
    req.timeout_ms = 120000;
    ob->in_flight++;
    r->call = hs_client_request(ob->hc, &req, outbox_on_uploaded, r);
    free(query);
    free(name);
}

/* Hands the head entry to the local sink and marks it delivered.  r may
 * be gone afterwards. */
static void
outbox_deliver_locally(struct outbox_room *r, struct json_object *body)
{
    struct outbox *ob = r->ob;
    struct store_outbox_entry *e = r->head->e;
    char *event_id = ob->sink(e, body, ob->sink_arg), *cause = NULL;
    int64_t id = e->id;

    if (store_outbox_sent(ob->store, e->id, event_id, &cause) != 0) {
        log_error("outbox: %s", cause);
        free(cause);
    }
    metrics_add(METRICS_OUTBOX_SENT, 1);
    if (ob->sent_hook != NULL)
        ob->sent_hook(id, event_id, ob->sent_arg);
    free(event_id);
    outbox_pop(r);
}

/* Starts the head request of r if its bot is ready.  Returns 1 if the
 * head is already done with (failed, or delivered locally: r may be gone,
 * scan again), else 0. */
static int
outbox_start(struct outbox_room *r)
{
    struct outbox *ob = r->ob;
    struct store_outbox_entry *e = r->head->e;
    struct bot *bot = bots_find(ob->bots, e->user_id);
    struct hs_request req = {0};
    struct json_object *body;
    char *path;

    if (bot != NULL && bot->state == BOT_FAILED) {
        outbox_fail_head(r, "its bot could not be registered on the homeserver");
        return 1;
    }
    if (bot != NULL && bot->state != BOT_READY) {
        bots_start(ob->bots); /* registers it if nobody has yet; the ready hook pumps */
        return 0;
    }
    if (e->kind == STORE_OUTBOX_SEND && e->blob != NULL && r->head->content_uri == NULL && ob->sink == NULL) {
        outbox_upload(r);
        return 0;
    }
    if ((body = outbox_body(ob, r->head)) == NULL) {
        outbox_fail_head(r, "its stored content is not a JSON object");
        return 1;
    }
    if (ob->sink != NULL) {
        outbox_deliver_locally(r, body);
        json_object_put(body);
        return 1;
    }
    path = outbox_path(e);
    req.method = e->kind == STORE_OUTBOX_SEND ? "PUT" : "POST";
    req.path = path;
    req.user_id = e->user_id;
    req.body = body;
    req.retry = HS_RETRY_FOREVER;
    ob->in_flight++;
    r->call = hs_client_request(ob->hc, &req, outbox_on_response, r);
    json_object_put(body);
    free(path);
    return 0;
}

/* Starts whatever may start now and arms the timer for the rest. */
static void
outbox_pump(struct outbox *ob)
{
    uint64_t now = uv_now(ob->loop), wake = 0;
    struct outbox_room *r;

    if (ob->stopping) {
        if (ob->in_flight == 0 && ob->done != NULL) {
            void (*done)(void *) = ob->done;

            ob->done = NULL;
            done(ob->done_arg);
        }
        return;
    }
again:
    for (r = ob->rooms; r != NULL && ob->in_flight < OUTBOX_MAX_IN_FLIGHT; r = r->next) {
        if (r->call != NULL)
            continue;
        if (r->not_before > now) {
            if (wake == 0 || r->not_before < wake)
                wake = r->not_before;
            continue;
        }
        if (outbox_start(r) != 0)
            goto again;
    }
    if (wake != 0)
        uv_timer_start(&ob->timer, outbox_on_timer, wake - now, 0);
}

void
outbox_set_sink(struct outbox *ob, outbox_sink_fn sink, void *arg)
{
    ob->sink = sink;
    ob->sink_arg = arg;
}

void
outbox_shutdown(struct outbox *ob, void (*done)(void *arg), void *arg)
{
    ob->stopping = 1;
    ob->done = done;
    ob->done_arg = arg;
    uv_timer_stop(&ob->timer);
    log_info("outbox: %u request(s) in flight, %lld entr%s kept for the next run", ob->in_flight, (long long)ob->depth,
             ob->depth == 1 ? "y" : "ies");
    /* Let the caller return before done runs. */
    uv_timer_start(&ob->timer, outbox_on_timer, 0, 0);
}

static void
outbox_on_close(uv_handle_t *handle)
{
    free(handle->data);
}

void
outbox_free(struct outbox *ob)
{
    if (ob == NULL)
        return;
    /* What is still queued stays pending in the store for the next run. */
    while (ob->rooms != NULL) {
        struct outbox_room *r = ob->rooms;

        hs_client_cancel(r->call);
        ob->rooms = r->next;
        while (r->head != NULL) {
            struct outbox_item *it = r->head;

            r->head = it->next;
            store_outbox_entry_free(it->e);
            free(it->content_uri);
            free(it);
        }
        free(r->room_id);
        free(r);
    }
    bots_set_ready_hook(ob->bots, NULL, NULL);
    uv_close((uv_handle_t *)&ob->timer, outbox_on_close);
}
