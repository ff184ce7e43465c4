/*
 * The audit log's chain: entries link by hash, the verifier names the
 * first entry that was edited (with or without its hash recomputed),
 * deleted, or swapped with another, as a second SQLite connection
 * tampers with the file; retention removes the oldest entries and its
 * checkpoint keeps the chain verifiable; an entry written in a
 * transaction that rolls back is gone with it; an anchored head catches
 * the removal of the newest entries; and the start-up config entries
 * leave secrets out and name the keys that changed.
 */
#include "autoconfig.h"

#include <json-c/json.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appservice/config.h"
#include "appservice/store/store.h"
#include "appservice/xmalloc.h"
#include "audit/audit.h"
#include "audit/canonical_json.h"
#include "tests/tap.h"
#include "tests/unit/fixture.h"

static char *tmpdir;

/* Opens (creating) the store tmpdir/name. */
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
        abort();
    }
    free(path);
    return s;
}

/* Runs SQL on a second connection, as someone editing the file would. */
static void
tamper(const char *name, const char *sql)
{
    char *path = xasprintf("%s/%s", tmpdir, name), *err = NULL;
    sqlite3 *db = NULL;

    if (sqlite3_open(path, &db) != SQLITE_OK || sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        printf("# tamper %s: %s\n", sql, err != NULL ? err : sqlite3_errmsg(db));
        abort();
    }
    sqlite3_close(db);
    free(path);
}

/* Appends n "command" entries numbered from first, a millisecond or more
 * apart so that retention can cut between them. */
static void
append_n(struct store *s, int first, int n)
{
    for (int i = first; i < first + n; i++) {
        struct json_object *d = json_object_new_object();
        char *cause = NULL;

        json_object_object_add(d, "n", json_object_new_int(i));
        json_object_object_add(d, "command", json_object_new_string("dns mx"));
        if (audit_append(s, "command", d, &cause) != 0) {
            printf("# audit_append: %s\n", cause);
            abort();
        }
        json_object_put(d);
        usleep(2000);
    }
}

/* Verifies; returns the result (clear it). */
static struct audit_verify_result
verify(struct store *s, const struct audit_anchor *anchor)
{
    struct audit_verify_result res;
    char *cause = NULL;

    if (audit_verify(s, anchor, &res, &cause) != 0) {
        printf("# audit_verify: %s\n", cause);
        abort();
    }
    if (!res.intact)
        printf("# verify: entry %lld: %s\n", (long long)res.bad_seq, res.problem);
    return res;
}

/* Collects entries for the checks below. */
struct rows {
    struct store_audit_entry e[64];
    char *text[64][4];
    size_t n;
};

static int
on_row(const struct store_audit_entry *e, void *arg)
{
    struct rows *r = arg;

    if (r->n < 64) {
        r->e[r->n] = *e;
        r->e[r->n].kind = r->text[r->n][0] = xstrdup(e->kind);
        r->e[r->n].detail = r->text[r->n][1] = xstrdup(e->detail);
        r->e[r->n].prev_hash = r->text[r->n][2] = xstrdup(e->prev_hash);
        r->e[r->n].entry_hash = r->text[r->n][3] = xstrdup(e->entry_hash);
        r->n++;
    }
    return 0;
}

static void
rows_read(struct store *s, struct rows *r)
{
    char *cause = NULL;

    memset(r, 0, sizeof(*r));
    if (store_audit_scan(s, 0, INT64_MIN, on_row, r, &cause) != 0) {
        printf("# scan: %s\n", cause);
        abort();
    }
}

static void
rows_clear(struct rows *r)
{
    for (size_t i = 0; i < r->n; i++)
        for (size_t j = 0; j < 4; j++)
            free(r->text[i][j]);
    r->n = 0;
}

/* A chain of 6 in tmpdir/name, closed again. */
static void
make_chain(const char *name)
{
    struct store *s = open_store(name);

    append_n(s, 1, 6);
    store_close(s);
}

/* Verifies tmpdir/name, expecting a fault at bad_seq mentioning word. */
static void
expect_fault(const char *name, int64_t bad_seq, const char *word, const char *what)
{
    struct store *s = open_store(name);
    struct audit_verify_result res = verify(s, NULL);

    ok(!res.intact, "%s: the chain is broken", what);
    is_int(res.bad_seq, bad_seq, "%s: at entry %lld", what, (long long)bad_seq);
    ok(res.problem != NULL && strstr(res.problem, word) != NULL, "%s: reported as %s (%s)", what, word,
       res.problem != NULL ? res.problem : "");
    audit_verify_result_clear(&res);
    store_close(s);
}

static void
test_chain(void)
{
    struct store *s = open_store("chain.db");
    struct audit_verify_result res = verify(s, NULL);
    struct rows r;
    char *cause = NULL, hash[AUDIT_HASH_HEX_SIZE];
    int links = 1, hashes = 1, canon = 1;

    ok(res.intact && res.entries == 0, "an empty log is intact");
    audit_verify_result_clear(&res);
    append_n(s, 1, 5);
    rows_read(s, &r);
    is_int(r.n, 5, "five entries");
    is_str(r.e[0].prev_hash, "0000000000000000000000000000000000000000000000000000000000000000",
           "entry 1 links to 64 zeros");
    for (size_t i = 0; i < r.n; i++) {
        struct json_object *o = json_object_new_object(), *d = json_tokener_parse(r.e[i].detail);
        char *c1 = audit_entry_canonical(&r.e[i]), *c2;

        if (r.e[i].seq != (int64_t)i + 1 || (i > 0 && strcmp(r.e[i].prev_hash, r.e[i - 1].entry_hash) != 0))
            links = 0;
        if (audit_entry_hash(&r.e[i], hash) != 0 || strcmp(hash, r.e[i].entry_hash) != 0)
            hashes = 0;
        /* The composed form is the canonical JSON of the whole entry. */
        json_object_object_add(o, "seq", json_object_new_int64(r.e[i].seq));
        json_object_object_add(o, "ts", json_object_new_int64(r.e[i].ts));
        json_object_object_add(o, "kind", json_object_new_string(r.e[i].kind));
        json_object_object_add(o, "prev_hash", json_object_new_string(r.e[i].prev_hash));
        json_object_object_add(o, "detail", d);
        c2 = canonical_json_encode(o, 0, NULL, NULL);
        if (c2 == NULL || strcmp(c1, c2) != 0)
            canon = 0;
        free(c1);
        free(c2);
        json_object_put(o);
    }
    ok(links, "seq counts from 1 and each entry links to the one before");
    ok(hashes, "each entry_hash is SHA-256(prev || canonical entry)");
    ok(canon, "the hashed text is the canonical JSON of {seq, ts, kind, detail, prev_hash}");
    is_str(r.e[2].detail, "{\"command\":\"dns mx\",\"n\":3}", "the detail is stored canonical");
    res = verify(s, NULL);
    ok(res.intact, "the chain verifies");
    is_int(res.entries, 5, "5 entries");
    is_str(res.head, r.e[4].entry_hash, "the head is the newest entry's hash");
    audit_verify_result_clear(&res);

    /* The hash covers every field: the same detail a moment later differs. */
    {
        struct store_audit_entry e = r.e[2];
        char h2[AUDIT_HASH_HEX_SIZE];

        e.ts++;
        audit_entry_hash(&e, h2);
        ok(strcmp(h2, r.e[2].entry_hash) != 0, "the timestamp is part of the hash");
        e = r.e[2];
        e.kind = "export";
        audit_entry_hash(&e, h2);
        ok(strcmp(h2, r.e[2].entry_hash) != 0, "the kind is part of the hash");
    }
    rows_clear(&r);

    /* An entry written in a transaction that rolls back is gone with it,
     * and the chain goes on from the head. */
    if (store_begin(s, &cause) != 0)
        abort();
    append_n(s, 100, 1);
    store_rollback(s);
    res = verify(s, NULL);
    ok(res.intact && res.entries == 5, "an entry rolled back with its transaction leaves no trace");
    audit_verify_result_clear(&res);
    append_n(s, 6, 1);
    res = verify(s, NULL);
    ok(res.intact && res.entries == 6 && res.head_seq == 6, "the next entry is 6");
    audit_verify_result_clear(&res);

    /* Refused: unknown kinds and details that are not objects. */
    {
        struct json_object *arr = json_object_new_array();

        ok(audit_append(s, "whatever", NULL, &cause) == -1 && strstr(cause, "whatever") != NULL,
           "an unknown kind is refused");
        free(cause);
        cause = NULL;
        ok(audit_append(s, "command", arr, &cause) == -1, "a detail that is not an object is refused");
        free(cause);
        cause = NULL;
        json_object_put(arr);
    }
    /* Text that is not UTF-8 is recorded with U+FFFD, and verifies. */
    {
        struct json_object *d = json_object_new_object();

        json_object_object_add(d, "args", json_object_new_string("bad \xff byte"));
        ok(audit_append(s, "command", d, &cause) == 0, "a detail with invalid UTF-8 is recorded");
        json_object_put(d);
        rows_read(s, &r);
        ok(r.n == 7 && strstr(r.e[6].detail, "bad \xef\xbf\xbd byte") != NULL, "with U+FFFD in place of the byte");
        rows_clear(&r);
        res = verify(s, NULL);
        ok(res.intact, "and the chain still verifies");
        audit_verify_result_clear(&res);
    }
    store_close(s);
}

static void
test_tampering(void)
{
    char sql[512];

    make_chain("edit.db");
    tamper("edit.db", "UPDATE audit_log SET detail = '{\"command\":\"dns mx\",\"n\":33}' WHERE seq = 3");
    expect_fault("edit.db", 3, "changed", "an edited detail");

    make_chain("edit_ts.db");
    tamper("edit_ts.db", "UPDATE audit_log SET ts = ts - 3600000 WHERE seq = 4");
    expect_fault("edit_ts.db", 4, "changed", "an edited timestamp");

    /* The editor recomputes the entry's hash too: the next entry still
     * links to the original. */
    {
        struct store *s;
        struct rows r;
        struct store_audit_entry e;
        char hash[AUDIT_HASH_HEX_SIZE];

        make_chain("rehash.db");
        s = open_store("rehash.db");
        rows_read(s, &r);
        store_close(s);
        e = r.e[2];
        e.detail = "{\"command\":\"dns mx\",\"n\":333}";
        audit_entry_hash(&e, hash);
        snprintf(sql, sizeof(sql), "UPDATE audit_log SET detail = '%s', entry_hash = '%s' WHERE seq = 3", e.detail,
                 hash);
        rows_clear(&r);
        tamper("rehash.db", sql);
        expect_fault("rehash.db", 3, "recomputed", "an edited entry with its hash recomputed");
    }

    make_chain("delete.db");
    tamper("delete.db", "DELETE FROM audit_log WHERE seq = 3");
    expect_fault("delete.db", 3, "removed", "a deleted entry");

    make_chain("delete2.db");
    tamper("delete2.db", "DELETE FROM audit_log WHERE seq IN (3, 4)");
    expect_fault("delete2.db", 3, "entries 3 to 4 were removed", "two deleted entries");

    /* Deleted, and the later ones renumbered to close the gap. */
    make_chain("renumber.db");
    tamper("renumber.db", "DELETE FROM audit_log WHERE seq = 3; UPDATE audit_log SET seq = seq - 1 WHERE seq > 3");
    expect_fault("renumber.db", 3, "removed", "a deleted entry with the rest renumbered");

    make_chain("oldest.db");
    tamper("oldest.db", "DELETE FROM audit_log WHERE seq <= 2");
    expect_fault("oldest.db", 1, "entries 1 to 2 were removed", "the oldest entries deleted without a checkpoint");

    make_chain("swap.db");
    tamper("swap.db", "UPDATE audit_log SET seq = -1 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 3;"
                      "UPDATE audit_log SET seq = 3 WHERE seq = -1");
    expect_fault("swap.db", 2, "reordered", "two entries swapped");

    make_chain("swapfar.db");
    tamper("swapfar.db", "UPDATE audit_log SET seq = -1 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 5;"
                         "UPDATE audit_log SET seq = 5 WHERE seq = -1");
    expect_fault("swapfar.db", 2, "reordered", "two distant entries swapped");

    make_chain("prev.db");
    tamper("prev.db", "UPDATE audit_log SET prev_hash = entry_hash WHERE seq = 1");
    expect_fault("prev.db", 1, "does not start the chain", "entry 1 made to link elsewhere");

    make_chain("hash.db");
    tamper("hash.db", "UPDATE audit_log SET entry_hash = 'x' WHERE seq = 6");
    expect_fault("hash.db", 6, "changed", "a stored hash overwritten");
}

static void
test_retention(void)
{
    struct store *s = open_store("prune.db");
    struct rows r;
    struct audit_verify_result res;
    int64_t removed = -1, cut;
    char *cause = NULL, *last_hash = NULL;

    append_n(s, 1, 6);
    rows_read(s, &r);
    cut = r.e[3].ts; /* entries 1..3 are older */
    last_hash = xstrdup(r.e[2].entry_hash);
    rows_clear(&r);
    ok(audit_prune_before(s, cut, &removed, &cause) == 0, "prune");
    is_int(removed, 3, "entries 1 to 3 removed");
    rows_read(s, &r);
    is_int(r.n, 4, "4 entries left: 4, 5, 6 and the checkpoint");
    is_int(r.e[0].seq, 4, "the oldest kept is 4");
    is_str(r.e[3].kind, "checkpoint", "a checkpoint is appended");
    is_int(r.e[3].seq, 7, "as entry 7");
    {
        struct json_object *d = json_tokener_parse(r.e[3].detail), *v;

        ok(d != NULL && json_object_object_get_ex(d, "last_hash", &v) &&
               strcmp(json_object_get_string(v), last_hash) == 0,
           "it carries the hash of the last entry removed");
        ok(d != NULL && json_object_object_get_ex(d, "removed", &v) && json_object_get_int64(v) == 3 &&
               json_object_object_get_ex(d, "first_seq", &v) && json_object_get_int64(v) == 1 &&
               json_object_object_get_ex(d, "last_seq", &v) && json_object_get_int64(v) == 3,
           "and the range and count removed");
        json_object_put(d);
    }
    rows_clear(&r);
    res = verify(s, NULL);
    ok(res.intact, "the pruned chain verifies from the checkpoint");
    is_int(res.first_seq, 4, "starting at 4");
    audit_verify_result_clear(&res);

    ok(audit_prune_before(s, cut, &removed, &cause) == 0 && removed == 0, "nothing more to prune at the same age");
    rows_read(s, &r);
    is_int(r.n, 4, "and no second checkpoint");
    rows_clear(&r);

    /* Prune again later, past the first checkpoint. */
    append_n(s, 7, 2);
    ok(audit_prune_before(s, INT64_MAX, &removed, &cause) == 0, "prune everything");
    is_int(removed, 5, "all but the newest removed (4 to 8, with the first checkpoint)");
    res = verify(s, NULL);
    ok(res.intact && res.entries == 2 && res.first_seq == 9, "the chain verifies: entry 9 and the checkpoint 10");
    audit_verify_result_clear(&res);
    append_n(s, 9, 2);
    res = verify(s, NULL);
    ok(res.intact && res.entries == 4 && res.head_seq == 12, "and goes on");
    audit_verify_result_clear(&res);
    store_close(s);

    /* Deleting the oldest kept entry after a prune is still caught. */
    tamper("prune.db", "DELETE FROM audit_log WHERE seq = 9");
    expect_fault("prune.db", 9, "entry 9 was removed", "the oldest entry kept by retention deleted");

    /* A forged checkpoint that does not match is no cover. */
    make_chain("forged.db");
    tamper("forged.db", "DELETE FROM audit_log WHERE seq <= 2");
    s = open_store("forged.db");
    {
        struct json_object *d =
            json_tokener_parse("{\"removed\":2,\"first_seq\":1,\"last_seq\":2,\"last_hash\":"
                               "\"1111111111111111111111111111111111111111111111111111111111111111\",\"before\":0}");

        audit_append(s, "checkpoint", d, &cause);
        json_object_put(d);
    }
    store_close(s);
    expect_fault("forged.db", 1, "removed", "a checkpoint whose hash does not match");
    free(last_hash);
}

static void
test_anchor(void)
{
    struct store *s;
    struct audit_verify_result res;
    struct audit_anchor a = {0};
    char head[AUDIT_HASH_HEX_SIZE];

    make_chain("anchor.db");
    s = open_store("anchor.db");
    res = verify(s, NULL);
    snprintf(head, sizeof(head), "%s", res.head);
    audit_verify_result_clear(&res);
    a.seq = 6;
    a.hash = head;
    res = verify(s, &a);
    ok(res.intact, "the anchored head matches");
    audit_verify_result_clear(&res);
    a.hash = "2222222222222222222222222222222222222222222222222222222222222222";
    res = verify(s, &a);
    ok(!res.intact && res.bad_seq == 6, "another hash for entry 6 is reported at 6");
    audit_verify_result_clear(&res);
    store_close(s);

    tamper("anchor.db", "DELETE FROM audit_log WHERE seq >= 5");
    s = open_store("anchor.db");
    res = verify(s, NULL);
    ok(res.intact, "without an anchor, removing the newest entries goes unseen");
    audit_verify_result_clear(&res);
    a.hash = head;
    res = verify(s, &a);
    ok(!res.intact && res.bad_seq == 5 && strstr(res.problem, "removed") != NULL,
       "with the anchored head, entries 5 to 6 are reported removed");
    audit_verify_result_clear(&res);
    store_close(s);
}

/* Writes a config file and loads it. */
static struct config *
load_config(const char *text)
{
    char *path = xasprintf("%s/config.yaml", tmpdir);
    FILE *f = fopen(path, "w");
    struct config *cfg = NULL;
    struct config_errors errs = {0};

    if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0)
        abort();
    if (config_load(path, &cfg, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            printf("# %s\n", errs.lines[i]);
        abort();
    }
    free(path);
    return cfg;
}

#define CONFIG_BASE                                                                                                    \
    "homeserver:\n"                                                                                                    \
    "  address: http://127.0.0.1:8008\n"                                                                               \
    "  domain: example.org\n"                                                                                          \
    "appservice:\n"                                                                                                    \
    "  address: http://127.0.0.1:29333\n"                                                                              \
    "  as_token: SECRET-AS-TOKEN-abcdef\n"                                                                             \
    "  hs_token: SECRET-HS-TOKEN-abcdef\n"                                                                             \
    "bridges:\n"                                                                                                       \
    "  virustotal:\n"                                                                                                  \
    "    enabled: true\n"                                                                                              \
    "    api_key: SECRET-VT-KEY-abcdef\n"

static void
test_config(void)
{
    struct store *s = open_store("config.db");
    struct config *cfg = load_config(CONFIG_BASE "bridge:\n  command_prefix: '!'\n");
    struct json_object *snap = audit_config_snapshot(cfg);
    const char *text = json_object_to_json_string(snap);
    struct rows r;
    char *cause = NULL;

    ok(strstr(text, "SECRET") == NULL, "the snapshot holds no secret (tokens, a bridge's api_key)");
    ok(strstr(text, "\"command_prefix\":\"!\"") != NULL || strstr(text, "\"command_prefix\": \"!\"") != NULL,
       "it holds the effective values");
    ok(strstr(text, "head_interval") != NULL, "defaults included (audit.head_interval)");
    ok(strstr(text, "virustotal") != NULL && strstr(text, "api_key") == NULL,
       "a bridge's section without its secret key");
    json_object_put(snap);

    ok(audit_config_record(s, cfg, &cause) == 0, "first start recorded");
    ok(audit_config_record(s, cfg, &cause) == 0, "second start, same config");
    config_free(cfg);
    rows_read(s, &r);
    is_int(r.n, 2, "one config entry per start, none for 'changed'");
    ok(r.n == 2 && strcmp(r.e[0].kind, "config") == 0 && strstr(r.e[0].detail, "\"digest\"") != NULL &&
           strcmp(r.e[0].detail, r.e[1].detail) == 0,
       "the same digest both times");
    ok(r.n == 2 && strstr(r.e[0].detail, "SECRET") == NULL, "no secret in the entry");
    rows_clear(&r);

    cfg = load_config(CONFIG_BASE "bridge:\n  command_prefix: '?'\n");
    ok(audit_config_record(s, cfg, &cause) == 0, "third start, command_prefix changed");
    config_free(cfg);
    rows_read(s, &r);
    is_int(r.n, 4, "a start entry and a changed entry");
    ok(r.n == 4 && strstr(r.e[3].detail, "\"event\":\"changed\"") != NULL &&
           strstr(r.e[3].detail, "\"changed_keys\":[\"bridge.command_prefix\"]") != NULL,
       "the changed entry names bridge.command_prefix (%s)", r.n == 4 ? r.e[3].detail : "");
    rows_clear(&r);

    /* A token rotated is not a recorded change (it is not in the snapshot). */
    cfg = load_config("homeserver:\n  address: http://127.0.0.1:8008\n  domain: example.org\n"
                      "appservice:\n  address: http://127.0.0.1:29333\n  as_token: OTHER\n  hs_token: OTHER2\n"
                      "bridges:\n  virustotal:\n    enabled: true\n    api_key: OTHER3\n"
                      "bridge:\n  command_prefix: '?'\n");
    ok(audit_config_record(s, cfg, &cause) == 0, "fourth start, only secrets changed");
    config_free(cfg);
    rows_read(s, &r);
    is_int(r.n, 5, "no changed entry for secrets");
    rows_clear(&r);
    {
        struct audit_verify_result res = verify(s, NULL);

        ok(res.intact, "the config entries verify");
        audit_verify_result_clear(&res);
    }
    store_close(s);
}

int
main(void)
{
    tmpdir = fixture_tmpdir();
    test_chain();
    test_tampering();
    test_retention();
    test_anchor();
    test_config();
    fixture_rmdir(tmpdir);
    tap_done();
}
