/*
 * curl multi on the libuv loop, against a real HTTP server on the same
 * loop: transfers complete, concurrently and one after another on one
 * connection; sockets that close and come back with the same number are
 * watched again; callbacks may add, remove and close; removed and aborted
 * transfers never call back; and every test leaves a loop that closes.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "appservice/curl_uv.h"
#include "appservice/xmalloc.h"
#include "tests/tap.h"
#include "tests/unit/mock_http.h"

struct blocker;

/* One transfer made by a test, and what came back. */
struct xfer {
    CURL *easy;
    struct curl_uv *cu;
    char body[256];
    size_t len;
    int calls;
    CURLcode result;
    long status;
    /* What the done callback does besides recording. */
    struct xfer *remove_other;
    int close_cu;
    int chain_left; /* re-add itself this many more times */
    int fds[16];    /* the sockets curl opened for it */
    int nfds;
    struct blocker *unblock; /* close this poll handle */
    unsigned *finished;
};

/* Everything one test sets up. */
struct env {
    uv_loop_t loop;
    struct mock_http *srv;
    struct curl_uv *cu;
};

/* CURLOPT_WRITEFUNCTION: keeps the start of the body. */
static size_t
on_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    size_t n = size * nmemb, room = sizeof(x->body) - 1 - x->len;

    memcpy(x->body + x->len, ptr, n < room ? n : room);
    x->len += n < room ? n : room;
    x->body[x->len] = '\0';
    return n;
}

static void on_done(CURL *easy, CURLcode result, void *arg);
static void unblock(struct blocker *b);

/* Prepares x for a GET of srv's url + path. */
static void
xfer_init(struct xfer *x, struct env *env, const char *base, const char *path)
{
    char *url = xasprintf("%s%s", base, path);

    memset(x, 0, sizeof(*x));
    x->cu = env->cu;
    x->easy = curl_easy_init();
    if (x->easy == NULL)
        abort();
    curl_easy_setopt(x->easy, CURLOPT_URL, url);
    curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, 10000L);
    free(url);
}

/* Adds x to curl_uv afresh. */
static int
xfer_start(struct xfer *x)
{
    x->len = 0;
    x->body[0] = '\0';
    return curl_uv_add(x->cu, x->easy, on_done, x);
}

/* The done callback: records, then does what the test asked. */
static void
on_done(CURL *easy, CURLcode result, void *arg)
{
    struct xfer *x = arg;

    x->calls++;
    x->result = result;
    x->status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &x->status);
    if (x->finished != NULL)
        (*x->finished)++;
    if (x->unblock != NULL)
        unblock(x->unblock);
    if (x->remove_other != NULL)
        curl_uv_remove(x->cu, x->remove_other->easy);
    if (x->close_cu)
        curl_uv_close(x->cu);
    if (x->chain_left > 0) {
        x->chain_left--;
        if (xfer_start(x) != 0)
            x->chain_left = -1;
    }
}

/* Makes the loop, the server and the curl_uv; -1 if the server failed. */
static int
env_init(struct env *env)
{
    memset(env, 0, sizeof(*env));
    if (uv_loop_init(&env->loop) != 0)
        abort();
    env->srv = mock_http_new(&env->loop);
    env->cu = curl_uv_new(&env->loop);
    return env->srv != NULL ? 0 : -1;
}

/* Closes cu (unless the test did), the server, and checks the loop closes. */
static void
env_done(struct env *env, int cu_closed)
{
    if (!cu_closed)
        curl_uv_close(env->cu);
    mock_http_free(env->srv);
    uv_run(&env->loop, UV_RUN_DEFAULT);
    is_int(uv_loop_close(&env->loop), 0, "the loop closes: no handle left behind");
}

/* For mock_http_run_until(). */
static int
xfer_called(void *arg)
{
    return ((struct xfer *)arg)->calls > 0;
}

/* For mock_http_run_until(): counts[0] reached counts[1]. */
static int
count_reached(void *arg)
{
    unsigned *counts = arg;

    return counts[0] >= counts[1];
}

struct nreq {
    struct mock_http *srv;
    unsigned want;
};

/* For mock_http_run_until(): the server has seen n->want requests. */
static int
requests_reached(void *arg)
{
    struct nreq *n = arg;

    return mock_http_nreceived(n->srv) >= n->want;
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

/* One GET: callback, status, body, and what the server saw. */
static void
test_get(void)
{
    struct env env;
    struct xfer x;
    const struct mock_http_request *req;

    if (env_init(&env) != 0)
        return;
    mock_http_script(env.srv, "/hello", 200, "Content-Type: text/plain", "hello world", 0);
    xfer_init(&x, &env, mock_http_url(env.srv), "/hello?a=b");
    is_int(xfer_start(&x), 0, "get: added");
    is_int(curl_uv_active(env.cu), 1, "get: one transfer active");
    ok(mock_http_run_until(&env.loop, xfer_called, &x, 5000) == 0, "get: done callback ran");
    is_int(x.calls, 1, "get: exactly one callback");
    is_int(x.result, CURLE_OK, "get: CURLE_OK");
    is_int(x.status, 200, "get: HTTP 200");
    is_str(x.body, "hello world", "get: body received");
    is_int(curl_uv_active(env.cu), 0, "get: nothing active after");
    req = mock_http_received(env.srv, 0);
    is_str(req != NULL ? req->method : NULL, "GET", "get: server saw GET");
    is_str(req != NULL ? req->path : NULL, "/hello", "get: server saw the path");
    is_str(req != NULL ? req->query : NULL, "a=b", "get: server saw the query");
    curl_easy_cleanup(x.easy);
    env_done(&env, 0);
}

/* Many transfers at once, within the per-host connection cap. */
static void
test_concurrent(void)
{
    enum { N = 100 };
    struct env env;
    struct xfer *xs = xcalloc(N, sizeof(*xs));
    unsigned counts[2] = {0, N}, good = 0;
    int added = 0;

    if (env_init(&env) != 0) {
        free(xs);
        return;
    }
    for (int i = 0; i < N; i++) {
        char path[32];

        snprintf(path, sizeof(path), "/n/%d", i);
        xfer_init(&xs[i], &env, mock_http_url(env.srv), path);
        xs[i].finished = &counts[0];
        added += xfer_start(&xs[i]) == 0;
    }
    is_int(added, N, "concurrent: all added");
    is_int(curl_uv_active(env.cu), N, "concurrent: all active");
    ok(mock_http_run_until(&env.loop, count_reached, counts, 10000) == 0, "concurrent: all finished");
    for (int i = 0; i < N; i++)
        good += xs[i].calls == 1 && xs[i].result == CURLE_OK && xs[i].status == 200 && strcmp(xs[i].body, "{}") == 0;
    is_int(good, N, "concurrent: each called back once with 200 {}");
    is_int(mock_http_nreceived(env.srv), N, "concurrent: server saw every request");
    ok(mock_http_accepted(env.srv) <= CURL_UV_MAX_HOST_CONNECTIONS, "concurrent: at most %ld connections (%u)",
       CURL_UV_MAX_HOST_CONNECTIONS, mock_http_accepted(env.srv));
    for (int i = 0; i < N; i++)
        curl_easy_cleanup(xs[i].easy);
    free(xs);
    env_done(&env, 0);
}

/* For mock_http_run_until(): the chain of re-added transfers is over. */
static int
chain_over(void *arg)
{
    struct xfer *x = arg;

    return x->chain_left < 0 || (x->chain_left == 0 && x->calls > 0 && curl_uv_active(x->cu) == 0);
}

/* A done callback re-adds its own handle; sequential transfers share one
 * connection. */
static void
test_chain_reuse(void)
{
    struct env env;
    struct xfer x;
    int same_conn = 1;

    if (env_init(&env) != 0)
        return;
    xfer_init(&x, &env, mock_http_url(env.srv), "/chain");
    x.chain_left = 4;
    xfer_start(&x);
    ok(mock_http_run_until(&env.loop, chain_over, &x, 5000) == 0, "chain: all done");
    is_int(x.calls, 5, "chain: five callbacks from one handle re-added in its own callback");
    is_int(x.result, CURLE_OK, "chain: last one CURLE_OK");
    for (unsigned i = 1; i < mock_http_nreceived(env.srv); i++)
        same_conn &= mock_http_received(env.srv, i)->connection == mock_http_received(env.srv, 0)->connection;
    ok(same_conn, "chain: every request on the same connection");
    is_int(mock_http_accepted(env.srv), 1, "chain: one connection accepted");
    curl_easy_cleanup(x.easy);
    env_done(&env, 0);
}

/* CURLOPT_SOCKOPTFUNCTION: notes each socket opened. */
static int
on_sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
    struct xfer *x = arg;

    (void)purpose;
    if (x->nfds < (int)(sizeof(x->fds) / sizeof(x->fds[0])))
        x->fds[x->nfds++] = (int)fd;
    return CURL_SOCKOPT_OK;
}

/* Each transfer gets a new socket (the server closes after each response,
 * or the client forbids reuse), usually with the descriptor number the
 * previous one had: each must be watched afresh. */
static void
test_socket_reuse(int client_side)
{
    struct env env;
    struct xfer x;
    const char *what = client_side ? "forbid-reuse" : "server-close";
    int good = 0, reused = 0;

    if (env_init(&env) != 0)
        return;
    xfer_init(&x, &env, mock_http_url(env.srv), "/again");
    if (client_side)
        curl_easy_setopt(x.easy, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(x.easy, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
    curl_easy_setopt(x.easy, CURLOPT_SOCKOPTDATA, &x);
    for (int i = 0; i < 6; i++) {
        if (!client_side)
            mock_http_script(env.srv, NULL, 200, "Connection: close", "{\"n\":1}", 0);
        x.calls = 0;
        if (xfer_start(&x) != 0)
            break;
        if (mock_http_run_until(&env.loop, xfer_called, &x, 5000) != 0)
            break;
        good += x.result == CURLE_OK && x.status == 200;
    }
    is_int(good, 6, "%s: six transfers on six sockets", what);
    is_int(mock_http_accepted(env.srv), 6, "%s: six connections accepted", what);
    is_int(x.nfds, 6, "%s: six sockets opened", what);
    for (int i = 1; i < x.nfds; i++)
        reused += x.fds[i] == x.fds[i - 1];
    ok(reused > 0, "%s: a descriptor number came back (%d times) and was watched again", what, reused);
    curl_easy_cleanup(x.easy);
    env_done(&env, 0);
}

/* A refused connection is reported as CURLE_COULDNT_CONNECT. */
static void
test_refused(void)
{
    struct env env;
    struct xfer x;
    uv_tcp_t hold;
    struct sockaddr_in addr;
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    char base[64];

    if (env_init(&env) != 0)
        return;
    /* A socket bound but not listening: connecting to its port is refused,
     * and nobody else can take the port meanwhile. */
    if (uv_tcp_init(&env.loop, &hold) != 0 || uv_ip4_addr("127.0.0.1", 0, &addr) != 0 ||
        uv_tcp_bind(&hold, (const struct sockaddr *)&addr, 0) != 0 ||
        uv_tcp_getsockname(&hold, (struct sockaddr *)&ss, &len) != 0)
        abort();
    snprintf(base, sizeof(base), "http://127.0.0.1:%u", ntohs(((struct sockaddr_in *)&ss)->sin_port));
    xfer_init(&x, &env, base, "/nobody");
    xfer_start(&x);
    ok(mock_http_run_until(&env.loop, xfer_called, &x, 5000) == 0, "refused: called back");
    is_int(x.result, CURLE_COULDNT_CONNECT, "refused: CURLE_COULDNT_CONNECT");
    is_int(curl_uv_active(env.cu), 0, "refused: nothing active");
    uv_close((uv_handle_t *)&hold, NULL);
    curl_easy_cleanup(x.easy);
    env_done(&env, 0);
}

/* curl's own timeout fires through the uv timer. */
static void
test_timeout(void)
{
    struct env env;
    struct xfer x;

    if (env_init(&env) != 0)
        return;
    mock_http_script(env.srv, "/slow", 200, NULL, "{}", 3000);
    xfer_init(&x, &env, mock_http_url(env.srv), "/slow");
    curl_easy_setopt(x.easy, CURLOPT_TIMEOUT_MS, 150L);
    xfer_start(&x);
    ok(mock_http_run_until(&env.loop, xfer_called, &x, 5000) == 0, "timeout: called back before the reply");
    is_int(x.result, CURLE_OPERATION_TIMEDOUT, "timeout: CURLE_OPERATION_TIMEDOUT");
    curl_easy_cleanup(x.easy);
    env_done(&env, 0);
}

/* A done callback removes another transfer that is under way; removing
 * unknown or finished handles does nothing. */
static void
test_remove(void)
{
    struct env env;
    struct xfer fast, slow, idle;
    struct nreq n;

    if (env_init(&env) != 0)
        return;
    mock_http_script(env.srv, "/slow", 200, NULL, "{}", 400);
    xfer_init(&fast, &env, mock_http_url(env.srv), "/fast");
    xfer_init(&slow, &env, mock_http_url(env.srv), "/slow");
    xfer_init(&idle, &env, mock_http_url(env.srv), "/idle");
    xfer_start(&slow);
    n.srv = env.srv;
    n.want = 1;
    mock_http_run_until(&env.loop, requests_reached, &n, 5000);
    fast.remove_other = &slow;
    xfer_start(&fast);
    ok(mock_http_run_until(&env.loop, xfer_called, &fast, 5000) == 0, "remove: fast done");
    is_int(curl_uv_active(env.cu), 0, "remove: slow removed from inside fast's callback");
    curl_uv_remove(env.cu, idle.easy);
    curl_uv_remove(env.cu, fast.easy);
    curl_uv_remove(env.cu, NULL);
    ok(1, "remove: unknown, finished and NULL handles are ignored");
    run_for(&env.loop, 700);
    is_int(slow.calls, 0, "remove: removed transfer never called back");
    is_int(fast.calls, 1, "remove: fast called back once");

    /* The handle is free again and can be added anew. */
    is_int(xfer_start(&slow), 0, "remove: removed handle can be added again");
    is_int(xfer_start(&slow), -1, "remove: adding a running handle twice is refused");
    ok(mock_http_run_until(&env.loop, xfer_called, &slow, 5000) == 0, "remove: re-added handle done");
    is_int(slow.calls, 1, "remove: one callback for the twice-added handle");
    curl_easy_cleanup(fast.easy);
    curl_easy_cleanup(slow.easy);
    curl_easy_cleanup(idle.easy);
    env_done(&env, 0);
}

/* Closing with transfers under way: no callback, and the loop closes. */
static void
test_close_inflight(void)
{
    struct env env;
    struct xfer xs[3];
    struct nreq n;
    int calls = 0;

    if (env_init(&env) != 0)
        return;
    for (int i = 0; i < 3; i++) {
        mock_http_script(env.srv, NULL, 200, NULL, "{}", 2000);
        xfer_init(&xs[i], &env, mock_http_url(env.srv), "/pending");
        xfer_start(&xs[i]);
    }
    n.srv = env.srv;
    n.want = 3;
    ok(mock_http_run_until(&env.loop, requests_reached, &n, 5000) == 0, "close: three requests in flight");
    curl_uv_close(env.cu);
    curl_uv_close(NULL);
    mock_http_free(env.srv);
    uv_run(&env.loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 3; i++) {
        calls += xs[i].calls;
        curl_easy_cleanup(xs[i].easy);
    }
    is_int(calls, 0, "close: aborted transfers never called back");
    is_int(uv_loop_close(&env.loop), 0, "close: the loop closes");
}

/* A done callback closes the curl_uv while another transfer runs. */
static void
test_close_from_callback(void)
{
    struct env env;
    struct xfer fast, slow;
    struct nreq n;

    if (env_init(&env) != 0)
        return;
    mock_http_script(env.srv, "/slow", 200, NULL, "{}", 2000);
    xfer_init(&fast, &env, mock_http_url(env.srv), "/fast");
    xfer_init(&slow, &env, mock_http_url(env.srv), "/slow");
    xfer_start(&slow);
    n.srv = env.srv;
    n.want = 1;
    mock_http_run_until(&env.loop, requests_reached, &n, 5000);
    fast.close_cu = 1;
    xfer_start(&fast);
    ok(mock_http_run_until(&env.loop, xfer_called, &fast, 5000) == 0, "close in callback: fast done");
    mock_http_free(env.srv);
    uv_run(&env.loop, UV_RUN_DEFAULT);
    is_int(slow.calls, 0, "close in callback: the other transfer never called back");
    curl_easy_cleanup(fast.easy);
    curl_easy_cleanup(slow.easy);
    is_int(uv_loop_close(&env.loop), 0, "close in callback: the loop closes");
}

/* A socket that libuv cannot watch (here: another poll handle has it
 * already) fails that transfer alone; the next transfer works.  The
 * blocking poll handle is closed from the done callback: curl has closed
 * the socket by then, and libuv must not meet a closed descriptor on its
 * next poll. */
struct blocker {
    uv_loop_t *loop;
    uv_poll_t poll;
    int active;
};

/* The blocking poll handle never has anything to do. */
static void
on_blocker(uv_poll_t *poll, int status, int events)
{
    (void)poll;
    (void)status;
    (void)events;
}

/* Closes the blocking poll handle, once. */
static void
unblock(struct blocker *b)
{
    if (b->active) {
        b->active = 0;
        uv_close((uv_handle_t *)&b->poll, NULL);
    }
}

/* CURLOPT_OPENSOCKETFUNCTION: opens the socket and watches it first. */
static curl_socket_t
open_blocked(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct blocker *b = arg;
    curl_socket_t fd = socket(a->family, a->socktype, a->protocol);

    (void)purpose;
    if (fd == CURL_SOCKET_BAD)
        return fd;
    if (!b->active && uv_poll_init_socket(b->loop, &b->poll, fd) == 0) {
        b->active = 1;
        if (uv_poll_start(&b->poll, UV_READABLE, on_blocker) != 0)
            printf("# blocker: uv_poll_start failed\n");
    }
    return fd;
}

static void
test_unwatchable(void)
{
    struct env env;
    struct xfer x, y;
    struct blocker b = {0};

    if (env_init(&env) != 0)
        return;
    b.loop = &env.loop;
    xfer_init(&x, &env, mock_http_url(env.srv), "/blocked");
    curl_easy_setopt(x.easy, CURLOPT_OPENSOCKETFUNCTION, open_blocked);
    curl_easy_setopt(x.easy, CURLOPT_OPENSOCKETDATA, &b);
    x.unblock = &b;
    xfer_start(&x);
    ok(mock_http_run_until(&env.loop, xfer_called, &x, 5000) == 0, "unwatchable: called back");
    is_int(x.result, CURLE_ABORTED_BY_CALLBACK, "unwatchable: that transfer failed");
    is_int(curl_uv_active(env.cu), 0, "unwatchable: nothing active");
    curl_easy_cleanup(x.easy);
    xfer_init(&y, &env, mock_http_url(env.srv), "/fine");
    xfer_start(&y);
    ok(mock_http_run_until(&env.loop, xfer_called, &y, 5000) == 0, "unwatchable: the next transfer ran");
    is_int(y.result, CURLE_OK, "unwatchable: and worked (the multi handle is not dead)");
    curl_easy_cleanup(y.easy);
    env_done(&env, 0);
}

int
main(void)
{
    test_get();
    test_concurrent();
    test_chain_reuse();
    test_socket_reuse(0);
    test_socket_reuse(1);
    test_refused();
    test_timeout();
    test_remove();
    test_close_inflight();
    test_close_from_callback();
    test_unwatchable();
    tap_done();
}
