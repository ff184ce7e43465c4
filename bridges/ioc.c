/*
 * The ioc bridge: indicators of compromise in text.
 *
 *   !ioc [extract] <text>   every indicator in the text (IPs, domains, URLs,
 *                           e-mail addresses, hashes, CVEs, AS numbers)
 *   !ioc                    as a reply: the message replied to, or, if it is
 *                           a text file (logs, an .eml), the file
 *   !ioc defang <text>      the text with every indicator made unclickable
 *   !ioc refang <text>      the text with defanged indicators made live again
 *
 * The extraction is appservice/indicator.c, the same the index uses.  A
 * file is downloaded as the ioc bot and scanned on the thread pool.
 */
#include "autoconfig.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appservice/xmalloc.h"
#include "bridges/bridge.h"

struct ioc_state {
    struct bridge_state super;
    uint64_t max_file; /* bridges.ioc.max_file_size */
};

static const struct config_key ioc_config[] = {
    {.name = "max_file_size",
     .type = CONFIG_SIZE,
     .default_value = "5MiB",
     .help = "largest text file !ioc reads",
     .min = 1024,
     .max = 256LL * 1024 * 1024,
     .offset = offsetof(struct ioc_state, max_file)},
    {.name = NULL},
};

static const struct bridge_arg ioc_text_args[] = {
    {.name = "text",
     .help = "the text, or a reply to a message or a text file",
     .types = IND_TEXT | IND_FILE,
     .flags = BRIDGE_ARG_POSITIONAL | BRIDGE_ARG_REST | BRIDGE_ARG_REQUIRED | BRIDGE_ARG_FROM_REPLY},
    {.name = NULL},
};

static const struct bridge_arg ioc_plain_args[] = {
    {.name = "text",
     .help = "the text, or a reply to a message",
     .types = IND_TEXT,
     .flags = BRIDGE_ARG_POSITIONAL | BRIDGE_ARG_REST | BRIDGE_ARG_REQUIRED | BRIDGE_ARG_FROM_REPLY},
    {.name = NULL},
};

/* Builds the answer for the indicators of text. */
static struct bridge_result *
ioc_result(const char *text, const char *source)
{
    struct indicator_list list = {0};
    struct bridge_result *r;
    size_t per_type[16] = {0};
    char *summary = xstrdup("");

    indicator_extract(text, &list);
    r = bridge_result_new("%zu indicator%s in %s", list.n, list.n == 1 ? "" : "s", source);
    bridge_result_columns(r, "Type", "Indicator", NULL);
    for (size_t i = 0; i < list.n; i++) {
        bridge_result_row(r, indicator_type_name(list.v[i].type), list.v[i].value, NULL);
        bridge_result_artifact(r, list.v[i].type, list.v[i].value);
        for (unsigned bit = 0; bit < 16; bit++) {
            if (list.v[i].type == (1u << bit))
                per_type[bit]++;
        }
    }
    for (unsigned bit = 0; bit < 16; bit++) {
        char *next;

        if (per_type[bit] == 0)
            continue;
        next = xasprintf("%s%s%zu %s", summary, summary[0] != '\0' ? ", " : "", per_type[bit],
                         indicator_type_name(1u << bit));
        free(summary);
        summary = next;
    }
    if (list.n > 0)
        bridge_result_summary(r, "%s", summary);
    else
        bridge_result_summary(r, "no indicators");
    free(summary);
    indicator_list_clear(&list);
    return r;
}

/* A downloaded file, scanned on the thread pool. */
struct ioc_file {
    char *text;
    char *name;
    struct bridge_result *result;
};

static void
ioc_file_work(void *arg)
{
    struct ioc_file *f = arg;

    f->result = ioc_result(f->text, f->name);
}

static void
ioc_file_after(struct bridge_call *call, void *arg)
{
    struct ioc_file *f = arg;

    if (call != NULL) {
        bridge_done(call, f->result);
        f->result = NULL;
    }
    bridge_result_free(f->result);
    free(f->text);
    free(f->name);
    free(f);
}

static void
ioc_on_file(struct bridge_call *call, const void *data, size_t len, const char *content_type, const char *error,
            void *arg)
{
    struct ioc_file *f;
    struct json_object *content = bridge_call_reply_content(call), *v;

    (void)arg;
    (void)content_type;
    if (data == NULL) {
        bridge_fail(call, error, "the file could not be downloaded from the homeserver (%s)", error);
        return;
    }
    if (memchr(data, '\0', len < 8192 ? len : 8192) != NULL) {
        bridge_fail(call, NULL, "the file is not text (it holds binary data); try !file on it");
        return;
    }
    f = xcalloc(1, sizeof(*f));
    f->text = xstrndup(data, len);
    f->name = xstrdup(json_object_object_get_ex(content, "body", &v) && json_object_is_type(v, json_type_string)
                          ? json_object_get_string(v)
                          : "the file");
    bridge_work(call, ioc_file_work, ioc_file_after, f);
}

static void
ioc_extract(struct bridge_call *call)
{
    struct ioc_state *st = (struct ioc_state *)bridge_call_state(call);
    const char *text = bridge_call_arg(call, "text");

    if (bridge_call_arg_type(call, "text") == IND_FILE) {
        bridge_progress(call, "reading the file");
        bridge_media(call, text, (size_t)st->max_file, ioc_on_file, NULL);
        return;
    }
    bridge_done(call,
                ioc_result(text, bridge_call_reply_content(call) != NULL && text != NULL ? "the message replied to"
                                                                                         : "the text"));
}

static void
ioc_defang(struct bridge_call *call)
{
    char *out = indicator_defang_text(bridge_call_arg(call, "text"));
    struct bridge_result *r = bridge_result_new("Defanged");

    bridge_result_columns(r, "Text", NULL);
    bridge_result_row(r, out, NULL);
    free(out);
    bridge_done(call, r);
}

static void
ioc_refang(struct bridge_call *call)
{
    char *out = indicator_refang(bridge_call_arg(call, "text"));
    struct bridge_result *r = bridge_result_new("Refanged (live links: handle with care)");

    bridge_result_code(r, out);
    free(out);
    bridge_done(call, r);
}

static const struct bridge_command ioc_commands[] = {
    {.name = "extract",
     .usage = "extract <text>",
     .help = "list the indicators in a text, a message replied to or a text file replied to",
     .args = ioc_text_args,
     .level = PERM_GUEST,
     .run = ioc_extract},
    {.name = "defang",
     .usage = "defang <text>",
     .help = "make every indicator in a text unclickable (hxxps://evil[.]com)",
     .args = ioc_plain_args,
     .level = PERM_GUEST,
     .run = ioc_defang},
    {.name = "refang",
     .usage = "refang <text>",
     .help = "make defanged indicators live again",
     .args = ioc_plain_args,
     .level = PERM_ANALYST,
     .run = ioc_refang},
    {.name = NULL},
};

const struct bridge bridge_ioc = {
    .name = "ioc",
    .displayname = "IOC extractor",
    .description = "find, defang and refang indicators of compromise",
    .level = PERM_GUEST,
    .enabled_by_default = 1,
    .commands = ioc_commands,
    .config = ioc_config,
    .state_size = sizeof(struct ioc_state),
};
