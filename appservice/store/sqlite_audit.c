/*
 * The audit log's rows in the SQLite backend.  These functions only store
 * and read rows; audit/audit.c computes the hashes and keeps the chain,
 * and runs the writes inside a store transaction so that an entry commits
 * together with what it records.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"
#include "xmalloc.h"

int
store_sqlite_audit_head(struct store *s, int64_t *seq, char **entry_hash, char **cause)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;
    sqlite3_stmt *st = store_sqlite_stmt(ss, SQ_AUDIT_HEAD, cause);
    int rc;

    *seq = 0;
    *entry_hash = NULL;
    if (st == NULL)
        return -1;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *seq = sqlite3_column_int64(st, 0);
        *entry_hash = store_sqlite_column_dup(st, 1);
    } else if (rc != SQLITE_DONE) {
        return store_sqlite_fail(ss, cause, "reading the audit log's head");
    }
    sqlite3_reset(st);
    return 0;
}

int
store_sqlite_audit_insert(struct store *s, const struct store_audit_entry *e, char **cause)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;
    sqlite3_stmt *st = store_sqlite_stmt(ss, SQ_AUDIT_INSERT, cause);

    if (st == NULL)
        return -1;
    if (sqlite3_bind_int64(st, 1, e->seq) != SQLITE_OK || sqlite3_bind_int64(st, 2, e->ts) != SQLITE_OK ||
        sqlite3_bind_text(st, 3, e->kind, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 4, e->detail, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 5, e->prev_hash, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 6, e->entry_hash, -1, SQLITE_STATIC) != SQLITE_OK)
        return store_sqlite_fail(ss, cause, "appending to the audit log");
    if (sqlite3_step(st) != SQLITE_DONE) {
        store_sqlite_fail(ss, cause, "appending to the audit log");
        sqlite3_reset(st);
        return -1;
    }
    sqlite3_reset(st);
    return 0;
}

/* A text column, or "" for a NULL one (an edited row may hold NULL where
 * the schema does not forbid it; the verifier then reports it changed). */
static const char *
store_sqlite_audit_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);

    return t != NULL ? (const char *)t : "";
}

int
store_sqlite_audit_scan(struct store *s, int64_t after_seq, int64_t since_ts,
                        int (*cb)(const struct store_audit_entry *e, void *arg), void *arg, char **cause)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;
    sqlite3_stmt *st = store_sqlite_stmt(ss, SQ_AUDIT_SCAN, cause);
    int rc, ret = -1;

    if (st == NULL)
        return -1;
    if (sqlite3_bind_int64(st, 1, after_seq) != SQLITE_OK || sqlite3_bind_int64(st, 2, since_ts) != SQLITE_OK) {
        store_sqlite_fail(ss, cause, "reading the audit log");
        goto out;
    }
    /* One statement reads one snapshot: entries the daemon appends
     * meanwhile are not seen, and none is seen half. */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_audit_entry e = {
            .seq = sqlite3_column_int64(st, 0),
            .ts = sqlite3_column_int64(st, 1),
        };

        e.kind = store_sqlite_audit_text(st, 2);
        e.detail = store_sqlite_audit_text(st, 3);
        e.prev_hash = store_sqlite_audit_text(st, 4);
        e.entry_hash = store_sqlite_audit_text(st, 5);
        if (cb(&e, arg) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        store_sqlite_fail(ss, cause, "reading the audit log");
        goto out;
    }
    ret = 0;
out:
    sqlite3_reset(st);
    return ret;
}

int
store_sqlite_audit_prune(struct store *s, int64_t before_ms, int64_t *removed, int64_t *first_seq, int64_t *last_seq,
                         char **last_hash, char **cause)
{
    struct store_sqlite *ss = (struct store_sqlite *)s;
    sqlite3_stmt *st;
    int64_t limit;
    int rc, ret = -1;

    *removed = *first_seq = *last_seq = 0;
    *last_hash = NULL;
    if (store_sqlite_write_begin(ss, cause) != 0)
        return -1;
    if ((st = store_sqlite_stmt(ss, SQ_AUDIT_PRUNE_LIMIT, cause)) == NULL)
        goto out;
    sqlite3_bind_int64(st, 1, before_ms);
    if (sqlite3_step(st) != SQLITE_ROW) {
        store_sqlite_fail(ss, cause, "reading the audit log");
        goto out;
    }
    if (sqlite3_column_type(st, 0) == SQLITE_NULL) { /* empty */
        sqlite3_reset(st);
        ret = 0;
        goto out;
    }
    limit = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);

    if ((st = store_sqlite_stmt(ss, SQ_AUDIT_PRUNE_LAST, cause)) == NULL)
        goto out;
    sqlite3_bind_int64(st, 1, limit);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) { /* nothing old enough */
        sqlite3_reset(st);
        ret = 0;
        goto out;
    }
    if (rc != SQLITE_ROW) {
        store_sqlite_fail(ss, cause, "reading the audit log");
        goto out;
    }
    *first_seq = sqlite3_column_int64(st, 0);
    *last_seq = sqlite3_column_int64(st, 1);
    *last_hash = store_sqlite_column_dup(st, 2);
    *removed = sqlite3_column_int64(st, 3);
    sqlite3_reset(st);

    if ((st = store_sqlite_stmt(ss, SQ_AUDIT_PRUNE_DELETE, cause)) == NULL)
        goto out;
    sqlite3_bind_int64(st, 1, limit);
    if (sqlite3_step(st) != SQLITE_DONE) {
        store_sqlite_fail(ss, cause, "removing old audit entries");
        sqlite3_reset(st);
        goto out;
    }
    sqlite3_reset(st);
    ret = 0;
out:
    if (store_sqlite_write_end(ss, ret == 0, cause) != 0)
        ret = -1;
    if (ret != 0) {
        free(*last_hash);
        *last_hash = NULL;
        *removed = *first_seq = *last_seq = 0;
    }
    return ret;
}
