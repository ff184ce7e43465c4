/*
 * The pure parts of the virustotal bridge (bridges/virustotal.c), for its
 * unit tests: the identifier of a URL, the verdict from the engines'
 * counts, and the reading of VirusTotal API v3 objects into results.
 */
#ifndef WARROOM_BRIDGES_VIRUSTOTAL_H
#define WARROOM_BRIDGES_VIRUSTOTAL_H

#include <json-c/json.h>

#include "bridges/bridge.h"

/* The kinds of object looked up, each with its collection in the API. */
enum virustotal_kind {
    VIRUSTOTAL_IP,     /* /ip_addresses/{ip} */
    VIRUSTOTAL_DOMAIN, /* /domains/{domain} */
    VIRUSTOTAL_URL,    /* /urls/{id} */
    VIRUSTOTAL_FILE,   /* /files/{md5, sha1 or sha256} */
};

/* The identifier of a URL in /urls/{id}: its URL-safe base64 (RFC 4648
 * section 5) without padding.  Returns allocated, free with free(). */
char *virustotal_url_id(const char *url);

/* The verdict from last_analysis_stats: malicious >= 3: malicious;
 * malicious or suspicious >= 1: suspicious; harmless > 0 and nothing bad:
 * safe; else (nothing judged it) info. */
enum bridge_verdict virustotal_verdict(long malicious, long suspicious, long harmless);

/*
 * Reads an answer {"data": {"id", "type", "attributes": {...}}} about
 * query into a result: the engines that flagged it (engine, category,
 * result) and key attributes of the kind as rows, the verdict, and the
 * summary ("4/89 engines: malicious; reputation -12; tags ...").  Returns
 * allocated (free with bridge_result_free()), or NULL with an allocated
 * reason in *cause if doc has no data.attributes.
 */
struct bridge_result *virustotal_result(enum virustotal_kind kind, const char *query, struct json_object *doc,
                                        char **cause);

/* The result for a 404 (NotFoundError): VirusTotal has never seen query.
 * Returns allocated. */
struct bridge_result *virustotal_result_unknown(enum virustotal_kind kind, const char *query);

/* Reads the answer to POST /urls ({"data": {"type": "analysis", "id"}})
 * into a result with the analysis ID.  Returns allocated, or NULL with an
 * allocated reason in *cause. */
struct bridge_result *virustotal_result_submitted(const char *url, struct json_object *doc, char **cause);

#endif
