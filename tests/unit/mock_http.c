/*
 * The scripted HTTP server for unit tests; see mock_http.h.
 *
 * h2o parses the requests and writes the responses; this file keeps the
 * scripts and the record.  h2o stops reading a connection while its
 * request is being handled, so a delayed response keeps its h2o_req_t
 * valid until it is sent; mock_http_close() sends the delayed ones
 * at once, so that no connection is left waiting when the test ends.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "h2o.h"

#include "appservice/xmalloc.h"
#include "tests/unit/mock_http.h"

/* A queued response. */
struct mock_http_script {
    char *path; /* NULL: any */
    int status;
    char *headers;
    char *body;
    uint64_t delay_ms;
    struct mock_http_script *next;
};

/* A response waiting for its delay; the timer comes first so that the
 * close callback can free the whole. */
struct mock_http_pending {
    uv_timer_t timer;
    struct mock_http *srv;
    h2o_req_t *req;
    struct mock_http_script *script;
    struct mock_http_pending *next, *prev;
};

/* An accepted connection; the uv_tcp_t comes first, as for the pending. */
struct mock_http_conn {
    uv_tcp_t tcp;
    struct mock_http *srv;
};

/* h2o's handler, extended with the server it belongs to. */
struct mock_http_handler {
    h2o_handler_t super;
    struct mock_http *srv;
};

struct mock_http {
    uv_loop_t *loop;
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    uv_tcp_t listener;
    int listening;       /* the listener is open (uv_close not yet called) */
    int listener_closed; /* its close callback has run */
    int closed;          /* mock_http_close() was called */
    char url[64];
    struct mock_http_script *scripts, **scripts_tail;
    struct mock_http_pending *pending;
    struct mock_http_request *requests;
    unsigned nrequests, requests_cap;
    unsigned accepted, open;
};

/* Returns the reason phrase h2o sends for a status. */
static const char *
mock_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    default:
        return "Whatever";
    }
}

/* Frees a script.  NULL is a no-op. */
static void
mock_http_script_free(struct mock_http_script *s)
{
    if (s == NULL)
        return;
    free(s->path);
    free(s->headers);
    free(s->body);
    free(s);
}

/* Sends the response s to req (s NULL: 200 "{}"). */
static void
mock_http_respond(h2o_req_t *req, const struct mock_http_script *s)
{
    const char *body = s != NULL && s->body != NULL ? s->body : (s != NULL ? "" : "{}");
    const char *line = s != NULL ? s->headers : NULL;
    int content_type = 0, chunked = 0;

    req->res.status = s != NULL ? s->status : 200;
    req->res.reason = mock_http_reason(req->res.status);
    while (line != NULL && *line != '\0') {
        const char *end = strchr(line, '\n'), *colon, *value;
        size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
        char *name;

        colon = memchr(line, ':', len);
        if (colon != NULL) {
            name = h2o_mem_alloc_pool(&req->pool, (size_t)(colon - line) + 1);
            for (size_t i = 0; i < (size_t)(colon - line); i++)
                name[i] = (char)tolower((unsigned char)line[i]);
            name[colon - line] = '\0';
            for (value = colon + 1; value < line + len && *value == ' '; value++)
                ;
            if (strcmp(name, "connection") == 0 && strncmp(value, "close", 5) == 0) {
                req->http1_is_persistent = 0;
            } else if (strcmp(name, "transfer-encoding") == 0) {
                chunked = 1; /* h2o chunks a body of unknown length itself */
            } else {
                content_type |= strcmp(name, "content-type") == 0;
                h2o_add_header_by_str(&req->pool, &req->res.headers, name, (size_t)(colon - line), 1, NULL, value,
                                      (size_t)(line + len - value));
            }
        }
        line = end != NULL ? end + 1 : NULL;
    }
    if (!content_type)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    if (!chunked)
        req->res.content_length = strlen(body);
    h2o_send_inline(req, body, strlen(body));
}

/* Close callback of a delayed response's timer. */
static void
mock_http_on_pending_close(uv_handle_t *handle)
{
    struct mock_http_pending *p = (struct mock_http_pending *)handle;

    mock_http_script_free(p->script);
    free(p);
}

/* Sends a delayed response and forgets it. */
static void
mock_http_pending_fire(struct mock_http_pending *p)
{
    struct mock_http *srv = p->srv;

    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        srv->pending = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    mock_http_respond(p->req, p->script);
    uv_close((uv_handle_t *)&p->timer, mock_http_on_pending_close);
}

/* A delayed response is due. */
static void
mock_http_on_pending_timer(uv_timer_t *timer)
{
    mock_http_pending_fire((struct mock_http_pending *)timer);
}

/* Copies an h2o string (which may hold NUL bytes) into a NUL-terminated
 * allocation. */
static char *
mock_http_dup(const char *base, size_t len)
{
    char *s = xmalloc(len + 1);

    if (len > 0)
        memcpy(s, base, len);
    s[len] = '\0';
    return s;
}

/* Records req. */
static void
mock_http_record(struct mock_http *srv, h2o_req_t *req)
{
    struct mock_http_request *r;
    size_t path_len = req->path.len;

    if (srv->nrequests == srv->requests_cap) {
        srv->requests_cap = srv->requests_cap ? srv->requests_cap * 2 : 16;
        srv->requests = xreallocarray(srv->requests, srv->requests_cap, sizeof(*srv->requests));
    }
    r = &srv->requests[srv->nrequests++];
    memset(r, 0, sizeof(*r));
    r->method = mock_http_dup(req->method.base, req->method.len);
    if (req->query_at != SIZE_MAX) {
        path_len = req->query_at;
        r->query = mock_http_dup(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1);
    }
    r->path = mock_http_dup(req->path.base, path_len);
    r->nheaders = req->headers.size;
    r->header_names = xcalloc(r->nheaders + 1, sizeof(char *));
    r->header_values = xcalloc(r->nheaders + 1, sizeof(char *));
    for (size_t i = 0; i < req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];

        r->header_names[i] = mock_http_dup(h->name->base, h->name->len);
        r->header_values[i] = mock_http_dup(h->value.base, h->value.len);
    }
    r->body = mock_http_dup(req->entity.base, req->entity.len);
    r->body_len = req->entity.base != NULL ? req->entity.len : 0;
    r->connection = req->conn->id;
    r->received_ms = uv_hrtime() / 1000000;
}

/* Takes the first script for the path of the request last recorded. */
static struct mock_http_script *
mock_http_take(struct mock_http *srv, const char *path)
{
    struct mock_http_script **pp, *s;

    for (pp = &srv->scripts; (s = *pp) != NULL; pp = &s->next) {
        if (s->path == NULL || strcmp(s->path, path) == 0)
            break;
    }
    if (s == NULL)
        return NULL;
    *pp = s->next;
    if (srv->scripts_tail == &s->next)
        srv->scripts_tail = pp;
    s->next = NULL;
    return s;
}

/* h2o's handler: records the request and answers it, now or later. */
static int
mock_http_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct mock_http *srv = ((struct mock_http_handler *)self)->srv;
    struct mock_http_script *s;
    struct mock_http_pending *p;

    mock_http_record(srv, req);
    s = mock_http_take(srv, srv->requests[srv->nrequests - 1].path);
    if (s == NULL || s->delay_ms == 0 || srv->closed) {
        mock_http_respond(req, s);
        mock_http_script_free(s);
        return 0;
    }
    p = xcalloc(1, sizeof(*p));
    p->srv = srv;
    p->req = req;
    p->script = s;
    if (uv_timer_init(srv->loop, &p->timer) != 0 ||
        uv_timer_start(&p->timer, mock_http_on_pending_timer, s->delay_ms, 0) != 0)
        abort();
    p->next = srv->pending;
    if (p->next != NULL)
        p->next->prev = p;
    srv->pending = p;
    return 0;
}

/* Close callback of an accepted connection (h2o closes it). */
static void
mock_http_on_conn_close(uv_handle_t *handle)
{
    struct mock_http_conn *c = (struct mock_http_conn *)handle;

    c->srv->open--;
    free(c);
}

/* Close callback of a connection that could not be accepted. */
static void
mock_http_on_accept_close(uv_handle_t *handle)
{
    free(handle);
}

/* A client connects: hand the connection to h2o. */
static void
mock_http_on_accept(uv_stream_t *listener, int status)
{
    struct mock_http *srv = listener->data;
    struct mock_http_conn *c;
    h2o_socket_t *sock;

    if (status != 0)
        return;
    c = xcalloc(1, sizeof(*c));
    c->srv = srv;
    if (uv_tcp_init(srv->loop, &c->tcp) != 0)
        abort();
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, mock_http_on_accept_close);
        return;
    }
    srv->accepted++;
    srv->open++;
    sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, mock_http_on_conn_close);
    h2o_accept(&srv->accept_ctx, sock);
}

/* Close callback of the listener. */
static void
mock_http_on_listener_close(uv_handle_t *handle)
{
    struct mock_http *srv = handle->data;

    srv->listener_closed = 1;
}

struct mock_http *
mock_http_new(uv_loop_t *loop)
{
    struct mock_http *srv = xcalloc(1, sizeof(*srv));
    struct mock_http_handler *handler;
    h2o_hostconf_t *hostconf;
    h2o_pathconf_t *pathconf;
    struct sockaddr_storage ss;
    struct sockaddr_in addr;
    int len = sizeof(ss), r;

    /* A client that gave up leaves h2o writing to a closed socket. */
    signal(SIGPIPE, SIG_IGN);
    srv->loop = loop;
    srv->scripts_tail = &srv->scripts;
    h2o_config_init(&srv->config);
    hostconf = h2o_config_register_host(&srv->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    pathconf = h2o_config_register_path(hostconf, "/", 0);
    h2o_chunked_register(pathconf);
    handler = (struct mock_http_handler *)h2o_create_handler(pathconf, sizeof(*handler));
    handler->super.on_req = mock_http_on_req;
    handler->srv = srv;
    h2o_context_init(&srv->ctx, loop, &srv->config);
    srv->accept_ctx.ctx = &srv->ctx;
    srv->accept_ctx.hosts = srv->config.hosts;

    if ((r = uv_tcp_init(loop, &srv->listener)) != 0)
        abort();
    srv->listener.data = srv;
    srv->listening = 1;
    if ((r = uv_ip4_addr("127.0.0.1", 0, &addr)) != 0 ||
        (r = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&addr, 0)) != 0 ||
        (r = uv_listen((uv_stream_t *)&srv->listener, 512, mock_http_on_accept)) != 0 ||
        (r = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len)) != 0) {
        printf("# mock_http: cannot listen: %s\n", uv_strerror(r));
        mock_http_free(srv);
        return NULL;
    }
    snprintf(srv->url, sizeof(srv->url), "http://127.0.0.1:%u", ntohs(((struct sockaddr_in *)&ss)->sin_port));
    return srv;
}

const char *
mock_http_url(const struct mock_http *srv)
{
    return srv->url;
}

void
mock_http_script(struct mock_http *srv, const char *path, int status, const char *headers, const char *body,
                 uint64_t delay_ms)
{
    struct mock_http_script *s = xcalloc(1, sizeof(*s));

    s->path = path != NULL ? xstrdup(path) : NULL;
    s->status = status;
    s->headers = headers != NULL ? xstrdup(headers) : NULL;
    s->body = body != NULL ? xstrdup(body) : NULL;
    s->delay_ms = delay_ms;
    *srv->scripts_tail = s;
    srv->scripts_tail = &s->next;
}

unsigned
mock_http_nreceived(const struct mock_http *srv)
{
    return srv->nrequests;
}

const struct mock_http_request *
mock_http_received(const struct mock_http *srv, unsigned i)
{
    return i < srv->nrequests ? &srv->requests[i] : NULL;
}

const char *
mock_http_header(const struct mock_http_request *req, const char *name)
{
    if (req == NULL)
        return NULL;
    for (size_t i = 0; i < req->nheaders; i++) {
        if (strcasecmp(req->header_names[i], name) == 0)
            return req->header_values[i];
    }
    return NULL;
}

unsigned
mock_http_accepted(const struct mock_http *srv)
{
    return srv->accepted;
}

unsigned
mock_http_open(const struct mock_http *srv)
{
    return srv->open;
}

void
mock_http_close(struct mock_http *srv)
{
    srv->closed = 1;
    if (srv->listening) {
        srv->listening = 0;
        uv_close((uv_handle_t *)&srv->listener, mock_http_on_listener_close);
    }
    while (srv->pending != NULL) {
        uv_timer_stop(&srv->pending->timer);
        mock_http_pending_fire(srv->pending);
    }
}

/* For mock_http_run_until(): the server may be freed. */
static int
mock_http_is_idle(void *arg)
{
    struct mock_http *srv = arg;

    return srv->open == 0 && srv->listener_closed;
}

void
mock_http_free(struct mock_http *srv)
{
    if (srv == NULL)
        return;
    mock_http_close(srv);
    if (mock_http_run_until(srv->loop, mock_http_is_idle, srv, 5000) != 0) {
        /* Disposing of h2o with a connection open would leave it pointing
         * at freed memory: better to leak and say so. */
        printf("# mock_http: %u connections still open, not freed\n", srv->open);
        return;
    }
    h2o_context_dispose(&srv->ctx);
    h2o_config_dispose(&srv->config);
    while (srv->scripts != NULL) {
        struct mock_http_script *s = srv->scripts;

        srv->scripts = s->next;
        mock_http_script_free(s);
    }
    for (unsigned i = 0; i < srv->nrequests; i++) {
        struct mock_http_request *r = &srv->requests[i];

        for (size_t j = 0; j < r->nheaders; j++) {
            free(r->header_names[j]);
            free(r->header_values[j]);
        }
        free(r->header_names);
        free(r->header_values);
        free(r->method);
        free(r->path);
        free(r->query);
        free(r->body);
    }
    free(srv->requests);
    free(srv);
}

/* The deadline of mock_http_run_until() has passed. */
static void
mock_http_on_deadline(uv_timer_t *timer)
{
    *(int *)timer->data = 1;
}

/* Close callback of that deadline's timer. */
static void
mock_http_on_deadline_close(uv_handle_t *handle)
{
    free(handle);
}

int
mock_http_run_until(uv_loop_t *loop, int (*done)(void *arg), void *arg, uint64_t max_ms)
{
    uv_timer_t *deadline = xcalloc(1, sizeof(*deadline));
    int expired = 0;

    /* The deadline timer also keeps the loop from running out of handles
     * while the condition is not met. */
    if (uv_timer_init(loop, deadline) != 0)
        abort();
    deadline->data = &expired;
    if (uv_timer_start(deadline, mock_http_on_deadline, max_ms, 0) != 0)
        abort();
    while (!done(arg) && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)deadline, mock_http_on_deadline_close);
    return done(arg) ? 0 : -1;
}
