/*
 * The scripted HTTP server for unit tests; see test_http_server.h.
 *
 * h2o parses the requests and writes the responses; this file keeps the
 * scripts and the record.  h2o stops reading a connection while its
 * request is being handled, so a delayed response keeps its h2o_req_t
 * valid until it is sent; test_http_server_close() sends the delayed ones
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
#include "tests/unit/test_http_server.h"

/* A queued response. */
struct test_http_server_script {
    char *path; /* NULL: any */
    int status;
    char *headers;
    char *body;
    uint64_t delay_ms;
    struct test_http_server_script *next;
};

/* A response waiting for its delay; the timer comes first so that the
 * close callback can free the whole. */
struct test_http_server_pending {
    uv_timer_t timer;
    struct test_http_server *srv;
    h2o_req_t *req;
    struct test_http_server_script *script;
    struct test_http_server_pending *next, *prev;
};

/* An accepted connection; the uv_tcp_t comes first, as for the pending. */
struct test_http_server_conn {
    uv_tcp_t tcp;
    struct test_http_server *srv;
};

/* h2o's handler, extended with the server it belongs to. */
struct test_http_server_handler {
    h2o_handler_t super;
    struct test_http_server *srv;
};

struct test_http_server {
    uv_loop_t *loop;
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    uv_tcp_t listener;
    int listening;       /* the listener is open (uv_close not yet called) */
    int listener_closed; /* its close callback has run */
    int closed;          /* test_http_server_close() was called */
    char url[64];
    struct test_http_server_script *scripts, **scripts_tail;
    struct test_http_server_pending *pending;
    struct test_http_request *requests;
    unsigned nrequests, requests_cap;
    unsigned accepted, open;
};

/* Returns the reason phrase h2o sends for a status. */
static const char *
test_http_server_reason(int status)
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

static void
test_http_server_script_free(struct test_http_server_script *s)
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
test_http_server_respond(h2o_req_t *req, const struct test_http_server_script *s)
{
    const char *body = s != NULL && s->body != NULL ? s->body : (s != NULL ? "" : "{}");
    const char *line = s != NULL ? s->headers : NULL;
    int content_type = 0;

    req->res.status = s != NULL ? s->status : 200;
    req->res.reason = test_http_server_reason(req->res.status);
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
    req->res.content_length = strlen(body);
    h2o_send_inline(req, body, strlen(body));
}

static void
test_http_server_on_pending_close(uv_handle_t *handle)
{
    struct test_http_server_pending *p = (struct test_http_server_pending *)handle;

    test_http_server_script_free(p->script);
    free(p);
}

/* Sends a delayed response and forgets it. */
static void
test_http_server_pending_fire(struct test_http_server_pending *p)
{
    struct test_http_server *srv = p->srv;

    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        srv->pending = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    test_http_server_respond(p->req, p->script);
    uv_close((uv_handle_t *)&p->timer, test_http_server_on_pending_close);
}

static void
test_http_server_on_pending_timer(uv_timer_t *timer)
{
    test_http_server_pending_fire((struct test_http_server_pending *)timer);
}

/* Copies an h2o string (which may hold NUL bytes) into a NUL-terminated
 * allocation. */
static char *
test_http_server_dup(const char *base, size_t len)
{
    char *s = xmalloc(len + 1);

    if (len > 0)
        memcpy(s, base, len);
    s[len] = '\0';
    return s;
}

/* Records req. */
static void
test_http_server_record(struct test_http_server *srv, h2o_req_t *req)
{
    struct test_http_request *r;
    size_t path_len = req->path.len;

    if (srv->nrequests == srv->requests_cap) {
        srv->requests_cap = srv->requests_cap ? srv->requests_cap * 2 : 16;
        srv->requests = xreallocarray(srv->requests, srv->requests_cap, sizeof(*srv->requests));
    }
    r = &srv->requests[srv->nrequests++];
    memset(r, 0, sizeof(*r));
    r->method = test_http_server_dup(req->method.base, req->method.len);
    if (req->query_at != SIZE_MAX) {
        path_len = req->query_at;
        r->query = test_http_server_dup(req->path.base + req->query_at + 1, req->path.len - req->query_at - 1);
    }
    r->path = test_http_server_dup(req->path.base, path_len);
    r->nheaders = req->headers.size;
    r->header_names = xcalloc(r->nheaders + 1, sizeof(char *));
    r->header_values = xcalloc(r->nheaders + 1, sizeof(char *));
    for (size_t i = 0; i < req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];

        r->header_names[i] = test_http_server_dup(h->name->base, h->name->len);
        r->header_values[i] = test_http_server_dup(h->value.base, h->value.len);
    }
    r->body = test_http_server_dup(req->entity.base, req->entity.len);
    r->body_len = req->entity.base != NULL ? req->entity.len : 0;
    r->connection = req->conn->id;
    r->received_ms = uv_hrtime() / 1000000;
}

/* Takes the first script for the path of the request last recorded. */
static struct test_http_server_script *
test_http_server_take(struct test_http_server *srv, const char *path)
{
    struct test_http_server_script **pp, *s;

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

static int
test_http_server_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    struct test_http_server *srv = ((struct test_http_server_handler *)self)->srv;
    struct test_http_server_script *s;
    struct test_http_server_pending *p;

    test_http_server_record(srv, req);
    s = test_http_server_take(srv, srv->requests[srv->nrequests - 1].path);
    if (s == NULL || s->delay_ms == 0 || srv->closed) {
        test_http_server_respond(req, s);
        test_http_server_script_free(s);
        return 0;
    }
    p = xcalloc(1, sizeof(*p));
    p->srv = srv;
    p->req = req;
    p->script = s;
    if (uv_timer_init(srv->loop, &p->timer) != 0 ||
        uv_timer_start(&p->timer, test_http_server_on_pending_timer, s->delay_ms, 0) != 0)
        abort();
    p->next = srv->pending;
    if (p->next != NULL)
        p->next->prev = p;
    srv->pending = p;
    return 0;
}

static void
test_http_server_on_conn_close(uv_handle_t *handle)
{
    struct test_http_server_conn *c = (struct test_http_server_conn *)handle;

    c->srv->open--;
    free(c);
}

static void
test_http_server_on_accept_close(uv_handle_t *handle)
{
    free(handle);
}

static void
test_http_server_on_accept(uv_stream_t *listener, int status)
{
    struct test_http_server *srv = listener->data;
    struct test_http_server_conn *c;
    h2o_socket_t *sock;

    if (status != 0)
        return;
    c = xcalloc(1, sizeof(*c));
    c->srv = srv;
    if (uv_tcp_init(srv->loop, &c->tcp) != 0)
        abort();
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, test_http_server_on_accept_close);
        return;
    }
    srv->accepted++;
    srv->open++;
    sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, test_http_server_on_conn_close);
    h2o_accept(&srv->accept_ctx, sock);
}

static void
test_http_server_on_listener_close(uv_handle_t *handle)
{
    struct test_http_server *srv = handle->data;

    srv->listener_closed = 1;
}

struct test_http_server *
test_http_server_new(uv_loop_t *loop)
{
    struct test_http_server *srv = xcalloc(1, sizeof(*srv));
    struct test_http_server_handler *handler;
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
    handler = (struct test_http_server_handler *)h2o_create_handler(pathconf, sizeof(*handler));
    handler->super.on_req = test_http_server_on_req;
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
        (r = uv_listen((uv_stream_t *)&srv->listener, 512, test_http_server_on_accept)) != 0 ||
        (r = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len)) != 0) {
        printf("# test_http_server: cannot listen: %s\n", uv_strerror(r));
        test_http_server_free(srv);
        return NULL;
    }
    snprintf(srv->url, sizeof(srv->url), "http://127.0.0.1:%u", ntohs(((struct sockaddr_in *)&ss)->sin_port));
    return srv;
}

const char *
test_http_server_url(const struct test_http_server *srv)
{
    return srv->url;
}

void
test_http_server_script(struct test_http_server *srv, const char *path, int status, const char *headers,
                        const char *body, uint64_t delay_ms)
{
    struct test_http_server_script *s = xcalloc(1, sizeof(*s));

    s->path = path != NULL ? xstrdup(path) : NULL;
    s->status = status;
    s->headers = headers != NULL ? xstrdup(headers) : NULL;
    s->body = body != NULL ? xstrdup(body) : NULL;
    s->delay_ms = delay_ms;
    *srv->scripts_tail = s;
    srv->scripts_tail = &s->next;
}

unsigned
test_http_server_nrequests(const struct test_http_server *srv)
{
    return srv->nrequests;
}

const struct test_http_request *
test_http_server_request(const struct test_http_server *srv, unsigned i)
{
    return i < srv->nrequests ? &srv->requests[i] : NULL;
}

const char *
test_http_server_header(const struct test_http_request *req, const char *name)
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
test_http_server_accepted(const struct test_http_server *srv)
{
    return srv->accepted;
}

unsigned
test_http_server_open(const struct test_http_server *srv)
{
    return srv->open;
}

void
test_http_server_close(struct test_http_server *srv)
{
    srv->closed = 1;
    if (srv->listening) {
        srv->listening = 0;
        uv_close((uv_handle_t *)&srv->listener, test_http_server_on_listener_close);
    }
    while (srv->pending != NULL) {
        uv_timer_stop(&srv->pending->timer);
        test_http_server_pending_fire(srv->pending);
    }
}

/* For test_http_server_run_until(): the server may be freed. */
static int
test_http_server_is_idle(void *arg)
{
    struct test_http_server *srv = arg;

    return srv->open == 0 && srv->listener_closed;
}

void
test_http_server_free(struct test_http_server *srv)
{
    if (srv == NULL)
        return;
    test_http_server_close(srv);
    if (test_http_server_run_until(srv->loop, test_http_server_is_idle, srv, 5000) != 0) {
        /* Disposing of h2o with a connection open would leave it pointing
         * at freed memory: better to leak and say so. */
        printf("# test_http_server: %u connections still open, not freed\n", srv->open);
        return;
    }
    h2o_context_dispose(&srv->ctx);
    h2o_config_dispose(&srv->config);
    while (srv->scripts != NULL) {
        struct test_http_server_script *s = srv->scripts;

        srv->scripts = s->next;
        test_http_server_script_free(s);
    }
    for (unsigned i = 0; i < srv->nrequests; i++) {
        struct test_http_request *r = &srv->requests[i];

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

static void
test_http_server_on_deadline(uv_timer_t *timer)
{
    *(int *)timer->data = 1;
}

static void
test_http_server_on_deadline_close(uv_handle_t *handle)
{
    free(handle);
}

int
test_http_server_run_until(uv_loop_t *loop, int (*done)(void *arg), void *arg, uint64_t max_ms)
{
    uv_timer_t *deadline = xcalloc(1, sizeof(*deadline));
    int expired = 0;

    /* The deadline timer also keeps the loop from running out of handles
     * while the condition is not met. */
    if (uv_timer_init(loop, deadline) != 0)
        abort();
    deadline->data = &expired;
    if (uv_timer_start(deadline, test_http_server_on_deadline, max_ms, 0) != 0)
        abort();
    while (!done(arg) && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)deadline, test_http_server_on_deadline_close);
    return done(arg) ? 0 : -1;
}
