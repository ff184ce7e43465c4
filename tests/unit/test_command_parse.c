/*
 * The command language, table-driven: how a line splits into words
 * (quotes, backticks, name=value, positional), and how words bind to a
 * command's arguments (positional order, arrays, defaults, allowed
 * values, indicator types after refanging, free text, replies), with the
 * message an analyst gets for each mistake.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appservice/command_parse.h"
#include "appservice/xmalloc.h"
#include "bridges/bridge.h"
#include "tests/tap.h"

/* Renders words as "[key=]value|..." for comparison. */
static char *
show_words(const struct command_words *w)
{
    char *out = xstrdup("");

    for (size_t i = 0; i < w->n; i++) {
        char *next = xasprintf("%s%s%s%s%s", out, i ? "|" : "", w->v[i].key != NULL ? w->v[i].key : "",
                               w->v[i].key != NULL ? "=" : "", w->v[i].value);

        free(out);
        out = next;
    }
    return out;
}

static void
test_split(void)
{
    static const struct {
        const char *text, *want, *error;
    } cases[] = {
        {"mx example.com", "mx|example.com", NULL},
        {"  mx   example.com  ", "mx|example.com", NULL},
        {"ip 8.8.8.8 days=30", "ip|8.8.8.8|days=30", NULL},
        {"search \"two words\"", "search|two words", NULL},
        {"search q=\"two words\"", "search|q=two words", NULL},
        {"say \"a \\\"quoted\\\" word\"", "say|a \"quoted\" word", NULL},
        {"say `raw \"text\" with = and \\`", "say|raw \"text\" with = and \\", NULL},
        {"url=`https://x.example/?a=b&c=d`", "url=https://x.example/?a=b&c=d", NULL},
        {"https://x.example/?a=b", "https://x.example/?a=b", NULL},
        {"Days=7", "days=7", NULL},
        {"a=b=c", "a=b=c", NULL},
        {"9x=1", "9x=1", NULL},
        {"ips=1.1.1.1,2.2.2.2", "ips=1.1.1.1,2.2.2.2", NULL},
        {"", "", NULL},
        {"say \"unclosed", NULL, "the quote opened at character 5 is never closed"},
        {"say `unclosed", NULL, "the backtick opened at character 5 is never closed"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct command_words w;
        char *error = NULL, *got;
        int rc = command_parse(cases[i].text, &w, &error);

        if (cases[i].error != NULL) {
            ok(rc != 0, "\"%s\" is refused", cases[i].text);
            is_str(error, cases[i].error, "with the reason");
        } else {
            ok(rc == 0, "\"%s\" splits", cases[i].text);
            got = show_words(&w);
            is_str(got, cases[i].want, "into %s", cases[i].want);
            free(got);
            command_words_clear(&w);
        }
        free(error);
    }
}

static const char *const dns_types[] = {"a", "aaaa", "mx", "txt", NULL};

static const struct bridge_arg lookup_args[] = {
    {.name = "name", .help = "the domain", .types = IND_DOMAIN, .flags = BRIDGE_ARG_POSITIONAL | BRIDGE_ARG_REQUIRED},
    {.name = "type", .help = "record type", .flags = BRIDGE_ARG_POSITIONAL, .default_value = "a", .allowed = dns_types},
    {.name = "server", .help = "a resolver"},
    {.name = NULL},
};

static const struct bridge_arg multi_args[] = {
    {.name = "ips",
     .help = "IP addresses",
     .types = IND_IP,
     .flags = BRIDGE_ARG_POSITIONAL | BRIDGE_ARG_ARRAY | BRIDGE_ARG_REQUIRED},
    {.name = "days", .help = "how far back", .default_value = "30"},
    {.name = "key", .help = "an API key", .flags = BRIDGE_ARG_SECRET},
    {.name = NULL},
};

static const struct bridge_arg text_args[] = {
    {.name = "text",
     .help = "the text",
     .types = IND_TEXT,
     .flags = BRIDGE_ARG_POSITIONAL | BRIDGE_ARG_REST | BRIDGE_ARG_REQUIRED | BRIDGE_ARG_FROM_REPLY},
    {.name = NULL},
};

static void
noop(struct bridge_call *call)
{
    (void)call;
}

static const struct bridge_command lookup_cmd = {.name = "lookup", .args = lookup_args, .run = noop};
static const struct bridge_command multi_cmd = {.name = "check", .args = multi_args, .run = noop};
static const struct bridge_command text_cmd = {.name = "extract", .args = text_args, .run = noop};

/* Binds text to cmd and renders the result as "name=v1,v2;..." or the error. */
static char *
bind_text(const struct bridge_command *cmd, const char *text, int has_reply)
{
    struct command_words w;
    struct command_args a;
    char *error = NULL, *out;

    if (command_parse(text, &w, &error) != 0)
        return error;
    if (command_bind(cmd, &w, 0, has_reply, &a, &error) != 0) {
        out = xasprintf("error: %s", error);
        free(error);
        command_words_clear(&w);
        return out;
    }
    out = xstrdup("");
    for (size_t i = 0; i < a.n; i++) {
        char *next = xasprintf("%s%s%s=", out, i ? ";" : "", a.v[i].name);

        free(out);
        out = next;
        for (size_t j = 0; j < a.v[i].n; j++) {
            next = xasprintf("%s%s%s", out, j ? "," : "", a.v[i].values[j]);
            free(out);
            out = next;
        }
    }
    free(error);
    command_args_clear(&a);
    command_words_clear(&w);
    return out;
}

static void
test_bind(void)
{
    static const struct {
        const struct bridge_command *cmd;
        const char *text;
        int reply;
        const char *want;
    } cases[] = {
        {&lookup_cmd, "example.com", 0, "name=example.com;type=a;server="},
        {&lookup_cmd, "example.com mx", 0, "name=example.com;type=mx;server="},
        {&lookup_cmd, "type=MX name=Example.COM", 0, "type=mx;name=example.com;server="},
        {&lookup_cmd, "evil[.]com", 0, "name=evil.com;type=a;server="},
        {&lookup_cmd, "evil(.)com txt server=127.0.0.1", 0, "name=evil.com;type=txt;server=127.0.0.1"},
        {&lookup_cmd, "", 0, "error: name is missing (the domain)"},
        {&lookup_cmd, "example.com ptr", 0, "error: type: \"ptr\" is not one of a, aaaa, mx, txt"},
        {&lookup_cmd, "8.8.8.8", 0, "error: name: \"8.8.8.8\" is not a domain"},
        {&lookup_cmd, "example.com mx extra", 0, "error: \"extra\" is one value too many"},
        {&lookup_cmd, "example.com colour=red", 0, "error: there is no argument \"colour\""},
        {&lookup_cmd, "name=a.example.com name=b.example.com", 0, "error: name is given twice"},
        {&multi_cmd, "1.1.1.1", 0, "ips=1.1.1.1;days=30;key="},
        {&multi_cmd, "1.1.1.1,2.2.2.2 3.3.3.3 days=7", 0, "ips=1.1.1.1,2.2.2.2,3.3.3.3;days=7;key="},
        {&multi_cmd, "1.2.3[.]4 2001:db8::1", 0, "ips=1.2.3.4,2001:db8::1;days=30;key="},
        {&multi_cmd, "ips=\"1.1.1.1,2.2.2.2\"", 0, "error: ips: \"1.1.1.1,2.2.2.2\" is not an IP address"},
        {&multi_cmd, "1.1.1.1 example.com", 0, "error: ips: \"example.com\" is not an IP address"},
        {&text_cmd, "seen 203.0.113.7 and evil[.]com, \"quoted\" too", 0,
         "text=seen 203.0.113.7 and evil[.]com, \"quoted\" too"},
        {&text_cmd, "", 1, "text="},
        {&text_cmd, "", 0, "error: text is missing (the text)"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = bind_text(cases[i].cmd, cases[i].text, cases[i].reply);

        is_str(got, cases[i].want, "%s \"%s\"%s", cases[i].cmd->name, cases[i].text,
               cases[i].reply ? " (a reply)" : "");
        free(got);
    }
}

int
main(void)
{
    test_split();
    test_bind();
    tap_done();
}
