/*
 * The outbox and the command records in the SQLite backend.  The outbox
 * holds everything warroom asks of the homeserver until the homeserver has
 * answered, so a restart or an outage delays a reply and never loses it.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "store/sqlite_internal.h"
#include "xmalloc.h"

static const char *const store_sqlite_kind_names[] = {
    [STORE_OUTBOX_SEND] = "send",
    [STORE_OUTBOX_JOIN] = "join",
    [STORE_OUTBOX_LEAVE] = "leave",
};

static const char *const store_sqlite_command_status_names[] = {
    [STORE_COMMAND_RUNNING] = "running", [STORE_COMMAND_DONE] = "done",   [STORE_COMMAND_FAILED] = "failed",
    [STORE_COMMAND_REFUSED] = "refused", [STORE_COMMAND_STALE] = "stale",
};

int
store_sqlite_outbox_add(struct store *s, const struct store_outbox_new *e, int64_t *id, char **cause)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;
    sqlite3_stmt *st;

    *id = 0;
    /* A join or leave caused by an event is asked once, even if the event
     * is offered again after a restart. */
    if (e->kind != STORE_OUTBOX_SEND && e->cause_event_id != NULL) {
        int rc;

        if ((st = store_sqlite_stmt(ss, SQ_OUTBOX_CAUSE_EXISTS, cause)) == NULL)
            return -1;
        sqlite3_bind_text(st, 1, e->cause_event_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, store_sqlite_kind_names[e->kind], -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc == SQLITE_ROW)
            return 0;
        if (rc != SQLITE_DONE)
            return store_sqlite_fail(ss, cause, "reading the outbox");
    }
    if ((st = store_sqlite_stmt(ss, SQ_OUTBOX_INSERT, cause)) == NULL)
        return -1;
    sqlite3_bind_text(st, 1, e->room_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, e->user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, store_sqlite_kind_names[e->kind], -1, SQLITE_STATIC);
    store_sqlite_bind_text(st, 4, e->event_type);
    store_sqlite_bind_text(st, 5, e->content);
    if (e->replaces_id != 0)
        sqlite3_bind_int64(st, 6, e->replaces_id);
    else
        sqlite3_bind_null(st, 6);
    store_sqlite_bind_text(st, 7, e->cause_event_id);
    sqlite3_bind_int64(st, 8, clock_now_ms());
    if (e->blob != NULL)
        sqlite3_bind_blob64(st, 9, e->blob, (sqlite3_uint64)e->blob_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 9);
    store_sqlite_bind_text(st, 10, e->blob_name);
    store_sqlite_bind_text(st, 11, e->blob_type);
    if (sqlite3_step(st) != SQLITE_DONE)
        return store_sqlite_fail(ss, cause, "adding to the outbox");
    *id = sqlite3_last_insert_rowid(ss->db);
    return 0;
}

/* Returns the kind named name; SEND if unknown (the CHECK constraint makes
 * that impossible). */
static enum store_outbox_kind
store_sqlite_kind(const char *name)
{
    for (size_t i = 0; i < sizeof(store_sqlite_kind_names) / sizeof(store_sqlite_kind_names[0]); i++) {
        if (name != NULL && strcmp(name, store_sqlite_kind_names[i]) == 0)
            return (enum store_outbox_kind)i;
    }
    return STORE_OUTBOX_SEND;
}

int
store_sqlite_outbox_pending(struct store *s, int64_t after_id, int (*cb)(struct store_outbox_entry *e, void *arg),
                            void *arg, char **cause)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;
    sqlite3_stmt *st = NULL;
    int rc, ret = -1;

    /* A statement of its own: cb may add to the outbox while we read. */
    if (sqlite3_prepare_v2(ss->db,
                           "SELECT id, room_id, user_id, kind, event_type, content, replaces_id, created_at, "
                           "attempts, blob, blob_name, blob_type FROM outbox WHERE state = 'pending' AND id > ?1 "
                           "ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK) {
        store_sqlite_fail(ss, cause, "reading the outbox");
        goto out;
    }
    sqlite3_bind_int64(st, 1, after_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_outbox_entry *e = xcalloc(1, sizeof(*e));

        e->id = sqlite3_column_int64(st, 0);
        e->room_id = store_sqlite_column_dup(st, 1);
        e->user_id = store_sqlite_column_dup(st, 2);
        e->kind = store_sqlite_kind((const char *)sqlite3_column_text(st, 3));
        e->event_type = store_sqlite_column_dup(st, 4);
        e->content = store_sqlite_column_dup(st, 5);
        e->replaces_id = sqlite3_column_int64(st, 6);
        e->created_at = sqlite3_column_int64(st, 7);
        e->attempts = (unsigned)sqlite3_column_int(st, 8);
        if (sqlite3_column_type(st, 9) == SQLITE_BLOB) {
            e->blob_len = (size_t)sqlite3_column_bytes(st, 9);
            e->blob = xmalloc(e->blob_len + 1);
            memcpy(e->blob, sqlite3_column_blob(st, 9), e->blob_len);
            e->blob_name = store_sqlite_column_dup(st, 10);
            e->blob_type = store_sqlite_column_dup(st, 11);
        }
        e->txn_id = xasprintf("wr%s.%lld", ss->instance_id, (long long)e->id);
        if (cb(e, arg) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        store_sqlite_fail(ss, cause, "reading the outbox");
        goto out;
    }
    ret = 0;
out:
    sqlite3_finalize(st);
    return ret;
}

/* Runs an UPDATE of one outbox row by id, with an optional text argument. */
static int
store_sqlite_outbox_update(struct store_sqlite *ss, enum store_sqlite_stmt id_stmt, int64_t id, const char *text,
                           int with_time, char **cause)
{
    sqlite3_stmt *st = store_sqlite_stmt(ss, id_stmt, cause);

    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    store_sqlite_bind_text(st, 2, text);
    if (with_time)
        sqlite3_bind_int64(st, 3, clock_now_ms());
    if (sqlite3_step(st) != SQLITE_DONE)
        return store_sqlite_fail(ss, cause, "updating the outbox");
    return 0;
}

int
store_sqlite_outbox_sent(struct store *s, int64_t id, const char *event_id, char **cause)
{
    return store_sqlite_outbox_update((struct store_sqlite *)s, SQ_OUTBOX_SENT, id, event_id, 1, cause);
}

int
store_sqlite_outbox_failed(struct store *s, int64_t id, const char *reason, char **cause)
{
    return store_sqlite_outbox_update((struct store_sqlite *)s, SQ_OUTBOX_FAILED, id, reason, 0, cause);
}

int
store_sqlite_outbox_attempted(struct store *s, int64_t id, const char *reason, char **cause)
{
    return store_sqlite_outbox_update((struct store_sqlite *)s, SQ_OUTBOX_ATTEMPTED, id, reason, 0, cause);
}

int
store_sqlite_outbox_event_id(struct store *s, int64_t id, char **event_id, char **cause)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;
    sqlite3_stmt *st = store_sqlite_stmt(ss, SQ_OUTBOX_EVENT_ID, cause);
    int rc;

    *event_id = NULL;
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *event_id = store_sqlite_column_dup(st, 0);
    else if (rc != SQLITE_DONE)
        return store_sqlite_fail(ss, cause, "reading the outbox");
    sqlite3_reset(st);
    return 0;
}

int64_t
store_sqlite_outbox_depth(struct store *s)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;
    char *cause = NULL;
    sqlite3_stmt *st = store_sqlite_stmt(ss, SQ_OUTBOX_DEPTH, &cause);
    int64_t n = -1;

    if (st == NULL) {
        free(cause);
        return -1;
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return n;
}

int
store_sqlite_command_insert(struct store *s, const struct store_command *c, int *inserted, char **cause)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;
    sqlite3_stmt *st = store_sqlite_stmt(ss, SQ_COMMAND_INSERT, cause);

    *inserted = 0;
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, c->event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->room_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c->sender, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, c->command, -1, SQLITE_STATIC);
    store_sqlite_bind_text(st, 5, c->args_json);
    sqlite3_bind_int64(st, 6, c->received_at);
    sqlite3_bind_int64(st, 7, clock_now_ms());
    store_sqlite_bind_text(st, 8, c->bridge);
    if (sqlite3_step(st) != SQLITE_DONE)
        return store_sqlite_fail(ss, cause, "recording a command");
    *inserted = sqlite3_changes(ss->db) > 0;
    return 0;
}

int
store_sqlite_command_finish(struct store *s, const char *event_id, const struct store_command_outcome *o, char **cause)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;
    sqlite3_stmt *st = store_sqlite_stmt(ss, SQ_COMMAND_FINISH, cause);

    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, store_sqlite_command_status_names[o->status], -1, SQLITE_STATIC);
    store_sqlite_bind_text(st, 3, o->detail);
    sqlite3_bind_int64(st, 4, o->reply_outbox_id);
    sqlite3_bind_int64(st, 5, clock_now_ms());
    store_sqlite_bind_text(st, 6, o->verdict);
    sqlite3_bind_int64(st, 7, o->duration_ms);
    if (sqlite3_step(st) != SQLITE_DONE)
        return store_sqlite_fail(ss, cause, "recording a command's outcome");
    return 0;
}

int
store_sqlite_command_set_ack(struct store *s, const char *event_id, int64_t ack_outbox_id, char **cause)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;
    sqlite3_stmt *st = store_sqlite_stmt(ss, SQ_COMMAND_SET_ACK, cause);

    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, event_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, ack_outbox_id);
    if (sqlite3_step(st) != SQLITE_DONE)
        return store_sqlite_fail(ss, cause, "recording an acknowledgement");
    return 0;
}

int
store_sqlite_command_ack(struct store *s, const char *event_id, int64_t *ack_outbox_id, char **cause)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;
    sqlite3_stmt *st = store_sqlite_stmt(ss, SQ_COMMAND_ACK, cause);
    int rc;

    *ack_outbox_id = 0;
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, event_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *ack_outbox_id = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        return store_sqlite_fail(ss, cause, "reading a command");
    sqlite3_reset(st);
    return 0;
}

int
store_sqlite_cache_get(struct store *s, const char *key, int64_t now, char **value, char **cause)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;
    sqlite3_stmt *st = store_sqlite_stmt(ss, SQ_CACHE_GET, cause);
    int rc;

    *value = NULL;
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *value = store_sqlite_column_dup(st, 0);
    else if (rc != SQLITE_DONE)
        return store_sqlite_fail(ss, cause, "reading the tool cache");
    sqlite3_reset(st);
    return 0;
}

/* Runs one prepared write with the bound key, value and times. */
static int
store_sqlite_cache_step(struct store_sqlite *ss, enum store_sqlite_stmt id, const char *key, const char *value,
                        int64_t now, int64_t expires_at, char **cause)
{
    sqlite3_stmt *st = store_sqlite_stmt(ss, id, cause);

    if (st == NULL)
        return -1;
    if (id == SQ_CACHE_EXPIRE) {
        sqlite3_bind_int64(st, 1, now);
    } else {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now);
        sqlite3_bind_int64(st, 4, expires_at);
    }
    if (sqlite3_step(st) != SQLITE_DONE)
        return store_sqlite_fail(ss, cause, "writing the tool cache");
    return 0;
}

int
store_sqlite_cache_put(struct store *s, const char *key, const char *value, int64_t now, int64_t expires_at,
                       char **cause)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;
    int ok;

    if (store_sqlite_write_begin(ss, cause) != 0)
        return -1;
    ok = store_sqlite_cache_step(ss, SQ_CACHE_EXPIRE, NULL, NULL, now, 0, cause) == 0 &&
         store_sqlite_cache_step(ss, SQ_CACHE_PUT, key, value, now, expires_at, cause) == 0;
    return store_sqlite_write_end(ss, ok, cause);
}

int
store_sqlite_commands_running(struct store *s, int (*cb)(const char *event_id, void *arg), void *arg, char **cause)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;
    sqlite3_stmt *st = NULL;
    int rc, ret = -1;

    if (sqlite3_prepare_v2(ss->db, "SELECT event_id FROM commands WHERE status = 'running' ORDER BY id", -1, &st,
                           NULL) != SQLITE_OK) {
        store_sqlite_fail(ss, cause, "reading commands");
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (cb((const char *)sqlite3_column_text(st, 0), arg) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        store_sqlite_fail(ss, cause, "reading commands");
        goto out;
    }
    ret = 0;
out:
    sqlite3_finalize(st);
    return ret;
}
