/*
 * The content of a bot's answer: an m.notice in the thread of the command
 * (m.thread, with m.in_reply_to as the fallback for clients without
 * threads), plain body plus optional HTML, and the machine-readable
 * result under org.warroom.result.
 */
#ifndef WARROOM_REPLY_H
#define WARROOM_REPLY_H

#include <json-c/json.h>

struct reply_target {
    const char *event_id;    /* the command's event */
    const char *thread_root; /* the thread it belongs to; NULL: the command starts one */
};

/* Returns the thread root named by a message's m.relates_to (rel_type
 * m.thread), borrowed from content, or NULL. */
const char *reply_thread_root(struct json_object *content);

/*
 * Builds the content of a notice answering t.  html may be NULL (then no
 * formatted_body).  result is taken (may be NULL).  Returns allocated,
 * release with json_object_put().
 */
struct json_object *reply_notice(const struct reply_target *t, const char *body, const char *html,
                                 struct json_object *result);

/* Escapes text for HTML (&, <, >, ", ').  Returns allocated. */
char *reply_html_escape(const char *text);

#endif
