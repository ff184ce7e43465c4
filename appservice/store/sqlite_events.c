/*
 * Events in the SQLite backend: storing a homeserver transaction in one
 * database transaction, and reading events, memberships and room facts
 * back.
 */
#include "autoconfig.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "txn.h"
#include "xmalloc.h"

#define STORE_SQLITE_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Returns the string member key of obj, or NULL. */
static const char *
store_sqlite_json_string(struct json_object *obj, const char *key)
{
    struct json_object *v;

    if (obj == NULL || !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Records what a newly stored state event changes: memberships, and the
 * room facts the router needs (direct chat, encryption, name). */
static int
store_sqlite_apply_state(struct store_sqlite *ss, const struct txn_event *ev, char **cause)
{
    sqlite3_stmt *st;

    if (ev->state_key == NULL)
        return 0;
    if (strcmp(ev->type, "m.room.member") == 0) {
        const char *membership = store_sqlite_json_string(ev->content, "membership");
        struct json_object *is_direct;

        if (membership == NULL)
            return 0;
        if ((st = store_sqlite_stmt(ss, SQ_MEMBER_UPSERT, cause)) == NULL)
            return -1;
        sqlite3_bind_text(st, 1, ev->room_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, ev->state_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, membership, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, ev->event_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, ev->origin_server_ts);
        if (sqlite3_step(st) != SQLITE_DONE)
            return store_sqlite_fail(ss, cause, "storing a membership");
        if (strcmp(membership, "invite") == 0 && json_object_object_get_ex(ev->content, "is_direct", &is_direct) &&
            json_object_get_boolean(is_direct)) {
            if ((st = store_sqlite_stmt(ss, SQ_ROOM_SET_DIRECT, cause)) == NULL)
                return -1;
            sqlite3_bind_text(st, 1, ev->room_id, -1, SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_DONE)
                return store_sqlite_fail(ss, cause, "marking a direct chat");
        }
    } else if (strcmp(ev->type, "m.room.encryption") == 0 && ev->state_key[0] == '\0') {
        if ((st = store_sqlite_stmt(ss, SQ_ROOM_SET_ENCRYPTED, cause)) == NULL)
            return -1;
        sqlite3_bind_text(st, 1, ev->room_id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            return store_sqlite_fail(ss, cause, "marking an encrypted room");
    } else if (strcmp(ev->type, "m.room.name") == 0 && ev->state_key[0] == '\0') {
        if ((st = store_sqlite_stmt(ss, SQ_ROOM_SET_NAME, cause)) == NULL)
            return -1;
        sqlite3_bind_text(st, 1, ev->room_id, -1, SQLITE_STATIC);
        store_sqlite_bind_text(st, 2, store_sqlite_json_string(ev->content, "name"));
        if (sqlite3_step(st) != SQLITE_DONE)
            return store_sqlite_fail(ss, cause, "storing a room name");
    }
    return 0;
}

/* Stores the to-device messages and MSC3202 device data of a transaction. */
static int
store_sqlite_put_device_data(struct store_sqlite *ss, int64_t txn_seq, const struct txn *txn, int64_t now, char **cause)
{
    sqlite3_stmt *st;

    for (size_t i = 0; i < txn->nto_device; i++) {
        const struct txn_to_device *td = &txn->to_device[i];

        if ((st = store_sqlite_stmt(ss, SQ_TO_DEVICE_INSERT, cause)) == NULL)
            return -1;
        sqlite3_bind_int64(st, 1, txn_seq);
        sqlite3_bind_text(st, 2, td->type, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, td->sender, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, td->to_user_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, td->to_device_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, json_object_to_json_string_ext(td->json, STORE_SQLITE_JSON_FLAGS), -1,
                          SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            return store_sqlite_fail(ss, cause, "storing a to-device message");
    }
    for (int pass = 0; pass < 2; pass++) {
        struct json_object *list = pass == 0 ? txn->device_lists_changed : txn->device_lists_left;

        for (size_t i = 0; list != NULL && i < json_object_array_length(list); i++) {
            if ((st = store_sqlite_stmt(ss, SQ_DEVICE_LIST_INSERT, cause)) == NULL)
                return -1;
            sqlite3_bind_int64(st, 1, txn_seq);
            sqlite3_bind_text(st, 2, json_object_get_string(json_object_array_get_idx(list, i)), -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, pass == 0 ? "changed" : "left", -1, SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_DONE)
                return store_sqlite_fail(ss, cause, "storing a device-list change");
        }
    }
    if (txn->otk_counts != NULL) {
        json_object_object_foreach(txn->otk_counts, user, devices)
        {
            json_object_object_foreach(devices, device, counts)
            {
                json_object_object_foreach(counts, algorithm, count)
                {
                    if ((st = store_sqlite_stmt(ss, SQ_OTK_UPSERT, cause)) == NULL)
                        return -1;
                    sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
                    sqlite3_bind_text(st, 2, device, -1, SQLITE_STATIC);
                    sqlite3_bind_text(st, 3, algorithm, -1, SQLITE_STATIC);
                    sqlite3_bind_int64(st, 4, json_object_get_int64(count));
                    sqlite3_bind_int64(st, 5, now);
                    if (sqlite3_step(st) != SQLITE_DONE)
                        return store_sqlite_fail(ss, cause, "storing a one-time key count");
                }
            }
        }
    }
    if (txn->fallback_key_types != NULL) {
        json_object_object_foreach(txn->fallback_key_types, user, devices)
        {
            json_object_object_foreach(devices, device, types)
            {
                if ((st = store_sqlite_stmt(ss, SQ_FALLBACK_UPSERT, cause)) == NULL)
                    return -1;
                sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, device, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 3, json_object_to_json_string_ext(types, STORE_SQLITE_JSON_FLAGS), -1,
                                  SQLITE_TRANSIENT);
                sqlite3_bind_int64(st, 4, now);
                if (sqlite3_step(st) != SQLITE_DONE)
                    return store_sqlite_fail(ss, cause, "storing fallback key types");
            }
        }
    }
    return 0;
}

/* The body of store_sqlite_put_transaction, inside its write transaction. */
static int
store_sqlite_put_transaction_rows(struct store_sqlite *ss, const char *txn_id, const struct txn *txn,
                                  int64_t received_at, unsigned char *is_new, size_t *n_new, int64_t *txn_seq_out,
                                  char **cause)
{
    sqlite3_stmt *st;
    int64_t txn_seq;
    size_t fresh = 0;

    if ((st = store_sqlite_stmt(ss, SQ_TXN_INSERT, cause)) == NULL)
        return -1;
    sqlite3_bind_text(st, 1, txn_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, received_at);
    sqlite3_bind_int64(st, 3, (int64_t)txn->nevents);
    sqlite3_bind_int64(st, 4, (int64_t)txn->nephemeral);
    sqlite3_bind_int64(st, 5, (int64_t)txn->nto_device);
    if (sqlite3_step(st) != SQLITE_DONE)
        return store_sqlite_fail(ss, cause, "storing the transaction record");
    txn_seq = sqlite3_last_insert_rowid(ss->db);

    for (size_t i = 0; i < txn->nevents; i++) {
        const struct txn_event *ev = &txn->events[i];
        int added;

        if ((st = store_sqlite_stmt(ss, SQ_EVENT_INSERT, cause)) == NULL)
            return -1;
        sqlite3_bind_text(st, 1, ev->event_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, ev->room_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, ev->sender, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, ev->type, -1, SQLITE_STATIC);
        store_sqlite_bind_text(st, 5, ev->state_key);
        sqlite3_bind_int64(st, 6, ev->origin_server_ts);
        sqlite3_bind_int64(st, 7, received_at);
        sqlite3_bind_int64(st, 8, txn_seq);
        sqlite3_bind_text(st, 9, ev->text, (int)ev->text_len, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            return store_sqlite_fail(ss, cause, "storing an event");
        added = sqlite3_changes(ss->db) > 0;
        if (is_new != NULL)
            is_new[i] = (unsigned char)added;
        if (!added)
            continue;
        fresh++;
        if (store_sqlite_apply_state(ss, ev, cause) != 0)
            return -1;
    }
    if (store_sqlite_put_device_data(ss, txn_seq, txn, received_at, cause) != 0)
        return -1;
    if ((st = store_sqlite_stmt(ss, SQ_TXN_SET_NEW, cause)) == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, txn_seq);
    sqlite3_bind_int64(st, 2, (int64_t)fresh);
    if (sqlite3_step(st) != SQLITE_DONE)
        return store_sqlite_fail(ss, cause, "storing the transaction record");
    *n_new = fresh;
    *txn_seq_out = txn_seq;
    return 0;
}

int
store_sqlite_put_transaction(struct store *s, const char *txn_id, const struct txn *txn, int64_t received_at,
                             unsigned char *is_new, size_t *n_new, int64_t *txn_seq, char **cause)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;
    int64_t seq = 0;
    int ok;

    *n_new = 0;
    if (txn_seq != NULL)
        *txn_seq = 0;
    if (store_sqlite_write_begin(ss, cause) != 0)
        return -1;
    ok = store_sqlite_put_transaction_rows(ss, txn_id, txn, received_at, is_new, n_new, &seq, cause) == 0;
    if (store_sqlite_write_end(ss, ok, cause) != 0) {
        *n_new = 0;
        if (is_new != NULL)
            memset(is_new, 0, txn->nevents);
        return -1;
    }
    if (txn_seq != NULL)
        *txn_seq = seq;
    return 0;
}

/* Fills ev from a row of (seq, event_id, room_id, sender, type, state_key,
 * origin_server_ts, json, txn_seq). */
static void
store_sqlite_read_event(sqlite3_stmt *st, struct store_event *ev)
{
    ev->seq = sqlite3_column_int64(st, 0);
    ev->event_id = store_sqlite_column_dup(st, 1);
    ev->room_id = store_sqlite_column_dup(st, 2);
    ev->sender = store_sqlite_column_dup(st, 3);
    ev->type = store_sqlite_column_dup(st, 4);
    ev->state_key = store_sqlite_column_dup(st, 5);
    ev->origin_server_ts = sqlite3_column_int64(st, 6);
    ev->json = store_sqlite_column_dup(st, 7);
    ev->txn_seq = sqlite3_column_int64(st, 8);
}

/* Frees what store_sqlite_read_event() allocated inside ev. */
static void
store_sqlite_clear_event(struct store_event *ev)
{
    free(ev->event_id);
    free(ev->room_id);
    free(ev->sender);
    free(ev->type);
    free(ev->state_key);
    free(ev->json);
    memset(ev, 0, sizeof(*ev));
}

int
store_sqlite_events_after_txn(struct store *s, int64_t after_txn_seq, const char *const *types,
                              int (*cb)(const struct store_event *ev, void *arg), void *arg, char **cause)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;
    struct json_object *list = json_object_new_array();
    sqlite3_stmt *st = NULL;
    int rc, ret = -1;

    /* The type list varies per caller, so this statement is prepared here;
     * the types go in as one JSON parameter, never into the SQL text. */
    for (size_t i = 0; types != NULL && types[i] != NULL; i++)
        json_object_array_add(list, json_object_new_string(types[i]));
    if (sqlite3_prepare_v2(ss->db,
                           "SELECT seq, event_id, room_id, sender, type, state_key, origin_server_ts, json, txn_seq "
                           "FROM events WHERE txn_seq > ?1 "
                           "AND (?2 = 0 OR type IN (SELECT value FROM json_each(?3))) ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK) {
        store_sqlite_fail(ss, cause, "reading events");
        goto out;
    }
    sqlite3_bind_int64(st, 1, after_txn_seq);
    sqlite3_bind_int(st, 2, types != NULL);
    sqlite3_bind_text(st, 3, json_object_to_json_string_ext(list, JSON_C_TO_STRING_PLAIN), -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_event ev;
        int stop;

        store_sqlite_read_event(st, &ev);
        stop = cb(&ev, arg);
        store_sqlite_clear_event(&ev);
        if (stop)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        store_sqlite_fail(ss, cause, "reading events");
        goto out;
    }
    ret = 0;
out:
    json_object_put(list);
    sqlite3_finalize(st);
    return ret;
}

int
store_sqlite_event_get(struct store *s, const char *event_id, struct store_event **out, char **cause)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;
    sqlite3_stmt *st = store_sqlite_stmt(ss, SQ_EVENT_GET, cause);
    int rc;

    *out = NULL;
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, event_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = xcalloc(1, sizeof(**out));
        store_sqlite_read_event(st, *out);
    } else if (rc != SQLITE_DONE) {
        return store_sqlite_fail(ss, cause, "reading an event");
    }
    sqlite3_reset(st);
    return 0;
}

/* Runs a one-row, one-integer query; returns def if it fails. */
static int64_t
store_sqlite_scalar(struct store_sqlite *ss, enum store_sqlite_stmt id, const char *text_arg, int64_t def)
{
    char *cause = NULL;
    sqlite3_stmt *st = store_sqlite_stmt(ss, id, &cause);
    int64_t v = def;

    if (st == NULL) {
        free(cause);
        return def;
    }
    if (text_arg != NULL)
        sqlite3_bind_text(st, 1, text_arg, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return v;
}

int64_t
store_sqlite_last_event_seq(struct store *s)
{
    return store_sqlite_scalar((struct store_sqlite *)s, SQ_EVENT_LAST_SEQ, NULL, 0);
}

int
store_sqlite_count_events(struct store *s, int64_t *n, char **cause)
{
    *n = store_sqlite_scalar((struct store_sqlite *)s, SQ_EVENT_COUNT, NULL, -1);
    if (*n < 0) {
        *cause = xstrdup("counting events failed");
        return -1;
    }
    return 0;
}

int
store_sqlite_membership(struct store *s, const char *room_id, const char *user_id, char **membership, char **cause)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;
    sqlite3_stmt *st = store_sqlite_stmt(ss, SQ_MEMBER_GET, cause);
    int rc;

    *membership = NULL;
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, room_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *membership = store_sqlite_column_dup(st, 0);
    else if (rc != SQLITE_DONE)
        return store_sqlite_fail(ss, cause, "reading a membership");
    sqlite3_reset(st);
    return 0;
}

int
store_sqlite_joined_count(struct store *s, const char *room_id, int64_t *n, char **cause)
{
    *n = store_sqlite_scalar((struct store_sqlite *)s, SQ_MEMBER_JOINED_COUNT, room_id, -1);
    if (*n < 0) {
        *cause = xstrdup("counting room members failed");
        return -1;
    }
    return 0;
}

int
store_sqlite_room_is_direct(struct store *s, const char *room_id, int *is_direct, char **cause)
{
    (void)cause;
    *is_direct = store_sqlite_scalar((struct store_sqlite *)s, SQ_ROOM_GET_DIRECT, room_id, 0) != 0;
    return 0;
}
