/*
 * tool_http on a real loop, against warroom's own HTTP server (h2o) on the
 * same loop with a scripted handler: requests with headers and bodies,
 * JSON and other bodies, statuses and Retry-After, timeouts, size limits,
 * network failures, the SSRF guard (on the first connection, on redirects,
 * for names, and on connections curl reuses), redirects that must not
 * carry API keys to another origin, cancelling, freeing, many requests at
 * once; then the address-range table and CIDR parsing.  Every test ends
 * with uv_loop_close() == 0.
 */
#include "autoconfig.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "appservice/curl_uv.h"
#include "appservice/http/http_reply.h"
#include "appservice/http/http_request.h"
#include "appservice/http/http_server.h"
#include "appservice/log.h"
#include "appservice/net_ranges.h"
#include "appservice/tool_http.h"
#include "appservice/xmalloc.h"
#include "tests/tap.h"

#define BIG_LEN 100000
#define WAIT_MS 10000

struct env;

/* A request the server answers late (/slow). */
struct slow {
    uv_timer_t timer; /* first: the close callback frees the struct */
    struct http_deferred *d;
    struct slow *next;
};

/* One scripted server and what it saw. */
struct srv {
    struct env *env;
    struct http_server *http;
    int port;
    unsigned requests;
    char last_path[256];
    char redirect_to[512]; /* Location for /redirect, /redirect303, /redirect307 */
};

struct env {
    uv_loop_t loop;
    struct curl_uv *cu;
    struct tool_http *th;
    struct srv a, b;
    struct slow *slows;
    uv_timer_t watchdog;
    int expired;
    unsigned finished; /* callbacks run */
    unsigned shut;     /* servers shut down */
};

/* What a callback saw, copied out of the borrowed response. */
struct result {
    struct env *env;
    int called;
    enum tool_http_failure failure;
    long status;
    char *body;
    size_t len;
    struct json_object *json;
    char *content_type;
    int64_t retry_after_ms;
    char *error;
    double seconds;
};

static char big[BIG_LEN];

/* Adds a string member to the echo object. */
static void
echo_add(struct json_object *o, const char *key, const char *value, size_t len)
{
    json_object_object_add(o, key,
                           json_object_new_string_len(value != NULL ? value : "", value != NULL ? (int)len : 0));
}

/* The value of a request header as a JSON member ("" if absent). */
static void
echo_header(struct json_object *o, const char *key, h2o_req_t *req, const char *name)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, strlen(name), -1);

    if (i < 0)
        echo_add(o, key, "", 0);
    else
        echo_add(o, key, req->headers.entries[i].value.base, req->headers.entries[i].value.len);
}

/* Frees a /slow record once its timer has closed. */
static void
slow_on_close(uv_handle_t *h)
{
    free(h);
}

/* Answers a /slow request (if its client is still there). */
static void
slow_answer(struct slow *s)
{
    h2o_req_t *req = http_deferred_req(s->d);

    if (req != NULL)
        http_reply_text(req, 200, "text/plain", "late", 4);
    http_deferred_finish(s->d);
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, slow_on_close);
}

/* Answers a /slow request when its time has come. */
static void
slow_on_timer(uv_timer_t *t)
{
    struct slow *s = t->data;
    struct env *env = s->timer.loop->data;

    for (struct slow **p = &env->slows; *p != NULL; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
    slow_answer(s);
}

/* Sends a 429 with the given Retry-After value. */
static void
reply_429(h2o_req_t *req, const char *retry_after)
{
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, retry_after, strlen(retry_after));
    http_reply_json_text(req, 429, "{\"error\":\"slow down\"}");
}

/* An HTTP-date offset seconds from now. */
static void
http_date(char *buf, size_t size, long offset)
{
    time_t t = time(NULL) + offset;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, size, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Sends a redirect with the given status to location. */
static void
reply_redirect(h2o_req_t *req, int status, const char *location)
{
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_LOCATION, NULL, location, strlen(location));
    http_reply_text(req, status, "text/plain", "moved", 5);
}

/* The scripted handler of both servers. */
static void
srv_handler(struct http_server *http, h2o_req_t *req, void *arg)
{
    struct srv *srv = arg;
    const char *path = http_request_path_only(req);
    char date[64];

    (void)http;
    srv->requests++;
    snprintf(srv->last_path, sizeof(srv->last_path), "%s", path);
    if (strcmp(path, "/echo") == 0) {
        struct json_object *o = json_object_new_object();
        const char *method = http_request_method(req);

        echo_add(o, "method", method, strlen(method));
        echo_add(o, "body", req->entity.base, req->entity.len);
        echo_header(o, "key", req, "x-test-key");
        echo_header(o, "ua", req, "user-agent");
        echo_header(o, "ctype", req, "content-type");
        http_reply_json(req, 200, o);
        json_object_put(o);
    } else if (strcmp(path, "/text") == 0) {
        http_reply_text(req, 200, "text/plain", "plain words, not JSON", 21);
    } else if (strcmp(path, "/trailing") == 0) {
        http_reply_json_text(req, 200, "{\"a\":1} and more");
    } else if (strcmp(path, "/scalar") == 0) {
        http_reply_json_text(req, 200, "42\n");
    } else if (strcmp(path, "/status/401") == 0) {
        http_reply_json_text(req, 401, "{\"error\":\"bad key\"}");
    } else if (strcmp(path, "/status/500") == 0) {
        http_reply_text(req, 500, "text/html", "<h1>oops</h1>", 13);
    } else if (strcmp(path, "/429s") == 0) {
        reply_429(req, "7");
    } else if (strcmp(path, "/429d") == 0) {
        http_date(date, sizeof(date), 120);
        reply_429(req, date);
    } else if (strcmp(path, "/429past") == 0) {
        http_date(date, sizeof(date), -3600);
        reply_429(req, date);
    } else if (strcmp(path, "/slow") == 0) {
        struct slow *s = xcalloc(1, sizeof(*s));

        s->d = http_server_defer(http, req);
        uv_timer_init(&srv->env->loop, &s->timer);
        s->timer.data = s;
        uv_timer_start(&s->timer, slow_on_timer, 1500, 0);
        s->next = srv->env->slows;
        srv->env->slows = s;
    } else if (strcmp(path, "/big") == 0) {
        http_reply_text(req, 200, "text/plain", big, sizeof(big));
    } else if (strcmp(path, "/bigchunked") == 0) {
        static h2o_generator_t generator = {NULL, NULL};
        h2o_iovec_t buf = h2o_iovec_init(big, sizeof(big));

        /* No content length: HTTP/1.1 chunked, so only the body counts. */
        req->res.status = 200;
        req->res.reason = "OK";
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/plain"));
        h2o_start_response(req, &generator);
        h2o_send(req, &buf, 1, H2O_SEND_STATE_FINAL);
    } else if (strcmp(path, "/redirect") == 0) {
        reply_redirect(req, 302, srv->redirect_to);
    } else if (strcmp(path, "/redirect303") == 0) {
        reply_redirect(req, 303, srv->redirect_to);
    } else if (strcmp(path, "/redirect307") == 0) {
        reply_redirect(req, 307, srv->redirect_to);
    } else if (strcmp(path, "/loop") == 0) {
        reply_redirect(req, 302, "/loop");
    } else {
        http_reply_json_text(req, 404, "{\"error\":\"no such path\"}");
    }
}

/* Ends a wait: the time given to it has passed. */
static void
env_on_watchdog(uv_timer_t *t)
{
    struct env *env = t->data;

    env->expired = 1;
}

/* Runs the loop until *counter reaches want, or WAIT_MS pass.  Returns 1
 * if the counter got there. */
static int
env_run_until(struct env *env, const unsigned *counter, unsigned want)
{
    env->expired = 0;
    uv_timer_start(&env->watchdog, env_on_watchdog, WAIT_MS, 0);
    while (*counter < want && !env->expired)
        uv_run(&env->loop, UV_RUN_ONCE);
    uv_timer_stop(&env->watchdog);
    return *counter >= want;
}

/* Runs the loop for ms milliseconds. */
static void
env_run_for(struct env *env, uint64_t ms)
{
    env->expired = 0;
    uv_timer_start(&env->watchdog, env_on_watchdog, ms, 0);
    while (!env->expired)
        uv_run(&env->loop, UV_RUN_ONCE);
}

/* Starts a scripted server on 127.0.0.1. */
static void
srv_start(struct env *env, struct srv *srv)
{
    struct http_server_options opt = {.name = "test", .max_body_size = 1 << 20, .handler = srv_handler, .arg = srv};
    char *cause = NULL;

    srv->env = env;
    srv->http = http_server_new(&env->loop, &opt);
    if (http_server_listen(srv->http, "127.0.0.1", 0, &cause) != 0) {
        printf("Bail out! cannot listen: %s\n", cause);
        exit(1);
    }
    srv->port = http_server_port(srv->http);
}

/* Sets up a loop, curl, two servers and a client allowing the n networks. */
static void
env_init(struct env *env, const char *const *allow, size_t n)
{
    struct tool_http_allow a = {allow, n};
    char *cause = NULL;

    memset(env, 0, sizeof(*env));
    if (uv_loop_init(&env->loop) != 0)
        abort();
    env->loop.data = env;
    uv_timer_init(&env->loop, &env->watchdog);
    env->watchdog.data = env;
    env->cu = curl_uv_new(&env->loop);
    srv_start(env, &env->a);
    srv_start(env, &env->b);
    if (tool_http_new(env->cu, &a, &env->th, &cause) != 0) {
        printf("Bail out! tool_http_new: %s\n", cause);
        exit(1);
    }
}

/* Counts a server whose shutdown is complete. */
static void
env_on_shut(void *arg)
{
    struct env *env = arg;

    env->shut++;
}

/* Frees everything and checks that the loop closes. */
static void
env_done(struct env *env, const char *name)
{
    tool_http_free(env->th);
    curl_uv_close(env->cu);
    while (env->slows != NULL) {
        struct slow *s = env->slows;

        env->slows = s->next;
        slow_answer(s);
    }
    http_server_shutdown(env->a.http, env_on_shut, env);
    http_server_shutdown(env->b.http, env_on_shut, env);
    ok(env_run_until(env, &env->shut, 2), "%s: both servers shut down", name);
    http_server_free(env->a.http);
    http_server_free(env->b.http);
    uv_close((uv_handle_t *)&env->watchdog, NULL);
    uv_run(&env->loop, UV_RUN_DEFAULT);
    is_int(uv_loop_close(&env->loop), 0, "%s: uv_loop_close() == 0", name);
}

/* The usual callback: copies the response into a struct result. */
static void
on_result(const struct tool_http_response *res, void *arg)
{
    struct result *r = arg;

    r->called++;
    r->failure = res->failure;
    r->status = res->status;
    r->body = res->body != NULL ? xstrndup(res->body, res->len) : NULL;
    r->len = res->len;
    r->json = json_object_get(res->json);
    r->content_type = res->content_type != NULL ? xstrdup(res->content_type) : NULL;
    r->retry_after_ms = res->retry_after_ms;
    r->error = res->error != NULL ? xstrdup(res->error) : NULL;
    r->seconds = res->seconds;
    r->env->finished++;
}

/* Frees what a result holds and zeroes it. */
static void
result_clear(struct result *r)
{
    free(r->body);
    json_object_put(r->json);
    free(r->content_type);
    free(r->error);
    memset(r, 0, sizeof(*r));
}

/* A string member of the result's JSON, or NULL. */
static const char *
result_get(const struct result *r, const char *key)
{
    struct json_object *v;

    if (r->json == NULL || !json_object_object_get_ex(r->json, key, &v))
        return NULL;
    return json_object_get_string(v);
}

/* Makes a request with th and waits for its callback; checks that the
 * callback did not run inside tool_http_request(). */
static void
run_request(struct env *env, struct tool_http *th, const struct tool_http_request *req, struct result *r)
{
    unsigned before = env->finished;

    result_clear(r);
    r->env = env;
    tool_http_request(th, req, on_result, r);
    if (r->called != 0)
        printf("# the callback ran inside tool_http_request()\n");
    env_run_until(env, &env->finished, before + 1);
}

/* A GET of url with the default options. */
static void
get(struct env *env, const char *url, struct result *r)
{
    struct tool_http_request req = {.url = url};

    run_request(env, env->th, &req, r);
}

/* The URL of path on server a; returns allocated. */
static char *
url_a(struct env *env, const char *path)
{
    return xasprintf("http://127.0.0.1:%d%s", env->a.port, path);
}

static const char *const allow_loopback[] = {"127.0.0.1/32"};

/* GET, POST, PUT, DELETE and HEAD, with headers and bodies; malformed requests never leave. */
static void
test_methods(void)
{
    struct env env;
    struct result r = {0};
    char *url;
    const char *headers[] = {"X-Test-Key: secret-123", "Accept: application/json", NULL};
    const char *json_headers[] = {"Content-Type: application/json", NULL};
    const char *body = "{\"q\":\"8.8.8.8\"}";
    struct tool_http_request req = {0};
    struct tool_http_call *call;

    env_init(&env, allow_loopback, 1);
    url = url_a(&env, "/echo");

    req.url = url;
    req.headers = headers;
    result_clear(&r);
    r.env = &env;
    call = tool_http_request(env.th, &req, on_result, &r);
    ok(call != NULL && r.called == 0, "GET: the callback does not run inside tool_http_request()");
    ok(env_run_until(&env, &env.finished, 1), "GET: the callback runs from the loop");
    is_int(r.called, 1, "GET: exactly once");
    is_int(r.failure, TOOL_HTTP_OK, "GET: TOOL_HTTP_OK");
    is_int(r.status, 200, "GET: 200");
    ok(r.json != NULL, "GET: the JSON body is parsed");
    is_str(result_get(&r, "method"), "GET", "GET: the server saw GET");
    is_str(result_get(&r, "key"), "secret-123", "GET: the request's header reached the server");
    is_str(result_get(&r, "ua"), "warroom/" PACKAGE_VERSION, "GET: the user agent is warroom/<version>");
    is_str(r.content_type, "application/json", "GET: the content type is reported");
    is_int(r.retry_after_ms, -1, "GET: no Retry-After: -1");
    ok(r.seconds > 0 && r.seconds < 5, "GET: seconds is measured (%.4f)", r.seconds);
    is_str(r.error, NULL, "GET: no error");

    req.method = "POST";
    req.headers = json_headers;
    req.body = body;
    req.body_len = strlen(body);
    run_request(&env, env.th, &req, &r);
    is_int(r.status, 200, "POST: 200");
    is_str(result_get(&r, "method"), "POST", "POST: the server saw POST");
    is_str(result_get(&r, "body"), body, "POST: the body arrived whole");
    is_str(result_get(&r, "ctype"), "application/json", "POST: with the caller's Content-Type");

    req.method = "PUT";
    req.body = "a\0b";
    req.body_len = 3;
    run_request(&env, env.th, &req, &r);
    is_str(result_get(&r, "method"), "PUT", "PUT: the server saw PUT");
    ok(result_get(&r, "body") != NULL && json_object_get_string_len(json_object_object_get(r.json, "body")) == 3,
       "PUT: a body with a NUL byte is sent by length");

    memset(&req, 0, sizeof(req));
    req.url = url;
    req.method = "DELETE";
    run_request(&env, env.th, &req, &r);
    is_str(result_get(&r, "method"), "DELETE", "DELETE: the server saw DELETE");
    is_str(result_get(&r, "body"), "", "DELETE: without a body");

    req.method = "HEAD";
    run_request(&env, env.th, &req, &r);
    ok(r.failure == TOOL_HTTP_OK && r.status == 200 && r.len == 0, "HEAD: 200 and no body");

    req.method = "GET\r\nX-Evil: 1";
    run_request(&env, env.th, &req, &r);
    ok(r.failure == TOOL_HTTP_NETWORK && r.error != NULL && strstr(r.error, "method") != NULL,
       "a method with a line break is refused before sending (%s)", r.error);
    req.method = NULL;
    {
        const char *bad[] = {"X-Test-Key: a\r\nX-Other: b", NULL};

        req.headers = bad;
        run_request(&env, env.th, &req, &r);
        ok(r.failure == TOOL_HTTP_NETWORK && r.error != NULL && strstr(r.error, "line break") != NULL &&
               strstr(r.error, "X-Other") == NULL,
           "a header line with a line break is refused, and not quoted (%s)", r.error);
    }
    is_int(env.a.requests, 5, "the server saw the five valid requests and none of the invalid ones");

    result_clear(&r);
    free(url);
    env_done(&env, "methods");
}

/* Bodies that are JSON, are not, or almost are. */
static void
test_bodies(void)
{
    struct env env;
    struct result r = {0};
    char *url;

    env_init(&env, allow_loopback, 1);
    url = url_a(&env, "/text");
    get(&env, url, &r);
    free(url);
    is_int(r.status, 200, "text: 200");
    ok(r.json == NULL, "text: a body that is not JSON gives no json");
    is_str(r.body, "plain words, not JSON", "text: the body is there");
    is_int(r.len, 21, "text: with its length");
    is_str(r.content_type, "text/plain", "text: content type text/plain");

    url = url_a(&env, "/trailing");
    get(&env, url, &r);
    free(url);
    ok(r.json == NULL && r.len > 0, "JSON followed by other text is not JSON");

    url = url_a(&env, "/scalar");
    get(&env, url, &r);
    free(url);
    ok(r.json != NULL && json_object_get_int(r.json) == 42, "a bare number with a newline is JSON");

    url = url_a(&env, "/nowhere");
    get(&env, url, &r);
    free(url);
    ok(r.failure == TOOL_HTTP_OK && r.status == 404 && r.json != NULL, "404 is a response, with its JSON body");

    result_clear(&r);
    env_done(&env, "bodies");
}

/* Error statuses are responses; Retry-After in seconds and as an HTTP-date. */
static void
test_statuses(void)
{
    struct env env;
    struct result r = {0};
    char *url;

    env_init(&env, allow_loopback, 1);
    url = url_a(&env, "/status/401");
    get(&env, url, &r);
    free(url);
    is_int(r.failure, TOOL_HTTP_OK, "401: a response arrived");
    is_int(r.status, 401, "401: status 401");
    is_str(result_get(&r, "error"), "bad key", "401: the error body is parsed");
    is_str(r.error, NULL, "401: error is only for failures");

    url = url_a(&env, "/status/500");
    get(&env, url, &r);
    free(url);
    ok(r.failure == TOOL_HTTP_OK && r.status == 500, "500: a response with status 500");
    is_str(r.body, "<h1>oops</h1>", "500: its body");

    url = url_a(&env, "/429s");
    get(&env, url, &r);
    free(url);
    is_int(r.status, 429, "429: status 429");
    is_int(r.retry_after_ms, 7000, "429: Retry-After: 7 is 7000 ms");

    url = url_a(&env, "/429d");
    get(&env, url, &r);
    free(url);
    ok(r.retry_after_ms >= 115000 && r.retry_after_ms <= 121000,
       "429: Retry-After as an HTTP-date two minutes ahead (%lld ms)", (long long)r.retry_after_ms);

    url = url_a(&env, "/429past");
    get(&env, url, &r);
    free(url);
    is_int(r.retry_after_ms, 0, "429: an HTTP-date in the past is 0");

    result_clear(&r);
    env_done(&env, "statuses");
}

/* A handler slower than the timeout. */
static void
test_timeout(void)
{
    struct env env;
    struct result r = {0};
    char *url;
    struct tool_http_request req = {0};

    env_init(&env, allow_loopback, 1);
    url = url_a(&env, "/slow");
    req.url = url;
    req.timeout_ms = 300;
    run_request(&env, env.th, &req, &r);
    is_int(r.failure, TOOL_HTTP_TIMEOUT, "slow handler: TOOL_HTTP_TIMEOUT");
    ok(r.seconds >= 0.25 && r.seconds < 1.4, "slow handler: after about 300 ms (%.3f s)", r.seconds);
    ok(r.error != NULL && strstr(r.error, "300 ms") != NULL, "slow handler: the error says the limit (%s)", r.error);
    is_int(r.status, 0, "slow handler: no status");
    is_str(r.body, "", "slow handler: the body is \"\", not NULL");
    ok(r.json == NULL && r.retry_after_ms == -1, "slow handler: no json, no Retry-After");
    is_int(env.a.requests, 1, "slow handler: the server did get the request");
    result_clear(&r);
    free(url);
    env_done(&env, "timeout");
}

/* max_response, with and without a Content-Length. */
static void
test_too_large(void)
{
    struct env env;
    struct result r = {0};
    char *url;
    struct tool_http_request req = {0};

    env_init(&env, allow_loopback, 1);
    url = url_a(&env, "/big");
    req.url = url;
    req.max_response = 1000;
    run_request(&env, env.th, &req, &r);
    is_int(r.failure, TOOL_HTTP_TOO_LARGE, "Content-Length over max_response: TOOL_HTTP_TOO_LARGE");
    ok(r.error != NULL && strstr(r.error, "1000 bytes") != NULL, "and the error says the limit (%s)", r.error);
    req.max_response = BIG_LEN;
    run_request(&env, env.th, &req, &r);
    ok(r.failure == TOOL_HTTP_OK && r.len == BIG_LEN, "a body exactly at max_response is fine");
    req.max_response = 0;
    run_request(&env, env.th, &req, &r);
    ok(r.failure == TOOL_HTTP_OK && r.len == BIG_LEN && memcmp(r.body, big, BIG_LEN) == 0,
       "the default limit (16 MiB) lets 100 kB through intact");
    free(url);

    url = url_a(&env, "/bigchunked");
    req.url = url;
    req.max_response = 1000;
    run_request(&env, env.th, &req, &r);
    is_int(r.failure, TOOL_HTTP_TOO_LARGE, "chunked body over max_response: TOOL_HTTP_TOO_LARGE");
    req.max_response = BIG_LEN + 1;
    run_request(&env, env.th, &req, &r);
    ok(r.failure == TOOL_HTTP_OK && r.len == BIG_LEN, "chunked body under the limit: OK");
    free(url);
    result_clear(&r);
    env_done(&env, "too large");
}

/* Connection refused, a malformed URL, a name that does not resolve. */
static void
test_network(void)
{
    struct env env;
    struct result r = {0};
    char *url;
    uv_tcp_t tcp;
    struct sockaddr_in sin;
    struct sockaddr_storage bound;
    int len = sizeof(bound), port;

    env_init(&env, allow_loopback, 1);
    /* A port that was just free: bind it, read it, close it. */
    uv_tcp_init(&env.loop, &tcp);
    uv_ip4_addr("127.0.0.1", 0, &sin);
    uv_tcp_bind(&tcp, (struct sockaddr *)&sin, 0);
    uv_tcp_getsockname(&tcp, (struct sockaddr *)&bound, &len);
    port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    uv_close((uv_handle_t *)&tcp, NULL);
    uv_run(&env.loop, UV_RUN_NOWAIT);

    url = xasprintf("http://127.0.0.1:%d/echo", port);
    get(&env, url, &r);
    free(url);
    is_int(r.failure, TOOL_HTTP_NETWORK, "connection refused: TOOL_HTTP_NETWORK");
    ok(r.error != NULL && r.error[0] != '\0', "connection refused: with an error (%s)", r.error);

    get(&env, "not a URL at all", &r);
    ok(r.failure == TOOL_HTTP_NETWORK && r.error != NULL && strstr(r.error, "invalid URL") != NULL,
       "a malformed URL: TOOL_HTTP_NETWORK (%s)", r.error);

    get(&env, "http://name.invalid/", &r);
    is_int(r.failure, TOOL_HTTP_NETWORK, "a name that does not resolve: TOOL_HTTP_NETWORK (%s)", r.error);
    result_clear(&r);
    env_done(&env, "network");
}

/* A GET that the guard must refuse with no request reaching server a. */
static void
expect_blocked(struct env *env, const char *url, const char *want_in_error, const char *what)
{
    struct result r = {0};
    unsigned before = env->a.requests;

    get(env, url, &r);
    is_int(r.failure, TOOL_HTTP_BLOCKED, "%s: TOOL_HTTP_BLOCKED", what);
    ok(r.error != NULL && strstr(r.error, want_in_error) != NULL, "%s: the error says \"%s\" (%s)", what, want_in_error,
       r.error);
    is_int(env->a.requests, before, "%s: the server saw no request", what);
    result_clear(&r);
}

/* With nothing allowed, every internal address is refused before any connection. */
static void
test_guard_default(void)
{
    struct env env;
    struct result r = {0};
    char *url;

    env_init(&env, NULL, 0);
    url = url_a(&env, "/echo");
    result_clear(&r);
    r.env = &env;
    {
        struct tool_http_request req = {.url = url};

        tool_http_request(env.th, &req, on_result, &r);
        ok(r.called == 0, "a refusal is reported from the loop, not inside tool_http_request()");
        env_run_until(&env, &env.finished, 1);
    }
    is_int(r.failure, TOOL_HTTP_BLOCKED, "127.0.0.1 not allowed: TOOL_HTTP_BLOCKED");
    is_str(r.error, "refused to connect to 127.0.0.1: loopback address (allow it in the bridge's allow_networks)",
           "127.0.0.1 not allowed: the error says why and what to do");
    is_int(env.a.requests, 0, "127.0.0.1 not allowed: the server saw NO request");
    result_clear(&r);
    free(url);

    url = xasprintf("http://localhost:%d/echo", env.a.port);
    expect_blocked(&env, url, "loopback address", "localhost");
    free(url);
    url = xasprintf("http://[::1]:%d/echo", env.a.port);
    expect_blocked(&env, url, "refused to connect to ::1: loopback", "[::1]");
    free(url);
    url = xasprintf("http://[::ffff:127.0.0.1]:%d/echo", env.a.port);
    expect_blocked(&env, url, "::ffff:127.0.0.1: loopback", "IPv4-mapped loopback");
    free(url);
    url = xasprintf("http://2130706433:%d/echo", env.a.port);
    expect_blocked(&env, url, "127.0.0.1: loopback", "loopback written as one decimal number");
    free(url);
    url = xasprintf("http://0x7f.1:%d/echo", env.a.port);
    expect_blocked(&env, url, "127.0.0.1: loopback", "loopback written in hexadecimal");
    free(url);
    expect_blocked(&env, "http://169.254.169.254/latest/meta-data/", "link-local", "the cloud metadata address");
    expect_blocked(&env, "http://10.0.0.1:9/", "RFC 1918", "a private address");
    expect_blocked(&env, "http://[fd00::1]:9/", "unique local", "an IPv6 unique local address");
    expect_blocked(&env, "http://0.0.0.0:9/", "this network", "0.0.0.0");
    expect_blocked(&env, "http://192.0.2.7/", "documentation", "a documentation address");
    url = xasprintf("ftp://127.0.0.1:%d/", env.a.port);
    expect_blocked(&env, url, "scheme \"ftp\"", "an ftp URL");
    free(url);
    expect_blocked(&env, "file:///etc/passwd", "scheme \"file\"", "a file URL");
    expect_blocked(&env, "gopher://127.0.0.1:70/", "only http and https", "a gopher URL");
    env_done(&env, "guard (default)");
}

/* 127.0.0.1/32 allowed opens exactly that address. */
static void
test_guard_allowed(void)
{
    struct env env;
    struct result r = {0};
    char *url;

    env_init(&env, allow_loopback, 1);
    url = url_a(&env, "/echo");
    get(&env, url, &r);
    ok(r.failure == TOOL_HTTP_OK && r.status == 200, "allowed 127.0.0.1/32: the request goes through");
    is_int(env.a.requests, 1, "allowed 127.0.0.1/32: the server saw it");
    free(url);

    url = xasprintf("http://localhost:%d/echo", env.a.port);
    get(&env, url, &r);
    ok(r.failure == TOOL_HTTP_OK && r.status == 200,
       "localhost with 127.0.0.1/32 allowed: ::1 is refused, 127.0.0.1 is used (%s)", r.error);
    free(url);

    url = xasprintf("http://[::1]:%d/echo", env.a.port);
    expect_blocked(&env, url, "::1: loopback", "[::1] with only 127.0.0.1/32 allowed");
    free(url);
    url = xasprintf("http://127.0.0.2:%d/echo", env.a.port);
    expect_blocked(&env, url, "127.0.0.2: loopback", "127.0.0.2 with only 127.0.0.1/32 allowed");
    free(url);
    result_clear(&r);
    env_done(&env, "guard (allowed)");
}

/* Redirects: followed within an origin, stripped of headers across origins, guarded, capped. */
static void
test_redirects(void)
{
    struct env env;
    struct result r = {0};
    char *url, *loop_url;
    const char *headers[] = {"X-Test-Key: secret-456", NULL};
    struct tool_http_request req = {0};
    unsigned a0, b0;

    env_init(&env, allow_loopback, 1);
    url = url_a(&env, "/redirect");
    req.url = url;
    req.headers = headers;
    req.follow_redirects = 1;

    snprintf(env.a.redirect_to, sizeof(env.a.redirect_to), "http://127.0.0.1:%d/echo", env.a.port);
    run_request(&env, env.th, &req, &r);
    ok(r.failure == TOOL_HTTP_OK && r.status == 200, "same-origin redirect: followed to a 200");
    is_str(result_get(&r, "key"), "secret-456", "same-origin redirect: the header goes along");
    is_str(env.a.last_path, "/echo", "same-origin redirect: the server saw the second hop");

    snprintf(env.a.redirect_to, sizeof(env.a.redirect_to), "http://127.0.0.1:%d/echo", env.b.port);
    run_request(&env, env.th, &req, &r);
    ok(r.failure == TOOL_HTTP_OK && r.status == 200 && env.b.requests == 1,
       "redirect to another origin: followed to the other server");
    is_str(result_get(&r, "key"), "", "redirect to another origin: the API key header is NOT sent there");
    is_str(result_get(&r, "ua"), "warroom/" PACKAGE_VERSION, "redirect to another origin: the user agent still is");

    req.follow_redirects = 0;
    a0 = env.a.requests;
    run_request(&env, env.th, &req, &r);
    ok(r.failure == TOOL_HTTP_OK && r.status == 302 && env.a.requests == a0 + 1 && env.b.requests == 1,
       "follow_redirects 0: the 302 itself is the response");
    req.follow_redirects = 1;

    snprintf(env.a.redirect_to, sizeof(env.a.redirect_to), "http://127.0.0.2:%d/echo", env.b.port);
    b0 = env.b.requests;
    run_request(&env, env.th, &req, &r);
    is_int(r.failure, TOOL_HTTP_BLOCKED, "redirect from an allowed host to 127.0.0.2: TOOL_HTTP_BLOCKED");
    ok(r.error != NULL && strstr(r.error, "127.0.0.2") != NULL, "and the error names it (%s)", r.error);
    is_int(env.b.requests, b0, "and nothing reached the target");

    snprintf(env.a.redirect_to, sizeof(env.a.redirect_to), "http://[::1]:%d/echo", env.a.port);
    a0 = env.a.requests;
    run_request(&env, env.th, &req, &r);
    ok(r.failure == TOOL_HTTP_BLOCKED && env.a.requests == a0 + 1, "redirect to [::1]: refused after the first hop");

    snprintf(env.a.redirect_to, sizeof(env.a.redirect_to), "http://10.1.2.3/admin");
    run_request(&env, env.th, &req, &r);
    ok(r.failure == TOOL_HTTP_BLOCKED && r.error != NULL && strstr(r.error, "10.1.2.3") != NULL,
       "redirect to a private address: refused (%s)", r.error);

    snprintf(env.a.redirect_to, sizeof(env.a.redirect_to), "file:///etc/passwd");
    run_request(&env, env.th, &req, &r);
    ok(r.failure == TOOL_HTTP_BLOCKED && r.error != NULL && strstr(r.error, "file") != NULL,
       "redirect to file://: refused (%s)", r.error);

    snprintf(env.a.redirect_to, sizeof(env.a.redirect_to), "gopher://127.0.0.1:%d/_GET", env.a.port);
    a0 = env.a.requests;
    run_request(&env, env.th, &req, &r);
    ok(r.failure == TOOL_HTTP_BLOCKED && env.a.requests == a0 + 1, "redirect to gopher://: refused (%s)", r.error);

    loop_url = url_a(&env, "/loop");
    req.url = loop_url;
    a0 = env.a.requests;
    run_request(&env, env.th, &req, &r);
    ok(r.failure == TOOL_HTTP_NETWORK && r.error != NULL && strstr(r.error, "more than 5 redirects") != NULL,
       "a redirect loop stops after 5 redirects (%s)", r.error);
    is_int(env.a.requests - a0, 6, "a redirect loop: the first request and 5 redirects");
    free(loop_url);
    free(url);

    /* 303 turns a POST into a GET; 307 repeats it with its body. */
    snprintf(env.a.redirect_to, sizeof(env.a.redirect_to), "http://127.0.0.1:%d/echo", env.a.port);
    url = url_a(&env, "/redirect303");
    memset(&req, 0, sizeof(req));
    req.url = url;
    req.method = "POST";
    req.body = "payload";
    req.body_len = 7;
    req.follow_redirects = 1;
    run_request(&env, env.th, &req, &r);
    ok(r.status == 200 && result_get(&r, "method") != NULL && strcmp(result_get(&r, "method"), "GET") == 0 &&
           strcmp(result_get(&r, "body"), "") == 0,
       "303 after a POST: a GET without the body");
    free(url);
    url = url_a(&env, "/redirect307");
    req.url = url;
    run_request(&env, env.th, &req, &r);
    ok(r.status == 200 && result_get(&r, "method") != NULL && strcmp(result_get(&r, "method"), "POST") == 0 &&
           strcmp(result_get(&r, "body"), "payload") == 0,
       "307 after a POST: the POST again, with its body");
    free(url);
    result_clear(&r);
    env_done(&env, "redirects");
}

/* With debug logging on, the log names method, host and path, and never
 * a header value or the query string, where API keys travel. */
static void
test_log_no_secrets(void)
{
    struct env env;
    struct result r = {0};
    const char *headers[] = {"X-Test-Key: hdr-secret-789", NULL};
    struct tool_http_request req = {0};
    char *url, *blocked_url, *log = NULL;
    FILE *f = tmpfile();
    int saved = dup(2);
    long size;

    env_init(&env, allow_loopback, 1);
    url = xasprintf("http://127.0.0.1:%d/echo?apikey=query-secret-123", env.a.port);
    blocked_url = xasprintf("http://127.0.0.2:%d/echo?apikey=query-secret-123", env.a.port);
    fflush(stderr);
    dup2(fileno(f), 2);
    log_init(LOG_LEVEL_DEBUG, LOG_FORMAT_TEXT);
    req.url = url;
    req.headers = headers;
    run_request(&env, env.th, &req, &r);
    req.url = blocked_url;
    run_request(&env, env.th, &req, &r);
    log_init(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    size = ftell(f);
    if (size > 0) {
        log = xcalloc(1, (size_t)size + 1);
        rewind(f);
        if (fread(log, 1, (size_t)size, f) != (size_t)size)
            log[0] = '\0';
    }
    fclose(f);
    ok(log != NULL && strstr(log, "GET http://127.0.0.1:") != NULL && strstr(log, "/echo: 200") != NULL,
       "debug log: method, host, path and status are logged");
    ok(log != NULL && strstr(log, "refused to connect to 127.0.0.2") != NULL, "debug log: the refusal is logged");
    ok(log != NULL && strstr(log, "hdr-secret-789") == NULL, "debug log: no header value");
    ok(log != NULL && strstr(log, "query-secret-123") == NULL && strstr(log, "apikey") == NULL,
       "debug log: no query string");
    if (log != NULL)
        fputs(log, stderr);
    free(log);
    free(url);
    free(blocked_url);
    result_clear(&r);
    env_done(&env, "log");
}

/* A connection opened for a client that allows loopback stays in curl's
 * cache; another client that does not must not get to use it. */
static void
test_reused_connection(void)
{
    struct env env;
    struct result r = {0};
    struct tool_http *strict = NULL;
    char *url, *cause = NULL;
    struct tool_http_request req = {0};
    unsigned a0;

    env_init(&env, allow_loopback, 1);
    ok(tool_http_new(env.cu, NULL, &strict, &cause) == 0, "a second client without allowed networks");
    url = url_a(&env, "/echo");
    req.url = url;
    run_request(&env, env.th, &req, &r);
    ok(r.failure == TOOL_HTTP_OK, "the permissive client reaches the server");
    a0 = env.a.requests;
    run_request(&env, strict, &req, &r);
    is_int(r.failure, TOOL_HTTP_BLOCKED, "the strict client is refused even with a cached connection");
    is_int(env.a.requests, a0, "and the server saw no request from it");
    run_request(&env, env.th, &req, &r);
    ok(r.failure == TOOL_HTTP_OK, "the permissive client still works after that");
    tool_http_free(strict);
    free(url);
    result_clear(&r);
    env_done(&env, "reused connection");
}

/* Cancelled calls never call back, wherever they were. */
static void
test_cancel(void)
{
    struct env env;
    struct result r1 = {0}, r2 = {0}, r3 = {0}, r4 = {0};
    char *slow_url, *echo_url;
    struct tool_http_request req = {0};
    struct tool_http_call *c1, *c2, *c3;

    env_init(&env, allow_loopback, 1);
    r1.env = r2.env = r3.env = r4.env = &env;
    slow_url = url_a(&env, "/slow");
    echo_url = url_a(&env, "/echo");
    req.url = slow_url;
    c1 = tool_http_request(env.th, &req, on_result, &r1);
    ok(env_run_until(&env, &env.a.requests, 1), "cancel: the slow request reached the server");
    tool_http_cancel(c1);

    req.url = echo_url;
    c2 = tool_http_request(env.th, &req, on_result, &r2);
    tool_http_cancel(c2); /* before the loop ever ran it */
    req.url = "ftp://127.0.0.1/";
    c3 = tool_http_request(env.th, &req, on_result, &r3);
    tool_http_cancel(c3); /* a failure waiting to be reported */
    tool_http_cancel(NULL);

    req.url = echo_url;
    tool_http_request(env.th, &req, on_result, &r4);
    ok(env_run_until(&env, &r4.env->finished, 1), "cancel: a later request still completes");
    env_run_for(&env, 200);
    is_int(r1.called, 0, "cancel in flight: no callback");
    is_int(r2.called, 0, "cancel before the loop ran: no callback");
    is_int(r3.called, 0, "cancel of a pending failure report: no callback");
    ok(r4.called == 1 && r4.failure == TOOL_HTTP_OK, "the request that was not cancelled got its answer");
    free(slow_url);
    free(echo_url);
    result_clear(&r4);
    env_done(&env, "cancel");
}

/* Freeing the client cancels every call quietly. */
static void
test_free_pending(void)
{
    struct env env;
    struct result r[6];
    char *slow_url, *echo_url;
    struct tool_http_request req = {0};
    int called = 0;

    env_init(&env, allow_loopback, 1);
    memset(r, 0, sizeof(r));
    slow_url = url_a(&env, "/slow");
    echo_url = url_a(&env, "/echo");
    /* Four requests the server holds, one not started, one failure
     * waiting to be reported: then the client is freed under them. */
    for (int i = 0; i < 6; i++) {
        r[i].env = &env;
        req.url = i < 4 ? slow_url : i == 4 ? echo_url : "ftp://127.0.0.1/";
        tool_http_request(env.th, &req, on_result, &r[i]);
        if (i == 3)
            ok(env_run_until(&env, &env.a.requests, 4), "free with calls pending: four requests in flight");
    }
    tool_http_free(env.th);
    env.th = NULL;
    env_run_for(&env, 200);
    for (int i = 0; i < 6; i++) {
        called += r[i].called;
        result_clear(&r[i]);
    }
    is_int(called, 0, "free with calls pending: no callback runs");
    free(slow_url);
    free(echo_url);
    env_done(&env, "free with calls pending");
}

/* Frees the client from inside a callback; the other calls go quietly. */
static void
on_result_free(const struct tool_http_response *res, void *arg)
{
    struct env *env = arg;

    (void)res;
    env->finished++;
    tool_http_free(env->th);
    env->th = NULL;
}

/* A callback may free the client. */
static void
test_free_in_callback(void)
{
    struct env env;
    struct result r = {0};
    char *slow_url;
    struct tool_http_request req = {0};

    env_init(&env, allow_loopback, 1);
    r.env = &env;
    slow_url = url_a(&env, "/slow");
    req.url = slow_url;
    tool_http_request(env.th, &req, on_result, &r);
    req.url = "file:///etc/passwd";
    tool_http_request(env.th, &req, on_result_free, &env);
    ok(env_run_until(&env, &env.finished, 1), "the callback that frees the client ran");
    env_run_for(&env, 100);
    ok(env.th == NULL && r.called == 0, "the other call was cancelled by the free, without a callback");
    free(slow_url);
    env_done(&env, "free in a callback");
}

#define MANY 200

/* The callback of test_many: keeps status and JSON. */
static void
on_result_many(const struct tool_http_response *res, void *arg)
{
    struct result *r = arg;

    r->called++;
    r->failure = res->failure;
    r->status = res->status;
    r->json = json_object_get(res->json);
    r->env->finished++;
}

/* Many requests at once each get their own answer. */
static void
test_many(void)
{
    struct env env;
    static struct result r[MANY];
    static char keys[MANY][32];
    const char *headers[MANY][2];
    char *url;
    struct tool_http_request req = {0};
    int good = 0, once = 1;

    env_init(&env, allow_loopback, 1);
    memset(r, 0, sizeof(r));
    url = url_a(&env, "/echo");
    req.url = url;
    for (int i = 0; i < MANY; i++) {
        snprintf(keys[i], sizeof(keys[i]), "X-Test-Key: k%03d", i);
        headers[i][0] = keys[i];
        headers[i][1] = NULL;
        req.headers = headers[i];
        r[i].env = &env;
        tool_http_request(env.th, &req, on_result_many, &r[i]);
    }
    ok(env_run_until(&env, &env.finished, MANY), "%d concurrent requests all complete", MANY);
    for (int i = 0; i < MANY; i++) {
        struct json_object *v;
        char want[16];

        snprintf(want, sizeof(want), "k%03d", i);
        if (r[i].called != 1)
            once = 0;
        if (r[i].failure == TOOL_HTTP_OK && r[i].status == 200 && r[i].json != NULL &&
            json_object_object_get_ex(r[i].json, "key", &v) && strcmp(json_object_get_string(v), want) == 0)
            good++;
        json_object_put(r[i].json);
    }
    ok(once, "each callback ran exactly once");
    is_int(good, MANY, "each got its own answer (its header echoed)");
    is_int(env.a.requests, MANY, "the server saw each request once");
    free(url);
    env_done(&env, "many");
}

/* One address and what the guard says about it with nothing allowed. */
struct range_case {
    const char *addr;
    int blocked;
    const char *reason; /* a part of net_ranges_reason(), or NULL */
};

static const struct range_case range_cases[] = {
    {"0.0.0.0", 1, "this network"},
    {"0.1.2.3", 1, "this network"},
    {"10.0.0.1", 1, "RFC 1918"},
    {"10.255.255.255", 1, "RFC 1918"},
    {"100.64.0.1", 1, "carrier-grade NAT"},
    {"100.127.255.254", 1, "carrier-grade NAT"},
    {"100.63.255.255", 0, NULL},
    {"100.128.0.1", 0, NULL},
    {"127.0.0.1", 1, "loopback"},
    {"127.255.255.254", 1, "loopback"},
    {"169.254.169.254", 1, "link-local"},
    {"172.16.0.1", 1, "RFC 1918"},
    {"172.31.255.255", 1, "RFC 1918"},
    {"172.15.255.255", 0, NULL},
    {"172.32.0.1", 0, NULL},
    {"192.0.0.8", 1, "IETF protocol assignment"},
    {"192.0.2.1", 1, "TEST-NET-1"},
    {"192.88.99.1", 1, "6to4 relay"},
    {"192.168.1.1", 1, "RFC 1918"},
    {"198.18.0.1", 1, "benchmarking"},
    {"198.19.255.255", 1, "benchmarking"},
    {"198.20.0.1", 0, NULL},
    {"198.51.100.7", 1, "TEST-NET-2"},
    {"203.0.113.7", 1, "TEST-NET-3"},
    {"224.0.0.1", 1, "multicast"},
    {"239.255.255.250", 1, "multicast"},
    {"240.0.0.1", 1, "reserved"},
    {"255.255.255.255", 1, "broadcast"},
    {"8.8.8.8", 0, NULL},
    {"1.1.1.1", 0, NULL},
    {"9.9.9.9", 0, NULL},
    {"93.184.216.34", 0, NULL},
    {"223.255.255.255", 0, NULL},
    {"::", 1, "unspecified"},
    {"::1", 1, "loopback"},
    {"::ffff:127.0.0.1", 1, "loopback"},
    {"::ffff:10.0.0.1", 1, "RFC 1918"},
    {"::ffff:169.254.169.254", 1, "link-local"},
    {"::ffff:8.8.8.8", 0, NULL},
    {"::127.0.0.1", 1, "IPv4-compatible"},
    {"::8.8.8.8", 1, "IPv4-compatible"},
    {"64:ff9b::7f00:1", 1, "loopback"},
    {"64:ff9b::a00:1", 1, "RFC 1918"},
    {"64:ff9b::808:808", 0, NULL},
    {"64:ff9b::c000:207", 1, "TEST-NET-1"},
    {"64:ff9b:1::1", 1, "local-use NAT64"},
    {"100::1", 1, "discard-only"},
    {"2001:db8::1", 1, "documentation"},
    {"2001::1", 1, "Teredo"},
    {"2002:7f00:1::1", 1, "6to4"},
    {"3fff::1", 1, "documentation"},
    {"fc00::1", 1, "unique local"},
    {"fd12:3456::1", 1, "unique local"},
    {"fe80::1", 1, "link-local"},
    {"febf:ffff::1", 1, "link-local"},
    {"fec0::1", 1, "site-local"},
    {"ff02::1", 1, "multicast"},
    {"::1:0:0:0", 1, "outside the global unicast range"},
    {"4000::1", 1, "outside the global unicast range"},
    {"2606:4700::1111", 0, NULL},
    {"2606:4700:4700::1111", 0, NULL},
    {"2001:4860:4860::8888", 0, NULL},
    {"2620:fe::fe", 0, NULL},
    {"2a00:1450:4001::1", 0, NULL},
    /* Not addresses: refused, whatever they are. */
    {"", 1, NULL},
    {"localhost", 1, NULL},
    {"1.2.3", 1, NULL},
    {"256.1.1.1", 1, NULL},
    {"01.2.3.4", 1, NULL},
    {"[::1]", 1, NULL},
    {"fe80::1%lo", 1, NULL},
};

/* The range table: each address, blocked or not, and why. */
static void
test_ranges(void)
{
    size_t n = sizeof(range_cases) / sizeof(range_cases[0]);
    int wrong = 0;

    for (size_t i = 0; i < n; i++) {
        const struct range_case *c = &range_cases[i];
        struct net_addr a;
        const char *why = NULL;
        int blocked = tool_http_address_blocked(NULL, c->addr);

        if (net_ranges_parse_addr(c->addr, &a) == 0)
            why = net_ranges_reason(&a);
        if (blocked != c->blocked || (c->reason != NULL && (why == NULL || strstr(why, c->reason) == NULL)) ||
            (!c->blocked && why != NULL)) {
            wrong++;
            printf("# %s: blocked %d, want %d; reason \"%s\", want \"%s\"\n", c->addr, blocked, c->blocked,
                   why != NULL ? why : "(none)", c->reason != NULL ? c->reason : "(none)");
        }
    }
    ok(n >= 40, "the range table has %zu addresses", n);
    is_int(wrong, 0, "every address of the range table is judged right");
}

/* Allowed networks override the table. */
static void
test_allowed_ranges(void)
{
    static const char *const allow[] = {"127.0.0.1/32", "10.1.0.0/16", "fd00::/8", "192.0.2.0/24", "::1"};
    static const struct range_case cases[] = {
        {"127.0.0.1", 0, NULL},       {"127.0.0.2", 1, NULL}, {"::ffff:127.0.0.1", 0, NULL},
        {"64:ff9b::7f00:1", 0, NULL}, {"10.1.2.3", 0, NULL},  {"10.2.0.1", 1, NULL},
        {"fd12::1", 0, NULL},         {"fc00::1", 1, NULL},   {"192.0.2.5", 0, NULL},
        {"198.51.100.5", 1, NULL},    {"::1", 0, NULL},       {"::2", 1, NULL},
        {"::ffff:10.1.0.1", 0, NULL}, {"8.8.8.8", 0, NULL},   {"169.254.169.254", 1, NULL},
    };
    struct curl_uv *cu;
    struct tool_http *th = NULL;
    struct tool_http_allow a = {allow, sizeof(allow) / sizeof(allow[0])};
    char *cause = NULL;
    uv_loop_t loop;
    int wrong = 0;

    uv_loop_init(&loop);
    cu = curl_uv_new(&loop);
    ok(tool_http_new(cu, &a, &th, &cause) == 0, "tool_http_new with five allowed networks");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (tool_http_address_blocked(th, cases[i].addr) != cases[i].blocked) {
            wrong++;
            printf("# %s: want blocked %d\n", cases[i].addr, cases[i].blocked);
        }
    }
    is_int(wrong, 0, "allowed networks override the table (and cover mapped and NAT64 forms)");
    tool_http_free(th);
    curl_uv_close(cu);
    uv_run(&loop, UV_RUN_DEFAULT);
    is_int(uv_loop_close(&loop), 0, "allowed ranges: uv_loop_close() == 0");
}

/* CIDR parsing, good and bad. */
static void
test_cidrs(void)
{
    static const struct {
        const char *cidr;
        const char *base;
        unsigned prefix;
    } good[] = {
        {"127.0.0.1/32", "127.0.0.1", 32},  {"10.0.0.0/8", "10.0.0.0", 8},
        {"0.0.0.0/0", "0.0.0.0", 0},        {"::1/128", "::1", 128},
        {"fd00::/8", "fd00::", 8},          {"::/0", "::", 0},
        {"192.168.1.7", "192.168.1.7", 32}, {"2001:db8::1", "2001:db8::1", 128},
        {"fe80::/10", "fe80::", 10},        {"172.16.0.0/012", "172.16.0.0", 12},
    };
    static const char *const bad[] = {
        "",
        "/8",
        "10.0.0.0/",
        "10.0.0.0/33",
        "::/129",
        "10.0.0.1/8",
        "fd00::1/8",
        "10.0.0.0/8/8",
        "10.0.0.0/-1",
        "10.0.0.0/+8",
        "10.0.0.0/ 8",
        " 10.0.0.0/8",
        "10.0.0.0/8 ",
        "10.0.0.0/0x8",
        "banana/8",
        "10.0.0.0/1000",
        "fe80::1%lo/64",
        "[::1]/128",
        "10.0.0/8",
    };
    int wrong = 0;
    char *cause = NULL;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct net_cidr c;
        char text[NET_RANGES_ADDRSTRLEN] = "";

        cause = NULL;
        if (net_ranges_parse_cidr(good[i].cidr, &c, &cause) == 0)
            net_ranges_format(&c.base, text, sizeof(text));
        if (strcmp(text, good[i].base) != 0 || c.prefix != good[i].prefix) {
            wrong++;
            printf("# %s: got %s/%u (%s)\n", good[i].cidr, text, c.prefix, cause != NULL ? cause : "");
        }
        free(cause);
    }
    is_int(wrong, 0, "valid CIDRs parse to their network and prefix");
    wrong = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct net_cidr c;

        cause = NULL;
        if (net_ranges_parse_cidr(bad[i], &c, &cause) != -1 || cause == NULL || strstr(cause, bad[i]) == NULL) {
            wrong++;
            printf("# \"%s\": accepted, or a cause without the text (%s)\n", bad[i], cause != NULL ? cause : "");
        }
        free(cause);
    }
    is_int(wrong, 0, "each of %zu invalid CIDRs is refused with a cause that quotes it", sizeof(bad) / sizeof(bad[0]));

    cause = NULL;
    net_ranges_parse_cidr("10.0.0.1/8", &(struct net_cidr){0}, &cause);
    ok(cause != NULL && strstr(cause, "10.0.0.0/8") != NULL && strstr(cause, "10.0.0.1/32") != NULL,
       "host bits set: the cause suggests the network and the host (%s)", cause);
    free(cause);

    {
        static const char *const allow[] = {"127.0.0.1/32", "10.0.0.0/33"};
        struct tool_http_allow a = {allow, 2};
        struct tool_http *th = (struct tool_http *)1;
        uv_loop_t loop;
        struct curl_uv *cu;

        uv_loop_init(&loop);
        cu = curl_uv_new(&loop);
        cause = NULL;
        ok(tool_http_new(cu, &a, &th, &cause) == -1 && th == NULL, "tool_http_new refuses an invalid CIDR");
        ok(cause != NULL && strstr(cause, "10.0.0.0/33") != NULL, "with a cause that names it (%s)", cause);
        free(cause);
        curl_uv_close(cu);
        uv_run(&loop, UV_RUN_DEFAULT);
        is_int(uv_loop_close(&loop), 0, "invalid CIDR: uv_loop_close() == 0");
    }
}

int
main(void)
{
    /* A client that went away must not kill the test with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    alarm(120);
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + i % 26);
    test_ranges();
    test_allowed_ranges();
    test_cidrs();
    test_methods();
    test_bodies();
    test_statuses();
    test_timeout();
    test_too_large();
    test_network();
    test_guard_default();
    test_guard_allowed();
    test_redirects();
    test_reused_connection();
    test_log_no_secrets();
    test_cancel();
    test_free_pending();
    test_free_in_callback();
    test_many();
    tap_done();
}
