/*
 * The storage interface's dispatch: each store_* function calls the
 * backend's slot.  Kept apart from the backends so that callers never see
 * which database is behind the store.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "xmalloc.h"

int
store_open(const struct store_options *opt, struct store **out, char **cause)
{
    *out = NULL;
    if (strncmp(opt->path, "postgres://", 11) == 0 || strncmp(opt->path, "postgresql://", 13) == 0) {
        *cause = xstrdup("PostgreSQL is not supported by this build yet; use a SQLite file path");
        return -1;
    }
    return store_sqlite_ops.open(opt, out, cause);
}

void
store_close(struct store *s)
{
    if (s != NULL)
        s->ops->close(s);
}

void
store_outbox_entry_free(struct store_outbox_entry *e)
{
    if (e == NULL)
        return;
    free(e->room_id);
    free(e->user_id);
    free(e->event_type);
    free(e->content);
    free(e->txn_id);
    free(e->blob);
    free(e->blob_name);
    free(e->blob_type);
    free(e);
}

void
store_event_free(struct store_event *ev)
{
    if (ev == NULL)
        return;
    free(ev->event_id);
    free(ev->room_id);
    free(ev->sender);
    free(ev->type);
    free(ev->state_key);
    free(ev->json);
    free(ev);
}

int
store_begin(struct store *s, char **cause)
{
    return s->ops->begin(s, cause);
}

int
store_commit(struct store *s, char **cause)
{
    return s->ops->commit(s, cause);
}

void
store_rollback(struct store *s)
{
    s->ops->rollback(s);
}

int
store_schema_version(struct store *s)
{
    return s->ops->schema_version(s);
}

const char *
store_instance_id(struct store *s)
{
    return s->ops->instance_id(s);
}

int
store_meta_get(struct store *s, const char *key, char **value, char **cause)
{
    return s->ops->meta_get(s, key, value, cause);
}

int
store_meta_set(struct store *s, const char *key, const char *value, char **cause)
{
    return s->ops->meta_set(s, key, value, cause);
}

int
store_put_transaction(struct store *s, const char *txn_id, const struct txn *txn, int64_t received_at,
                      unsigned char *is_new, size_t *n_new, int64_t *txn_seq, char **cause)
{
    return s->ops->put_transaction(s, txn_id, txn, received_at, is_new, n_new, txn_seq, cause);
}

int
store_events_after_txn(struct store *s, int64_t after_txn_seq, const char *const *types,
                       int (*cb)(const struct store_event *ev, void *arg), void *arg, char **cause)
{
    return s->ops->events_after_txn(s, after_txn_seq, types, cb, arg, cause);
}

int
store_event_get(struct store *s, const char *event_id, struct store_event **out, char **cause)
{
    return s->ops->event_get(s, event_id, out, cause);
}

int64_t
store_last_event_seq(struct store *s)
{
    return s->ops->last_event_seq(s);
}

int
store_count_events(struct store *s, int64_t *n, char **cause)
{
    return s->ops->count_events(s, n, cause);
}

int
store_membership(struct store *s, const char *room_id, const char *user_id, char **membership, char **cause)
{
    return s->ops->membership(s, room_id, user_id, membership, cause);
}

int
store_joined_count(struct store *s, const char *room_id, int64_t *n, char **cause)
{
    return s->ops->joined_count(s, room_id, n, cause);
}

int
store_room_is_direct(struct store *s, const char *room_id, int *is_direct, char **cause)
{
    return s->ops->room_is_direct(s, room_id, is_direct, cause);
}

int
store_outbox_add(struct store *s, const struct store_outbox_new *e, int64_t *id, char **cause)
{
    return s->ops->outbox_add(s, e, id, cause);
}

int
store_outbox_pending(struct store *s, int64_t after_id, int (*cb)(struct store_outbox_entry *e, void *arg), void *arg,
                     char **cause)
{
    return s->ops->outbox_pending(s, after_id, cb, arg, cause);
}

int
store_outbox_sent(struct store *s, int64_t id, const char *event_id, char **cause)
{
    return s->ops->outbox_sent(s, id, event_id, cause);
}

int
store_outbox_failed(struct store *s, int64_t id, const char *reason, char **cause)
{
    return s->ops->outbox_failed(s, id, reason, cause);
}

int
store_outbox_attempted(struct store *s, int64_t id, const char *reason, char **cause)
{
    return s->ops->outbox_attempted(s, id, reason, cause);
}

int
store_outbox_event_id(struct store *s, int64_t id, char **event_id, char **cause)
{
    return s->ops->outbox_event_id(s, id, event_id, cause);
}

int64_t
store_outbox_depth(struct store *s)
{
    return s->ops->outbox_depth(s);
}

int
store_command_insert(struct store *s, const struct store_command *c, int *inserted, char **cause)
{
    return s->ops->command_insert(s, c, inserted, cause);
}

int
store_command_finish(struct store *s, const char *event_id, const struct store_command_outcome *o, char **cause)
{
    return s->ops->command_finish(s, event_id, o, cause);
}

int
store_command_set_ack(struct store *s, const char *event_id, int64_t ack_outbox_id, char **cause)
{
    return s->ops->command_set_ack(s, event_id, ack_outbox_id, cause);
}

int
store_command_ack(struct store *s, const char *event_id, int64_t *ack_outbox_id, char **cause)
{
    return s->ops->command_ack(s, event_id, ack_outbox_id, cause);
}

int
store_cache_get(struct store *s, const char *key, int64_t now, char **value, char **cause)
{
    return s->ops->cache_get(s, key, now, value, cause);
}

int
store_cache_put(struct store *s, const char *key, const char *value, int64_t now, int64_t expires_at, char **cause)
{
    return s->ops->cache_put(s, key, value, now, expires_at, cause);
}

int
store_commands_running(struct store *s, int (*cb)(const char *event_id, void *arg), void *arg, char **cause)
{
    return s->ops->commands_running(s, cb, arg, cause);
}

int
store_audit_head(struct store *s, int64_t *seq, char **entry_hash, char **cause)
{
    return s->ops->audit_head(s, seq, entry_hash, cause);
}

int
store_audit_insert(struct store *s, const struct store_audit_entry *e, char **cause)
{
    return s->ops->audit_insert(s, e, cause);
}

int
store_audit_scan(struct store *s, int64_t after_seq, int64_t since_ts,
                 int (*cb)(const struct store_audit_entry *e, void *arg), void *arg, char **cause)
{
    return s->ops->audit_scan(s, after_seq, since_ts, cb, arg, cause);
}

int
store_audit_prune(struct store *s, int64_t before_ms, int64_t *removed, int64_t *first_seq, int64_t *last_seq,
                  char **last_hash, char **cause)
{
    return s->ops->audit_prune(s, before_ms, removed, first_seq, last_seq, last_hash, cause);
}
