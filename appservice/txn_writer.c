/*
 * Parsing and storing transactions off the loop; see txn_writer.h.
 *
 * Parsing runs on the libuv thread pool, several transactions at once.
 * Writing runs on one dedicated thread that owns the writer's database
 * connection: the write transaction is the narrowest part of the
 * pipeline, and a thread of its own keeps its connection, page cache and
 * statements hot on one core instead of handing them from pool thread to
 * pool thread.  A parsed transaction goes to the writer through a queue;
 * the writer reports back to the loop through a uv_async_t.
 *
 * SQLite is built thread-safe (SQLITE_THREADSAFE=1).  The loop thread's
 * own connection stays on the loop thread: WAL lets it read while this one
 * writes, and SQLite's busy timeout orders the two writers.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "txn_writer.h"
#include "xmalloc.h"

struct txn_writer_job {
    uv_work_t work; /* first: the pool's callbacks cast back */
    struct txn_writer *w;
    char *txn_id;
    char *body;
    size_t len;
    txn_writer_cb cb;
    void *arg;
    struct txn_writer_result res;
    /* A parsed job is reported once the loop has taken it from the done
     * queue AND the pool has called after_work (libuv uses the uv_work_t
     * until then), by whichever of the two comes second.  Both flags are
     * only touched on the loop thread. */
    int popped;
    int after_done;
    struct txn_writer_job *next;
};

/* A queue of jobs between threads; the lock guards both queues. */
struct txn_writer_queue {
    struct txn_writer_job *head, *tail;
};

struct txn_writer {
    uv_loop_t *loop;
    struct store *store; /* used by the writer thread only */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct txn_writer_queue todo; /* parsed, to be written */
    struct txn_writer_queue done; /* written (or refused), to be reported */
    int stopping;
    uv_async_t async; /* the writer's "something is done" to the loop */
    unsigned pending;
};

static void
txn_writer_push(struct txn_writer_queue *q, struct txn_writer_job *job)
{
    job->next = NULL;
    if (q->tail != NULL)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
}

static struct txn_writer_job *
txn_writer_pop(struct txn_writer_queue *q)
{
    struct txn_writer_job *job = q->head;

    if (job != NULL) {
        q->head = job->next;
        if (q->head == NULL)
            q->tail = NULL;
    }
    return job;
}

/* The writer thread: writes jobs in the order they were parsed. */
static void *
txn_writer_main(void *arg)
{
    struct txn_writer *w = arg;
    struct txn_writer_job *job;

    pthread_mutex_lock(&w->lock);
    for (;;) {
        while ((job = txn_writer_pop(&w->todo)) == NULL && !w->stopping)
            pthread_cond_wait(&w->wake, &w->lock);
        if (job == NULL)
            break;
        pthread_mutex_unlock(&w->lock);
        if (store_put_transaction(w->store, job->txn_id, job->res.txn, clock_now_ms(), job->res.is_new,
                                  &job->res.n_new, &job->res.txn_seq, &job->res.cause) != 0)
            job->res.status = 500;
        else
            job->res.status = 200;
        pthread_mutex_lock(&w->lock);
        txn_writer_push(&w->done, job);
        uv_async_send(&w->async);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Reports a finished job on the loop thread and frees it. */
static void
txn_writer_report(struct txn_writer_job *job)
{
    job->w->pending--;
    job->cb(&job->res, job->arg);
    txn_free(job->res.txn);
    free(job->res.is_new);
    free(job->res.cause);
    free(job->txn_id);
    free(job->body);
    free(job);
}

static void
txn_writer_on_async(uv_async_t *async)
{
    struct txn_writer *w = async->data;
    struct txn_writer_queue done;

    pthread_mutex_lock(&w->lock);
    done = w->done;
    w->done.head = w->done.tail = NULL;
    pthread_mutex_unlock(&w->lock);
    while (done.head != NULL) {
        struct txn_writer_job *job = txn_writer_pop(&done);

        job->popped = 1;
        if (job->after_done)
            txn_writer_report(job); /* else after_work reports it */
    }
}

int
txn_writer_new(uv_loop_t *loop, const struct store_options *opt, struct txn_writer **out, char **cause)
{
    struct txn_writer *w = xcalloc(1, sizeof(*w));
    int r;

    *out = NULL;
    if (store_open(opt, &w->store, cause) != 0) {
        free(w);
        return -1;
    }
    w->loop = loop;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    if ((r = uv_async_init(loop, &w->async, txn_writer_on_async)) != 0 ||
        (r = pthread_create(&w->thread, NULL, txn_writer_main, w)) != 0) {
        *cause = xasprintf("cannot start the transaction writer: %s", strerror(r < 0 ? -r : r));
        abort(); /* only resource exhaustion gets here, at start-up */
    }
    w->async.data = w;
    *out = w;
    return 0;
}

/* On a pool thread: parse; a parsed transaction goes to the writer. */
static void
txn_writer_work(uv_work_t *work)
{
    struct txn_writer_job *job = (struct txn_writer_job *)work;
    struct txn_writer *w = job->w;

    if (txn_parse(job->body, job->len, &job->res.txn, &job->res.err) != 0) {
        job->res.status = 400; /* read by after_work, which libuv runs after this */
        return;
    }
    job->res.is_new = xcalloc(job->res.txn->nevents + 1, 1);
    pthread_mutex_lock(&w->lock);
    txn_writer_push(&w->todo, job);
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

/* On the loop thread: a refused body is reported now; a parsed one is
 * reported by the writer, once stored. */
static void
txn_writer_after(uv_work_t *work, int status)
{
    struct txn_writer_job *job = (struct txn_writer_job *)work;

    (void)status; /* never cancelled: nothing calls uv_cancel on these */
    job->after_done = 1;
    /* A refused body never went to the writer; a parsed one is reported
     * here only if the loop already took it from the done queue. */
    if (job->res.status == 400 || job->popped)
        txn_writer_report(job);
}

void
txn_writer_submit(struct txn_writer *w, const char *txn_id, char *body, size_t len, txn_writer_cb cb, void *arg)
{
    struct txn_writer_job *job = xcalloc(1, sizeof(*job));

    job->w = w;
    job->txn_id = xstrdup(txn_id);
    job->body = body;
    job->len = len;
    job->cb = cb;
    job->arg = arg;
    w->pending++;
    if (uv_queue_work(w->loop, &job->work, txn_writer_work, txn_writer_after) != 0)
        abort(); /* only invalid arguments make uv_queue_work fail */
}

unsigned
txn_writer_pending(const struct txn_writer *w)
{
    return w->pending;
}

static void
txn_writer_on_close(uv_handle_t *handle)
{
    free(handle->data);
}

void
txn_writer_free(struct txn_writer *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    store_close(w->store);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    uv_close((uv_handle_t *)&w->async, txn_writer_on_close);
}
