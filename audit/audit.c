/*
 * The audit log's chain: appending, retention with checkpoints, the
 * verifier, and the head entries of the running daemon.  See audit.h for
 * the format; the rows are kept by the store (store_audit_*).
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/canonical_json.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "store/store.h"
#include "xmalloc.h"

const char *const audit_kinds[] = {"command",   "permission", "config", "export",
                                   "retention", "checkpoint", "head",   NULL};

/* The prev_hash of entry 1. */
static const char audit_zero_hash[AUDIT_HASH_HEX_SIZE] =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct audit {
    struct store *store;
    uv_timer_t timer;    /* audit.head_interval; the struct is freed in its close callback */
    int64_t head_logged; /* the seq of the last head entry written */
};

/* 1 if kind is one of audit_kinds. */
static int
audit_kind_known(const char *kind)
{
    for (size_t i = 0; audit_kinds[i] != NULL; i++) {
        if (strcmp(kind, audit_kinds[i]) == 0)
            return 1;
    }
    return 0;
}

/* Decodes 64 hex digits into 32 bytes; -1 if hex is not that. */
static int
audit_hex_decode(const char *hex, unsigned char out[32])
{
    if (strlen(hex) != 64)
        return -1;
    for (size_t i = 0; i < 32; i++) {
        unsigned v = 0;

        for (size_t j = 0; j < 2; j++) {
            char c = hex[2 * i + j];

            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else
                return -1; /* upper case is not the stored form either */
        }
        out[i] = (unsigned char)v;
    }
    return 0;
}

/* Appends the canonical form of the string s to a composed entry. */
static char *
audit_json_string(const char *s)
{
    struct json_object *o = json_object_new_string(s);
    char *cause = NULL, *text = canonical_json_encode(o, CANONICAL_JSON_LOSSY, NULL, &cause);

    json_object_put(o);
    free(cause); /* a string cannot fail when lossy */
    return text != NULL ? text : xstrdup("\"\"");
}

char *
audit_entry_canonical(const struct store_audit_entry *e)
{
    char *kind = audit_json_string(e->kind), *prev = audit_json_string(e->prev_hash);
    /* The members in canonical order: detail, kind, prev_hash, seq, ts.
     * The detail goes in as stored, so that any change to its bytes
     * changes the hash, even one that keeps the same JSON value. */
    char *text = xasprintf("{\"detail\":%s,\"kind\":%s,\"prev_hash\":%s,\"seq\":%" PRId64 ",\"ts\":%" PRId64 "}",
                           e->detail, kind, prev, e->seq, e->ts);

    free(kind);
    free(prev);
    return text;
}

int
audit_entry_hash(const struct store_audit_entry *e, char hex[AUDIT_HASH_HEX_SIZE])
{
    unsigned char prev[32], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char *text = NULL;
    EVP_MD_CTX *ctx = NULL;
    int ret = -1;

    hex[0] = '\0';
    if (audit_hex_decode(e->prev_hash, prev) != 0)
        goto out;
    text = audit_entry_canonical(e);
    if ((ctx = EVP_MD_CTX_new()) == NULL)
        abort(); /* out of memory, as xmalloc */
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(ctx, prev, sizeof(prev)) != 1 ||
        EVP_DigestUpdate(ctx, text, strlen(text)) != 1 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
        abort(); /* SHA-256 cannot fail on valid input: a broken libcrypto */
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    ret = 0;
out:
    EVP_MD_CTX_free(ctx);
    free(text);
    return ret;
}

int
audit_append(struct store *s, const char *kind, struct json_object *detail, char **cause)
{
    struct json_object *empty = NULL;
    struct store_audit_entry e = {0};
    char *text = NULL, *prev = NULL, hash[AUDIT_HASH_HEX_SIZE];
    int64_t head = 0;
    int ret = -1, open = 0;

    if (!audit_kind_known(kind)) {
        *cause = xasprintf("unknown audit entry kind '%s'", kind);
        goto out;
    }
    if (detail == NULL)
        detail = empty = json_object_new_object();
    if (!json_object_is_type(detail, json_type_object)) {
        *cause = xstrdup("an audit entry's detail must be a JSON object");
        goto out;
    }
    if ((text = canonical_json_encode(detail, CANONICAL_JSON_LOSSY, NULL, cause)) == NULL)
        goto out;
    if (store_begin(s, cause) != 0)
        goto out;
    open = 1;
    if (store_audit_head(s, &head, &prev, cause) != 0)
        goto out;
    e.seq = head + 1;
    e.ts = clock_now_ms();
    e.kind = kind;
    e.detail = text;
    e.prev_hash = prev != NULL ? prev : audit_zero_hash;
    if (audit_entry_hash(&e, hash) != 0) {
        *cause =
            xasprintf("the audit log's head (entry %" PRId64 ") has a malformed hash; run warroom audit verify", head);
        goto out;
    }
    e.entry_hash = hash;
    if (store_audit_insert(s, &e, cause) != 0)
        goto out;
    open = 0;
    if (store_commit(s, cause) != 0)
        goto out;
    ret = 0;
out:
    if (open)
        store_rollback(s);
    json_object_put(empty);
    free(text);
    free(prev);
    return ret;
}

int
audit_prune_before(struct store *s, int64_t before_ms, int64_t *removed, char **cause)
{
    int64_t n = 0, first = 0, last = 0;
    char *last_hash = NULL;
    struct json_object *detail = NULL;
    int ret = -1, open = 0;

    if (removed != NULL)
        *removed = 0;
    if (store_begin(s, cause) != 0)
        goto out;
    open = 1;
    if (store_audit_prune(s, before_ms, &n, &first, &last, &last_hash, cause) != 0)
        goto out;
    if (n > 0) {
        detail = json_object_new_object();
        json_object_object_add(detail, "removed", json_object_new_int64(n));
        json_object_object_add(detail, "first_seq", json_object_new_int64(first));
        json_object_object_add(detail, "last_seq", json_object_new_int64(last));
        json_object_object_add(detail, "last_hash", json_object_new_string(last_hash));
        /* "Everything" (INT64_MAX) is beyond canonical JSON's integers. */
        json_object_object_add(
            detail, "before",
            json_object_new_int64(before_ms > CANONICAL_JSON_MAX_INT ? CANONICAL_JSON_MAX_INT : before_ms));
        if (audit_append(s, "checkpoint", detail, cause) != 0)
            goto out;
    }
    open = 0;
    if (store_commit(s, cause) != 0)
        goto out;
    if (n > 0)
        log_info("audit: removed entries %" PRId64 " to %" PRId64 " (older than the retention); a checkpoint keeps "
                 "the chain verifiable",
                 first, last);
    if (removed != NULL)
        *removed = n;
    ret = 0;
out:
    if (open)
        store_rollback(s);
    json_object_put(detail);
    free(last_hash);
    return ret;
}

/* The verifier's state while it walks the chain. */
struct audit_verify_walk {
    struct audit_verify_result *res;
    const struct audit_anchor *anchor;
    int anchor_seen;
    char first_prev[AUDIT_HASH_HEX_SIZE]; /* what the oldest kept entry links to */
    char last_hash[AUDIT_HASH_HEX_SIZE];  /* the stored hash of the entry before */
    int64_t last_seq;
    /* Checkpoints that explain the entries missing before the oldest. */
    int start_covered;
    int64_t covered_upto; /* the highest last_seq below first_seq of any checkpoint */
    /* A first fault that may be a reordering: the entry whose hash this
     * one links to may come later. */
    char want[AUDIT_HASH_HEX_SIZE];
    int64_t want_seq;
};

/* Records the first fault (the lowest seq wins; the walk goes up). */
static void
audit_verify_fault(struct audit_verify_walk *w, int64_t seq, char *problem)
{
    struct audit_verify_result *res = w->res;

    if (res->problem != NULL && res->bad_seq <= seq) {
        free(problem);
        return;
    }
    free(res->problem);
    res->problem = problem;
    res->bad_seq = seq;
    res->intact = 0;
}

/* Reads a checkpoint's range; it may explain the missing oldest entries. */
static void
audit_verify_checkpoint(struct audit_verify_walk *w, const struct store_audit_entry *e)
{
    struct json_object *d = json_tokener_parse(e->detail), *v;
    int64_t last_seq;
    const char *last_hash;

    if (d == NULL || !json_object_object_get_ex(d, "last_seq", &v) || !json_object_is_type(v, json_type_int))
        goto out;
    last_seq = json_object_get_int64(v);
    if (!json_object_object_get_ex(d, "last_hash", &v) || !json_object_is_type(v, json_type_string))
        goto out;
    last_hash = json_object_get_string(v);
    if (last_seq + 1 == w->res->first_seq && strcmp(last_hash, w->first_prev) == 0)
        w->start_covered = 1;
    /* An older checkpoint bounds what is missing; one that claims the
     * entries right before the oldest but with another hash covers
     * nothing. */
    if (last_seq + 1 < w->res->first_seq && last_seq > w->covered_upto)
        w->covered_upto = last_seq;
out:
    json_object_put(d);
}

static int
audit_verify_on_entry(const struct store_audit_entry *e, void *arg)
{
    struct audit_verify_walk *w = arg;
    struct audit_verify_result *res = w->res;
    char hash[AUDIT_HASH_HEX_SIZE];
    int own_ok = audit_entry_hash(e, hash) == 0 && strcmp(hash, e->entry_hash) == 0;

    res->entries++;
    if (res->entries == 1) {
        res->first_seq = e->seq;
        snprintf(w->first_prev, sizeof(w->first_prev), "%s", e->prev_hash);
        if (e->seq == 1 && strcmp(e->prev_hash, audit_zero_hash) != 0)
            audit_verify_fault(w, 1,
                               xstrdup("entry 1 was changed: it does not start the chain (prev_hash is not zero)"));
        else if (!own_ok)
            audit_verify_fault(w, e->seq,
                               xasprintf("entry %" PRId64 " was changed: its content does not match its hash", e->seq));
    } else if (e->seq != w->last_seq + 1) {
        if (e->seq == w->last_seq + 2)
            audit_verify_fault(w, w->last_seq + 1, xasprintf("entry %" PRId64 " was removed", w->last_seq + 1));
        else
            audit_verify_fault(
                w, w->last_seq + 1,
                xasprintf("entries %" PRId64 " to %" PRId64 " were removed", w->last_seq + 1, e->seq - 1));
    } else if (strcmp(e->prev_hash, w->last_hash) != 0) {
        if (own_ok) {
            /* This entry is as written; the one before it was rewritten,
             * hash and all. */
            audit_verify_fault(w, w->last_seq,
                               xasprintf("entry %" PRId64 " was changed: its hash was recomputed, but entry %" PRId64
                                         " still links to the original",
                                         w->last_seq, e->seq));
        } else if (w->res->problem == NULL) {
            /* Either changed, or moved here from elsewhere: if a later
             * entry has the hash this one links to, it was reordered. */
            snprintf(w->want, sizeof(w->want), "%s", e->prev_hash);
            w->want_seq = e->seq;
            audit_verify_fault(
                w, e->seq,
                xasprintf("entry %" PRId64 " was changed or moved, or an entry before it was removed", e->seq));
        }
    } else if (!own_ok) {
        audit_verify_fault(w, e->seq,
                           xasprintf("entry %" PRId64 " was changed: its content does not match its hash", e->seq));
    }
    if (w->want_seq != 0 && e->seq > w->want_seq && strcmp(e->entry_hash, w->want) == 0 &&
        res->bad_seq == w->want_seq) {
        free(res->problem);
        res->problem =
            xasprintf("entries were reordered: entry %" PRId64 " was written after the entry now at %" PRId64,
                      w->want_seq, e->seq);
        w->want_seq = 0;
    }
    if (strcmp(e->kind, "checkpoint") == 0)
        audit_verify_checkpoint(w, e);
    if (w->anchor != NULL && w->anchor->seq == e->seq) {
        w->anchor_seen = 1;
        if (strcmp(e->entry_hash, w->anchor->hash) != 0 || !own_ok)
            audit_verify_fault(
                w, e->seq, xasprintf("entry %" PRId64 " does not match the anchored head %s", e->seq, w->anchor->hash));
    }
    snprintf(w->last_hash, sizeof(w->last_hash), "%s", e->entry_hash);
    w->last_seq = e->seq;
    res->head_seq = e->seq;
    snprintf(res->head, sizeof(res->head), "%s", e->entry_hash);
    return 0;
}

int
audit_verify(struct store *s, const struct audit_anchor *anchor, struct audit_verify_result *res, char **cause)
{
    struct audit_verify_walk w = {.res = res, .anchor = anchor != NULL && anchor->seq > 0 ? anchor : NULL};

    memset(res, 0, sizeof(*res));
    res->intact = 1;
    if (store_audit_scan(s, 0, INT64_MIN, audit_verify_on_entry, &w, cause) != 0) {
        audit_verify_result_clear(res);
        return -1;
    }
    if (res->first_seq > 1 && !w.start_covered) {
        int64_t from = w.covered_upto + 1;

        audit_verify_fault(&w, from,
                           from == res->first_seq - 1
                               ? xasprintf("entry %" PRId64 " was removed (no checkpoint records its removal)", from)
                               : xasprintf("entries %" PRId64 " to %" PRId64
                                           " were removed (no checkpoint records their removal)",
                                           from, res->first_seq - 1));
    }
    if (w.anchor != NULL && !w.anchor_seen && w.anchor->seq > res->head_seq)
        audit_verify_fault(&w, res->head_seq + 1,
                           xasprintf("entries %" PRId64 " to %" PRId64
                                     " were removed: the anchored head is entry %" PRId64
                                     " but the log ends at %" PRId64,
                                     res->head_seq + 1, w.anchor->seq, w.anchor->seq, res->head_seq));
    return 0;
}

void
audit_verify_result_clear(struct audit_verify_result *res)
{
    free(res->problem);
    memset(res, 0, sizeof(*res));
}

int
audit_write_head(struct store *s, const char *reason, char **cause)
{
    struct json_object *detail = json_object_new_object();
    char *hash = NULL;
    int64_t seq = 0;
    int ret = -1;

    json_object_object_add(detail, "reason", json_object_new_string(reason));
    if (audit_append(s, "head", detail, cause) != 0 || store_audit_head(s, &seq, &hash, cause) != 0)
        goto out;
    /* The line to anchor outside: warroom audit verify --head SEQ:HASH. */
    log_info("audit: chain head %" PRId64 ":%s (%s)", seq, hash != NULL ? hash : audit_zero_hash, reason);
    ret = 0;
out:
    json_object_put(detail);
    free(hash);
    return ret;
}

static void
audit_on_interval(uv_timer_t *t)
{
    struct audit *a = t->data;
    char *cause = NULL, *hash = NULL;
    int64_t seq = 0;

    if (store_audit_head(a->store, &seq, &hash, &cause) != 0) {
        log_error("audit: %s", cause);
        goto out;
    }
    if (seq == a->head_logged) {
        /* Nothing happened since: the same head, logged again. */
        log_info("audit: chain head %" PRId64 ":%s (unchanged)", seq, hash != NULL ? hash : audit_zero_hash);
        goto out;
    }
    if (audit_write_head(a->store, "interval", &cause) != 0) {
        log_error("audit: cannot write the chain head: %s", cause);
        goto out;
    }
    free(hash);
    hash = NULL;
    if (store_audit_head(a->store, &a->head_logged, &hash, &cause) != 0)
        log_error("audit: %s", cause);
out:
    free(cause);
    free(hash);
}

struct audit *
audit_start(uv_loop_t *loop, struct store *s, const struct config *cfg)
{
    struct audit *a = xcalloc(1, sizeof(*a));
    char *cause = NULL, *hash = NULL;

    a->store = s;
    if (audit_config_record(s, cfg, &cause) != 0 || audit_write_head(s, "start", &cause) != 0 ||
        store_audit_head(s, &a->head_logged, &hash, &cause) != 0) {
        log_error("audit: cannot write to the audit log: %s", cause);
        free(cause);
        free(a);
        return NULL;
    }
    free(hash);
    if (uv_timer_init(loop, &a->timer) != 0)
        abort();
    a->timer.data = a;
    if (cfg->audit.head_interval > 0) {
        uv_timer_start(&a->timer, audit_on_interval, cfg->audit.head_interval, cfg->audit.head_interval);
        /* The interval alone never keeps the loop (or warroom shell) alive. */
        uv_unref((uv_handle_t *)&a->timer);
    }
    return a;
}

static void
audit_on_close(uv_handle_t *handle)
{
    free(handle->data);
}

void
audit_stop(struct audit *a)
{
    char *cause = NULL;

    if (a == NULL)
        return;
    if (audit_write_head(a->store, "shutdown", &cause) != 0) {
        log_error("audit: cannot write the chain head: %s", cause);
        free(cause);
    }
    uv_timer_stop(&a->timer);
    uv_close((uv_handle_t *)&a->timer, audit_on_close);
}
