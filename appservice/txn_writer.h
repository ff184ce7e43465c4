/*
 * The transaction writer: parses and stores homeserver transactions off
 * the loop thread.  Each transaction is parsed on the libuv thread pool
 * and written through a database connection of its own, guarded by a
 * mutex, so the loop keeps serving HTTP (and the outbox keeps sending)
 * while a commit waits for the disk, and one transaction is parsed while
 * the previous one is being committed.
 *
 * Results come back on the loop thread, through the callback, only after
 * the commit: the caller answers the homeserver then.
 */
#ifndef WARROOM_TXN_WRITER_H
#define WARROOM_TXN_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "store/store.h"
#include "txn.h"

struct txn_writer;

struct txn_writer_result {
    int status;              /* 200 stored; 400 refused (err); 500 not stored (cause) */
    struct txn_error err;    /* for 400 */
    char *cause;             /* for 500: why the store failed (logged, not sent) */
    struct txn *txn;         /* for 200: the parsed transaction */
    unsigned char *is_new;   /* for 200: per event, stored now (1) or before (0) */
    size_t n_new;
    int64_t txn_seq;
};

/* Called on the loop thread; the result is borrowed for the call. */
typedef void (*txn_writer_cb)(const struct txn_writer_result *res, void *arg);

/* Opens the writer's own connection to the database (already migrated by
 * the main connection).  Returns 0 with *out (free with
 * txn_writer_free()) or -1 with an allocated reason in *cause. */
int txn_writer_new(uv_loop_t *loop, const struct store_options *opt, struct txn_writer **out, char **cause);

/* Parses and stores one transaction.  Takes ownership of body (allocated
 * with malloc).  cb runs exactly once, on the loop thread. */
void txn_writer_submit(struct txn_writer *w, const char *txn_id, char *body, size_t len, txn_writer_cb cb, void *arg);

/* Transactions submitted and not yet reported. */
unsigned txn_writer_pending(const struct txn_writer *w);

/* Stops the writer thread and closes its connection; the struct is freed
 * in the close callback of its async handle, so run the loop once more.
 * Call only when nothing is pending (the thread pool cannot stop work
 * once it runs).  NULL is a no-op. */
void txn_writer_free(struct txn_writer *w);

#endif
