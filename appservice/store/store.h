/*
 * The storage interface.  Every caller goes through the store_* functions
 * below; a backend fills one const struct store_ops (SQLite in
 * store_sqlite*.c; PostgreSQL can be added the same way) and embeds struct
 * store first in its own struct, as h2o's handlers do, so the backend
 * casts back in each callback.
 *
 * All functions run on the loop thread.  They return 0 on success and -1
 * on failure with an allocated reason in *cause (free with free()); a
 * failed write changes nothing.  Functions that return an allocated object
 * say so.
 */
#ifndef WARROOM_STORE_H
#define WARROOM_STORE_H

#include <stddef.h>
#include <stdint.h>

struct txn;

struct store_options {
    const char *path; /* SQLite file, or later a postgres:// URI */
    int sync_normal;  /* 0: fsync at every commit (synchronous=FULL); 1: NORMAL */
};

enum store_outbox_kind {
    STORE_OUTBOX_SEND,  /* PUT /rooms/{room}/send/{type}/{txnId} */
    STORE_OUTBOX_JOIN,  /* POST /rooms/{room}/join */
    STORE_OUTBOX_LEAVE, /* POST /rooms/{room}/leave, also rejects an invite */
};

/* A new outbox entry.  Every pointer is borrowed for the call. */
struct store_outbox_new {
    const char *room_id;
    const char *user_id; /* the bot that acts */
    enum store_outbox_kind kind;
    const char *event_type;     /* SEND: the event type */
    const char *content;        /* SEND: content JSON; JOIN/LEAVE: body JSON or NULL */
    int64_t replaces_id;        /* SEND: an earlier entry this one edits (m.replace), or 0 */
    const char *cause_event_id; /* the event that caused it, or NULL; a JOIN or LEAVE is
                                 * stored at most once per cause */
    /* SEND: a file to upload first; its content URI becomes the "url" of
     * the content (an m.file message).  NULL: no file. */
    const void *blob;
    size_t blob_len;
    const char *blob_name;
    const char *blob_type;
};

/* An outbox entry waiting to be delivered. */
struct store_outbox_entry {
    int64_t id;
    char *room_id;
    char *user_id;
    enum store_outbox_kind kind;
    char *event_type;
    char *content;
    int64_t replaces_id;
    char *txn_id; /* unique across restarts and databases: the homeserver dedups on it */
    int64_t created_at;
    unsigned attempts;
    void *blob; /* a file to upload first, or NULL */
    size_t blob_len;
    char *blob_name;
    char *blob_type;
};

void store_outbox_entry_free(struct store_outbox_entry *e);

/* A command as the router records it. */
struct store_command {
    const char *event_id;
    const char *room_id;
    const char *sender;
    const char *bridge;    /* the tool ("dns"), or NULL for the main bot's own commands */
    const char *command;   /* "ping", "dns mx" */
    const char *args_json; /* arguments with secrets removed, or NULL */
    int64_t received_at;   /* origin_server_ts of the command's event */
};

enum store_command_status {
    STORE_COMMAND_RUNNING,
    STORE_COMMAND_DONE,
    STORE_COMMAND_FAILED,  /* the tool failed; the room was told */
    STORE_COMMAND_REFUSED, /* permission or parse error; the room was told */
    STORE_COMMAND_STALE,   /* older than command_max_age; the room was told */
};

/* How a command ended. */
struct store_command_outcome {
    enum store_command_status status;
    const char *detail;  /* the answer's text, or why it was refused */
    const char *verdict; /* "malicious", ... or NULL */
    int64_t duration_ms;
    int64_t reply_outbox_id; /* the answer in the outbox, or 0 */
};

/* A stored event as read back (for the router's catch-up and replies). */
struct store_event {
    int64_t seq;
    int64_t txn_seq;
    char *event_id;
    char *room_id;
    char *sender;
    char *type;
    char *state_key;
    int64_t origin_server_ts;
    char *json;
};

void store_event_free(struct store_event *ev);

/* An audit log entry as stored; audit/audit.h explains the chain.  Every
 * pointer is borrowed: for audit_insert for the call, in an audit_scan
 * callback until it returns. */
struct store_audit_entry {
    int64_t seq;
    int64_t ts; /* milliseconds since the epoch */
    const char *kind;
    const char *detail;     /* canonical JSON */
    const char *prev_hash;  /* 64 lower-case hex digits */
    const char *entry_hash; /* 64 lower-case hex digits */
};

struct store;

struct store_ops {
    const char *name;

    /* Opens (creating if needed) and migrates to the current schema. */
    int (*open)(const struct store_options *opt, struct store **out, char **cause);
    /* Closes; NULL-safe at the store_close level. */
    void (*close)(struct store *s);

    /* Groups the calls between begin and commit into one atomic write. */
    int (*begin)(struct store *s, char **cause);
    int (*commit)(struct store *s, char **cause);
    void (*rollback)(struct store *s);

    int (*schema_version)(struct store *s);
    /* A random identifier made when the database was created. */
    const char *(*instance_id)(struct store *s);

    int (*meta_get)(struct store *s, const char *key, char **value, char **cause);
    int (*meta_set)(struct store *s, const char *key, const char *value, char **cause);

    /* Stores a transaction; see store_put_transaction(). */
    int (*put_transaction)(struct store *s, const char *txn_id, const struct txn *txn, int64_t received_at,
                           unsigned char *is_new, size_t *n_new, int64_t *txn_seq, char **cause);
    int (*events_after_txn)(struct store *s, int64_t after_txn_seq, const char *const *types,
                            int (*cb)(const struct store_event *ev, void *arg), void *arg, char **cause);
    int (*event_get)(struct store *s, const char *event_id, struct store_event **out, char **cause);
    int64_t (*last_event_seq)(struct store *s);
    int (*count_events)(struct store *s, int64_t *n, char **cause);

    int (*membership)(struct store *s, const char *room_id, const char *user_id, char **membership, char **cause);
    int (*joined_count)(struct store *s, const char *room_id, int64_t *n, char **cause);
    int (*room_is_direct)(struct store *s, const char *room_id, int *is_direct, char **cause);

    int (*outbox_add)(struct store *s, const struct store_outbox_new *e, int64_t *id, char **cause);
    int (*outbox_pending)(struct store *s, int64_t after_id, int (*cb)(struct store_outbox_entry *e, void *arg),
                          void *arg, char **cause);
    int (*outbox_sent)(struct store *s, int64_t id, const char *event_id, char **cause);
    int (*outbox_failed)(struct store *s, int64_t id, const char *reason, char **cause);
    int (*outbox_attempted)(struct store *s, int64_t id, const char *reason, char **cause);
    int (*outbox_event_id)(struct store *s, int64_t id, char **event_id, char **cause);
    int64_t (*outbox_depth)(struct store *s);

    int (*command_insert)(struct store *s, const struct store_command *c, int *inserted, char **cause);
    int (*command_finish)(struct store *s, const char *event_id, const struct store_command_outcome *o, char **cause);
    int (*command_set_ack)(struct store *s, const char *event_id, int64_t ack_outbox_id, char **cause);
    int (*command_ack)(struct store *s, const char *event_id, int64_t *ack_outbox_id, char **cause);

    int (*cache_get)(struct store *s, const char *key, int64_t now, char **value, char **cause);
    int (*cache_put)(struct store *s, const char *key, const char *value, int64_t now, int64_t expires_at,
                     char **cause);
    int (*commands_running)(struct store *s, int (*cb)(const char *event_id, void *arg), void *arg, char **cause);

    int (*audit_head)(struct store *s, int64_t *seq, char **entry_hash, char **cause);
    int (*audit_insert)(struct store *s, const struct store_audit_entry *e, char **cause);
    int (*audit_scan)(struct store *s, int64_t after_seq, int64_t since_ts,
                      int (*cb)(const struct store_audit_entry *e, void *arg), void *arg, char **cause);
    int (*audit_prune)(struct store *s, int64_t before_ms, int64_t *removed, int64_t *first_seq, int64_t *last_seq,
                       char **last_hash, char **cause);
};

/* The header every backend's struct starts with. */
struct store {
    const struct store_ops *ops;
};

/* Chooses the backend from the path (SQLite for a file path) and opens it.
 * Returns 0 with *out allocated (free with store_close()) or -1. */
int store_open(const struct store_options *opt, struct store **out, char **cause);
void store_close(struct store *s);

int store_begin(struct store *s, char **cause);
int store_commit(struct store *s, char **cause);
void store_rollback(struct store *s);
int store_schema_version(struct store *s);
const char *store_instance_id(struct store *s);

/* *value is allocated (free with free()), or NULL if the key is absent. */
int store_meta_get(struct store *s, const char *key, char **value, char **cause);
int store_meta_set(struct store *s, const char *key, const char *value, char **cause);

/*
 * Stores, in one database transaction: the transaction record, every event
 * not already stored (dedup on event_id: txnIds are not trustworthy), the
 * memberships and room facts those events change, the to-device messages,
 * device-list changes and one-time/fallback key counts.  is_new (nevents
 * entries, may be NULL) gets 1 for each event stored now and 0 for one
 * stored before; *n_new their count; *txn_seq (may be NULL) the sequence
 * number of the transaction record.  On failure nothing is stored.
 */
int store_put_transaction(struct store *s, const char *txn_id, const struct txn *txn, int64_t received_at,
                          unsigned char *is_new, size_t *n_new, int64_t *txn_seq, char **cause);
/* Calls cb, in stream order, for each event stored by a transaction after
 * after_txn_seq whose type is one of types (NULL-terminated; NULL for
 * all); cb returns non-zero to stop.  The router's catch-up after a crash. */
int store_events_after_txn(struct store *s, int64_t after_txn_seq, const char *const *types,
                           int (*cb)(const struct store_event *ev, void *arg), void *arg, char **cause);
/* *out is allocated (free with store_event_free()), or NULL if unknown. */
int store_event_get(struct store *s, const char *event_id, struct store_event **out, char **cause);
int64_t store_last_event_seq(struct store *s);
int store_count_events(struct store *s, int64_t *n, char **cause);

/* *membership is allocated ("join", "invite", ...), or NULL if unknown. */
int store_membership(struct store *s, const char *room_id, const char *user_id, char **membership, char **cause);
int store_joined_count(struct store *s, const char *room_id, int64_t *n, char **cause);
int store_room_is_direct(struct store *s, const char *room_id, int *is_direct, char **cause);

/* Adds an entry; *id gets its id, or 0 if a JOIN/LEAVE with the same
 * cause was stored before (nothing is added then). */
int store_outbox_add(struct store *s, const struct store_outbox_new *e, int64_t *id, char **cause);
/* Calls cb with every pending entry whose id is above after_id, in id
 * order; cb takes ownership of the entry (free with
 * store_outbox_entry_free()) and returns non-zero to stop. */
int store_outbox_pending(struct store *s, int64_t after_id, int (*cb)(struct store_outbox_entry *e, void *arg),
                         void *arg, char **cause);
int store_outbox_sent(struct store *s, int64_t id, const char *event_id, char **cause);
/* Marks an entry the homeserver refused for good; it is kept for the record. */
int store_outbox_failed(struct store *s, int64_t id, const char *reason, char **cause);
/* Counts one more failed attempt that will be retried. */
int store_outbox_attempted(struct store *s, int64_t id, const char *reason, char **cause);
/* *event_id is allocated, or NULL if that entry was not sent yet. */
int store_outbox_event_id(struct store *s, int64_t id, char **event_id, char **cause);
int64_t store_outbox_depth(struct store *s);

/* Records a command; *inserted is 0 if that event's command was recorded
 * before (the router then leaves it alone). */
int store_command_insert(struct store *s, const struct store_command *c, int *inserted, char **cause);
int store_command_finish(struct store *s, const char *event_id, const struct store_command_outcome *o, char **cause);
/* Remembers the acknowledgement a long command posted (edited later). */
int store_command_set_ack(struct store *s, const char *event_id, int64_t ack_outbox_id, char **cause);
/* *ack_outbox_id gets it, or 0. */
int store_command_ack(struct store *s, const char *event_id, int64_t *ack_outbox_id, char **cause);

/* A cached tool answer that has not expired at now, or *value NULL.
 * *value is allocated (free with free()). */
int store_cache_get(struct store *s, const char *key, int64_t now, char **value, char **cause);
/* Stores (or replaces) a tool answer until expires_at; expired entries go
 * along the way. */
int store_cache_put(struct store *s, const char *key, const char *value, int64_t now, int64_t expires_at, char **cause);
/* Calls cb with the event ID of every command still marked running
 * (interrupted by a crash or a restart). */
int store_commands_running(struct store *s, int (*cb)(const char *event_id, void *arg), void *arg, char **cause);

/*
 * The audit log's rows; audit/audit.c is their only caller, and keeps the
 * chain.  store_audit_head(): the newest entry's seq and *entry_hash
 * (allocated), or 0 and NULL when the log is empty.
 */
int store_audit_head(struct store *s, int64_t *seq, char **entry_hash, char **cause);
/* Appends a row as given (the caller computed seq and the hashes). */
int store_audit_insert(struct store *s, const struct store_audit_entry *e, char **cause);
/* Calls cb for each entry with a seq above after_seq and a ts at or after
 * since_ts, in seq order, from one consistent snapshot; cb returns
 * non-zero to stop.  cb must not write to the store. */
int store_audit_scan(struct store *s, int64_t after_seq, int64_t since_ts,
                     int (*cb)(const struct store_audit_entry *e, void *arg), void *arg, char **cause);
/*
 * Deletes the longest run of entries from the oldest on whose ts is
 * before before_ms, but never the newest entry (the head the next entry
 * links to).  *removed gets their count; if it is not 0, *first_seq and
 * *last_seq the range removed and *last_hash (allocated) the entry_hash of
 * the last one, else 0, 0 and NULL.
 */
int store_audit_prune(struct store *s, int64_t before_ms, int64_t *removed, int64_t *first_seq, int64_t *last_seq,
                      char **last_hash, char **cause);

extern const struct store_ops store_sqlite_ops;

#endif
