/*
 * The dns bridge: DNS records through the configured resolvers.
 *
 *   !dns <name|ip>               the default, lookup: A, AAAA and MX of a
 *   !dns lookup <name|ip> [type=mx]  name; the PTR record of an IP (its
 *                                reverse name); or one type
 *   !dns a|aaaa|mx|ns|txt|cname|soa <name>   one type
 *   !dns ptr <ip>                the reverse name of an IP
 *   !dns enrich <name|ip>        what !enrich asks: A, AAAA, MX and NS of a
 *                                domain, PTR of an IP
 *
 * Queries go through bridge_dns() (c-ares on the loop, with the resolvers
 * of bridges.dns.resolvers, or the system's), all the queries of one
 * command at once.  Each answer is walked with libresolv's ns_parserr(),
 * because c-ares 1.18's ares_parse_*_reply() give TTLs only for A and
 * AAAA, and the TTL of every record is shown.  Names inside records are
 * expanded with ns_name_uncompress().
 *
 * A name that does not exist (NXDOMAIN) is an answer, not a failure: the
 * result says so, with the summary "NXDOMAIN".  A resolver that does not
 * answer, fails (SERVFAIL) or refuses ends the call with words that name
 * the resolver.  If one of several queries fails that way the call fails:
 * a partial answer would show "no MX" for an MX that was never learnt.
 *
 * Caching: answers are reused for the bridge's cache_ttl, but never longer
 * than the smallest TTL among the records shown, and a negative answer
 * (NXDOMAIN, or no record of a type) no longer than its SOA's negative TTL
 * (RFC 2308: the smaller of the SOA record's TTL and its MINIMUM field);
 * a negative answer without an SOA is not cached at all, as RFC 2308 (5)
 * advises.  Cached answers show the TTLs as they were when asked.
 *
 * Names may be internal ones (dc01.corp.lan, _dmarc.example.com), so the
 * argument is any text that is a host name or an IP address once
 * refanged, not only a domain on the public suffix list.  Since internal
 * names can be looked up, the bridge is for analysts, not guests.
 */
#include "autoconfig.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "appservice/dns_resolver.h"
#include "appservice/xmalloc.h"
#include "bridges/bridge.h"

/* The most queries one command makes (enrich: A, AAAA, MX, NS). */
#define DNS_MAX_QUERIES 4
/* Values of one type shown in the one-line summary before "+N more". */
#define DNS_SUMMARY_VALUES 4
/* Longest TXT value shown in the summary. */
#define DNS_SUMMARY_TXT 60

/* The record types the bridge asks for by name. */
static const struct dns_type {
    const char *name;  /* the command word and type= value */
    const char *label; /* as written in results */
    int type;          /* ns_t_* */
} dns_types[] = {
    {"a", "A", ns_t_a},       {"aaaa", "AAAA", ns_t_aaaa},    {"mx", "MX", ns_t_mx},    {"ns", "NS", ns_t_ns},
    {"txt", "TXT", ns_t_txt}, {"cname", "CNAME", ns_t_cname}, {"soa", "SOA", ns_t_soa}, {"ptr", "PTR", ns_t_ptr},
};

#define DNS_NTYPES (sizeof(dns_types) / sizeof(dns_types[0]))

static const char *const dns_type_names[] = {"a", "aaaa", "mx", "ns", "txt", "cname", "soa", "ptr", NULL};

/* One record of an answer, decoded. */
struct dns_record {
    int type;
    char *name;    /* the owner name */
    char *value;   /* as shown in the table */
    char *brief;   /* as shown in the summary */
    char *target;  /* a host name the record points to (MX, NS, CNAME, PTR, SOA's primary), or NULL */
    char *address; /* an A or AAAA address, or NULL */
    uint32_t ttl;
    unsigned preference; /* MX */
};

/* One query of a lookup and what it brought. */
struct dns_part {
    struct dns_lookup *lookup;
    int type;
    int status;                 /* ARES_* once answered */
    struct dns_record *records; /* the answer section, in order */
    size_t n;
    int64_t negative_ttl; /* seconds a negative answer may be kept (RFC 2308), -1 if the answer had no SOA */
};

/* One command's lookup: the name, its queries, and the answers so far.
 * Attached to the call (bridge_call_attach), so freed however it ends. */
struct dns_lookup {
    char *name;  /* what is queried: the name, or the reverse name of ip */
    char *ip;    /* the IP address asked about, or NULL */
    char *shown; /* the name as the title shows it */
    struct dns_part parts[DNS_MAX_QUERIES];
    size_t nparts;
    size_t pending;
};

/* The label of an ns_t_* type ("MX"), or NULL for a type the bridge
 * does not ask for. */
static const char *
dns_type_label(int type)
{
    for (size_t i = 0; i < DNS_NTYPES; i++) {
        if (dns_types[i].type == type)
            return dns_types[i].label;
    }
    return NULL;
}

/* The ns_t_* type of a command word or type= value, or -1. */
static int
dns_type_of(const char *name)
{
    for (size_t i = 0; i < DNS_NTYPES; i++) {
        if (strcasecmp(dns_types[i].name, name) == 0)
            return dns_types[i].type;
    }
    return -1;
}

static void
dns_record_clear(struct dns_record *rec)
{
    free(rec->name);
    free(rec->value);
    free(rec->brief);
    free(rec->target);
    free(rec->address);
}

/* Frees a lookup (the call's attached data). */
static void
dns_lookup_free(void *data)
{
    struct dns_lookup *l = data;

    if (l == NULL)
        return;
    for (size_t i = 0; i < l->nparts; i++) {
        for (size_t j = 0; j < l->parts[i].n; j++)
            dns_record_clear(&l->parts[i].records[j]);
        free(l->parts[i].records);
    }
    free(l->name);
    free(l->ip);
    free(l->shown);
    free(l);
}

/* "300 (5m)": a TTL in seconds, with a rounder reading when it is long. */
static char *
dns_ttl_text(uint32_t ttl)
{
    if (ttl >= 86400 && ttl % 3600 == 0)
        return ttl % 86400 == 0 ? xasprintf("%u (%ud)", ttl, ttl / 86400) : xasprintf("%u (%uh)", ttl, ttl / 3600);
    if (ttl >= 3600 && ttl % 60 == 0)
        return ttl % 3600 == 0 ? xasprintf("%u (%uh)", ttl, ttl / 3600)
                               : xasprintf("%u (%uh%um)", ttl, ttl / 3600, ttl % 3600 / 60);
    if (ttl >= 60)
        return ttl % 60 == 0 ? xasprintf("%u (%um)", ttl, ttl / 60) : xasprintf("%u (%um%us)", ttl, ttl / 60, ttl % 60);
    return xasprintf("%u", ttl);
}

/* The TXT strings of rdata as dig writes them: each in double quotes,
 * quotes and backslashes escaped, bytes that are not printable ASCII as
 * \DDD.  Returns allocated, or NULL if a string runs past the data. */
static char *
dns_txt_text(const unsigned char *rdata, size_t rdlen)
{
    char *out = xmalloc(rdlen * 4 + 3 * rdlen + 1), *o = out;
    size_t i = 0;

    while (i < rdlen) {
        size_t len = rdata[i++];

        if (len > rdlen - i) {
            free(out);
            return NULL;
        }
        if (o != out)
            *o++ = ' ';
        *o++ = '"';
        for (size_t j = 0; j < len; j++) {
            unsigned char c = rdata[i + j];

            if (c == '"' || c == '\\') {
                *o++ = '\\';
                *o++ = (char)c;
            } else if (c < 0x20 || c > 0x7e) {
                o += sprintf(o, "\\%03u", c);
            } else {
                *o++ = (char)c;
            }
        }
        *o++ = '"';
        i += len;
    }
    *o = '\0';
    return out;
}

/* Expands the compressed name at p of msg.  Returns the bytes it took in
 * the message, or -1 if it is malformed. */
static int
dns_name_at(const ns_msg *msg, const unsigned char *p, char *out, size_t outlen)
{
    return ns_name_uncompress(ns_msg_base(*msg), ns_msg_end(*msg), p, out, outlen);
}

/*
 * Decodes one resource record into rec.  Returns 0, or -1 if its data
 * does not match its type (a malformed answer).  Types the bridge does not
 * ask for (an RRSIG, say) are shown by number and length.
 */
static int
dns_record_decode(const ns_msg *msg, const ns_rr *rr, struct dns_record *rec)
{
    const unsigned char *rd = ns_rr_rdata(*rr);
    size_t rdlen = ns_rr_rdlen(*rr);
    char buf[INET6_ADDRSTRLEN], name[NS_MAXDNAME], name2[NS_MAXDNAME];
    int n, n2;

    memset(rec, 0, sizeof(*rec));
    rec->type = ns_rr_type(*rr);
    rec->ttl = ns_rr_ttl(*rr);
    rec->name = xstrdup(ns_rr_name(*rr)[0] != '\0' ? ns_rr_name(*rr) : ".");
    switch (rec->type) {
    case ns_t_a:
    case ns_t_aaaa:
        if (rdlen != (rec->type == ns_t_a ? 4u : 16u) ||
            inet_ntop(rec->type == ns_t_a ? AF_INET : AF_INET6, rd, buf, sizeof(buf)) == NULL)
            return -1;
        rec->value = xstrdup(buf);
        rec->address = xstrdup(buf);
        break;
    case ns_t_ns:
    case ns_t_cname:
    case ns_t_ptr:
        if (dns_name_at(msg, rd, name, sizeof(name)) < 0)
            return -1;
        rec->value = xstrdup(name);
        rec->target = xstrdup(name);
        break;
    case ns_t_mx:
        if (rdlen < 3 || dns_name_at(msg, rd + 2, name, sizeof(name)) < 0)
            return -1;
        rec->preference = ns_get16(rd);
        /* A "null MX" (RFC 7505): preference 0 and the root as host. */
        if (name[0] == '\0' || strcmp(name, ".") == 0) {
            rec->value = xasprintf("%u . (accepts no mail)", ns_get16(rd));
        } else {
            rec->value = xasprintf("%u %s", ns_get16(rd), name);
            rec->target = xstrdup(name);
        }
        break;
    case ns_t_txt:
        if ((rec->value = dns_txt_text(rd, rdlen)) == NULL)
            return -1;
        if (strlen(rec->value) > DNS_SUMMARY_TXT)
            rec->brief = xasprintf("%.*s\xe2\x80\xa6", DNS_SUMMARY_TXT, rec->value);
        break;
    case ns_t_soa:
        if ((n = dns_name_at(msg, rd, name, sizeof(name))) < 0 ||
            (n2 = dns_name_at(msg, rd + n, name2, sizeof(name2))) < 0 || (size_t)n + (size_t)n2 + 20 > rdlen)
            return -1;
        rd += n + n2;
        rec->value = xasprintf("primary %s, contact %s, serial %lu, refresh %lu, retry %lu, expire %lu, minimum %lu",
                               name, name2, (unsigned long)ns_get32(rd), (unsigned long)ns_get32(rd + 4),
                               (unsigned long)ns_get32(rd + 8), (unsigned long)ns_get32(rd + 12),
                               (unsigned long)ns_get32(rd + 16));
        rec->brief = xasprintf("%s serial %lu", name, (unsigned long)ns_get32(rd));
        rec->target = xstrdup(name);
        break;
    default:
        rec->value = xasprintf("(type %d, %zu bytes)", rec->type, rdlen);
        break;
    }
    return 0;
}

/* Whether record a goes after b when an answer is put in order: MX by
 * preference, then host; NS by host; others are not ordered (0). */
static int
dns_record_after(const struct dns_record *a, const struct dns_record *b)
{
    if (a->type != b->type || (a->type != ns_t_mx && a->type != ns_t_ns))
        return 0;
    if (a->type == ns_t_mx && a->preference != b->preference)
        return a->preference > b->preference;
    return strcmp(a->value, b->value) > 0;
}

/* Puts the MX and NS records of an answer in a stable order (servers
 * rotate them): the most preferred MX first, NS by name.  Other records
 * keep their place.  An insertion sort: an answer has a handful. */
static void
dns_sort_records(struct dns_part *part)
{
    for (size_t i = 1; i < part->n; i++) {
        struct dns_record rec = part->records[i];
        size_t j = i;

        while (j > 0 && dns_record_after(&part->records[j - 1], &rec)) {
            part->records[j] = part->records[j - 1];
            j--;
        }
        part->records[j] = rec;
    }
}

/*
 * Reads an answer into part: the records of the answer section, and the
 * negative TTL from an SOA in the authority section.  Returns 0, or -1 if
 * the message is malformed.
 */
static int
dns_part_parse(struct dns_part *part, const unsigned char *abuf, int alen)
{
    ns_msg msg;
    ns_rr rr;
    int count;

    part->negative_ttl = -1;
    if (abuf == NULL || alen <= 0 || ns_initparse(abuf, alen, &msg) != 0)
        return -1;
    count = ns_msg_count(msg, ns_s_an);
    for (int i = 0; i < count; i++) {
        struct dns_record rec;

        if (ns_parserr(&msg, ns_s_an, i, &rr) != 0)
            return -1;
        if (ns_rr_class(rr) != ns_c_in)
            continue;
        if (dns_record_decode(&msg, &rr, &rec) != 0) {
            dns_record_clear(&rec);
            return -1;
        }
        part->records = xreallocarray(part->records, part->n + 1, sizeof(*part->records));
        part->records[part->n++] = rec;
    }
    dns_sort_records(part);
    count = ns_msg_count(msg, ns_s_ns);
    for (int i = 0; i < count; i++) {
        const unsigned char *rd;
        char name[NS_MAXDNAME];
        int n, n2;

        if (ns_parserr(&msg, ns_s_ns, i, &rr) != 0)
            return -1;
        if (ns_rr_type(rr) != ns_t_soa)
            continue;
        rd = ns_rr_rdata(rr);
        if ((n = dns_name_at(&msg, rd, name, sizeof(name))) < 0 ||
            (n2 = dns_name_at(&msg, rd + n, name, sizeof(name))) < 0 || (size_t)n + (size_t)n2 + 20 > ns_rr_rdlen(rr))
            return -1;
        {
            uint32_t minimum = ns_get32(rd + n + n2 + 16), ttl = ns_rr_ttl(rr);

            part->negative_ttl = ttl < minimum ? ttl : minimum;
        }
    }
    return 0;
}

/* Who was asked, for the words of a failure: "the resolver 127.0.0.1:5353",
 * "the resolvers a, b", or "the system's resolver".  Returns allocated. */
static char *
dns_resolvers_text(struct bridge_call *call)
{
    const struct config_strlist *list = &bridge_call_state(call)->resolvers;
    char *out;

    if (list->n == 0)
        return xstrdup("the system's resolver (/etc/resolv.conf)");
    out = xasprintf("the resolver%s %s", list->n > 1 ? "s" : "", list->items[0]);
    for (size_t i = 1; i < list->n; i++) {
        char *next = xasprintf("%s, %s", out, list->items[i]);

        free(out);
        out = next;
    }
    return out;
}

/* Ends the call for a query that got no usable answer, in an analyst's
 * words. */
static void
dns_fail(struct bridge_call *call, struct dns_lookup *l, int type, int status)
{
    char *who = dns_resolvers_text(call);
    const char *label = dns_type_label(type);
    const char *err = ares_strerror(status);

    switch (status) {
    case ARES_ETIMEOUT:
        bridge_fail(call, err, "%s did not answer (%s %s); try again, or check bridges.dns.resolvers", who, label,
                    l->name);
        break;
    case ARES_ECONNREFUSED:
        bridge_fail(call, err, "%s cannot be reached (connection refused) for %s %s", who, label, l->name);
        break;
    case ARES_ESERVFAIL:
        bridge_fail(call, err, "%s failed to look up %s %s (SERVFAIL): the name's own servers failed or did not answer",
                    who, label, l->name);
        break;
    case ARES_EREFUSED:
        bridge_fail(call, err, "%s refused to look up %s %s (REFUSED)", who, label, l->name);
        break;
    case ARES_EFORMERR:
    case ARES_ENOTIMP:
    case ARES_EBADRESP:
        bridge_fail(call, err, "%s gave an answer warroom cannot use for %s %s (%s)", who, label, l->name, err);
        break;
    case ARES_EBADNAME:
        bridge_fail(call, err, "\"%s\" is not a name DNS can look up", l->name);
        break;
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
        bridge_fail(call, err, "the lookup of %s %s was cancelled (warroom is stopping)", label, l->name);
        break;
    default:
        bridge_fail(call, err, "the lookup of %s %s through %s failed (%s)", label, l->name, who, err);
        break;
    }
    free(who);
}

/* Appends "what" to a "; "-separated summary. */
static void
dns_summary_add(char **summary, const char *what)
{
    char *next = xasprintf("%s%s%s", *summary, (*summary)[0] != '\0' ? "; " : "", what);

    free(*summary);
    *summary = next;
}

/* Whether the result already has this row (a CNAME shows up in the
 * answer to every type asked of an alias). */
static int
dns_row_seen(const struct bridge_result *r, const char *type, const struct dns_record *rec)
{
    for (size_t i = 0; i < r->nrows; i++) {
        if (strcmp(r->rows[i][0], type) == 0 && strcmp(r->rows[i][1], rec->name) == 0 &&
            strcmp(r->rows[i][2], rec->value) == 0)
            return 1;
    }
    return 0;
}

/* The artifacts of a record: the addresses and host names it gives. */
static void
dns_record_artifacts(struct bridge_result *r, const struct dns_record *rec)
{
    char *norm = NULL;
    unsigned t;

    if (rec->address != NULL)
        bridge_result_artifact(r, rec->type == ns_t_a ? IND_IPV4 : IND_IPV6, rec->address);
    /* Internal names (no public suffix) are not indicators. */
    if (rec->target != NULL && (t = indicator_detect(rec->target, &norm)) == IND_DOMAIN)
        bridge_result_artifact(r, IND_DOMAIN, norm);
    free(norm);
}

/* The title's list of types: "A, AAAA, MX". */
static char *
dns_types_text(const struct dns_lookup *l)
{
    char *out = xstrdup("");

    for (size_t i = 0; i < l->nparts; i++) {
        char *next = xasprintf("%s%s%s", out, i > 0 ? ", " : "", dns_type_label(l->parts[i].type));

        free(out);
        out = next;
    }
    return out;
}

/* The result of a name that does not exist. */
static struct bridge_result *
dns_result_nxdomain(const struct dns_lookup *l)
{
    struct bridge_result *r;
    int64_t negative = -1;

    if (l->ip != NULL)
        r = bridge_result_new("%s has no reverse name (%s does not exist: NXDOMAIN)", l->ip, l->name);
    else
        r = bridge_result_new("%s does not exist (NXDOMAIN)", l->name);
    bridge_result_verdict(r, BRIDGE_VERDICT_NONE);
    bridge_result_summary(r, "NXDOMAIN");
    bridge_result_columns(r, "Type", "Name", "Value", "TTL", NULL);
    for (size_t i = 0; i < l->nparts; i++) {
        if (l->parts[i].status == ARES_ENOTFOUND && l->parts[i].negative_ttl >= 0 &&
            (negative < 0 || l->parts[i].negative_ttl < negative))
            negative = l->parts[i].negative_ttl;
    }
    bridge_result_max_age(r, negative >= 0 ? (uint64_t)negative * 1000u : 0);
    return r;
}

/* Every query has answered: the result. */
static void
dns_finish(struct bridge_call *call, struct dns_lookup *l)
{
    struct bridge_result *r;
    char *types, *summary = xstrdup(""), *cnames = xstrdup("");

    for (size_t i = 0; i < l->nparts; i++) {
        if (l->parts[i].status == ARES_ENOTFOUND) {
            bridge_done(call, dns_result_nxdomain(l));
            goto out;
        }
    }
    types = dns_types_text(l);
    r = bridge_result_new("%s %s", l->shown, types);
    free(types);
    bridge_result_verdict(r, BRIDGE_VERDICT_NONE);
    bridge_result_columns(r, "Type", "Name", "Value", "TTL", NULL);
    for (size_t i = 0; i < l->nparts; i++) {
        struct dns_part *p = &l->parts[i];
        const char *label = dns_type_label(p->type);
        char *facts = NULL;
        size_t shown = 0, more = 0;

        for (size_t j = 0; j < p->n; j++) {
            struct dns_record *rec = &p->records[j];
            const char *type = dns_type_label(rec->type);
            char numbered[16], *ttl;

            if (type == NULL) {
                snprintf(numbered, sizeof(numbered), "TYPE%d", rec->type);
                type = numbered;
            }
            bridge_result_max_age(r, (uint64_t)rec->ttl * 1000u);
            if (!dns_row_seen(r, type, rec)) {
                ttl = dns_ttl_text(rec->ttl);
                bridge_result_row(r, type, rec->name, rec->value, ttl, NULL);
                free(ttl);
                dns_record_artifacts(r, rec);
            }
            if (rec->type == ns_t_cname && p->type != ns_t_cname) {
                /* An alias followed on the way: said once, first. */
                if (strstr(cnames, rec->value) == NULL) {
                    char *next = xasprintf("%s%s%s", cnames, cnames[0] != '\0' ? ", " : "", rec->value);

                    free(cnames);
                    cnames = next;
                }
                continue;
            }
            if (rec->type != p->type)
                continue;
            if (shown == DNS_SUMMARY_VALUES) {
                more++;
                continue;
            }
            {
                char *next = xasprintf("%s%s%s", facts != NULL ? facts : "", facts != NULL ? ", " : "",
                                       rec->brief != NULL ? rec->brief : rec->value);

                free(facts);
                facts = next;
            }
            shown++;
        }
        if (facts == NULL) {
            char *no = xasprintf("no %s", label);

            dns_summary_add(&summary, no);
            free(no);
            /* A negative answer is kept only as long as its SOA allows. */
            bridge_result_max_age(r, p->negative_ttl >= 0 ? (uint64_t)p->negative_ttl * 1000u : 0);
        } else {
            char *all = more > 0 ? xasprintf("%s %s +%zu more", label, facts, more) : xasprintf("%s %s", label, facts);

            dns_summary_add(&summary, all);
            free(all);
        }
        free(facts);
    }
    if (cnames[0] != '\0') {
        char *next = xasprintf("CNAME %s%s%s", cnames, summary[0] != '\0' ? "; " : "", summary);

        free(summary);
        summary = next;
    }
    bridge_result_summary(r, "%s", summary);
    bridge_done(call, r);
out:
    free(summary);
    free(cnames);
}

/* One query has answered. */
static void
dns_on_answer(struct bridge_call *call, const struct dns_answer *answer, void *arg)
{
    struct dns_part *part = arg;
    struct dns_lookup *l = part->lookup;

    part->status = answer->status;
    l->pending--;
    switch (answer->status) {
    case ARES_SUCCESS:
        if (dns_part_parse(part, answer->abuf, answer->alen) != 0) {
            dns_fail(call, l, part->type, ARES_EBADRESP);
            return;
        }
        break;
    case ARES_ENODATA:
    case ARES_ENOTFOUND:
        /* Negative: only the SOA for how long it holds; a malformed one
         * just means it is not cached. */
        if (dns_part_parse(part, answer->abuf, answer->alen) != 0)
            part->negative_ttl = -1;
        break;
    default:
        /* The other queries are cancelled with the call. */
        dns_fail(call, l, part->type, answer->status);
        return;
    }
    if (l->pending == 0)
        dns_finish(call, l);
}

/*
 * Reads the name argument: refanged, without a final dot, lower case.
 * Fills *ip (allocated) for an IP address, else *name (allocated) for a
 * host name.  Returns 0, or -1 with the call failed.
 */
static int
dns_read_target(struct bridge_call *call, const char *raw, char **name, char **ip)
{
    char *v = indicator_refang(raw), *s = v, *e;
    unsigned char addr[sizeof(struct in6_addr)];
    size_t label = 0;
    int bad = 0, ret = -1;

    *name = NULL;
    *ip = NULL;
    while (isspace((unsigned char)*s))
        s++;
    for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]); e--)
        ;
    *e = '\0';
    if (inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1) {
        *ip = xstrdup(s);
        ret = 0;
        goto out;
    }
    if (e > s && e[-1] == '.')
        *--e = '\0';
    if (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0 || strchr(s, '@') != NULL ||
        strchr(s, '/') != NULL) {
        bridge_fail(call, NULL, "\"%s\" is not a domain name or an IP address (give the host name alone)", raw);
        goto out;
    }
    /* Host name syntax: labels of letters, digits, '-' and '_' (service
     * names such as _dmarc), 1 to 63 bytes, 253 in all. */
    for (char *p = s; *p != '\0' && !bad; p++) {
        if (*p == '.') {
            bad = label == 0;
            label = 0;
        } else if (isalnum((unsigned char)*p) || *p == '-' || *p == '_') {
            *p = (char)tolower((unsigned char)*p);
            bad = ++label > 63;
        } else {
            bad = 1;
        }
    }
    if (bad || label == 0 || e - s > 253) {
        bridge_fail(call, NULL, "\"%s\" is not a domain name or an IP address", raw);
        goto out;
    }
    *name = xstrdup(s);
    ret = 0;
out:
    free(v);
    return ret;
}

/*
 * Starts the queries of a lookup: types[] of a name, or, when ptr_of_ip,
 * the PTR record of an IP (an IP is refused otherwise).  Ends the call on
 * a bad argument.
 */
static void
dns_start(struct bridge_call *call, const char *raw, const int *types, size_t ntypes, int ptr_of_ip)
{
    static const int dns_ptr_only[] = {ns_t_ptr};
    struct dns_lookup *l = xcalloc(1, sizeof(*l));
    char *name = NULL, *ip = NULL;

    bridge_call_attach(call, l, dns_lookup_free);
    if (dns_read_target(call, raw, &name, &ip) != 0)
        return;
    if (ip != NULL) {
        if (!ptr_of_ip) {
            bridge_fail(call, NULL, "%s is an IP address: its name is its PTR record (!dns ptr %s)", ip, ip);
            free(ip);
            return;
        }
        l->ip = ip;
        l->name = dns_resolver_reverse_name(ip);
        l->shown = xstrdup(ip);
        types = dns_ptr_only;
        ntypes = 1;
    } else {
        l->name = name;
        l->shown = xstrdup(name);
    }
    l->nparts = ntypes;
    l->pending = ntypes;
    for (size_t i = 0; i < ntypes; i++) {
        l->parts[i].lookup = l;
        l->parts[i].type = types[i];
        l->parts[i].negative_ttl = -1;
    }
    /* If the resolver cannot be made, the first bridge_dns() fails the
     * call and the others do nothing; no answer ever comes synchronously. */
    for (size_t i = 0; i < ntypes; i++)
        bridge_dns(call, l->name, types[i], dns_on_answer, &l->parts[i]);
}

/* !dns lookup <name|ip> [type=...]: A, AAAA and MX of a name, PTR of an
 * IP, or the one type asked for. */
static void
dns_lookup(struct bridge_call *call)
{
    static const int defaults[] = {ns_t_a, ns_t_aaaa, ns_t_mx};
    const char *type = bridge_call_arg(call, "type");
    int t;

    if (type == NULL) {
        dns_start(call, bridge_call_arg(call, "name"), defaults, 3, 1);
        return;
    }
    t = dns_type_of(type);
    dns_start(call, bridge_call_arg(call, "name"), &t, 1, t == ns_t_ptr);
}

/* !dns a|aaaa|mx|ns|txt|cname|soa <name>, and !dns ptr <ip>. */
static void
dns_one_type(struct bridge_call *call)
{
    int t = dns_type_of(bridge_call_command(call)->name);
    const char *raw = bridge_call_arg(call, "name");

    if (t == ns_t_ptr) {
        char *name = NULL, *ip = NULL;
        size_t len;

        /* ptr takes an IP, or a reverse name already written out. */
        if (dns_read_target(call, raw, &name, &ip) != 0)
            return;
        len = name != NULL ? strlen(name) : 0;
        if (name != NULL && (len < 5 || strcmp(name + len - 5, ".arpa") != 0)) {
            bridge_fail(call, NULL, "ptr takes an IP address (\"%s\" is a name: try !dns %s)", raw, name);
            free(name);
            return;
        }
        free(name);
        free(ip);
    }
    dns_start(call, raw, &t, 1, t == ns_t_ptr);
}

/* !dns enrich <domain|ip>: what !enrich asks. */
static void
dns_enrich(struct bridge_call *call)
{
    static const int types[] = {ns_t_a, ns_t_aaaa, ns_t_mx, ns_t_ns};

    dns_start(call, bridge_call_arg(call, "name"), types, 4, 1);
}

static const struct bridge_arg dns_lookup_args[] = {
    {.name = "name",
     .help = "a domain or host name (internal ones too), or an IP address for its reverse name",
     .flags = BRIDGE_ARG_POSITIONAL | BRIDGE_ARG_REQUIRED},
    {.name = "type", .help = "one record type instead of A, AAAA and MX", .flags = 0, .allowed = dns_type_names},
    {.name = NULL},
};

static const struct bridge_arg dns_name_args[] = {
    {.name = "name", .help = "a domain or host name", .flags = BRIDGE_ARG_POSITIONAL | BRIDGE_ARG_REQUIRED},
    {.name = NULL},
};

static const struct bridge_arg dns_ip_args[] = {
    {.name = "name", .help = "an IP address", .flags = BRIDGE_ARG_POSITIONAL | BRIDGE_ARG_REQUIRED},
    {.name = NULL},
};

static const struct bridge_arg dns_enrich_args[] = {
    {.name = "name", .help = "a domain or an IP address", .flags = BRIDGE_ARG_POSITIONAL | BRIDGE_ARG_REQUIRED},
    {.name = NULL},
};

#define DNS_ONE(word, what)                                                                                            \
    {                                                                                                                  \
        .name = word, .usage = word " <name>", .help = what " records of a name, with their TTLs",                     \
        .args = dns_name_args, .level = PERM_ANALYST, .cacheable = 1, .run = dns_one_type                              \
    }

static const struct bridge_command dns_commands[] = {
    {.name = "lookup",
     .usage = "lookup <name|ip> [type=a|aaaa|mx|ns|txt|cname|soa|ptr]",
     .help = "A, AAAA and MX records of a name, or the reverse name (PTR) of an IP, with TTLs",
     .args = dns_lookup_args,
     .level = PERM_ANALYST,
     .cacheable = 1,
     .run = dns_lookup},
    DNS_ONE("a", "IPv4 address (A)"),
    DNS_ONE("aaaa", "IPv6 address (AAAA)"),
    DNS_ONE("mx", "Mail exchanger (MX)"),
    DNS_ONE("ns", "Name server (NS)"),
    DNS_ONE("txt", "Text (TXT)"),
    DNS_ONE("cname", "Alias (CNAME)"),
    DNS_ONE("soa", "Start of authority (SOA)"),
    {.name = "ptr",
     .usage = "ptr <ip>",
     .help = "the reverse name (PTR record) of an IP address",
     .args = dns_ip_args,
     .level = PERM_ANALYST,
     .cacheable = 1,
     .run = dns_one_type},
    {.name = "enrich",
     .usage = "enrich <domain|ip>",
     .help = "A, AAAA, MX and NS of a domain, or the reverse name of an IP (what !enrich shows)",
     .args = dns_enrich_args,
     .enrich = IND_DOMAIN | IND_IP,
     .level = PERM_ANALYST,
     .cacheable = 1,
     .run = dns_enrich},
    {.name = NULL},
};

/* Not bridge_dns: that is the DNS service of bridge.h. */
const struct bridge bridge_dns_tool = {
    .name = "dns",
    .displayname = "DNS",
    .description = "DNS records (A, AAAA, MX, NS, TXT, CNAME, SOA, PTR) with their TTLs",
    .level = PERM_ANALYST,
    .enabled_by_default = 0,
    .commands = dns_commands,
    .config = NULL,
    .state_size = sizeof(struct bridge_state),
};
