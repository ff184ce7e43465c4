/*
 * The outbox: everything warroom asks of the homeserver (send a message,
 * join or leave a room) is first written to the store, then delivered from
 * here.  The store is the only truth: outbox_kick() loads the entries
 * added since the last call, so an entry added inside a database
 * transaction that later rolled back is never sent.
 *
 * Order is kept per room: one request in flight per room, the next one
 * only after the homeserver has answered.  Rooms proceed in parallel.
 * 429, 5xx and network errors are retried by hs_client with capped
 * backoff; a 401 (the homeserver does not know our token yet) is retried
 * here; any other refusal marks the entry failed (kept for the record,
 * logged) and the room's queue moves on.  A homeserver outage or a
 * restart delays a reply, never loses or doubles it: the send txnId is
 * stored with the entry, so the homeserver deduplicates a resend.
 */
#ifndef WARROOM_OUTBOX_H
#define WARROOM_OUTBOX_H

#include <json-c/json.h>
#include <stdint.h>
#include <uv.h>

struct store;
struct hs_client;
struct bots;
struct outbox;

/* Returns allocated, free with outbox_free(). */
struct outbox *outbox_new(uv_loop_t *loop, struct store *store, struct hs_client *hc, struct bots *bots);

/* Loads entries added to the store since the last call and starts
 * delivering.  Call after every commit that added entries, and once at
 * start-up (which loads everything a previous run left). */
void outbox_kick(struct outbox *ob);

/* Entries waiting or in flight. */
int64_t outbox_depth(const struct outbox *ob);

/* Requests in flight. */
unsigned outbox_in_flight(const struct outbox *ob);

/*
 * Calls cb (from the loop) when an entry has been delivered, with the
 * entry's id and the event ID the homeserver gave (NULL for a join or a
 * leave).  One hook; NULL unsets.
 */
void outbox_set_sent_hook(struct outbox *ob, void (*cb)(int64_t id, const char *event_id, void *arg), void *arg);

/*
 * A local sink instead of the homeserver (warroom shell, benchmarks):
 * each entry, once its bot is ready, is handed to sink with its final
 * body (an edit already wrapped as m.replace; a file entry's blob in e,
 * not uploaded) and marked delivered, with the event ID the sink returns
 * (allocated, or NULL).  NULL sends to the homeserver again.
 */
struct store_outbox_entry;
typedef char *(*outbox_sink_fn)(const struct store_outbox_entry *e, struct json_object *body, void *arg);
void outbox_set_sink(struct outbox *ob, outbox_sink_fn sink, void *arg);

/* Starts nothing new; calls done (from the loop) once nothing is in
 * flight.  What is still queued stays in the store for the next run. */
void outbox_shutdown(struct outbox *ob, void (*done)(void *arg), void *arg);

/* Cancels what is in flight (it stays pending in the store) and frees
 * the outbox after its timer closes.  NULL is a no-op. */
void outbox_free(struct outbox *ob);

#endif
