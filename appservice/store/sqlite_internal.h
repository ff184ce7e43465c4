/*
 * What the SQLite backend's files share: the backend struct, the prepared
 * statement cache and the nesting of write transactions.  Not for use
 * outside appservice/store/sqlite*.c.
 */
#ifndef WARROOM_STORE_SQLITE_INTERNAL_H
#define WARROOM_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

/* Every statement the backend runs, prepared once on first use.  SQL only
 * ever goes through these (no string-built SQL). */
enum store_sqlite_stmt {
    SQ_META_GET,
    SQ_META_SET,
    SQ_TXN_INSERT,
    SQ_TXN_SET_NEW,
    SQ_EVENT_INSERT,
    SQ_EVENT_GET,
    SQ_EVENT_LAST_SEQ,
    SQ_EVENT_COUNT,
    SQ_MEMBER_UPSERT,
    SQ_MEMBER_GET,
    SQ_MEMBER_JOINED_COUNT,
    SQ_ROOM_SET_DIRECT,
    SQ_ROOM_SET_ENCRYPTED,
    SQ_ROOM_SET_NAME,
    SQ_ROOM_GET_DIRECT,
    SQ_TO_DEVICE_INSERT,
    SQ_DEVICE_LIST_INSERT,
    SQ_OTK_UPSERT,
    SQ_FALLBACK_UPSERT,
    SQ_OUTBOX_INSERT,
    SQ_OUTBOX_SENT,
    SQ_OUTBOX_FAILED,
    SQ_OUTBOX_ATTEMPTED,
    SQ_OUTBOX_EVENT_ID,
    SQ_OUTBOX_DEPTH,
    SQ_OUTBOX_CAUSE_EXISTS,
    SQ_COMMAND_INSERT,
    SQ_COMMAND_FINISH,
    SQ_COMMAND_SET_ACK,
    SQ_COMMAND_ACK,
    SQ_CACHE_GET,
    SQ_CACHE_PUT,
    SQ_CACHE_EXPIRE,
    SQ_AUDIT_HEAD,
    SQ_AUDIT_INSERT,
    SQ_AUDIT_SCAN,
    SQ_AUDIT_PRUNE_LIMIT,
    SQ_AUDIT_PRUNE_LAST,
    SQ_AUDIT_PRUNE_DELETE,
    SQ_NSTMTS
};

struct store_sqlite {
    struct store super;
    sqlite3 *db;
    char *path;
    char instance_id[33];
    sqlite3_stmt *stmts[SQ_NSTMTS];
    int depth;  /* nesting of store_sqlite_write_begin() */
    int failed; /* a nested write failed: the outermost end rolls back */
};

/* Returns the statement, prepared and reset, or NULL with *cause set. */
sqlite3_stmt *store_sqlite_stmt(struct store_sqlite *ss, enum store_sqlite_stmt id, char **cause);

/* Sets *cause to "what: <sqlite message>" and returns -1. */
int store_sqlite_fail(struct store_sqlite *ss, char **cause, const char *what);

/* Opens a write transaction, or joins the one already open.  Returns 0 or
 * -1 with *cause. */
int store_sqlite_write_begin(struct store_sqlite *ss, char **cause);
/* Ends what store_sqlite_write_begin() opened: the outermost end commits
 * if every part succeeded (ok != 0), else rolls back.  Returns 0 if the
 * work is (or will be) committed, -1 with *cause otherwise. */
int store_sqlite_write_end(struct store_sqlite *ss, int ok, char **cause);

/* Binds text, or NULL when s is NULL. */
int store_sqlite_bind_text(sqlite3_stmt *st, int idx, const char *s);
/* Returns an allocated copy of a text column, or NULL if it is NULL. */
char *store_sqlite_column_dup(sqlite3_stmt *st, int col);

/* Runs the migrations up to the current version, one transaction each. */
int store_sqlite_migrate(struct store_sqlite *ss, char **cause);
/* The schema version this build writes. */
int store_sqlite_current_version(void);

/* The slots of store_sqlite_ops implemented in the other files. */
int store_sqlite_put_transaction(struct store *s, const char *txn_id, const struct txn *txn, int64_t received_at,
                                 unsigned char *is_new, size_t *n_new, int64_t *txn_seq, char **cause);
int store_sqlite_events_after_txn(struct store *s, int64_t after_txn_seq, const char *const *types,
                                  int (*cb)(const struct store_event *ev, void *arg), void *arg, char **cause);
int store_sqlite_event_get(struct store *s, const char *event_id, struct store_event **out, char **cause);
int64_t store_sqlite_last_event_seq(struct store *s);
int store_sqlite_count_events(struct store *s, int64_t *n, char **cause);
int store_sqlite_membership(struct store *s, const char *room_id, const char *user_id, char **membership, char **cause);
int store_sqlite_joined_count(struct store *s, const char *room_id, int64_t *n, char **cause);
int store_sqlite_room_is_direct(struct store *s, const char *room_id, int *is_direct, char **cause);
int store_sqlite_outbox_add(struct store *s, const struct store_outbox_new *e, int64_t *id, char **cause);
int store_sqlite_outbox_pending(struct store *s, int64_t after_id, int (*cb)(struct store_outbox_entry *e, void *arg),
                                void *arg, char **cause);
int store_sqlite_outbox_sent(struct store *s, int64_t id, const char *event_id, char **cause);
int store_sqlite_outbox_failed(struct store *s, int64_t id, const char *reason, char **cause);
int store_sqlite_outbox_attempted(struct store *s, int64_t id, const char *reason, char **cause);
int store_sqlite_outbox_event_id(struct store *s, int64_t id, char **event_id, char **cause);
int64_t store_sqlite_outbox_depth(struct store *s);
int store_sqlite_command_insert(struct store *s, const struct store_command *c, int *inserted, char **cause);
int store_sqlite_command_finish(struct store *s, const char *event_id, const struct store_command_outcome *o,
                                char **cause);
int store_sqlite_command_set_ack(struct store *s, const char *event_id, int64_t ack_outbox_id, char **cause);
int store_sqlite_command_ack(struct store *s, const char *event_id, int64_t *ack_outbox_id, char **cause);
int store_sqlite_cache_get(struct store *s, const char *key, int64_t now, char **value, char **cause);
int store_sqlite_cache_put(struct store *s, const char *key, const char *value, int64_t now, int64_t expires_at,
                           char **cause);
int store_sqlite_commands_running(struct store *s, int (*cb)(const char *event_id, void *arg), void *arg, char **cause);
int store_sqlite_audit_head(struct store *s, int64_t *seq, char **entry_hash, char **cause);
int store_sqlite_audit_insert(struct store *s, const struct store_audit_entry *e, char **cause);
int store_sqlite_audit_scan(struct store *s, int64_t after_seq, int64_t since_ts,
                            int (*cb)(const struct store_audit_entry *e, void *arg), void *arg, char **cause);
int store_sqlite_audit_prune(struct store *s, int64_t before_ms, int64_t *removed, int64_t *first_seq,
                             int64_t *last_seq, char **last_hash, char **cause);

#endif
