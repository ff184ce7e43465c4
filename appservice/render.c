/*
 * Rendering results; see render.h.  Text is built with open_memstream so
 * that the many small pieces of a table do not need bookkeeping.  Every
 * string a tool supplied goes through render_plain_text (defanged and
 * neutralised) and, for HTML, is escaped after that.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "indicator.h"
#include "render.h"
#include "reply.h"
#include "xmalloc.h"

/*
 * Makes untrusted text safe to show: control characters become spaces (a
 * newline would break a table, and could start a line with "@room"), and
 * the invisible controls that reorder text (U+200E/F, U+202A-E,
 * U+2066-9) become visible, so "abc<U+202E>exe.pdf" cannot pass for
 * "abcfdp.exe".  Returns allocated.
 */
static char *
render_neutralise(const char *text)
{
    size_t len = strlen(text);
    char *out = xmalloc(len * 4 + 1), *o = out;

    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            *o++ = ' ';
        } else if (p[0] == 0xe2 &&
                   ((p[1] == 0x80 && (p[2] == 0x8e || p[2] == 0x8f || (p[2] >= 0xaa && p[2] <= 0xae))) ||
                    (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9))) {
            unsigned cp = ((p[0] & 0x0fu) << 12) | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3fu);

            o += sprintf(o, "[U+%04X]", cp);
            p += 2;
        } else {
            *o++ = (char)*p;
        }
    }
    *o = '\0';
    return out;
}

char *
render_plain_text(const char *text)
{
    char *defanged = indicator_defang_text(text != NULL ? text : ""), *safe = render_neutralise(defanged);

    free(defanged);
    return safe;
}

char *
render_html_text(const char *text)
{
    char *defanged = render_plain_text(text), *escaped = reply_html_escape(defanged);

    free(defanged);
    return escaped;
}

static const char *
render_verdict_mark(enum bridge_verdict v)
{
    switch (v) {
    case BRIDGE_VERDICT_MALICIOUS:
        return "\xf0\x9f\x94\xb4 malicious"; /* red circle */
    case BRIDGE_VERDICT_SUSPICIOUS:
        return "\xf0\x9f\x9f\xa0 suspicious"; /* orange circle */
    case BRIDGE_VERDICT_SAFE:
        return "\xf0\x9f\x9f\xa2 safe"; /* green circle */
    case BRIDGE_VERDICT_INFO:
        return "\xe2\x84\xb9\xef\xb8\x8f info";
    default:
        return NULL;
    }
}

/* Writes the table rows [from, to) of r as plain text and HTML. */
static void
render_rows(const struct bridge_result *r, size_t from, size_t to, FILE *plain, FILE *html)
{
    for (size_t i = from; i < to; i++) {
        if (html != NULL)
            fputs("<tr>", html);
        for (size_t c = 0; c < r->ncolumns; c++) {
            const char *cell = r->rows[i][c] != NULL ? r->rows[i][c] : "";
            char *p = render_plain_text(cell);

            fprintf(plain, "%s%s", c ? " | " : "  ", p);
            free(p);
            if (html != NULL) {
                char *h = render_html_text(cell);

                fprintf(html, "<td>%s</td>", h);
                free(h);
            }
        }
        fputc('\n', plain);
        if (html != NULL)
            fputs("</tr>", html);
    }
}

/* The machine-readable result. */
static struct json_object *
render_json(const char *tool, const char *command, const struct bridge_result *r)
{
    struct json_object *o = json_object_new_object(), *cols = json_object_new_array(), *rows;
    struct json_object *arts = json_object_new_array();

    json_object_object_add(o, "tool", json_object_new_string(tool));
    json_object_object_add(o, "command", json_object_new_string(command));
    json_object_object_add(o, "verdict", json_object_new_string(bridge_verdict_name(r->verdict)));
    json_object_object_add(o, "title", json_object_new_string(r->title != NULL ? r->title : ""));
    if (r->summary != NULL)
        json_object_object_add(o, "summary", json_object_new_string(r->summary));
    for (size_t c = 0; c < r->ncolumns; c++)
        json_object_array_add(cols, json_object_new_string(r->columns[c]));
    json_object_object_add(o, "columns", cols);
    rows = json_object_new_array();
    for (size_t i = 0; i < r->nrows; i++) {
        struct json_object *row = json_object_new_array();

        for (size_t c = 0; c < r->ncolumns; c++)
            json_object_array_add(row, json_object_new_string(r->rows[i][c] != NULL ? r->rows[i][c] : ""));
        json_object_array_add(rows, row);
    }
    json_object_object_add(o, "rows", rows);
    for (size_t i = 0; i < r->artifacts.n; i++) {
        struct json_object *a = json_object_new_object();

        json_object_object_add(a, "type", json_object_new_string(indicator_type_name(r->artifacts.v[i].type)));
        json_object_object_add(a, "value", json_object_new_string(r->artifacts.v[i].value));
        json_object_array_add(arts, a);
    }
    json_object_object_add(o, "artifacts", arts);
    return o;
}

void
render_result(const char *tool, const char *command, const struct bridge_result *r, size_t max_size,
              struct render_out *out)
{
    char *pbuf = NULL, *hbuf = NULL, *title_p = render_plain_text(r->title), *title_h = render_html_text(r->title);
    size_t plen = 0, hlen = 0, shown = r->nrows;
    const char *mark = render_verdict_mark(r->verdict);
    FILE *plain, *html;

    memset(out, 0, sizeof(*out));
    /* The whole result as text, for the size check and the attachment. */
    plain = open_memstream(&pbuf, &plen);
    if (plain == NULL)
        abort();
    render_rows(r, 0, r->nrows, plain, NULL);
    if (fclose(plain) != 0)
        abort();
    if (plen * 3 > max_size) {
        /* HTML is about three times the text: keep what fits. */
        size_t budget = max_size / 3, used = 0;

        shown = 0;
        for (size_t i = 0; i < r->nrows; i++) {
            for (size_t c = 0; c < r->ncolumns; c++)
                used += strlen(r->rows[i][c] != NULL ? r->rows[i][c] : "") + 3;
            if (used > budget)
                break;
            shown++;
        }
        out->attachment = pbuf;
        out->attachment_len = plen;
        out->attachment_name = xasprintf("%s-%s.txt", tool, command);
        pbuf = NULL;
    }
    free(pbuf);
    pbuf = NULL;
    plen = 0;

    plain = open_memstream(&pbuf, &plen);
    html = open_memstream(&hbuf, &hlen);
    if (plain == NULL || html == NULL)
        abort();
    fprintf(plain, "%s%s%s\n", title_p, mark != NULL ? " \xe2\x80\x94 " : "", mark != NULL ? mark : "");
    fprintf(html, "<p><b>%s</b>%s%s</p>", title_h, mark != NULL ? " \xe2\x80\x94 " : "", mark != NULL ? mark : "");
    if (r->summary != NULL) {
        char *sp = render_plain_text(r->summary), *sh = render_html_text(r->summary);

        fprintf(plain, "%s\n", sp);
        fprintf(html, "<p>%s</p>", sh);
        free(sp);
        free(sh);
    }
    if (r->ncolumns > 0 && r->nrows > 0) {
        fputs("<table><thead><tr>", html);
        for (size_t c = 0; c < r->ncolumns; c++) {
            char *h = render_html_text(r->columns[c]);

            fprintf(plain, "%s%s", c ? " | " : "  ", r->columns[c]);
            fprintf(html, "<th>%s</th>", h);
            free(h);
        }
        fputs("\n", plain);
        fputs("</tr></thead><tbody>", html);
        render_rows(r, 0, shown, plain, html);
        fputs("</tbody></table>", html);
    } else if (r->nrows == 0 && r->ncolumns > 0) {
        fputs("  (no records)\n", plain);
        fputs("<p><i>no records</i></p>", html);
    }
    if (r->code != NULL) {
        /* Asked for as written (!ioc refang): escaped, never defanged. */
        char *h = reply_html_escape(r->code);

        fprintf(plain, "%s\n", r->code);
        fprintf(html, "<pre><code>%s</code></pre>", h);
        free(h);
    }
    if (shown < r->nrows) {
        fprintf(plain, "  ... %zu more rows in the attached file\n", r->nrows - shown);
        fprintf(html, "<p><i>%zu more rows in the attached file</i></p>", r->nrows - shown);
    }
    if (r->artifacts.n > 0) {
        fputs("Indicators found:", plain);
        fputs("<p>Indicators found:</p><ul>", html);
        for (size_t i = 0; i < r->artifacts.n; i++) {
            char *d = indicator_defang(r->artifacts.v[i].value, r->artifacts.v[i].type);
            char *h = reply_html_escape(d);

            fprintf(plain, " %s", d);
            fprintf(html, "<li><code>%s</code> (%s)</li>", h, indicator_type_name(r->artifacts.v[i].type));
            free(d);
            free(h);
        }
        fputs("\n", plain);
        fputs("</ul>", html);
    }
    if (fclose(plain) != 0 || fclose(html) != 0)
        abort();
    /* No trailing newline in a Matrix body. */
    while (plen > 0 && pbuf[plen - 1] == '\n')
        pbuf[--plen] = '\0';
    out->body = pbuf;
    out->html = hbuf;
    out->result = render_json(tool, command, r);
    free(title_p);
    free(title_h);
}

void
render_error(const char *tool, const char *command, const char *text, struct render_out *out)
{
    char *p = render_plain_text(text), *h = render_html_text(text);

    memset(out, 0, sizeof(*out));
    out->body = xasprintf("\xe2\x9a\xa0 %s", p);
    out->html = xasprintf("<p>\xe2\x9a\xa0 %s</p>", h);
    out->result = json_object_new_object();
    json_object_object_add(out->result, "tool", json_object_new_string(tool));
    json_object_object_add(out->result, "command", json_object_new_string(command));
    json_object_object_add(out->result, "error", json_object_new_string(text));
    free(p);
    free(h);
}

void
render_out_clear(struct render_out *out)
{
    free(out->body);
    free(out->html);
    json_object_put(out->result);
    free(out->attachment);
    free(out->attachment_name);
    memset(out, 0, sizeof(*out));
}
