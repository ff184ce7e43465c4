/*
 * Help, generated from the tables (the built-ins and every bridge's
 * commands and arguments), showing each person only what they may run:
 *
 *   !help                  the built-ins and the tools, with their commands
 *   !help dns              each command of a tool, with its usage
 *   !help dns mx           one command: usage, arguments, what it accepts
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge_host.h"
#include "command_line.h"
#include "config.h"
#include "indicator.h"
#include "permissions.h"
#include "reply.h"
#include "router_internal.h"
#include "xmalloc.h"

/* Text and HTML written side by side. */
struct router_help_out {
    FILE *plain, *html;
    char *pbuf, *hbuf;
    size_t plen, hlen;
};

static void
router_help_open(struct router_help_out *o)
{
    memset(o, 0, sizeof(*o));
    if ((o->plain = open_memstream(&o->pbuf, &o->plen)) == NULL ||
        (o->html = open_memstream(&o->hbuf, &o->hlen)) == NULL)
        abort();
}

static void
router_help_close(struct router_help_out *o)
{
    if (fclose(o->plain) != 0 || fclose(o->html) != 0)
        abort();
    while (o->plen > 0 && o->pbuf[o->plen - 1] == '\n')
        o->pbuf[--o->plen] = '\0';
}

/* Writes one line of help: "usage: text", in both forms, escaped. */
static void
router_help_line(struct router_help_out *o, const char *prefix, const char *usage, const char *text)
{
    char *u = reply_html_escape(usage), *t = reply_html_escape(text), *p = reply_html_escape(prefix);

    fprintf(o->plain, "%s%s: %s\n", prefix, usage, text);
    fprintf(o->html, "<li><code>%s%s</code>: %s</li>", p, u, t);
    free(u);
    free(t);
    free(p);
}

static enum perm_level
router_help_need(const struct bridge *b, const struct bridge_command *c)
{
    return c->level > b->level ? c->level : b->level;
}

char *
router_help_usage(const struct router *r, const struct bridge *b, const struct bridge_command *cmd)
{
    return xasprintf("%s%s %s", r->cfg->bridge.command_prefix, b->name, cmd->usage != NULL ? cmd->usage : cmd->name);
}

/* Every built-in and tool the caller may use. */
static void
router_help_all(struct router_job *job, struct router_help_out *o)
{
    struct router *r = job->r;
    const char *prefix = r->cfg->bridge.command_prefix;
    int any_tool = 0;

    fputs("Commands you may run:\n", o->plain);
    fputs("<p>Commands you may run:</p><ul>", o->html);
    for (const struct router_builtin *b = router_builtins; b->name != NULL; b++) {
        if (job->perm.level >= b->level)
            router_help_line(o, prefix, b->usage, b->help);
    }
    fputs("</ul>", o->html);
    for (size_t i = 0; bridge_host_at(r->bridges, i) != NULL; i++) {
        const struct bridge *b = bridge_host_at(r->bridges, i);
        int header = 0;

        for (const struct bridge_command *c = b->commands; c->name != NULL; c++) {
            char *usage;

            if (job->perm.level < router_help_need(b, c))
                continue;
            if (!header) {
                char *d = reply_html_escape(b->description);

                if (!any_tool) {
                    fputs("Tools:\n", o->plain);
                    fputs("<p>Tools:</p>", o->html);
                    any_tool = 1;
                }
                fprintf(o->plain, "%s (%s):\n", b->displayname, b->description);
                fprintf(o->html, "<p><b>%s</b> (%s)</p><ul>", b->displayname, d);
                free(d);
                header = 1;
            }
            usage = xasprintf("%s %s", b->name, c->usage != NULL ? c->usage : c->name);
            router_help_line(o, prefix, usage, c->help);
            free(usage);
        }
        if (header)
            fputs("</ul>", o->html);
    }
    fprintf(o->plain, "Send %shelp <tool> or %shelp <tool> <command> for more.", prefix, prefix);
    fprintf(o->html, "<p>Send <code>%shelp &lt;tool&gt;</code> for more.</p>", prefix);
}

/* One command in full. */
static void
router_help_command(struct router_job *job, struct router_help_out *o, const struct bridge *b,
                    const struct bridge_command *c)
{
    char *usage = router_help_usage(job->r, b, c), *u = reply_html_escape(usage), *h = reply_html_escape(c->help);

    fprintf(o->plain, "%s\n%s\n", usage, c->help);
    fprintf(o->html, "<p><code>%s</code></p><p>%s</p>", u, h);
    if (c->args != NULL && c->args[0].name != NULL) {
        fputs("Arguments:\n", o->plain);
        fputs("<ul>", o->html);
        for (const struct bridge_arg *a = c->args; a->name != NULL; a++) {
            char *what = xasprintf(
                "%s%s%s%s", a->help != NULL ? a->help : "", (a->flags & BRIDGE_ARG_REQUIRED) ? " (required)" : "",
                a->default_value != NULL ? " (default: " : "", a->default_value != NULL ? a->default_value : "");
            char *full = a->default_value != NULL ? xasprintf("%s)", what) : xstrdup(what);

            router_help_line(o, "", a->name, full);
            free(what);
            free(full);
        }
        fputs("</ul>", o->html);
    }
    if (c->enrich != 0)
        fprintf(o->plain, "!enrich asks it about a %s.\n",
                indicator_type_name(c->enrich) != NULL ? indicator_type_name(c->enrich) : "matching indicator");
    if (c->dangerous) {
        fputs("Dangerous: it runs only after you confirm it with a reaction.\n", o->plain);
        fputs("<p>Dangerous: it runs only after you confirm it with a reaction.</p>", o->html);
    }
    free(usage);
    free(u);
    free(h);
}

void
router_help_run(struct router_job *job)
{
    struct router *r = job->r;
    struct router_help_out o;
    const char *rest;
    char *tool = command_line_first_word(job->args, &rest), *name = command_line_first_word(rest, NULL);
    const struct bridge *b = tool[0] != '\0' ? bridge_host_find(r->bridges, tool) : NULL;
    struct json_object *result = json_object_new_object();

    router_help_open(&o);
    if (tool[0] == '\0') {
        router_help_all(job, &o);
    } else if (b == NULL || job->perm.level < b->level) {
        fprintf(o.plain, "There is no tool \"%s\" you may use. Send %shelp for the list.", tool,
                r->cfg->bridge.command_prefix);
        {
            char *t = reply_html_escape(tool);

            fprintf(o.html, "<p>There is no tool \"%s\" you may use.</p>", t);
            free(t);
        }
    } else if (name[0] != '\0') {
        const struct bridge_command *c = bridge_host_command(b, name);

        if (c == NULL || job->perm.level < router_help_need(b, c)) {
            char *n = reply_html_escape(name);

            fprintf(o.plain, "%s has no command \"%s\" you may run.", b->displayname, name);
            fprintf(o.html, "<p>%s has no command \"%s\" you may run.</p>", b->displayname, n);
            free(n);
        } else {
            router_help_command(job, &o, b, c);
        }
    } else {
        char *d = reply_html_escape(b->description);

        fprintf(o.plain, "%s: %s\n", b->displayname, b->description);
        fprintf(o.html, "<p><b>%s</b>: %s</p><ul>", b->displayname, d);
        free(d);
        for (const struct bridge_command *c = b->commands; c->name != NULL; c++) {
            char *usage;

            if (job->perm.level < router_help_need(b, c))
                continue;
            usage = xasprintf("%s %s", b->name, c->usage != NULL ? c->usage : c->name);
            router_help_line(&o, r->cfg->bridge.command_prefix, usage, c->help);
            free(usage);
        }
        fputs("</ul>", o.html);
    }
    router_help_close(&o);
    json_object_object_add(result, "command", json_object_new_string("help"));
    json_object_object_add(result, "level", json_object_new_string(permissions_level_name(job->perm.level)));
    router_job_finish(job, STORE_COMMAND_DONE, o.pbuf, o.hbuf, result);
    free(o.pbuf);
    free(o.hbuf);
    free(tool);
    free(name);
}
