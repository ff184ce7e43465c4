/*
 * The operator's endpoints, served without authentication: liveness
 * (/_warroom/live: the loop answers), readiness (/_warroom/ready: the
 * database is open and transactions are accepted; 503 while starting or
 * stopping) and Prometheus metrics (/metrics).  Served on the appservice
 * port, or on a port of their own (metrics.listen).
 */
#ifndef WARROOM_OPS_API_H
#define WARROOM_OPS_API_H

#include "h2o.h"

struct http_server;

struct ops_api {
    int (*ready)(void *arg); /* 1 when transactions are accepted */
    void *ready_arg;
    int serve_metrics;
};

/* Answers req and returns 1 if its path is one of the ops endpoints, else
 * returns 0 and leaves req alone. */
int ops_api_try(const struct ops_api *ops, h2o_req_t *req);

/* An http_server handler for a server that serves only these endpoints
 * (arg: struct ops_api). */
void ops_api_handle(struct http_server *srv, h2o_req_t *req, void *arg);

#endif
