/*
 * The daemon's life: start-up, the loop, shutdown.
 *
 * Start-up order matters: the store first (nothing is acknowledged before
 * it can be stored), then the HTTP listener (the homeserver's ping calls
 * back into it), then the router's catch-up, the outbox (what the last
 * run left), bot registration, and the ping of the homeserver that tells
 * the operator whether the homeserver can reach warroom.
 *
 * Shutdown (first SIGTERM or SIGINT): stop accepting connections, let the
 * requests and commands in flight finish, let the outbox finish the
 * requests it has started, then close every handle so that
 * uv_loop_close() returns 0.  What is still queued stays in the store for
 * the next run.  After appservice.shutdown_grace, or at a second signal,
 * whatever is still running is cancelled; nothing acknowledged is lost
 * either way, because it is all in the store.
 */
#include "autoconfig.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "as_api.h"
#include "bots.h"
#include "bridge_host.h"
#include "config.h"
#include "core.h"
#include "curl_uv.h"
#include "daemon.h"
#include "hs_client.h"
#include "http/http_server.h"
#include "json_check.h"
#include "log.h"
#include "metrics.h"
#include "ops_api.h"
#include "outbox.h"
#include "registration/registration.h"
#include "router.h"
#include "store/store.h"
#include "txn_writer.h"
#include "xmalloc.h"

/* The parts that must report done before the loop stops. */
enum daemon_part {
    DAEMON_PART_HTTP = 1 << 0,
    DAEMON_PART_METRICS_HTTP = 1 << 1,
    DAEMON_PART_ROUTER = 1 << 2,
    DAEMON_PART_OUTBOX = 1 << 3,
};

struct daemon {
    uv_loop_t loop;
    struct config *cfg;
    struct core core; /* store, homeserver client, bots, bridges, outbox, router */
    struct txn_writer *writer;
    struct as_api *api;
    struct http_server *http;
    struct http_server *metrics_http;
    struct ops_api metrics_ops;

    uv_signal_t sigterm;
    uv_signal_t sigint;
    uv_timer_t timer; /* start-up ping retries, then the shutdown grace */
    int handles_open;

    struct hs_call *ping_call;
    char ping_txn[48];
    unsigned ping_attempts;
    int homeserver_reached_us;

    int ready;
    int stopping;
    unsigned waiting; /* enum daemon_part bits still running during shutdown */
};

static int
daemon_is_ready(void *arg)
{
    struct daemon *d = arg;

    return d->ready && !d->stopping;
}

/* Called when the homeserver pings us: our start-up ping got through. */
static void
daemon_on_homeserver_ping(const char *transaction_id, void *arg)
{
    struct daemon *d = arg;

    if (transaction_id != NULL && strcmp(transaction_id, d->ping_txn) == 0)
        d->homeserver_reached_us = 1;
}

static void daemon_ping(struct daemon *d);

static void
daemon_on_ping_timer(uv_timer_t *t)
{
    daemon_ping(t->data);
}

/* Says plainly, once, whether the homeserver and warroom reach each other. */
static void
daemon_on_ping(const struct hs_response *res, void *arg)
{
    struct daemon *d = arg;
    const char *errcode = res->error.errcode != NULL ? res->error.errcode : "";
    struct json_object *v;

    d->ping_call = NULL;
    if (hs_response_ok(res)) {
        int64_t ms = res->body != NULL && json_object_object_get_ex(res->body, "duration_ms", &v)
                         ? json_object_get_int64(v)
                         : -1;

        log_info("the homeserver reached warroom at %s (round trip %lld ms)", d->cfg->appservice.address,
                 (long long)ms);
        return;
    }
    if (res->status == 0 || res->status >= 500) {
        if (strcmp(errcode, "M_CONNECTION_FAILED") == 0 || strcmp(errcode, "M_CONNECTION_TIMEOUT") == 0 ||
            strcmp(errcode, "M_BAD_STATUS") == 0) {
            log_error("the homeserver cannot reach warroom at %s (%s): check appservice.address in the config "
                      "and url in the registration, and that the homeserver can connect to %s:%ld",
                      d->cfg->appservice.address, errcode, d->cfg->appservice.hostname, d->cfg->appservice.port);
            return;
        }
        if (d->ping_attempts == 1)
            log_warn("cannot reach the homeserver at %s yet (%s); warroom keeps trying and accepts "
                     "transactions meanwhile",
                     d->cfg->homeserver.address,
                     res->status == 0 ? (res->error.message != NULL ? res->error.message : "network error") : errcode);
        if (!d->stopping)
            uv_timer_start(&d->timer, daemon_on_ping_timer, d->ping_attempts < 6 ? 1000u << d->ping_attempts : 60000,
                           0);
        return;
    }
    if (res->status == 404 || strcmp(errcode, "M_UNRECOGNIZED") == 0) {
        log_info("the homeserver does not offer the appservice ping (Matrix 1.7); cannot check that it reaches "
                 "warroom");
    } else if (res->status == 401 || res->status == 403) {
        log_error("the homeserver refused warroom's as_token (%s): install the registration file on the "
                  "homeserver (see README) and restart the homeserver",
                  errcode);
    } else {
        char *why = hs_error_describe(&res->error);

        log_error("the homeserver's ping of warroom failed: %s", why);
        free(why);
    }
}

static void
daemon_ping(struct daemon *d)
{
    struct hs_request req = {0};
    struct json_object *body = json_object_new_object();
    char *path = hs_client_path("/_matrix/client/v1/appservice/%s/ping", d->cfg->appservice.id);

    d->ping_attempts++;
    snprintf(d->ping_txn, sizeof(d->ping_txn), "warroom-start-%u", d->ping_attempts);
    json_object_object_add(body, "transaction_id", json_object_new_string(d->ping_txn));
    req.method = "POST";
    req.path = path;
    req.body = body;
    req.timeout_ms = 20000;
    req.retry = HS_RETRY_NONE;
    d->ping_call = hs_client_request(d->core.hc, &req, daemon_on_ping, d);
    json_object_put(body);
    free(path);
}

/* Stops the loop once every part has finished. */
static void
daemon_part_done(struct daemon *d, unsigned part)
{
    d->waiting &= ~part;
    if (d->waiting == 0) {
        log_info("shutdown complete");
        uv_stop(&d->loop);
    }
}

static void
daemon_on_http_done(void *arg)
{
    daemon_part_done(arg, DAEMON_PART_HTTP);
}

static void
daemon_on_metrics_http_done(void *arg)
{
    daemon_part_done(arg, DAEMON_PART_METRICS_HTTP);
}

static void
daemon_on_outbox_done(void *arg)
{
    daemon_part_done(arg, DAEMON_PART_OUTBOX);
}

/* The outbox stops after the router, so that answers to the last
 * commands are at least stored before it does. */
static void
daemon_on_router_done(void *arg)
{
    struct daemon *d = arg;

    outbox_shutdown(d->core.outbox, daemon_on_outbox_done, d);
    daemon_part_done(d, DAEMON_PART_ROUTER);
}

static void
daemon_on_grace_timer(uv_timer_t *t)
{
    struct daemon *d = t->data;

    log_warn("shutdown grace of %llu ms over; cancelling what still runs (it stays queued for the next run)",
             (unsigned long long)d->cfg->appservice.shutdown_grace);
    uv_stop(&d->loop);
}

static void
daemon_on_signal(uv_signal_t *sig, int signum)
{
    struct daemon *d = sig->data;

    if (d->stopping) {
        log_warn("second %s: stopping now", signum == SIGINT ? "SIGINT" : "SIGTERM");
        uv_stop(&d->loop);
        return;
    }
    log_info("%s received: shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
    d->stopping = 1;
    d->ready = 0;
    hs_client_cancel(d->ping_call);
    d->ping_call = NULL;
    uv_timer_stop(&d->timer);
    uv_timer_start(&d->timer, daemon_on_grace_timer, d->cfg->appservice.shutdown_grace, 0);
    d->waiting = DAEMON_PART_HTTP | DAEMON_PART_ROUTER | DAEMON_PART_OUTBOX |
                 (d->metrics_http != NULL ? DAEMON_PART_METRICS_HTTP : 0);
    as_api_shutdown(d->api);
    /* Nothing waits for a homeserver that is down: what was not sent stays
     * in the outbox for the next run. */
    hs_client_drain(d->core.hc);
    http_server_shutdown(d->http, daemon_on_http_done, d);
    if (d->metrics_http != NULL)
        http_server_shutdown(d->metrics_http, daemon_on_metrics_http_done, d);
    router_shutdown(d->core.router, daemon_on_router_done, d);
}

/* Prints each config error line to stderr. */
static void
daemon_print_errors(const struct config_errors *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        fprintf(stderr, "%s\n", errs->lines[i]);
}

/* Parses "host:port" (the host may be a bracketed IPv6 literal). */
static int
daemon_split_listen(const char *listen, char **host, int *port)
{
    const char *colon = strrchr(listen, ':');
    char *end;
    long p;

    if (colon == NULL)
        return -1;
    p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 0 || p > 65535)
        return -1;
    if (listen[0] == '[' && colon > listen + 1 && colon[-1] == ']')
        *host = xstrndup(listen + 1, (size_t)(colon - listen - 2));
    else
        *host = xstrndup(listen, (size_t)(colon - listen));
    *port = (int)p;
    return 0;
}

/* Builds everything and starts listening.  Returns 0 or -1 (logged). */
static int
daemon_start(struct daemon *d, const char *registration_path)
{
    struct store_options sopt = {.path = d->cfg->appservice.database, .sync_normal = d->cfg->appservice.database_sync};
    struct as_api_options aopt = {0};
    struct http_server_options sv = {0};
    struct config_errors errs = {0};
    char *cause = NULL;

    if (registration_path != NULL && registration_check(d->cfg, registration_path, &errs) != 0) {
        daemon_print_errors(&errs);
        config_errors_free(&errs);
        return -1;
    }
    if (core_open(&d->core, &d->loop, d->cfg, 0, &errs) != 0) {
        daemon_print_errors(&errs);
        config_errors_free(&errs);
        return -1;
    }
    if (txn_writer_new(&d->loop, &sopt, &d->writer, &cause) != 0) {
        log_error("%s", cause);
        free(cause);
        return -1;
    }

    aopt.cfg = d->cfg;
    aopt.store = d->core.store;
    aopt.bots = d->core.bots;
    aopt.router = d->core.router;
    aopt.writer = d->writer;
    aopt.ops.ready = daemon_is_ready;
    aopt.ops.ready_arg = d;
    aopt.ops.serve_metrics = d->cfg->metrics.enabled && d->cfg->metrics.listen[0] == '\0';
    aopt.on_ping = daemon_on_homeserver_ping;
    aopt.on_ping_arg = d;
    d->api = as_api_new(&aopt);

    sv.name = "appservice";
    sv.max_body_size = d->cfg->appservice.max_body_size;
    sv.handler = as_api_handle;
    sv.arg = d->api;
    d->http = http_server_new(&d->loop, &sv);
    if (http_server_listen(d->http, d->cfg->appservice.hostname, (int)d->cfg->appservice.port, &cause) != 0) {
        log_error("%s (appservice.hostname and appservice.port)", cause);
        free(cause);
        return -1;
    }
    if (d->cfg->metrics.enabled && d->cfg->metrics.listen[0] != '\0') {
        char *host = NULL;
        int port = 0;

        d->metrics_ops.ready = daemon_is_ready;
        d->metrics_ops.ready_arg = d;
        d->metrics_ops.serve_metrics = 1;
        sv.name = "metrics";
        sv.max_body_size = 65536;
        sv.handler = ops_api_handle;
        sv.arg = &d->metrics_ops;
        d->metrics_http = http_server_new(&d->loop, &sv);
        if (daemon_split_listen(d->cfg->metrics.listen, &host, &port) != 0 ||
            http_server_listen(d->metrics_http, host, port, &cause) != 0) {
            log_error("metrics.listen %s: %s", d->cfg->metrics.listen, cause != NULL ? cause : "not host:port");
            free(cause);
            free(host);
            return -1;
        }
        free(host);
    }

    if (router_start(d->core.router, &cause) != 0) {
        log_error("cannot catch up with stored events: %s", cause);
        free(cause);
        return -1;
    }
    outbox_kick(d->core.outbox);
    bots_start(d->core.bots);
    daemon_ping(d);
    d->ready = 1;
    log_info("warroom %s is ready: homeserver %s, listening for it at %s", PACKAGE_VERSION, d->cfg->homeserver.address,
             d->cfg->appservice.address);
    return 0;
}

/* Releases everything, in the order that keeps every callback safe:
 * owners of homeserver calls before the client, the client before curl. */
static void
daemon_teardown(struct daemon *d)
{
    /* Work on the thread pool cannot be stopped: let the transactions
     * being stored finish, while h2o and the router are still there to
     * answer and route them. */
    while (d->writer != NULL && txn_writer_pending(d->writer) > 0)
        uv_run(&d->loop, UV_RUN_ONCE);
    if (d->core.hc != NULL)
        hs_client_cancel(d->ping_call);
    as_api_free(d->api);
    core_close(&d->core);
    http_server_free(d->http);
    http_server_free(d->metrics_http);
    txn_writer_free(d->writer);
    if (d->handles_open) {
        uv_close((uv_handle_t *)&d->sigterm, NULL);
        uv_close((uv_handle_t *)&d->sigint, NULL);
        uv_close((uv_handle_t *)&d->timer, NULL);
    }
    /* Close callbacks run in the next iteration or two.  Never run the
     * loop to completion here: after a forced stop a connection h2o still
     * owns would keep it running. */
    for (int i = 0; i < 16 && uv_run(&d->loop, UV_RUN_NOWAIT) != 0; i++)
        ;
    json_check_cleanup();
}

int
daemon_run(const char *config_path, const char *registration_path)
{
    struct daemon d;
    struct config_errors errs = {0};
    int status = 1, rc;

    memset(&d, 0, sizeof(d));
    if (config_load(config_path, &d.cfg, &errs) != 0 || config_check_runnable(d.cfg, &errs) != 0) {
        daemon_print_errors(&errs);
        config_errors_free(&errs);
        config_free(d.cfg);
        return 1;
    }
    log_init((enum log_level)d.cfg->logging.level, (enum log_format)d.cfg->logging.format);
    signal(SIGPIPE, SIG_IGN);
    if (uv_loop_init(&d.loop) != 0) {
        log_error("cannot set up the event loop");
        config_free(d.cfg);
        return 1;
    }
    if (uv_signal_init(&d.loop, &d.sigterm) != 0 || uv_signal_init(&d.loop, &d.sigint) != 0 ||
        uv_timer_init(&d.loop, &d.timer) != 0)
        abort();
    d.handles_open = 1;
    d.sigterm.data = d.sigint.data = d.timer.data = &d;
    uv_signal_start(&d.sigterm, daemon_on_signal, SIGTERM);
    uv_signal_start(&d.sigint, daemon_on_signal, SIGINT);

    if (daemon_start(&d, registration_path) == 0) {
        uv_run(&d.loop, UV_RUN_DEFAULT);
        /* A shutdown cut short by the grace period or a second signal is
         * still orderly: what was cancelled stays queued in the store. */
        status = 0;
    }
    daemon_teardown(&d);
    if ((rc = uv_loop_close(&d.loop)) != 0) {
        log_error("the event loop did not close cleanly: %s", uv_strerror(rc));
        status = 1;
    }
    config_free(d.cfg);
    return status;
}
