/*
 * HTTP for tool bridges (RDAP, VirusTotal, AbuseIPDB, ...): requests on
 * the shared curl multi (curl_uv.h), with a guard against server-side
 * request forgery.  Before every connection, including those of
 * redirects, the address curl is about to connect to is checked (through
 * CURLOPT_OPENSOCKETFUNCTION, so DNS rebinding cannot slip past a check
 * made earlier): loopback, private (RFC 1918, fc00::/7), link-local,
 * unspecified, multicast, CGNAT (100.64.0.0/10) and other reserved ranges
 * are refused unless the bridge's configuration allows that network
 * explicitly (tests allow 127.0.0.1/32).  The documentation ranges
 * (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) are
 * refused too: tests and examples use them as public attackers' addresses
 * in the text of rooms, but no tool API lives there, so a lookup that
 * connects to one must be allowed like any other range.  IPv4-mapped and
 * NAT64 addresses are judged by the IPv4 address they carry; the full
 * table is in net_ranges.c.  A connection curl reuses is checked again
 * before each request; proxies from the environment are not used.
 *
 * Only http and https are spoken, on the first URL and on redirects.
 * Redirects are followed by this module (at most 5), and a hop to another
 * origin (scheme, host or port) drops the request's header lines, which
 * may hold API keys, for the rest of the call.
 *
 * Unlike hs_client, nothing is retried here: a tool's quota is the
 * analyst's, and the bridge decides what to tell the room.
 */
#ifndef WARROOM_TOOL_HTTP_H
#define WARROOM_TOOL_HTTP_H

#include <curl/curl.h>
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

struct curl_uv;
struct tool_http;
struct tool_http_call;

/* Networks a client may reach despite the guard, as CIDR strings
 * ("127.0.0.1/32", "10.0.0.0/8", "::1/128").  Parsed by
 * tool_http_new(); an invalid one is an error there. */
struct tool_http_allow {
    const char *const *cidrs;
    size_t n;
};

struct tool_http_request {
    const char *method;              /* "GET" (default if NULL), "POST", ... */
    const char *url;                 /* http:// or https:// only */
    const char *const *headers;      /* "Name: value" lines, NULL-terminated, or NULL; may hold API keys:
                                      * never logged */
    const void *body;                /* borrowed until the callback, or NULL */
    size_t body_len;
    long timeout_ms;                 /* whole request; 0: 30 s */
    size_t max_response;             /* bytes; 0: 16 MiB; larger responses fail */
    int follow_redirects;            /* at most 5, each guarded; another origin gets no headers */
};

enum tool_http_failure {
    TOOL_HTTP_OK,           /* a response arrived (whatever its status) */
    TOOL_HTTP_BLOCKED,      /* the guard refused the address, or a scheme other than http(s) */
    TOOL_HTTP_NETWORK,      /* DNS, connection, TLS or protocol failure; also a request that cannot
                             * be made (malformed URL, method or header line), more than 5 redirects */
    TOOL_HTTP_TIMEOUT,
    TOOL_HTTP_TOO_LARGE,
};

/* Borrowed by the callback: valid only during the call. */
struct tool_http_response {
    enum tool_http_failure failure;
    long status;              /* HTTP status when failure is TOOL_HTTP_OK */
    const char *body;         /* NUL-terminated, may hold NULs before len; "" on failures, never NULL */
    size_t len;
    struct json_object *json; /* the body parsed, if it is JSON; else NULL */
    const char *content_type; /* or NULL */
    int64_t retry_after_ms;   /* from Retry-After, or -1 */
    const char *error;        /* for failures: what went wrong, for the log (never holds header values) */
    double seconds;
};

typedef void (*tool_http_cb)(const struct tool_http_response *res, void *arg);

/* Returns 0 and *out (free with tool_http_free()), or -1 with an allocated
 * reason in *cause (an invalid CIDR).  The user agent is
 * "warroom/<version>". */
int tool_http_new(struct curl_uv *cu, const struct tool_http_allow *allow, struct tool_http **out, char **cause);

/* Starts a request; cb runs exactly once, from the loop (never inside
 * this call), unless the call is cancelled first. */
struct tool_http_call *tool_http_request(struct tool_http *th, const struct tool_http_request *req, tool_http_cb cb,
                                         void *arg);

/* Cancels a call; its callback will not run.  NULL is a no-op. */
void tool_http_cancel(struct tool_http_call *call);

/* Cancels every call and frees the client.  NULL is a no-op. */
void tool_http_free(struct tool_http *th);

/* 1 if the address (IPv4 or IPv6 literal) is in a range the guard refuses
 * and no allowed network covers it, or is no address at all.  th may be
 * NULL: no network is allowed.  For the tests and the log. */
int tool_http_address_blocked(const struct tool_http *th, const char *address);

#endif
