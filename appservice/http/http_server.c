/*
 * The inbound HTTP server on libh2o and libuv; see http_server.h.
 *
 * h2o answers some requests itself, before any handler runs: a body over
 * the size limit (413), a broken request (400).  Those go through the
 * host's fallback path, where a filter rewrites them into Matrix JSON
 * errors, so a homeserver always gets {"errcode": ...}.
 *
 * Graceful shutdown: h2o 2.2 has no call that closes idle keep-alive
 * connections, so every accepted connection is tracked here, and shutdown
 * half-closes each one for reading (shutdown(SHUT_RD)).  An idle
 * connection then reads end-of-file and h2o closes it; a connection with a
 * request in flight finishes it first.  Each connection struct is freed in
 * its close callback, never earlier.
 */
#include "autoconfig.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http/http_reply.h"
#include "http/http_server.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

/* Bodies up to this size are read before being refused (see
 * http_server_new). */
#define HTTP_SERVER_HARD_CAP ((uint64_t)64 * 1024 * 1024)

struct http_listener {
    uv_tcp_t tcp; /* first: the close callback casts back */
    struct http_server *srv;
    struct http_listener *next;
};

struct http_conn {
    uv_tcp_t tcp; /* first: h2o's close callback gets the handle */
    struct http_server *srv;
    struct http_conn *next;
    struct http_conn **pprev;
};

/* h2o's handler with a pointer back to the server (h2o embeds the generic
 * struct first in the concrete one). */
struct http_handler {
    h2o_handler_t super;
    struct http_server *srv;
};

struct http_error_filter {
    h2o_filter_t super;
    struct http_server *srv;
};

/* The ostream that replaces the body of an error h2o made itself. */
struct http_error_ostream {
    h2o_ostream_t super;
    h2o_iovec_t body;
};

struct http_server {
    uv_loop_t *loop;
    char *name;
    uint64_t max_body_size;
    http_server_handler handler;
    void *arg;

    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;

    struct http_listener *listeners;
    unsigned nlisteners; /* open or closing */
    struct http_conn *conns;
    unsigned nconns;
    unsigned ndeferred;
    int port;

    int shutting_down;
    void (*done)(void *arg);
    void *done_arg;
    uv_timer_t done_timer; /* checks, from the loop, whether shutdown is complete */
};

struct http_deferred {
    struct http_server *srv;
    h2o_req_t *req;
    struct http_deferred **watch; /* lives in req's pool; cleared by our finish */
};

static void http_server_check_done(struct http_server *srv);

/* Hands a request to the server's handler, after the body size check. */
static int
http_server_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct http_handler *h = (struct http_handler *)self;

    if (req->entity.len > h->srv->max_body_size) {
        metrics_error(METRICS_ERR_TOO_LARGE);
        log_info("%s: HTTP 413 for a body of %zu bytes", h->srv->name, req->entity.len);
        http_reply_error(req, 413, "M_TOO_LARGE",
                         "The request body is larger than the limit of %llu bytes (appservice.max_body_size)",
                         (unsigned long long)h->srv->max_body_size);
        return 0;
    }
    h->srv->handler(h->srv, req, h->srv->arg);
    return 0;
}

static void
http_error_ostream_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *inbufs, size_t inbufcnt,
                        h2o_send_state_t state)
{
    struct http_error_ostream *o = (struct http_error_ostream *)self;

    (void)inbufs;
    (void)inbufcnt;
    if (h2o_send_state_is_in_progress(state))
        h2o_ostream_send_next(&o->super, req, NULL, 0, state);
    else
        h2o_ostream_send_next(&o->super, req, &o->body, 1, state);
}

/* Rewrites an error h2o generated into a Matrix JSON error. */
static void
http_error_filter_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    struct http_error_filter *f = (struct http_error_filter *)self;
    struct http_error_ostream *o;
    char buf[256];
    int n;

    if (req->res.status == 413) {
        metrics_error(METRICS_ERR_TOO_LARGE);
        n = snprintf(buf, sizeof(buf),
                     "{\"errcode\":\"M_TOO_LARGE\",\"error\":\"The request body is much larger than the limit of "
                     "%llu bytes (appservice.max_body_size)\"}",
                     (unsigned long long)f->srv->max_body_size);
    } else {
        n = snprintf(buf, sizeof(buf), "{\"errcode\":\"M_UNKNOWN\",\"error\":\"%s\"}",
                     req->res.status == 400 ? "Malformed HTTP request" : "The request could not be handled");
    }
    log_info("%s: HTTP %d for %.*s (answered by the HTTP layer)", f->srv->name, req->res.status, (int)req->method.len,
             req->method.base);
    o = (struct http_error_ostream *)h2o_add_ostream(req, sizeof(*o), slot);
    o->super.do_send = http_error_ostream_send;
    o->body = h2o_strdup(&req->pool, buf, (size_t)n);
    req->res.content_length = o->body.len;
    h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, H2O_STRLIT("application/json"), 1);
    h2o_setup_next_ostream(req, &o->super.next);
}

struct http_server *
http_server_new(uv_loop_t *loop, const struct http_server_options *opt)
{
    struct http_server *srv = xcalloc(1, sizeof(*srv));
    h2o_hostconf_t *host;
    h2o_pathconf_t *path;
    struct http_handler *h;
    struct http_error_filter *f;

    srv->loop = loop;
    srv->name = xstrdup(opt->name);
    srv->max_body_size = opt->max_body_size;
    srv->handler = opt->handler;
    srv->arg = opt->arg;
    srv->port = -1;

    h2o_config_init(&srv->config);
    srv->config.server_name = h2o_iovec_init(H2O_STRLIT("warroom"));
    /* Bodies over the limit but under this cap are read and refused with a
     * 413 on a connection that stays open; h2o refuses bigger ones from
     * their headers and closes the connection, and closing a socket with
     * unread data makes the kernel reset it, so the client may never see
     * the 413. */
    srv->config.max_request_entity_size = (size_t)(opt->max_body_size * 4 > HTTP_SERVER_HARD_CAP
                                                       ? opt->max_body_size * 4
                                                       : HTTP_SERVER_HARD_CAP);
    srv->config.http1.upgrade_to_http2 = 0;
    host = h2o_config_register_host(&srv->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    path = h2o_config_register_path(host, "/", 0);
    h = (struct http_handler *)h2o_create_handler(path, sizeof(*h));
    h->super.on_req = http_server_on_req;
    h->srv = srv;
    f = (struct http_error_filter *)h2o_create_filter(&host->fallback_path, sizeof(*f));
    f->super.on_setup_ostream = http_error_filter_setup;
    f->srv = srv;

    h2o_context_init(&srv->ctx, loop, &srv->config);
    srv->accept_ctx.ctx = &srv->ctx;
    srv->accept_ctx.hosts = srv->config.hosts;
    if (uv_timer_init(loop, &srv->done_timer) != 0)
        abort();
    srv->done_timer.data = srv;
    return srv;
}

/* Unlinks a closed connection and frees it; its last callback. */
static void
http_server_on_conn_close(uv_handle_t *handle)
{
    struct http_conn *c = (struct http_conn *)handle;
    struct http_server *srv = c->srv;

    *c->pprev = c->next;
    if (c->next != NULL)
        c->next->pprev = c->pprev;
    srv->nconns--;
    free(c);
    http_server_check_done(srv);
}

static void
http_server_on_accept(uv_stream_t *listener, int status)
{
    struct http_listener *l = (struct http_listener *)listener;
    struct http_server *srv = l->srv;
    struct http_conn *c;
    h2o_socket_t *sock;
    int r;

    if (status != 0) {
        log_warn("%s: accept failed: %s", srv->name, uv_strerror(status));
        return;
    }
    c = xcalloc(1, sizeof(*c));
    c->srv = srv;
    if ((r = uv_tcp_init(srv->loop, &c->tcp)) != 0) {
        log_warn("%s: cannot set up a connection: %s", srv->name, uv_strerror(r));
        free(c);
        return;
    }
    if ((r = uv_accept(listener, (uv_stream_t *)&c->tcp)) != 0) {
        log_warn("%s: accept failed: %s", srv->name, uv_strerror(r));
        uv_close((uv_handle_t *)&c->tcp, (uv_close_cb)free);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->next = srv->conns;
    if (c->next != NULL)
        c->next->pprev = &c->next;
    c->pprev = &srv->conns;
    srv->conns = c;
    srv->nconns++;
    sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, http_server_on_conn_close);
    h2o_accept(&srv->accept_ctx, sock);
}

/* Resolves host (a literal or a name such as localhost) for binding. */
static int
http_server_resolve(const char *host, int port, struct sockaddr_storage *ss, char **cause)
{
    struct addrinfo hints = {0}, *res = NULL;
    char portstr[16];
    int rc;

    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0 ||
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0)
        return 0;
    snprintf(portstr, sizeof(portstr), "%d", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    /* Start-up only, before the loop runs: a blocking lookup is fine. */
    if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0 || res == NULL) {
        *cause = xasprintf("cannot resolve the listen address %s: %s", host, gai_strerror(rc));
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

int
http_server_listen(struct http_server *srv, const char *host, int port, char **cause)
{
    struct http_listener *l;
    struct sockaddr_storage ss;
    struct sockaddr_storage bound;
    int r, len = sizeof(bound);

    if (http_server_resolve(host, port, &ss, cause) != 0)
        return -1;
    l = xcalloc(1, sizeof(*l));
    l->srv = srv;
    if ((r = uv_tcp_init(srv->loop, &l->tcp)) != 0) {
        free(l);
        *cause = xasprintf("cannot listen on %s:%d: %s", host, port, uv_strerror(r));
        return -1;
    }
    if ((r = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss, 0)) != 0 ||
        (r = uv_listen((uv_stream_t *)&l->tcp, 511, http_server_on_accept)) != 0) {
        uv_close((uv_handle_t *)&l->tcp, (uv_close_cb)free);
        *cause = xasprintf("cannot listen on %s:%d: %s", host, port, uv_strerror(r));
        return -1;
    }
    if (uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&bound, &len) == 0)
        srv->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                      : ((struct sockaddr_in *)&bound)->sin_port);
    l->next = srv->listeners;
    srv->listeners = l;
    srv->nlisteners++;
    log_info("%s: listening on %s:%d", srv->name, host, srv->port);
    return 0;
}

int
http_server_port(const struct http_server *srv)
{
    return srv->port;
}

/* Clears the watch when req's pool is released, i.e. the request is gone. */
static void
http_deferred_on_req_gone(void *p)
{
    struct http_deferred **watch = p;

    if (*watch != NULL)
        (*watch)->req = NULL;
}

struct http_deferred *
http_server_defer(struct http_server *srv, h2o_req_t *req)
{
    struct http_deferred *d = xcalloc(1, sizeof(*d));

    d->srv = srv;
    d->req = req;
    d->watch = h2o_mem_alloc_shared(&req->pool, sizeof(*d->watch), http_deferred_on_req_gone);
    *d->watch = d;
    srv->ndeferred++;
    return d;
}

h2o_req_t *
http_deferred_req(struct http_deferred *d)
{
    return d->req;
}

void
http_deferred_finish(struct http_deferred *d)
{
    struct http_server *srv;

    if (d == NULL)
        return;
    srv = d->srv;
    /* If the request is still alive its pool still holds the watch. */
    if (d->req != NULL)
        *d->watch = NULL;
    srv->ndeferred--;
    free(d);
    http_server_check_done(srv);
}

static void
http_server_on_done_timer(uv_timer_t *t)
{
    struct http_server *srv = t->data;
    void (*done)(void *) = srv->done;

    if (!srv->shutting_down || done == NULL || srv->nlisteners > 0 || srv->nconns > 0 || srv->ndeferred > 0)
        return;
    srv->done = NULL;
    log_info("%s: every connection is closed", srv->name);
    done(srv->done_arg);
}

/* Schedules a check of whether the shutdown is complete. */
static void
http_server_check_done(struct http_server *srv)
{
    if (srv->shutting_down)
        uv_timer_start(&srv->done_timer, http_server_on_done_timer, 0, 0);
}

static void
http_server_on_listener_close(uv_handle_t *handle)
{
    struct http_listener *l = (struct http_listener *)handle;
    struct http_server *srv = l->srv;

    srv->nlisteners--;
    free(l);
    http_server_check_done(srv);
}

void
http_server_shutdown(struct http_server *srv, void (*done)(void *arg), void *arg)
{
    struct http_listener *l, *next;

    srv->shutting_down = 1;
    srv->done = done;
    srv->done_arg = arg;
    for (l = srv->listeners; l != NULL; l = next) {
        next = l->next;
        uv_close((uv_handle_t *)&l->tcp, http_server_on_listener_close);
    }
    srv->listeners = NULL;
    for (struct http_conn *c = srv->conns; c != NULL; c = c->next) {
        uv_os_fd_t fd;

        if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
            shutdown(fd, SHUT_RD);
    }
    log_info("%s: stopped accepting; %u connection(s), %u request(s) in flight", srv->name, srv->nconns,
             srv->ndeferred);
    http_server_check_done(srv);
}

unsigned
http_server_connections(const struct http_server *srv)
{
    return srv->nconns;
}

unsigned
http_server_deferred(const struct http_server *srv)
{
    return srv->ndeferred;
}

/* Frees the server: the last close callback of its own handles. */
static void
http_server_on_timer_close(uv_handle_t *handle)
{
    struct http_server *srv = handle->data;

    free(srv->name);
    free(srv);
}

void
http_server_free(struct http_server *srv)
{
    struct http_listener *l, *next;

    if (srv == NULL)
        return;
    /* Listeners left open by a start-up failure; the struct starts with
     * the handle, so free is the right close callback. */
    for (l = srv->listeners; l != NULL; l = next) {
        next = l->next;
        uv_close((uv_handle_t *)&l->tcp, (uv_close_cb)free);
    }
    srv->listeners = NULL;
    h2o_context_dispose(&srv->ctx);
    h2o_config_dispose(&srv->config);
    if (srv->nconns > 0) {
        /* Only a forced stop gets here: h2o still owns those connections
         * and their close callbacks point at srv, so srv must outlive
         * them; the process is about to exit. */
        log_warn("%s: %u connection(s) still open at exit", srv->name, srv->nconns);
        return;
    }
    uv_close((uv_handle_t *)&srv->done_timer, http_server_on_timer_close);
}
