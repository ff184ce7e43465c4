/*
 * The pure logic of the threat-intelligence bridges, without a network:
 * rdap's bootstrap registries (the shipped copies and hand-made ones for
 * longest match and errors), AS numbers and RDAP dates, and the reading
 * of RFC 9083 answers; VirusTotal's URL identifier, its verdict and its
 * API v3 objects; AbuseIPDB's verdict, category names and /check answers.
 * The answers are files under tests/fixtures/<tool>/, in the documented
 * shapes of each API.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appservice/xmalloc.h"
#include "bridges/abuseipdb.h"
#include "bridges/bridge.h"
#include "bridges/rdap.h"
#include "bridges/virustotal.h"
#include "tests/tap.h"
#include "tests/unit/fixture.h"

/* 2026-11-28T12:00:00Z: "now" for the ages in the RDAP answers. */
#define NOW 1795867200LL

/* A fixture parsed as JSON (a new reference), or NULL. */
static struct json_object *
load(const char *rel)
{
    char *text = fixture_read(rel, NULL);
    struct json_object *doc = text != NULL ? json_tokener_parse(text) : NULL;

    if (doc == NULL)
        printf("# cannot read tests/fixtures/%s\n", rel);
    free(text);
    return doc;
}

/* The last cell of the first row whose first cell is field, or NULL. */
static const char *
row(const struct bridge_result *r, const char *field)
{
    for (size_t i = 0; r != NULL && i < r->nrows; i++) {
        if (strcmp(r->rows[i][0], field) == 0)
            return r->rows[i][r->ncolumns - 1];
    }
    return NULL;
}

/* 1 if r has the artifact. */
static int
has_artifact(const struct bridge_result *r, enum indicator_type type, const char *value)
{
    for (size_t i = 0; r != NULL && i < r->artifacts.n; i++) {
        if (r->artifacts.v[i].type == type && strcmp(r->artifacts.v[i].value, value) == 0)
            return 1;
    }
    return 0;
}

/* Writes a file in dir. */
static void
write_file(const char *dir, const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");

    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        printf("# cannot write %s\n", path);
    free(path);
}

/* ---- rdap ------------------------------------------------------------------------------------ */

static void
test_rdap_shipped_bootstrap(void)
{
    const char *srcdir = getenv("WARROOM_SRCDIR");
    char *dir = xasprintf("%s/contrib/rdap", srcdir != NULL ? srcdir : ".");
    struct rdap_bootstrap *bs = NULL;
    char *cause = NULL;
    static const struct {
        enum rdap_kind kind;
        const char *value, *want;
    } cases[] = {
        {RDAP_DOMAIN, "example.com", "https://rdap.verisign.com/com/v1/"},
        {RDAP_DOMAIN, "WWW.Example.NET.", "https://rdap.verisign.com/net/v1/"},
        {RDAP_DOMAIN, "wikipedia.org", "https://rdap.publicinterestregistry.org/rdap/"},
        {RDAP_DOMAIN, "a.b.web.dev", "https://pubapi.registry.google/rdap/"},
        {RDAP_DOMAIN, "bbc.co.uk", "https://rdap.nominet.uk/uk/"},
        {RDAP_DOMAIN, "example.zz", NULL},
        {RDAP_IP, "1.1.1.1", "https://rdap.apnic.net/"},
        {RDAP_IP, "8.8.8.8", "https://rdap.arin.net/registry/"},
        {RDAP_IP, "193.0.6.139", "https://rdap.db.ripe.net/"},
        {RDAP_IP, "200.160.2.3", "https://rdap.lacnic.net/rdap/"},
        {RDAP_IP, "41.0.0.1", "https://rdap.afrinic.net/rdap/"},
        {RDAP_IP, "10.0.0.1", NULL},
        {RDAP_IP, "2001:4860:4860::8888", "https://rdap.arin.net/registry/"},
        {RDAP_IP, "2606:4700:4700::1111", "https://rdap.arin.net/registry/"},
        {RDAP_IP, "2a00:1450:4001::1", "https://rdap.db.ripe.net/"},
        {RDAP_IP, "2c0f:f248::1", "https://rdap.afrinic.net/rdap/"},
        {RDAP_IP, "fe80::1", NULL},
        {RDAP_IP, "not an address", NULL},
        {RDAP_AUTNUM, "AS13335", "https://rdap.arin.net/registry/"},
        {RDAP_AUTNUM, "15169", "https://rdap.arin.net/registry/"},
        {RDAP_AUTNUM, "AS3333", "https://rdap.db.ripe.net/"},
        {RDAP_AUTNUM, "AS4608", "https://rdap.apnic.net/"},
        {RDAP_AUTNUM, "AS28000", "https://rdap.lacnic.net/rdap/"},
        {RDAP_AUTNUM, "AS37000", "https://rdap.afrinic.net/rdap/"},
        {RDAP_AUTNUM, "AS64512", NULL},
    };

    is_int(rdap_bootstrap_load(dir, &bs, &cause), 0, "the shipped bootstrap files load");
    if (cause != NULL)
        printf("# %s\n", cause);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        is_str(rdap_bootstrap_find(bs, cases[i].kind, cases[i].value), cases[i].want, "shipped: %s -> %s",
               cases[i].value, cases[i].want != NULL ? cases[i].want : "no server");
    rdap_bootstrap_free(bs);
    rdap_bootstrap_free(NULL);
    free(cause);
    free(dir);
}

/* A registry file with the services given as JSON. */
static char *
registry(const char *services)
{
    return xasprintf("{\"version\": \"1.0\", \"publication\": \"2026-11-01T00:00:00Z\", \"description\": \"test\", "
                     "\"services\": %s}",
                     services);
}

static void
write_registries(const char *dir, const char *dns, const char *v4, const char *v6, const char *asn)
{
    const char *names[] = {"dns.json", "ipv4.json", "ipv6.json", "asn.json"};
    const char *services[] = {dns, v4, v6, asn};

    for (size_t i = 0; i < 4; i++) {
        char *text = registry(services[i]);

        write_file(dir, names[i], text);
        free(text);
    }
}

static void
test_rdap_longest_match(void)
{
    char *dir = fixture_tmpdir(), *cause = NULL;
    struct rdap_bootstrap *bs = NULL;

    write_registries(dir,
                     "[[[\"uk\"], [\"https://a.example/\"]], [[\"co.uk\", \"COM.\"], [\"http://plain.example/rdap\", "
                     "\"https://b.example/rdap\"]]]",
                     "[[[\"10.0.0.0/8\"], [\"https://a.example/\"]], [[\"10.1.0.0/16\"], [\"https://b.example/\"]]]",
                     "[[[\"2001:db8::/32\"], [\"http://only-http.example/\"]]]",
                     "[[[\"1-100000\"], [\"https://a.example/\"]], [[\"13335\"], [\"https://b.example/\"]]]");
    is_int(rdap_bootstrap_load(dir, &bs, &cause), 0, "hand-made registries load");
    is_str(rdap_bootstrap_find(bs, RDAP_DOMAIN, "x.co.uk"), "https://b.example/rdap/",
           "the longest label suffix wins, an https URL before http, with a '/' added");
    is_str(rdap_bootstrap_find(bs, RDAP_DOMAIN, "x.org.uk"), "https://a.example/", "a shorter suffix otherwise");
    is_str(rdap_bootstrap_find(bs, RDAP_DOMAIN, "uk"), "https://a.example/", "the TLD itself");
    is_str(rdap_bootstrap_find(bs, RDAP_DOMAIN, "example.com"), "https://b.example/rdap/",
           "entries are matched case-insensitively, without the root dot");
    is_str(rdap_bootstrap_find(bs, RDAP_DOMAIN, "notuk"), NULL, "a suffix is matched at a label boundary only");
    is_str(rdap_bootstrap_find(bs, RDAP_IP, "10.1.2.3"), "https://b.example/", "the longest prefix wins");
    is_str(rdap_bootstrap_find(bs, RDAP_IP, "10.2.0.1"), "https://a.example/", "the shorter one otherwise");
    is_str(rdap_bootstrap_find(bs, RDAP_IP, "2001:db8::1"), "http://only-http.example/",
           "http when it is all there is");
    is_str(rdap_bootstrap_find(bs, RDAP_AUTNUM, "AS13335"), "https://b.example/", "the narrowest AS range wins");
    is_str(rdap_bootstrap_find(bs, RDAP_AUTNUM, "13336"), "https://a.example/", "the wider one otherwise");
    is_str(rdap_bootstrap_find(bs, RDAP_AUTNUM, "AS100001"), NULL, "outside every range: no server");
    rdap_bootstrap_free(bs);
    fixture_rmdir(dir);
}

/* Loads registries whose one file is bad; the reason must contain want. */
static void
bootstrap_error(const char *what, const char *file, const char *content, const char *want)
{
    char *dir = fixture_tmpdir(), *cause = NULL;
    struct rdap_bootstrap *bs = NULL;
    int rc;

    write_registries(dir, "[]", "[]", "[]", "[]");
    if (content != NULL)
        write_file(dir, file, content);
    else {
        char *path = xasprintf("%s/%s", dir, file);

        remove(path);
        free(path);
    }
    rc = rdap_bootstrap_load(dir, &bs, &cause);
    ok(rc == -1 && bs == NULL, "bootstrap: %s is refused", what);
    ok(cause != NULL && strstr(cause, file) != NULL && strstr(cause, want) != NULL, "bootstrap: %s: \"%s\"", what,
       cause != NULL ? cause : "(no reason)");
    free(cause);
    fixture_rmdir(dir);
}

static void
test_rdap_bootstrap_errors(void)
{
    char *text;

    bootstrap_error("a missing file", "asn.json", NULL, "cannot read");
    bootstrap_error("a file that is not JSON", "dns.json", "{\"services\": [", "cannot read");
    bootstrap_error("no services", "dns.json", "{\"version\": \"1.0\"}", "no \"services\" array");
    bootstrap_error("another version", "dns.json", "{\"version\": \"2.0\", \"services\": []}", "version");
    text = registry("[[[\"com\"]]]");
    bootstrap_error("a service without URLs", "dns.json", text, "service 1 is not [[entries], [URLs]]");
    free(text);
    text = registry("[[[\"com\"], [\"ftp://rdap.example/\"]]]");
    bootstrap_error("no http URL", "dns.json", text, "no http:// or https:// URL");
    free(text);
    text = registry("[[[\"10.0.0.0/8\"], [\"https://a/\"]], [[\"10.0.0.1/8\"], [\"https://b/\"]]]");
    bootstrap_error("host bits below the prefix", "ipv4.json", text, "service 2");
    free(text);
    text = registry("[[[\"2001:db8::/32\"], [\"https://a/\"]]]");
    bootstrap_error("an IPv6 network in ipv4.json", "ipv4.json", text, "is not an IPv4 network");
    free(text);
    text = registry("[[[\"5-3\"], [\"https://a/\"]]]");
    bootstrap_error("a backwards AS range", "asn.json", text, "is not an AS number range");
    free(text);
    text = registry("[[[64512], [\"https://a/\"]]]");
    bootstrap_error("a number where a string belongs", "asn.json", text, "entry 1 is not a string");
    free(text);
}

static void
test_rdap_asn_and_time(void)
{
    static const struct {
        const char *text;
        int rc;
        uint32_t want;
    } asns[] = {
        {"AS13335", 0, 13335},   {"as13335", 0, 13335}, {"ASN 13335", 0, 13335},
        {"ASN:13335", 0, 13335}, {"13335", 0, 13335},   {"4294967295", 0, 4294967295U},
        {"AS", -1, 0},           {"AS-1", -1, 0},       {"4294967296", -1, 0},
        {"13335x", -1, 0},       {"", -1, 0},           {"example.com", -1, 0},
    };
    static const struct {
        const char *text;
        int rc;
        int64_t want;
    } times[] = {
        {"1997-09-15T04:00:00Z", 0, 874296000},
        {"2026-11-16T10:21:07.0Z", 0, 1794824467},
        {"2010-07-14T18:35:57-04:00", 0, 1279146957},
        {"2010-07-14T22:35:57z", 0, 1279146957},
        {"2020-01-01T05:30:00+05:30", 0, 1577836800},
        {"2020-01-01", 0, 1577836800},
        {"2020-01-01T00:00:00", 0, 1577836800},
        {"yesterday", -1, 0},
        {"2020-01-01T00:00:00+5", -1, 0},
        {"2020-01-01T00:00:00Z trailing", -1, 0},
    };

    for (size_t i = 0; i < sizeof(asns) / sizeof(asns[0]); i++) {
        uint32_t n = 0;
        int rc = rdap_parse_asn(asns[i].text, &n);

        ok(rc == asns[i].rc && (rc != 0 || n == asns[i].want), "AS number \"%s\": %s", asns[i].text,
           asns[i].rc == 0 ? "read" : "refused");
    }
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        int64_t t = 0;
        int rc = rdap_parse_time(times[i].text, &t);

        ok(rc == times[i].rc && (rc != 0 || t == times[i].want), "time \"%s\": %s", times[i].text,
           times[i].rc == 0 ? "read" : "refused");
        if (rc == 0 && t != times[i].want)
            printf("#   got %lld, want %lld\n", (long long)t, (long long)times[i].want);
    }
}

static void
test_rdap_domain(void)
{
    struct json_object *doc = load("rdap/domain-google.json");
    char *cause = NULL;
    struct bridge_result *r = rdap_result(RDAP_DOMAIN, "google.com", doc, NOW, &cause);

    ok(r != NULL, "a Verisign domain answer is read");
    if (r == NULL) {
        json_object_put(doc);
        free(cause);
        return;
    }
    is_str(r->title, "RDAP for google.com (domain)", "domain: title");
    is_int(r->verdict, BRIDGE_VERDICT_NONE, "domain: an old domain gets no verdict");
    is_str(r->summary,
           "registered 29 years ago (1997-09-15); registrar MarkMonitor Inc. (IANA 292); expires 2028-09-14",
           "domain: the summary has the age, the registrar with its IANA ID and the expiry");
    is_int(r->ncolumns, 2, "domain: field/value rows");
    is_str(row(r, "Domain"), "google.com", "domain: the name, in lower case");
    is_str(row(r, "Registrar"), "MarkMonitor Inc. (IANA 292)", "domain: the registrar");
    is_str(row(r, "Abuse contact"), "abusecomplaints@markmonitor.com, +1.2086851750",
           "domain: the abuse contact nested in the registrar, without empty fields or the tel: prefix");
    is_str(row(r, "Registered"), "1997-09-15 (29 years ago)", "domain: registration date and age");
    is_str(row(r, "Expires"), "2028-09-14", "domain: expiry");
    is_str(row(r, "Last changed"), "2019-09-09 (7 years ago)", "domain: last changed");
    ok(row(r, "Status") != NULL &&
           strstr(row(r, "Status"), "client delete prohibited, client transfer prohibited") == row(r, "Status"),
       "domain: the statuses");
    is_str(row(r, "Name servers"), "ns1.google.com, ns2.google.com, ns3.google.com, ns4.google.com",
           "domain: the name servers");
    is_str(row(r, "DNSSEC"), "unsigned", "domain: DNSSEC");
    ok(row(r, "Registrant") == NULL, "domain: no registrant row in a thin registry's answer");
    ok(has_artifact(r, IND_DOMAIN, "ns1.google.com") && has_artifact(r, IND_DOMAIN, "ns4.google.com"),
       "domain: name servers are artifacts");
    ok(has_artifact(r, IND_EMAIL, "abusecomplaints@markmonitor.com"), "domain: the abuse address is an artifact");
    is_int(r->artifacts.n, 5, "domain: and nothing else");
    ok(r->raw != NULL, "domain: the answer is kept as raw");
    bridge_result_free(r);

    /* The wrong object for the question. */
    r = rdap_result(RDAP_IP, "8.8.8.8", doc, NOW, &cause);
    ok(r == NULL && cause != NULL && strstr(cause, "\"domain\" object") != NULL, "a domain answer to an IP query: %s",
       cause != NULL ? cause : "?");
    free(cause);
    json_object_put(doc);
    doc = json_tokener_parse("[1, 2]");
    r = rdap_result(RDAP_DOMAIN, "x.com", doc, NOW, &cause);
    ok(r == NULL && cause != NULL, "an array is not an RDAP object");
    free(cause);
    json_object_put(doc);
    doc = json_tokener_parse("{\"ldhName\": \"x.com\"}");
    r = rdap_result(RDAP_DOMAIN, "x.com", doc, NOW, &cause);
    ok(r == NULL && cause != NULL && strstr(cause, "objectClassName") != NULL, "nor is an object without a class");
    free(cause);
    json_object_put(doc);
}

static void
test_rdap_new_domain(void)
{
    struct json_object *doc = load("rdap/domain-new.json");
    const int64_t registered = 1794824467; /* 2026-11-16T10:21:07Z */
    char *cause = NULL;
    struct bridge_result *r = rdap_result(RDAP_DOMAIN, "secure-paypa1-login.com", doc, NOW, &cause);

    ok(r != NULL, "a registrar's answer is read");
    if (r == NULL) {
        json_object_put(doc);
        return;
    }
    is_int(r->verdict, BRIDGE_VERDICT_SUSPICIOUS, "new domain: suspicious");
    is_str(r->summary,
           "registered 12 days ago (2026-11-16): newly registered (under 30 days), as phishing domains often are; "
           "registrar NameCheap, Inc. (IANA 1068); expires 2027-11-16; country IS",
           "new domain: the summary says why, first");
    is_str(row(r, "Registrant"), "Redacted for Privacy, Privacy service provided by Withheld for Privacy ehf, IS",
           "new domain: the redacted registrant with its country (the cc parameter)");
    is_str(row(r, "Abuse contact"), "Abuse Desk, abuse@namecheap.com, +1.9854014545", "new domain: the abuse contact");
    is_str(row(r, "DNSSEC"), "signed", "new domain: DNSSEC signed");
    is_str(row(r, "WHOIS server"), "whois.namecheap.com", "new domain: port43");
    ok(row(r, "Unicode name") == NULL, "new domain: a unicodeName equal to the LDH name is not repeated");
    ok(has_artifact(r, IND_EMAIL, "abuse@namecheap.com") && has_artifact(r, IND_DOMAIN, "dns1.registrar-servers.com"),
       "new domain: artifacts");
    bridge_result_free(r);

    /* The 30-day boundary, and a date in the future (a clock off). */
    r = rdap_result(RDAP_DOMAIN, "x.com", doc, registered + 30LL * 86400 - 1, &cause);
    is_int(r->verdict, BRIDGE_VERDICT_SUSPICIOUS, "a second under 30 days: suspicious");
    bridge_result_free(r);
    r = rdap_result(RDAP_DOMAIN, "x.com", doc, registered + 30LL * 86400, &cause);
    is_int(r->verdict, BRIDGE_VERDICT_NONE, "30 days: no verdict");
    ok(strncmp(r->summary, "registered 30 days ago (2026-11-16); registrar", 46) == 0, "30 days: %s", r->summary);
    bridge_result_free(r);
    r = rdap_result(RDAP_DOMAIN, "x.com", doc, registered + 3600, &cause);
    ok(strncmp(r->summary, "registered less than a day ago (2026-11-16): newly", 50) == 0, "an hour: %s", r->summary);
    bridge_result_free(r);
    r = rdap_result(RDAP_DOMAIN, "x.com", doc, registered - 86400, &cause);
    is_int(r->verdict, BRIDGE_VERDICT_NONE, "a registration date in the future: no verdict");
    ok(strncmp(r->summary, "registered 2026-11-16; registrar", 32) == 0, "and no age: %s", r->summary);
    bridge_result_free(r);
    json_object_put(doc);
}

static void
test_rdap_networks(void)
{
    struct json_object *doc = load("rdap/ip-apnic.json");
    char *cause = NULL;
    struct bridge_result *r = rdap_result(RDAP_IP, "1.1.1.1", doc, NOW, &cause);

    ok(r != NULL, "an APNIC network answer is read");
    if (r != NULL) {
        is_str(r->title, "RDAP for 1.1.1.1 (IP network)", "ipv4: title");
        is_int(r->verdict, BRIDGE_VERDICT_NONE, "ipv4: no verdict");
        is_str(r->summary,
               "APNIC-LABS 1.1.1.0/24 (ASSIGNED PORTABLE); held by APNIC Research and Development; country AU; "
               "abuse helpdesk@apnic.net",
               "ipv4: summary");
        is_str(row(r, "Network"), "APNIC-LABS", "ipv4: name");
        is_str(row(r, "Range"), "1.1.1.0 - 1.1.1.255", "ipv4: start and end");
        is_str(row(r, "CIDR"), "1.1.1.0/24", "ipv4: cidr0");
        is_str(row(r, "Type"), "ASSIGNED PORTABLE", "ipv4: type");
        is_str(row(r, "Country"), "AU", "ipv4: country");
        is_str(row(r, "Parent"), "1.1.0.0 - 1.1.255.255", "ipv4: parent");
        is_str(row(r, "Abuse contact"), "IRT-APNICRANDNET-AU, helpdesk@apnic.net", "ipv4: abuse contact");
        ok(has_artifact(r, IND_EMAIL, "helpdesk@apnic.net"), "ipv4: the abuse address is an artifact");
    }
    bridge_result_free(r);
    json_object_put(doc);

    doc = load("rdap/ip-arin-v6.json");
    r = rdap_result(RDAP_IP, "2001:4860:4860::8888", doc, NOW, &cause);
    ok(r != NULL, "an ARIN IPv6 network answer is read");
    if (r != NULL) {
        is_str(r->summary,
               "GOOGLE-IPV6 2001:4860::/32 (DIRECT ALLOCATION); held by Google LLC; abuse network-abuse@google.com",
               "ipv6: summary, with the abuse contact nested in the registrant");
        is_str(row(r, "CIDR"), "2001:4860::/32", "ipv6: cidr0 v6prefix");
        is_str(row(r, "Registered"), "2005-03-14 (21 years ago)", "ipv6: a date with an offset");
        is_str(row(r, "Abuse contact"), "Abuse, network-abuse@google.com, +1-650-253-0000",
               "ipv6: an org equal to the name is not repeated");
    }
    bridge_result_free(r);
    json_object_put(doc);

    doc = load("rdap/autnum-arin.json");
    r = rdap_result(RDAP_AUTNUM, "AS13335", doc, NOW, &cause);
    ok(r != NULL, "an ARIN autnum answer is read");
    if (r != NULL) {
        is_str(r->title, "RDAP for AS13335 (AS number)", "autnum: title");
        is_str(r->summary,
               "CLOUDFLARENET; held by Cloudflare, Inc.; country United States; registered 2010-07-14; abuse "
               "abuse@cloudflare.com",
               "autnum: summary, the country from the registrant's address");
        is_str(row(r, "AS numbers"), "AS13335", "autnum: the range of one");
        is_str(row(r, "Name"), "CLOUDFLARENET", "autnum: name");
        is_str(row(r, "Registrant"), "Cloudflare, Inc., United States", "autnum: registrant");
        ok(has_artifact(r, IND_EMAIL, "abuse@cloudflare.com"), "autnum: the abuse address is an artifact");
    }
    bridge_result_free(r);
    json_object_put(doc);

    doc = load("rdap/error-404.json");
    r = rdap_result_not_found(RDAP_DOMAIN, "no-such-domain-here.com", doc);
    is_str(r->summary,
           "no registration data: the registry has no record of it (not registered?); it says: The requested object "
           "was not found in the registry.",
           "404: no registration data, with the registry's words");
    is_int(r->verdict, BRIDGE_VERDICT_NONE, "404: no verdict");
    bridge_result_free(r);
    r = rdap_result_not_found(RDAP_IP, "192.0.2.1", NULL);
    is_str(r->summary, "no registration data: the registry has no record of it", "404 without a body");
    bridge_result_free(r);
    json_object_put(doc);
}

/* ---- virustotal ------------------------------------------------------------------------------ */

static void
test_virustotal_url_id(void)
{
    static const struct {
        const char *url, *id;
    } cases[] = {
        {"http://www.example.com/", "aHR0cDovL3d3dy5leGFtcGxlLmNvbS8"},
        {"https://secure-paypa1-login.com/signin", "aHR0cHM6Ly9zZWN1cmUtcGF5cGExLWxvZ2luLmNvbS9zaWduaW4"},
        {"https://a.io/?q=~~~>>>", "aHR0cHM6Ly9hLmlvLz9xPX5-fj4-Pg"},
        {"http://x.com/???", "aHR0cDovL3guY29tLz8_Pw"},
        {"http://x.com/a", "aHR0cDovL3guY29tL2E"},
        {"http://x.com/ab", "aHR0cDovL3guY29tL2Fi"},
        {"http://x.com/abc", "aHR0cDovL3guY29tL2FiYw"},
        {"", ""},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *id = virustotal_url_id(cases[i].url);

        is_str(id, cases[i].id, "URL id of \"%s\" (URL-safe base64, no padding)", cases[i].url);
        free(id);
    }
}

static void
test_virustotal_verdict(void)
{
    static const struct {
        long malicious, suspicious, harmless;
        enum bridge_verdict want;
    } cases[] = {
        {3, 0, 0, BRIDGE_VERDICT_MALICIOUS},   {10, 5, 60, BRIDGE_VERDICT_MALICIOUS},
        {2, 0, 50, BRIDGE_VERDICT_SUSPICIOUS}, {1, 0, 70, BRIDGE_VERDICT_SUSPICIOUS},
        {0, 1, 70, BRIDGE_VERDICT_SUSPICIOUS}, {0, 0, 1, BRIDGE_VERDICT_SAFE},
        {0, 0, 0, BRIDGE_VERDICT_INFO},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        is_int(virustotal_verdict(cases[i].malicious, cases[i].suspicious, cases[i].harmless), cases[i].want,
               "VirusTotal: %ld malicious, %ld suspicious, %ld harmless is %s", cases[i].malicious, cases[i].suspicious,
               cases[i].harmless, bridge_verdict_name(cases[i].want));
}

static void
test_virustotal_objects(void)
{
    struct json_object *doc = load("virustotal/ip.json");
    char *cause = NULL;
    struct bridge_result *r = virustotal_result(VIRUSTOTAL_IP, "185.220.101.4", doc, &cause);

    ok(r != NULL, "an IP address object is read");
    if (r != NULL) {
        is_str(r->title, "VirusTotal on 185.220.101.4 (IP address)", "vt ip: title");
        is_int(r->verdict, BRIDGE_VERDICT_MALICIOUS, "vt ip: 4 engines: malicious");
        is_str(r->summary,
               "4/89 engines: malicious, 1 suspicious; reputation -12; tags tor; AS60729 Zwiebelfreunde e.V., "
               "country DE",
               "vt ip: summary");
        is_int(r->ncolumns, 3, "vt ip: name, category, value");
        is_str(row(r, "AS owner"), "Zwiebelfreunde e.V.", "vt ip: as_owner");
        is_str(row(r, "Country"), "DE", "vt ip: country");
        is_str(row(r, "Network"), "185.220.101.0/24", "vt ip: network");
        is_str(row(r, "Community votes"), "1 harmless, 9 malicious", "vt ip: votes");
        /* Engines: malicious first by name, then suspicious; clean ones left out. */
        {
            const char *want[][3] = {{"BitDefender", "malicious", "malware"},
                                     {"CRDF", "malicious", "malicious"},
                                     {"Fortinet", "malicious", "malware"},
                                     {"Lionic", "malicious", "malicious"},
                                     {"alphaMountain.ai", "suspicious", "suspicious"}};
            size_t first = r->nrows >= 5 ? r->nrows - 5 : 0, same = 0;

            for (size_t i = 0; i < 5 && first + i < r->nrows; i++)
                same += strcmp(r->rows[first + i][0], want[i][0]) == 0 &&
                        strcmp(r->rows[first + i][1], want[i][1]) == 0 &&
                        strcmp(r->rows[first + i][2], want[i][2]) == 0;
            is_int(same, 5, "vt ip: the five engines that flagged it, malicious first, by name");
            ok(row(r, "Kaspersky") == NULL, "vt ip: engines that found it clean are not listed");
        }
    }
    bridge_result_free(r);
    json_object_put(doc);

    doc = load("virustotal/domain.json");
    r = virustotal_result(VIRUSTOTAL_DOMAIN, "google.com", doc, &cause);
    ok(r != NULL, "a domain object is read");
    if (r != NULL) {
        is_int(r->verdict, BRIDGE_VERDICT_SAFE, "vt domain: harmless only: safe");
        is_str(r->summary, "0/89 engines: malicious; reputation 523; registrar MarkMonitor Inc.; created 1997-09-15",
               "vt domain: summary");
        is_str(row(r, "Created"), "1997-09-15", "vt domain: creation_date");
        ok(row(r, "Categories") != NULL &&
               strstr(row(r, "Categories"), "Forcepoint ThreatSeeker: search engines and portals") != NULL,
           "vt domain: categories by vendor");
        ok(row(r, "Tags") == NULL, "vt domain: no tags row for an empty list");
    }
    bridge_result_free(r);
    json_object_put(doc);

    doc = load("virustotal/url.json");
    r = virustotal_result(VIRUSTOTAL_URL, "https://secure-paypa1-login.com/signin", doc, &cause);
    ok(r != NULL, "a URL object is read");
    if (r != NULL) {
        is_int(r->verdict, BRIDGE_VERDICT_SUSPICIOUS, "vt url: 2 engines: suspicious");
        is_str(r->summary,
               "2/89 engines: malicious; reputation 0; leads to https://secure-paypa1-login.com/signin/verify.php; "
               "title \"Log in to your PayPal account\"",
               "vt url: summary");
        is_str(row(r, "HTTP status"), "200", "vt url: status");
        ok(has_artifact(r, IND_URL, "https://secure-paypa1-login.com/signin/verify.php"),
           "vt url: the final URL is an artifact");
    }
    bridge_result_free(r);
    json_object_put(doc);

    doc = load("virustotal/file.json");
    r = virustotal_result(VIRUSTOTAL_FILE, "44d88612fea8a8f36de82e1278abb02f", doc, &cause);
    ok(r != NULL, "a file object is read");
    if (r != NULL) {
        is_int(r->verdict, BRIDGE_VERDICT_MALICIOUS, "vt file: malicious");
        is_str(r->summary,
               "62/73 engines: malicious; reputation 3515; tags text, attachment; Text, 68 bytes; label eicar/test",
               "vt file: summary (engines that cannot read the type are not counted)");
        is_str(row(r, "Names"), "eicar.com, eicar.txt, eicar_com.zip, EICAR.COM, eicar-test.txt and 2 more",
               "vt file: at most five names");
        is_str(row(r, "First submitted"), "2006-05-22", "vt file: first_submission_date");
        is_str(row(r, "Kaspersky"), "EICAR-Test-File", "vt file: an engine's result");
    }
    bridge_result_free(r);
    json_object_put(doc);

    doc = load("virustotal/error-notfound.json");
    r = virustotal_result(VIRUSTOTAL_FILE, "0123", doc, &cause);
    ok(r == NULL && cause != NULL, "an error object is not a report");
    free(cause);
    json_object_put(doc);
    doc = json_tokener_parse("{\"data\": {\"id\": \"1.2.3.4\", \"type\": \"ip_address\", \"attributes\": {}}}");
    r = virustotal_result(VIRUSTOTAL_IP, "1.2.3.4", doc, &cause);
    ok(r != NULL && r->verdict == BRIDGE_VERDICT_INFO && strcmp(r->summary, "not analysed yet") == 0,
       "an object without analysis: info, not analysed yet");
    bridge_result_free(r);
    json_object_put(doc);

    r = virustotal_result_unknown(VIRUSTOTAL_DOMAIN, "never-seen.com");
    is_str(r->summary, "VirusTotal has never seen it", "404: never seen");
    is_int(r->verdict, BRIDGE_VERDICT_NONE, "404: no verdict");
    bridge_result_free(r);

    doc = load("virustotal/submit.json");
    r = virustotal_result_submitted("https://secure-paypa1-login.com/signin", doc, &cause);
    ok(r != NULL, "a submission answer is read");
    if (r != NULL) {
        is_str(row(r, "Analysis ID"), "u-1db0ad7dbcec0676710ea0eaacd35d5e471d3e11944d53bcbd31f0cbd11bce31-1764312345",
               "submit: the analysis ID");
        is_str(row(r, "URL ID"), "aHR0cHM6Ly9zZWN1cmUtcGF5cGExLWxvZ2luLmNvbS9zaWduaW4", "submit: the URL's ID");
    }
    bridge_result_free(r);
    json_object_put(doc);
    doc = json_tokener_parse("{\"data\": {\"type\": \"url\", \"id\": \"x\"}}");
    r = virustotal_result_submitted("https://x.com/", doc, &cause);
    ok(r == NULL && cause != NULL, "submit: an answer that is no analysis is refused");
    free(cause);
    json_object_put(doc);
}

/* ---- abuseipdb ------------------------------------------------------------------------------- */

static void
test_abuseipdb_tables(void)
{
    static const struct {
        long score, reports;
        int white;
        enum bridge_verdict want;
    } cases[] = {
        {100, 1234, 0, BRIDGE_VERDICT_MALICIOUS}, {75, 3, 0, BRIDGE_VERDICT_MALICIOUS},
        {74, 3, 0, BRIDGE_VERDICT_SUSPICIOUS},    {25, 3, -1, BRIDGE_VERDICT_SUSPICIOUS},
        {24, 3, 0, BRIDGE_VERDICT_INFO},          {0, 2, 0, BRIDGE_VERDICT_INFO},
        {0, 0, 0, BRIDGE_VERDICT_SAFE},           {0, 0, -1, BRIDGE_VERDICT_SAFE},
        {0, 37, 1, BRIDGE_VERDICT_SAFE},          {10, 5, 1, BRIDGE_VERDICT_SAFE},
        {80, 5, 1, BRIDGE_VERDICT_MALICIOUS},
    };
    static const struct {
        long id;
        const char *name;
    } cats[] = {{1, "DNS Compromise"},
                {3, "Fraud Orders"},
                {7, "Phishing"},
                {14, "Port Scan"},
                {18, "Brute-Force"},
                {21, "Web App Attack"},
                {22, "SSH"},
                {23, "IoT Targeted"},
                {0, NULL},
                {24, NULL},
                {-1, NULL}};
    static const struct {
        long long n;
        const char *text;
    } nums[] = {{0, "0"}, {999, "999"}, {1000, "1,000"}, {1234, "1,234"}, {1234567, "1,234,567"}, {-1234, "-1,234"}};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        is_int(abuseipdb_verdict(cases[i].score, cases[i].reports, cases[i].white), cases[i].want,
               "AbuseIPDB: score %ld, %ld reports, whitelisted %d is %s", cases[i].score, cases[i].reports,
               cases[i].white, bridge_verdict_name(cases[i].want));
    for (size_t i = 0; i < sizeof(cats) / sizeof(cats[0]); i++)
        is_str(abuseipdb_category_name(cats[i].id), cats[i].name, "category %ld", cats[i].id);
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        char *s = abuseipdb_thousands(nums[i].n);

        is_str(s, nums[i].text, "%lld with separators", nums[i].n);
        free(s);
    }
}

static void
test_abuseipdb_check(void)
{
    struct json_object *doc = load("abuseipdb/check-malicious.json");
    char *cause = NULL, *want;
    struct bridge_result *r = abuseipdb_result("118.25.6.39", 90, doc, &cause);

    ok(r != NULL, "a /check answer is read");
    if (r != NULL) {
        is_str(r->title, "AbuseIPDB on 118.25.6.39 (last 90 days)", "abuseipdb: title");
        is_int(r->verdict, BRIDGE_VERDICT_MALICIOUS, "abuseipdb: confidence 100: malicious");
        is_str(r->summary,
               "confidence 100%, 1,234 reports by 321 users, last 2026-11-27; ISP Tencent Cloud Computing (Beijing) "
               "Co. Ltd; usage type Data Center/Web Hosting/Transit; country CN",
               "abuseipdb: summary");
        is_str(row(r, "ISP"), "Tencent Cloud Computing (Beijing) Co. Ltd", "abuseipdb: ISP");
        is_str(row(r, "Domain"), "tencent.com", "abuseipdb: domain");
        is_str(row(r, "Country"), "China (CN)", "abuseipdb: country");
        is_str(row(r, "Usage type"), "Data Center/Web Hosting/Transit", "abuseipdb: usage type");
        is_str(row(r, "Tor exit node"), "no", "abuseipdb: isTor");
        is_str(row(r, "Whitelisted"), "no", "abuseipdb: isWhitelisted");
        is_str(row(r, "Total reports"), "1,234", "abuseipdb: totalReports");
        is_str(row(r, "Distinct reporters"), "321", "abuseipdb: numDistinctUsers");
        is_str(row(r, "Last reported"), "2026-11-27T20:55:14+00:00", "abuseipdb: lastReportedAt");
        is_str(row(r, "Categories (6 latest reports)"),
               "Brute-Force (3), SSH (3), Port Scan (1), Hacking (1), Web App Attack (1)",
               "abuseipdb: the categories of the latest reports, by name, most frequent first");
        is_str(row(r, "Report 2026-11-27 (from US)"),
               "Brute-Force, SSH: Nov 27 20:55:14 srv206 sshd[13937]: Invalid user oracle from 118.25.6.39",
               "abuseipdb: the latest report with its categories and comment");
        {
            /* The comment is "GET /wp-login.php " and 300 A's: 200 bytes kept. */
            char as[201];

            memset(as, 'A', sizeof(as) - 1);
            as[200 - strlen("GET /wp-login.php ")] = '\0';
            want = xasprintf("Hacking, Web App Attack: GET /wp-login.php %s...", as);
        }
        is_str(row(r, "Report 2026-11-25 (from FR)"), want, "abuseipdb: a long comment is cut at 200 bytes");
        free(want);
        is_str(row(r, "Report 2026-11-25 (from US)"), "Brute-Force", "abuseipdb: a report without a comment");
        ok(row(r, "Report 2026-11-24 (from US)") == NULL, "abuseipdb: only the five latest reports are shown");
        ok(has_artifact(r, IND_DOMAIN, "tencent.com"), "abuseipdb: the domain is an artifact");
    }
    bridge_result_free(r);
    json_object_put(doc);

    doc = load("abuseipdb/check-whitelisted.json");
    r = abuseipdb_result("8.8.8.8", 30, doc, &cause);
    ok(r != NULL, "a whitelisted address is read");
    if (r != NULL) {
        is_int(r->verdict, BRIDGE_VERDICT_SAFE, "whitelisted: safe");
        is_str(r->summary,
               "confidence 0%, 37 reports by 12 users, last 2026-11-20; ISP Google LLC; usage type Content Delivery "
               "Network; country US; on AbuseIPDB's whitelist",
               "whitelisted: summary");
        is_str(row(r, "Hostnames"), "dns.google", "whitelisted: hostnames");
        ok(has_artifact(r, IND_DOMAIN, "dns.google"), "whitelisted: hostnames are artifacts");
    }
    bridge_result_free(r);
    json_object_put(doc);

    doc = load("abuseipdb/check-clean.json");
    r = abuseipdb_result("2001:db8::1", 90, doc, &cause);
    ok(r != NULL, "an address never reported is read");
    if (r != NULL) {
        is_int(r->verdict, BRIDGE_VERDICT_SAFE, "never reported: safe");
        is_str(r->summary, "confidence 0%, no reports in 90 days; ISP Example Networks", "never reported: summary");
        is_str(row(r, "Whitelisted"), "unknown", "never reported: a null whitelist flag is unknown");
        ok(row(r, "Country") == NULL && row(r, "Domain") == NULL, "never reported: null fields are left out");
    }
    bridge_result_free(r);
    json_object_put(doc);

    /* A cut never splits a UTF-8 sequence: "é" at bytes 199-200 goes whole. */
    {
        char text[600], as[200];

        memset(as, 'A', sizeof(as) - 1);
        as[199] = '\0';
        snprintf(text, sizeof(text),
                 "{\"data\": {\"abuseConfidenceScore\": 30, \"totalReports\": 1, \"numDistinctUsers\": 1, "
                 "\"reports\": [{\"reportedAt\": \"2026-11-27T00:00:00+00:00\", \"categories\": [7], "
                 "\"comment\": \"%s\\u00e9 and more\"}]}}",
                 as);
        doc = json_tokener_parse(text);
        r = abuseipdb_result("1.2.3.4", 90, doc, &cause);
        want = xasprintf("Phishing: %s...", as);
        is_str(row(r, "Report 2026-11-27"), want, "abuseipdb: a comment is cut before a UTF-8 sequence, not in it");
        is_int(r != NULL ? (int)r->verdict : -1, BRIDGE_VERDICT_SUSPICIOUS, "abuseipdb: confidence 30: suspicious");
        free(want);
        bridge_result_free(r);
        json_object_put(doc);
    }

    doc = load("abuseipdb/error-429.json");
    r = abuseipdb_result("1.2.3.4", 90, doc, &cause);
    ok(r == NULL && cause != NULL, "an error answer is no report");
    free(cause);
    json_object_put(doc);
}

int
main(void)
{
    test_rdap_shipped_bootstrap();
    test_rdap_longest_match();
    test_rdap_bootstrap_errors();
    test_rdap_asn_and_time();
    test_rdap_domain();
    test_rdap_new_domain();
    test_rdap_networks();
    test_virustotal_url_id();
    test_virustotal_verdict();
    test_virustotal_objects();
    test_abuseipdb_tables();
    test_abuseipdb_check();
    tap_done();
}
