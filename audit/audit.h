/*
 * The tamper-evident audit log.  Every command, permission decision,
 * configuration at start-up, export and retention run is appended as an
 * entry to one table in the store; each entry links to the one before it:
 *
 *   entry = {"detail":D,"kind":K,"prev_hash":P,"seq":N,"ts":T}
 *   entry_hash = SHA-256(bytes of P || canonical JSON of entry)
 *
 * where N counts from 1, T is milliseconds since the epoch, D is any JSON
 * object, P is the previous entry's entry_hash as 64 lower-case hex digits
 * (64 zeros for entry 1), and canonical JSON is as canonical_json.h
 * defines it (Matrix's).  Changing, removing or reordering an entry breaks
 * a link that "warroom audit verify" finds; removing the newest entries is
 * caught by comparing with a head anchored outside: the head is logged
 * and appended as a "head" entry at start-up, every audit.head_interval
 * and at shutdown.
 *
 * Retention removes the oldest entries and then appends a "checkpoint"
 * entry that carries the range removed and the hash of the last entry
 * removed, which the first entry kept links to: the chain stays verifiable
 * from the checkpoint on.
 *
 * Entries go through the store on the loop thread, inside a store
 * transaction: an entry written between store_begin() and store_commit()
 * commits or rolls back with the rest.
 */
#ifndef WARROOM_AUDIT_H
#define WARROOM_AUDIT_H

#include <json-c/json.h>
#include <stdint.h>
#include <uv.h>

struct store;
struct store_audit_entry;
struct config;

/* A hash as text: 64 hex digits and a NUL. */
#define AUDIT_HASH_HEX_SIZE 65

/* The entry kinds, NULL-terminated: "command", "permission", "config",
 * "export", "retention", "checkpoint", "head". */
extern const char *const audit_kinds[];

/*
 * Appends an entry of kind (one of audit_kinds) with detail (borrowed; NULL
 * is an empty object).  Strings that are not valid UTF-8 are recorded with
 * U+FFFD in place of the bad bytes.  Joins the caller's store transaction
 * if one is open (a failure then makes the caller's commit fail too).
 * Returns 0, or -1 with *cause (allocated) and nothing written.
 */
int audit_append(struct store *s, const char *kind, struct json_object *detail, char **cause);

/*
 * Removes the entries older than before_ms (from the oldest on, never the
 * newest) and, if any were, appends a "checkpoint" entry with
 * {"removed", "first_seq", "last_seq", "last_hash", "before"}, in one
 * store transaction.  *removed (may be NULL) gets the count.  Returns 0,
 * or -1 with *cause and nothing changed.
 */
int audit_prune_before(struct store *s, int64_t before_ms, int64_t *removed, char **cause);

/*
 * The canonical JSON of an entry, composed from its stored fields (the
 * detail as stored, which audit_append() wrote canonical).  Returns
 * allocated, free with free().
 */
char *audit_entry_canonical(const struct store_audit_entry *e);

/* Computes e's entry_hash into hex.  Returns 0, or -1 if e->prev_hash is
 * not 64 hex digits (hex is then empty). */
int audit_entry_hash(const struct store_audit_entry *e, char hex[AUDIT_HASH_HEX_SIZE]);

/* What audit_verify() found. */
struct audit_verify_result {
    int64_t entries;   /* entries read */
    int64_t first_seq; /* the oldest kept (above 1 after retention), or 0 */
    int64_t head_seq;  /* the newest, or 0 */
    char head[AUDIT_HASH_HEX_SIZE];
    int intact;      /* 1: every link holds */
    int64_t bad_seq; /* the first entry found changed, removed or reordered */
    char *problem;   /* what is wrong with it, allocated; NULL when intact */
};

/* An expected head, recorded outside (the log line at an interval):
 * entry seq must have entry_hash hash.  seq 0: none. */
struct audit_anchor {
    int64_t seq;
    const char *hash;
};

/*
 * Walks the whole chain in one snapshot and fills res: the first entry
 * (lowest seq) that was changed, removed or reordered, or intact.  anchor
 * may be NULL.  Returns 0 (res filled; clear it with
 * audit_verify_result_clear()), or -1 with *cause if the store could not
 * be read.
 */
int audit_verify(struct store *s, const struct audit_anchor *anchor, struct audit_verify_result *res, char **cause);
void audit_verify_result_clear(struct audit_verify_result *res);

/*
 * The daemon's part: at start, a "config" entry with the digest of the
 * effective configuration (secrets removed) and, if it differs from the
 * previous start's, a second one naming the keys that changed; then a
 * "head" entry, again every cfg->audit.head_interval and at audit_stop().
 * Returns allocated (free with audit_stop(), in the loop's thread; the
 * loop must run once more for the timer's close), or NULL with the reason
 * logged: a daemon that cannot audit does not start.
 */
struct audit *audit_start(uv_loop_t *loop, struct store *s, const struct config *cfg);
/* Appends the shutdown head entry and releases; NULL is a no-op. */
void audit_stop(struct audit *a);

/* Appends a "head" entry (reason: "start", "interval", "shutdown") and logs
 * the new head, so that it can be anchored outside. */
int audit_write_head(struct store *s, const char *reason, char **cause);

/* audit_config.c */

/* The effective configuration with every secret left out, as JSON: the
 * core keys with their defaults applied, and each known bridge's section
 * as written.  Returns a new reference. */
struct json_object *audit_config_snapshot(const struct config *cfg);
/* Appends the start-up "config" entries (see audit_start()) and remembers
 * the digest for the next start, in one store transaction. */
int audit_config_record(struct store *s, const struct config *cfg, char **cause);

#endif
