/*
 * Indicators of compromise: the kinds warroom knows (IP addresses,
 * domains, URLs, e-mail addresses, hashes, CVE IDs, AS numbers), how to
 * recognise one, how to find every one in a text without mistaking
 * ordinary prose for them (version numbers, file names such as
 * report.pdf), and how to defang them for display (hxxp://, 1.2.3[.]4)
 * and refang what analysts paste.
 *
 * The same extractor serves the ioc bridge, !enrich's type detection and
 * the index's "have we seen this before".
 */
#ifndef WARROOM_INDICATOR_H
#define WARROOM_INDICATOR_H

#include <stddef.h>

/* Indicator kinds, as bits so that a command can accept several. */
enum indicator_type {
    IND_IPV4 = 1 << 0,
    IND_IPV6 = 1 << 1,
    IND_DOMAIN = 1 << 2,
    IND_URL = 1 << 3,
    IND_EMAIL = 1 << 4,
    IND_MD5 = 1 << 5,
    IND_SHA1 = 1 << 6,
    IND_SHA256 = 1 << 7,
    IND_CVE = 1 << 8,
    IND_ASN = 1 << 9,
    IND_FILE = 1 << 10, /* a file message (the file bridge) */
    IND_TEXT = 1 << 11, /* free text (the ioc bridge) */
};

#define IND_IP (IND_IPV4 | IND_IPV6)
#define IND_HASH (IND_MD5 | IND_SHA1 | IND_SHA256)
#define IND_ANY_INDICATOR (IND_IP | IND_DOMAIN | IND_URL | IND_EMAIL | IND_HASH | IND_CVE | IND_ASN)

/* "ipv4", "domain", ...; NULL for a combination. */
const char *indicator_type_name(unsigned type);

/* Parses a type name ("ip", "ipv4", "hash", "sha256", ...) into bits;
 * 0 if unknown. */
unsigned indicator_type_parse(const char *name);

/* One indicator found in a text. */
struct indicator {
    enum indicator_type type;
    char *value;  /* refanged and normalised (lower-case domains, hashes) */
    size_t start; /* byte offsets of what matched in the text */
    size_t end;
};

struct indicator_list {
    struct indicator *v;
    size_t n;
};

/*
 * Classifies one value, e.g. what an analyst typed after !enrich; it is
 * refanged first and surrounding white space ignored.  Returns the type,
 * or 0 if it is none of them.  *norm (when norm is not NULL) gets the
 * normalised value (allocated, free with free()), or NULL on 0.
 */
unsigned indicator_detect(const char *value, char **norm);

/* Finds every indicator in text, in order, each once.  out is
 * overwritten (not appended to); empty it with indicator_list_clear().
 * What lies inside a URL or an e-mail address is not reported apart (a
 * separate mention of the same host is).  Matrix IDs (@alice:example.org,
 * #room:example.org, !id:example.org) are neither e-mail addresses nor
 * domains: nothing inside them is reported. */
void indicator_extract(const char *text, struct indicator_list *out);
void indicator_list_clear(struct indicator_list *list);

/* Returns allocated: text with every defanged notation undone
 * (hxxp -> http, [.] -> ., [@] -> @, [:] -> :). */
char *indicator_refang(const char *text);

/* Returns allocated: an indicator written so that no client makes it a
 * link (http -> hxxp, the last dot of a domain or IP -> [.], @ -> [@]). */
char *indicator_defang(const char *value, unsigned type);

/* Returns allocated: text with every indicator in it defanged. */
char *indicator_defang_text(const char *text);

#endif
