/*
 * The SQLite schema, as a list of migrations.  PRAGMA user_version holds
 * the version a database is at; each step runs in its own transaction
 * together with the version bump, so a crash mid-migration leaves the
 * database at the previous version, never in between.  A step is never
 * edited once released: changes are new steps (tests/fixtures/schema keeps
 * a dump of every past version, each migrated to the current one in a
 * test).
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>

#include "store/sqlite_internal.h"
#include "xmalloc.h"

static const char *const store_sqlite_migrations[] = {
    /* 1: the appservice core. */
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL"
    ") WITHOUT ROWID;"

    /* One row per transaction the homeserver pushed and we acknowledged.
     * txn_id is not unique: homeservers have been seen to reset it. */
    "CREATE TABLE transactions ("
    "  seq INTEGER PRIMARY KEY,"
    "  txn_id TEXT NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  events INTEGER NOT NULL,"
    "  new_events INTEGER NOT NULL,"
    "  ephemeral INTEGER NOT NULL,"
    "  to_device INTEGER NOT NULL"
    ");"

    /* Every event, raw, once: dedup rests on event_id. */
    "CREATE TABLE events ("
    "  seq INTEGER PRIMARY KEY,"
    "  event_id TEXT NOT NULL UNIQUE,"
    "  room_id TEXT NOT NULL,"
    "  sender TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  state_key TEXT,"
    "  origin_server_ts INTEGER NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  txn_seq INTEGER NOT NULL,"
    "  json TEXT NOT NULL"
    ");"
    "CREATE INDEX events_room_ts ON events (room_id, origin_server_ts);"

    "CREATE TABLE memberships ("
    "  room_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  membership TEXT NOT NULL,"
    "  event_id TEXT NOT NULL,"
    "  updated_ts INTEGER NOT NULL,"
    "  PRIMARY KEY (room_id, user_id)"
    ") WITHOUT ROWID;"

    "CREATE TABLE rooms ("
    "  room_id TEXT PRIMARY KEY,"
    "  is_direct INTEGER NOT NULL DEFAULT 0,"
    "  encrypted INTEGER NOT NULL DEFAULT 0,"
    "  name TEXT"
    ") WITHOUT ROWID;"

    /* What end-to-end encryption will need: to-device messages (room keys),
     * device-list changes and key counts (MSC2409, MSC3202). */
    "CREATE TABLE to_device ("
    "  seq INTEGER PRIMARY KEY,"
    "  txn_seq INTEGER NOT NULL,"
    "  type TEXT NOT NULL,"
    "  sender TEXT NOT NULL,"
    "  to_user_id TEXT NOT NULL,"
    "  to_device_id TEXT NOT NULL,"
    "  json TEXT NOT NULL,"
    "  processed INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE device_list_changes ("
    "  seq INTEGER PRIMARY KEY,"
    "  txn_seq INTEGER NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  change TEXT NOT NULL CHECK (change IN ('changed', 'left'))"
    ");"
    "CREATE TABLE device_key_counts ("
    "  user_id TEXT NOT NULL,"
    "  device_id TEXT NOT NULL,"
    "  algorithm TEXT NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (user_id, device_id, algorithm)"
    ") WITHOUT ROWID;"
    "CREATE TABLE device_fallback_keys ("
    "  user_id TEXT NOT NULL,"
    "  device_id TEXT NOT NULL,"
    "  types TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (user_id, device_id)"
    ") WITHOUT ROWID;"

    /* Everything warroom asks the homeserver to do, durably, in order per
     * room.  AUTOINCREMENT: an id is never reused, even after old rows are
     * deleted, because the send txnId is derived from it and the homeserver
     * would answer a reused txnId with the old event. */
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  room_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  kind TEXT NOT NULL CHECK (kind IN ('send', 'join', 'leave')),"
    "  event_type TEXT,"
    "  content TEXT,"
    "  replaces_id INTEGER REFERENCES outbox (id),"
    "  cause_event_id TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT,"
    "  sent_at INTEGER,"
    "  event_id TEXT"
    ");"
    "CREATE INDEX outbox_pending ON outbox (id) WHERE state = 'pending';"
    "CREATE UNIQUE INDEX outbox_cause ON outbox (cause_event_id, kind)"
    "  WHERE cause_event_id IS NOT NULL AND kind != 'send';"

    "CREATE TABLE commands ("
    "  id INTEGER PRIMARY KEY,"
    "  event_id TEXT NOT NULL UNIQUE,"
    "  room_id TEXT NOT NULL,"
    "  sender TEXT NOT NULL,"
    "  command TEXT NOT NULL,"
    "  args TEXT,"
    "  status TEXT NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  started_at INTEGER NOT NULL,"
    "  finished_at INTEGER,"
    "  detail TEXT,"
    "  reply_outbox_id INTEGER"
    ");"
    "CREATE INDEX commands_running ON commands (id) WHERE status = 'running';",

    /* 2: tool bridges. */
    /* Answers of tools, reused for the same arguments within the bridge's
     * cache_ttl (the same lookup twice in an hour costs one API call). */
    "CREATE TABLE tool_cache ("
    "  key TEXT PRIMARY KEY,"
    "  result TEXT NOT NULL,"
    "  stored_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    /* A file to upload before the message that carries it (large tool
     * output as an m.file). */
    "ALTER TABLE outbox ADD COLUMN blob BLOB;"
    "ALTER TABLE outbox ADD COLUMN blob_name TEXT;"
    "ALTER TABLE outbox ADD COLUMN blob_type TEXT;"
    /* The acknowledgement a long command posted, which later edits replace. */
    "ALTER TABLE commands ADD COLUMN ack_outbox_id INTEGER;"
    "ALTER TABLE commands ADD COLUMN bridge TEXT;"
    "ALTER TABLE commands ADD COLUMN verdict TEXT;"
    "ALTER TABLE commands ADD COLUMN duration_ms INTEGER;",

    /* 3: audit log */
    /* The hash-chained audit log (audit/audit.h): seq is given by the
     * writer (the head's plus one), never reused; rows are only ever
     * appended, and removed from the oldest on by retention. */
    "CREATE TABLE audit_log ("
    "  seq INTEGER PRIMARY KEY,"
    "  ts INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  detail TEXT NOT NULL,"
    "  prev_hash TEXT NOT NULL,"
    "  entry_hash TEXT NOT NULL"
    ");",
};

#define STORE_SQLITE_NMIGRATIONS (sizeof(store_sqlite_migrations) / sizeof(store_sqlite_migrations[0]))

int
store_sqlite_current_version(void)
{
    return (int)STORE_SQLITE_NMIGRATIONS;
}

/* Reads PRAGMA user_version. */
static int
store_sqlite_user_version(struct store_sqlite *ss, int *version, char **cause)
{
    sqlite3_stmt *st = NULL;
    int ret = -1;

    if (sqlite3_prepare_v2(ss->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        store_sqlite_fail(ss, cause, "reading the schema version");
        goto out;
    }
    *version = sqlite3_column_int(st, 0);
    ret = 0;
out:
    sqlite3_finalize(st);
    return ret;
}

int
store_sqlite_migrate(struct store_sqlite *ss, char **cause)
{
    int version;
    char *errmsg = NULL;

    if (store_sqlite_user_version(ss, &version, cause) != 0)
        return -1;
    if (version > (int)STORE_SQLITE_NMIGRATIONS) {
        *cause = xasprintf("the database %s is at schema version %d, newer than this warroom knows (%d): "
                           "run a newer warroom or restore a backup",
                           ss->path, version, (int)STORE_SQLITE_NMIGRATIONS);
        return -1;
    }
    for (; version < (int)STORE_SQLITE_NMIGRATIONS; version++) {
        char *sql = xasprintf("BEGIN IMMEDIATE; %s PRAGMA user_version = %d; COMMIT;", store_sqlite_migrations[version],
                              version + 1);
        int rc = sqlite3_exec(ss->db, sql, NULL, NULL, &errmsg);

        free(sql);
        if (rc != SQLITE_OK) {
            *cause = xasprintf("migrating %s to schema version %d: %s", ss->path, version + 1,
                               errmsg != NULL ? errmsg : sqlite3_errstr(rc));
            sqlite3_free(errmsg);
            sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    return 0;
}
