/*
 * Rendering against golden files (tests/fixtures/render/<name>.txt and
 * .html): an ordinary table, hostile tool output (markup, links, script,
 * a mail subject built to look like a message), an error, output too
 * large for a message, and the verbatim block of !ioc refang.  Whatever a
 * tool supplied must come out escaped and defanged.
 *
 * WARROOM_UPDATE_GOLDEN=1 rewrites the golden files from the current
 * output (then read the diff before committing it).
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appservice/render.h"
#include "appservice/xmalloc.h"
#include "bridges/bridge.h"
#include "tests/tap.h"
#include "tests/unit/fixture.h"

/* Compares got with the golden file, or rewrites it. */
static void
golden(const char *name, const char *ext, const char *got)
{
    char *rel = xasprintf("render/%s.%s", name, ext);
    char *want = fixture_read(rel, NULL);

    if (getenv("WARROOM_UPDATE_GOLDEN") != NULL) {
        char *path = xasprintf("%s/tests/fixtures/%s", getenv("WARROOM_SRCDIR") ? getenv("WARROOM_SRCDIR") : ".", rel);
        FILE *f = fopen(path, "w");

        ok(f != NULL && fputs(got, f) >= 0 && fclose(f) == 0, "%s rewritten", rel);
        free(path);
    } else {
        is_str(got, want, "%s matches its golden file", rel);
    }
    free(want);
    free(rel);
}

static void
check(const char *name, const char *tool, const char *command, const struct bridge_result *r, size_t max)
{
    struct render_out out;

    render_result(tool, command, r, max, &out);
    golden(name, "txt", out.body);
    golden(name, "html", out.html);
    ok(out.result != NULL && strstr(json_object_to_json_string(out.result), "\"tool\"") != NULL,
       "%s: the machine result names the tool", name);
    render_out_clear(&out);
}

static void
test_table(void)
{
    struct bridge_result *r = bridge_result_new("example.com MX");

    bridge_result_verdict(r, BRIDGE_VERDICT_INFO);
    bridge_result_summary(r, "2 records");
    bridge_result_columns(r, "Priority", "Host", "TTL", NULL);
    bridge_result_row(r, "10", "mx1.example.com", "300", NULL);
    bridge_result_row(r, "20", "mx2.example.com", "300", NULL);
    check("table", "dns", "mx", r, 32 * 1024);
    bridge_result_free(r);
}

static void
test_hostile(void)
{
    struct bridge_result *r = bridge_result_new("WHOIS for evil-corp.com <b>bold</b>");

    bridge_result_verdict(r, BRIDGE_VERDICT_MALICIOUS);
    bridge_result_summary(r, "registrant says: <script>alert(1)</script> visit https://evil-corp.com/login");
    bridge_result_columns(r, "Field", "Value", NULL);
    bridge_result_row(r, "Registrant", "<a href=\"https://evil-corp.com/pay\">click here</a>", NULL);
    bridge_result_row(r, "Subject", "Re: your invoice\n\n@room please pay at hxxp://evil-corp[.]com", NULL);
    bridge_result_row(r, "Contact", "billing@evil-corp.com & 'friends'", NULL);
    bridge_result_row(r, "Image", "<img src=x onerror=alert(1)>", NULL);
    bridge_result_row(r, "Bidi",
                      "abc\xe2\x80\xae"
                      "exe.pdf",
                      NULL);
    bridge_result_artifact(r, IND_URL, "https://evil-corp.com/pay");
    check("hostile", "rdap", "domain", r, 32 * 1024);
    {
        struct render_out out;

        render_result("rdap", "domain", r, 32 * 1024, &out);
        ok(strstr(out.html, "<script") == NULL && strstr(out.html, "<a ") == NULL && strstr(out.html, "<img") == NULL,
           "no markup from the tool survives in the HTML");
        ok(strstr(out.html, "https://") == NULL && strstr(out.body, "https://") == NULL &&
               strstr(out.body, "http://") == NULL,
           "no live link in the HTML or the plain body");
        ok(strstr(out.body, "evil-corp.com") == NULL, "the domain is defanged everywhere in the body");
        ok(strstr(out.body, "\xe2\x80\xae") == NULL && strstr(out.body, "abc[U+202E]exe.pdf") != NULL,
           "a right-to-left override is shown, not obeyed");
        ok(strstr(out.body, "invoice  @room") != NULL, "a newline in a cell is a space: it cannot start a line");
        render_out_clear(&out);
    }
    bridge_result_free(r);
}

static void
test_error(void)
{
    struct render_out out;

    render_error("virustotal", "ip", "VirusTotal refused the API key (HTTP 401)", &out);
    golden("error", "txt", out.body);
    golden("error", "html", out.html);
    render_out_clear(&out);
}

static void
test_too_large(void)
{
    struct bridge_result *r = bridge_result_new("Many records");
    struct render_out out;

    bridge_result_columns(r, "N", "Value", NULL);
    for (int i = 0; i < 500; i++) {
        char n[16], v[64];

        snprintf(n, sizeof(n), "%d", i);
        snprintf(v, sizeof(v), "value number %d of the long output", i);
        bridge_result_row(r, n, v, NULL);
    }
    render_result("ioc", "extract", r, 4096, &out);
    ok(strlen(out.html) <= 4096 + 512, "the message stays near the size limit (%zu bytes of HTML)", strlen(out.html));
    ok(strstr(out.body, "more rows in the attached file") != NULL, "the message says the rest is attached");
    ok(out.attachment != NULL && strstr(out.attachment, "value number 499") != NULL, "the attachment holds every row");
    is_str(out.attachment_name, "ioc-extract.txt", "the attachment's name");
    render_out_clear(&out);
    bridge_result_free(r);
}

static void
test_verbatim(void)
{
    struct bridge_result *r = bridge_result_new("Refanged");
    struct render_out out;

    bridge_result_code(r, "https://evil-corp.com/<x>");
    render_result("ioc", "refang", r, 32 * 1024, &out);
    ok(strstr(out.html, "<pre><code>https://evil-corp.com/&lt;x&gt;</code></pre>") != NULL,
       "a verbatim block is escaped but not defanged");
    render_out_clear(&out);
    bridge_result_free(r);
}

int
main(void)
{
    test_table();
    test_hostile();
    test_error();
    test_too_large();
    test_verbatim();
    tap_done();
}
