/*
 * libcurl's multi interface on the libuv loop; see curl_uv.h.
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when
 * to wake it (CURLMOPT_TIMERFUNCTION); we watch each socket with a
 * uv_poll_t and keep one uv_timer_t, and hand events back with
 * curl_multi_socket_action().  After every socket_action the finished
 * transfers are read with curl_multi_info_read() and their callbacks run.
 *
 * curl_uv owns each easy handle's CURLOPT_PRIVATE while it runs.  Every
 * poll handle is freed in its close callback, and the struct curl_uv
 * itself only when the last of its handles has closed.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "curl_uv.h"
#include "log.h"
#include "xmalloc.h"

/* One socket curl asked us to watch. */
struct curl_uv_sock {
    uv_poll_t poll; /* first: the close callback casts back */
    struct curl_uv *cu;
    curl_socket_t fd;
    struct curl_uv_sock *next;
    struct curl_uv_sock **pprev;
};

/* One transfer under way. */
struct curl_uv_xfer {
    CURL *easy;
    curl_uv_done_cb cb;
    void *arg;
    struct curl_uv_xfer *next;
    struct curl_uv_xfer **pprev;
};

struct curl_uv {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    struct curl_uv_sock *socks;
    struct curl_uv_xfer *xfers;
    unsigned active;
    unsigned handles; /* uv handles not yet closed, the timer included */
    int closing;
};

static unsigned curl_uv_users; /* curl_global_init is done once, for the first user */

static void curl_uv_check_info(struct curl_uv *cu);

/* Frees cu when its last handle has closed. */
static void
curl_uv_release(struct curl_uv *cu)
{
    if (--cu->handles > 0)
        return;
    free(cu);
    if (--curl_uv_users == 0)
        curl_global_cleanup();
}

static void
curl_uv_on_sock_close(uv_handle_t *handle)
{
    struct curl_uv_sock *cs = (struct curl_uv_sock *)handle;
    struct curl_uv *cu = cs->cu;

    free(cs);
    curl_uv_release(cu);
}

/* Stops watching a socket and closes its poll handle. */
static void
curl_uv_sock_close(struct curl_uv_sock *cs)
{
    *cs->pprev = cs->next;
    if (cs->next != NULL)
        cs->next->pprev = cs->pprev;
    uv_poll_stop(&cs->poll);
    uv_close((uv_handle_t *)&cs->poll, curl_uv_on_sock_close);
}

static void
curl_uv_on_poll(uv_poll_t *poll, int status, int events)
{
    struct curl_uv_sock *cs = (struct curl_uv_sock *)poll;
    struct curl_uv *cu = cs->cu;
    int flags = 0, running;

    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    /* cs may be closed by the socket callback inside socket_action. */
    curl_multi_socket_action(cu->multi, cs->fd, flags, &running);
    curl_uv_check_info(cu);
}

/* CURLMOPT_SOCKETFUNCTION: start, change or stop watching a socket. */
static int
curl_uv_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct curl_uv *cu = userp;
    struct curl_uv_sock *cs = socketp;
    int events = 0, r;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (cs != NULL) {
            if (!cu->closing)
                curl_multi_assign(cu->multi, fd, NULL);
            curl_uv_sock_close(cs);
        }
        return 0;
    }
    if (cu->closing)
        return -1;
    if (cs == NULL) {
        cs = xcalloc(1, sizeof(*cs));
        cs->cu = cu;
        cs->fd = fd;
        if ((r = uv_poll_init_socket(cu->loop, &cs->poll, fd)) != 0) {
            log_error("curl_uv: cannot watch a socket: %s", uv_strerror(r));
            free(cs);
            return -1; /* curl fails the transfer */
        }
        cu->handles++;
        cs->next = cu->socks;
        if (cs->next != NULL)
            cs->next->pprev = &cs->next;
        cs->pprev = &cu->socks;
        cu->socks = cs;
        curl_multi_assign(cu->multi, fd, cs);
    }
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    if ((r = uv_poll_start(&cs->poll, events, curl_uv_on_poll)) != 0) {
        log_error("curl_uv: cannot watch a socket: %s", uv_strerror(r));
        return -1;
    }
    return 0;
}

static void
curl_uv_on_timer(uv_timer_t *timer)
{
    struct curl_uv *cu = timer->data;
    int running;

    curl_multi_socket_action(cu->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    curl_uv_check_info(cu);
}

/* CURLMOPT_TIMERFUNCTION: curl wants to be woken after timeout_ms.  Even a
 * timeout of 0 goes through the timer: curl must not be re-entered from
 * inside this callback. */
static int
curl_uv_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct curl_uv *cu = userp;

    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&cu->timer);
    else
        uv_timer_start(&cu->timer, curl_uv_on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

struct curl_uv *
curl_uv_new(uv_loop_t *loop)
{
    struct curl_uv *cu = xcalloc(1, sizeof(*cu));

    if (curl_uv_users++ == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        abort();
    cu->loop = loop;
    if ((cu->multi = curl_multi_init()) == NULL || uv_timer_init(loop, &cu->timer) != 0)
        abort(); /* both fail only when out of memory */
    cu->timer.data = cu;
    cu->handles = 1;
    if (curl_multi_setopt(cu->multi, CURLMOPT_SOCKETFUNCTION, curl_uv_socket_cb) != CURLM_OK ||
        curl_multi_setopt(cu->multi, CURLMOPT_SOCKETDATA, cu) != CURLM_OK ||
        curl_multi_setopt(cu->multi, CURLMOPT_TIMERFUNCTION, curl_uv_timer_cb) != CURLM_OK ||
        curl_multi_setopt(cu->multi, CURLMOPT_TIMERDATA, cu) != CURLM_OK ||
        curl_multi_setopt(cu->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 32L) != CURLM_OK)
        abort();
    return cu;
}

/* Unlinks and frees the record of a transfer. */
static void
curl_uv_xfer_free(struct curl_uv *cu, struct curl_uv_xfer *x)
{
    *x->pprev = x->next;
    if (x->next != NULL)
        x->next->pprev = x->pprev;
    cu->active--;
    free(x);
}

int
curl_uv_add(struct curl_uv *cu, CURL *easy, curl_uv_done_cb cb, void *arg)
{
    struct curl_uv_xfer *x;
    CURLMcode mc;

    if (cu->closing)
        return -1;
    x = xcalloc(1, sizeof(*x));
    x->easy = easy;
    x->cb = cb;
    x->arg = arg;
    if (curl_easy_setopt(easy, CURLOPT_PRIVATE, x) != CURLE_OK ||
        (mc = curl_multi_add_handle(cu->multi, easy)) != CURLM_OK) {
        free(x);
        return -1;
    }
    x->next = cu->xfers;
    if (x->next != NULL)
        x->next->pprev = &x->next;
    x->pprev = &cu->xfers;
    cu->xfers = x;
    cu->active++;
    return 0;
}

void
curl_uv_remove(struct curl_uv *cu, CURL *easy)
{
    struct curl_uv_xfer *x;

    for (x = cu->xfers; x != NULL; x = x->next) {
        if (x->easy == easy)
            break;
    }
    if (x == NULL)
        return;
    curl_multi_remove_handle(cu->multi, easy);
    curl_uv_xfer_free(cu, x);
}

unsigned
curl_uv_active(const struct curl_uv *cu)
{
    return cu->active;
}

/* Runs the callbacks of the transfers curl has finished. */
static void
curl_uv_check_info(struct curl_uv *cu)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(cu->multi, &left)) != NULL) {
        struct curl_uv_xfer *x = NULL;
        CURL *easy = msg->easy_handle;
        CURLcode result = msg->data.result;
        curl_uv_done_cb cb;
        void *arg;

        if (msg->msg != CURLMSG_DONE)
            continue;
        if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x) != CURLE_OK || x == NULL)
            continue;
        cb = x->cb;
        arg = x->arg;
        curl_multi_remove_handle(cu->multi, easy);
        curl_uv_xfer_free(cu, x);
        /* The callback may add or remove transfers: msg is not used after. */
        cb(easy, result, arg);
    }
}

static void
curl_uv_on_timer_close(uv_handle_t *handle)
{
    curl_uv_release(handle->data);
}

void
curl_uv_close(struct curl_uv *cu)
{
    if (cu == NULL)
        return;
    cu->closing = 1;
    while (cu->xfers != NULL) {
        curl_multi_remove_handle(cu->multi, cu->xfers->easy);
        curl_uv_xfer_free(cu, cu->xfers);
    }
    /* Cleaning up closes curl's cached connections; their sockets may or
     * may not be reported removed, so close what is left ourselves. */
    curl_multi_cleanup(cu->multi);
    cu->multi = NULL;
    while (cu->socks != NULL)
        curl_uv_sock_close(cu->socks);
    uv_timer_stop(&cu->timer);
    uv_close((uv_handle_t *)&cu->timer, curl_uv_on_timer_close);
}
