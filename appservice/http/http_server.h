/*
 * The inbound HTTP server: libh2o on warroom's libuv loop.  It accepts
 * connections (keep-alive), enforces the body size limit (413 M_TOO_LARGE
 * on a connection that stays usable, for bodies up to four times the
 * limit or 64 MiB; beyond that h2o cuts the connection), turns the errors
 * h2o produces itself (413, malformed requests) into Matrix JSON errors,
 * hands every request to one handler function, and shuts down gracefully:
 * stop accepting, let requests in flight finish, close idle keep-alive
 * connections, then report that everything is closed.
 *
 * A daemon may run several servers (the appservice port and a separate
 * metrics port), each with its own handler.
 */
#ifndef WARROOM_HTTP_SERVER_H
#define WARROOM_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "h2o.h"

struct http_server;

/*
 * Called for every request on the loop thread.  The handler answers with
 * http_reply_*() before returning, or keeps the request with
 * http_server_defer() and answers later.
 */
typedef void (*http_server_handler)(struct http_server *srv, h2o_req_t *req, void *arg);

struct http_server_options {
    const char *name;       /* for the log: "appservice", "metrics" */
    uint64_t max_body_size; /* bytes; larger bodies get 413 M_TOO_LARGE */
    http_server_handler handler;
    void *arg;
};

/* Returns allocated, free with http_server_free() after the loop has
 * stopped.  Nothing listens until http_server_listen(). */
struct http_server *http_server_new(uv_loop_t *loop, const struct http_server_options *opt);

/* Listens on host:port (IPv4 or IPv6 literal, or "localhost").  Returns 0
 * or -1 with an allocated reason in *cause. */
int http_server_listen(struct http_server *srv, const char *host, int port, char **cause);

/* The port actually bound (useful with port 0), or -1. */
int http_server_port(const struct http_server *srv);

/*
 * A request kept for a later answer.  If the client goes away first,
 * http_deferred_req() returns NULL; the owner still calls
 * http_deferred_finish() exactly once.
 */
struct http_deferred;

/* Keeps req for a later answer; returns allocated, released by
 * http_deferred_finish(). */
struct http_deferred *http_server_defer(struct http_server *srv, h2o_req_t *req);
/* The request, or NULL if its connection is gone. */
h2o_req_t *http_deferred_req(struct http_deferred *d);
/* Forgets the deferred request (after answering it, or if it is gone). */
void http_deferred_finish(struct http_deferred *d);

/*
 * Begins a graceful shutdown: closes the listeners, lets requests in
 * flight and deferred requests finish, closes idle keep-alive connections,
 * and calls done once every connection is closed.  done is called from the
 * loop, never from inside this call.
 */
void http_server_shutdown(struct http_server *srv, void (*done)(void *arg), void *arg);

/* Open connections, and requests deferred but not finished. */
unsigned http_server_connections(const struct http_server *srv);
unsigned http_server_deferred(const struct http_server *srv);

/*
 * Releases h2o's context and configuration.  Must be called after the
 * loop has returned (h2o runs the loop once inside), then the loop run
 * again so the last handles close.  NULL is a no-op.
 */
void http_server_free(struct http_server *srv);

#endif
