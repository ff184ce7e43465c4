/*
 * The pure parts of the abuseipdb bridge (bridges/abuseipdb.c), for its
 * unit tests: the verdict, the names of AbuseIPDB's report categories,
 * and the reading of a /check answer into a result.
 */
#ifndef WARROOM_BRIDGES_ABUSEIPDB_H
#define WARROOM_BRIDGES_ABUSEIPDB_H

#include <json-c/json.h>

#include "bridges/bridge.h"

/* Confidence scores at and above which an address is malicious, and
 * suspicious. */
#define ABUSEIPDB_MALICIOUS_SCORE 75
#define ABUSEIPDB_SUSPICIOUS_SCORE 25

/*
 * The verdict from data.abuseConfidenceScore:
 *   score >= 75                                  malicious
 *   score >= 25                                  suspicious
 *   below 25 and on AbuseIPDB's whitelist        safe
 *   score 0 and no report in the period          safe
 *   otherwise (a few old or weak reports)        info
 * whitelisted is 1, 0, or -1 when AbuseIPDB did not say (null).
 */
enum bridge_verdict abuseipdb_verdict(long score, long total_reports, int whitelisted);

/* The documented name of a report category ("SSH" for 22), or NULL for
 * an ID AbuseIPDB does not document. */
const char *abuseipdb_category_name(long id);

/* Returns allocated: n with thousands separated by commas ("1,234"). */
char *abuseipdb_thousands(long long n);

/*
 * Reads a /check answer ({"data": {...}}) about ip over the last days
 * days into a result: field/value rows (ISP, domain, country, usage type,
 * Tor, whitelist, reports, reporters, last report, the categories of the
 * latest reports and the latest reports themselves), the summary
 * ("confidence 100%, 1,234 reports by 321 users, last 2026-11-27; ISP
 * ...; usage type ...") and the verdict.  Returns allocated (free with
 * bridge_result_free()), or NULL with an allocated reason in *cause if
 * doc has no data.abuseConfidenceScore.
 */
struct bridge_result *abuseipdb_result(const char *ip, long days, struct json_object *doc, char **cause);

#endif
