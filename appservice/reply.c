/*
 * Building answers; see reply.h.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h2o.h"
#include "reply.h"
#include "xmalloc.h"

const char *
reply_thread_root(struct json_object *content)
{
    struct json_object *rel, *v;

    if (!json_object_object_get_ex(content, "m.relates_to", &rel) || !json_object_object_get_ex(rel, "rel_type", &v) ||
        !json_object_is_type(v, json_type_string) || strcmp(json_object_get_string(v), "m.thread") != 0 ||
        !json_object_object_get_ex(rel, "event_id", &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

struct json_object *
reply_notice(const struct reply_target *t, const char *body, const char *html, struct json_object *result)
{
    struct json_object *c = json_object_new_object(), *rel = json_object_new_object();
    struct json_object *in_reply_to = json_object_new_object();

    json_object_object_add(c, "msgtype", json_object_new_string("m.notice"));
    json_object_object_add(c, "body", json_object_new_string(body));
    if (html != NULL) {
        json_object_object_add(c, "format", json_object_new_string("org.matrix.custom.html"));
        json_object_object_add(c, "formatted_body", json_object_new_string(html));
    }
    json_object_object_add(in_reply_to, "event_id", json_object_new_string(t->event_id));
    json_object_object_add(rel, "rel_type", json_object_new_string("m.thread"));
    json_object_object_add(rel, "event_id",
                           json_object_new_string(t->thread_root != NULL ? t->thread_root : t->event_id));
    json_object_object_add(rel, "is_falling_back", json_object_new_boolean(1));
    json_object_object_add(rel, "m.in_reply_to", in_reply_to);
    json_object_object_add(c, "m.relates_to", rel);
    /* An answer mentions nobody: it must not ping the room. */
    json_object_object_add(c, "m.mentions", json_object_new_object());
    if (result != NULL)
        json_object_object_add(c, "org.warroom.result", result);
    return c;
}

char *
reply_html_escape(const char *text)
{
    h2o_mem_pool_t pool;
    h2o_iovec_t escaped;
    char *out;

    /* h2o's escaper (&, <, >, ", '), on a pool of its own. */
    h2o_mem_init_pool(&pool);
    escaped = h2o_htmlescape(&pool, text, strlen(text));
    out = xstrndup(escaped.base, escaped.len);
    h2o_mem_clear_pool(&pool);
    return out;
}
