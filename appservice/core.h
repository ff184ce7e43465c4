/*
 * The core warroom is made of, whoever drives it: the store, the
 * homeserver client, the bots, the tool bridges, the outbox and the
 * router, built in the order they depend on each other and released in
 * the reverse one.  The daemon (daemon.c) puts the HTTP servers and the
 * transaction writer in front of it; warroom shell (shell.c) puts a
 * terminal in front of it and a local sink behind it.
 */
#ifndef WARROOM_CORE_H
#define WARROOM_CORE_H

#include <uv.h>

struct config;
struct config_errors;
struct store;
struct curl_uv;
struct hs_client;
struct bots;
struct bridge_host;
struct outbox;
struct router;
struct audit;

struct core {
    uv_loop_t *loop;
    const struct config *cfg;
    struct store *store;
    struct curl_uv *cu;
    struct hs_client *hc;
    struct bots *bots;
    struct bridge_host *bridges;
    struct outbox *outbox;
    struct router *router;
    struct audit *audit; /* the audit log's head entries and the start-up config entry */
};

/*
 * Builds the core on loop.  local: no homeserver (the bots are ready
 * without registering).  Returns 0, or -1 with configuration problems
 * added to errs or another reason logged; core_close() releases what was
 * built either way.
 */
int core_open(struct core *c, uv_loop_t *loop, const struct config *cfg, int local, struct config_errors *errs);

/*
 * Releases everything, in the order that keeps every callback safe (the
 * owners of homeserver calls before the client, the client before curl,
 * the store last).  The loop must run once more for the last close
 * callbacks.  What is still queued or running stays in the store.
 */
void core_close(struct core *c);

#endif
