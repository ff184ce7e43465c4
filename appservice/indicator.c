/*
 * Indicators of compromise: type names, classifying one value an analyst
 * typed (indicator_detect) and finding every indicator in a text
 * (indicator_extract); see indicator.h.  The text is refanged first
 * (indicator_refang.c), scanned for candidates (indicator_scan.c), and
 * each kept span is normalised (indicator_valid.c), deduplicated on type
 * and value, and reported with its offsets in the original text.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uthash.h>

#include "indicator.h"
#include "indicator_internal.h"
#include "xmalloc.h"

/* A name and the type bits it stands for; the first name of each single
 * type is the one indicator_type_name() gives. */
struct indicator_name {
    const char *name;
    unsigned type;
};

static const struct indicator_name indicator_names[] = {
    {"ipv4", IND_IPV4},
    {"ipv6", IND_IPV6},
    {"domain", IND_DOMAIN},
    {"url", IND_URL},
    {"email", IND_EMAIL},
    {"md5", IND_MD5},
    {"sha1", IND_SHA1},
    {"sha256", IND_SHA256},
    {"cve", IND_CVE},
    {"asn", IND_ASN},
    {"file", IND_FILE},
    {"text", IND_TEXT},
    /* Aliases and groups, for parsing only. */
    {"ip", IND_IP},
    {"hash", IND_HASH},
    {"any", IND_ANY_INDICATOR},
    {"e-mail", IND_EMAIL},
    {"mail", IND_EMAIL},
    {"hostname", IND_DOMAIN},
    {"fqdn", IND_DOMAIN},
    {"uri", IND_URL},
    {"sha-1", IND_SHA1},
    {"sha-256", IND_SHA256},
    {"as", IND_ASN},
};

/* A value already reported, for deduplication: the key is the type in
 * decimal, ':' and the normalised value. */
struct indicator_seen {
    UT_hash_handle hh;
    char *key;
};

/* Returns the name of one type bit, NULL for 0 or a combination. */
const char *
indicator_type_name(unsigned type)
{
    for (size_t i = 0; i < sizeof(indicator_names) / sizeof(indicator_names[0]); i++)
        if (indicator_names[i].type == type)
            return (type & (type - 1)) == 0 ? indicator_names[i].name : NULL;
    return NULL;
}

/* Returns the bits a name or alias stands for (any case), 0 if unknown. */
unsigned
indicator_type_parse(const char *name)
{
    if (name == NULL)
        return 0;
    for (size_t i = 0; i < sizeof(indicator_names) / sizeof(indicator_names[0]); i++)
        if (strcasecmp(indicator_names[i].name, name) == 0)
            return indicator_names[i].type;
    return 0;
}

/* Returns the type of the whole of s[0..len), without prose rules: the
 * analyst asked about it, so a bare "readme.md" is a domain. */
static unsigned
indicator_detect_type(const char *s, size_t len)
{
    size_t n, slen;
    const char *at;

    if (len == 0)
        return 0;
    if (indicator_valid_ipv4(s, len))
        return IND_IPV4;
    if (indicator_valid_ipv6(s, len, NULL))
        return IND_IPV6;
    if ((slen = indicator_valid_scheme(s, len)) > 0) {
        size_t a = slen + 3, ae = a;

        while (ae < len && strchr("/?#", s[ae]) == NULL)
            ae++;
        for (size_t i = ae; i < len; i++)
            if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
                return 0;
        return indicator_valid_authority(s + a, ae - a) ? IND_URL : 0;
    }
    if ((at = memrchr(s, '@', len)) != NULL)
        return indicator_valid_email_local(s, (size_t)(at - s)) &&
                       indicator_valid_domain(at + 1, len - (size_t)(at - s) - 1, NULL)
                   ? IND_EMAIL
                   : 0;
    if ((n = indicator_valid_cve(s, len)) == len)
        return IND_CVE;
    if ((n = indicator_valid_asn(s, len)) == len)
        return IND_ASN;
    if ((n = indicator_valid_hash(s, len)) != 0)
        return (unsigned)n;
    if (indicator_valid_domain(s, len, NULL))
        return IND_DOMAIN;
    return 0;
}

/* Classifies one typed value after refanging and trimming it. */
unsigned
indicator_detect(const char *value, char **norm)
{
    char *v = NULL;
    size_t a = 0, b;
    unsigned type = 0;

    if (norm != NULL)
        *norm = NULL;
    if (value == NULL)
        goto out;
    /* What an analyst pastes may still be defanged, and may carry the
     * spaces of the command line around it. */
    v = indicator_refang(value);
    b = strlen(v);
    while (a < b && strchr(" \t\r\n", v[a]) != NULL)
        a++;
    while (b > a && strchr(" \t\r\n", v[b - 1]) != NULL)
        b--;
    /* A bracketed IPv6 address, as in URLs. */
    if (b - a > 2 && v[a] == '[' && v[b - 1] == ']' && indicator_valid_ipv6(v + a + 1, b - a - 2, NULL)) {
        a++;
        b--;
    }
    type = indicator_detect_type(v + a, b - a);
    if (type != 0 && norm != NULL)
        *norm = indicator_valid_normalise(type, v + a, b - a);
out:
    free(v);
    return type;
}

/* Refangs, scans, normalises and deduplicates; offsets go through the
 * refang map back to the original bytes. */
void
indicator_extract(const char *text, struct indicator_list *out)
{
    struct indicator_refanged r = {0};
    struct indicator_span_list spans = {0};
    struct indicator_seen *seen = NULL, *e, *tmp;

    out->v = NULL;
    out->n = 0;
    if (text == NULL)
        return;
    indicator_refang_mapped(text, strlen(text), &r);
    indicator_scan(&r, &spans);
    if (spans.n > 0)
        out->v = xreallocarray(NULL, spans.n, sizeof(out->v[0]));
    for (size_t i = 0; i < spans.n; i++) {
        const struct indicator_span *sp = &spans.v[i];
        char *value = indicator_valid_normalise(sp->type, r.text + sp->start, sp->end - sp->start);
        char *key = xasprintf("%u:%s", sp->type, value);

        HASH_FIND_STR(seen, key, e);
        if (e != NULL) {
            free(key);
            free(value);
            continue;
        }
        e = xcalloc(1, sizeof(*e));
        e->key = key;
        HASH_ADD_KEYPTR(hh, seen, e->key, strlen(e->key), e);
        out->v[out->n++] = (struct indicator){
            .type = (enum indicator_type)sp->type,
            .value = value,
            .start = r.map[sp->start],
            .end = r.map[sp->end],
        };
    }
    HASH_ITER(hh, seen, e, tmp)
    {
        HASH_DEL(seen, e);
        free(e->key);
        free(e);
    }
    free(spans.v);
    indicator_refang_release(&r);
}

/* Frees every value and the array; NULL is a no-op. */
void
indicator_list_clear(struct indicator_list *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->n; i++)
        free(list->v[i].value);
    free(list->v);
    list->v = NULL;
    list->n = 0;
}
