/*
 * The bot users warroom owns: the main bot (appservice.bot.username, the
 * registration's sender_localpart) and, later, one bot per enabled
 * bridge.  Each bot is registered on the homeserver at start-up (POST
 * /register with m.login.application_service and inhibit_login;
 * M_USER_IN_USE means it exists already) and given its display name.
 * Others wait for a bot to be ready: the outbox before sending as it, the
 * user query before answering 200.
 */
#ifndef WARROOM_BOTS_H
#define WARROOM_BOTS_H

#include <uv.h>

#include "permission_level.h"

struct config;
struct hs_client;
struct hs_call;
struct bots;

enum bot_state {
    BOT_UNREGISTERED,
    BOT_REGISTERING,
    BOT_READY,
    BOT_FAILED, /* the homeserver refused it for good; the log says why */
};

struct bot_waiter;

struct bot {
    char *localpart;
    char *user_id;
    char *displayname;
    char *tool;                   /* the bridge it speaks for, or NULL for the main bot */
    enum perm_level invite_level; /* who may invite it into a room */
    enum bot_state state;

    /* private */
    struct bots *owner;
    struct hs_call *call;
    uv_timer_t retry_timer;
    unsigned retry_delay_ms;
    struct bot_waiter *waiters;
    struct bot *next;
};

/* Returns allocated, free with bots_free().  The main bot is added. */
struct bots *bots_new(uv_loop_t *loop, const struct config *cfg, struct hs_client *hc);

/* Adds a bot; borrowed strings are copied.  Returns the bot (owned by
 * bots). */
struct bot *bots_add(struct bots *bots, const char *localpart, const char *displayname, const char *tool,
                     enum perm_level invite_level);

struct bot *bots_main(struct bots *bots);
/* The bot with that user ID, or NULL. */
struct bot *bots_find(struct bots *bots, const char *user_id);
/* The first bot, for iteration with bot->next. */
struct bot *bots_first(struct bots *bots);

/* 1 if user_id is in warroom's exclusive namespace (a bot, present or
 * not, or the main bot): warroom ignores what such users say. */
int bots_in_namespace(const struct bots *bots, const char *user_id);

/* Without a homeserver (warroom shell): every bot, present and to come,
 * is ready without being registered. */
void bots_local(struct bots *bots);

/* Registers every bot and sets its display name, retrying while the
 * homeserver is unreachable. */
void bots_start(struct bots *bots);

/* Calls cb once the bot is ready (ok = 1) or has failed (ok = 0); at once
 * (from the loop) if it already is.  Registers it if nobody has yet. */
void bots_when_ready(struct bots *bots, struct bot *bot, void (*cb)(struct bot *bot, int ok, void *arg), void *arg);

/* Forgets a waiter registered with that cb and arg (its owner is going
 * away). */
void bots_cancel_wait(struct bots *bots, struct bot *bot, void (*cb)(struct bot *bot, int ok, void *arg), void *arg);

/* Calls hook whenever a bot becomes ready (the outbox sends what waited). */
void bots_set_ready_hook(struct bots *bots, void (*hook)(void *arg), void *arg);

/* Cancels requests and timers and frees everything after their close
 * callbacks; run the loop once more afterwards.  NULL is a no-op. */
void bots_free(struct bots *bots);

#endif
