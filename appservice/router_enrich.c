/*
 * !enrich <indicator>: the type of the indicator is detected (after
 * refanging: "hxxps://evil[.]com" is a URL), and every enabled tool whose
 * commands accept that type is asked at once, each through the bridge host
 * (so each tool's queue, rate limit, cache and timeout apply).  The
 * acknowledgement shows "3 of 5 sources answered"; the answer is one table
 * (source, verdict, key facts) with the most severe verdict as the overall
 * one.  A tool that fails is a row that says so; it does not spoil the
 * others.  Commands the caller may not run, and dangerous ones, are left
 * out.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_host.h"
#include "command_parse.h"
#include "indicator.h"
#include "log.h"
#include "permissions.h"
#include "render.h"
#include "router_internal.h"
#include "xmalloc.h"

struct router_enrich_part {
    struct router_enrich *e;
    const struct bridge *bridge;
    const struct bridge_command *cmd;
    struct bridge_host_call *call;
    int done;
    int failed;
    enum bridge_verdict verdict;
    char *facts; /* the key facts, or what went wrong */
};

struct router_enrich {
    struct router_job *job;
    char *value;
    unsigned type;
    struct router_enrich_part *parts;
    size_t n;
    size_t ndone;
};

static void
router_enrich_free(struct router_enrich *e)
{
    for (size_t i = 0; i < e->n; i++) {
        bridge_host_cancel(e->parts[i].call);
        free(e->parts[i].facts);
    }
    free(e->parts);
    free(e->value);
    free(e);
}

void
router_enrich_cancel(struct router_job *job)
{
    if (job->enrich != NULL) {
        router_enrich_free(job->enrich);
        job->enrich = NULL;
    }
}

/* Every source has answered: one table, the worst verdict overall. */
static void
router_enrich_answer(struct router_enrich *e)
{
    struct router_job *job = e->job;
    char *shown = indicator_defang(e->value, e->type);
    struct bridge_result *r = bridge_result_new("Enrichment of %s (%s)", shown, indicator_type_name(e->type));
    enum bridge_verdict overall = BRIDGE_VERDICT_NONE;
    size_t judged = 0, worst = 0;
    struct render_out out;

    bridge_result_columns(r, "Source", "Verdict", "Key facts", NULL);
    for (size_t i = 0; i < e->n; i++) {
        struct router_enrich_part *p = &e->parts[i];

        bridge_result_row(r, p->bridge->displayname, p->failed ? "error" : bridge_verdict_name(p->verdict),
                          p->facts != NULL ? p->facts : "", NULL);
        if (p->verdict != BRIDGE_VERDICT_NONE)
            judged++;
        if (p->verdict > overall)
            overall = p->verdict;
    }
    for (size_t i = 0; i < e->n; i++)
        worst += e->parts[i].verdict == overall && overall != BRIDGE_VERDICT_NONE;
    bridge_result_verdict(r, overall);
    if (overall != BRIDGE_VERDICT_NONE)
        bridge_result_summary(r, "Overall: %s (%zu of %zu sources that judge say so)", bridge_verdict_name(overall),
                              worst, judged);
    else
        bridge_result_summary(r, "No source gave a verdict");
    render_result("enrich", indicator_type_name(e->type), r, 32 * 1024, &out);
    job->enrich = NULL;
    router_enrich_free(e);
    router_job_answer(job, STORE_COMMAND_DONE, &out, bridge_verdict_name(overall));
    render_out_clear(&out);
    bridge_result_free(r);
    free(shown);
}

static void
router_enrich_on_done(const struct bridge_host_outcome *o, void *arg)
{
    struct router_enrich_part *p = arg;
    struct router_enrich *e = p->e;
    char *progress;

    p->call = NULL;
    p->done = 1;
    if (o->result != NULL) {
        p->verdict = o->result->verdict;
        p->facts = xstrdup(o->result->summary != NULL ? o->result->summary : o->result->title);
    } else {
        p->failed = 1;
        p->facts = xstrdup(o->error);
    }
    e->ndone++;
    if (e->ndone == e->n) {
        router_enrich_answer(e);
        return;
    }
    progress = xasprintf("%zu of %zu sources answered", e->ndone, e->n);
    router_job_progress(e->job, progress);
    free(progress);
}

void
router_enrich_run(struct router_job *job)
{
    struct router *r = job->r;
    struct router_enrich *e;
    char *norm = NULL;
    unsigned type = indicator_detect(job->args, &norm);

    if (job->args[0] == '\0' || type == 0) {
        char *body = job->args[0] == '\0'
                         ? xasprintf("Usage: %senrich <indicator> (an IP address, domain, URL, e-mail address, hash, "
                                     "CVE or AS number)",
                                     r->cfg->bridge.command_prefix)
                         : xasprintf("\"%s\" is not an indicator warroom knows (an IP address, domain, URL, e-mail "
                                     "address, hash, CVE or AS number)",
                                     job->args);

        router_job_finish(job, STORE_COMMAND_REFUSED, body, NULL, NULL);
        free(body);
        free(norm);
        return;
    }
    e = xcalloc(1, sizeof(*e));
    e->job = job;
    e->value = norm;
    e->type = type;
    for (size_t i = 0; bridge_host_at(r->bridges, i) != NULL; i++) {
        const struct bridge *b = bridge_host_at(r->bridges, i);

        for (const struct bridge_command *c = b->commands; c->name != NULL; c++) {
            enum perm_level need = c->level > b->level ? c->level : b->level;

            if (!(c->enrich & type) || c->dangerous || job->perm.level < need)
                continue;
            e->parts = xreallocarray(e->parts, e->n + 1, sizeof(*e->parts));
            memset(&e->parts[e->n], 0, sizeof(e->parts[e->n]));
            e->parts[e->n].e = e;
            e->parts[e->n].bridge = b;
            e->parts[e->n].cmd = c;
            e->n++;
            break; /* one command per tool */
        }
    }
    if (e->n == 0) {
        char *body =
            xasprintf("No tool you may run takes %s %s.",
                      strchr("aeiou", indicator_type_name(type)[0]) != NULL ? "an" : "a", indicator_type_name(type));

        router_enrich_free(e);
        router_job_finish(job, STORE_COMMAND_DONE, body, NULL, NULL);
        free(body);
        return;
    }
    job->enrich = e;
    log_info("router: enrich %s (%s) with %zu source(s)", e->value, indicator_type_name(type), e->n);
    for (size_t i = 0; i < e->n; i++) {
        struct router_enrich_part *p = &e->parts[i];
        struct command_word w = {.value = e->value, .quoted = 1};
        struct command_words words = {.v = &w, .n = 1, .text = e->value};
        struct bridge_host_request req = {
            .bridge = p->bridge, .cmd = p->cmd, .sender = job->sender, .room_id = job->room_id};
        struct bridge_host_callbacks cb = {.done = router_enrich_on_done, .arg = p};
        char *error = NULL;

        if (command_bind(p->cmd, &words, 0, 0, &req.args, &error) != 0) {
            p->done = 1;
            p->failed = 1;
            p->facts = xasprintf("not asked: %s", error);
            e->ndone++;
            free(error);
            continue;
        }
        p->call = bridge_host_start(r->bridges, &req, &cb);
        command_args_clear(&req.args);
    }
    if (e->ndone == e->n) {
        router_enrich_answer(e);
        return;
    }
    router_job_started(job);
}
