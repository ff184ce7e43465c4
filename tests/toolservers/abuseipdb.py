"""A fake AbuseIPDB API v2 for the abuseipdb bridge.

    GET /api/v2/check?ipAddress=...&maxAgeInDays=...&verbose

with the headers Key (the API key) and Accept: application/json.  The
answer is {"data": {...}} with the documented fields (ipAddress, isPublic,
ipVersion, isWhitelisted, abuseConfidenceScore, countryCode, countryName
(verbose), usageType, isp, domain, hostnames, isTor, totalReports,
numDistinctUsers, lastReportedAt, reports (verbose): reportedAt, comment,
categories, reporterId, reporterCountryCode, reporterCountryName).
Errors are {"errors": [{"detail", "status"[, "source"]}]}: 401 for a wrong
key, 422 for a bad address or period, and 429 on demand (quota()) with
X-RateLimit-* and Retry-After headers, as AbuseIPDB sends them.  Every
answer carries X-RateLimit-Limit and X-RateLimit-Remaining.
"""

import ipaddress
import time

from .base import ToolServer, serve_forever

DAILY_LIMIT = 1000


def errors(status, detail, parameter=None):
    e = {"detail": detail, "status": status}
    if parameter is not None:
        e["source"] = {"parameter": parameter}
    return {"errors": [e]}


def report(days_ago, categories, comment, cc="US", country="United States of America", reporter=1):
    when = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - days_ago * 86400))
    return {"reportedAt": when, "comment": comment, "categories": list(categories), "reporterId": reporter,
            "reporterCountryCode": cc, "reporterCountryName": country}


class AbuseIpdbServer(ToolServer):
    """The fake; api_key is the key it accepts."""

    name = "abuseipdb"

    def __init__(self, api_key="abuseipdb-test-key", port=0):
        super().__init__(port)
        self.api_key = api_key
        self.remaining = DAILY_LIMIT
        self.ips = {}
        reports = [report(0.2, [18, 22], "sshd[1234]: Failed password for root from 203.0.113.7 port 52814", "DE",
                          "Germany", 17),
                   report(0.5, [18, 22], "SSH brute force, 40 attempts"),
                   report(1.1, [14], "Port scan on 22, 23, 2222", "NL", "Netherlands", 42),
                   report(2.0, [15, 21], "GET /wp-login.php?action=register", "FR", "France", 7)]
        self.ips["203.0.113.7"] = {
            "ipAddress": "203.0.113.7", "isPublic": True, "ipVersion": 4, "isWhitelisted": False,
            "abuseConfidenceScore": 100, "countryCode": "NL", "countryName": "Netherlands",
            "usageType": "Data Center/Web Hosting/Transit", "isp": "Bulletproof Hosting B.V.",
            "domain": "bulletproof.example.net", "hostnames": [], "isTor": False, "totalReports": 1234,
            "numDistinctUsers": 321, "lastReportedAt": reports[0]["reportedAt"], "reports": reports}
        self.ips["198.51.100.23"] = {
            "ipAddress": "198.51.100.23", "isPublic": True, "ipVersion": 4, "isWhitelisted": False,
            "abuseConfidenceScore": 32, "countryCode": "US", "countryName": "United States of America",
            "usageType": "Fixed Line ISP", "isp": "Example Transit", "domain": "transit.example.com",
            "hostnames": ["host-23.transit.example.com"], "isTor": True, "totalReports": 3, "numDistinctUsers": 2,
            "lastReportedAt": reports[1]["reportedAt"], "reports": [report(3, [9, 13], "Tor exit node")]}

    def quota(self, count=1, retry_after=3600):
        """The next checks answer 429 with AbuseIPDB's message and headers."""
        reset = int(time.time()) + retry_after
        return self.fail(r"/check", 429,
                         errors(429, f"Daily rate limit of {DAILY_LIMIT} requests exceeded for this endpoint. "
                                     "See headers for additional details."),
                         headers={"X-RateLimit-Limit": DAILY_LIMIT, "X-RateLimit-Remaining": 0,
                                  "X-RateLimit-Reset": reset, "Retry-After": retry_after},
                         count=count)

    def handle(self, request):
        if request.headers.get("key") != self.api_key:
            return 401, {}, errors(401, "Authentication failed. Your API key is either missing, incorrect, or "
                                        "revoked. Note: The APIv2 key differs from the APIv1 key.")
        if request.method != "GET" or request.path != "/api/v2/check":
            return 404, {}, errors(404, "The requested endpoint does not exist.")
        ip = (request.query.get("ipAddress") or [""])[0]
        days = (request.query.get("maxAgeInDays") or ["30"])[0]
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return 422, {}, errors(422, "The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or "
                                        "2001:4860:4860::8888).", "ipAddress")
        if not days.isdigit() or not 1 <= int(days) <= 365:
            return 422, {}, errors(422, "The max age in days must be between 1 and 365.", "maxAgeInDays")
        verbose = "verbose" in request.query
        self.remaining -= 1
        data = dict(self.ips.get(str(addr)) or {
            "ipAddress": str(addr), "isPublic": True, "ipVersion": addr.version, "isWhitelisted": None,
            "abuseConfidenceScore": 0, "countryCode": None, "countryName": None, "usageType": None,
            "isp": "Unknown", "domain": None, "hostnames": [], "isTor": False, "totalReports": 0,
            "numDistinctUsers": 0, "lastReportedAt": None, "reports": []})
        if not verbose:
            data.pop("reports", None)
            data.pop("countryName", None)
        headers = {"X-RateLimit-Limit": DAILY_LIMIT, "X-RateLimit-Remaining": max(self.remaining, 0)}
        return 200, headers, {"data": data}


if __name__ == "__main__":
    serve_forever(AbuseIpdbServer())
