/*
 * libcurl's multi interface driven by the libuv loop.  This is the only
 * file that sees curl's sockets: one uv_poll_t per socket, assigned with
 * curl_multi_assign(), and one uv_timer_t for curl's timeouts.  Everything
 * else hands it configured easy handles and gets one callback per transfer.
 * Connections are reused between transfers by curl's own connection cache;
 * at most CURL_UV_MAX_HOST_CONNECTIONS are open to one host at a time, and
 * further transfers to it wait in curl's queue.
 *
 * curl_global_init() is done by the first curl_uv_new() and undone when
 * the last curl_uv has been freed (a reference count; the loop has one
 * thread), so nothing else calls it.
 */
#ifndef WARROOM_CURL_UV_H
#define WARROOM_CURL_UV_H

#include <curl/curl.h>
#include <uv.h>

#define CURL_UV_MAX_HOST_CONNECTIONS 32L

struct curl_uv;

/* Called once per transfer, from the loop, when it has finished (result
 * is CURLE_OK or the curl error).  The easy handle has already been
 * removed from the multi handle; the callback owns it again. */
typedef void (*curl_uv_done_cb)(CURL *easy, CURLcode result, void *arg);

/* Returns allocated, free with curl_uv_close().  Aborts if curl cannot be
 * set up (out of memory). */
struct curl_uv *curl_uv_new(uv_loop_t *loop);

/*
 * Starts a transfer.  The easy handle stays owned by the caller but must
 * not be touched until cb runs or curl_uv_remove() is called; curl_uv
 * keeps its own record in the handle's CURLOPT_PRIVATE, which callers must
 * leave alone.  Returns 0, or a negative value (and cb is never called) if
 * curl refused the handle (already added, or called from inside one of
 * curl's own callbacks).  May be called from inside a done callback.
 */
int curl_uv_add(struct curl_uv *cu, CURL *easy, curl_uv_done_cb cb, void *arg);

/* Aborts a transfer started with curl_uv_add(); its callback is not
 * called.  Unknown handles are ignored.  May be called from inside a done
 * callback, for any other transfer. */
void curl_uv_remove(struct curl_uv *cu, CURL *easy);

/* Number of transfers under way. */
unsigned curl_uv_active(const struct curl_uv *cu);

/* The loop cu runs on (borrowed), for clients that need timers of their
 * own on it. */
uv_loop_t *curl_uv_loop(const struct curl_uv *cu);

/*
 * Aborts every transfer (their callbacks are not called), closes the
 * timer and the polls, and frees cu in the last close callback, so that
 * uv_loop_close() returns 0 after the loop has run once more.  NULL is a
 * no-op.  May be called from inside a done callback; no further callback
 * runs after it.  Free the users of cu (hs_client_free()) first.
 */
void curl_uv_close(struct curl_uv *cu);

#endif
