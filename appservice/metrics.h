/*
 * Process-wide counters and one latency histogram, rendered in the
 * Prometheus text format by /metrics.  warroom runs one loop thread, so the
 * counters are plain integers touched only from that thread.
 *
 * Adding a counter: one line in METRICS_COUNTERS (or METRICS_ERRORS for an
 * error kind); the enum, the name and the help text all come from it.
 */
#ifndef WARROOM_METRICS_H
#define WARROOM_METRICS_H

#include <stdint.h>

/* X(enum suffix, metric name, help) */
#define METRICS_COUNTERS(X)                                                                                            \
    X(TRANSACTIONS, "warroom_transactions_total", "Transactions accepted from the homeserver")                         \
    X(TRANSACTIONS_REPLAYED, "warroom_transactions_replayed_total",                                                    \
      "Transactions whose every event was already stored (homeserver retries)")                                        \
    X(EVENTS, "warroom_events_total", "Events stored")                                                                 \
    X(EVENTS_DUPLICATE, "warroom_events_duplicate_total", "Events skipped because already stored")                     \
    X(EPHEMERAL, "warroom_ephemeral_total", "Ephemeral events received (typing, receipts, presence)")                  \
    X(TO_DEVICE, "warroom_to_device_total", "To-device messages received")                                             \
    X(COMMANDS, "warroom_commands_total", "Commands run")                                                              \
    X(OUTBOX_SENT, "warroom_outbox_sent_total", "Outbox entries delivered to the homeserver")                          \
    X(OUTBOX_RETRIES, "warroom_outbox_retries_total", "Outbox delivery attempts that will be retried")                 \
    X(OUTBOX_FAILED, "warroom_outbox_failed_total", "Outbox entries the homeserver refused for good")                  \
    X(HS_REQUESTS, "warroom_homeserver_requests_total", "Requests made to the homeserver")

/* X(enum suffix, label value) for warroom_errors_total{kind="..."} */
#define METRICS_ERRORS(X)                                                                                              \
    X(AUTH_MISSING, "auth_missing")                                                                                    \
    X(AUTH_FORBIDDEN, "auth_forbidden")                                                                                \
    X(NOT_FOUND, "not_found")                                                                                          \
    X(BAD_METHOD, "bad_method")                                                                                        \
    X(TOO_LARGE, "too_large")                                                                                          \
    X(NOT_JSON, "not_json")                                                                                            \
    X(BAD_JSON, "bad_json")                                                                                            \
    X(DATABASE, "database")                                                                                            \
    X(HS_NETWORK, "homeserver_network")                                                                                \
    X(HS_RATE_LIMITED, "homeserver_rate_limited")                                                                      \
    X(HS_SERVER, "homeserver_5xx")                                                                                     \
    X(HS_CLIENT, "homeserver_4xx")

enum metrics_counter {
#define METRICS_ENUM(e, name, help) METRICS_##e,
    METRICS_COUNTERS(METRICS_ENUM)
#undef METRICS_ENUM
        METRICS_NCOUNTERS
};

enum metrics_error {
#define METRICS_ENUM(e, label) METRICS_ERR_##e,
    METRICS_ERRORS(METRICS_ENUM)
#undef METRICS_ENUM
        METRICS_NERRORS
};

void metrics_add(enum metrics_counter counter, uint64_t n);
void metrics_error(enum metrics_error kind);
uint64_t metrics_get(enum metrics_counter counter);

/* Records the duration of one homeserver request, in seconds. */
void metrics_observe_hs_latency(double seconds);

/* Gauges are read when /metrics is served, through callbacks set by the
 * owner of the value (the outbox sets the depth).  NULL unsets. */
void metrics_set_outbox_depth_fn(int64_t (*fn)(void *arg), void *arg);

/* Returns allocated, free with free(): the Prometheus text exposition. */
char *metrics_render(void);

/* Zeroes everything; for tests. */
void metrics_reset(void);

#endif
