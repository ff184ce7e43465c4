/*
 * A command's life in the room: the acknowledgement of slow work, its
 * progress, and the answer, all in the command's thread.
 *
 * An analyst sees an answer within a second: either the answer itself, or
 * "⏳ dns mx: working on it", which progress edits ("3 of 5 sources
 * answered") and the final answer then replace (m.replace), so the thread
 * holds one message per command.  The acknowledgement's outbox entry is
 * recorded with the command, so that a command run again after a restart
 * edits it instead of posting a second one.
 */
#include "autoconfig.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bots.h"
#include "bridge_host.h"
#include "audit/audit.h"
#include "clock.h"
#include "config.h"
#include "hs_client.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "reply.h"
#include "router_internal.h"
#include "store/store.h"
#include "xmalloc.h"

/* Work longer than this gets an acknowledgement. */
#define ROUTER_JOB_ACK_MS 1000
/* Progress edits are at least this far apart. */
#define ROUTER_JOB_EDIT_MS 2000

struct router_job *
router_job_new(struct router *r, const struct router_event *ev, struct bot *bot, const char *command, const char *args,
               const struct bridge *bridge, struct permissions_decision perm)
{
    struct router_job *job = xcalloc(1, sizeof(*job));
    const char *root = reply_thread_root(ev->content);
    char *cause = NULL;

    job->r = r;
    job->bot = bot;
    job->event_id = xstrdup(ev->event_id);
    job->room_id = xstrdup(ev->room_id);
    job->sender = xstrdup(ev->sender);
    job->thread_root = root != NULL ? xstrdup(root) : NULL;
    job->command = xstrdup(command);
    job->args = xstrdup(args != NULL ? args : "");
    job->bridge = bridge;
    job->origin_server_ts = ev->origin_server_ts;
    job->received_at = clock_now_ms();
    job->perm = perm;
    if (uv_timer_init(r->loop, &job->timer) != 0)
        abort();
    job->timer.data = job;
    /* A command run again after a restart edits the acknowledgement the
     * first run posted. */
    if (store_command_ack(r->store, job->event_id, &job->ack_outbox_id, &cause) != 0) {
        log_warn("router: %s", cause);
        free(cause);
    }
    job->next = r->jobs;
    r->jobs = job;
    r->running++;
    return job;
}

/* Adds a notice in the command's thread (or an edit of the acknowledgement)
 * to the outbox; returns its id, or 0 (logged) if it could not. */
static int64_t
router_job_post(struct router_job *job, struct json_object *content, int64_t replaces_id, const struct render_out *file)
{
    struct router *r = job->r;
    struct store_outbox_new e = {
        .room_id = job->room_id,
        .user_id = job->bot->user_id,
        .kind = STORE_OUTBOX_SEND,
        .event_type = "m.room.message",
        .replaces_id = replaces_id,
        .cause_event_id = job->event_id,
    };
    char *cause = NULL;
    int64_t id = 0;

    e.content = json_object_to_json_string_ext(content, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (file != NULL && file->attachment != NULL) {
        e.blob = file->attachment;
        e.blob_len = file->attachment_len;
        e.blob_name = file->attachment_name;
        e.blob_type = "text/plain; charset=utf-8";
    }
    if (store_outbox_add(r->store, &e, &id, &cause) != 0) {
        log_error("router: cannot queue a message for %s: %s", job->event_id, cause);
        free(cause);
        return 0;
    }
    return id;
}

/* The acknowledgement's text. */
static char *
router_job_ack_text(const struct router_job *job)
{
    if (job->progress != NULL)
        return xasprintf("\xe2\x8f\xb3 %s: %s", job->command, job->progress);
    return xasprintf("\xe2\x8f\xb3 %s: working on it", job->command);
}

/* Posts (or, progress given, edits) the acknowledgement. */
static void
router_job_show(struct router_job *job)
{
    struct reply_target t = {.event_id = job->event_id, .thread_root = job->thread_root};
    char *text = router_job_ack_text(job);
    struct json_object *content = reply_notice(&t, text, NULL, NULL);
    char *cause = NULL;

    if (job->ack_outbox_id == 0) {
        job->ack_outbox_id = router_job_post(job, content, 0, NULL);
        if (job->ack_outbox_id != 0 &&
            store_command_set_ack(job->r->store, job->event_id, job->ack_outbox_id, &cause) != 0) {
            log_warn("router: %s", cause);
            free(cause);
        }
    } else {
        router_job_post(job, content, job->ack_outbox_id, NULL);
    }
    job->progress_shown = job->progress != NULL;
    job->last_edit = uv_now(job->r->loop);
    outbox_kick(job->r->outbox);
    json_object_put(content);
    free(text);
}

static void
router_job_on_timer(uv_timer_t *t)
{
    struct router_job *job = t->data;

    if (job->done)
        return;
    if (job->ack_outbox_id == 0 || (job->progress != NULL && !job->progress_shown))
        router_job_show(job);
}

void
router_job_started(struct router_job *job)
{
    /* A command run again after a restart already has its acknowledgement. */
    if (!job->done && job->ack_outbox_id == 0)
        uv_timer_start(&job->timer, router_job_on_timer, ROUTER_JOB_ACK_MS, 0);
}

void
router_job_progress(struct router_job *job, const char *text)
{
    uint64_t now = uv_now(job->r->loop), since;

    if (job->done)
        return;
    free(job->progress);
    job->progress = xstrdup(text);
    job->progress_shown = 0;
    if (job->ack_outbox_id == 0)
        return; /* shown with the acknowledgement, when it comes */
    since = now - job->last_edit;
    if (since >= ROUTER_JOB_EDIT_MS)
        router_job_show(job);
    else
        uv_timer_start(&job->timer, router_job_on_timer, ROUTER_JOB_EDIT_MS - since, 0);
}

static void
router_job_on_close(uv_handle_t *handle)
{
    struct router_job *job = handle->data;

    free(job->event_id);
    free(job->room_id);
    free(job->sender);
    free(job->thread_root);
    free(job->command);
    free(job->args);
    free(job->progress);
    free(job);
}

/* Unlinks and frees a job, cancelling what it still runs; the router may
 * be waiting for the last one. */
static void
router_job_free(struct router_job *job)
{
    struct router *r = job->r;

    hs_client_cancel(job->call);
    job->call = NULL;
    bridge_host_cancel(job->bcall);
    job->bcall = NULL;
    router_enrich_cancel(job);
    router_confirm_cancel(job);
    router_bridge_forget(job);

    for (struct router_job **p = &r->jobs; *p != NULL; p = &(*p)->next) {
        if (*p == job) {
            *p = job->next;
            r->running--;
            break;
        }
    }
    job->done = 1;
    uv_timer_stop(&job->timer);
    uv_close((uv_handle_t *)&job->timer, router_job_on_close);
    if (r->stopping && r->running == 0 && r->done != NULL) {
        void (*done)(void *) = r->done;

        r->done = NULL;
        done(r->done_arg);
    }
}

/* The names the audit log gives a command's end. */
static const char *const router_job_status_names[] = {
    [STORE_COMMAND_RUNNING] = "running", [STORE_COMMAND_DONE] = "done",   [STORE_COMMAND_FAILED] = "failed",
    [STORE_COMMAND_REFUSED] = "refused", [STORE_COMMAND_STALE] = "stale",
};

/* Appends the "command" entry of a command's end, in the answer's write.
 * Why a command was not run is recorded; a tool's output is not (it is in
 * the stored answer). */
static int
router_job_audit(struct router_job *job, const struct store_command_outcome *o, char **cause)
{
    struct json_object *detail = router_audit_detail(job->event_id, job->room_id, job->sender);
    int ret;

    json_object_object_add(detail, "phase", json_object_new_string("finished"));
    json_object_object_add(detail, "command", json_object_new_string(job->command));
    json_object_object_add(detail, "bridge", job->bridge != NULL ? json_object_new_string(job->bridge->name) : NULL);
    json_object_object_add(detail, "status", json_object_new_string(router_job_status_names[o->status]));
    json_object_object_add(detail, "verdict", o->verdict != NULL ? json_object_new_string(o->verdict) : NULL);
    json_object_object_add(detail, "duration_ms", json_object_new_int64(o->duration_ms));
    if ((o->status == STORE_COMMAND_REFUSED || o->status == STORE_COMMAND_STALE) && o->detail != NULL)
        json_object_object_add(detail, "reason", json_object_new_string(o->detail));
    ret = audit_append(job->r->store, "command", detail, cause);
    json_object_put(detail);
    return ret;
}

void
router_job_answer(struct router_job *job, enum store_command_status status, const struct render_out *out,
                  const char *verdict)
{
    struct router *r = job->r;
    struct reply_target t = {.event_id = job->event_id, .thread_root = job->thread_root};
    struct json_object *content =
        reply_notice(&t, out->body, out->html, out->result != NULL ? json_object_get(out->result) : NULL);
    struct store_command_outcome outcome = {
        .status = status,
        .detail = out->body,
        .verdict = verdict,
        .duration_ms = clock_now_ms() - job->received_at,
    };
    char *cause = NULL;

    /* The answer and the command's outcome are one write: a crash leaves
     * the command running (run again at the next start), never answered
     * but unrecorded or recorded but unanswered. */
    if (store_begin(r->store, &cause) != 0) {
        log_error("router: cannot record the answer to %s: %s", job->event_id, cause);
        free(cause);
        goto out;
    }
    outcome.reply_outbox_id = router_job_post(job, content, job->ack_outbox_id, NULL);
    if (out->attachment != NULL) {
        /* The whole output, as a file in the same thread. */
        struct json_object *file = reply_notice(&t, out->attachment_name, NULL, NULL);

        json_object_object_add(file, "msgtype", json_object_new_string("m.file"));
        json_object_object_add(file, "filename", json_object_new_string(out->attachment_name));
        {
            struct json_object *info = json_object_new_object();

            json_object_object_add(info, "mimetype", json_object_new_string("text/plain"));
            json_object_object_add(info, "size", json_object_new_int64((int64_t)out->attachment_len));
            json_object_object_add(file, "info", info);
        }
        if (router_job_post(job, file, 0, out) == 0)
            outcome.reply_outbox_id = 0;
        json_object_put(file);
    }
    if (outcome.reply_outbox_id == 0 || store_command_finish(r->store, job->event_id, &outcome, &cause) != 0 ||
        router_job_audit(job, &outcome, &cause) != 0 || store_commit(r->store, &cause) != 0) {
        log_error("router: cannot record the answer to %s: %s", job->event_id, cause != NULL ? cause : "see above");
        free(cause);
        store_rollback(r->store);
    } else {
        metrics_add(METRICS_COMMANDS, 1);
        outbox_kick(r->outbox);
    }
out:
    json_object_put(content);
    router_job_free(job);
}

void
router_job_finish(struct router_job *job, enum store_command_status status, const char *body, const char *html,
                  struct json_object *result)
{
    struct render_out out = {0};

    out.body = (char *)body;
    out.html = (char *)html;
    out.result = result;
    router_job_answer(job, status, &out, NULL);
    json_object_put(result);
}

void
router_job_abandon(struct router_job *job)
{
    router_job_free(job);
}
