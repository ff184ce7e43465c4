/*
 * The SQLite backend: opening the database (WAL, foreign keys, a busy
 * timeout), the prepared statements every query goes through, write
 * transactions that nest, and the small key-value table.  The queries
 * themselves live in sqlite_events.c and sqlite_outbox.c.
 *
 * Durability: WAL with synchronous=FULL fsyncs the log at every commit, so
 * an acknowledged transaction survives a power cut; NORMAL survives a
 * crash of warroom (kill -9) but not of the machine.
 */
#include "autoconfig.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "xmalloc.h"

static const char *const store_sqlite_sql[SQ_NSTMTS] = {
    [SQ_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [SQ_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [SQ_TXN_INSERT] = "INSERT INTO transactions (txn_id, received_at, events, new_events, ephemeral, to_device) "
                      "VALUES (?1, ?2, ?3, 0, ?4, ?5)",
    [SQ_TXN_SET_NEW] = "UPDATE transactions SET new_events = ?2 WHERE seq = ?1",
    [SQ_EVENT_INSERT] = "INSERT INTO events (event_id, room_id, sender, type, state_key, origin_server_ts, "
                        "received_at, txn_seq, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                        "ON CONFLICT (event_id) DO NOTHING",
    [SQ_EVENT_GET] = "SELECT seq, event_id, room_id, sender, type, state_key, origin_server_ts, json, txn_seq "
                     "FROM events WHERE event_id = ?1",
    [SQ_EVENT_LAST_SEQ] = "SELECT coalesce(max(seq), 0) FROM events",
    [SQ_EVENT_COUNT] = "SELECT count(*) FROM events",
    [SQ_MEMBER_UPSERT] = "INSERT INTO memberships (room_id, user_id, membership, event_id, updated_ts) "
                         "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (room_id, user_id) DO UPDATE SET "
                         "membership = excluded.membership, event_id = excluded.event_id, "
                         "updated_ts = excluded.updated_ts",
    [SQ_MEMBER_GET] = "SELECT membership FROM memberships WHERE room_id = ?1 AND user_id = ?2",
    [SQ_MEMBER_JOINED_COUNT] = "SELECT count(*) FROM memberships WHERE room_id = ?1 AND membership = 'join'",
    [SQ_ROOM_SET_DIRECT] = "INSERT INTO rooms (room_id, is_direct) VALUES (?1, 1) "
                           "ON CONFLICT (room_id) DO UPDATE SET is_direct = 1",
    [SQ_ROOM_SET_ENCRYPTED] = "INSERT INTO rooms (room_id, encrypted) VALUES (?1, 1) "
                              "ON CONFLICT (room_id) DO UPDATE SET encrypted = 1",
    [SQ_ROOM_SET_NAME] = "INSERT INTO rooms (room_id, name) VALUES (?1, ?2) "
                         "ON CONFLICT (room_id) DO UPDATE SET name = excluded.name",
    [SQ_ROOM_GET_DIRECT] = "SELECT is_direct FROM rooms WHERE room_id = ?1",
    [SQ_TO_DEVICE_INSERT] = "INSERT INTO to_device (txn_seq, type, sender, to_user_id, to_device_id, json) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQ_DEVICE_LIST_INSERT] = "INSERT INTO device_list_changes (txn_seq, user_id, change) VALUES (?1, ?2, ?3)",
    [SQ_OTK_UPSERT] = "INSERT INTO device_key_counts (user_id, device_id, algorithm, count, updated_at) "
                      "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (user_id, device_id, algorithm) DO UPDATE SET "
                      "count = excluded.count, updated_at = excluded.updated_at",
    [SQ_FALLBACK_UPSERT] = "INSERT INTO device_fallback_keys (user_id, device_id, types, updated_at) "
                           "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (user_id, device_id) DO UPDATE SET "
                           "types = excluded.types, updated_at = excluded.updated_at",
    [SQ_OUTBOX_INSERT] = "INSERT INTO outbox (room_id, user_id, kind, event_type, content, replaces_id, "
                         "cause_event_id, created_at, blob, blob_name, blob_type) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [SQ_OUTBOX_SENT] = "UPDATE outbox SET state = 'sent', event_id = ?2, sent_at = ?3, "
                       "attempts = attempts + 1 WHERE id = ?1",
    [SQ_OUTBOX_FAILED] = "UPDATE outbox SET state = 'failed', last_error = ?2, attempts = attempts + 1 "
                         "WHERE id = ?1",
    [SQ_OUTBOX_ATTEMPTED] = "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
    [SQ_OUTBOX_EVENT_ID] = "SELECT event_id FROM outbox WHERE id = ?1",
    [SQ_OUTBOX_DEPTH] = "SELECT count(*) FROM outbox WHERE state = 'pending'",
    [SQ_OUTBOX_CAUSE_EXISTS] = "SELECT 1 FROM outbox WHERE cause_event_id = ?1 AND kind = ?2",
    [SQ_COMMAND_INSERT] = "INSERT INTO commands (event_id, room_id, sender, command, args, status, received_at, "
                          "started_at, bridge) VALUES (?1, ?2, ?3, ?4, ?5, 'running', ?6, ?7, ?8) "
                          "ON CONFLICT (event_id) DO NOTHING",
    [SQ_COMMAND_FINISH] = "UPDATE commands SET status = ?2, detail = ?3, reply_outbox_id = nullif(?4, 0), "
                          "finished_at = ?5, verdict = ?6, duration_ms = ?7 WHERE event_id = ?1",
    [SQ_COMMAND_SET_ACK] = "UPDATE commands SET ack_outbox_id = ?2 WHERE event_id = ?1",
    [SQ_COMMAND_ACK] = "SELECT ack_outbox_id FROM commands WHERE event_id = ?1",
    [SQ_CACHE_GET] = "SELECT result FROM tool_cache WHERE key = ?1 AND expires_at > ?2",
    [SQ_CACHE_PUT] = "INSERT INTO tool_cache (key, result, stored_at, expires_at) VALUES (?1, ?2, ?3, ?4) "
                     "ON CONFLICT (key) DO UPDATE SET result = excluded.result, stored_at = excluded.stored_at, "
                     "expires_at = excluded.expires_at",
    [SQ_CACHE_EXPIRE] = "DELETE FROM tool_cache WHERE expires_at <= ?1",
    [SQ_AUDIT_HEAD] = "SELECT seq, entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1",
    [SQ_AUDIT_INSERT] = "INSERT INTO audit_log (seq, ts, kind, detail, prev_hash, entry_hash) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQ_AUDIT_SCAN] = "SELECT seq, ts, kind, detail, prev_hash, entry_hash FROM audit_log "
                      "WHERE seq > ?1 AND ts >= ?2 ORDER BY seq",
    /* The first entry to keep: the oldest that is not older than ?1, and
     * at most the newest (never removed). */
    [SQ_AUDIT_PRUNE_LIMIT] = "SELECT coalesce((SELECT seq FROM audit_log WHERE ts >= ?1 ORDER BY seq LIMIT 1), "
                             "(SELECT max(seq) FROM audit_log))",
    [SQ_AUDIT_PRUNE_LAST] = "SELECT (SELECT min(seq) FROM audit_log), seq, entry_hash, "
                            "(SELECT count(*) FROM audit_log WHERE seq < ?1) "
                            "FROM audit_log WHERE seq < ?1 ORDER BY seq DESC LIMIT 1",
    [SQ_AUDIT_PRUNE_DELETE] = "DELETE FROM audit_log WHERE seq < ?1",
};

sqlite3_stmt *
store_sqlite_stmt(struct store_sqlite *ss, enum store_sqlite_stmt id, char **cause)
{
    sqlite3_stmt *st = ss->stmts[id];

    if (st == NULL) {
        if (sqlite3_prepare_v3(ss->db, store_sqlite_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
            store_sqlite_fail(ss, cause, "preparing a statement");
            return NULL;
        }
        ss->stmts[id] = st;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

int
store_sqlite_fail(struct store_sqlite *ss, char **cause, const char *what)
{
    *cause = xasprintf("%s: %s", what, sqlite3_errmsg(ss->db));
    return -1;
}

int
store_sqlite_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
    if (s == NULL)
        return sqlite3_bind_null(st, idx);
    return sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
}

char *
store_sqlite_column_dup(sqlite3_stmt *st, int col)
{
    const unsigned char *s = sqlite3_column_text(st, col);

    if (s == NULL)
        return NULL;
    return xstrndup((const char *)s, (size_t)sqlite3_column_bytes(st, col));
}

/* Runs one statement that returns no rows. */
static int
store_sqlite_exec(struct store_sqlite *ss, const char *sql, char **cause)
{
    char *errmsg = NULL;

    if (sqlite3_exec(ss->db, sql, NULL, NULL, &errmsg) != SQLITE_OK) {
        *cause = xasprintf("%s: %s", sql, errmsg != NULL ? errmsg : sqlite3_errmsg(ss->db));
        sqlite3_free(errmsg);
        return -1;
    }
    return 0;
}

int
store_sqlite_write_begin(struct store_sqlite *ss, char **cause)
{
    if (ss->depth == 0) {
        /* IMMEDIATE takes the write lock now, so a concurrent reader (the
         * CLI) never turns this into a deadlock-prone upgrade later. */
        if (store_sqlite_exec(ss, "BEGIN IMMEDIATE", cause) != 0)
            return -1;
        ss->failed = 0;
    }
    ss->depth++;
    return 0;
}

int
store_sqlite_write_end(struct store_sqlite *ss, int ok, char **cause)
{
    if (!ok)
        ss->failed = 1;
    if (--ss->depth > 0)
        return ok ? 0 : -1;
    if (ss->failed) {
        sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
        if (ok)
            *cause = xstrdup("an earlier part of this database transaction failed; nothing was written");
        return -1;
    }
    if (store_sqlite_exec(ss, "COMMIT", cause) != 0) {
        sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

static int
store_sqlite_begin(struct store *s, char **cause)
{
    return store_sqlite_write_begin((struct store_sqlite *)s, cause);
}

static int
store_sqlite_commit(struct store *s, char **cause)
{
    return store_sqlite_write_end((struct store_sqlite *)s, 1, cause);
}

static void
store_sqlite_rollback(struct store *s)
{
    char *cause = NULL;

    store_sqlite_write_end((struct store_sqlite *)s, 0, &cause);
    free(cause);
}

static int
store_sqlite_meta_get(struct store *s, const char *key, char **value, char **cause)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;
    sqlite3_stmt *st = store_sqlite_stmt(ss, SQ_META_GET, cause);
    int rc;

    *value = NULL;
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *value = store_sqlite_column_dup(st, 0);
    else if (rc != SQLITE_DONE)
        return store_sqlite_fail(ss, cause, "reading meta");
    sqlite3_reset(st);
    return 0;
}

static int
store_sqlite_meta_set(struct store *s, const char *key, const char *value, char **cause)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;
    sqlite3_stmt *st = store_sqlite_stmt(ss, SQ_META_SET, cause);

    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        return store_sqlite_fail(ss, cause, "writing meta");
    sqlite3_reset(st);
    return 0;
}

/* Reads the database's instance ID, making one at first open.  It prefixes
 * outbox txnIds, so that a recreated database never reuses one. */
static int
store_sqlite_load_instance_id(struct store_sqlite *ss, char **cause)
{
    unsigned char raw[16];
    char *value = NULL;
    int ret = -1;

    if (store_sqlite_meta_get(&ss->super, "instance_id", &value, cause) != 0)
        goto out;
    if (value == NULL) {
        if (RAND_bytes(raw, sizeof(raw)) != 1) {
            *cause = xstrdup("the system random generator failed");
            goto out;
        }
        for (size_t i = 0; i < sizeof(raw); i++)
            snprintf(ss->instance_id + 2 * i, 3, "%02x", raw[i]);
        if (store_sqlite_meta_set(&ss->super, "instance_id", ss->instance_id, cause) != 0)
            goto out;
    } else {
        snprintf(ss->instance_id, sizeof(ss->instance_id), "%s", value);
    }
    ret = 0;
out:
    free(value);
    return ret;
}

static void store_sqlite_close(struct store *s);

static int
store_sqlite_open(const struct store_options *opt, struct store **out, char **cause)
{
    struct store_sqlite *ss = xcalloc(1, sizeof(*ss));
    int rc;

    *out = NULL;
    ss->super.ops = &store_sqlite_ops;
    ss->path = xstrdup(opt->path);
    rc = sqlite3_open_v2(opt->path, &ss->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        *cause = xasprintf("cannot open the database %s: %s", opt->path,
                           ss->db != NULL ? sqlite3_errmsg(ss->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(ss->db, 1);
    if (sqlite3_busy_timeout(ss->db, 5000) != SQLITE_OK ||
        store_sqlite_exec(ss, "PRAGMA journal_mode = WAL", cause) != 0 ||
        store_sqlite_exec(ss, opt->sync_normal ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL", cause) !=
            0 ||
        store_sqlite_exec(ss, "PRAGMA foreign_keys = ON", cause) != 0)
        goto fail;
    if (store_sqlite_migrate(ss, cause) != 0 || store_sqlite_load_instance_id(ss, cause) != 0)
        goto fail;
    *out = &ss->super;
    return 0;
fail:
    store_sqlite_close(&ss->super);
    return -1;
}

static void
store_sqlite_close(struct store *s)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;

    for (int i = 0; i < SQ_NSTMTS; i++)
        sqlite3_finalize(ss->stmts[i]);
    if (ss->db != NULL && sqlite3_close(ss->db) != SQLITE_OK)
        abort(); /* a statement was leaked: a bug, not a runtime condition */
    free(ss->path);
    free(ss);
}

static int
store_sqlite_schema_version(struct store *s)
{
    (void)s;
    return store_sqlite_current_version();
}

static const char *
store_sqlite_instance_id(struct store *s)
{
    return ((struct store_sqlite *)s)->instance_id;
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .open = store_sqlite_open,
    .close = store_sqlite_close,
    .begin = store_sqlite_begin,
    .commit = store_sqlite_commit,
    .rollback = store_sqlite_rollback,
    .schema_version = store_sqlite_schema_version,
    .instance_id = store_sqlite_instance_id,
    .meta_get = store_sqlite_meta_get,
    .meta_set = store_sqlite_meta_set,
    .put_transaction = store_sqlite_put_transaction,
    .events_after_txn = store_sqlite_events_after_txn,
    .event_get = store_sqlite_event_get,
    .last_event_seq = store_sqlite_last_event_seq,
    .count_events = store_sqlite_count_events,
    .membership = store_sqlite_membership,
    .joined_count = store_sqlite_joined_count,
    .room_is_direct = store_sqlite_room_is_direct,
    .outbox_add = store_sqlite_outbox_add,
    .outbox_pending = store_sqlite_outbox_pending,
    .outbox_sent = store_sqlite_outbox_sent,
    .outbox_failed = store_sqlite_outbox_failed,
    .outbox_attempted = store_sqlite_outbox_attempted,
    .outbox_event_id = store_sqlite_outbox_event_id,
    .outbox_depth = store_sqlite_outbox_depth,
    .command_insert = store_sqlite_command_insert,
    .command_finish = store_sqlite_command_finish,
    .command_set_ack = store_sqlite_command_set_ack,
    .command_ack = store_sqlite_command_ack,
    .cache_get = store_sqlite_cache_get,
    .cache_put = store_sqlite_cache_put,
    .commands_running = store_sqlite_commands_running,
    .audit_head = store_sqlite_audit_head,
    .audit_insert = store_sqlite_audit_insert,
    .audit_scan = store_sqlite_audit_scan,
    .audit_prune = store_sqlite_audit_prune,
};
