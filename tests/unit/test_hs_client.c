/*
 * The homeserver client against a scripted HTTP server on the same loop:
 * what goes on the wire (method, path and user_id escaping, headers, JSON
 * bodies), how answers come back (bodies, Matrix errors, non-JSON errors,
 * network errors, timeouts), the retry policy (429 after retry_after_ms or
 * Retry-After, 5xx and network errors with backoff, 4xx final), cancelling
 * in every state and from inside callbacks, freeing with calls pending,
 * connection reuse and many concurrent calls; each test ends with a loop
 * that closes.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "appservice/curl_uv.h"
#include "appservice/hs_client.h"
#include "appservice/log.h"
#include "appservice/metrics.h"
#include "appservice/xmalloc.h"
#include "tests/tap.h"
#include "tests/unit/mock_http.h"

#define TOKEN "s3cret-as-token"
#define BOT "@soc_dns:localhost"
#define BOT_ESCAPED "%40soc_dns%3Alocalhost"

/* What a callback saw, copied out of the borrowed response. */
struct result {
    int calls;
    long status;
    int ok;
    struct json_object *body; /* a reference taken in the callback */
    char *errcode, *message, *describe;
    char *raw, *content_type;
    size_t raw_len;
    CURLcode curl_code;
    int64_t retry_after_ms;
    double seconds;
    unsigned attempts;
    /* What the callback does besides recording. */
    struct hs_call *cancel[3];
    struct hs_client *free_client;
    struct hs_call *self;
    struct env *chain_env; /* start the next call of a chain */
    int chain_left;
};

/* Everything one test sets up. */
struct env {
    uv_loop_t loop;
    struct mock_http *srv;
    struct curl_uv *cu;
    struct hs_client *hc;
    unsigned finished;
};

/* Frees what a result holds and zeroes it. */
static void
result_clear(struct result *r)
{
    json_object_put(r->body);
    free(r->errcode);
    free(r->message);
    free(r->describe);
    free(r->raw);
    free(r->content_type);
    memset(r, 0, sizeof(*r));
}

static void on_result(const struct hs_response *res, void *arg);

/* Starts req on the test's client, recording into r. */
static struct hs_call *
request(struct env *env, const struct hs_request *req, struct result *r)
{
    return hs_client_request(env->hc, req, on_result, r);
}

/* The request callback: copies the outcome, then does what the test asked. */
static void
on_result(const struct hs_response *res, void *arg)
{
    struct result *r = arg;

    r->calls++;
    r->status = res->status;
    r->ok = hs_response_ok(res);
    json_object_put(r->body);
    r->body = json_object_get(res->body);
    free(r->errcode);
    free(r->message);
    free(r->describe);
    r->errcode = res->error.errcode != NULL ? xstrdup(res->error.errcode) : NULL;
    r->message = res->error.message != NULL ? xstrdup(res->error.message) : NULL;
    r->describe = hs_error_describe(&res->error);
    r->curl_code = res->error.curl_code;
    free(r->raw);
    free(r->content_type);
    r->raw = res->raw != NULL ? xstrndup(res->raw, res->raw_len) : NULL;
    r->raw_len = res->raw_len;
    r->content_type = res->content_type != NULL ? xstrdup(res->content_type) : NULL;
    r->retry_after_ms = res->error.retry_after_ms;
    r->seconds = res->seconds;
    r->attempts = res->attempts;
    for (int i = 0; i < 3; i++)
        hs_client_cancel(r->cancel[i]);
    if (r->self != NULL)
        hs_client_cancel(r->self); /* inside its own callback: nothing */
    if (r->free_client != NULL)
        hs_client_free(r->free_client);
    if (r->chain_env != NULL && r->chain_left > 0) {
        struct hs_request req = {.method = "GET", .path = "/chain"};

        r->chain_left--;
        request(r->chain_env, &req, r);
    }
}

/* Makes the loop, the server, curl_uv and a client (of base_url, or the
 * server); -1 if the server failed. */
static int
env_init(struct env *env, const char *base_url, uint64_t backoff_initial_ms)
{
    struct hs_client_options opt = {0};

    memset(env, 0, sizeof(*env));
    if (uv_loop_init(&env->loop) != 0)
        abort();
    env->srv = mock_http_new(&env->loop);
    if (env->srv == NULL)
        return -1;
    env->cu = curl_uv_new(&env->loop);
    opt.base_url = base_url != NULL ? base_url : mock_http_url(env->srv);
    opt.as_token = TOKEN;
    opt.verify_tls = 1;
    opt.backoff_initial_ms = backoff_initial_ms;
    env->hc = hs_client_new(&env->loop, env->cu, &opt);
    return 0;
}

/* Frees the client (unless the test did), curl_uv and the server, and
 * checks that nothing is left for the loop. */
static void
env_done(struct env *env, const char *name)
{
    hs_client_free(env->hc);
    curl_uv_close(env->cu);
    mock_http_free(env->srv);
    uv_run(&env->loop, UV_RUN_DEFAULT);
    is_int(uv_loop_close(&env->loop), 0, "%s: the loop closes", name);
}

/* For mock_http_run_until(): the callback has run. */
static int
called(void *arg)
{
    return ((struct result *)arg)->calls > 0;
}

/* For run_for(): never done. */
static int
never(void *arg)
{
    (void)arg;
    return 0;
}

/* Runs the loop for ms milliseconds. */
static void
run_for(uv_loop_t *loop, uint64_t ms)
{
    mock_http_run_until(loop, never, NULL, ms);
}

/* Runs the loop until r's callback has run; 0, or -1 after max_ms. */
static int
run_until_called(struct env *env, struct result *r, uint64_t max_ms)
{
    return mock_http_run_until(&env->loop, called, r, max_ms);
}

struct nreq {
    struct env *env;
    unsigned want;
    int idle; /* also wait until curl has nothing under way */
};

/* For mock_http_run_until(): the server has seen n->want requests (and
 * curl is idle, if asked). */
static int
requests_reached(void *arg)
{
    struct nreq *n = arg;

    return mock_http_nreceived(n->env->srv) >= n->want && (!n->idle || curl_uv_active(n->env->cu) == 0);
}

/* The value of warroom_errors_total{kind=...} in the metrics. */
static unsigned long long
metric_error(const char *kind)
{
    char *text = metrics_render(), *line, needle[128];
    unsigned long long n = 0;

    snprintf(needle, sizeof(needle), "warroom_errors_total{kind=\"%s\"} ", kind);
    if ((line = strstr(text, needle)) != NULL)
        n = strtoull(line + strlen(needle), NULL, 10);
    free(text);
    return n;
}

struct errors_at_least {
    const char *kind;
    unsigned long long want;
};

/* For mock_http_run_until(): the error counter of a kind reached a value. */
static int
errors_reached(void *arg)
{
    struct errors_at_least *e = arg;

    return metric_error(e->kind) >= e->want;
}

/* Milliseconds between the arrival of requests i-1 and i. */
static long long
gap_ms(struct env *env, unsigned i)
{
    const struct mock_http_request *a = mock_http_received(env->srv, i - 1);
    const struct mock_http_request *b = mock_http_received(env->srv, i);

    if (a == NULL || b == NULL)
        return -1;
    return (long long)(b->received_ms - a->received_ms);
}

/* A string member of a JSON object, or NULL. */
static const char *
str_member(struct json_object *obj, const char *key)
{
    struct json_object *v;

    if (!json_object_object_get_ex(obj, key, &v))
        return NULL;
    return json_object_get_string(v);
}

/* Escaping, paths, error descriptions: no network. */
static void
test_escape_and_describe(void)
{
    char *s;
    struct hs_error err = {0};
    struct hs_response res = {0};
    char forbidden[] = "M_FORBIDDEN", not_invited[] = "You are not invited";
    char limit[] = "M_LIMIT_EXCEEDED", too_many[] = "Too many\nrequests";

    s = hs_client_escape(BOT);
    is_str(s, BOT_ESCAPED, "escape: user ID");
    free(s);
    s = hs_client_escape("a b/c?d#e&f=g~-._Z9");
    is_str(s, "a%20b%2Fc%3Fd%23e%26f%3Dg~-._Z9", "escape: reserved escaped, unreserved kept");
    free(s);
    s = hs_client_escape("");
    is_str(s, "", "escape: empty string");
    free(s);
    s = hs_client_escape("caf\xc3\xa9");
    is_str(s, "caf%C3%A9", "escape: UTF-8 bytes");
    free(s);
    s = hs_client_path("/_matrix/client/v3/rooms/%s/send/%s/%s", "!room:example.org", "m.room.message", "t/1");
    is_str(s, "/_matrix/client/v3/rooms/%21room%3Aexample.org/send/m.room.message/t%2F1", "path: each %%s escaped");
    free(s);
    s = hs_client_path("/a%%b/%s", "x y");
    is_str(s, "/a%b/x%20y", "path: %%%% is a percent sign");
    free(s);
    s = hs_client_path("/plain");
    is_str(s, "/plain", "path: no conversion");
    free(s);

    err.status = 403;
    err.errcode = forbidden;
    err.message = not_invited;
    err.retry_after_ms = -1;
    s = hs_error_describe(&err);
    is_str(s, "HTTP 403 M_FORBIDDEN: You are not invited", "describe: Matrix error");
    free(s);
    err.status = 429;
    err.errcode = limit;
    err.message = too_many;
    err.retry_after_ms = 1500;
    s = hs_error_describe(&err);
    is_str(s, "HTTP 429 M_LIMIT_EXCEEDED: Too many requests (retry after 1500 ms)",
           "describe: retry delay, newline flattened");
    free(s);
    err.status = 502;
    err.errcode = NULL;
    err.message = NULL;
    err.retry_after_ms = -1;
    s = hs_error_describe(&err);
    is_str(s, "HTTP 502", "describe: bare status");
    free(s);
    err.status = 0;
    err.curl_code = CURLE_COULDNT_CONNECT;
    s = hs_error_describe(&err);
    is_str(s, "network: Couldn't connect to server", "describe: network error from the curl code");
    free(s);
    s = hs_error_describe(NULL);
    ok(s != NULL, "describe: NULL is described");
    free(s);

    res.status = 200;
    ok(hs_response_ok(&res), "ok: 200");
    res.status = 204;
    ok(hs_response_ok(&res), "ok: 204");
    res.status = 0;
    ok(!hs_response_ok(&res), "ok: not on a network error");
    res.status = 404;
    ok(!hs_response_ok(&res), "ok: not 404");
    hs_client_cancel(NULL);
    hs_client_free(NULL);
    ok(1, "cancel(NULL) and free(NULL) do nothing");
}

/* GET as a bot: path escaping, user_id and query, headers, JSON body. */
static void
test_get(void)
{
    struct env env;
    struct result r = {0};
    struct hs_request req = {0};
    const struct mock_http_request *got;
    uint64_t before = metrics_get(METRICS_HS_REQUESTS);
    char *path = hs_client_path("/_matrix/client/v3/profile/%s", BOT);

    if (env_init(&env, NULL, 0) != 0)
        return;
    mock_http_script(env.srv, NULL, 200, NULL, "{\"displayname\":\"DNS bot\",\"avatar_url\":\"mxc://x/y\"}", 0);
    req.method = "GET";
    req.path = path;
    req.user_id = BOT;
    req.query = "a=b&c=d";
    request(&env, &req, &r);
    is_int(hs_client_pending(env.hc), 1, "get: one call pending");
    is_int(r.calls, 0, "get: no callback from inside the request");
    ok(run_until_called(&env, &r, 5000) == 0, "get: called back");
    is_int(r.calls, 1, "get: once");
    is_int(r.status, 200, "get: 200");
    ok(r.ok, "get: hs_response_ok");
    is_str(str_member(r.body, "displayname"), "DNS bot", "get: body parsed");
    is_int(r.attempts, 1, "get: one attempt");
    ok(r.seconds > 0 && r.seconds < 5, "get: duration measured (%f s)", r.seconds);
    is_int(r.retry_after_ms, -1, "get: no retry delay");
    is_int(hs_client_pending(env.hc), 0, "get: nothing pending after");
    is_int(metrics_get(METRICS_HS_REQUESTS) - before, 1, "get: one request counted");

    got = mock_http_received(env.srv, 0);
    is_str(got ? got->method : NULL, "GET", "get: method");
    is_str(got ? got->path : NULL, "/_matrix/client/v3/profile/" BOT_ESCAPED, "get: path escaped");
    is_str(got ? got->query : NULL, "user_id=" BOT_ESCAPED "&a=b&c=d", "get: user_id escaped, then the query");
    is_str(mock_http_header(got, "authorization"), "Bearer " TOKEN, "get: Authorization header");
    is_str(mock_http_header(got, "accept"), "application/json", "get: Accept header");
    is_str(mock_http_header(got, "user-agent"), "warroom/" PACKAGE_VERSION, "get: User-Agent");
    is_str(mock_http_header(got, "content-type"), NULL, "get: no Content-Type without a body");
    is_int(got ? got->body_len : 99, 0, "get: no body");
    free(path);
    result_clear(&r);
    env_done(&env, "get");
}

/* PUT and POST with JSON bodies, POST without one, a raw body, DELETE. */
static void
test_bodies(void)
{
    struct env env;
    struct result r[5] = {{0}};
    struct hs_request req = {0};
    struct json_object *body = json_object_new_object();
    const struct mock_http_request *got;
    static const char raw[] = {'\x89', 'P', 'N', 'G', '\0', '\r', '\n'};

    if (env_init(&env, NULL, 0) != 0) {
        json_object_put(body);
        return;
    }
    json_object_object_add(body, "msgtype", json_object_new_string("m.text"));
    json_object_object_add(body, "body", json_object_new_string("see https://example.org/a caf\xc3\xa9"));

    req.method = "PUT";
    req.path = "/_matrix/client/v3/rooms/%21r%3Ax/send/m.room.message/t1";
    req.user_id = BOT;
    req.body = body;
    request(&env, &req, &r[0]);
    json_object_put(body); /* serialized already: the client must not need it */
    ok(run_until_called(&env, &r[0], 5000) == 0 && r[0].status == 200, "put: 200");
    got = mock_http_received(env.srv, 0);
    is_str(got ? got->method : NULL, "PUT", "put: method");
    is_str(got ? got->body : NULL, "{\"msgtype\":\"m.text\",\"body\":\"see https://example.org/a caf\xc3\xa9\"}",
           "put: compact JSON, slashes not escaped");
    is_str(mock_http_header(got, "content-type"), "application/json", "put: Content-Type");
    is_str(mock_http_header(got, "expect"), NULL, "put: no Expect header");
    is_str(got ? got->query : NULL, "user_id=" BOT_ESCAPED, "put: user_id alone");

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.path = "/_matrix/client/v3/register";
    body = json_tokener_parse("{\"type\":\"m.login.application_service\",\"username\":\"soc_dns\"}");
    req.body = body;
    request(&env, &req, &r[1]);
    json_object_put(body);
    ok(run_until_called(&env, &r[1], 5000) == 0 && r[1].status == 200, "post: 200");
    got = mock_http_received(env.srv, 1);
    is_str(got ? got->method : NULL, "POST", "post: method");
    is_str(got ? got->body : NULL, "{\"type\":\"m.login.application_service\",\"username\":\"soc_dns\"}", "post: body");
    is_str(got ? got->query : NULL, NULL, "post: no query string without user_id");

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.path = "/_matrix/client/v1/appservice/warroom/ping";
    request(&env, &req, &r[2]);
    ok(run_until_called(&env, &r[2], 5000) == 0 && r[2].status == 200, "post without body: 200");
    got = mock_http_received(env.srv, 2);
    is_str(got ? got->method : NULL, "POST", "post without body: method");
    is_int(got ? got->body_len : 99, 0, "post without body: empty body");
    is_str(mock_http_header(got, "content-type"), NULL, "post without body: no form Content-Type");

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.path = "/_matrix/media/v3/upload";
    req.raw_body = raw;
    req.raw_body_len = sizeof(raw);
    req.content_type = "image/png";
    request(&env, &req, &r[3]);
    ok(run_until_called(&env, &r[3], 5000) == 0 && r[3].status == 200, "raw: 200");
    got = mock_http_received(env.srv, 3);
    is_str(mock_http_header(got, "content-type"), "image/png", "raw: Content-Type");
    ok(got != NULL && got->body_len == sizeof(raw) && memcmp(got->body, raw, sizeof(raw)) == 0,
       "raw: body bytes, NUL included");

    memset(&req, 0, sizeof(req));
    req.method = "DELETE";
    req.path = "/_matrix/client/v3/directory/room/%23a%3Ax";
    request(&env, &req, &r[4]);
    ok(run_until_called(&env, &r[4], 5000) == 0 && r[4].status == 200, "delete: 200");
    got = mock_http_received(env.srv, 4);
    is_str(got ? got->method : NULL, "DELETE", "delete: method");
    is_int(got ? got->body_len : 99, 0, "delete: no body");

    for (int i = 0; i < 5; i++)
        result_clear(&r[i]);
    env_done(&env, "bodies");
}

/* A Matrix error is parsed; 4xx is final even when retrying forever. */
static void
test_matrix_error(void)
{
    struct env env;
    struct result r = {0};
    struct hs_request req = {
        .method = "GET", .path = "/_matrix/client/v3/rooms/%21nope%3Ax/state", .retry = HS_RETRY_FOREVER};
    unsigned long long before = metric_error("homeserver_4xx");

    if (env_init(&env, NULL, 1) != 0)
        return;
    mock_http_script(env.srv, NULL, 404, NULL, "{\"errcode\":\"M_NOT_FOUND\",\"error\":\"Room not found\"}", 0);
    request(&env, &req, &r);
    ok(run_until_called(&env, &r, 5000) == 0, "404: called back");
    is_int(r.status, 404, "404: status");
    ok(!r.ok, "404: not ok");
    is_str(r.errcode, "M_NOT_FOUND", "404: errcode");
    is_str(r.message, "Room not found", "404: message");
    is_int(r.curl_code, CURLE_OK, "404: no curl error");
    is_str(str_member(r.body, "errcode"), "M_NOT_FOUND", "404: body given too");
    is_int(r.attempts, 1, "404: not retried");
    is_int(mock_http_nreceived(env.srv), 1, "404: one request");
    is_str(r.describe, "HTTP 404 M_NOT_FOUND: Room not found", "404: described");
    is_int(metric_error("homeserver_4xx") - before, 1, "404: counted as a 4xx error");
    result_clear(&r);
    env_done(&env, "404");
}

/* A non-JSON error body becomes a short, safe message. */
static void
test_non_json_error(void)
{
    struct env env;
    struct result r = {0}, r2 = {0};
    struct hs_request req = {.method = "GET", .path = "/x"};
    char *long_body = xmalloc(1001);

    memset(long_body, 'a', 1000);
    long_body[1000] = '\0';
    if (env_init(&env, NULL, 0) != 0) {
        free(long_body);
        return;
    }
    mock_http_script(env.srv, NULL, 502, "Content-Type: text/html", "<html>\r\n<b>Bad\tgateway</b>\x01</html>\n", 0);
    mock_http_script(env.srv, NULL, 500, "Content-Type: text/plain", long_body, 0);
    request(&env, &req, &r);
    ok(run_until_called(&env, &r, 5000) == 0, "non-JSON: called back");
    is_int(r.status, 502, "non-JSON: status");
    ok(r.body == NULL, "non-JSON: no body");
    is_str(r.errcode, NULL, "non-JSON: no errcode");
    is_str(r.message, "<html>  <b>Bad gateway</b> </html>", "non-JSON: message sanitized");
    request(&env, &req, &r2);
    ok(run_until_called(&env, &r2, 5000) == 0, "non-JSON long: called back");
    is_int(r2.message != NULL ? (long long)strlen(r2.message) : -1, 200, "non-JSON long: message cut at 200 bytes");
    is_int(r2.attempts, 1, "retry none: one attempt on 500");
    is_int(r2.status, 500, "retry none: the 500 is reported");
    free(long_body);
    result_clear(&r);
    result_clear(&r2);
    env_done(&env, "non-JSON");
}

/* 429 with retry_after_ms: the retry waits that long (the backoff would be
 * 1 ms), and the second attempt's outcome is reported. */
static void
test_429_body(void)
{
    struct env env;
    struct result r = {0};
    struct hs_request req = {.method = "PUT", .path = "/send", .retry = HS_RETRY_FOREVER};
    unsigned long long before = metric_error("homeserver_rate_limited");

    if (env_init(&env, NULL, 1) != 0)
        return;
    mock_http_script(env.srv, NULL, 429, NULL,
                     "{\"errcode\":\"M_LIMIT_EXCEEDED\",\"error\":\"Too many\",\"retry_after_ms\":300}", 0);
    mock_http_script(env.srv, NULL, 200, NULL, "{\"event_id\":\"$e\"}", 0);
    request(&env, &req, &r);
    ok(run_until_called(&env, &r, 5000) == 0, "429 body: called back");
    is_int(r.status, 200, "429 body: the retry worked");
    is_str(str_member(r.body, "event_id"), "$e", "429 body: the retry's body");
    is_int(r.attempts, 2, "429 body: two attempts");
    /* The loop's clock has millisecond steps: allow a few of them. */
    ok(gap_ms(&env, 1) >= 295, "429 body: retried after 300 ms (%lld)", gap_ms(&env, 1));
    is_int(metric_error("homeserver_rate_limited") - before, 1, "429 body: counted as rate limited");
    result_clear(&r);
    env_done(&env, "429 body");
}

/* 429 with Retry-After in seconds, honoured; and both header forms parsed
 * into retry_after_ms when not retrying. */
static void
test_429_header(void)
{
    struct env env;
    struct result r = {0}, r2 = {0}, r3 = {0};
    struct hs_request req = {.method = "GET", .path = "/limited", .retry = HS_RETRY_FOREVER};
    char date[64], headers[96];
    time_t later = time(NULL) + 120;
    struct tm tm;

    if (env_init(&env, NULL, 1) != 0)
        return;
    mock_http_script(env.srv, NULL, 429, "Retry-After: 1", "{\"errcode\":\"M_LIMIT_EXCEEDED\"}", 0);
    mock_http_script(env.srv, NULL, 200, NULL, "{}", 0);
    request(&env, &req, &r);
    ok(run_until_called(&env, &r, 5000) == 0, "Retry-After: called back");
    is_int(r.status, 200, "Retry-After: the retry worked");
    is_int(r.attempts, 2, "Retry-After: two attempts");
    ok(gap_ms(&env, 1) >= 995, "Retry-After: retried after 1000 ms (%lld)", gap_ms(&env, 1));

    req.retry = HS_RETRY_NONE;
    mock_http_script(env.srv, NULL, 429, "Retry-After: 7", NULL, 0);
    request(&env, &req, &r2);
    ok(run_until_called(&env, &r2, 5000) == 0, "Retry-After seconds: called back");
    is_int(r2.status, 429, "Retry-After seconds: 429 reported without retrying");
    is_int(r2.retry_after_ms, 7000, "Retry-After seconds: 7000 ms");

    gmtime_r(&later, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    snprintf(headers, sizeof(headers), "Retry-After: %s", date);
    mock_http_script(env.srv, NULL, 503, headers, NULL, 0);
    request(&env, &req, &r3);
    ok(run_until_called(&env, &r3, 5000) == 0, "Retry-After date: called back");
    ok(r3.retry_after_ms > 100000 && r3.retry_after_ms <= 120000, "Retry-After date: about 120 s (%lld ms)",
       (long long)r3.retry_after_ms);
    result_clear(&r);
    result_clear(&r2);
    result_clear(&r3);
    env_done(&env, "Retry-After");
}

/* 500, 500, 200: three attempts with growing delays in between. */
static void
test_5xx_backoff(void)
{
    struct env env;
    struct result r = {0};
    struct hs_request req = {.method = "GET", .path = "/flaky", .retry = HS_RETRY_FOREVER};
    uint64_t before = metrics_get(METRICS_HS_REQUESTS);
    unsigned long long before_5xx = metric_error("homeserver_5xx");

    if (env_init(&env, NULL, 100) != 0)
        return;
    mock_http_script(env.srv, NULL, 500, NULL, "{\"errcode\":\"M_UNKNOWN\"}", 0);
    mock_http_script(env.srv, NULL, 500, "Content-Type: text/plain", "oops", 0);
    mock_http_script(env.srv, NULL, 200, NULL, "{\"ok\":true}", 0);
    request(&env, &req, &r);
    ok(run_until_called(&env, &r, 5000) == 0, "5xx: called back");
    is_int(r.status, 200, "5xx: finally 200");
    is_int(r.attempts, 3, "5xx: three attempts");
    ok(gap_ms(&env, 1) >= 75, "5xx: first retry after 100 ms - 20%% (%lld)", gap_ms(&env, 1));
    ok(gap_ms(&env, 2) >= 155, "5xx: second retry after 200 ms - 20%% (%lld)", gap_ms(&env, 2));
    is_int(metrics_get(METRICS_HS_REQUESTS) - before, 3, "5xx: every attempt counted");
    is_int(metric_error("homeserver_5xx") - before_5xx, 2, "5xx: two server errors counted");
    result_clear(&r);
    env_done(&env, "5xx");
}

/* A bound port that does not listen: connections are refused. */
static void
hold_port(uv_loop_t *loop, uv_tcp_t *hold, char *url, size_t len)
{
    struct sockaddr_in addr;
    struct sockaddr_storage ss;
    int n = sizeof(ss);

    if (uv_tcp_init(loop, hold) != 0 || uv_ip4_addr("127.0.0.1", 0, &addr) != 0 ||
        uv_tcp_bind(hold, (const struct sockaddr *)&addr, 0) != 0 ||
        uv_tcp_getsockname(hold, (struct sockaddr *)&ss, &n) != 0)
        abort();
    snprintf(url, len, "http://127.0.0.1:%u", ntohs(((struct sockaddr_in *)&ss)->sin_port));
}

struct counter_at_least {
    uint64_t want;
};

/* For mock_http_run_until(): the request counter reached the wanted value. */
static int
requests_counted(void *arg)
{
    return metrics_get(METRICS_HS_REQUESTS) >= ((struct counter_at_least *)arg)->want;
}

/* Connection refused: a network error, final without retries, retried
 * (until cancelled) with them. */
static void
test_refused(void)
{
    struct env env;
    struct result r = {0}, r2 = {0};
    struct hs_request req = {.method = "GET", .path = "/nobody"};
    uv_tcp_t hold;
    char url[64];
    struct hs_call *call;
    struct counter_at_least want;
    unsigned long long before = metric_error("homeserver_network");
    struct hs_client_options opt = {.as_token = TOKEN, .backoff_initial_ms = 20, .backoff_max_ms = 40};

    if (env_init(&env, NULL, 1) != 0)
        return;
    /* A client of its own, for a port that refuses. */
    hold_port(&env.loop, &hold, url, sizeof(url));
    hs_client_free(env.hc);
    opt.base_url = url;
    env.hc = hs_client_new(&env.loop, env.cu, &opt);
    request(&env, &req, &r);
    ok(run_until_called(&env, &r, 5000) == 0, "refused: called back");
    is_int(r.status, 0, "refused: status 0");
    is_int(r.curl_code, CURLE_COULDNT_CONNECT, "refused: CURLE_COULDNT_CONNECT");
    ok(r.message != NULL, "refused: curl's message (%s)", r.message ? r.message : "");
    ok(strncmp(r.describe, "network: ", 9) == 0, "refused: described as a network error (%s)", r.describe);
    is_int(metric_error("homeserver_network") - before, 1, "refused: counted as a network error");

    req.retry = HS_RETRY_FOREVER;
    want.want = metrics_get(METRICS_HS_REQUESTS) + 3;
    call = request(&env, &req, &r2);
    ok(mock_http_run_until(&env.loop, requests_counted, &want, 5000) == 0, "refused forever: three attempts and more");
    hs_client_cancel(call);
    is_int(hs_client_pending(env.hc), 0, "refused forever: nothing pending after cancel");
    run_for(&env.loop, 100);
    is_int(r2.calls, 0, "refused forever: never called back");
    uv_close((uv_handle_t *)&hold, NULL);
    result_clear(&r);
    result_clear(&r2);
    env_done(&env, "refused");
}

/* The per-attempt timeout against a server that answers too late. */
static void
test_timeout(void)
{
    struct env env;
    struct result r = {0};
    struct hs_request req = {.method = "GET", .path = "/slow", .timeout_ms = 200};

    if (env_init(&env, NULL, 0) != 0)
        return;
    mock_http_script(env.srv, NULL, 200, NULL, "{}", 3000);
    request(&env, &req, &r);
    ok(run_until_called(&env, &r, 2500) == 0, "timeout: called back before the answer");
    is_int(r.status, 0, "timeout: status 0");
    is_int(r.curl_code, CURLE_OPERATION_TIMEDOUT, "timeout: CURLE_OPERATION_TIMEDOUT");
    ok(r.seconds >= 0.19, "timeout: the attempt lasted the timeout (%.3f s)", r.seconds);
    result_clear(&r);
    env_done(&env, "timeout");
}

/* Cancel in flight, and while waiting for a retry: no callback. */
static void
test_cancel(void)
{
    struct env env;
    struct result r = {0}, r2 = {0};
    struct hs_request req = {.method = "GET", .path = "/slow"};
    struct hs_call *call;
    struct nreq n;

    if (env_init(&env, NULL, 10000) != 0)
        return;
    mock_http_script(env.srv, "/slow", 200, NULL, "{}", 300);
    call = request(&env, &req, &r);
    n.env = &env;
    n.want = 1;
    n.idle = 0;
    ok(mock_http_run_until(&env.loop, requests_reached, &n, 5000) == 0, "cancel in flight: request sent");
    hs_client_cancel(call);
    is_int(hs_client_pending(env.hc), 0, "cancel in flight: nothing pending");
    is_int(curl_uv_active(env.cu), 0, "cancel in flight: transfer removed");
    run_for(&env.loop, 500);
    is_int(r.calls, 0, "cancel in flight: never called back");

    req.path = "/fails";
    req.retry = HS_RETRY_FOREVER;
    mock_http_script(env.srv, "/fails", 503, NULL, "{}", 0);
    call = request(&env, &req, &r2);
    n.want = 2;
    n.idle = 1;
    ok(mock_http_run_until(&env.loop, requests_reached, &n, 5000) == 0, "cancel while waiting: first attempt over");
    is_int(hs_client_pending(env.hc), 1, "cancel while waiting: waiting for the retry");
    hs_client_cancel(call);
    is_int(hs_client_pending(env.hc), 0, "cancel while waiting: nothing pending");
    run_for(&env.loop, 100);
    is_int(r2.calls, 0, "cancel while waiting: never called back");
    is_int(mock_http_nreceived(env.srv), 2, "cancel while waiting: no further attempt");
    result_clear(&r);
    result_clear(&r2);
    env_done(&env, "cancel");
}

/* A callback cancels a call in flight, one waiting for a retry, and
 * itself; another callback frees the whole client with calls pending. */
static void
test_cancel_from_callback(void)
{
    struct env env;
    struct result fast = {0}, slow = {0}, waiting = {0}, fast2 = {0}, slow2 = {0};
    struct hs_request req_fast = {.method = "GET", .path = "/fast"};
    struct hs_request req_slow = {.method = "GET", .path = "/slow"};
    struct hs_request req_wait = {.method = "GET", .path = "/wait", .retry = HS_RETRY_FOREVER};
    struct hs_call *c_fast, *c_slow, *c_wait;
    struct nreq n = {&env, 2, 1};
    struct errors_at_least e = {"homeserver_5xx", metric_error("homeserver_5xx") + 1};

    if (env_init(&env, NULL, 10000) != 0)
        return;
    mock_http_script(env.srv, "/slow", 200, NULL, "{}", 500);
    mock_http_script(env.srv, "/wait", 500, NULL, "{}", 0);
    mock_http_script(env.srv, "/slow", 200, NULL, "{}", 500);
    c_slow = request(&env, &req_slow, &slow);
    c_wait = request(&env, &req_wait, &waiting);
    n.idle = 0;
    ok(mock_http_run_until(&env.loop, requests_reached, &n, 5000) == 0, "cancel in callback: both sent");
    /* Once the 500 is counted, /wait waits 10 s for its retry. */
    ok(mock_http_run_until(&env.loop, errors_reached, &e, 5000) == 0, "cancel in callback: /wait is waiting");
    fast.cancel[0] = c_slow;
    fast.cancel[1] = c_wait;
    c_fast = request(&env, &req_fast, &fast);
    fast.self = c_fast;
    ok(run_until_called(&env, &fast, 5000) == 0, "cancel in callback: fast called back");
    is_int(hs_client_pending(env.hc), 0, "cancel in callback: the other two are gone");
    run_for(&env.loop, 700);
    is_int(slow.calls + waiting.calls, 0, "cancel in callback: neither called back");
    is_int(fast.calls, 1, "cancel in callback: cancelling itself did nothing");

    /* Now free the client from a callback, with another call in flight. */
    request(&env, &req_slow, &slow2);
    fast2.free_client = env.hc;
    request(&env, &req_fast, &fast2);
    ok(run_until_called(&env, &fast2, 5000) == 0, "free in callback: fast called back");
    env.hc = NULL;
    run_for(&env.loop, 700);
    is_int(slow2.calls, 0, "free in callback: the other call never called back");
    result_clear(&fast);
    result_clear(&slow);
    result_clear(&waiting);
    result_clear(&fast2);
    result_clear(&slow2);
    env_done(&env, "cancel in callback");
}

/* hs_client_free with calls in flight and waiting: no callbacks, and the
 * loop has nothing left once it has run again. */
static void
test_free_pending(void)
{
    struct env env;
    struct result r[4] = {{0}};
    struct hs_request slow = {.method = "GET", .path = "/slow"};
    struct hs_request wait = {.method = "GET", .path = "/wait", .retry = HS_RETRY_FOREVER};
    struct nreq n = {&env, 4, 0};
    struct errors_at_least e = {"homeserver_5xx", metric_error("homeserver_5xx") + 2};
    int calls = 0;

    if (env_init(&env, NULL, 10000) != 0)
        return;
    mock_http_script(env.srv, "/wait", 502, NULL, NULL, 0);
    mock_http_script(env.srv, "/wait", 502, NULL, NULL, 0);
    mock_http_script(env.srv, "/slow", 200, NULL, NULL, 1000);
    mock_http_script(env.srv, "/slow", 200, NULL, NULL, 1000);
    request(&env, &wait, &r[0]);
    request(&env, &wait, &r[1]);
    ok(mock_http_run_until(&env.loop, errors_reached, &e, 5000) == 0, "free pending: two waiting for a retry");
    request(&env, &slow, &r[2]);
    request(&env, &slow, &r[3]);
    n.want = 4;
    ok(mock_http_run_until(&env.loop, requests_reached, &n, 5000) == 0, "free pending: all sent");
    is_int(hs_client_pending(env.hc), 4, "free pending: four pending");
    hs_client_free(env.hc);
    env.hc = NULL;
    run_for(&env.loop, 50);
    for (int i = 0; i < 4; i++) {
        calls += r[i].calls;
        result_clear(&r[i]);
    }
    is_int(calls, 0, "free pending: no callback");
    env_done(&env, "free pending");
}

/* A request started on a curl_uv that refuses it is reported from the
 * loop, not from inside hs_client_request(). */
static void
test_refused_by_curl(void)
{
    struct env env;
    struct result r = {0};
    struct hs_request req = {.method = "GET", .path = "/never"};
    struct hs_client_options opt = {.base_url = "http://127.0.0.1:1", .as_token = TOKEN};
    struct curl_uv *closed;
    struct hs_client *hc;

    if (env_init(&env, NULL, 0) != 0)
        return;
    closed = curl_uv_new(&env.loop);
    hc = hs_client_new(&env.loop, closed, &opt);
    curl_uv_close(closed); /* still allocated until the loop runs */
    hs_client_request(hc, &req, on_result, &r);
    is_int(r.calls, 0, "refused by curl: not called back from inside the request");
    ok(run_until_called(&env, &r, 5000) == 0, "refused by curl: called back from the loop");
    is_int(r.status, 0, "refused by curl: status 0");
    is_int(r.curl_code, CURLE_FAILED_INIT, "refused by curl: CURLE_FAILED_INIT");
    is_int(hs_client_pending(hc), 0, "refused by curl: nothing pending");
    hs_client_free(hc);
    result_clear(&r);
    env_done(&env, "refused by curl");
}

/* For mock_http_run_until(): the chain of calls is over. */
static int
chain_done(void *arg)
{
    struct result *r = arg;

    return r->chain_left == 0 && hs_client_pending(r->chain_env->hc) == 0;
}

/* Sequential requests, each started from the previous one's callback,
 * share one TCP connection. */
static void
test_reuse(void)
{
    struct env env;
    struct result r = {0};
    struct hs_request req = {.method = "GET", .path = "/chain"};

    if (env_init(&env, NULL, 0) != 0)
        return;
    r.chain_env = &env;
    r.chain_left = 4;
    request(&env, &req, &r);
    ok(mock_http_run_until(&env.loop, chain_done, &r, 5000) == 0, "reuse: chain done");
    is_int(r.calls, 5, "reuse: five calls");
    is_int(mock_http_nreceived(env.srv), 5, "reuse: five requests");
    is_int(mock_http_accepted(env.srv), 1, "reuse: one TCP connection");
    result_clear(&r);
    env_done(&env, "reuse");
}

/* For mock_http_run_until(): no call is pending. */
static int
all_finished(void *arg)
{
    struct env *env = arg;

    return hs_client_pending(env->hc) == 0;
}

/* Many concurrent calls all complete. */
static void
test_many(void)
{
    enum { N = 200 };
    struct env env;
    struct result *r = xcalloc(N, sizeof(*r));
    int good = 0;

    if (env_init(&env, NULL, 0) != 0) {
        free(r);
        return;
    }
    for (int i = 0; i < N; i++) {
        char path[32];
        struct hs_request req = {.method = "PUT", .path = path, .user_id = BOT};

        snprintf(path, sizeof(path), "/many/%d", i);
        request(&env, &req, &r[i]);
    }
    is_int(hs_client_pending(env.hc), N, "many: all pending");
    ok(mock_http_run_until(&env.loop, all_finished, &env, 20000) == 0, "many: all finished");
    for (int i = 0; i < N; i++) {
        good += r[i].calls == 1 && r[i].status == 200;
        result_clear(&r[i]);
    }
    is_int(good, N, "many: each called back once with 200");
    is_int(mock_http_nreceived(env.srv), N, "many: the server saw each once");
    free(r);
    env_done(&env, "many");
}

/* A media download: the raw body and its content type reach the caller;
 * a request's own max_response is enforced. */
static void
test_raw_response(void)
{
    struct env env;
    struct result r = {0}, r2 = {0}, r3 = {0};
    struct hs_request req = {.method = "GET", .path = "/_matrix/client/v1/media/download/x/y"};

    if (env_init(&env, NULL, 0) != 0)
        return;
    mock_http_script(env.srv, NULL, 200, "Content-Type: image/png", "\x89PNG\r\n\x1a\nrest", 0);
    mock_http_script(env.srv, NULL, 200, NULL, "{\"a\":1}", 0);
    mock_http_script(env.srv, NULL, 200, "Content-Type: text/plain", "twenty bytes of text", 0);
    request(&env, &req, &r);
    ok(run_until_called(&env, &r, 5000) == 0, "raw: called back");
    is_int(r.status, 200, "raw: 200");
    ok(r.body == NULL, "raw: not JSON, no body");
    is_int(r.raw_len, 12, "raw: raw_len");
    ok(r.raw != NULL && memcmp(r.raw, "\x89PNG\r\n\x1a\nrest", 12) == 0, "raw: the bytes as sent");
    is_str(r.content_type, "image/png", "raw: content type");
    request(&env, &req, &r2);
    ok(run_until_called(&env, &r2, 5000) == 0, "raw JSON: called back");
    is_str(r2.raw, "{\"a\":1}", "raw JSON: raw text too");
    is_str(r2.content_type, "application/json", "raw JSON: content type");
    req.max_response = 10;
    req.retry = HS_RETRY_FOREVER;
    request(&env, &req, &r3);
    ok(run_until_called(&env, &r3, 5000) == 0, "max_response: called back");
    is_int(r3.curl_code, CURLE_FILESIZE_EXCEEDED, "max_response: CURLE_FILESIZE_EXCEEDED");
    is_str(r3.message, "response body larger than 10 bytes", "max_response: said so");
    is_int(r3.attempts, 1, "max_response: not retried");
    is_int(r3.raw_len, 0, "max_response: no raw body");
    result_clear(&r);
    result_clear(&r2);
    result_clear(&r3);
    env_done(&env, "raw");
}

/* A response body over the cap (64 MiB) is an error and never retried,
 * whether announced by Content-Length or found while reading chunks. */
static void
test_too_large(void)
{
    struct env env;
    struct result r = {0}, r2 = {0};
    struct hs_request req = {.method = "GET", .path = "/huge", .retry = HS_RETRY_FOREVER};
    size_t n = 64 * 1024 * 1024 + 1;
    char *big = xmalloc(n + 1);

    memset(big, 'a', n);
    big[n] = '\0';
    if (env_init(&env, NULL, 1) != 0) {
        free(big);
        return;
    }
    mock_http_script(env.srv, NULL, 200, NULL, big, 0);
    mock_http_script(env.srv, NULL, 200, "Transfer-Encoding: chunked", big, 0);
    free(big);
    request(&env, &req, &r);
    ok(run_until_called(&env, &r, 10000) == 0, "too large: called back");
    is_int(r.status, 0, "too large: not a success");
    is_int(r.curl_code, CURLE_FILESIZE_EXCEEDED, "too large: CURLE_FILESIZE_EXCEEDED");
    is_int(r.attempts, 1, "too large: not retried");
    request(&env, &req, &r2);
    ok(run_until_called(&env, &r2, 10000) == 0, "too large chunked: called back");
    is_int(r2.curl_code, CURLE_FILESIZE_EXCEEDED, "too large chunked: CURLE_FILESIZE_EXCEEDED");
    is_str(r2.message, "response body larger than 64 MiB", "too large chunked: said so");
    is_int(r2.attempts, 1, "too large chunked: not retried");
    result_clear(&r);
    result_clear(&r2);
    env_done(&env, "too large");
}

/* Debug logging names each attempt and the retries, and never the token or
 * the query string. */
static void
test_logging(void)
{
    struct env env;
    struct result r = {0};
    struct hs_request req = {.method = "PUT",
                             .path = "/_matrix/client/v3/logged",
                             .user_id = BOT,
                             .query = "secret_query=1",
                             .retry = HS_RETRY_FOREVER};
    FILE *capture = tmpfile();
    char text[8192];
    size_t len;
    int saved;

    if (capture == NULL || env_init(&env, NULL, 1) != 0)
        return;
    mock_http_script(env.srv, NULL, 502, NULL, "{\"errcode\":\"M_UNKNOWN\",\"error\":\"upstream\"}", 0);
    fflush(stderr);
    saved = dup(2);
    dup2(fileno(capture), 2);
    log_init(LOG_LEVEL_DEBUG, LOG_FORMAT_TEXT);
    request(&env, &req, &r);
    run_until_called(&env, &r, 5000);
    log_init(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(capture);
    len = fread(text, 1, sizeof(text) - 1, capture);
    text[len] = '\0';
    fclose(capture);
    is_int(r.status, 200, "logging: the retry worked");
    ok(strstr(text, "PUT /_matrix/client/v3/logged -> 502") != NULL, "logging: the failed attempt at debug");
    ok(strstr(text, "PUT /_matrix/client/v3/logged -> 200") != NULL, "logging: the good attempt at debug");
    ok(strstr(text, "WARN") != NULL && strstr(text, "HTTP 502 M_UNKNOWN: upstream; retrying in") != NULL,
       "logging: the retry at warn, with the error and the delay");
    ok(strstr(text, TOKEN) == NULL, "logging: the token never appears");
    ok(strstr(text, "secret_query") == NULL && strstr(text, "user_id") == NULL, "logging: no query string");
    if (strstr(text, TOKEN) != NULL || strstr(text, "secret_query") != NULL)
        printf("# log was:\n%s", text);
    result_clear(&r);
    env_done(&env, "logging");
}

int
main(void)
{
    test_escape_and_describe();
    test_get();
    test_bodies();
    test_matrix_error();
    test_non_json_error();
    test_429_body();
    test_429_header();
    test_5xx_backoff();
    test_refused();
    test_timeout();
    test_cancel();
    test_cancel_from_callback();
    test_free_pending();
    test_refused_by_curl();
    test_reuse();
    test_many();
    test_raw_response();
    test_too_large();
    test_logging();
    tap_done();
}
