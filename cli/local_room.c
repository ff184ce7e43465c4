/*
 * The local room of warroom shell and the router benchmark; see
 * local_room.h.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "bots.h"
#include "cli/local_room.h"
#include "clock.h"
#include "config.h"
#include "core.h"
#include "router.h"
#include "store/store.h"
#include "txn.h"
#include "xmalloc.h"

/* Stores one transaction of the given events (a JSON array, owned by the
 * call) and offers it to the router. */
static int
local_room_store(struct local_room *lr, const char *txn_id, struct json_object *events, char **cause)
{
    struct json_object *root = json_object_new_object();
    struct txn *txn = NULL;
    struct txn_error err;
    unsigned char *is_new = NULL;
    size_t n_new = 0;
    int64_t txn_seq = 0;
    const char *text;
    int ret = -1;

    json_object_object_add(root, "events", events);
    text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
    if (txn_parse(text, strlen(text), &txn, &err) != 0) {
        *cause = xasprintf("cannot make an event of that: %s", err.message);
        goto out;
    }
    is_new = xcalloc(txn->nevents > 0 ? txn->nevents : 1, 1);
    if (store_put_transaction(lr->core->store, txn_id, txn, clock_now_ms(), is_new, &n_new, &txn_seq, cause) != 0)
        goto out;
    if (lr->on_stored != NULL)
        lr->on_stored(lr, lr->on_stored_arg);
    router_offer_txn(lr->core->router, txn, is_new, txn_seq);
    ret = 0;
out:
    free(is_new);
    txn_free(txn);
    json_object_put(root);
    return ret;
}

/* One event of the room; id is allocated by the caller's format. */
static struct json_object *
local_room_event(const struct local_room *lr, const char *event_id, const char *sender, const char *type,
                 const char *state_key, struct json_object *content)
{
    struct json_object *ev = json_object_new_object();

    json_object_object_add(ev, "event_id", json_object_new_string(event_id));
    json_object_object_add(ev, "room_id", json_object_new_string(lr->room_id));
    json_object_object_add(ev, "sender", json_object_new_string(sender));
    json_object_object_add(ev, "type", json_object_new_string(type));
    if (state_key != NULL)
        json_object_object_add(ev, "state_key", json_object_new_string(state_key));
    json_object_object_add(ev, "origin_server_ts", json_object_new_int64(clock_now_ms()));
    json_object_object_add(ev, "content", content);
    return ev;
}

/* A membership event of user with a fixed ID (kind tells invite from join). */
static struct json_object *
local_room_member(const struct local_room *lr, const char *sender, const char *user, const char *membership,
                  int is_direct)
{
    struct json_object *c = json_object_new_object(), *ev;
    char *event_id = xasprintf("$shell-%s-%s", strcmp(membership, "join") == 0 ? "member" : membership, user);

    json_object_object_add(c, "membership", json_object_new_string(membership));
    if (is_direct)
        json_object_object_add(c, "is_direct", json_object_new_boolean(1));
    ev = local_room_event(lr, event_id, sender, "m.room.member", user, c);
    free(event_id);
    return ev;
}

/* A random hex string: this run's event IDs must not repeat an earlier
 * run's, or the store would take them for events it already has. */
static void
local_room_nonce(char out[17])
{
    unsigned char raw[8];

    if (uv_random(NULL, NULL, raw, sizeof(raw), 0, NULL) != 0)
        abort();
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

int
local_room_open(struct local_room *lr, struct core *core, const char *user_id, char **cause)
{
    struct json_object *events = json_object_new_array();
    struct bot *main_bot = bots_main(core->bots);

    memset(lr, 0, sizeof(*lr));
    lr->core = core;
    lr->room_id = xasprintf("!shell:%s", core->cfg->homeserver.domain);
    lr->user_id = user_id != NULL ? xstrdup(user_id) : xasprintf("@shell:%s", core->cfg->homeserver.domain);
    local_room_nonce(lr->nonce);
    /* The main bot comes first among the joined, so it is the one a bare
     * "ping" or "dns a example.org" speaks to. */
    json_object_array_add(events, local_room_member(lr, lr->user_id, lr->user_id, "join", 0));
    json_object_array_add(events, local_room_member(lr, main_bot->user_id, main_bot->user_id, "invite", 1));
    json_object_array_add(events, local_room_member(lr, main_bot->user_id, main_bot->user_id, "join", 0));
    for (struct bot *b = bots_first(core->bots); b != NULL; b = b->next) {
        if (b != main_bot)
            json_object_array_add(events, local_room_member(lr, b->user_id, b->user_id, "join", 0));
    }
    return local_room_store(lr, "shell-setup", events, cause);
}

int
local_room_say(struct local_room *lr, const char *text, char **cause)
{
    struct json_object *events = json_object_new_array(), *content = json_object_new_object();
    char *event_id, *txn_id;
    int ret;

    lr->seq++;
    event_id = xasprintf("$shell-%s-%" PRIu64, lr->nonce, lr->seq);
    txn_id = xasprintf("shell-%s-%" PRIu64, lr->nonce, lr->seq);
    json_object_object_add(content, "msgtype", json_object_new_string("m.text"));
    json_object_object_add(content, "body", json_object_new_string(text));
    json_object_array_add(events, local_room_event(lr, event_id, lr->user_id, "m.room.message", NULL, content));
    ret = local_room_store(lr, txn_id, events, cause);
    free(event_id);
    free(txn_id);
    return ret;
}

void
local_room_clear(struct local_room *lr)
{
    free(lr->room_id);
    free(lr->user_id);
    memset(lr, 0, sizeof(*lr));
}
