/*
 * The homeserver client: Matrix client-server requests made as the
 * application service (Authorization: Bearer <as_token>), optionally acting
 * as one of its users with ?user_id=.  Requests run on the shared curl
 * multi (curl_uv.h), so nothing blocks the loop, and connections are reused.
 *
 * A failed request is described by struct hs_error, not an int (as
 * mtxclient's ClientError): HTTP status, Matrix errcode, curl code,
 * message and retry_after_ms.  A request may ask to be retried: 429
 * (after retry_after_ms or Retry-After), 5xx and network errors are then
 * retried with capped exponential backoff, and only the final outcome
 * reaches the callback.
 */
#ifndef WARROOM_HS_CLIENT_H
#define WARROOM_HS_CLIENT_H

#include <curl/curl.h>
#include <json-c/json.h>
#include <stdint.h>
#include <uv.h>

struct curl_uv;
struct hs_client;
struct hs_call;

struct hs_error {
    long status;            /* HTTP status, 0 if no response arrived */
    char *errcode;          /* Matrix errcode ("M_FORBIDDEN"), or NULL */
    char *message;          /* Matrix "error", or curl's message, or NULL */
    CURLcode curl_code;     /* CURLE_OK unless the transfer itself failed */
    int64_t retry_after_ms; /* from the body or Retry-After, -1 if absent */
};

/* The outcome of a request.  Borrowed by the callback: valid only during
 * the call; take a reference (json_object_get) to keep body. */
struct hs_response {
    long status;              /* HTTP status, 0 on a network error */
    struct json_object *body; /* parsed JSON body, or NULL */
    struct hs_error error;    /* set when status is not 2xx */
    double seconds;           /* duration of the last attempt */
    unsigned attempts;        /* attempts made, 1 if it worked at once */
    const char *raw;          /* the body as received (media downloads), NUL-terminated */
    size_t raw_len;
    const char *content_type; /* the Content-Type header, or NULL */
};

/* 1 if the response is a 2xx. */
int hs_response_ok(const struct hs_response *res);

enum hs_retry {
    HS_RETRY_NONE,    /* one attempt; the caller sees every failure */
    HS_RETRY_FOREVER, /* retry 429, 5xx and network errors until it works or the call is cancelled */
};

struct hs_request {
    const char *method;       /* "GET", "PUT", "POST", "DELETE" */
    const char *path;         /* already percent-encoded, e.g. "/_matrix/client/v3/register" */
    const char *user_id;      /* act as this user (?user_id=), or NULL */
    const char *query;        /* further query parameters, already encoded ("a=b&c=d"), or NULL */
    struct json_object *body; /* borrowed, serialized before hs_client_request returns; NULL: no body */
    const char *content_type; /* for raw bodies; NULL means application/json */
    const void *raw_body;     /* a raw body (media upload) instead of JSON, borrowed until the callback */
    size_t raw_body_len;
    long timeout_ms;     /* per attempt; 0 means the client default (30 s) */
    size_t max_response; /* larger bodies fail the request; 0 means 64 MiB */
    enum hs_retry retry;
};

/* Called once with the final outcome, unless the call was cancelled. */
typedef void (*hs_client_cb)(const struct hs_response *res, void *arg);

struct hs_client_options {
    const char *base_url; /* homeserver.address, without a trailing slash */
    const char *as_token; /* copied and wiped when the client is freed */
    int verify_tls;
    uint64_t backoff_initial_ms; /* first retry delay; 0 means 500 ms */
    uint64_t backoff_max_ms;     /* cap; 0 means 60 s */
};

/* Returns allocated, free with hs_client_free(). */
struct hs_client *hs_client_new(uv_loop_t *loop, struct curl_uv *cu, const struct hs_client_options *opt);

/*
 * Starts a request.  Returns a handle that stays valid until the callback
 * has run or hs_client_cancel() was called; never NULL (a request curl
 * refuses is reported through the callback, from the loop, never from
 * inside this call).
 */
struct hs_call *hs_client_request(struct hs_client *hc, const struct hs_request *req, hs_client_cb cb, void *arg);

/* Cancels a call: its callback will not run.  Safe in every state of the
 * call and from inside any callback; inside the call's own callback it does
 * nothing.  NULL is a no-op. */
void hs_client_cancel(struct hs_call *call);

/*
 * For a shutdown: from now on a failure is reported to its callback
 * instead of retried, and the calls waiting for a retry report their last
 * failure now (from the loop).  Requests on the wire go on; their owners
 * keep what was not delivered for the next run.
 */
void hs_client_drain(struct hs_client *hc);

/* Calls under way or waiting for a retry. */
unsigned hs_client_pending(const struct hs_client *hc);

/* Cancels every call (no callbacks) and frees the client; may be called
 * from inside a callback.  The curl_uv is not freed: free the client before
 * curl_uv_close().  NULL is a no-op. */
void hs_client_free(struct hs_client *hc);

/*
 * Percent-encodes one path segment or query value (RFC 3986 unreserved
 * characters are kept).  Returns allocated, free with free().
 */
char *hs_client_escape(const char *s);

/* Formats a path whose %s arguments are escaped with hs_client_escape().
 * Only %s and %% are supported (anything else aborts).  Returns allocated,
 * free with free(). */
char *hs_client_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Describes an error in one line for the log ("HTTP 403 M_FORBIDDEN: You
 * are not invited", "network: Couldn't connect to server").  Returns
 * allocated, free with free(). */
char *hs_error_describe(const struct hs_error *err);

#endif
