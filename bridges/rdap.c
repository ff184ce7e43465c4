/*
 * The rdap bridge: registration data over RDAP (RFC 9083, the successor of
 * WHOIS) for domains, IP networks and AS numbers.
 *
 *   !rdap <domain|ip|AS number>   the type is detected (a URL or an e-mail
 *                                 address means its host or domain)
 *   !rdap domain <domain>         registrar, dates, status, name servers,
 *                                 contacts, DNSSEC
 *   !rdap ip <address>            the network holding it: range, name,
 *                                 type, country, parent, contacts
 *   !rdap asn <AS13335|13335>     the AS number's holder
 *
 * The server is chosen as RFC 9224 says, from IANA's bootstrap registries
 * (dns.json, ipv4.json, ipv6.json, asn.json in bridges.rdap.bootstrap_dir;
 * copies are installed with warroom), unless bridges.rdap.base_url sends
 * every query to one server (an RDAP proxy, or a test).  Registries answer
 * with redirects to the one that holds the data (the RIRs do), which are
 * followed through the SSRF guard.  A 404 is an answer, not a failure:
 * the registry has no data on it.
 *
 * RDAP is public data, so a guest may use the bridge.  It does not judge,
 * except that a domain registered less than 30 days ago is suspicious:
 * most phishing domains are days old when they are used.
 */
#include "autoconfig.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "appservice/clock.h"
#include "appservice/net_ranges.h"
#include "appservice/tool_http.h"
#include "appservice/xmalloc.h"
#include "bridges/bridge.h"
#include "bridges/bridge_json.h"
#include "bridges/rdap.h"

#ifndef WARROOM_PKGDATADIR
#define WARROOM_PKGDATADIR "/usr/local/share/warroom"
#endif

/* How deep entities nested in entities are searched for contacts (gTLD
 * registries put the abuse contact inside the registrar). */
#define RDAP_ENTITY_DEPTH 4

/* One entry of a bootstrap service: a DNS label suffix, a network or a
 * range of AS numbers, and the index of its base URL. */
struct rdap_entry {
    char *label; /* dns: "com", "co.uk" (lower case) */
    struct net_cidr cidr;
    uint32_t lo, hi;
    size_t url;
};

/* One bootstrap registry (one file). */
struct rdap_registry {
    struct rdap_entry *v;
    size_t n;
    char **urls; /* the chosen base URL of each service, ending in '/' */
    size_t nurls;
};

enum rdap_file {
    RDAP_FILE_DNS,
    RDAP_FILE_IPV4,
    RDAP_FILE_IPV6,
    RDAP_FILE_ASN,
    RDAP_NFILES,
};

static const char *const rdap_file_names[RDAP_NFILES] = {"dns.json", "ipv4.json", "ipv6.json", "asn.json"};

struct rdap_bootstrap {
    struct rdap_registry reg[RDAP_NFILES];
};

struct rdap_state {
    struct bridge_state super;
    char *bootstrap_dir;       /* bridges.rdap.bootstrap_dir */
    char *base_url;            /* bridges.rdap.base_url, or NULL */
    struct rdap_bootstrap *bs; /* loaded by init unless base_url is set */
};

static const struct config_key rdap_config[] = {
    {.name = "bootstrap_dir",
     .type = CONFIG_STRING,
     .default_value = WARROOM_PKGDATADIR "/rdap",
     .help = "directory of IANA's RDAP bootstrap files (dns.json, ipv4.json, ipv6.json, asn.json)",
     .offset = offsetof(struct rdap_state, bootstrap_dir)},
    {.name = "base_url",
     .type = CONFIG_URL,
     .flags = CONFIG_OPTIONAL,
     .help = "send every query to this RDAP server (a proxy) instead of the one the bootstrap files name",
     .offset = offsetof(struct rdap_state, base_url)},
    {.name = NULL},
};

/* ---- small helpers ---------------------------------------------------------------------- */

/* The array member key of o, or NULL. */
static struct json_object *
rdap_array(struct json_object *o, const char *key)
{
    struct json_object *v;

    if (o == NULL || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
        return NULL;
    return v;
}

/* Returns allocated: s in lower case. */
static char *
rdap_lower(const char *s)
{
    char *out = xstrdup(s);

    for (char *p = out; *p != '\0'; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    }
    return out;
}

/* Appends text to *list with sep between items (*list may be NULL). */
static void
rdap_join(char **list, const char *sep, const char *text)
{
    char *next;

    if (text == NULL || *text == '\0')
        return;
    next = *list != NULL ? xasprintf("%s%s%s", *list, sep, text) : xstrdup(text);
    free(*list);
    *list = next;
}

/* ---- the bootstrap registries ---------------------------------------------------------- */

/* Parses "lo-hi" or "n" into a range of AS numbers.  0 or -1. */
static int
rdap_parse_range(const char *s, uint32_t *lo, uint32_t *hi)
{
    char *end;
    unsigned long long a, b;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    a = strtoull(s, &end, 10);
    if (errno != 0 || a > UINT32_MAX)
        return -1;
    b = a;
    if (*end == '-') {
        if (end[1] < '0' || end[1] > '9')
            return -1;
        b = strtoull(end + 1, &end, 10);
        if (errno != 0 || b > UINT32_MAX || b < a)
            return -1;
    }
    if (*end != '\0')
        return -1;
    *lo = (uint32_t)a;
    *hi = (uint32_t)b;
    return 0;
}

/* Reads one entry of file f into e.  Returns 0, or -1 with a reason. */
static int
rdap_bootstrap_entry(enum rdap_file f, const char *text, struct rdap_entry *e, char **cause)
{
    char *why = NULL;

    switch (f) {
    case RDAP_FILE_DNS:
        e->label = rdap_lower(text);
        /* "com." is written "com" in IANA's file; accept both. */
        if (e->label[0] != '\0' && e->label[strlen(e->label) - 1] == '.')
            e->label[strlen(e->label) - 1] = '\0';
        if (e->label[0] == '\0') {
            *cause = xstrdup("an empty domain label");
            return -1;
        }
        return 0;
    case RDAP_FILE_IPV4:
    case RDAP_FILE_IPV6:
        if (net_ranges_parse_cidr(text, &e->cidr, &why) != 0) {
            *cause = xasprintf("\"%s\" is not a network: %s", text, why);
            free(why);
            return -1;
        }
        if (e->cidr.base.family != (f == RDAP_FILE_IPV4 ? AF_INET : AF_INET6)) {
            *cause = xasprintf("\"%s\" is not an IPv%c network", text, f == RDAP_FILE_IPV4 ? '4' : '6');
            return -1;
        }
        return 0;
    case RDAP_FILE_ASN:
        if (rdap_parse_range(text, &e->lo, &e->hi) != 0) {
            *cause = xasprintf("\"%s\" is not an AS number range (\"64512-65534\")", text);
            return -1;
        }
        return 0;
    default:
        break;
    }
    *cause = xstrdup("unknown registry");
    return -1;
}

/* Chooses a service's base URL: the first https one, else the first
 * http one (RFC 9224 section 3), with a trailing '/'.  Returns allocated,
 * or NULL if there is none. */
static char *
rdap_bootstrap_url(struct json_object *urls)
{
    const char *pick = NULL;

    for (size_t pass = 0; pass < 2 && pick == NULL; pass++) {
        for (size_t i = 0; i < json_object_array_length(urls); i++) {
            struct json_object *u = json_object_array_get_idx(urls, i);
            const char *s = json_object_is_type(u, json_type_string) ? json_object_get_string(u) : "";

            if (strncasecmp(s, pass == 0 ? "https://" : "http://", pass == 0 ? 8 : 7) == 0 &&
                s[pass == 0 ? 8 : 7] != '\0') {
                pick = s;
                break;
            }
        }
    }
    if (pick == NULL)
        return NULL;
    return pick[strlen(pick) - 1] == '/' ? xstrdup(pick) : xasprintf("%s/", pick);
}

/* Reads one registry file.  Returns 0, or -1 with an allocated reason. */
static int
rdap_bootstrap_file(const char *dir, enum rdap_file f, struct rdap_registry *reg, char **cause)
{
    char *path = xasprintf("%s/%s", dir, rdap_file_names[f]), *why = NULL;
    struct json_object *doc = json_object_from_file(path), *services, *v;
    int ret = -1;

    if (doc == NULL) {
        const char *err = json_util_get_last_err();

        *cause = xasprintf("cannot read the RDAP bootstrap file %s: %s", path, err != NULL ? err : "not JSON");
        /* json-c's message ends with a newline. */
        if ((*cause)[strlen(*cause) - 1] == '\n')
            (*cause)[strlen(*cause) - 1] = '\0';
        goto out;
    }
    if (!json_object_is_type(doc, json_type_object) || (services = rdap_array(doc, "services")) == NULL) {
        *cause = xasprintf("%s is not an RDAP bootstrap registry (RFC 9224): it has no \"services\" array", path);
        goto out;
    }
    if (json_object_object_get_ex(doc, "version", &v) &&
        (!json_object_is_type(v, json_type_string) || strcmp(json_object_get_string(v), "1.0") != 0)) {
        *cause = xasprintf("%s: version is not \"1.0\"", path);
        goto out;
    }
    for (size_t i = 0; i < json_object_array_length(services); i++) {
        struct json_object *svc = json_object_array_get_idx(services, i), *entries, *urls;
        char *url;

        if (!json_object_is_type(svc, json_type_array) || json_object_array_length(svc) != 2 ||
            !json_object_is_type((entries = json_object_array_get_idx(svc, 0)), json_type_array) ||
            !json_object_is_type((urls = json_object_array_get_idx(svc, 1)), json_type_array)) {
            *cause = xasprintf("%s: service %zu is not [[entries], [URLs]]", path, i + 1);
            goto out;
        }
        if ((url = rdap_bootstrap_url(urls)) == NULL) {
            *cause = xasprintf("%s: service %zu has no http:// or https:// URL", path, i + 1);
            goto out;
        }
        reg->urls = xreallocarray(reg->urls, reg->nurls + 1, sizeof(*reg->urls));
        reg->urls[reg->nurls++] = url;
        for (size_t j = 0; j < json_object_array_length(entries); j++) {
            struct json_object *e = json_object_array_get_idx(entries, j);
            struct rdap_entry entry = {.url = reg->nurls - 1};

            if (!json_object_is_type(e, json_type_string)) {
                *cause = xasprintf("%s: service %zu: entry %zu is not a string", path, i + 1, j + 1);
                goto out;
            }
            if (rdap_bootstrap_entry(f, json_object_get_string(e), &entry, &why) != 0) {
                *cause = xasprintf("%s: service %zu: %s", path, i + 1, why);
                free(why);
                free(entry.label);
                goto out;
            }
            reg->v = xreallocarray(reg->v, reg->n + 1, sizeof(*reg->v));
            reg->v[reg->n++] = entry;
        }
    }
    ret = 0;
out:
    json_object_put(doc);
    free(path);
    return ret;
}

void
rdap_bootstrap_free(struct rdap_bootstrap *bs)
{
    if (bs == NULL)
        return;
    for (size_t f = 0; f < RDAP_NFILES; f++) {
        for (size_t i = 0; i < bs->reg[f].n; i++)
            free(bs->reg[f].v[i].label);
        free(bs->reg[f].v);
        for (size_t i = 0; i < bs->reg[f].nurls; i++)
            free(bs->reg[f].urls[i]);
        free(bs->reg[f].urls);
    }
    free(bs);
}

int
rdap_bootstrap_load(const char *dir, struct rdap_bootstrap **out, char **cause)
{
    struct rdap_bootstrap *bs = xcalloc(1, sizeof(*bs));

    *out = NULL;
    for (size_t f = 0; f < RDAP_NFILES; f++) {
        if (rdap_bootstrap_file(dir, (enum rdap_file)f, &bs->reg[f], cause) != 0) {
            rdap_bootstrap_free(bs);
            return -1;
        }
    }
    *out = bs;
    return 0;
}

const char *
rdap_bootstrap_find(const struct rdap_bootstrap *bs, enum rdap_kind kind, const char *value)
{
    const struct rdap_registry *reg;
    const struct rdap_entry *best = NULL;

    if (bs == NULL || value == NULL)
        return NULL;
    if (kind == RDAP_DOMAIN) {
        char *name = rdap_lower(value);
        const char *suffix = name;

        reg = &bs->reg[RDAP_FILE_DNS];
        if (name[0] != '\0' && name[strlen(name) - 1] == '.')
            name[strlen(name) - 1] = '\0';
        /* Longest first: "example.co.uk", "co.uk", "uk". */
        while (best == NULL && suffix != NULL && *suffix != '\0') {
            for (size_t i = 0; i < reg->n; i++) {
                if (strcmp(reg->v[i].label, suffix) == 0) {
                    best = &reg->v[i];
                    break;
                }
            }
            suffix = strchr(suffix, '.');
            if (suffix != NULL)
                suffix++;
        }
        free(name);
    } else if (kind == RDAP_IP) {
        struct net_addr a;

        if (net_ranges_parse_addr(value, &a) != 0)
            return NULL;
        reg = &bs->reg[a.family == AF_INET ? RDAP_FILE_IPV4 : RDAP_FILE_IPV6];
        for (size_t i = 0; i < reg->n; i++) {
            if (net_ranges_contains(&reg->v[i].cidr, &a) && (best == NULL || reg->v[i].cidr.prefix > best->cidr.prefix))
                best = &reg->v[i];
        }
    } else {
        uint32_t n;

        if (rdap_parse_asn(value, &n) != 0)
            return NULL;
        reg = &bs->reg[RDAP_FILE_ASN];
        for (size_t i = 0; i < reg->n; i++) {
            if (n >= reg->v[i].lo && n <= reg->v[i].hi &&
                (best == NULL || reg->v[i].hi - reg->v[i].lo < best->hi - best->lo))
                best = &reg->v[i];
        }
    }
    return best != NULL ? reg->urls[best->url] : NULL;
}

int
rdap_parse_asn(const char *text, uint32_t *out)
{
    const char *p = text;
    char *end;
    unsigned long long v;

    if (strncasecmp(p, "as", 2) == 0) {
        p += 2;
        if (*p == 'n' || *p == 'N')
            p++;
        if (*p == ' ' || *p == ':')
            p++;
    }
    if (*p < '0' || *p > '9')
        return -1;
    errno = 0;
    v = strtoull(p, &end, 10);
    if (errno != 0 || *end != '\0' || v > UINT32_MAX || end - p > 10)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int
rdap_parse_time(const char *text, int64_t *out)
{
    struct tm tm;
    const char *p;
    long offset = 0;
    time_t t;

    memset(&tm, 0, sizeof(tm));
    if (text == NULL)
        return -1;
    if ((p = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL) {
        memset(&tm, 0, sizeof(tm));
        if ((p = strptime(text, "%Y-%m-%d", &tm)) == NULL || *p != '\0')
            return -1;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, hh, mm, used = 0;

        if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &used) != 2 || used != 5 || hh > 23 || mm > 59)
            return -1;
        offset = sign * (hh * 3600L + mm * 60L);
        p += 1 + used;
    }
    if (*p != '\0')
        return -1;
    if ((t = timegm(&tm)) == (time_t)-1)
        return -1;
    *out = (int64_t)t - offset;
    return 0;
}

/* ---- reading answers ------------------------------------------------------------------- */

/* What a jCard (RFC 7095) says about one contact; strings borrowed from
 * the document. */
struct rdap_contact {
    int found;
    const char *handle;
    const char *fn;
    const char *org;
    const char *email;
    const char *tel;
    const char *country;
    const char *iana_id; /* registrars: publicIds "IANA Registrar ID" */
};

/* The value of a jCard property ([name, params, type, value]) if it is a
 * non-empty string. */
static const char *
rdap_vcard_text(struct json_object *prop)
{
    struct json_object *v = json_object_array_get_idx(prop, 3);

    if (v != NULL && json_object_is_type(v, json_type_array))
        v = json_object_array_get_idx(v, 0); /* a structured org ["Org", "Unit"] */
    if (v == NULL || !json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
        return NULL;
    return json_object_get_string(v);
}

/* The country of an adr property: the "cc" parameter (RFC 8605), else
 * the last component of the address. */
static const char *
rdap_vcard_country(struct json_object *prop)
{
    struct json_object *params = json_object_array_get_idx(prop, 1), *v, *adr;

    if (params != NULL && json_object_object_get_ex(params, "cc", &v) && json_object_is_type(v, json_type_string) &&
        json_object_get_string_len(v) > 0)
        return json_object_get_string(v);
    adr = json_object_array_get_idx(prop, 3);
    if (adr != NULL && json_object_is_type(adr, json_type_array) && json_object_array_length(adr) >= 7 &&
        (v = json_object_array_get_idx(adr, 6)) != NULL && json_object_is_type(v, json_type_string) &&
        json_object_get_string_len(v) > 0)
        return json_object_get_string(v);
    return NULL;
}

/* Reads an entity's handle, jCard and public IDs into c.  Every e-mail
 * address of an abuse contact becomes an artifact of r. */
static void
rdap_contact_read(struct json_object *entity, struct rdap_contact *c, int abuse, struct bridge_result *r)
{
    struct json_object *vcard = rdap_array(entity, "vcardArray"), *props, *ids;

    c->found = 1;
    c->handle = bridge_json_str(entity, "handle");
    if (vcard != NULL && json_object_array_length(vcard) >= 2 &&
        json_object_is_type((props = json_object_array_get_idx(vcard, 1)), json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(props); i++) {
            struct json_object *prop = json_object_array_get_idx(props, i), *name;
            const char *n, *text;

            if (!json_object_is_type(prop, json_type_array) || json_object_array_length(prop) < 4 ||
                !json_object_is_type((name = json_object_array_get_idx(prop, 0)), json_type_string))
                continue;
            n = json_object_get_string(name);
            text = rdap_vcard_text(prop);
            if (strcasecmp(n, "fn") == 0 && c->fn == NULL) {
                c->fn = text;
            } else if (strcasecmp(n, "org") == 0 && c->org == NULL) {
                c->org = text;
            } else if (strcasecmp(n, "email") == 0 && text != NULL) {
                char *norm = NULL;

                if (c->email == NULL)
                    c->email = text;
                if (abuse && indicator_detect(text, &norm) == IND_EMAIL)
                    bridge_result_artifact(r, IND_EMAIL, norm);
                free(norm);
            } else if (strcasecmp(n, "tel") == 0 && c->tel == NULL && text != NULL) {
                /* A tel URI ("tel:+1.5555551234") shown as the number. */
                c->tel = strncasecmp(text, "tel:", 4) == 0 ? (text[4] != '\0' ? text + 4 : NULL) : text;
            } else if (strcasecmp(n, "adr") == 0 && c->country == NULL) {
                c->country = rdap_vcard_country(prop);
            }
        }
    }
    if ((ids = rdap_array(entity, "publicIds")) != NULL) {
        for (size_t i = 0; i < json_object_array_length(ids); i++) {
            struct json_object *id = json_object_array_get_idx(ids, i);
            const char *type = bridge_json_str(id, "type");

            if (type != NULL && strcasecmp(type, "IANA Registrar ID") == 0 && c->iana_id == NULL)
                c->iana_id = bridge_json_str(id, "identifier");
        }
    }
}

/* The contacts of an object that the answer shows. */
struct rdap_people {
    struct rdap_contact registrar;
    struct rdap_contact registrant;
    struct rdap_contact abuse;
};

/* 1 if entity has role among its roles. */
static int
rdap_has_role(struct json_object *entity, const char *role)
{
    struct json_object *roles = rdap_array(entity, "roles");

    for (size_t i = 0; roles != NULL && i < json_object_array_length(roles); i++) {
        struct json_object *v = json_object_array_get_idx(roles, i);

        if (json_object_is_type(v, json_type_string) && strcasecmp(json_object_get_string(v), role) == 0)
            return 1;
    }
    return 0;
}

/* Finds the registrar, registrant and abuse contacts among obj's entities
 * and theirs, breadth first so that an object's own contacts come before
 * those nested in them. */
static void
rdap_people_read(struct json_object *obj, struct rdap_people *p, struct bridge_result *r, int depth)
{
    struct json_object *entities = rdap_array(obj, "entities");

    if (entities == NULL || depth > RDAP_ENTITY_DEPTH)
        return;
    for (size_t i = 0; i < json_object_array_length(entities); i++) {
        struct json_object *e = json_object_array_get_idx(entities, i);

        if (!json_object_is_type(e, json_type_object))
            continue;
        if (rdap_has_role(e, "registrar") && !p->registrar.found)
            rdap_contact_read(e, &p->registrar, 0, r);
        if (rdap_has_role(e, "registrant") && !p->registrant.found)
            rdap_contact_read(e, &p->registrant, 0, r);
        if (rdap_has_role(e, "abuse")) {
            struct rdap_contact more = {0};

            /* Every abuse address is an artifact; the first is shown. */
            rdap_contact_read(e, p->abuse.found ? &more : &p->abuse, 1, r);
        }
    }
    for (size_t i = 0; i < json_object_array_length(entities); i++) {
        struct json_object *e = json_object_array_get_idx(entities, i);

        if (json_object_is_type(e, json_type_object))
            rdap_people_read(e, p, r, depth + 1);
    }
}

/* Returns allocated: a contact in one line ("Abuse Desk, abuse@x.com,
 * +1.5555551234, US"), or NULL if it says nothing. */
static char *
rdap_contact_line(const struct rdap_contact *c)
{
    char *line = NULL;

    rdap_join(&line, ", ", c->fn);
    if (c->org != NULL && (c->fn == NULL || strcmp(c->org, c->fn) != 0))
        rdap_join(&line, ", ", c->org);
    rdap_join(&line, ", ", c->email);
    rdap_join(&line, ", ", c->tel);
    rdap_join(&line, ", ", c->country);
    if (line == NULL && c->handle != NULL)
        line = xstrdup(c->handle);
    return line;
}

/* The date of the first event with this action, or 0 if none. */
static int
rdap_event(struct json_object *obj, const char *action, int64_t *when)
{
    struct json_object *events = rdap_array(obj, "events");

    for (size_t i = 0; events != NULL && i < json_object_array_length(events); i++) {
        struct json_object *e = json_object_array_get_idx(events, i);
        const char *a = bridge_json_str(e, "eventAction");

        if (a != NULL && strcasecmp(a, action) == 0 && rdap_parse_time(bridge_json_str(e, "eventDate"), when) == 0)
            return 1;
    }
    return 0;
}

/* Writes t as "YYYY-MM-DD" into buf (11 bytes). */
static void
rdap_date(int64_t t, char buf[11])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, 11, "%Y-%m-%d", &tm) == 0)
        snprintf(buf, 11, "?");
}

/* Returns allocated: how long ago then was ("12 days ago", "3 years
 * ago"), or NULL if it is in the future. */
static char *
rdap_ago(int64_t then, int64_t now)
{
    int64_t days;

    if (then > now)
        return NULL;
    days = (now - then) / 86400;
    if (days == 0)
        return xstrdup("less than a day ago");
    if (days < 90)
        return xasprintf("%lld day%s ago", (long long)days, days == 1 ? "" : "s");
    if (days < 730)
        return xasprintf("%lld months ago", (long long)(days / 30));
    return xasprintf("%lld years ago", (long long)(days / 365));
}

/* Adds the row of an event: "Registered | 2024-05-01 (12 days ago)". */
static void
rdap_event_row(struct bridge_result *r, struct json_object *obj, const char *action, const char *label, int64_t now)
{
    int64_t when;
    char date[11], *ago, *text;

    if (!rdap_event(obj, action, &when))
        return;
    rdap_date(when, date);
    ago = rdap_ago(when, now);
    text = ago != NULL && strcmp(action, "expiration") != 0 ? xasprintf("%s (%s)", date, ago) : xstrdup(date);
    bridge_result_row(r, label, text, NULL);
    free(text);
    free(ago);
}

/* Adds "Status | a, b, c" from the object's status array. */
static void
rdap_status_row(struct bridge_result *r, struct json_object *obj)
{
    struct json_object *status = rdap_array(obj, "status");
    char *list = NULL;

    for (size_t i = 0; status != NULL && i < json_object_array_length(status); i++) {
        struct json_object *v = json_object_array_get_idx(status, i);

        if (json_object_is_type(v, json_type_string))
            rdap_join(&list, ", ", json_object_get_string(v));
    }
    if (list != NULL)
        bridge_result_row(r, "Status", list, NULL);
    free(list);
}

/* Adds the rows of the contacts, and returns the registrar's line
 * (allocated, or NULL) for the summary. */
static char *
rdap_people_rows(struct bridge_result *r, const struct rdap_people *p)
{
    char *line, *registrar = NULL;

    if (p->registrar.found) {
        const char *name = p->registrar.fn != NULL ? p->registrar.fn : p->registrar.org;

        if (name == NULL)
            name = p->registrar.handle;
        if (name != NULL)
            registrar =
                p->registrar.iana_id != NULL ? xasprintf("%s (IANA %s)", name, p->registrar.iana_id) : xstrdup(name);
        if (registrar != NULL)
            bridge_result_row(r, "Registrar", registrar, NULL);
    }
    if (p->registrant.found && (line = rdap_contact_line(&p->registrant)) != NULL) {
        bridge_result_row(r, "Registrant", line, NULL);
        free(line);
    }
    if (p->abuse.found && (line = rdap_contact_line(&p->abuse)) != NULL) {
        bridge_result_row(r, "Abuse contact", line, NULL);
        free(line);
    }
    return registrar;
}

/* The domain answer. */
static void
rdap_domain(struct bridge_result *r, struct json_object *doc, int64_t now)
{
    struct rdap_people p = {0};
    struct json_object *ns = rdap_array(doc, "nameservers"), *dnssec, *v;
    const char *ldh = bridge_json_str(doc, "ldhName"), *uni = bridge_json_str(doc, "unicodeName");
    char *name = ldh != NULL ? rdap_lower(ldh) : NULL, *servers = NULL, *registrar, *summary = NULL;
    int64_t registered = 0, expires = 0;
    int have_reg = rdap_event(doc, "registration", &registered);
    int have_exp = rdap_event(doc, "expiration", &expires);
    int young = 0;

    if (name != NULL)
        bridge_result_row(r, "Domain", name, NULL);
    if (uni != NULL && (name == NULL || strcasecmp(uni, name) != 0))
        bridge_result_row(r, "Unicode name", uni, NULL);
    if (bridge_json_str(doc, "handle") != NULL)
        bridge_result_row(r, "Handle", bridge_json_str(doc, "handle"), NULL);
    rdap_people_read(doc, &p, r, 0);
    registrar = rdap_people_rows(r, &p);
    rdap_event_row(r, doc, "registration", "Registered", now);
    rdap_event_row(r, doc, "expiration", "Expires", now);
    rdap_event_row(r, doc, "last changed", "Last changed", now);
    rdap_status_row(r, doc);
    for (size_t i = 0; ns != NULL && i < json_object_array_length(ns); i++) {
        const char *host = bridge_json_str(json_object_array_get_idx(ns, i), "ldhName");
        char *lower, *norm = NULL;

        if (host == NULL)
            continue;
        lower = rdap_lower(host);
        rdap_join(&servers, ", ", lower);
        if (indicator_detect(lower, &norm) == IND_DOMAIN)
            bridge_result_artifact(r, IND_DOMAIN, norm);
        free(norm);
        free(lower);
    }
    if (servers != NULL)
        bridge_result_row(r, "Name servers", servers, NULL);
    if (json_object_object_get_ex(doc, "secureDNS", &dnssec) && json_object_is_type(dnssec, json_type_object) &&
        json_object_object_get_ex(dnssec, "delegationSigned", &v) && json_object_is_type(v, json_type_boolean))
        bridge_result_row(r, "DNSSEC", json_object_get_boolean(v) ? "signed" : "unsigned", NULL);
    if (bridge_json_str(doc, "port43") != NULL)
        bridge_result_row(r, "WHOIS server", bridge_json_str(doc, "port43"), NULL);

    /* The summary: the age first when it is the reason for concern. */
    if (have_reg) {
        char date[11], *ago = rdap_ago(registered, now), *text;

        rdap_date(registered, date);
        young = registered <= now && now - registered < (int64_t)RDAP_NEW_DOMAIN_DAYS * 86400;
        text = ago != NULL ? xasprintf("registered %s (%s)", ago, date) : xasprintf("registered %s", date);
        if (young) {
            char *reason = xasprintf("%s: newly registered (under %d days), as phishing domains often are", text,
                                     RDAP_NEW_DOMAIN_DAYS);

            free(text);
            text = reason;
        }
        rdap_join(&summary, "; ", text);
        free(text);
        free(ago);
    }
    if (registrar != NULL) {
        char *text = xasprintf("registrar %s", registrar);

        rdap_join(&summary, "; ", text);
        free(text);
    }
    if (have_exp) {
        char date[11], *text;

        rdap_date(expires, date);
        text = xasprintf("expires %s", date);
        rdap_join(&summary, "; ", text);
        free(text);
    }
    if (p.registrant.country != NULL) {
        char *text = xasprintf("country %s", p.registrant.country);

        rdap_join(&summary, "; ", text);
        free(text);
    }
    if (!have_reg)
        rdap_join(&summary, "; ", "no registration date given");
    bridge_result_summary(r, "%s", summary);
    bridge_result_verdict(r, young ? BRIDGE_VERDICT_SUSPICIOUS : BRIDGE_VERDICT_NONE);
    free(summary);
    free(registrar);
    free(servers);
    free(name);
}

/* The CIDRs of an IP network from the cidr0 extension, or NULL;
 * allocated. */
static char *
rdap_cidrs(struct json_object *doc)
{
    struct json_object *cidrs = rdap_array(doc, "cidr0_cidrs");
    char *list = NULL;

    for (size_t i = 0; cidrs != NULL && i < json_object_array_length(cidrs); i++) {
        struct json_object *c = json_object_array_get_idx(cidrs, i), *len;
        const char *prefix =
            bridge_json_str(c, "v4prefix") != NULL ? bridge_json_str(c, "v4prefix") : bridge_json_str(c, "v6prefix");
        char *one;

        if (prefix == NULL || !json_object_object_get_ex(c, "length", &len) || !json_object_is_type(len, json_type_int))
            continue;
        one = xasprintf("%s/%d", prefix, json_object_get_int(len));
        rdap_join(&list, ", ", one);
        free(one);
    }
    return list;
}

/* The IP network answer. */
static void
rdap_network(struct bridge_result *r, struct json_object *doc, int64_t now)
{
    struct rdap_people p = {0};
    const char *start = bridge_json_str(doc, "startAddress"), *end = bridge_json_str(doc, "endAddress");
    const char *name = bridge_json_str(doc, "name"), *country = bridge_json_str(doc, "country"),
               *type = bridge_json_str(doc, "type");
    char *cidrs = rdap_cidrs(doc), *range = NULL, *registrar, *summary = NULL, *who = NULL;

    if (start != NULL && end != NULL)
        range = xasprintf("%s - %s", start, end);
    if (name != NULL)
        bridge_result_row(r, "Network", name, NULL);
    if (bridge_json_str(doc, "handle") != NULL)
        bridge_result_row(r, "Handle", bridge_json_str(doc, "handle"), NULL);
    if (range != NULL)
        bridge_result_row(r, "Range", range, NULL);
    if (cidrs != NULL)
        bridge_result_row(r, "CIDR", cidrs, NULL);
    if (type != NULL)
        bridge_result_row(r, "Type", type, NULL);
    if (country != NULL)
        bridge_result_row(r, "Country", country, NULL);
    if (bridge_json_str(doc, "parentHandle") != NULL)
        bridge_result_row(r, "Parent", bridge_json_str(doc, "parentHandle"), NULL);
    rdap_status_row(r, doc);
    rdap_people_read(doc, &p, r, 0);
    registrar = rdap_people_rows(r, &p);
    rdap_event_row(r, doc, "registration", "Registered", now);
    rdap_event_row(r, doc, "last changed", "Last changed", now);
    if (bridge_json_str(doc, "port43") != NULL)
        bridge_result_row(r, "WHOIS server", bridge_json_str(doc, "port43"), NULL);

    rdap_join(&summary, " ", name);
    rdap_join(&summary, " ", cidrs != NULL ? cidrs : range);
    if (type != NULL) {
        char *text = xasprintf("(%s)", type);

        rdap_join(&summary, " ", text);
        free(text);
    }
    who = p.registrant.found ? rdap_contact_line(&(struct rdap_contact){
                                   .fn = p.registrant.fn, .org = p.registrant.org, .handle = p.registrant.handle})
                             : NULL;
    if (who != NULL) {
        char *text = xasprintf("held by %s", who);

        rdap_join(&summary, "; ", text);
        free(text);
    }
    if (country != NULL || p.registrant.country != NULL) {
        char *text = xasprintf("country %s", country != NULL ? country : p.registrant.country);

        rdap_join(&summary, "; ", text);
        free(text);
    }
    if (p.abuse.email != NULL) {
        char *text = xasprintf("abuse %s", p.abuse.email);

        rdap_join(&summary, "; ", text);
        free(text);
    }
    bridge_result_summary(r, "%s", summary != NULL ? summary : "a network without a name or range");
    free(summary);
    free(who);
    free(registrar);
    free(range);
    free(cidrs);
}

/* The AS number answer. */
static void
rdap_autnum(struct bridge_result *r, struct json_object *doc, int64_t now)
{
    struct rdap_people p = {0};
    struct json_object *v;
    const char *name = bridge_json_str(doc, "name"), *country = bridge_json_str(doc, "country"),
               *type = bridge_json_str(doc, "type");
    char *range = NULL, *registrar, *summary = NULL, *who = NULL;
    int64_t lo = -1, hi = -1, registered;

    if (json_object_object_get_ex(doc, "startAutnum", &v) && json_object_is_type(v, json_type_int))
        lo = json_object_get_int64(v);
    if (json_object_object_get_ex(doc, "endAutnum", &v) && json_object_is_type(v, json_type_int))
        hi = json_object_get_int64(v);
    if (lo >= 0 && hi > lo)
        range = xasprintf("AS%lld - AS%lld", (long long)lo, (long long)hi);
    else if (lo >= 0)
        range = xasprintf("AS%lld", (long long)lo);
    if (range != NULL)
        bridge_result_row(r, "AS numbers", range, NULL);
    if (name != NULL)
        bridge_result_row(r, "Name", name, NULL);
    if (bridge_json_str(doc, "handle") != NULL)
        bridge_result_row(r, "Handle", bridge_json_str(doc, "handle"), NULL);
    if (type != NULL)
        bridge_result_row(r, "Type", type, NULL);
    if (country != NULL)
        bridge_result_row(r, "Country", country, NULL);
    rdap_status_row(r, doc);
    rdap_people_read(doc, &p, r, 0);
    registrar = rdap_people_rows(r, &p);
    rdap_event_row(r, doc, "registration", "Registered", now);
    rdap_event_row(r, doc, "last changed", "Last changed", now);
    if (bridge_json_str(doc, "port43") != NULL)
        bridge_result_row(r, "WHOIS server", bridge_json_str(doc, "port43"), NULL);

    rdap_join(&summary, " ", name);
    if (p.registrant.found)
        who = rdap_contact_line(
            &(struct rdap_contact){.fn = p.registrant.fn, .org = p.registrant.org, .handle = p.registrant.handle});
    if (who != NULL) {
        char *text = xasprintf("held by %s", who);

        rdap_join(&summary, "; ", text);
        free(text);
    }
    if (country != NULL || p.registrant.country != NULL) {
        char *text = xasprintf("country %s", country != NULL ? country : p.registrant.country);

        rdap_join(&summary, "; ", text);
        free(text);
    }
    if (rdap_event(doc, "registration", &registered)) {
        char date[11], *text;

        rdap_date(registered, date);
        text = xasprintf("registered %s", date);
        rdap_join(&summary, "; ", text);
        free(text);
    }
    if (p.abuse.email != NULL) {
        char *text = xasprintf("abuse %s", p.abuse.email);

        rdap_join(&summary, "; ", text);
        free(text);
    }
    bridge_result_summary(r, "%s", summary != NULL ? summary : "an AS number without a name");
    free(summary);
    free(who);
    free(registrar);
    free(range);
}

static const char *
rdap_kind_noun(enum rdap_kind kind)
{
    switch (kind) {
    case RDAP_DOMAIN:
        return "domain";
    case RDAP_IP:
        return "IP network";
    default:
        return "AS number";
    }
}

struct bridge_result *
rdap_result(enum rdap_kind kind, const char *query, struct json_object *doc, int64_t now, char **cause)
{
    static const char *const classes[] = {"domain", "ip network", "autnum"};
    const char *cls = bridge_json_str(doc, "objectClassName");
    struct bridge_result *r;

    *cause = NULL;
    if (doc == NULL || !json_object_is_type(doc, json_type_object)) {
        *cause = xstrdup("the answer is not an RDAP object");
        return NULL;
    }
    if (cls == NULL || strcasecmp(cls, classes[kind]) != 0) {
        *cause = cls != NULL ? xasprintf("the answer is an RDAP \"%s\" object, not \"%s\"", cls, classes[kind])
                             : xstrdup("the answer has no objectClassName: it is not an RDAP object");
        return NULL;
    }
    r = bridge_result_new("RDAP for %s (%s)", query, rdap_kind_noun(kind));
    bridge_result_columns(r, "Field", "Value", NULL);
    if (kind == RDAP_DOMAIN)
        rdap_domain(r, doc, now);
    else if (kind == RDAP_IP)
        rdap_network(r, doc, now);
    else
        rdap_autnum(r, doc, now);
    bridge_result_raw(r, json_object_get(doc));
    return r;
}

/* What an RFC 9083 error object says: the first line of its description,
 * else its title; NULL if error is none.  Borrowed from error. */
static const char *
rdap_error_text(struct json_object *error)
{
    struct json_object *desc = rdap_array(error, "description"), *line;

    if (desc != NULL && (line = json_object_array_get_idx(desc, 0)) != NULL &&
        json_object_is_type(line, json_type_string) && json_object_get_string_len(line) > 0)
        return json_object_get_string(line);
    return bridge_json_str(error, "title");
}

struct bridge_result *
rdap_result_not_found(enum rdap_kind kind, const char *query, struct json_object *error)
{
    struct bridge_result *r = bridge_result_new("RDAP for %s (%s)", query, rdap_kind_noun(kind));
    const char *said = rdap_error_text(error);
    if (kind == RDAP_DOMAIN)
        bridge_result_summary(r, "no registration data: the registry has no record of it (not registered?)%s%s",
                              said != NULL ? "; it says: " : "", said != NULL ? said : "");
    else
        bridge_result_summary(r, "no registration data: the registry has no record of it%s%s",
                              said != NULL ? "; it says: " : "", said != NULL ? said : "");
    bridge_result_columns(r, "Field", "Value", NULL);
    return r;
}

/* ---- the calls --------------------------------------------------------------------------- */

/* What a call looks up: derived from its arguments the same way when the
 * request starts and when its answer comes, so that no memory has to
 * travel with the request (a call that times out never sees its
 * callback). */
struct rdap_target {
    enum rdap_kind kind;
    char *value; /* the domain (lower case), address, or "AS<n>"; allocated */
    char *path;  /* "domain/example.com"; allocated */
    const char *noun;
};

static void
rdap_target_clear(struct rdap_target *t)
{
    free(t->value);
    free(t->path);
    memset(t, 0, sizeof(*t));
}

/* The host of a URL (allocated), or NULL. */
static char *
rdap_url_host(const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL, *out = NULL;

    if (u == NULL)
        abort(); /* curl fails only to allocate */
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK && curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        size_t len = strlen(host);

        /* An IPv6 literal comes in brackets. */
        out = host[0] == '[' && len > 2 ? xstrndup(host + 1, len - 2) : xstrdup(host);
    }
    curl_free(host);
    curl_url_cleanup(u);
    return out;
}

/* Works out what the call asks.  Returns 0, or -1 with an allocated
 * message for the analyst. */
static int
rdap_target(struct bridge_call *call, struct rdap_target *t, char **error)
{
    const char *cmd = bridge_call_command(call)->name;
    const char *value = bridge_call_arg(call, "query");
    char *norm = NULL, *host = NULL;
    unsigned type = 0;
    uint32_t asn;
    int ret = -1;

    memset(t, 0, sizeof(*t));
    if (strcmp(cmd, "domain") == 0) {
        t->kind = RDAP_DOMAIN;
        value = bridge_call_arg(call, "domain");
        type = IND_DOMAIN;
    } else if (strcmp(cmd, "ip") == 0) {
        t->kind = RDAP_IP;
        value = bridge_call_arg(call, "ip");
        type = IND_IPV4;
    } else if (strcmp(cmd, "asn") == 0) {
        t->kind = RDAP_AUTNUM;
        value = bridge_call_arg(call, "asn");
        type = IND_ASN;
    } else if (value != NULL && rdap_parse_asn(value, &asn) == 0) {
        type = IND_ASN;
    } else {
        /* The default command: whatever the analyst pasted. */
        type = indicator_detect(value, &norm);
        if (type == IND_URL && (host = rdap_url_host(norm)) != NULL) {
            free(norm);
            type = indicator_detect(host, &norm);
        } else if (type == IND_EMAIL) {
            char *domain = xstrdup(strrchr(norm, '@') + 1);

            free(norm);
            type = indicator_detect(domain, &norm);
            free(domain);
        }
        if (norm != NULL)
            value = norm;
    }
    if (value == NULL) {
        *error = xstrdup("nothing to look up");
        goto out;
    }
    if (type == IND_ASN) {
        t->kind = RDAP_AUTNUM;
        if (rdap_parse_asn(value, &asn) != 0) {
            *error = xasprintf("\"%s\" is not an AS number (AS13335 or 13335)", value);
            goto out;
        }
        t->value = xasprintf("AS%lu", (unsigned long)asn);
        t->path = xasprintf("autnum/%lu", (unsigned long)asn);
    } else if (type & IND_IP) {
        t->kind = RDAP_IP;
        t->value = xstrdup(value);
        t->path = xasprintf("ip/%s", value);
    } else if (type == IND_DOMAIN) {
        t->kind = RDAP_DOMAIN;
        t->value = rdap_lower(value);
        t->path = xasprintf("domain/%s", t->value);
    } else {
        *error = xasprintf("\"%s\" is not a domain, an IP address or an AS number: RDAP has registration data "
                           "only for those",
                           value);
        goto out;
    }
    t->noun = rdap_kind_noun(t->kind);
    ret = 0;
out:
    if (ret != 0)
        rdap_target_clear(t);
    free(norm);
    free(host);
    return ret;
}

/* The base URL for t (borrowed), or NULL with an allocated message. */
static const char *
rdap_server(struct rdap_state *st, const struct rdap_target *t, char **error)
{
    const char *base;

    if (st->base_url != NULL)
        return st->base_url;
    base = rdap_bootstrap_find(st->bs, t->kind, t->value);
    if (base == NULL) {
        if (t->kind == RDAP_DOMAIN)
            *error = xasprintf("no RDAP server is known for %s: its top-level domain is not in the bootstrap file "
                               "%s/dns.json (replace the files with IANA's current ones)",
                               t->value, st->bootstrap_dir);
        else if (t->kind == RDAP_IP)
            *error = xasprintf("no RDAP server is known for %s: no network in the bootstrap files holds it "
                               "(private and reserved addresses have none)",
                               t->value);
        else
            *error = xasprintf("no RDAP server is known for %s: no range in %s/asn.json holds it (replace the "
                               "files with IANA's current ones)",
                               t->value, st->bootstrap_dir);
    }
    return base;
}

/* The answer to a query. */
static void
rdap_on_answer(struct bridge_call *call, const struct tool_http_response *res, void *arg)
{
    struct rdap_state *st = (struct rdap_state *)bridge_call_state(call);
    struct rdap_target t;
    struct bridge_result *r;
    char *error = NULL, *cause = NULL, *tool = NULL, *host = NULL;
    const char *base = NULL;

    (void)arg;
    if (rdap_target(call, &t, &error) != 0 || (base = rdap_server(st, &t, &error)) == NULL) {
        bridge_fail(call, NULL, "%s", error);
        goto out;
    }
    host = rdap_url_host(base);
    tool = xasprintf("RDAP server %s", host != NULL ? host : base);
    if (res->failure == TOOL_HTTP_OK && res->status == 404) {
        bridge_done(call, rdap_result_not_found(t.kind, t.value, res->json));
        goto out;
    }
    if (res->failure == TOOL_HTTP_OK && (res->status == 401 || res->status == 403)) {
        /* RDAP has no API key: a server that refuses wants something
         * else (an account, another client address). */
        const char *said = rdap_error_text(res->json);

        bridge_fail(call, NULL, "%s refused the query (HTTP %ld%s%s)", tool, res->status, said != NULL ? ": " : "",
                    said != NULL ? said : "");
        goto out;
    }
    if (res->failure != TOOL_HTTP_OK || res->status < 200 || res->status > 299 || res->json == NULL) {
        bridge_fail_http(call, tool, res);
        goto out;
    }
    if ((r = rdap_result(t.kind, t.value, res->json, clock_now_ms() / 1000, &cause)) == NULL) {
        bridge_fail(call, cause, "%s answered with something that is not RDAP data about the %s", tool, t.noun);
        goto out;
    }
    bridge_done(call, r);
out:
    rdap_target_clear(&t);
    free(error);
    free(cause);
    free(tool);
    free(host);
}

/* Every command: work out the target and ask its server. */
static void
rdap_run(struct bridge_call *call)
{
    struct rdap_state *st = (struct rdap_state *)bridge_call_state(call);
    static const char *const headers[] = {"Accept: application/rdap+json", NULL};
    struct tool_http_request req = {0};
    struct rdap_target t;
    char *error = NULL, *url = NULL;
    const char *base = NULL;

    if (rdap_target(call, &t, &error) != 0 || (base = rdap_server(st, &t, &error)) == NULL) {
        bridge_fail(call, NULL, "%s", error);
        goto out;
    }
    url = xasprintf("%s%s%s", base, base[strlen(base) - 1] == '/' ? "" : "/", t.path);
    req.method = "GET";
    req.url = url;
    req.headers = headers;
    /* The bridge's timeout ends the call first, with its own words. */
    req.timeout_ms = (long)st->super.timeout_ms + 1000;
    req.max_response = 4 * 1024 * 1024;
    req.follow_redirects = 1;
    bridge_progress(call, "asking %s", base);
    bridge_http(call, &req, rdap_on_answer, NULL);
out:
    rdap_target_clear(&t);
    free(error);
    free(url);
}

static int
rdap_init(struct bridge_state *bst, uv_loop_t *loop, char **cause)
{
    struct rdap_state *st = (struct rdap_state *)bst;
    char *why = NULL;

    (void)loop;
    /* Behind a proxy the bootstrap files are not needed. */
    if (st->base_url != NULL)
        return 0;
    if (rdap_bootstrap_load(st->bootstrap_dir, &st->bs, &why) != 0) {
        *cause = xasprintf("%s (set bootstrap_dir to a directory with IANA's files, or base_url)", why);
        free(why);
        return -1;
    }
    return 0;
}

static void
rdap_free(struct bridge_state *bst)
{
    struct rdap_state *st = (struct rdap_state *)bst;

    rdap_bootstrap_free(st->bs);
    st->bs = NULL;
}

static const struct bridge_arg rdap_query_args[] = {
    {.name = "query",
     .help = "a domain, an IP address or an AS number (AS13335 or 13335); a URL or an e-mail address means its host",
     .flags = BRIDGE_ARG_POSITIONAL | BRIDGE_ARG_REQUIRED},
    {.name = NULL},
};

static const struct bridge_arg rdap_domain_args[] = {
    {.name = "domain",
     .help = "the domain (example.com)",
     .types = IND_DOMAIN,
     .flags = BRIDGE_ARG_POSITIONAL | BRIDGE_ARG_REQUIRED},
    {.name = NULL},
};

static const struct bridge_arg rdap_ip_args[] = {
    {.name = "ip",
     .help = "an IPv4 or IPv6 address",
     .types = IND_IP,
     .flags = BRIDGE_ARG_POSITIONAL | BRIDGE_ARG_REQUIRED},
    {.name = NULL},
};

/* Any text: "13335" is no indicator, but is an AS number here. */
static const struct bridge_arg rdap_asn_args[] = {
    {.name = "asn", .help = "the AS number, AS13335 or 13335", .flags = BRIDGE_ARG_POSITIONAL | BRIDGE_ARG_REQUIRED},
    {.name = NULL},
};

static const struct bridge_command rdap_commands[] = {
    {.name = "lookup",
     .usage = "lookup <domain|ip|AS number>",
     .help = "registration data of a domain, an IP address or an AS number (the type is detected)",
     .args = rdap_query_args,
     .level = PERM_GUEST,
     .cacheable = 1,
     .run = rdap_run},
    {.name = "domain",
     .usage = "domain <domain>",
     .help = "a domain's registrar, dates, status, name servers and contacts",
     .args = rdap_domain_args,
     .enrich = IND_DOMAIN,
     .level = PERM_GUEST,
     .cacheable = 1,
     .run = rdap_run},
    {.name = "ip",
     .usage = "ip <address>",
     .help = "the network an IP address belongs to, its holder and abuse contact",
     .args = rdap_ip_args,
     .enrich = IND_IP,
     .level = PERM_GUEST,
     .cacheable = 1,
     .run = rdap_run},
    {.name = "asn",
     .usage = "asn <AS number>",
     .help = "the holder of an AS number",
     .args = rdap_asn_args,
     .enrich = IND_ASN,
     .level = PERM_GUEST,
     .cacheable = 1,
     .run = rdap_run},
    {.name = NULL},
};

const struct bridge bridge_rdap = {
    .name = "rdap",
    .displayname = "RDAP",
    .description = "registration data (the successor of WHOIS) of domains, IP networks and AS numbers",
    .level = PERM_GUEST,
    .enabled_by_default = 0,
    .commands = rdap_commands,
    .config = rdap_config,
    .state_size = sizeof(struct rdap_state),
    .init = rdap_init,
    .free = rdap_free,
};
