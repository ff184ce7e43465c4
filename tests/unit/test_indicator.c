/*
 * The indicator extractor as an analyst meets it: every type found in
 * text, defanged or not, with offsets that point at what was written;
 * ordinary prose (versions, file names, times, code, Matrix IDs) left
 * alone; defang and refang that undo each other; !enrich's detection of
 * one typed value; hostile input (random bytes, 1 MB texts) handled in
 * linear time; and a golden phishing e-mail body.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "appservice/indicator.h"
#include "appservice/xmalloc.h"
#include "tests/tap.h"
#include "tests/unit/fixture.h"

/* One indicator a text must yield: its type, normalised value, and the
 * bytes of the text it was found in. */
struct want {
    unsigned type;
    const char *value;
    const char *written;
};

struct extract_case {
    const char *text;
    struct want want[8]; /* ends at type 0 */
};

static const struct extract_case extract_cases[] = {
    /* Every type, written plainly. */
    {"ping 203.0.113.7 now", {{IND_IPV4, "203.0.113.7", "203.0.113.7"}}},
    {"edge 0.0.0.0 and 255.255.255.255",
     {{IND_IPV4, "0.0.0.0", "0.0.0.0"}, {IND_IPV4, "255.255.255.255", "255.255.255.255"}}},
    {"IP 1.2.3.4 is an address even if it looks like a version", {{IND_IPV4, "1.2.3.4", "1.2.3.4"}}},
    {"ip 192.168.1.1/24 and 8.8.8.8:53, 1.1.1.1.",
     {{IND_IPV4, "192.168.1.1", "192.168.1.1"}, {IND_IPV4, "8.8.8.8", "8.8.8.8"}, {IND_IPV4, "1.1.1.1", "1.1.1.1"}}},
    {"v6 2001:db8::1 seen", {{IND_IPV6, "2001:db8::1", "2001:db8::1"}}},
    {"loopback ::1, mapped ::ffff:192.0.2.1.",
     {{IND_IPV6, "::1", "::1"}, {IND_IPV6, "::ffff:192.0.2.1", "::ffff:192.0.2.1"}}},
    {"full 2001:0DB8:0000:0000:0000:0000:0000:0001 form",
     {{IND_IPV6, "2001:db8::1", "2001:0DB8:0000:0000:0000:0000:0000:0001"}}},
    {"bracketed [2001:db8::2]:443 and zoned fe80::1%eth0",
     {{IND_IPV6, "2001:db8::2", "2001:db8::2"}, {IND_IPV6, "fe80::1", "fe80::1"}}},
    {"1:2:3:4:5:6:7:8", {{IND_IPV6, "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"}}},
    {"Block evil.com today.", {{IND_DOMAIN, "evil.com", "evil.com"}}},
    {"Host WWW.Example.CO.UK resolves", {{IND_DOMAIN, "www.example.co.uk", "WWW.Example.CO.UK"}}},
    {"idn xn--bcher-kva.xn--p1ai and ab-cd.example.org",
     {{IND_DOMAIN, "xn--bcher-kva.xn--p1ai", "xn--bcher-kva.xn--p1ai"},
      {IND_DOMAIN, "ab-cd.example.org", "ab-cd.example.org"}}},
    {"(evil.com) \"evil.net\" 'evil.org' <evil.info>",
     {{IND_DOMAIN, "evil.com", "evil.com"},
      {IND_DOMAIN, "evil.net", "evil.net"},
      {IND_DOMAIN, "evil.org", "evil.org"},
      {IND_DOMAIN, "evil.info", "evil.info"}}},
    {"wait...evil.com!", {{IND_DOMAIN, "evil.com", "evil.com"}}},
    {"\xe2\x80\x9c"
     "evil.com"
     "\xe2\x80\x9d and "
     "\xe8\xaf\xb7\xe8\xae\xbf\xe9\x97\xae"
     "evil.org"
     "\xe8\x8e\xb7",
     {{IND_DOMAIN, "evil.com", "evil.com"}, {IND_DOMAIN, "evil.org", "evil.org"}}},
    {"_dmarc.example.com TXT", {{IND_DOMAIN, "example.com", "example.com"}}},
    {"an evil.com-based kit, evil.org's owner",
     {{IND_DOMAIN, "evil.com", "evil.com"}, {IND_DOMAIN, "evil.org", "evil.org"}}},
    {"three labels: a.b.zip, x.y.sh and docs.python.py",
     {{IND_DOMAIN, "a.b.zip", "a.b.zip"},
      {IND_DOMAIN, "x.y.sh", "x.y.sh"},
      {IND_DOMAIN, "docs.python.py", "docs.python.py"}}},
    {"go to https://evil.com/login?x=1#top now",
     {{IND_URL, "https://evil.com/login?x=1#top", "https://evil.com/login?x=1#top"}}},
    {"HTTP://Evil.COM/Path stays", {{IND_URL, "http://evil.com/Path", "HTTP://Evil.COM/Path"}}},
    {"ftp://files.example.net/a.zip", {{IND_URL, "ftp://files.example.net/a.zip", "ftp://files.example.net/a.zip"}}},
    {"http://user:pass@evil.com:8080/x",
     {{IND_URL, "http://user:pass@evil.com:8080/x", "http://user:pass@evil.com:8080/x"}}},
    {"http://10.0.0.1:8080/a and http://[::1]/b",
     {{IND_URL, "http://10.0.0.1:8080/a", "http://10.0.0.1:8080/a"}, {IND_URL, "http://[::1]/b", "http://[::1]/b"}}},
    {"(see http://evil.com) and http://evil.org.",
     {{IND_URL, "http://evil.com", "http://evil.com"}, {IND_URL, "http://evil.org", "http://evil.org"}}},
    {"https://en.wikipedia.org/wiki/Foo_(bar), right?",
     {{IND_URL, "https://en.wikipedia.org/wiki/Foo_(bar)", "https://en.wikipedia.org/wiki/Foo_(bar)"}}},
    {"[link](https://evil.com/path) <https://x.org/a?b=c#d> **http://bold.example.com/**",
     {{IND_URL, "https://evil.com/path", "https://evil.com/path"},
      {IND_URL, "https://x.org/a?b=c#d", "https://x.org/a?b=c#d"},
      {IND_URL, "http://bold.example.com/", "http://bold.example.com/"}}},
    {"\"https://q.example.com/x\", 'https://s.example.com/y'; http://t.example.com/z.",
     {{IND_URL, "https://q.example.com/x", "https://q.example.com/x"},
      {IND_URL, "https://s.example.com/y", "https://s.example.com/y"},
      {IND_URL, "http://t.example.com/z", "http://t.example.com/z"}}},
    {"<a href=\"http://x.evil.com/a\">x</a> {\"url\":\"https://j.example.org/p?q=1\"}",
     {{IND_URL, "http://x.evil.com/a", "http://x.evil.com/a"},
      {IND_URL, "https://j.example.org/p?q=1", "https://j.example.org/p?q=1"}}},
    {"| https://t.example.com/a | b |", {{IND_URL, "https://t.example.com/a", "https://t.example.com/a"}}},
    {"Mail Bob.Smith+tag@Example.COM please", {{IND_EMAIL, "Bob.Smith+tag@example.com", "Bob.Smith+tag@Example.COM"}}},
    {"first.name@corp.co.uk, mailto:abuse@example.net?subject=x",
     {{IND_EMAIL, "first.name@corp.co.uk", "first.name@corp.co.uk"},
      {IND_EMAIL, "abuse@example.net", "abuse@example.net"}}},
    {"attachment is user@files.zip", {{IND_EMAIL, "user@files.zip", "user@files.zip"}}},
    {"md5 D41D8CD98F00B204E9800998ECF8427E.",
     {{IND_MD5, "d41d8cd98f00b204e9800998ecf8427e", "D41D8CD98F00B204E9800998ECF8427E"}}},
    {"sha1=da39a3ee5e6b4b0d3255bfef95601890afd80709;",
     {{IND_SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", "da39a3ee5e6b4b0d3255bfef95601890afd80709"}}},
    {"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     {{IND_SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}}},
    {"file d41d8cd98f00b204e9800998ecf8427e.exe",
     {{IND_MD5, "d41d8cd98f00b204e9800998ecf8427e", "d41d8cd98f00b204e9800998ecf8427e"}}},
    {"Patch cve-2021-44228 and CVE-2014-0160. CVE-2024-1234567",
     {{IND_CVE, "CVE-2021-44228", "cve-2021-44228"},
      {IND_CVE, "CVE-2014-0160", "CVE-2014-0160"},
      {IND_CVE, "CVE-2024-1234567", "CVE-2024-1234567"}}},
    {"AS13335, as15169 and ASN 64500, ASN: 64496, asn13",
     {{IND_ASN, "AS13335", "AS13335"},
      {IND_ASN, "AS15169", "as15169"},
      {IND_ASN, "AS64500", "ASN 64500"},
      {IND_ASN, "AS64496", "ASN: 64496"},
      {IND_ASN, "AS13", "asn13"}}},
    /* Every defanged form, offsets on what was written. */
    {"hxxp://evil[.]com/x", {{IND_URL, "http://evil.com/x", "hxxp://evil[.]com/x"}}},
    {"hXXps://www.evil[.]com/path", {{IND_URL, "https://www.evil.com/path", "hXXps://www.evil[.]com/path"}}},
    {"hxxps[:]//evil[.]com/a hxxp[://]x.org fxp://f.example.net/a",
     {{IND_URL, "https://evil.com/a", "hxxps[:]//evil[.]com/a"},
      {IND_URL, "http://x.org", "hxxp[://]x.org"},
      {IND_URL, "ftp://f.example.net/a", "fxp://f.example.net/a"}}},
    {"http[:]//evil(.)com/", {{IND_URL, "http://evil.com/", "http[:]//evil(.)com/"}}},
    {"evil[.]com", {{IND_DOMAIN, "evil.com", "evil[.]com"}}},
    {"a evil(.)net b evil{.}org c evil[dot]info d evil(DOT)biz",
     {{IND_DOMAIN, "evil.net", "evil(.)net"},
      {IND_DOMAIN, "evil.org", "evil{.}org"},
      {IND_DOMAIN, "evil.info", "evil[dot]info"},
      {IND_DOMAIN, "evil.biz", "evil(DOT)biz"}}},
    {"defanged evil[.]zip and payload[.]sh count",
     {{IND_DOMAIN, "evil.zip", "evil[.]zip"}, {IND_DOMAIN, "payload.sh", "payload[.]sh"}}},
    {"1[.]2[.]3[.]4 and 1.2.3[.]5", {{IND_IPV4, "1.2.3.4", "1[.]2[.]3[.]4"}, {IND_IPV4, "1.2.3.5", "1.2.3[.]5"}}},
    {"2001:db8[:]:7", {{IND_IPV6, "2001:db8::7", "2001:db8[:]:7"}}},
    {"user[@]example.com user[at]example.org a(at)b[.]net",
     {{IND_EMAIL, "user@example.com", "user[@]example.com"},
      {IND_EMAIL, "user@example.org", "user[at]example.org"},
      {IND_EMAIL, "a@b.net", "a(at)b[.]net"}}},
    /* Each once, in order of first appearance; a URL covers its host, an
     * address its domain, but a separate mention of the host counts. */
    {"evil.com, 1.2.3.4, EVIL.com, 1.2.3[.]4, evil[.]com",
     {{IND_DOMAIN, "evil.com", "evil.com"}, {IND_IPV4, "1.2.3.4", "1.2.3.4"}}},
    {"https://evil.com/a then bob@evil.org then evil.com",
     {{IND_URL, "https://evil.com/a", "https://evil.com/a"},
      {IND_EMAIL, "bob@evil.org", "bob@evil.org"},
      {IND_DOMAIN, "evil.com", "evil.com"}}},
    {"same value, two types: AS13335 and https://evil.com/ and https://evil.com/",
     {{IND_ASN, "AS13335", "AS13335"}, {IND_URL, "https://evil.com/", "https://evil.com/"}}},
    /* A Matrix ID is not an e-mail address, and its server is not
     * reported (it would be the homeserver in every mention). */
    {"ask @alice:example.org about evil.com", {{IND_DOMAIN, "evil.com", "evil.com"}}},
    {"from @evil.com: spam", {{IND_DOMAIN, "evil.com", "evil.com"}}},
};

/* Ordinary prose, code and logs: none of these may yield anything. */
static const char *const prose_cases[] = {
    "Version 1.2.3 is out",
    "upgrade to v2.10.4 or v1.2.3.4",
    "Python 3.11.7 and Node 20.11.0",
    "Windows build 10.0.19045",
    "Windows 10.0.19045.3803 patched",
    "OID 1.3.6.1.4.1.311",
    "010.1.1.1 is octal-ambiguous",
    "256.1.1.1 and 1.2.3.999 are not addresses",
    "1.2.3.4.5 is a version",
    "See report.pdf and setup.exe",
    "notes.txt, main.c and archive.tar.gz",
    "install.sh, README.md, main.rs, script.py, lib.so",
    "invoice.zip clip.mov run.pl Module.pm configure.ac Makefile.am",
    "Safari.app and id_rsa.pub and Invoice_0318.pdf.zip",
    "meeting at 10:30, or 10:30:45, or 12:00:00.000",
    "on 2024-01-15 and 15.01.2024 and 01/15/2024",
    "It costs $1.50 or 1,249.99 EUR",
    "Pi is 3.14159 and e is 2.71828.",
    "Ellipsis... and so on.. ok.",
    "e.g. this, i.e. that, etc. and so on",
    "U.S.A. and A.I. and Ph.D. and No.5 and Fig.3",
    "The end.Then a sentence without a space.",
    "He went home.It was late.",
    "System.Net and Microsoft.Exchange and System.Web",
    "user.id = self.data.map(x) and file.name",
    "os.path.join(a, b) and console.log(x) and foo.app()",
    "package com.google.android and org.example.app and net.sf.host",
    "return self.host or this.email",
    "Run `python3 -m http.server 8080` now",
    "Ping @alice:example.org please",
    "Join #ops:example.org or !abcdef:example.org",
    "cc @bob:matrix.corp.example.net and @bot:10.0.0.1:8448",
    "2024-01-15T10:30:00.123Z INFO [worker-3] done in 12.5ms pid=4312",
    "Jan 15 10:30:01 host sshd[4312]: session opened for user root",
    "std::vector<int> a::b Foo::Bar and Ruby's A::B",
    "MAC aa:bb:cc:dd:ee:ff and times 1:2:3",
    "Step 1:: do this",
    "UUID 550e8400-e29b-41d4-a716-446655440000",
    "0x1234567890abcdef1234567890abcdef is a constant",
    "12345678901234567890123456789012 is a number",
    "a hash-like e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855x word",
    "CVE-2021-123 is too short and XCVE-2021-44228 is glued",
    "as 2 people said, AS 13335, AS-SET, Asia, AS0",
    "## Heading\n* bullet 1.2\n> quote 3.4\n`code.x`",
    "```\nint main(void) { return a.b; }\n```",
    "localhost and http://localhost/ and http://intranet/x",
    "bücher.de and ß.com are Unicode names",
    "http://\xe4\xbe\x8b\xe5\xad\x90.example.com/ok",
    "the word http:// alone, and https:// too",
    "hxxp is not a scheme without a separator",
    "ratio 16:9 and score 3:2",
    "",
};

/* Checks that text yields exactly want (type, value, and the bytes
 * text[start..end)), naming the case in every message. */
static void
check_extract(const char *text, const struct want *want)
{
    struct indicator_list l;
    size_t n = 0;

    while (want[n].type != 0)
        n++;
    indicator_extract(text, &l);
    is_int(l.n, n, "count in \"%s\"", text);
    for (size_t i = 0; i < l.n && i < n; i++) {
        char *slice = xstrndup(text + l.v[i].start, l.v[i].end - l.v[i].start);

        ok(l.v[i].type == want[i].type && strcmp(l.v[i].value, want[i].value) == 0, "%s %s in \"%s\"",
           indicator_type_name(want[i].type), want[i].value, text);
        if (l.v[i].type != want[i].type || strcmp(l.v[i].value, want[i].value) != 0)
            printf("#   got %s %s\n", indicator_type_name(l.v[i].type), l.v[i].value);
        is_str(slice, want[i].written, "offsets of %s", want[i].value);
        free(slice);
    }
    for (size_t i = n; i < l.n; i++)
        printf("#   extra %s %s\n", indicator_type_name(l.v[i].type), l.v[i].value);
    indicator_list_clear(&l);
}

/*
 * What must hold for every indicator of any text: the offsets are inside
 * it, and what they point at, given to indicator_detect(), is the same
 * type and value (so offsets map back to the original bytes, defanged or
 * not).  Returns the number of violations; prints the first few.
 */
static int
check_invariants(const char *text, const struct indicator_list *l)
{
    size_t len = strlen(text);
    int bad = 0;

    for (size_t i = 0; i < l->n; i++) {
        const struct indicator *ind = &l->v[i];
        char *slice, *norm = NULL;
        unsigned type;

        if (ind->start >= ind->end || ind->end > len || ind->value[0] == '\0') {
            if (bad++ < 3)
                printf("#   bad span [%zu, %zu) of %zu\n", ind->start, ind->end, len);
            continue;
        }
        slice = xstrndup(text + ind->start, ind->end - ind->start);
        type = indicator_detect(slice, &norm);
        if (type != ind->type || norm == NULL || strcmp(norm, ind->value) != 0) {
            if (bad++ < 3)
                printf("#   \"%s\" detected as %s %s, extracted as %s %s\n", slice, indicator_type_name(type),
                       norm != NULL ? norm : "(null)", indicator_type_name(ind->type), ind->value);
        }
        free(norm);
        free(slice);
    }
    return bad;
}

/* One value an analyst types after !enrich. */
struct detect_case {
    const char *value;
    unsigned type;
    const char *norm;
};

static const struct detect_case detect_cases[] = {
    {"203.0.113.7", IND_IPV4, "203.0.113.7"},
    {"  203.0.113[.]7 ", IND_IPV4, "203.0.113.7"},
    {"010.1.1.1", 0, NULL},
    {"2001:DB8:0:0::1", IND_IPV6, "2001:db8::1"},
    {"[2001:db8::1]", IND_IPV6, "2001:db8::1"},
    {"evil.com", IND_DOMAIN, "evil.com"},
    {"Evil[.]COM", IND_DOMAIN, "evil.com"},
    {"readme.md", IND_DOMAIN, "readme.md"},
    {"invoice.zip", IND_DOMAIN, "invoice.zip"},
    {"report.pdf", 0, NULL},
    {"hxxps://evil[.]com", IND_URL, "https://evil.com"},
    {"HTTP://Evil.com/A?b=C", IND_URL, "http://evil.com/A?b=C"},
    {"https://evil.com/a b", 0, NULL},
    {"bob[@]Example.com", IND_EMAIL, "bob@example.com"},
    {"@alice:example.org", 0, NULL},
    {"D41D8CD98F00B204E9800998ECF8427E", IND_MD5, "d41d8cd98f00b204e9800998ecf8427e"},
    {"da39a3ee5e6b4b0d3255bfef95601890afd80709", IND_SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
    {"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", IND_SHA256,
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"cve-2021-44228", IND_CVE, "CVE-2021-44228"},
    {"ASN 13335", IND_ASN, "AS13335"},
    {"as13335", IND_ASN, "AS13335"},
    {"1.2.3", 0, NULL},
    {"hello", 0, NULL},
    {"", 0, NULL},
    {"evil.com extra", 0, NULL},
};

/* A value, its type, and how it is written defanged. */
struct defang_case {
    const char *value;
    unsigned type;
    const char *defanged;
};

static const struct defang_case defang_cases[] = {
    {"http://evil.com/x", IND_URL, "hxxp://evil[.]com/x"},
    {"https://www.evil.com/path", IND_URL, "hxxps://www.evil[.]com/path"},
    {"ftp://files.evil.com/a.zip", IND_URL, "fxp://files.evil[.]com/a.zip"},
    {"https://user@evil.com:8443/", IND_URL, "hxxps://user[@]evil[.]com:8443/"},
    {"http://1.2.3.4/a", IND_URL, "hxxp://1.2.3[.]4/a"},
    {"http://[2001:db8::1]/", IND_URL, "hxxp://[2001:db8:[:]1]/"},
    {"https://evil.com/r?u=http://next.example.org/", IND_URL, "hxxps://evil[.]com/r?u=hxxp://next.example.org/"},
    {"evil.com", IND_DOMAIN, "evil[.]com"},
    {"www.evil.co.uk", IND_DOMAIN, "www.evil.co[.]uk"},
    {"1.2.3.4", IND_IPV4, "1.2.3[.]4"},
    {"2001:db8::1", IND_IPV6, "2001:db8:[:]1"},
    {"bob@example.com", IND_EMAIL, "bob[@]example[.]com"},
    {"d41d8cd98f00b204e9800998ecf8427e", IND_MD5, "d41d8cd98f00b204e9800998ecf8427e"},
    {"CVE-2021-44228", IND_CVE, "CVE-2021-44228"},
    {"AS13335", IND_ASN, "AS13335"},
    /* Not a single type: detected. */
    {"evil.com", IND_ANY_INDICATOR, "evil[.]com"},
    {"hxxp://evil[.]com/", 0, "hxxp://evil[.]com/"},
};

/* Texts and their defanged form. */
struct text_case {
    const char *text;
    const char *want;
};

static const struct text_case defang_text_cases[] = {
    {"Block evil.com and 1.2.3.4 now.", "Block evil[.]com and 1.2.3[.]4 now."},
    {"See https://Evil.com/x, mail bob@evil.org; hash d41d8cd98f00b204e9800998ecf8427e.",
     "See hxxps://Evil[.]com/x, mail bob[@]evil[.]org; hash d41d8cd98f00b204e9800998ecf8427e."},
    {"twice: evil.com evil.com", "twice: evil[.]com evil[.]com"},
    {"already hxxp://evil[.]com/ stays", "already hxxp://evil[.]com/ stays"},
    {"ask @alice:example.org about report.pdf v1.2.3", "ask @alice:example.org about report.pdf v1.2.3"},
    {"\xff\xfe bytes \xc3 then evil.com", "\xff\xfe bytes \xc3 then evil[.]com"},
    {"", ""},
};

static const struct text_case refang_cases[] = {
    {"hxxp://evil[.]com/x", "http://evil.com/x"},
    {"HXXPS[:]//a(.)b{.}c[dot]d(DOT)e", "HTTPS://a.b.c.d.e"},
    {"fxp[://]f.example.net", "ftp://f.example.net"},
    {"u[@]a u[at]b u(at)c u{@}d 1[.]2[.]3[.]4", "u@a u@b u@c u@d 1.2.3.4"},
    {"hxxp alone and [not] (defanged) {text}", "hxxp alone and [not] (defanged) {text}"},
    {"", ""},
};

/* A tiny deterministic generator for the random inputs. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* Seconds since an arbitrary point. */
static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Returns allocated a text of about size bytes made of piece repeated. */
static char *
repeat(const char *piece, size_t size)
{
    size_t plen = strlen(piece), n = size / plen;
    char *s = xmalloc(n * plen + 1);

    for (size_t i = 0; i < n; i++)
        memcpy(s + i * plen, piece, plen);
    s[n * plen] = '\0';
    return s;
}

/* Extracts from text, checks the invariants and that it took less than
 * limit seconds, and returns the number of indicators. */
static size_t
timed_extract(const char *name, const char *text, double limit)
{
    struct indicator_list l;
    double t0 = now(), t;
    size_t n;

    indicator_extract(text, &l);
    t = now() - t0;
    n = l.n;
    printf("# %s: %zu bytes, %zu indicators, %.3f s\n", name, strlen(text), n, t);
    ok(t < limit, "%s in under %.1f s", name, limit);
    is_int(check_invariants(text, &l), 0, "%s: offsets and values agree", name);
    indicator_list_clear(&l);
    return n;
}

/* Random bytes and random mixes of indicator fragments: no crash, no
 * out-of-bounds read (ASan), and the invariants. */
static void
test_hostile(void)
{
    static const char *const atoms[] = {
        "http", "hxxp",         "://",  "[.]",  "(.)", "[:]",  "[@]", "[at]", "@", ":",    "::",
        ".",    "..",           "/",    "(",    ")",   "[",    "]",   " ",    "-", "_",    "evil",
        "com",  "zip",          "1",    "255",  "0",   "ffff", "a",   "9f",   "é", "\xff", "\xc3",
        "as",   "ASN",          "cve-", "2021", "-",   "\n",   "\"",  "'",    ",", "?",    "#",
        "%",    "\xe5\xad\x90",
    };
    size_t natoms = sizeof(atoms) / sizeof(atoms[0]);
    int bad = 0, defang_bad = 0;

    for (int round = 0; round < 400; round++) {
        char buf[2048];
        size_t n = 0;
        struct indicator_list l, l2;
        char *d;

        if (round % 2 == 0) {
            size_t len = rng() % (sizeof(buf) - 1);

            for (; n < len; n++) {
                buf[n] = (char)(rng() & 0xff);
                if (buf[n] == '\0')
                    buf[n] = 'x';
            }
        } else {
            while (n < sizeof(buf) - 16) {
                const char *a = atoms[rng() % natoms];

                memcpy(buf + n, a, strlen(a));
                n += strlen(a);
            }
        }
        buf[n] = '\0';
        indicator_extract(buf, &l);
        bad += check_invariants(buf, &l);
        /* Defanging a text keeps its indicators. */
        d = indicator_defang_text(buf);
        indicator_extract(d, &l2);
        if (l2.n != l.n) {
            if (defang_bad++ < 3)
                printf("#   defanging changed %zu indicators into %zu\n", l.n, l2.n);
        } else {
            for (size_t i = 0; i < l.n; i++)
                if (l.v[i].type != l2.v[i].type || strcmp(l.v[i].value, l2.v[i].value) != 0) {
                    if (defang_bad++ < 3)
                        printf("#   defanging changed %s into %s\n", l.v[i].value, l2.v[i].value);
                    break;
                }
        }
        free(d);
        indicator_list_clear(&l);
        indicator_list_clear(&l2);
    }
    is_int(bad, 0, "random input: offsets in bounds, values re-detected");
    is_int(defang_bad, 0, "random input: defanged text yields the same indicators");
}

/* 1 MB texts: a realistic mix, and shapes that would be quadratic in a
 * naive scanner. */
static void
test_large(void)
{
    static const char *const hostile[] = {
        "a",   ".", "a.", "1.", "@",         "a@", "a@b.", "http://",   "http://a", "://",      ":",    "a:",
        "[.]", "[", "f",  "0",  "hxxp[:]//", "-",  "_@.",  "cve-2021-", "as1",      "\xc3\xa9", "\xff",
    };
    /* A macro, so that the format is a literal the compiler checks. */
#define TEST_INDICATOR_PARA                                                                                            \
    "On 2024-03-18 at 09:42 the user opened invoice.zip (v2.3.1) from hxxps://evil[.]com/a?id=%d "                     \
    "and 203.0.113.%d answered; hash 5d41402abc4b2a76b9719d911017c592, see CVE-2023-%d and "                           \
    "mail bob%d@corp.example.net, or ping @alice:example.org. Python 3.11.7 said e.g. 1.2.3 "                          \
    "and fe80::%x and AS%d.\n"
    size_t cap = (1 << 20) + 1024, n = 0, found;
    char *text = xmalloc(cap);

    for (int i = 0; n + 600 < (1 << 20); i++)
        n += (size_t)snprintf(text + n, cap - n, TEST_INDICATOR_PARA, i, i % 256, 10000 + i, i, i % 65536 + 1,
                              64496 + i % 1000);
    found = timed_extract("1 MB realistic text", text, 1.0);
    ok(found > 10000, "1 MB realistic text: indicators found (%zu)", found);
    {
        double t0 = now(), t;
        char *d = indicator_defang_text(text);

        t = now() - t0;
        printf("# defang_text of the 1 MB realistic text: %.3f s\n", t);
        ok(t < 1.0, "defang_text of 1 MB in under 1.0 s");
        is_int(timed_extract("1 MB realistic text, defanged", d, 1.0), found, "defanged, the same indicators");
        free(d);
    }
    free(text);
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        char name[64];

        text = repeat(hostile[i], 1 << 20);
        snprintf(name, sizeof(name), "1 MB of \"%s\"", hostile[i]);
        timed_extract(name, text, 1.0);
        free(text);
    }
    /* A 1 MB line of random URL characters after a scheme. */
    text = xmalloc((1 << 20) + 1);
    memcpy(text, "https://evil.com/", 17);
    for (size_t i = 17; i < 1 << 20; i++)
        text[i] = "ab/().:@-_?=&"[rng() % 13];
    text[1 << 20] = '\0';
    timed_extract("1 MB URL", text, 1.0);
    free(text);
    text = repeat("x", 1 << 20);
    {
        double t0 = now();
        char *d = indicator_defang_text(text);

        ok(now() - t0 < 1.0 && strcmp(d, text) == 0, "defang_text of 1 MB is fast and unchanged");
        free(d);
    }
    free(text);
}

/* The golden phishing e-mail body: the indicators, in order, match the
 * expected list. */
static void
test_golden(void)
{
    char *text = fixture_read("indicator/phishing-body.txt", NULL);
    char *expected = fixture_read("indicator/phishing-body.expected", NULL);
    struct indicator_list l = {0};
    size_t i = 0;
    char *save = NULL;

    ok(text != NULL && expected != NULL, "golden files read");
    if (text == NULL || expected == NULL)
        goto out;
    indicator_extract(text, &l);
    is_int(check_invariants(text, &l), 0, "golden: offsets and values agree");
    for (char *line = strtok_r(expected, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(line, '\t');

        if (line[0] == '#' || tab == NULL)
            continue;
        *tab = '\0';
        if (i < l.n) {
            ok(indicator_type_parse(line) == l.v[i].type && strcmp(tab + 1, l.v[i].value) == 0, "golden %zu: %s %s",
               i + 1, line, tab + 1);
            if (indicator_type_parse(line) != l.v[i].type || strcmp(tab + 1, l.v[i].value) != 0)
                printf("#   got %s %s\n", indicator_type_name(l.v[i].type), l.v[i].value);
        } else {
            ok(0, "golden %zu: %s %s missing", i + 1, line, tab + 1);
        }
        i++;
    }
    is_int(l.n, i, "golden: no extra indicators");
    for (size_t k = i; k < l.n; k++)
        printf("#   extra %s %s\n", indicator_type_name(l.v[k].type), l.v[k].value);
out:
    indicator_list_clear(&l);
    free(text);
    free(expected);
}

/* Type names and their parsing. */
static void
test_names(void)
{
    is_str(indicator_type_name(IND_IPV4), "ipv4", "name of ipv4");
    is_str(indicator_type_name(IND_SHA256), "sha256", "name of sha256");
    is_str(indicator_type_name(IND_TEXT), "text", "name of text");
    ok(indicator_type_name(IND_IP) == NULL && indicator_type_name(0) == NULL, "no name for a combination or 0");
    is_int(indicator_type_parse("ip"), IND_IP, "ip is both families");
    is_int(indicator_type_parse("HASH"), IND_HASH, "hash is the three hashes, any case");
    is_int(indicator_type_parse("sha-256"), IND_SHA256, "sha-256");
    is_int(indicator_type_parse("e-mail"), IND_EMAIL, "e-mail");
    is_int(indicator_type_parse("any"), IND_ANY_INDICATOR, "any");
    is_int(indicator_type_parse("bogus"), 0, "unknown name");
    is_int(indicator_type_parse(NULL), 0, "NULL name");
    for (unsigned t = IND_IPV4; t <= IND_TEXT; t <<= 1)
        is_int(indicator_type_parse(indicator_type_name(t)), t, "%s round-trips", indicator_type_name(t));
}

int
main(void)
{
    size_t nprose = sizeof(prose_cases) / sizeof(prose_cases[0]);
    struct indicator_list l;

    test_names();
    for (size_t i = 0; i < sizeof(extract_cases) / sizeof(extract_cases[0]); i++)
        check_extract(extract_cases[i].text, extract_cases[i].want);

    ok(nprose >= 40, "at least 40 prose cases (%zu)", nprose);
    for (size_t i = 0; i < nprose; i++) {
        indicator_extract(prose_cases[i], &l);
        is_int(l.n, 0, "no indicator in \"%s\"", prose_cases[i]);
        for (size_t k = 0; k < l.n; k++)
            printf("#   got %s %s\n", indicator_type_name(l.v[k].type), l.v[k].value);
        indicator_list_clear(&l);
    }
    indicator_extract(NULL, &l);
    ok(l.n == 0 && l.v == NULL, "NULL text yields nothing");
    indicator_list_clear(NULL);

    for (size_t i = 0; i < sizeof(detect_cases) / sizeof(detect_cases[0]); i++) {
        const struct detect_case *c = &detect_cases[i];
        char *norm = (char *)"untouched";
        unsigned type = indicator_detect(c->value, &norm);

        is_int(type, c->type, "detect \"%s\"", c->value);
        is_str(norm, c->norm, "normalised \"%s\"", c->value);
        free(norm);
    }
    is_int(indicator_detect("1.2.3.4", NULL), IND_IPV4, "detect without norm");
    is_int(indicator_detect(NULL, NULL), 0, "detect NULL");

    for (size_t i = 0; i < sizeof(defang_cases) / sizeof(defang_cases[0]); i++) {
        const struct defang_case *c = &defang_cases[i];
        char *d = indicator_defang(c->value, c->type);
        char *back = indicator_refang(d);
        char *again = indicator_defang(d, c->type);
        char *norm = NULL;

        is_str(d, c->defanged, "defang \"%s\"", c->value);
        /* Refanging gives the value back, and the defanged form is still
         * the same indicator. */
        is_int(indicator_detect(d, &norm), indicator_detect(c->value, NULL), "\"%s\" detected as its value", d);
        is_str(back, c->type != 0 ? c->value : "http://evil.com/", "refang(defang(\"%s\"))", c->value);
        is_str(again, c->defanged, "defanging twice changes nothing for \"%s\"", c->value);
        free(norm);
        free(again);
        free(back);
        free(d);
    }

    for (size_t i = 0; i < sizeof(defang_text_cases) / sizeof(defang_text_cases[0]); i++) {
        char *d = indicator_defang_text(defang_text_cases[i].text);

        is_str(d, defang_text_cases[i].want, "defang_text \"%s\"", defang_text_cases[i].text);
        free(d);
    }
    for (size_t i = 0; i < sizeof(refang_cases) / sizeof(refang_cases[0]); i++) {
        char *r = indicator_refang(refang_cases[i].text);

        is_str(r, refang_cases[i].want, "refang \"%s\"", refang_cases[i].text);
        free(r);
    }

    test_golden();
    test_hostile();
    test_large();
    tap_done();
}
