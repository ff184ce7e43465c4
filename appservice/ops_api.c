/*
 * /_warroom/live, /_warroom/ready and /metrics; see ops_api.h.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "http/http_reply.h"
#include "http/http_request.h"
#include "http/http_server.h"
#include "metrics.h"
#include "ops_api.h"

int
ops_api_try(const struct ops_api *ops, h2o_req_t *req)
{
    const char *path = http_request_path_only(req);
    int get = http_request_method_is(req, "GET") || http_request_method_is(req, "HEAD");

    if (strcmp(path, "/_warroom/live") == 0) {
        if (!get)
            http_reply_error(req, 405, "M_UNRECOGNIZED", "Use GET");
        else
            http_reply_json_text(req, 200, "{\"live\":true}");
        return 1;
    }
    if (strcmp(path, "/_warroom/ready") == 0) {
        if (!get)
            http_reply_error(req, 405, "M_UNRECOGNIZED", "Use GET");
        else if (ops->ready(ops->ready_arg))
            http_reply_json_text(req, 200, "{\"ready\":true}");
        else
            http_reply_json_text(req, 503, "{\"ready\":false}");
        return 1;
    }
    if (ops->serve_metrics && strcmp(path, "/metrics") == 0) {
        if (!get) {
            http_reply_error(req, 405, "M_UNRECOGNIZED", "Use GET");
        } else {
            char *text = metrics_render();

            http_reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text));
            free(text);
        }
        return 1;
    }
    return 0;
}

void
ops_api_handle(struct http_server *srv, h2o_req_t *req, void *arg)
{
    (void)srv;
    if (!ops_api_try(arg, req))
        http_reply_error(req, 404, "M_UNRECOGNIZED", "Unrecognized request");
}
