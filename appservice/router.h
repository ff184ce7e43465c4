/*
 * The router: what warroom does with the events it has stored.  It runs
 * after each transaction is committed (and at start-up over what a crash
 * left unrouted), so routing never delays the homeserver's
 * acknowledgement.
 *
 * - An invite of a bot is accepted (join) if the inviter's permission
 *   level allows it, else rejected (leave) with a short reason.
 * - A message that holds a command (command_line.h) is recorded once (on
 *   its event ID), checked against the permission table and the maximum
 *   age, run, and answered in its thread through the outbox.  The record
 *   and the answer are written in one database transaction, so a crash
 *   leaves either both or neither; a command still marked running at
 *   start-up is run again.
 * - The router remembers the last transaction it finished (meta
 *   "router.txn_seq"); at start-up it offers again every event stored
 *   after it.  Offering twice is harmless: commands are recorded once,
 *   and a join or leave is queued once per invite.
 */
#ifndef WARROOM_ROUTER_H
#define WARROOM_ROUTER_H

#include <json-c/json.h>
#include <stdint.h>
#include <uv.h>

struct config;
struct store;
struct bots;
struct outbox;
struct hs_client;
struct txn;
struct router;
struct bridge_host;

struct router_options {
    uv_loop_t *loop;
    const struct config *cfg;
    struct store *store;
    struct bots *bots;
    struct outbox *outbox;
    struct hs_client *hc;
    struct bridge_host *bridges; /* the tool bridges */
};

/* Returns allocated, free with router_free(). */
struct router *router_new(const struct router_options *opt);

/* Runs the commands a previous run left running and offers the events
 * stored after the last finished transaction.  Returns 0, or -1 with an
 * allocated reason in *cause. */
int router_start(struct router *r, char **cause);

/* Offers the events of a committed transaction; is_new marks those stored
 * now (the others were offered before). */
void router_offer_txn(struct router *r, const struct txn *txn, const unsigned char *is_new, int64_t txn_seq);

/* Commands being run. */
unsigned router_running(const struct router *r);

/* Accepts no new commands and calls done (from the loop) once the running
 * ones have answered. */
void router_shutdown(struct router *r, void (*done)(void *arg), void *arg);

/* Cancels what still runs (those commands stay recorded as running and are
 * run again at the next start), saves the position, and frees.  NULL is a
 * no-op. */
void router_free(struct router *r);

#endif
