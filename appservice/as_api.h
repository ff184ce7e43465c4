/*
 * The Application Service API that the homeserver calls: transactions,
 * user and alias queries, ping, and the third-party lookups, under
 * /_matrix/app/v1 and the legacy unprefixed paths.  Every request is
 * authenticated with the hs_token (as_auth.h).  A transaction is answered
 * 200 only after its events are committed to the store, and only then
 * offered to the router.
 *
 * Errors follow the spec: 401 M_MISSING_TOKEN, 403 M_FORBIDDEN, 404
 * M_UNRECOGNIZED for an unknown path, 405 M_UNRECOGNIZED for a known path
 * with the wrong method, 400 M_NOT_JSON / M_BAD_JSON for bad bodies, 413
 * M_TOO_LARGE (http_server.c) for bodies over the limit.
 */
#ifndef WARROOM_AS_API_H
#define WARROOM_AS_API_H

#include "h2o.h"
#include "ops_api.h"

struct config;
struct store;
struct bots;
struct router;
struct txn_writer;
struct http_server;
struct as_api;

struct as_api_options {
    const struct config *cfg;
    struct store *store;
    struct bots *bots;
    struct router *router;
    struct txn_writer *writer; /* parses and stores transactions off the loop */
    struct ops_api ops; /* the ops endpoints served on the same port */
    /* Called when the homeserver pings us (POST /ping), with the
     * transaction_id it carried (NULL if none). */
    void (*on_ping)(const char *transaction_id, void *arg);
    void *on_ping_arg;
};

/* Returns allocated, free with as_api_free(). */
struct as_api *as_api_new(const struct as_api_options *opt);

/* The http_server handler (arg: struct as_api). */
void as_api_handle(struct http_server *srv, h2o_req_t *req, void *arg);

/* Answers the requests still waiting (user queries) with 503, for a
 * shutdown. */
void as_api_shutdown(struct as_api *api);

void as_api_free(struct as_api *api);

#endif
