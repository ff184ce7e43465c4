"""A fake VirusTotal API v3 for the virustotal bridge.

    GET  /api/v3/ip_addresses/{ip}
    GET  /api/v3/domains/{domain}
    GET  /api/v3/urls/{id}          id: the URL in URL-safe base64 without padding
    GET  /api/v3/files/{hash}       MD5, SHA-1 or SHA-256
    POST /api/v3/urls               form field url: queues an analysis

Objects have the documented shape {"data": {"id", "type", "links",
"attributes": {...}}} with last_analysis_stats and last_analysis_results;
errors are {"error": {"code", "message"}}: WrongCredentialsError (401)
when the x-apikey header is not the key, NotFoundError (404) for what it
does not hold, BadRequestError (400), and QuotaExceededError (429) on
demand (quota()).
"""

import base64
import hashlib
import time
import urllib.parse

from .base import ToolServer, serve_forever

PREFIX = "/api/v3"


def error(code, message):
    return {"error": {"code": code, "message": message}}


def engines(flagged, clean=("Kaspersky", "ESET-NOD32", "Sophos"), clean_category="harmless"):
    """last_analysis_results: flagged is [(engine, category, result)]."""
    out = {}
    for name, cat, result in flagged:
        out[name] = {"category": cat, "result": result, "method": "blacklist", "engine_name": name}
    for name in clean:
        out[name] = {"category": clean_category, "result": "clean" if clean_category == "harmless" else None,
                     "method": "blacklist", "engine_name": name}
    return out


def stats(malicious=0, suspicious=0, harmless=0, undetected=0, timeout=0):
    return {"harmless": harmless, "malicious": malicious, "suspicious": suspicious, "undetected": undetected,
            "timeout": timeout}


def obj(kind, ident, attributes):
    collection = {"ip_address": "ip_addresses", "domain": "domains", "url": "urls", "file": "files"}[kind]
    return {"data": {"id": ident, "type": kind,
                     "links": {"self": f"https://www.virustotal.com/api/v3/{collection}/{ident}"},
                     "attributes": attributes}}


def url_id(url):
    """What the bridge must compute: URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(url.encode("utf-8")).decode("ascii").rstrip("=")


class VirusTotalServer(ToolServer):
    """The fake, holding a few objects; api_key is the key it accepts."""

    name = "virustotal"

    def __init__(self, api_key="vt-test-key", port=0):
        super().__init__(port)
        self.api_key = api_key
        self.ips, self.domains, self.urls, self.files = {}, {}, {}, {}
        self.submitted = []
        now = int(time.time())
        self.ips["203.0.113.7"] = obj("ip_address", "203.0.113.7", {
            "as_owner": "Bulletproof Hosting B.V.", "asn": 64496, "country": "NL", "continent": "EU",
            "network": "203.0.113.0/24", "regional_internet_registry": "RIPE NCC", "reputation": -12,
            "tags": ["c2"], "total_votes": {"harmless": 0, "malicious": 7}, "last_analysis_date": now - 3600,
            "last_analysis_stats": stats(malicious=4, suspicious=1, harmless=60, undetected=24),
            "last_analysis_results": engines([("Fortinet", "malicious", "malware"),
                                              ("BitDefender", "malicious", "malware"),
                                              ("CRDF", "malicious", "malicious"), ("Lionic", "malicious", "malicious"),
                                              ("alphaMountain.ai", "suspicious", "suspicious")])})
        self.ips["198.51.100.23"] = obj("ip_address", "198.51.100.23", {
            "as_owner": "Example Transit", "asn": 64500, "country": "US", "network": "198.51.100.0/24",
            "reputation": 0, "tags": [], "last_analysis_stats": stats(harmless=70, undetected=19),
            "last_analysis_results": engines([])})
        self.domains["fresh-login.com"] = obj("domain", "fresh-login.com", {
            "registrar": "NameCheap, Inc.", "creation_date": now - 5 * 86400, "reputation": -3, "tags": [],
            "categories": {"Forcepoint ThreatSeeker": "newly registered websites"},
            "last_analysis_stats": stats(malicious=0, suspicious=0, harmless=55, undetected=34),
            "last_analysis_results": engines([])})
        self.domains["example.com"] = obj("domain", "example.com", {
            "registrar": "RESERVED-Internet Assigned Numbers Authority", "creation_date": 808372800,
            "reputation": 10, "tags": [], "categories": {"BitDefender": "computersandsoftware"},
            "last_analysis_stats": stats(harmless=66, undetected=23), "last_analysis_results": engines([])})
        phish = "https://fresh-login.com/signin"
        self.urls[phish] = obj("url", hashlib.sha256(phish.encode()).hexdigest(), {
            "url": phish, "last_final_url": "https://fresh-login.com/signin/verify.php",
            "title": "Sign in to your account", "last_http_response_code": 200,
            "categories": {"Sophos": "phishing and fraud"}, "first_submission_date": now - 86400,
            "last_analysis_date": now - 600, "reputation": 0, "tags": [], "times_submitted": 2,
            "last_analysis_stats": stats(malicious=7, harmless=50, undetected=32),
            "last_analysis_results": engines([("Sophos", "malicious", "phishing"),
                                              ("Fortinet", "malicious", "phishing")])})
        eicar = {"md5": "44d88612fea8a8f36de82e1278abb02f", "sha1": "3395856ce81f2b7382dee72602f798b642f14140",
                 "sha256": "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"}
        record = obj("file", eicar["sha256"], dict(eicar, **{
            "type_description": "Text", "size": 68, "names": ["eicar.com", "eicar.txt"],
            "first_submission_date": 1148301722, "last_analysis_date": now - 7200, "reputation": 3515,
            "popular_threat_classification": {"suggested_threat_label": "eicar/test"}, "tags": ["text"],
            "last_analysis_stats": dict(stats(malicious=62, undetected=11), **{"type-unsupported": 4}),
            "last_analysis_results": engines([("Kaspersky", "malicious", "EICAR-Test-File"),
                                              ("ESET-NOD32", "malicious", "Eicar test file")], clean=("Acronis",),
                                             clean_category="undetected")}))
        for h in eicar.values():
            self.files[h] = record

    def quota(self, path_regex=r"/", count=1):
        """The next matching requests answer 429 QuotaExceededError."""
        return self.fail(path_regex, 429, error("QuotaExceededError",
                                                "You have exceeded one of your quotas (minute, daily or monthly)."),
                         count=count)

    def handle(self, request):
        if request.headers.get("x-apikey") != self.api_key:
            return 401, {}, error("WrongCredentialsError", "Wrong API key")
        if not request.path.startswith(PREFIX + "/"):
            return 404, {}, error("NotFoundError", f"Resource not found: {request.path}")
        parts = request.path[len(PREFIX) + 1:].split("/")
        if request.method == "POST" and parts == ["urls"]:
            form = urllib.parse.parse_qs(request.body.decode("utf-8"))
            if "url" not in form:
                return 400, {}, error("BadRequestError", "The url parameter is required")
            url = form["url"][0]
            self.submitted.append(url)
            ident = f"u-{hashlib.sha256(url.encode()).hexdigest()}-{int(time.time())}"
            return 200, {}, {"data": {"type": "analysis", "id": ident,
                                      "links": {"self": f"https://www.virustotal.com/api/v3/analyses/{ident}"}}}
        if request.method != "GET" or len(parts) != 2:
            return 400, {}, error("BadRequestError", "Unsupported request")
        collection, ident = parts
        if collection == "ip_addresses":
            found = self.ips.get(ident)
        elif collection == "domains":
            found = self.domains.get(ident)
        elif collection == "urls":
            try:
                url = base64.urlsafe_b64decode(ident + "=" * (-len(ident) % 4)).decode("utf-8")
            except ValueError:
                return 400, {}, error("BadRequestError", f"Invalid URL identifier: {ident}")
            found = self.urls.get(url)
        elif collection == "files":
            found = self.files.get(ident.lower())
        else:
            return 404, {}, error("NotFoundError", f"Resource not found: {request.path}")
        if found is None:
            return 404, {}, error("NotFoundError", f"{collection[:-1].replace('_', ' ')} \"{ident}\" not found")
        return 200, {}, found


if __name__ == "__main__":
    serve_forever(VirusTotalServer())
