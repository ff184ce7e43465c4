/*
 * The Application Service API; see as_api.h.
 *
 * Routes are a table of (method, path pattern, handler); a pattern's "*"
 * matches one percent-decoded path segment, passed to the handler.
 *
 * Transactions are parsed and stored off the loop (txn_writer.h).  A
 * homeserver retries a transaction it got no answer for; a retry that
 * arrives while the first attempt is still being stored is not stored a
 * second time but waits, and both get the first attempt's answer.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "as_api.h"
#include "as_auth.h"
#include "bots.h"
#include "clock.h"
#include "config.h"
#include "http/http_reply.h"
#include "http/http_request.h"
#include "http/http_server.h"
#include "log.h"
#include "metrics.h"
#include "router.h"
#include "store/store.h"
#include "txn.h"
#include "txn_writer.h"
#include "xmalloc.h"

/* The thirdparty protocol warroom answers for (the registration lists it). */
#define AS_API_PROTOCOL "warroom"

struct as_api_user_query;
struct as_api_txn;

struct as_api {
    struct as_api_options opt;
    struct as_api_user_query *queries; /* user queries waiting for a registration */
    struct as_api_txn *txns;           /* transactions being stored */
};

/* A request waiting for a transaction's outcome. */
struct as_api_txn_waiter {
    struct http_deferred *d;
    struct as_api_txn_waiter *next;
};

/* A transaction being stored, and the requests (first attempt and
 * retries) waiting for it. */
struct as_api_txn {
    struct as_api *api;
    char *txn_id;
    struct as_api_txn_waiter *waiters;
    struct as_api_txn *next;
};

/* A user query waiting for its bot to be registered. */
struct as_api_user_query {
    struct as_api *api;
    struct http_deferred *d;
    struct bot *bot;
    struct as_api_user_query *next;
};

typedef void (*as_api_route_fn)(struct as_api *api, struct http_server *srv, h2o_req_t *req,
                                const struct http_request_path *path, const char *arg);

struct as_api_route {
    const char *method;
    const char *pattern; /* segments separated by '/', "*" for one variable segment */
    as_api_route_fn fn;
};

static void as_api_transaction(struct as_api *, struct http_server *, h2o_req_t *, const struct http_request_path *,
                               const char *);
static void as_api_user(struct as_api *, struct http_server *, h2o_req_t *, const struct http_request_path *,
                        const char *);
static void as_api_alias(struct as_api *, struct http_server *, h2o_req_t *, const struct http_request_path *,
                         const char *);
static void as_api_ping(struct as_api *, struct http_server *, h2o_req_t *, const struct http_request_path *,
                        const char *);
static void as_api_tp_protocol(struct as_api *, struct http_server *, h2o_req_t *, const struct http_request_path *,
                               const char *);
static void as_api_tp_user(struct as_api *, struct http_server *, h2o_req_t *, const struct http_request_path *,
                           const char *);
static void as_api_tp_location(struct as_api *, struct http_server *, h2o_req_t *, const struct http_request_path *,
                               const char *);

static const struct as_api_route as_api_routes[] = {
    {"PUT", "_matrix/app/v1/transactions/*", as_api_transaction},
    {"GET", "_matrix/app/v1/users/*", as_api_user},
    {"GET", "_matrix/app/v1/rooms/*", as_api_alias},
    {"POST", "_matrix/app/v1/ping", as_api_ping},
    {"GET", "_matrix/app/v1/thirdparty/protocol/*", as_api_tp_protocol},
    {"GET", "_matrix/app/v1/thirdparty/user/*", as_api_tp_user},
    {"GET", "_matrix/app/v1/thirdparty/user", as_api_tp_user},
    {"GET", "_matrix/app/v1/thirdparty/location/*", as_api_tp_location},
    {"GET", "_matrix/app/v1/thirdparty/location", as_api_tp_location},
    /* The paths of the legacy (pre-r0.1) Application Service API. */
    {"PUT", "transactions/*", as_api_transaction},
    {"GET", "users/*", as_api_user},
    {"GET", "rooms/*", as_api_alias},
    {"GET", "_matrix/app/unstable/thirdparty/protocol/*", as_api_tp_protocol},
    {"GET", "_matrix/app/unstable/thirdparty/user/*", as_api_tp_user},
    {"GET", "_matrix/app/unstable/thirdparty/user", as_api_tp_user},
    {"GET", "_matrix/app/unstable/thirdparty/location/*", as_api_tp_location},
    {"GET", "_matrix/app/unstable/thirdparty/location", as_api_tp_location},
    {NULL, NULL, NULL},
};

struct as_api *
as_api_new(const struct as_api_options *opt)
{
    struct as_api *api = xcalloc(1, sizeof(*api));

    api->opt = *opt;
    return api;
}

/* Matches path against pattern; *arg gets the segment that matched "*". */
static int
as_api_match(const char *pattern, const struct http_request_path *path, const char **arg)
{
    size_t i = 0;
    const char *p = pattern;

    *arg = NULL;
    while (*p != '\0') {
        const char *slash = strchr(p, '/');
        size_t len = slash != NULL ? (size_t)(slash - p) : strlen(p);

        if (i >= path->n)
            return 0;
        if (len == 1 && *p == '*') {
            if (path->segments[i][0] == '\0')
                return 0;
            *arg = path->segments[i];
        } else if (strlen(path->segments[i]) != len || strncmp(path->segments[i], p, len) != 0) {
            return 0;
        }
        i++;
        p += len;
        if (*p == '/')
            p++;
    }
    return i == path->n;
}

void
as_api_handle(struct http_server *srv, h2o_req_t *req, void *arg)
{
    struct as_api *api = arg;
    const struct as_api_route *route = NULL;
    struct http_request_path path;
    struct as_auth_result auth;
    const char *seg = NULL;
    char *authorization, *query_token;
    int path_known = 0;

    if (ops_api_try(&api->opt.ops, req))
        return;
    if (http_request_split_path(req, &path) != 0) {
        metrics_error(METRICS_ERR_NOT_FOUND);
        http_reply_error(req, 404, "M_UNRECOGNIZED", "Unrecognized request");
        return;
    }
    for (const struct as_api_route *r = as_api_routes; r->method != NULL; r++) {
        const char *a;

        if (!as_api_match(r->pattern, &path, &a))
            continue;
        path_known = 1;
        if (http_request_method_is(req, r->method)) {
            route = r;
            seg = a;
            break;
        }
    }
    if (route == NULL) {
        metrics_error(path_known ? METRICS_ERR_BAD_METHOD : METRICS_ERR_NOT_FOUND);
        log_debug("as_api: %s %s: %s", http_request_method(req), http_request_path_only(req),
                  path_known ? "wrong method" : "unknown path");
        if (path_known)
            http_reply_error(req, 405, "M_UNRECOGNIZED", "Method not allowed on this path");
        else
            http_reply_error(req, 404, "M_UNRECOGNIZED", "Unrecognized request");
        goto out;
    }
    authorization = http_request_header(req, H2O_TOKEN_AUTHORIZATION);
    query_token = http_request_query(req, "access_token", NULL);
    auth = as_auth_check(api->opt.cfg->appservice.hs_token, authorization, query_token,
                         api->opt.cfg->appservice.legacy_access_token);
    xfree_secret(authorization);
    xfree_secret(query_token);
    if (auth.status != 0) {
        metrics_error(auth.status == 401 ? METRICS_ERR_AUTH_MISSING : METRICS_ERR_AUTH_FORBIDDEN);
        log_warn("as_api: %s %s refused: %s", http_request_method(req), http_request_path_only(req), auth.message);
        http_reply_error(req, auth.status, auth.errcode, "%s", auth.message);
        goto out;
    }
    route->fn(api, srv, req, &path, seg);
out:
    http_request_path_clear(&path);
}

/* Answers one waiting request with a transaction's outcome. */
static void
as_api_txn_answer(h2o_req_t *req, const struct txn_writer_result *res)
{
    if (req == NULL)
        return; /* the homeserver hung up; it will send the transaction again */
    if (res->status == 200)
        http_reply_json_text(req, 200, "{}");
    else if (res->status == 400)
        http_reply_error(req, 400, res->err.errcode, "%s", res->err.message);
    else
        http_reply_error(req, 500, "M_UNKNOWN", "warroom could not store the transaction; send it again later");
}

/* The writer's report: answer every waiting request, then route. */
static void
as_api_on_stored(const struct txn_writer_result *res, void *arg)
{
    struct as_api_txn *t = arg;
    struct as_api *api = t->api;
    const struct txn *txn = res->txn;

    if (res->status == 400) {
        metrics_error(strcmp(res->err.errcode, "M_NOT_JSON") == 0 ? METRICS_ERR_NOT_JSON : METRICS_ERR_BAD_JSON);
        log_warn("as_api: transaction %s refused: %s", t->txn_id, res->err.message);
    } else if (res->status == 500) {
        /* Not acknowledged: the homeserver keeps the transaction and sends
         * it again, so nothing is lost. */
        metrics_error(METRICS_ERR_DATABASE);
        log_error("as_api: transaction %s not stored: %s", t->txn_id, res->cause);
    } else {
        metrics_add(METRICS_TRANSACTIONS, 1);
        metrics_add(METRICS_EVENTS, res->n_new);
        metrics_add(METRICS_EVENTS_DUPLICATE, txn->nevents - res->n_new);
        metrics_add(METRICS_EPHEMERAL, txn->nephemeral);
        metrics_add(METRICS_TO_DEVICE, txn->nto_device);
        if (txn->nevents > 0 && res->n_new == 0)
            metrics_add(METRICS_TRANSACTIONS_REPLAYED, 1);
        log_debug("as_api: transaction %s: %zu event(s), %zu new, %zu ephemeral, %zu to-device", t->txn_id,
                  txn->nevents, res->n_new, txn->nephemeral, txn->nto_device);
    }
    for (struct as_api_txn **p = &api->txns; *p != NULL; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            break;
        }
    }
    while (t->waiters != NULL) {
        struct as_api_txn_waiter *w = t->waiters;

        t->waiters = w->next;
        as_api_txn_answer(http_deferred_req(w->d), res);
        http_deferred_finish(w->d);
        free(w);
    }
    /* After the answer: routing never delays the acknowledgement. */
    if (res->status == 200 && res->n_new > 0)
        router_offer_txn(api->opt.router, txn, res->is_new, res->txn_seq);
    free(t->txn_id);
    free(t);
}

static void
as_api_transaction(struct as_api *api, struct http_server *srv, h2o_req_t *req, const struct http_request_path *path,
                   const char *txn_id)
{
    struct as_api_txn *t;
    struct as_api_txn_waiter *w = xcalloc(1, sizeof(*w));

    (void)path;
    w->d = http_server_defer(srv, req);
    for (t = api->txns; t != NULL; t = t->next) {
        if (strcmp(t->txn_id, txn_id) == 0) {
            log_info("as_api: transaction %s sent again while the first attempt is being stored; it waits for it",
                     txn_id);
            w->next = t->waiters;
            t->waiters = w;
            return;
        }
    }
    t = xcalloc(1, sizeof(*t));
    t->api = api;
    t->txn_id = xstrdup(txn_id);
    t->waiters = w;
    t->next = api->txns;
    api->txns = t;
    /* A copy: the worker reads the body while the loop serves others, and
     * h2o frees its buffer if the homeserver hangs up. */
    txn_writer_submit(api->opt.writer, txn_id, xstrndup(req->entity.base, req->entity.len), req->entity.len,
                      as_api_on_stored, t);
}

/* Unlinks and frees a finished user query. */
static void
as_api_query_done(struct as_api_user_query *q)
{
    for (struct as_api_user_query **p = &q->api->queries; *p != NULL; p = &(*p)->next) {
        if (*p == q) {
            *p = q->next;
            break;
        }
    }
    http_deferred_finish(q->d);
    free(q);
}

static void
as_api_on_bot_ready(struct bot *bot, int ok, void *arg)
{
    struct as_api_user_query *q = arg;
    h2o_req_t *req = http_deferred_req(q->d);

    if (req != NULL) {
        if (ok)
            http_reply_json_text(req, 200, "{}");
        else
            http_reply_error(req, 500, "M_UNKNOWN", "warroom could not register %s", bot->user_id);
    }
    as_api_query_done(q);
}

/* GET /users/{userId}: 200 for one of our bots (registered first), 404
 * for anyone else. */
static void
as_api_user(struct as_api *api, struct http_server *srv, h2o_req_t *req, const struct http_request_path *path,
            const char *user_id)
{
    struct bot *bot = bots_find(api->opt.bots, user_id);
    struct as_api_user_query *q;

    (void)path;
    if (bot == NULL) {
        log_info("as_api: user query for %s: not one of warroom's bots", user_id);
        http_reply_error(req, 404, "M_NOT_FOUND", "No such user");
        return;
    }
    if (bot->state == BOT_READY) {
        http_reply_json_text(req, 200, "{}");
        return;
    }
    q = xcalloc(1, sizeof(*q));
    q->api = api;
    q->bot = bot;
    q->d = http_server_defer(srv, req);
    q->next = api->queries;
    api->queries = q;
    bots_when_ready(api->opt.bots, bot, as_api_on_bot_ready, q);
}

/* GET /rooms/{alias}: warroom creates no rooms on demand (yet), so no
 * alias is ours. */
static void
as_api_alias(struct as_api *api, struct http_server *srv, h2o_req_t *req, const struct http_request_path *path,
             const char *alias)
{
    (void)api;
    (void)srv;
    (void)path;
    log_info("as_api: alias query for %s: not one of warroom's rooms", alias);
    http_reply_error(req, 404, "M_NOT_FOUND", "No such room alias");
}

static void
as_api_ping(struct as_api *api, struct http_server *srv, h2o_req_t *req, const struct http_request_path *path,
            const char *arg)
{
    struct txn_error err;
    struct json_object *body, *v;
    const char *txn_id = NULL;

    (void)srv;
    (void)path;
    (void)arg;
    body = txn_parse_json_object(req->entity.base, req->entity.len, &err);
    if (body == NULL) {
        metrics_error(strcmp(err.errcode, "M_NOT_JSON") == 0 ? METRICS_ERR_NOT_JSON : METRICS_ERR_BAD_JSON);
        http_reply_error(req, 400, err.errcode, "%s", err.message);
        return;
    }
    if (json_object_object_get_ex(body, "transaction_id", &v) && !json_object_is_type(v, json_type_null)) {
        if (!json_object_is_type(v, json_type_string)) {
            metrics_error(METRICS_ERR_BAD_JSON);
            http_reply_error(req, 400, "M_BAD_JSON", "transaction_id must be a string");
            json_object_put(body);
            return;
        }
        txn_id = json_object_get_string(v);
    }
    log_info("as_api: the homeserver pinged warroom (transaction_id %s)", txn_id != NULL ? txn_id : "none");
    http_reply_json_text(req, 200, "{}");
    if (api->opt.on_ping != NULL)
        api->opt.on_ping(txn_id, api->opt.on_ping_arg);
    json_object_put(body);
}

/* GET /thirdparty/protocol/{protocol}: how clients look up warroom's bots
 * ("tool": the bridge name). */
static void
as_api_tp_protocol(struct as_api *api, struct http_server *srv, h2o_req_t *req, const struct http_request_path *path,
                   const char *protocol)
{
    (void)api;
    (void)srv;
    (void)path;
    if (strcmp(protocol, AS_API_PROTOCOL) != 0) {
        http_reply_error(req, 404, "M_NOT_FOUND", "Unknown protocol");
        return;
    }
    http_reply_json_text(
        req, 200,
        "{\"user_fields\":[\"tool\"],\"location_fields\":[],\"icon\":\"\","
        "\"field_types\":{\"tool\":{\"regexp\":\"[a-z0-9_-]+\",\"placeholder\":\"dns\"}},"
        "\"instances\":[{\"network_id\":\"warroom\",\"desc\":\"warroom security tools\",\"fields\":{}}]}");
}

/* Adds the thirdparty user entry for bot to list. */
static void
as_api_tp_add_user(struct json_object *list, const struct bot *bot)
{
    struct json_object *u = json_object_new_object(), *fields = json_object_new_object();

    json_object_object_add(u, "userid", json_object_new_string(bot->user_id));
    json_object_object_add(u, "protocol", json_object_new_string(AS_API_PROTOCOL));
    json_object_object_add(fields, "tool", json_object_new_string(bot->tool != NULL ? bot->tool : "warroom"));
    json_object_object_add(u, "fields", fields);
    json_object_array_add(list, u);
}

/* GET /thirdparty/user/{protocol}?tool=X, or /thirdparty/user?userid=@x. */
static void
as_api_tp_user(struct as_api *api, struct http_server *srv, h2o_req_t *req, const struct http_request_path *path,
               const char *protocol)
{
    struct json_object *list = json_object_new_array();
    char *tool = NULL, *userid = NULL;

    (void)srv;
    (void)path;
    if (protocol != NULL && strcmp(protocol, AS_API_PROTOCOL) != 0) {
        http_reply_error(req, 404, "M_NOT_FOUND", "Unknown protocol");
        goto out;
    }
    if (protocol != NULL)
        tool = http_request_query(req, "tool", NULL);
    else
        userid = http_request_query(req, "userid", NULL);
    for (struct bot *b = bots_first(api->opt.bots); b != NULL; b = b->next) {
        const char *name = b->tool != NULL ? b->tool : "warroom";

        if ((tool != NULL && strcmp(tool, name) == 0) || (userid != NULL && strcmp(userid, b->user_id) == 0) ||
            (protocol != NULL && tool == NULL))
            as_api_tp_add_user(list, b);
    }
    if (json_object_array_length(list) == 0)
        http_reply_error(req, 404, "M_NOT_FOUND", "No such user");
    else
        http_reply_json(req, 200, list);
out:
    free(tool);
    free(userid);
    json_object_put(list);
}

/* GET /thirdparty/location[/{protocol}]: warroom bridges no rooms. */
static void
as_api_tp_location(struct as_api *api, struct http_server *srv, h2o_req_t *req, const struct http_request_path *path,
                   const char *protocol)
{
    (void)api;
    (void)srv;
    (void)path;
    if (protocol != NULL && strcmp(protocol, AS_API_PROTOCOL) != 0)
        http_reply_error(req, 404, "M_NOT_FOUND", "Unknown protocol");
    else
        http_reply_error(req, 404, "M_NOT_FOUND", "No such location");
}

void
as_api_shutdown(struct as_api *api)
{
    while (api->queries != NULL) {
        struct as_api_user_query *q = api->queries;
        h2o_req_t *req = http_deferred_req(q->d);

        bots_cancel_wait(api->opt.bots, q->bot, as_api_on_bot_ready, q);
        if (req != NULL)
            http_reply_error(req, 503, "M_UNKNOWN", "warroom is shutting down");
        as_api_query_done(q);
    }
}

void
as_api_free(struct as_api *api)
{
    if (api == NULL)
        return;
    as_api_shutdown(api);
    free(api);
}
