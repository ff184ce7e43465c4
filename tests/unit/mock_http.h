/*
 * A small HTTP/1.1 server for unit tests, built on libh2o and running on
 * the test's own libuv loop, so that a client under test (curl_uv,
 * hs_client) talks to a real socket without a second process or thread.
 *
 * The test scripts the responses (status, headers, body, delay), matched
 * in order by path; a request that matches no script gets 200 "{}".  Every
 * request is recorded (method, path, query, headers, body, which
 * connection, when), and accepted connections are counted, so that a test
 * can check what the client sent and whether it reused its connection.
 *
 * Ending a test: free the clients (they close their connections), call
 * mock_http_close(), then mock_http_free() from outside any
 * loop callback (h2o runs the loop itself while it disposes), then run the
 * loop once more and check that uv_loop_close() returns 0.
 */
#ifndef WARROOM_TEST_MOCK_HTTP_H
#define WARROOM_TEST_MOCK_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct mock_http;

/* One request as the server received it.  Header names are lower case. */
struct mock_http_request {
    char *method;
    char *path;  /* without the query string */
    char *query; /* what followed '?', or NULL */
    size_t nheaders;
    char **header_names;
    char **header_values;
    char *body; /* NUL-terminated; "" when there was none */
    size_t body_len;
    uint64_t connection;  /* h2o's id of the connection it came on */
    uint64_t received_ms; /* uv_hrtime() in milliseconds when it arrived */
};

/* Listens on 127.0.0.1 on a free port.  Returns allocated, free with
 * mock_http_free(); NULL (and a diagnostic on stdout) on failure. */
struct mock_http *mock_http_new(uv_loop_t *loop);

/* "http://127.0.0.1:<port>", borrowed, valid until the server is freed. */
const char *mock_http_url(const struct mock_http *srv);

/*
 * Queues a response for the next request to path (NULL: any path).
 * headers is NULL or "Name: value" lines separated by '\n'; the line
 * "Connection: close" makes the server close the connection after this
 * response, and "Transfer-Encoding: chunked" sends the body without a
 * Content-Length.  body may be NULL (empty).  The response is sent delay_ms
 * after the request arrived.  Every string is copied.
 */
void mock_http_script(struct mock_http *srv, const char *path, int status, const char *headers, const char *body,
                      uint64_t delay_ms);

/* Requests received so far, and the i-th of them (borrowed, valid until the
 * server is freed). */
unsigned mock_http_nreceived(const struct mock_http *srv);
const struct mock_http_request *mock_http_received(const struct mock_http *srv, unsigned i);

/* The value of a request header (name in any case), or NULL. */
const char *mock_http_header(const struct mock_http_request *req, const char *name);

/* Connections accepted so far, and connections still open. */
unsigned mock_http_accepted(const struct mock_http *srv);
unsigned mock_http_open(const struct mock_http *srv);

/* Stops listening and sends every delayed response at once, so that no
 * connection waits for a timer.  Further connections are refused. */
void mock_http_close(struct mock_http *srv);

/* Closes the server if that was not done, waits (running the loop, at most
 * 5 s) until every connection has closed, and frees everything.  Must be
 * called outside any loop callback.  NULL is a no-op. */
void mock_http_free(struct mock_http *srv);

/* Runs the loop until done(arg) returns nonzero or max_ms have passed.
 * Returns 0 if done, -1 on timeout.  Must be called outside any loop
 * callback. */
int mock_http_run_until(uv_loop_t *loop, int (*done)(void *arg), void *arg, uint64_t max_ms);

#endif
