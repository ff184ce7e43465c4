/*
 * Realistic Matrix events for the benchmarks, in the shapes Synapse 1.94
 * sends (tests/fixtures/synapse): plain and HTML messages, replies,
 * thread messages, edits, reactions, notices and membership changes, with
 * random event IDs as real rooms have, spread over rooms and senders.
 */
#ifndef WARROOM_BENCH_EVENTS_H
#define WARROOM_BENCH_EVENTS_H

#include <stddef.h>
#include <stdint.h>

struct bench_event {
    char *event_id;
    char *room_id;
    char *sender;
    const char *type;
    char *state_key; /* NULL for non-state events */
    int64_t origin_server_ts;
    char *json; /* the whole event, compact */
};

/* Fills ev with the n-th event of a deterministic stream (seed fixed).
 * Free with bench_event_clear(). */
void bench_event_make(uint64_t n, struct bench_event *ev);
void bench_event_clear(struct bench_event *ev);

/* The body of a transaction holding events [first, first + count), as
 * Synapse sends it.  Returns allocated, free with free(). */
char *bench_transaction_body(uint64_t first, size_t count, size_t *len);

#endif
