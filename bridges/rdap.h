/*
 * The pure parts of the rdap bridge (bridges/rdap.c), for its unit
 * tests: the IANA bootstrap registries (RFC 9224) that say which server
 * holds a domain, an address or an AS number, and the reading of RFC 9083
 * answers into results.  Nothing here does I/O but rdap_bootstrap_load(),
 * which reads the four files at start-up.
 */
#ifndef WARROOM_BRIDGES_RDAP_H
#define WARROOM_BRIDGES_RDAP_H

#include <json-c/json.h>
#include <stdint.h>

#include "bridges/bridge.h"

/* What is looked up, and the RDAP path segment of each ("domain/",
 * "ip/", "autnum/"). */
enum rdap_kind {
    RDAP_DOMAIN,
    RDAP_IP,
    RDAP_AUTNUM,
};

struct rdap_bootstrap;

/*
 * Reads dns.json, ipv4.json, ipv6.json and asn.json from dir.  Each must
 * have RFC 9224's shape: an object with "services", an array of
 * [[entries], [base URLs]].  Returns 0 and *out (free with
 * rdap_bootstrap_free()), or -1 with an allocated reason in *cause naming
 * the file and what is wrong with it.
 */
int rdap_bootstrap_load(const char *dir, struct rdap_bootstrap **out, char **cause);
void rdap_bootstrap_free(struct rdap_bootstrap *bs);

/*
 * The base URL (ending in '/') of the server for value: a domain (the
 * longest matching label suffix), an IPv4 or IPv6 address (the longest
 * matching prefix) or an AS number in decimal (the narrowest range that
 * holds it).  Where a service lists several URLs, the first https one.
 * Returns a string borrowed from bs, or NULL if no service covers value.
 */
const char *rdap_bootstrap_find(const struct rdap_bootstrap *bs, enum rdap_kind kind, const char *value);

/* Parses an AS number written "AS13335", "as13335", "ASN 13335" or
 * "13335".  Returns 0 and *out, or -1. */
int rdap_parse_asn(const char *text, uint32_t *out);

/* Parses an RFC 3339 date-time as RDAP events carry it
 * ("2024-05-01T12:00:00Z", with fractions of a second or an offset such as
 * "+02:00", or a bare date).  Returns 0 and *out in seconds since the
 * epoch, or -1. */
int rdap_parse_time(const char *text, int64_t *out);

/* Days under which a domain's age makes it suspicious. */
#define RDAP_NEW_DOMAIN_DAYS 30

/*
 * Reads an RFC 9083 answer for query (the domain, address or "AS<n>"
 * asked) into a result: field/value rows, a one-line summary (registrar,
 * age, country), the verdict (none, or suspicious for a domain registered
 * less than RDAP_NEW_DOMAIN_DAYS days before now, in seconds since the
 * epoch) and artifacts (abuse e-mail addresses, name servers).  Returns
 * allocated (free with bridge_result_free()), or NULL with an allocated
 * reason in *cause if doc is not the object asked for.
 */
struct bridge_result *rdap_result(enum rdap_kind kind, const char *query, struct json_object *doc, int64_t now,
                                  char **cause);

/* The result for a 404: the registry has no data on query.  error is the
 * RFC 9083 error object of the answer, or NULL.  Returns allocated. */
struct bridge_result *rdap_result_not_found(enum rdap_kind kind, const char *query, struct json_object *error);

#endif
