/*
 * A room that exists only in warroom's database, for warroom shell and
 * the router benchmark: its events are made here, stored like the ones a
 * homeserver pushes, and offered to the same router; with the outbox's
 * local sink behind it (outbox_set_sink()), no homeserver is involved.
 *
 * The room (!shell:<domain>) is set up with stored events: the user joins,
 * the main bot marks it as a direct chat with itself (an invite from
 * warroom's own namespace, which the router leaves alone) so commands
 * need no prefix, then every bot joins.  Those events have fixed IDs, so
 * setting it up again stores nothing twice.
 */
#ifndef WARROOM_LOCAL_ROOM_H
#define WARROOM_LOCAL_ROOM_H

#include <stdint.h>

struct core;

struct local_room {
    struct core *core; /* borrowed */
    char *room_id;
    char *user_id;  /* who speaks */
    uint64_t seq;   /* messages sent so far */
    char nonce[17]; /* makes this run's event IDs unique across runs */
    /* Called, if set, between storing a message and offering it to the
     * router (the benchmark starts its clock there). */
    void (*on_stored)(struct local_room *lr, void *arg);
    void *on_stored_arg;
};

/* Sets up the room for user_id (NULL: @shell:<domain>).  Returns 0, or -1
 * with an allocated reason in *cause; clear lr with local_room_clear()
 * either way. */
int local_room_open(struct local_room *lr, struct core *core, const char *user_id, char **cause);

/* Stores one message (m.text with body text) from the user and offers it
 * to the router.  Returns 0, or -1 with an allocated reason in *cause. */
int local_room_say(struct local_room *lr, const char *text, char **cause);

void local_room_clear(struct local_room *lr);

#endif
