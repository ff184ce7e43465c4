/*
 * The SQLite store: a transaction is stored whole or not at all, an event
 * is stored once whatever the txnId, memberships and room facts follow
 * the events, the outbox keeps order and ids, commands are recorded once,
 * and the schema is migrated and versioned.
 */
#include "autoconfig.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appservice/store/sqlite_internal.h" /* store_sqlite_current_version() */
#include "appservice/store/store.h"
#include "appservice/txn.h"
#include "appservice/xmalloc.h"
#include "tests/tap.h"
#include "tests/unit/fixture.h"

static char *tmpdir;

/* Opens a store on tmpdir/name. */
static struct store *
open_store(const char *name)
{
    char *path = xasprintf("%s/%s", tmpdir, name);
    struct store_options opt = {.path = path, .sync_normal = 1};
    struct store *s = NULL;
    char *cause = NULL;

    if (store_open(&opt, &s, &cause) != 0) {
        printf("# store_open: %s\n", cause);
        free(cause);
    }
    free(path);
    return s;
}

static struct txn *
load_txn(const char *fixture)
{
    size_t len;
    char *body = fixture_synapse_body(fixture, &len);
    struct txn *txn = NULL;
    struct txn_error err;

    if (body != NULL && txn_parse(body, len, &txn, &err) != 0)
        printf("# %s: %s\n", fixture, err.message);
    free(body);
    return txn;
}

/* Runs a query on a second connection and returns the integer it gives. */
static long long
query_int(const char *name, const char *sql)
{
    char *path = xasprintf("%s/%s", tmpdir, name);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        printf("# query %s: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(path);
    return v;
}

static void
test_dedup(void)
{
    struct store *s = open_store("dedup.db");
    struct txn *a = load_txn("txn-batch-max-events.json");
    struct txn *b = load_txn("txn-batch-remainder.json");
    unsigned char is_new[100];
    size_t n_new = 99;
    char *cause = NULL;

    ok(s != NULL && a != NULL && b != NULL, "store and fixtures ready");
    if (s == NULL || a == NULL || b == NULL)
        goto out;
    is_int(store_schema_version(s), store_sqlite_current_version(), "new database migrated to the current version");
    is_int(query_int("dedup.db", "PRAGMA user_version"), store_sqlite_current_version(),
           "PRAGMA user_version says the current version");
    ok(store_put_transaction(s, "1", a, 1000, is_new, &n_new, NULL, &cause) == 0, "100-event transaction stored");
    is_int(n_new, 100, "100 new events");
    ok(is_new[0] == 1 && is_new[99] == 1, "each marked new");
    ok(store_put_transaction(s, "1", a, 2000, is_new, &n_new, NULL, &cause) == 0, "the same transaction again");
    is_int(n_new, 0, "retry stores nothing new");
    ok(is_new[0] == 0 && is_new[99] == 0, "each marked old");
    ok(store_put_transaction(s, "1", b, 3000, NULL, &n_new, NULL, &cause) == 0,
       "a different transaction reusing txnId 1 (homeserver reset its ids)");
    is_int(n_new, 50, "its 50 events are stored: dedup is on event_id, not txnId");
    is_int(query_int("dedup.db", "SELECT count(*) FROM events"), 150, "150 events in the database");
    is_int(query_int("dedup.db", "SELECT count(*) FROM transactions"), 3, "three transaction records");
    is_int(query_int("dedup.db", "SELECT sum(new_events) FROM transactions"), 150, "new_events recorded");
    is_int(store_last_event_seq(s), 150, "last event seq");
out:
    free(cause);
    txn_free(a);
    txn_free(b);
    store_close(s);
}

static void
test_atomic(void)
{
    struct store *s = open_store("atomic.db");
    struct txn *a = load_txn("txn-batch-max-events.json");
    sqlite3 *db = NULL;
    char *path = xasprintf("%s/atomic.db", tmpdir);
    char *sql, *cause = NULL;
    size_t n_new;

    if (s == NULL || a == NULL) {
        ok(0, "store and fixture ready");
        goto out;
    }
    /* A trigger makes the 51st insert fail, as a full disk would. */
    sql = xasprintf("CREATE TRIGGER boom BEFORE INSERT ON events WHEN NEW.event_id = '%s' "
                    "BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END",
                    a->events[50].event_id);
    ok(sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK,
       "failure injected");
    free(sql);
    ok(store_put_transaction(s, "7", a, 1, NULL, &n_new, NULL, &cause) != 0, "the write fails");
    ok(cause != NULL && strstr(cause, "disk full") != NULL, "with the reason (%s)", cause ? cause : "");
    is_int(query_int("atomic.db", "SELECT count(*) FROM events"), 0, "not one event was kept");
    is_int(query_int("atomic.db", "SELECT count(*) FROM transactions"), 0, "no transaction record was kept");
    sqlite3_exec(db, "DROP TRIGGER boom", NULL, NULL, NULL);
    free(cause);
    cause = NULL;
    ok(store_put_transaction(s, "7", a, 1, NULL, &n_new, NULL, &cause) == 0 && n_new == 100,
       "the retry after the fault stores everything");
out:
    sqlite3_close(db);
    free(path);
    free(cause);
    txn_free(a);
    store_close(s);
}

static void
test_state(void)
{
    struct store *s = open_store("state.db");
    struct txn *invite = load_txn("txn-invite-direct.json");
    struct txn *join = load_txn("txn-member-join.json");
    struct txn *leave = load_txn("txn-member-leave.json");
    char *membership = NULL, *cause = NULL;
    int is_direct = 0;
    size_t n_new;

    if (s == NULL || invite == NULL || join == NULL || leave == NULL) {
        ok(0, "store and fixtures ready");
        goto out;
    }
    ok(store_put_transaction(s, "1", invite, 1, NULL, &n_new, NULL, &cause) == 0, "DM invite stored");
    ok(store_membership(s, invite->events[0].room_id, invite->events[0].state_key, &membership, &cause) == 0 &&
           membership != NULL && strcmp(membership, "invite") == 0,
       "the invitee's membership is invite");
    free(membership);
    membership = NULL;
    store_room_is_direct(s, invite->events[0].room_id, &is_direct, &cause);
    ok(is_direct, "is_direct invite marks the room as a direct chat");
    ok(store_put_transaction(s, "2", join, 2, NULL, &n_new, NULL, &cause) == 0, "join stored");
    ok(store_membership(s, join->events[0].room_id, join->events[0].state_key, &membership, &cause) == 0 &&
           membership != NULL && strcmp(membership, "join") == 0,
       "joined");
    free(membership);
    membership = NULL;
    ok(store_put_transaction(s, "3", leave, 3, NULL, &n_new, NULL, &cause) == 0, "leave stored");
    ok(store_membership(s, leave->events[0].room_id, leave->events[0].state_key, &membership, &cause) == 0 &&
           membership != NULL && strcmp(membership, "leave") == 0,
       "left");
out:
    free(membership);
    free(cause);
    txn_free(invite);
    txn_free(join);
    txn_free(leave);
    store_close(s);
}

static void
test_device_data(void)
{
    struct store *s = open_store("device.db");
    struct txn *a = load_txn("txn-to-device-olm-encrypted.json");
    struct txn *b = load_txn("txn-message-text.json");
    char *cause = NULL;
    size_t n_new;

    if (s == NULL || a == NULL || b == NULL) {
        ok(0, "store and fixtures ready");
        goto out;
    }
    ok(store_put_transaction(s, "1", a, 1, NULL, &n_new, NULL, &cause) == 0, "to-device transaction stored");
    is_int(query_int("device.db", "SELECT count(*) FROM to_device"), 1, "the olm to-device message is kept");
    ok(store_put_transaction(s, "2", b, 2, NULL, &n_new, NULL, &cause) == 0, "message with key counts stored");
    is_int(query_int("device.db", "SELECT count FROM device_key_counts WHERE user_id = '@soc_dns:localhost'"), 5,
           "one-time key count kept");
    is_int(query_int("device.db", "SELECT count(*) FROM device_fallback_keys"), 1, "fallback key types kept");
out:
    free(cause);
    txn_free(a);
    txn_free(b);
    store_close(s);
}

struct pending {
    int64_t ids[8];
    char *txn_ids[8];
    size_t n;
};

static int
collect_pending(struct store_outbox_entry *e, void *arg)
{
    struct pending *p = arg;

    if (p->n < 8) {
        p->ids[p->n] = e->id;
        p->txn_ids[p->n] = xstrdup(e->txn_id);
        p->n++;
    }
    store_outbox_entry_free(e);
    return 0;
}

static void
test_outbox(void)
{
    struct store *s = open_store("outbox.db");
    struct store_outbox_new e = {
        .room_id = "!r:x",
        .user_id = "@warroom:x",
        .kind = STORE_OUTBOX_SEND,
        .event_type = "m.room.message",
        .content = "{\"body\":\"one\"}",
    };
    struct store_outbox_new j = {
        .room_id = "!r:x",
        .user_id = "@warroom:x",
        .kind = STORE_OUTBOX_JOIN,
        .cause_event_id = "$invite",
    };
    struct pending p = {0};
    int64_t id1 = 0, id2 = 0, id3 = 0, idj = 0, idj2 = -1;
    char *event_id = NULL, *cause = NULL;

    if (s == NULL) {
        ok(0, "store ready");
        return;
    }
    ok(store_outbox_add(s, &e, &id1, &cause) == 0 && id1 > 0, "entry added");
    e.content = "{\"body\":\"two\"}";
    ok(store_outbox_add(s, &e, &id2, &cause) == 0 && id2 > id1, "second entry after the first");
    ok(store_outbox_add(s, &j, &idj, &cause) == 0 && idj > 0, "join caused by an invite added");
    ok(store_outbox_add(s, &j, &idj2, &cause) == 0 && idj2 == 0, "the same invite does not add a second join");
    is_int(store_outbox_depth(s), 3, "three pending");
    ok(store_outbox_pending(s, 0, collect_pending, &p, &cause) == 0, "pending read");
    is_int(p.n, 3, "three pending read back");
    ok(p.n == 3 && p.ids[0] == id1 && p.ids[1] == id2 && p.ids[2] == idj, "in order");
    ok(p.n == 3 && strstr(p.txn_ids[0], store_instance_id(s)) != NULL, "txnId carries the database instance id");
    ok(p.n == 3 && strcmp(p.txn_ids[0], p.txn_ids[1]) != 0, "txnIds differ");
    ok(store_outbox_sent(s, id1, "$sent1", &cause) == 0, "first marked sent");
    ok(store_outbox_event_id(s, id1, &event_id, &cause) == 0 && event_id != NULL && strcmp(event_id, "$sent1") == 0,
       "its event id is kept for later edits");
    ok(store_outbox_failed(s, id2, "M_FORBIDDEN", &cause) == 0, "second marked failed");
    is_int(store_outbox_depth(s), 1, "one pending left");
    ok(store_outbox_sent(s, idj, NULL, &cause) == 0, "join done");
    /* Deleting the newest row must not let its id come back. */
    {
        char *path = xasprintf("%s/outbox.db", tmpdir);
        sqlite3 *db;
        char *sql = xasprintf("DELETE FROM outbox WHERE id = %lld", (long long)idj);

        sqlite3_open(path, &db);
        sqlite3_exec(db, sql, NULL, NULL, NULL);
        sqlite3_close(db);
        free(sql);
        free(path);
    }
    ok(store_outbox_add(s, &e, &id3, &cause) == 0 && id3 > idj, "ids are never reused (AUTOINCREMENT)");
    for (size_t i = 0; i < p.n; i++)
        free(p.txn_ids[i]);
    free(event_id);
    free(cause);
    store_close(s);
}

static void
test_commands_and_reopen(void)
{
    struct store *s = open_store("cmd.db");
    struct store_command c = {
        .event_id = "$cmd",
        .room_id = "!r:x",
        .sender = "@alice:x",
        .command = "ping",
        .received_at = 5,
    };
    int inserted = -1;
    char *cause = NULL, *value = NULL;
    char instance[40];

    if (s == NULL) {
        ok(0, "store ready");
        return;
    }
    ok(store_command_insert(s, &c, &inserted, &cause) == 0 && inserted == 1, "command recorded");
    ok(store_command_insert(s, &c, &inserted, &cause) == 0 && inserted == 0, "the same command is recorded once");
    ok(store_meta_set(s, "router_seq", "42", &cause) == 0, "meta written");
    snprintf(instance, sizeof(instance), "%s", store_instance_id(s));
    is_int(strlen(instance), 32, "instance id is 128 bits of hex");
    store_close(s);

    s = open_store("cmd.db");
    ok(s != NULL, "reopened");
    if (s == NULL)
        return;
    is_str(store_instance_id(s), instance, "instance id survives a restart");
    ok(store_meta_get(s, "router_seq", &value, &cause) == 0 && value != NULL && strcmp(value, "42") == 0,
       "meta survives a restart");
    {
        struct store_command_outcome o = {
            .status = STORE_COMMAND_DONE, .detail = "pong", .verdict = "info", .duration_ms = 12};

        ok(store_command_finish(s, "$cmd", &o, &cause) == 0, "command finished");
    }
    is_int(query_int("cmd.db", "SELECT count(*) FROM commands WHERE status = 'done'"), 1, "marked done");
    free(value);
    free(cause);
    store_close(s);
}

/* Counts pending outbox entries and keeps the first one's content. */
static int
first_pending(struct store_outbox_entry *e, void *arg)
{
    char **content = arg;

    if (*content == NULL)
        *content = xstrdup(e->content);
    store_outbox_entry_free(e);
    return 0;
}

static void
test_migrate_v1(void)
{
    char *sql = fixture_read("schema/v1.sql", NULL), *path = xasprintf("%s/v1.db", tmpdir);
    struct store_options opt = {.path = path};
    struct store *s = NULL;
    sqlite3 *db = NULL;
    char *cause = NULL, *content = NULL, *cached = NULL;
    int64_t ack = -1;

    ok(sql != NULL && sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK,
       "a version 1 database restored from its dump");
    sqlite3_close(db);
    ok(store_open(&opt, &s, &cause) == 0, "opened by the current warroom (%s)", cause ? cause : "ok");
    if (s == NULL)
        goto out;
    is_int(query_int("v1.db", "PRAGMA user_version"), store_sqlite_current_version(),
           "migrated to the current version");
    is_str(store_instance_id(s), "0123456789abcdef0123456789abcdef", "the instance id is kept");
    is_int(query_int("v1.db", "SELECT count(*) FROM events"), 1, "its event is kept");
    ok(store_outbox_pending(s, 0, first_pending, &content, &cause) == 0 && content != NULL &&
           strstr(content, "pending from v1") != NULL,
       "its pending outbox entry is still pending");
    ok(store_command_ack(s, "$cmd", &ack, &cause) == 0 && ack == 0, "old commands have no acknowledgement");
    ok(store_cache_put(s, "dns/mx/example.com", "{}", 1000, 2000, &cause) == 0 &&
           store_cache_get(s, "dns/mx/example.com", 1500, &cached, &cause) == 0 && cached != NULL,
       "the new tool cache works");
    free(cached);
    cached = NULL;
    ok(store_cache_get(s, "dns/mx/example.com", 2500, &cached, &cause) == 0 && cached == NULL,
       "an expired cache entry is not returned");
out:
    free(content);
    free(cached);
    free(cause);
    free(sql);
    free(path);
    store_close(s);
}

static void
test_newer_schema_refused(void)
{
    char *path = xasprintf("%s/future.db", tmpdir);
    struct store_options opt = {.path = path};
    struct store *s = NULL;
    sqlite3 *db;
    char *cause = NULL;

    sqlite3_open(path, &db);
    sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
    sqlite3_close(db);
    ok(store_open(&opt, &s, &cause) != 0 && s == NULL, "a database from a newer warroom is refused");
    ok(cause != NULL && strstr(cause, "newer") != NULL, "saying why (%s)", cause ? cause : "");
    free(cause);
    free(path);
}

int
main(void)
{
    tmpdir = fixture_tmpdir();
    test_dedup();
    test_atomic();
    test_state();
    test_device_data();
    test_outbox();
    test_commands_and_reopen();
    test_migrate_v1();
    test_newer_schema_refused();
    fixture_rmdir(tmpdir);
    tap_done();
}
