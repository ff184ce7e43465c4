/*
 * Rendering a bridge's result as a Matrix message: a plain body, an HTML
 * formatted_body with a table, and the machine-readable result under
 * org.warroom.result.  Everything a tool supplied is untrusted: it is
 * HTML-escaped, every indicator in it is defanged (hxxps://, evil[.]com),
 * control characters become spaces and text-reordering controls are shown
 * as [U+202E], so that a hostile WHOIS record or mail subject can neither
 * inject markup, nor become a clickable link, nor disguise a file name.
 *
 * A result larger than the configured size is cut in the message (with a
 * note) and its whole text is returned separately, to be sent as a file.
 */
#ifndef WARROOM_RENDER_H
#define WARROOM_RENDER_H

#include <json-c/json.h>
#include <stddef.h>

#include "bridges/bridge.h"

struct render_out {
    char *body;                 /* plain text */
    char *html;                 /* formatted_body */
    struct json_object *result; /* for org.warroom.result */
    char *attachment;           /* the whole result as text when it was cut, else NULL */
    size_t attachment_len;
    char *attachment_name; /* "dns-mx-example.com.txt" */
};

/*
 * Renders r (from tool's command).  max_size bounds the body and the HTML
 * (bytes); rows beyond it are left out and put in the attachment.
 * Returns allocated parts in out; free with render_out_clear().
 */
void render_result(const char *tool, const char *command, const struct bridge_result *r, size_t max_size,
                   struct render_out *out);

/* Renders an error the analyst reads ("⚠ VirusTotal refused the API key
 * (HTTP 401)"); text is escaped and defanged like tool output. */
void render_error(const char *tool, const char *command, const char *text, struct render_out *out);

void render_out_clear(struct render_out *out);

/* Escapes and defangs untrusted text for HTML. Returns allocated. */
char *render_html_text(const char *text);
/* Defangs untrusted text for a plain body. Returns allocated. */
char *render_plain_text(const char *text);

#endif
