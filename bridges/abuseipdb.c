/*
 * The abuseipdb bridge: how often, how recently and for what an IP
 * address was reported to AbuseIPDB (API v2, /check).
 *
 *   !abuseipdb check <ip> [days]   reports of the last days days (default
 *                                  90, at most 365), with the categories
 *                                  and the latest reports
 *
 * The verdict follows AbuseIPDB's confidence score (abuseipdb_verdict()
 * says how).  When the daily quota is used up AbuseIPDB answers 429 with
 * a message and Retry-After; the analyst reads both.  The API key
 * (bridges.abuseipdb.api_key) is required when the bridge is enabled and
 * is sent only in the Key header, never logged.
 */
#include "autoconfig.h"

#include <curl/curl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appservice/tool_http.h"
#include "appservice/xmalloc.h"
#include "bridges/abuseipdb.h"
#include "bridges/bridge.h"
#include "bridges/bridge_json.h"

/* The latest reports shown, and how much of each comment. */
#define ABUSEIPDB_SHOWN_REPORTS 5
#define ABUSEIPDB_COMMENT_MAX 200

struct abuseipdb_state {
    struct bridge_state super;
    char *api_key;  /* bridges.abuseipdb.api_key (secret) */
    char *base_url; /* bridges.abuseipdb.base_url, without a trailing '/' */
};

static const struct config_key abuseipdb_config[] = {
    {.name = "api_key",
     .type = CONFIG_SECRET,
     .flags = CONFIG_OPTIONAL,
     .help = "the AbuseIPDB API v2 key (required when the bridge is enabled)",
     .offset = offsetof(struct abuseipdb_state, api_key)},
    {.name = "base_url",
     .type = CONFIG_URL,
     .default_value = "https://api.abuseipdb.com/api/v2",
     .help = "the AbuseIPDB API v2",
     .offset = offsetof(struct abuseipdb_state, base_url)},
    {.name = NULL},
};

/* AbuseIPDB's report categories, as its documentation lists them
 * (https://www.abuseipdb.com/categories). */
static const char *const abuseipdb_categories[] = {
    NULL,
    "DNS Compromise",
    "DNS Poisoning",
    "Fraud Orders",
    "DDoS Attack",
    "FTP Brute-Force",
    "Ping of Death",
    "Phishing",
    "Fraud VoIP",
    "Open Proxy",
    "Web Spam",
    "Email Spam",
    "Blog Spam",
    "VPN IP",
    "Port Scan",
    "Hacking",
    "SQL Injection",
    "Spoofing",
    "Brute-Force",
    "Bad Web Bot",
    "Exploited Host",
    "Web App Attack",
    "SSH",
    "IoT Targeted",
};

#define ABUSEIPDB_NCATEGORIES (sizeof(abuseipdb_categories) / sizeof(abuseipdb_categories[0]))

const char *
abuseipdb_category_name(long id)
{
    if (id <= 0 || (size_t)id >= ABUSEIPDB_NCATEGORIES)
        return NULL;
    return abuseipdb_categories[id];
}

enum bridge_verdict
abuseipdb_verdict(long score, long total_reports, int whitelisted)
{
    if (score >= ABUSEIPDB_MALICIOUS_SCORE)
        return BRIDGE_VERDICT_MALICIOUS;
    if (score >= ABUSEIPDB_SUSPICIOUS_SCORE)
        return BRIDGE_VERDICT_SUSPICIOUS;
    if (whitelisted == 1)
        return BRIDGE_VERDICT_SAFE;
    if (score == 0 && total_reports == 0)
        return BRIDGE_VERDICT_SAFE;
    return BRIDGE_VERDICT_INFO;
}

char *
abuseipdb_thousands(long long n)
{
    char digits[32], out[48];
    size_t len, o = 0;
    unsigned long long u = n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n;

    snprintf(digits, sizeof(digits), "%llu", u);
    len = strlen(digits);
    if (n < 0)
        out[o++] = '-';
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    return xstrdup(out);
}

/* ---- small helpers ---------------------------------------------------------------------- */

static void
abuseipdb_join(char **list, const char *sep, const char *text)
{
    char *next;

    if (text == NULL || *text == '\0')
        return;
    next = *list != NULL ? xasprintf("%s%s%s", *list, sep, text) : xstrdup(text);
    free(*list);
    *list = next;
}

static const char *
abuseipdb_yes_no(int b)
{
    return b == 1 ? "yes" : b == 0 ? "no" : "unknown";
}

/* Returns allocated: the names of a report's categories ("SSH,
 * Brute-Force"), counting each in counts. */
static char *
abuseipdb_report_categories(struct json_object *report, size_t counts[ABUSEIPDB_NCATEGORIES])
{
    struct json_object *cats = bridge_json_get(report, "categories", json_type_array);
    char *list = NULL;

    for (size_t i = 0; cats != NULL && i < json_object_array_length(cats); i++) {
        struct json_object *c = json_object_array_get_idx(cats, i);
        long id = json_object_is_type(c, json_type_int) ? (long)json_object_get_int64(c) : -1;
        const char *name = abuseipdb_category_name(id);
        char unknown[32];

        if (name == NULL) {
            snprintf(unknown, sizeof(unknown), "category %ld", id);
            name = unknown;
        } else if (counts != NULL) {
            counts[id]++;
        }
        abuseipdb_join(&list, ", ", name);
    }
    return list;
}

/* Returns allocated: at most ABUSEIPDB_COMMENT_MAX bytes of a comment,
 * cut before a UTF-8 sequence rather than inside one, with "..." if cut. */
static char *
abuseipdb_comment(const char *text)
{
    size_t len = strlen(text), cut = ABUSEIPDB_COMMENT_MAX;

    if (len <= ABUSEIPDB_COMMENT_MAX)
        return xstrdup(text);
    while (cut > 0 && ((unsigned char)text[cut] & 0xc0) == 0x80)
        cut--;
    return xasprintf("%.*s...", (int)cut, text);
}

struct bridge_result *
abuseipdb_result(const char *ip, long days, struct json_object *doc, char **cause)
{
    struct json_object *data = bridge_json_get(doc, "data", json_type_object), *reports, *hostnames;
    size_t counts[ABUSEIPDB_NCATEGORIES] = {0};
    long long score, total, users;
    int tor, white;
    const char *isp, *usage, *last, *country_code, *country_name, *domain;
    struct bridge_result *r;
    char *summary = NULL, *text, *n1, *n2, *list = NULL;

    *cause = NULL;
    if (data == NULL || (score = bridge_json_int(data, "abuseConfidenceScore", -1)) < 0) {
        *cause = xstrdup("the answer has no data.abuseConfidenceScore");
        return NULL;
    }
    total = bridge_json_int(data, "totalReports", 0);
    users = bridge_json_int(data, "numDistinctUsers", 0);
    tor = bridge_json_bool(data, "isTor");
    white = bridge_json_bool(data, "isWhitelisted");
    isp = bridge_json_str(data, "isp");
    usage = bridge_json_str(data, "usageType");
    last = bridge_json_str(data, "lastReportedAt");
    country_code = bridge_json_str(data, "countryCode");
    country_name = bridge_json_str(data, "countryName");
    domain = bridge_json_str(data, "domain");
    reports = bridge_json_get(data, "reports", json_type_array);
    hostnames = bridge_json_get(data, "hostnames", json_type_array);

    r = bridge_result_new("AbuseIPDB on %s (last %ld days)", ip, days);
    bridge_result_verdict(r, abuseipdb_verdict((long)score, (long)total, white));

    /* The summary. */
    n1 = abuseipdb_thousands(total);
    n2 = abuseipdb_thousands(users);
    if (total > 0)
        text = xasprintf("confidence %lld%%, %s report%s by %s user%s%s%.10s", score, n1, total == 1 ? "" : "s", n2,
                         users == 1 ? "" : "s", last != NULL ? ", last " : "", last != NULL ? last : "");
    else
        text = xasprintf("confidence %lld%%, no reports in %ld days", score, days);
    abuseipdb_join(&summary, "; ", text);
    free(text);
    if (isp != NULL) {
        text = xasprintf("ISP %s", isp);
        abuseipdb_join(&summary, "; ", text);
        free(text);
    }
    if (usage != NULL) {
        text = xasprintf("usage type %s", usage);
        abuseipdb_join(&summary, "; ", text);
        free(text);
    }
    if (country_code != NULL) {
        text = xasprintf("country %s", country_code);
        abuseipdb_join(&summary, "; ", text);
        free(text);
    }
    if (tor == 1)
        abuseipdb_join(&summary, "; ", "a Tor exit node");
    if (white == 1)
        abuseipdb_join(&summary, "; ", "on AbuseIPDB's whitelist");
    bridge_result_summary(r, "%s", summary);

    /* The rows. */
    bridge_result_columns(r, "Field", "Value", NULL);
    bridge_result_row(r, "IP address",
                      bridge_json_str(data, "ipAddress") != NULL ? bridge_json_str(data, "ipAddress") : ip, NULL);
    text = xasprintf("%lld%%", score);
    bridge_result_row(r, "Abuse confidence", text, NULL);
    free(text);
    if (isp != NULL)
        bridge_result_row(r, "ISP", isp, NULL);
    if (domain != NULL) {
        char *norm = NULL;

        bridge_result_row(r, "Domain", domain, NULL);
        if (indicator_detect(domain, &norm) == IND_DOMAIN)
            bridge_result_artifact(r, IND_DOMAIN, norm);
        free(norm);
    }
    for (size_t i = 0; hostnames != NULL && i < json_object_array_length(hostnames); i++) {
        struct json_object *h = json_object_array_get_idx(hostnames, i);
        char *norm = NULL;

        if (!json_object_is_type(h, json_type_string))
            continue;
        abuseipdb_join(&list, ", ", json_object_get_string(h));
        if (indicator_detect(json_object_get_string(h), &norm) == IND_DOMAIN)
            bridge_result_artifact(r, IND_DOMAIN, norm);
        free(norm);
    }
    if (list != NULL)
        bridge_result_row(r, "Hostnames", list, NULL);
    free(list);
    list = NULL;
    if (country_code != NULL || country_name != NULL) {
        text = country_name != NULL && country_code != NULL
                   ? xasprintf("%s (%s)", country_name, country_code)
                   : xstrdup(country_name != NULL ? country_name : country_code);
        bridge_result_row(r, "Country", text, NULL);
        free(text);
    }
    if (usage != NULL)
        bridge_result_row(r, "Usage type", usage, NULL);
    bridge_result_row(r, "Tor exit node", abuseipdb_yes_no(tor), NULL);
    bridge_result_row(r, "Whitelisted", abuseipdb_yes_no(white), NULL);
    bridge_result_row(r, "Total reports", n1, NULL);
    bridge_result_row(r, "Distinct reporters", n2, NULL);
    if (last != NULL)
        bridge_result_row(r, "Last reported", last, NULL);

    /* What the latest reports were about: counted over every report
     * returned, then the latest few themselves. */
    for (size_t i = 0; reports != NULL && i < json_object_array_length(reports); i++)
        free(abuseipdb_report_categories(json_object_array_get_idx(reports, i), counts));
    for (;;) {
        size_t best = 0;
        char *one;

        for (size_t id = 1; id < ABUSEIPDB_NCATEGORIES; id++) {
            if (counts[id] > counts[best])
                best = id;
        }
        if (counts[best] == 0)
            break;
        one = xasprintf("%s (%zu)", abuseipdb_categories[best], counts[best]);
        abuseipdb_join(&list, ", ", one);
        free(one);
        counts[best] = 0;
    }
    if (list != NULL) {
        text = xasprintf("Categories (%zu latest reports)", json_object_array_length(reports));
        bridge_result_row(r, text, list, NULL);
        free(text);
    }
    free(list);
    for (size_t i = 0; reports != NULL && i < json_object_array_length(reports) && i < ABUSEIPDB_SHOWN_REPORTS; i++) {
        struct json_object *rep = json_object_array_get_idx(reports, i);
        const char *when = bridge_json_str(rep, "reportedAt"), *comment = bridge_json_str(rep, "comment");
        const char *from = bridge_json_str(rep, "reporterCountryCode");
        char *cats = abuseipdb_report_categories(rep, NULL),
             *shown = comment != NULL ? abuseipdb_comment(comment) : NULL;
        char *field = xasprintf("Report %.10s%s%s%s", when != NULL ? when : "", from != NULL ? " (from " : "",
                                from != NULL ? from : "", from != NULL ? ")" : "");

        text = xasprintf("%s%s%s", cats != NULL ? cats : "no category", shown != NULL ? ": " : "",
                         shown != NULL ? shown : "");
        bridge_result_row(r, field, text, NULL);
        free(field);
        free(text);
        free(cats);
        free(shown);
    }
    bridge_result_raw(r, json_object_get(data));
    free(summary);
    free(n1);
    free(n2);
    return r;
}

/* ---- the call ------------------------------------------------------------------------------ */

/* The days argument as a number from 1 to 365, or -1. */
static long
abuseipdb_days(struct bridge_call *call)
{
    const char *text = bridge_call_arg(call, "days");
    char *end;
    long days;

    if (text == NULL || *text < '0' || *text > '9')
        return -1;
    days = strtol(text, &end, 10);
    return *end == '\0' && days >= 1 && days <= 365 ? days : -1;
}

static void
abuseipdb_on_answer(struct bridge_call *call, const struct tool_http_response *res, void *arg)
{
    struct bridge_result *r;
    char *cause = NULL;

    (void)arg;
    if (res->failure != TOOL_HTTP_OK || res->status < 200 || res->status > 299 || res->json == NULL) {
        bridge_fail_http(call, "AbuseIPDB", res);
        return;
    }
    if ((r = abuseipdb_result(bridge_call_arg(call, "ip"), abuseipdb_days(call), res->json, &cause)) == NULL) {
        bridge_fail(call, cause, "AbuseIPDB answered with something that is not a report on an IP address");
        free(cause);
        return;
    }
    bridge_done(call, r);
}

static void
abuseipdb_check(struct bridge_call *call)
{
    struct abuseipdb_state *st = (struct abuseipdb_state *)bridge_call_state(call);
    const char *ip = bridge_call_arg(call, "ip");
    long days = abuseipdb_days(call);
    char *key = NULL, *url = NULL, *escaped = NULL;
    struct tool_http_request req = {0};

    if (days < 0) {
        bridge_fail(call, NULL, "days must be a number of days from 1 to 365, not \"%s\"",
                    bridge_call_arg(call, "days"));
        return;
    }
    if ((escaped = curl_easy_escape(NULL, ip, 0)) == NULL)
        abort(); /* curl fails only to allocate */
    key = xasprintf("Key: %s", st->api_key);
    url = xasprintf("%s/check?ipAddress=%s&maxAgeInDays=%ld&verbose", st->base_url, escaped, days);
    {
        const char *headers[] = {key, "Accept: application/json", NULL};

        req.method = "GET";
        req.url = url;
        req.headers = headers;
        /* The bridge's timeout ends the call first, with its own words. */
        req.timeout_ms = (long)st->super.timeout_ms + 1000;
        req.max_response = 4 * 1024 * 1024;
        bridge_http(call, &req, abuseipdb_on_answer, NULL);
    }
    curl_free(escaped);
    xfree_secret(key);
    free(url);
}

static int
abuseipdb_init(struct bridge_state *bst, uv_loop_t *loop, char **cause)
{
    struct abuseipdb_state *st = (struct abuseipdb_state *)bst;

    (void)loop;
    return bridge_check_api_key(st->api_key, "the API v2 key of your AbuseIPDB account (its API page)", cause);
}

static const struct bridge_arg abuseipdb_check_args[] = {
    {.name = "ip",
     .help = "an IPv4 or IPv6 address",
     .types = IND_IP,
     .flags = BRIDGE_ARG_POSITIONAL | BRIDGE_ARG_REQUIRED},
    {.name = "days",
     .help = "how many days of reports, 1 to 365",
     .flags = BRIDGE_ARG_POSITIONAL,
     .default_value = "90"},
    {.name = NULL},
};

static const struct bridge_command abuseipdb_commands[] = {
    {.name = "check",
     .usage = "check <ip> [days]",
     .help = "how often and for what an IP address was reported, and AbuseIPDB's confidence that it is abusive",
     .args = abuseipdb_check_args,
     .enrich = IND_IP,
     .level = PERM_ANALYST,
     .cacheable = 1,
     .run = abuseipdb_check},
    {.name = NULL},
};

const struct bridge bridge_abuseipdb = {
    .name = "abuseipdb",
    .displayname = "AbuseIPDB",
    .description = "reports of abuse (scans, brute force, spam) from an IP address",
    .level = PERM_ANALYST,
    .enabled_by_default = 0,
    .commands = abuseipdb_commands,
    .config = abuseipdb_config,
    .state_size = sizeof(struct abuseipdb_state),
    .init = abuseipdb_init,
};
