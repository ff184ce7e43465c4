/*
 * Tool commands: "!dns mx example.com" from the message to the answer.
 *
 * The text after the tool's name is split into words (command_parse.h);
 * the first word names the command, or else the tool's first command
 * runs with all the words.  The words are bound to the command's
 * arguments, and what the analyst got wrong is said in the thread with the
 * usage.  An argument that may come from the message replied to (the text
 * for !ioc, the file for !file) is taken from it.  Then the permission
 * table, the command's age, the confirmation of a dangerous command, and
 * the call through the bridge host; the result is rendered and answered.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bots.h"
#include "bridge_host.h"
#include "command_parse.h"
#include "config.h"
#include "indicator.h"
#include "log.h"
#include "permissions.h"
#include "render.h"
#include "router_internal.h"
#include "store/store.h"
#include "xmalloc.h"

/* The content of the message ev replies to, if warroom stored it; a
 * reference the caller releases, or NULL. */
static struct json_object *
router_bridge_replied(struct router *r, const struct router_event *ev)
{
    struct json_object *rel, *irt, *id, *event = NULL, *content = NULL;
    struct store_event *sev = NULL;
    char *cause = NULL;

    if (!json_object_object_get_ex(ev->content, "m.relates_to", &rel) ||
        !json_object_object_get_ex(rel, "m.in_reply_to", &irt) || !json_object_object_get_ex(irt, "event_id", &id) ||
        !json_object_is_type(id, json_type_string))
        return NULL;
    /* A thread message's in_reply_to is a fallback, not a real reply. */
    if (json_object_object_get_ex(rel, "is_falling_back", &irt) && json_object_get_boolean(irt))
        return NULL;
    if (store_event_get(r->store, json_object_get_string(id), &sev, &cause) != 0) {
        log_warn("router: %s", cause);
        free(cause);
        return NULL;
    }
    if (sev != NULL && (event = json_tokener_parse(sev->json)) != NULL &&
        json_object_object_get_ex(event, "content", &content))
        json_object_get(content);
    json_object_put(event);
    store_event_free(sev);
    return content;
}

/* The text of a replied-to message, without its own reply fallback. */
static const char *
router_bridge_reply_text(struct json_object *content)
{
    struct json_object *v;
    const char *body;

    if (!json_object_object_get_ex(content, "body", &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    body = json_object_get_string(v);
    while (strncmp(body, "> ", 2) == 0) {
        const char *nl = strchr(body, '\n');

        if (nl == NULL)
            break;
        body = nl + 1;
    }
    while (*body == '\n')
        body++;
    return body;
}

/* Fills the BRIDGE_ARG_FROM_REPLY arguments left empty from the message
 * replied to.  Returns 0, or -1 with an allocated message. */
static int
router_bridge_from_reply(const struct bridge_command *cmd, struct json_object *replied, struct command_args *args,
                         char **error)
{
    for (const struct bridge_arg *a = cmd->args; a != NULL && a->name != NULL; a++) {
        const struct command_arg_value *have = command_args_get(args, a->name);
        struct json_object *v;

        if (!(a->flags & BRIDGE_ARG_FROM_REPLY) || (have != NULL && have->n > 0))
            continue;
        if (replied == NULL) {
            if (a->flags & BRIDGE_ARG_REQUIRED) {
                *error = xasprintf("%s is missing: give it, or send the command as a reply to a message", a->name);
                return -1;
            }
            continue;
        }
        if ((a->types & IND_FILE) && json_object_object_get_ex(replied, "url", &v) &&
            json_object_is_type(v, json_type_string)) {
            command_args_set(args, a, json_object_get_string(v), IND_FILE);
        } else if (!(a->types & IND_TEXT)) {
            *error = xstrdup("the message replied to has no file");
            return -1;
        } else {
            const char *text = router_bridge_reply_text(replied);

            if (text == NULL || *text == '\0') {
                *error = xstrdup("the message replied to has no text");
                return -1;
            }
            command_args_set(args, a, text, IND_TEXT);
        }
    }
    return 0;
}

/* The arguments as JSON for the record, without the secret ones. */
static char *
router_bridge_args_json(const struct bridge_command *cmd, const struct command_args *args)
{
    struct json_object *o = json_object_new_object();
    char *s;

    for (const struct bridge_arg *a = cmd->args; a != NULL && a->name != NULL; a++) {
        const struct command_arg_value *v = command_args_get(args, a->name);
        struct json_object *list;

        if (v == NULL || v->n == 0 || v->from_default)
            continue;
        if (a->flags & BRIDGE_ARG_SECRET) {
            json_object_object_add(o, a->name, json_object_new_string("(secret)"));
            continue;
        }
        list = json_object_new_array();
        for (size_t i = 0; i < v->n; i++)
            json_object_array_add(list, json_object_new_string(v->values[i]));
        json_object_object_add(o, a->name, list);
    }
    s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return s;
}

/* A bridge call's progress: shown by editing the acknowledgement. */
static void
router_bridge_on_progress(const char *text, void *arg)
{
    router_job_progress(arg, text);
}

/* A bridge call ended: render and answer. */
static void
router_bridge_on_done(const struct bridge_host_outcome *o, void *arg)
{
    struct router_job *job = arg;
    const struct bridge_command *cmd = bridge_host_command(job->bridge, strchr(job->command, ' ') + 1);
    struct render_out out;

    job->bcall = NULL;
    if (o->result != NULL) {
        render_result(job->bridge->name, cmd != NULL ? cmd->name : job->command, o->result, 32 * 1024, &out);
        if (o->from_cache) {
            char *body = xasprintf("%s\n(from the cache of recent lookups: the tool was not asked again)", out.body);

            free(out.body);
            out.body = body;
        }
        router_job_answer(job, STORE_COMMAND_DONE, &out, bridge_verdict_name(o->result->verdict));
    } else {
        render_error(job->bridge->name, cmd != NULL ? cmd->name : job->command, o->error, &out);
        router_job_answer(job, STORE_COMMAND_FAILED, &out, NULL);
    }
    render_out_clear(&out);
}

static void
router_bridge_start(struct router_job *job, struct bridge_host_request *req)
{
    struct bridge_host_callbacks cb = {
        .progress = router_bridge_on_progress, .done = router_bridge_on_done, .arg = job};

    job->bcall = bridge_host_start(job->r->bridges, req, &cb);
    router_job_started(job);
}

/* The caller confirmed a dangerous command: start what waited. */
static void
router_bridge_confirmed(struct router_job *job)
{
    struct bridge_host_request *req = job->pending;

    job->pending = NULL;
    router_bridge_start(job, req);
    json_object_put(req->reply_content);
    free(req);
}

void
router_bridge_forget(struct router_job *job)
{
    struct bridge_host_request *req = job->pending;

    if (req == NULL)
        return;
    job->pending = NULL;
    command_args_clear(&req->args);
    json_object_put(req->reply_content);
    free(req);
}

void
router_bridge_command(struct router *r, const struct router_event *ev, struct bot *answerer, const struct bridge *b,
                      const char *text, int resume)
{
    const struct bridge_command *cmd = b->commands;
    struct command_words words = {0};
    struct command_args args = {0};
    struct json_object *replied = NULL;
    struct permissions_decision d = permissions_resolve(&r->cfg->bridge.permissions, ev->sender);
    enum perm_level need;
    struct router_job *job;
    char *error = NULL, *command = NULL, *args_json = NULL, *usage = NULL;
    size_t first = 0;
    int parsed;

    parsed = command_parse(text, &words, &error);
    if (parsed == 0 && words.n > 0 && words.v[0].key == NULL && !words.v[0].quoted &&
        bridge_host_command(b, words.v[0].value) != NULL) {
        cmd = bridge_host_command(b, words.v[0].value);
        first = 1;
    }
    command = xasprintf("%s %s", b->name, cmd->name);
    replied = router_bridge_replied(r, ev);
    if (parsed == 0 && command_bind(cmd, &words, first, replied != NULL, &args, &error) == 0)
        router_bridge_from_reply(cmd, replied, &args, &error);
    args_json = error == NULL ? router_bridge_args_json(cmd, &args) : NULL;

    need = cmd->level > b->level ? cmd->level : b->level;
    {
        struct router_decision dec = {.d = d, .need = need};

        if (!resume && router_record(r, ev, b->name, command, args_json, &dec) != 1)
            goto out;
    }
    job = router_job_new(r, ev, answerer, command, text, b, d);
    if (d.level < need) {
        char *body = xasprintf("You may not run %s%s here: your permission level is %s (rule '%s'), and it needs "
                               "%s.",
                               r->cfg->bridge.command_prefix, command, permissions_level_name(d.level), d.rule,
                               permissions_level_name(need));

        log_info("router: %s may not run %s (level %s by rule '%s')", ev->sender, command,
                 permissions_level_name(d.level), d.rule);
        router_job_finish(job, STORE_COMMAND_REFUSED, body, NULL, NULL);
        free(body);
        goto out;
    }
    if (error != NULL) {
        char *body;

        usage = router_help_usage(r, b, cmd);
        body = xasprintf("%s%s: %s. Usage: %s", r->cfg->bridge.command_prefix, command, error, usage);
        router_job_finish(job, STORE_COMMAND_REFUSED, body, NULL, NULL);
        free(body);
        goto out;
    }
    if (router_check_stale(job))
        goto out;
    log_info("router: %s runs %s%s in %s (level %s by rule '%s')", ev->sender, r->cfg->bridge.command_prefix, command,
             ev->room_id, permissions_level_name(d.level), d.rule);
    {
        struct bridge_host_request req = {
            .bridge = b,
            .cmd = cmd,
            .args = args,
            .sender = ev->sender,
            .room_id = ev->room_id,
            .reply_content = replied,
        };

        memset(&args, 0, sizeof(args));
        if (cmd->dangerous) {
            job->pending = xmalloc(sizeof(*job->pending));
            *job->pending = req;
            /* The request waits beyond this event, whose strings it
             * borrowed: borrow the job's copies instead. */
            job->pending->sender = job->sender;
            job->pending->room_id = job->room_id;
            if (replied != NULL)
                json_object_get(replied); /* the pending request's own reference */
            router_confirm_ask(job, command, router_bridge_confirmed);
        } else {
            router_bridge_start(job, &req);
        }
    }
out:
    json_object_put(replied);
    command_words_clear(&words);
    command_args_clear(&args);
    free(error);
    free(command);
    free(args_json);
    free(usage);
}
