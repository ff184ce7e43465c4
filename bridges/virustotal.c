/*
 * The virustotal bridge: what VirusTotal's engines and community say about
 * an IP address, a domain, a URL or a file hash (API v3).
 *
 *   !virustotal <indicator>        the type is detected
 *   !virustotal ip <address>       /ip_addresses/{ip}
 *   !virustotal domain <domain>    /domains/{domain}
 *   !virustotal url <url>          /urls/{id}, id the URL in URL-safe base64
 *   !virustotal hash <hash>        /files/{md5, sha1 or sha256}
 *   !virustotal submit <url>       POST /urls: have VirusTotal scan the URL
 *                                  (dangerous: the URL leaves for a third
 *                                  party, so the caller confirms first)
 *
 * The verdict is the engines' (see virustotal_verdict()); the answer lists
 * the engines that flagged the indicator and the attributes an analyst
 * reads first.  A 404 is an answer: VirusTotal has never seen it.  The API
 * key (bridges.virustotal.api_key) is required when the bridge is enabled
 * and is sent only in the x-apikey header, never logged.
 */
#include "autoconfig.h"

#include <curl/curl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "appservice/tool_http.h"
#include "appservice/xmalloc.h"
#include "bridges/bridge.h"
#include "bridges/bridge_json.h"
#include "bridges/virustotal.h"

/* At most this many names of a file are shown. */
#define VIRUSTOTAL_MAX_NAMES 5

struct virustotal_state {
    struct bridge_state super;
    char *api_key;  /* bridges.virustotal.api_key (secret) */
    char *base_url; /* bridges.virustotal.base_url, without a trailing '/' */
};

static const struct config_key virustotal_config[] = {
    {.name = "api_key",
     .type = CONFIG_SECRET,
     .flags = CONFIG_OPTIONAL,
     .help = "the VirusTotal API key (required when the bridge is enabled)",
     .offset = offsetof(struct virustotal_state, api_key)},
    {.name = "base_url",
     .type = CONFIG_URL,
     .default_value = "https://www.virustotal.com/api/v3",
     .help = "the VirusTotal API v3",
     .offset = offsetof(struct virustotal_state, base_url)},
    {.name = NULL},
};

/* ---- small helpers ---------------------------------------------------------------------- */

/* Appends text to *list with sep between items (*list may be NULL). */
static void
virustotal_join(char **list, const char *sep, const char *text)
{
    char *next;

    if (text == NULL || *text == '\0')
        return;
    next = *list != NULL ? xasprintf("%s%s%s", *list, sep, text) : xstrdup(text);
    free(*list);
    *list = next;
}

/* Writes a Unix time as "YYYY-MM-DD" into buf (11 bytes). */
static void
virustotal_date(long long t, char buf[11])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, 11, "%Y-%m-%d", &tm) == 0)
        snprintf(buf, 11, "?");
}

/* Adds a row of an attribute ("attribute" in the category column). */
static void
virustotal_attr(struct bridge_result *r, const char *name, const char *value)
{
    if (value != NULL && *value != '\0')
        bridge_result_row(r, name, "attribute", value, NULL);
}

/* Adds the row of a date attribute (Unix time) if present. */
static void
virustotal_attr_date(struct bridge_result *r, struct json_object *attrs, const char *key, const char *name)
{
    long long t = bridge_json_int(attrs, key, -1);
    char date[11];

    if (t <= 0)
        return;
    virustotal_date(t, date);
    virustotal_attr(r, name, date);
}

/* Returns allocated: the values of a string array joined with ", " (at
 * most max), or NULL. */
static char *
virustotal_list(struct json_object *array, size_t max)
{
    char *list = NULL;
    size_t n = array != NULL ? json_object_array_length(array) : 0;

    for (size_t i = 0; i < n && i < max; i++) {
        struct json_object *v = json_object_array_get_idx(array, i);

        if (json_object_is_type(v, json_type_string))
            virustotal_join(&list, ", ", json_object_get_string(v));
    }
    if (list != NULL && n > max) {
        char *more = xasprintf("%s and %zu more", list, n - max);

        free(list);
        list = more;
    }
    return list;
}

/* Returns allocated: the categories vendors gave a domain or URL
 * ({"Forcepoint ThreatSeeker": "phishing"}), "vendor: category, ...", or
 * NULL. */
static char *
virustotal_categories(struct json_object *attrs)
{
    struct json_object *cats = bridge_json_get(attrs, "categories", json_type_object);
    char *list = NULL;

    if (cats == NULL)
        return NULL;
    json_object_object_foreach(cats, vendor, v)
    {
        char *one;

        if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
            continue;
        one = xasprintf("%s: %s", vendor, json_object_get_string(v));
        virustotal_join(&list, ", ", one);
        free(one);
    }
    return list;
}

/* ---- identifiers and verdicts ---------------------------------------------------------- */

char *
virustotal_url_id(const char *url)
{
    size_t len = strlen(url);
    char *out, *w;

    if (len > INT_MAX / 2)
        abort(); /* no command line is that long */
    /* EVP_EncodeBlock writes 4 bytes per 3 and a NUL, standard alphabet
     * with padding; VirusTotal wants the URL-safe one without. */
    out = xmalloc(((len + 2) / 3) * 4 + 1);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)url, (int)len);
    for (w = out; *w != '\0' && *w != '='; w++) {
        if (*w == '+')
            *w = '-';
        else if (*w == '/')
            *w = '_';
    }
    *w = '\0';
    return out;
}

enum bridge_verdict
virustotal_verdict(long malicious, long suspicious, long harmless)
{
    if (malicious >= 3)
        return BRIDGE_VERDICT_MALICIOUS;
    if (malicious >= 1 || suspicious >= 1)
        return BRIDGE_VERDICT_SUSPICIOUS;
    if (harmless > 0)
        return BRIDGE_VERDICT_SAFE;
    return BRIDGE_VERDICT_INFO;
}

/* ---- results ------------------------------------------------------------------------------ */

static const char *
virustotal_kind_name(enum virustotal_kind kind)
{
    static const char *const names[] = {"IP address", "domain", "URL", "file"};

    return names[kind];
}

/* One engine that flagged the object. */
struct virustotal_engine {
    const char *name;
    const char *category;
    const char *result;
};

/* Malicious before suspicious, then by name. */
static int
virustotal_engine_cmp(const void *a, const void *b)
{
    const struct virustotal_engine *x = a, *y = b;
    int xm = strcmp(x->category, "malicious") == 0, ym = strcmp(y->category, "malicious") == 0;

    if (xm != ym)
        return ym - xm;
    return strcasecmp(x->name, y->name);
}

/* Adds a row for every engine whose category is malicious or suspicious. */
static void
virustotal_engine_rows(struct bridge_result *r, struct json_object *attrs)
{
    struct json_object *results = bridge_json_get(attrs, "last_analysis_results", json_type_object);
    struct virustotal_engine *v = NULL;
    size_t n = 0;

    if (results == NULL)
        return;
    json_object_object_foreach(results, key, e)
    {
        const char *cat = bridge_json_str(e, "category");

        if (cat == NULL || (strcmp(cat, "malicious") != 0 && strcmp(cat, "suspicious") != 0))
            continue;
        v = xreallocarray(v, n + 1, sizeof(*v));
        v[n].name = bridge_json_str(e, "engine_name") != NULL ? bridge_json_str(e, "engine_name") : key;
        v[n].category = cat;
        v[n].result = bridge_json_str(e, "result") != NULL ? bridge_json_str(e, "result") : "";
        n++;
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), virustotal_engine_cmp);
    for (size_t i = 0; i < n; i++)
        bridge_result_row(r, v[i].name, v[i].category, v[i].result, NULL);
    free(v);
}

/* The attributes an analyst reads first, per kind; returns allocated
 * key facts for the summary, or NULL. */
static char *
virustotal_attr_rows(struct bridge_result *r, enum virustotal_kind kind, struct json_object *attrs)
{
    char *facts = NULL, *text;
    long long n;

    switch (kind) {
    case VIRUSTOTAL_IP: {
        const char *owner = bridge_json_str(attrs, "as_owner"), *country = bridge_json_str(attrs, "country");

        n = bridge_json_int(attrs, "asn", -1);
        text = n >= 0 ? xasprintf("AS%lld", n) : NULL;
        virustotal_attr(r, "AS owner", owner);
        virustotal_attr(r, "ASN", text);
        virustotal_attr(r, "Country", country);
        virustotal_attr(r, "Network", bridge_json_str(attrs, "network"));
        virustotal_attr(r, "Regional registry", bridge_json_str(attrs, "regional_internet_registry"));
        virustotal_join(&facts, " ", text);
        virustotal_join(&facts, " ", owner);
        if (country != NULL) {
            free(text);
            text = xasprintf("country %s", country);
            virustotal_join(&facts, ", ", text);
        }
        free(text);
        break;
    }
    case VIRUSTOTAL_DOMAIN: {
        const char *registrar = bridge_json_str(attrs, "registrar");
        char *cats = virustotal_categories(attrs);
        char date[11];

        n = bridge_json_int(attrs, "creation_date", -1);
        virustotal_attr(r, "Registrar", registrar);
        virustotal_attr_date(r, attrs, "creation_date", "Created");
        virustotal_attr(r, "Categories", cats);
        if (registrar != NULL) {
            text = xasprintf("registrar %s", registrar);
            virustotal_join(&facts, "; ", text);
            free(text);
        }
        if (n > 0) {
            virustotal_date(n, date);
            text = xasprintf("created %s", date);
            virustotal_join(&facts, "; ", text);
            free(text);
        }
        free(cats);
        break;
    }
    case VIRUSTOTAL_URL: {
        const char *url = bridge_json_str(attrs, "url"), *final = bridge_json_str(attrs, "last_final_url");
        const char *title = bridge_json_str(attrs, "title");
        char *cats = virustotal_categories(attrs);

        virustotal_attr(r, "URL", url);
        if (final != NULL && (url == NULL || strcmp(final, url) != 0)) {
            char *norm = NULL;

            virustotal_attr(r, "Final URL", final);
            if (indicator_detect(final, &norm) == IND_URL)
                bridge_result_artifact(r, IND_URL, norm);
            free(norm);
            text = xasprintf("leads to %s", final);
            virustotal_join(&facts, "; ", text);
            free(text);
        }
        virustotal_attr(r, "Title", title);
        n = bridge_json_int(attrs, "last_http_response_code", -1);
        if (n > 0) {
            text = xasprintf("%lld", n);
            virustotal_attr(r, "HTTP status", text);
            free(text);
        }
        virustotal_attr(r, "Categories", cats);
        virustotal_attr_date(r, attrs, "first_submission_date", "First submitted");
        if (title != NULL) {
            text = xasprintf("title \"%s\"", title);
            virustotal_join(&facts, "; ", text);
            free(text);
        }
        free(cats);
        break;
    }
    case VIRUSTOTAL_FILE: {
        const char *type = bridge_json_str(attrs, "type_description");
        char *names = virustotal_list(bridge_json_get(attrs, "names", json_type_array), VIRUSTOTAL_MAX_NAMES);
        struct json_object *ptc = bridge_json_get(attrs, "popular_threat_classification", json_type_object);
        const char *label = bridge_json_str(ptc, "suggested_threat_label");

        virustotal_attr(r, "Type", type);
        n = bridge_json_int(attrs, "size", -1);
        text = n >= 0 ? xasprintf("%lld bytes", n) : NULL;
        virustotal_attr(r, "Size", text);
        virustotal_attr(r, "Names", names);
        virustotal_attr_date(r, attrs, "first_submission_date", "First submitted");
        virustotal_attr(r, "Threat label", label);
        virustotal_attr(r, "SHA-256", bridge_json_str(attrs, "sha256"));
        virustotal_join(&facts, "; ", type);
        virustotal_join(&facts, ", ", text);
        if (label != NULL) {
            char *l = xasprintf("label %s", label);

            virustotal_join(&facts, "; ", l);
            free(l);
        }
        free(text);
        free(names);
        break;
    }
    }
    return facts;
}

struct bridge_result *
virustotal_result(enum virustotal_kind kind, const char *query, struct json_object *doc, char **cause)
{
    struct json_object *data = bridge_json_get(doc, "data", json_type_object);
    struct json_object *attrs = bridge_json_get(data, "attributes", json_type_object);
    struct json_object *stats = bridge_json_get(attrs, "last_analysis_stats", json_type_object);
    struct json_object *votes = bridge_json_get(attrs, "total_votes", json_type_object);
    struct bridge_result *r;
    char *summary = NULL, *tags, *facts, *text;
    long long malicious = 0, suspicious = 0, harmless = 0, total = 0, rep;

    *cause = NULL;
    if (attrs == NULL) {
        *cause = xstrdup("the answer has no data.attributes");
        return NULL;
    }
    r = bridge_result_new("VirusTotal on %s (%s)", query, virustotal_kind_name(kind));
    bridge_result_columns(r, "Name", "Category", "Value", NULL);
    if (stats != NULL) {
        json_object_object_foreach(stats, key, v)
        {
            long long c = json_object_is_type(v, json_type_int) ? (long long)json_object_get_int64(v) : 0;

            if (c < 0)
                c = 0;
            /* Engines that cannot handle the type, or failed, did not
             * look at it: the total is of those that did. */
            if (strcmp(key, "type-unsupported") != 0 && strcmp(key, "failure") != 0 &&
                strcmp(key, "confirmed-timeout") != 0)
                total += c;
            if (strcmp(key, "malicious") == 0)
                malicious = c;
            else if (strcmp(key, "suspicious") == 0)
                suspicious = c;
            else if (strcmp(key, "harmless") == 0)
                harmless = c;
        }
        text = suspicious > 0 ? xasprintf("%lld/%lld engines: malicious, %lld suspicious", malicious, total, suspicious)
                              : xasprintf("%lld/%lld engines: malicious", malicious, total);
        virustotal_join(&summary, "; ", text);
        free(text);
        bridge_result_verdict(r, virustotal_verdict((long)malicious, (long)suspicious, (long)harmless));
    } else {
        virustotal_join(&summary, "; ", "not analysed yet");
        bridge_result_verdict(r, BRIDGE_VERDICT_INFO);
    }
    rep = bridge_json_int(attrs, "reputation", LLONG_MIN);
    if (rep != LLONG_MIN) {
        text = xasprintf("reputation %lld", rep);
        virustotal_join(&summary, "; ", text);
        free(text);
    }
    tags = virustotal_list(bridge_json_get(attrs, "tags", json_type_array), 8);
    if (tags != NULL) {
        text = xasprintf("tags %s", tags);
        virustotal_join(&summary, "; ", text);
        free(text);
    }
    facts = virustotal_attr_rows(r, kind, attrs);
    virustotal_join(&summary, "; ", facts);
    free(facts);
    if (rep != LLONG_MIN) {
        text = xasprintf("%lld", rep);
        virustotal_attr(r, "Reputation", text);
        free(text);
    }
    virustotal_attr(r, "Tags", tags);
    if (votes != NULL) {
        text = xasprintf("%lld harmless, %lld malicious", bridge_json_int(votes, "harmless", 0),
                         bridge_json_int(votes, "malicious", 0));
        virustotal_attr(r, "Community votes", text);
        free(text);
    }
    virustotal_attr_date(r, attrs, "last_analysis_date", "Last analysed");
    virustotal_engine_rows(r, attrs);
    bridge_result_summary(r, "%s", summary);
    bridge_result_raw(r, json_object_get(data));
    free(summary);
    free(tags);
    return r;
}

struct bridge_result *
virustotal_result_unknown(enum virustotal_kind kind, const char *query)
{
    struct bridge_result *r = bridge_result_new("VirusTotal on %s (%s)", query, virustotal_kind_name(kind));

    bridge_result_columns(r, "Name", "Category", "Value", NULL);
    if (kind == VIRUSTOTAL_URL)
        bridge_result_summary(r, "VirusTotal has never seen it (submit it to have it scanned)");
    else
        bridge_result_summary(r, "VirusTotal has never seen it");
    return r;
}

struct bridge_result *
virustotal_result_submitted(const char *url, struct json_object *doc, char **cause)
{
    struct json_object *data = bridge_json_get(doc, "data", json_type_object);
    const char *id = bridge_json_str(data, "id"), *type = bridge_json_str(data, "type");
    struct bridge_result *r;
    char *url_id;

    *cause = NULL;
    if (id == NULL || (type != NULL && strcmp(type, "analysis") != 0)) {
        *cause = xstrdup("the answer has no data.id of an analysis");
        return NULL;
    }
    url_id = virustotal_url_id(url);
    r = bridge_result_new("VirusTotal: %s submitted for scanning", url);
    bridge_result_summary(r, "queued for analysis %s; look the URL up again in a minute or two for the verdict", id);
    bridge_result_columns(r, "Name", "Category", "Value", NULL);
    bridge_result_row(r, "Analysis ID", "submission", id, NULL);
    bridge_result_row(r, "URL ID", "submission", url_id, NULL);
    bridge_result_raw(r, json_object_get(data));
    free(url_id);
    return r;
}

/* ---- the calls --------------------------------------------------------------------------- */

/* What a lookup asks for, derived from the call's command and argument
 * (at the start and again when the answer comes: nothing travels with
 * the request). */
static int
virustotal_target(struct bridge_call *call, enum virustotal_kind *kind, const char **value)
{
    const char *cmd = bridge_call_command(call)->name;
    unsigned type;

    if (strcmp(cmd, "lookup") == 0) {
        *value = bridge_call_arg(call, "indicator");
        type = bridge_call_arg_type(call, "indicator");
    } else {
        /* Each command's argument has the command's name ("ip", ...),
         * but submit's is "url". */
        *value = bridge_call_arg(call, strcmp(cmd, "submit") == 0 ? "url" : cmd);
        type = bridge_call_arg_type(call, strcmp(cmd, "submit") == 0 ? "url" : cmd);
    }
    if (*value == NULL)
        return -1;
    if (type & IND_IP)
        *kind = VIRUSTOTAL_IP;
    else if (type == IND_DOMAIN)
        *kind = VIRUSTOTAL_DOMAIN;
    else if (type == IND_URL)
        *kind = VIRUSTOTAL_URL;
    else if (type & IND_HASH)
        *kind = VIRUSTOTAL_FILE;
    else
        return -1;
    return 0;
}

static void
virustotal_on_lookup(struct bridge_call *call, const struct tool_http_response *res, void *arg)
{
    enum virustotal_kind kind;
    const char *value;
    struct bridge_result *r;
    char *cause = NULL;

    (void)arg;
    if (virustotal_target(call, &kind, &value) != 0) {
        bridge_fail(call, NULL, "VirusTotal looks up IP addresses, domains, URLs and file hashes only");
        return;
    }
    if (res->failure == TOOL_HTTP_OK && res->status == 404) {
        bridge_done(call, virustotal_result_unknown(kind, value));
        return;
    }
    if (res->failure != TOOL_HTTP_OK || res->status < 200 || res->status > 299 || res->json == NULL) {
        bridge_fail_http(call, "VirusTotal", res);
        return;
    }
    if ((r = virustotal_result(kind, value, res->json, &cause)) == NULL) {
        bridge_fail(call, cause, "VirusTotal answered with something that is not a report on the %s",
                    virustotal_kind_name(kind));
        free(cause);
        return;
    }
    bridge_done(call, r);
}

static void
virustotal_on_submit(struct bridge_call *call, const struct tool_http_response *res, void *arg)
{
    struct bridge_result *r;
    char *cause = NULL;

    (void)arg;
    if (res->failure != TOOL_HTTP_OK || res->status < 200 || res->status > 299 || res->json == NULL) {
        bridge_fail_http(call, "VirusTotal", res);
        return;
    }
    if ((r = virustotal_result_submitted(bridge_call_arg(call, "url"), res->json, &cause)) == NULL) {
        bridge_fail(call, cause, "VirusTotal answered the submission with something that is not an analysis");
        free(cause);
        return;
    }
    bridge_done(call, r);
}

/* Sends a request with the API key; body is a form or NULL. */
static void
virustotal_request(struct bridge_call *call, const char *method, const char *path, const char *body,
                   void (*cb)(struct bridge_call *, const struct tool_http_response *, void *))
{
    struct virustotal_state *st = (struct virustotal_state *)bridge_call_state(call);
    char *key = xasprintf("x-apikey: %s", st->api_key), *url = xasprintf("%s/%s", st->base_url, path);
    const char *headers[] = {key, "Accept: application/json",
                             body != NULL ? "Content-Type: application/x-www-form-urlencoded" : NULL, NULL};
    struct tool_http_request req = {0};

    req.method = method;
    req.url = url;
    req.headers = headers;
    req.body = body;
    req.body_len = body != NULL ? strlen(body) : 0;
    /* The bridge's timeout ends the call first, with its own words. */
    req.timeout_ms = (long)st->super.timeout_ms + 1000;
    req.max_response = 8 * 1024 * 1024;
    bridge_http(call, &req, cb, NULL);
    xfree_secret(key);
    free(url);
}

static void
virustotal_lookup(struct bridge_call *call)
{
    static const char *const collections[] = {"ip_addresses", "domains", "urls", "files"};
    enum virustotal_kind kind;
    const char *value;
    char *path, *id = NULL;

    if (virustotal_target(call, &kind, &value) != 0) {
        bridge_fail(call, NULL, "VirusTotal looks up IP addresses, domains, URLs and file hashes only");
        return;
    }
    if (kind == VIRUSTOTAL_URL)
        id = virustotal_url_id(value);
    path = xasprintf("%s/%s", collections[kind], id != NULL ? id : value);
    virustotal_request(call, "GET", path, NULL, virustotal_on_lookup);
    free(path);
    free(id);
}

static void
virustotal_submit(struct bridge_call *call)
{
    const char *url = bridge_call_arg(call, "url");
    char *escaped = curl_easy_escape(NULL, url, 0), *body;

    if (escaped == NULL)
        abort(); /* curl fails only to allocate */
    body = xasprintf("url=%s", escaped);
    curl_free(escaped);
    virustotal_request(call, "POST", "urls", body, virustotal_on_submit);
    free(body);
}

static int
virustotal_init(struct bridge_state *bst, uv_loop_t *loop, char **cause)
{
    struct virustotal_state *st = (struct virustotal_state *)bst;

    (void)loop;
    return bridge_check_api_key(st->api_key, "the API key of your VirusTotal account (its API key page)", cause);
}

static const struct bridge_arg virustotal_any_args[] = {
    {.name = "indicator",
     .help = "an IP address, a domain, a URL or a file hash (MD5, SHA-1 or SHA-256)",
     .types = IND_IP | IND_DOMAIN | IND_URL | IND_HASH,
     .flags = BRIDGE_ARG_POSITIONAL | BRIDGE_ARG_REQUIRED},
    {.name = NULL},
};

static const struct bridge_arg virustotal_ip_args[] = {
    {.name = "ip",
     .help = "an IPv4 or IPv6 address",
     .types = IND_IP,
     .flags = BRIDGE_ARG_POSITIONAL | BRIDGE_ARG_REQUIRED},
    {.name = NULL},
};

static const struct bridge_arg virustotal_domain_args[] = {
    {.name = "domain",
     .help = "the domain (example.com)",
     .types = IND_DOMAIN,
     .flags = BRIDGE_ARG_POSITIONAL | BRIDGE_ARG_REQUIRED},
    {.name = NULL},
};

static const struct bridge_arg virustotal_url_args[] = {
    {.name = "url",
     .help = "the URL (http or https)",
     .types = IND_URL,
     .flags = BRIDGE_ARG_POSITIONAL | BRIDGE_ARG_REQUIRED},
    {.name = NULL},
};

static const struct bridge_arg virustotal_hash_args[] = {
    {.name = "hash",
     .help = "the file's MD5, SHA-1 or SHA-256",
     .types = IND_HASH,
     .flags = BRIDGE_ARG_POSITIONAL | BRIDGE_ARG_REQUIRED},
    {.name = NULL},
};

static const struct bridge_command virustotal_commands[] = {
    {.name = "lookup",
     .usage = "lookup <ip|domain|url|hash>",
     .help = "what VirusTotal knows of an indicator (the type is detected)",
     .args = virustotal_any_args,
     .level = PERM_ANALYST,
     .cacheable = 1,
     .run = virustotal_lookup},
    {.name = "ip",
     .usage = "ip <address>",
     .help = "an IP address's detections, owner and country",
     .args = virustotal_ip_args,
     .enrich = IND_IP,
     .level = PERM_ANALYST,
     .cacheable = 1,
     .run = virustotal_lookup},
    {.name = "domain",
     .usage = "domain <domain>",
     .help = "a domain's detections, registrar, creation date and categories",
     .args = virustotal_domain_args,
     .enrich = IND_DOMAIN,
     .level = PERM_ANALYST,
     .cacheable = 1,
     .run = virustotal_lookup},
    {.name = "url",
     .usage = "url <url>",
     .help = "a URL's detections, final URL and title",
     .args = virustotal_url_args,
     .enrich = IND_URL,
     .level = PERM_ANALYST,
     .cacheable = 1,
     .run = virustotal_lookup},
    {.name = "hash",
     .usage = "hash <md5|sha1|sha256>",
     .help = "a file's detections, type, size and names",
     .args = virustotal_hash_args,
     .enrich = IND_HASH,
     .level = PERM_ANALYST,
     .cacheable = 1,
     .run = virustotal_lookup},
    {.name = "submit",
     .usage = "submit <url>",
     .help = "have VirusTotal scan a URL (it is sent to VirusTotal and its engines; asks for confirmation)",
     .args = virustotal_url_args,
     .level = PERM_ANALYST,
     .dangerous = 1,
     .run = virustotal_submit},
    {.name = NULL},
};

const struct bridge bridge_virustotal = {
    .name = "virustotal",
    .displayname = "VirusTotal",
    .description = "what antivirus engines and the community say about IPs, domains, URLs and files",
    .level = PERM_ANALYST,
    .enabled_by_default = 0,
    .commands = virustotal_commands,
    .config = virustotal_config,
    .state_size = sizeof(struct virustotal_state),
    .init = virustotal_init,
};
