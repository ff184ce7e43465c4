/*
 * libcurl's multi interface driven by the libuv loop; see curl_uv.h.
 *
 * curl says which sockets to watch through CURLMOPT_SOCKETFUNCTION and when
 * to wake it through CURLMOPT_TIMERFUNCTION.  Each watched socket gets a
 * uv_poll_t (found again through curl_multi_assign()), the multi handle one
 * uv_timer_t, and every event goes back to curl_multi_socket_action(),
 * after which the finished transfers are collected with
 * curl_multi_info_read() and their callbacks run.
 *
 * Two rules keep this safe against the callbacks it runs.  First, user code
 * runs only after curl has returned, never from inside one of curl's
 * callbacks, so a done callback may add and remove transfers or close the
 * whole curl_uv.  Second, a libuv handle is freed only in its close
 * callback, and the struct curl_uv itself only when the last of its handles
 * has closed, so a pointer held across a callback stays valid until the
 * loop turns.
 *
 * A socket curl cannot be watched on (uv_poll_init_socket() or
 * uv_poll_start() failed) is not reported to curl as an error: curl 7.85
 * and later would then abort every transfer in progress on the multi
 * handle.  The transfer that wanted it is failed alone instead, with
 * CURLE_ABORTED_BY_CALLBACK, once curl has returned.
 */
#include "autoconfig.h"

#include <stdlib.h>

#include "curl_uv.h"
#include "log.h"
#include "xmalloc.h"

/* One socket curl asked us to watch.  The poll handle comes first so that
 * the close callback can cast back. */
struct curl_uv_sock {
    uv_poll_t poll;
    struct curl_uv *cu;
    curl_socket_t fd;
    struct curl_uv_sock *next, *prev;
};

/* One transfer under way; the easy handle's CURLOPT_PRIVATE points here. */
struct curl_uv_xfer {
    struct curl_uv *cu;
    CURL *easy;
    curl_uv_done_cb cb;
    void *arg;
    int doomed; /* no socket could be watched for it: fail it */
    struct curl_uv_xfer *next, *prev;
};

struct curl_uv {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    struct curl_uv_sock *socks;
    struct curl_uv_xfer *xfers;
    unsigned active;
    unsigned doomed;
    unsigned open_handles; /* the timer and the polls, until their close callbacks */
    int closing;
};

/* How many struct curl_uv exist: curl_global_init() is done for the first
 * and curl_global_cleanup() after the last. */
static unsigned curl_uv_instances;

static void curl_uv_finish(struct curl_uv *cu);

/* Drops one open handle; frees cu when it was the last one after
 * curl_uv_close(). */
static void
curl_uv_handle_closed(struct curl_uv *cu)
{
    if (--cu->open_handles > 0 || !cu->closing)
        return;
    free(cu);
    if (--curl_uv_instances == 0)
        curl_global_cleanup();
}

/* Close callback of a socket's poll handle: frees it, then maybe cu. */
static void
curl_uv_on_sock_close(uv_handle_t *handle)
{
    struct curl_uv_sock *cs = (struct curl_uv_sock *)handle;
    struct curl_uv *cu = cs->cu;

    free(cs);
    curl_uv_handle_closed(cu);
}

/* Close callback of the timer, the last handle curl_uv_close() closes. */
static void
curl_uv_on_timer_close(uv_handle_t *handle)
{
    curl_uv_handle_closed(handle->data);
}

/* Unlinks a socket and closes its poll handle; it is freed in the close
 * callback.  curl must no longer refer to it (curl_multi_assign NULL, or
 * curl is removing the socket). */
static void
curl_uv_sock_close(struct curl_uv_sock *cs)
{
    struct curl_uv *cu = cs->cu;

    if (cs->prev != NULL)
        cs->prev->next = cs->next;
    else
        cu->socks = cs->next;
    if (cs->next != NULL)
        cs->next->prev = cs->prev;
    cs->next = cs->prev = NULL;
    /* uv_close() stops the poll first, so the descriptor leaves the
     * backend before curl closes it. */
    uv_close((uv_handle_t *)&cs->poll, curl_uv_on_sock_close);
}

/* Returns the easy handle's CURLOPT_PRIVATE: the record of the transfer
 * if it is running, NULL otherwise (curl_uv clears it when a transfer
 * ends). */
static void *
curl_uv_private(CURL *easy)
{
    char *p = NULL;

    if (easy == NULL || curl_easy_getinfo(easy, CURLINFO_PRIVATE, &p) != CURLE_OK)
        return NULL;
    return p;
}

/* Returns the record of a transfer of cu, or NULL if easy is not one. */
static struct curl_uv_xfer *
curl_uv_find(struct curl_uv *cu, CURL *easy)
{
    struct curl_uv_xfer *x = curl_uv_private(easy);

    if (x == NULL || x->cu != cu || x->easy != easy)
        return NULL;
    return x;
}

/* Marks the transfer of easy to be failed once curl has returned, because
 * no socket could be watched for it. */
static void
curl_uv_doom(struct curl_uv *cu, CURL *easy)
{
    struct curl_uv_xfer *x = curl_uv_find(cu, easy);

    if (x == NULL || x->doomed)
        return;
    x->doomed = 1;
    cu->doomed++;
}

/* Hands an event on a socket (or a timeout, fd CURL_SOCKET_TIMEOUT) to curl,
 * then runs what finished.  Nothing that curl may have freed is used after. */
static void
curl_uv_drive(struct curl_uv *cu, curl_socket_t fd, int flags)
{
    int running = 0;
    CURLMcode mc;

    mc = curl_multi_socket_action(cu->multi, fd, flags, &running);
    if (mc != CURLM_OK)
        log_error("curl_uv: curl_multi_socket_action: %s", curl_multi_strerror(mc));
    curl_uv_finish(cu);
}

/* A watched socket is ready (or failed): tell curl which way. */
static void
curl_uv_on_poll(uv_poll_t *poll, int status, int events)
{
    struct curl_uv_sock *cs = (struct curl_uv_sock *)poll;
    struct curl_uv *cu = cs->cu;
    int flags = 0;

    if (status < 0)
        flags |= CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    /* curl may remove this very socket: cs is not used after this. */
    curl_uv_drive(cu, cs->fd, flags);
}

/* curl's timeout has come: let it run its timers. */
static void
curl_uv_on_timer(uv_timer_t *timer)
{
    curl_uv_drive(timer->data, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_SOCKETFUNCTION: start, change or stop watching fd.  Always
 * returns 0 (see the top of this file for why). */
static int
curl_uv_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct curl_uv *cu = userp;
    struct curl_uv_sock *cs = socketp;
    int events = 0, r;
    CURLMcode mc;

    if (what == CURL_POLL_REMOVE) {
        /* curl forgets socketp itself and calls this before it closes
         * fd; the same descriptor number may come back later as a new
         * socket, which then gets a new poll handle. */
        if (cs != NULL)
            curl_uv_sock_close(cs);
        return 0;
    }
    if (cu->closing)
        return 0;
    if (cs == NULL) {
        cs = xcalloc(1, sizeof(*cs));
        cs->cu = cu;
        cs->fd = fd;
        if ((r = uv_poll_init_socket(cu->loop, &cs->poll, fd)) != 0) {
            log_error("curl_uv: cannot watch socket %d: %s", (int)fd, uv_strerror(r));
            free(cs); /* never registered with the loop */
            curl_uv_doom(cu, easy);
            return 0;
        }
        cu->open_handles++;
        cs->next = cu->socks;
        if (cs->next != NULL)
            cs->next->prev = cs;
        cu->socks = cs;
        if ((mc = curl_multi_assign(cu->multi, fd, cs)) != CURLM_OK) {
            log_error("curl_uv: curl_multi_assign: %s", curl_multi_strerror(mc));
            curl_uv_sock_close(cs);
            curl_uv_doom(cu, easy);
            return 0;
        }
    }
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    r = events != 0 ? uv_poll_start(&cs->poll, events, curl_uv_on_poll) : uv_poll_stop(&cs->poll);
    if (r != 0) {
        log_error("curl_uv: cannot watch socket %d: %s", (int)fd, uv_strerror(r));
        curl_uv_doom(cu, easy);
    }
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: wake curl after timeout_ms, or never (-1).  A
 * timeout of 0 also goes through the timer: curl must not be re-entered
 * from inside its own callback. */
static int
curl_uv_on_timeout(CURLM *multi, long timeout_ms, void *userp)
{
    struct curl_uv *cu = userp;
    int r;

    (void)multi;
    if (cu->closing)
        return 0;
    if (timeout_ms < 0)
        r = uv_timer_stop(&cu->timer);
    else
        r = uv_timer_start(&cu->timer, curl_uv_on_timer, (uint64_t)timeout_ms, 0);
    if (r != 0) {
        log_error("curl_uv: timer: %s", uv_strerror(r));
        return -1;
    }
    return 0;
}

/* Returns allocated, free with curl_uv_close().  Aborts when curl or libuv
 * cannot be set up, which happens only when out of memory. */
struct curl_uv *
curl_uv_new(uv_loop_t *loop)
{
    struct curl_uv *cu = xcalloc(1, sizeof(*cu));
    CURLcode rc;
    int r;

    if (curl_uv_instances++ == 0 && (rc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
        log_error("curl_uv: curl_global_init: %s", curl_easy_strerror(rc));
        abort();
    }
    cu->loop = loop;
    if ((cu->multi = curl_multi_init()) == NULL) {
        log_error("curl_uv: curl_multi_init failed");
        abort();
    }
    if ((r = uv_timer_init(loop, &cu->timer)) != 0) {
        log_error("curl_uv: uv_timer_init: %s", uv_strerror(r));
        abort();
    }
    cu->timer.data = cu;
    cu->open_handles = 1;
    if (curl_multi_setopt(cu->multi, CURLMOPT_SOCKETFUNCTION, curl_uv_on_socket) != CURLM_OK ||
        curl_multi_setopt(cu->multi, CURLMOPT_SOCKETDATA, cu) != CURLM_OK ||
        curl_multi_setopt(cu->multi, CURLMOPT_TIMERFUNCTION, curl_uv_on_timeout) != CURLM_OK ||
        curl_multi_setopt(cu->multi, CURLMOPT_TIMERDATA, cu) != CURLM_OK ||
        curl_multi_setopt(cu->multi, CURLMOPT_MAX_HOST_CONNECTIONS, CURL_UV_MAX_HOST_CONNECTIONS) != CURLM_OK) {
        log_error("curl_uv: curl_multi_setopt failed");
        abort();
    }
    return cu;
}

/* Takes a transfer out of the multi handle and frees its record.  The
 * easy handle's CURLOPT_PRIVATE is cleared, so that a stale record is
 * never found through it. */
static void
curl_uv_xfer_end(struct curl_uv *cu, struct curl_uv_xfer *x)
{
    CURLMcode mc;

    if ((mc = curl_multi_remove_handle(cu->multi, x->easy)) != CURLM_OK)
        log_error("curl_uv: curl_multi_remove_handle: %s", curl_multi_strerror(mc));
    if (curl_easy_setopt(x->easy, CURLOPT_PRIVATE, NULL) != CURLE_OK)
        log_error("curl_uv: cannot clear CURLOPT_PRIVATE");
    if (x->prev != NULL)
        x->prev->next = x->next;
    else
        cu->xfers = x->next;
    if (x->next != NULL)
        x->next->prev = x->prev;
    if (x->doomed)
        cu->doomed--;
    cu->active--;
    free(x);
}

int
curl_uv_add(struct curl_uv *cu, CURL *easy, curl_uv_done_cb cb, void *arg)
{
    struct curl_uv_xfer *x = NULL;
    CURLMcode mc;
    int ret = -1;

    if (cu->closing || easy == NULL || cb == NULL)
        goto out;
    x = xcalloc(1, sizeof(*x));
    x->cu = cu;
    x->easy = easy;
    x->cb = cb;
    x->arg = arg;
    /* A handle that is running already (here or on another curl_uv)
     * keeps its record: check before overwriting CURLOPT_PRIVATE. */
    if (curl_uv_private(easy) != NULL) {
        log_error("curl_uv: transfer added while running");
        goto out;
    }
    if (curl_easy_setopt(easy, CURLOPT_PRIVATE, x) != CURLE_OK) {
        log_error("curl_uv: cannot set CURLOPT_PRIVATE");
        goto out;
    }
    if ((mc = curl_multi_add_handle(cu->multi, easy)) != CURLM_OK) {
        log_error("curl_uv: curl_multi_add_handle: %s", curl_multi_strerror(mc));
        if (curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL) != CURLE_OK)
            log_error("curl_uv: cannot clear CURLOPT_PRIVATE");
        goto out;
    }
    x->next = cu->xfers;
    if (x->next != NULL)
        x->next->prev = x;
    cu->xfers = x;
    cu->active++;
    x = NULL;
    ret = 0;
out:
    free(x);
    return ret;
}

void
curl_uv_remove(struct curl_uv *cu, CURL *easy)
{
    struct curl_uv_xfer *x;

    if (cu == NULL || cu->closing || (x = curl_uv_find(cu, easy)) == NULL)
        return;
    curl_uv_xfer_end(cu, x);
}

unsigned
curl_uv_active(const struct curl_uv *cu)
{
    return cu->active;
}

uv_loop_t *
curl_uv_loop(const struct curl_uv *cu)
{
    return cu->loop;
}

/*
 * Ends the transfers that are over: first those for which no socket could
 * be watched, then those curl reports done.  Each record is taken out
 * before its callback runs, and the lists are looked at afresh after each
 * callback, which may have added or removed transfers or closed cu (whose
 * memory stays valid until the loop turns).
 */
static void
curl_uv_finish(struct curl_uv *cu)
{
    while (!cu->closing) {
        struct curl_uv_xfer *x = NULL;
        CURLcode result;
        curl_uv_done_cb cb;
        CURL *easy;
        void *arg;

        if (cu->doomed > 0) {
            for (x = cu->xfers; x != NULL && !x->doomed; x = x->next)
                ;
            if (x == NULL) {
                cu->doomed = 0; /* cannot happen: the count is kept with the flags */
                continue;
            }
            result = CURLE_ABORTED_BY_CALLBACK;
        } else {
            int left;
            CURLMsg *msg = curl_multi_info_read(cu->multi, &left);

            if (msg == NULL)
                break;
            if (msg->msg != CURLMSG_DONE)
                continue;
            if ((x = curl_uv_find(cu, msg->easy_handle)) == NULL) {
                log_error("curl_uv: a finished transfer is not ours");
                continue;
            }
            result = msg->data.result;
        }
        cb = x->cb;
        arg = x->arg;
        easy = x->easy;
        curl_uv_xfer_end(cu, x);
        cb(easy, result, arg);
    }
}

void
curl_uv_close(struct curl_uv *cu)
{
    CURLMcode mc;

    if (cu == NULL || cu->closing)
        return;
    cu->closing = 1;
    while (cu->xfers != NULL)
        curl_uv_xfer_end(cu, cu->xfers);
    /* Stop watching every socket before curl closes the idle connections
     * it keeps: a descriptor must leave the poll backend while it is still
     * open, lest a new socket with the same number be watched in its
     * place.  curl then finds no socketp for them and calls for nothing. */
    while (cu->socks != NULL) {
        if ((mc = curl_multi_assign(cu->multi, cu->socks->fd, NULL)) != CURLM_OK)
            log_error("curl_uv: curl_multi_assign: %s", curl_multi_strerror(mc));
        curl_uv_sock_close(cu->socks);
    }
    if ((mc = curl_multi_cleanup(cu->multi)) != CURLM_OK)
        log_error("curl_uv: curl_multi_cleanup: %s", curl_multi_strerror(mc));
    cu->multi = NULL;
    uv_close((uv_handle_t *)&cu->timer, curl_uv_on_timer_close);
}
