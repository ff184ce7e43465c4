"""The abuseipdb bridge through the real warroom, the test homeserver and a
fake AbuseIPDB API v2 (tests/toolservers/abuseipdb.py): /check with the
key in the Key header, maxAgeInDays and verbose, the verdict from the
confidence score, the summary and the categories by name, the period as
a positional or named argument (and refused out of 1..365), the cache,
and every failure: a wrong key (401), the daily quota (429 with AbuseIPDB's
message, X-RateLimit-* and Retry-After: the analyst reads when to retry),
422, 500, a body that is not JSON, a slow API, the SSRF guard without
allow_networks, and no api_key (warroom refuses to start, at the line of
bridges.abuseipdb).  The key never appears in the log.
"""

import time

import harness
from harness import ALICE, room_with_bot
from toolservers.abuseipdb import AbuseIpdbServer, errors

ABUSE = "@soc_abuseipdb:localhost"
KEY = "abuseipdb-test-key-9f8e7d6c5b4a"

tap = harness.Tap()
tmp = harness.tmpdir()
fake = AbuseIpdbServer(api_key=KEY).start()
CONFIG = {"enabled": True, "allow_networks": ["127.0.0.1/32"], "api_key": KEY, "base_url": fake.url + "/api/v2",
          "timeout": "2s", "rate_limit": 0}
hs, wr = harness.start_pair(tmp, config_extra={"bridges": {"abuseipdb": CONFIG}}, retry_scale=0.05)
tap.is_(hs.user_query(ABUSE), (200, {}), "the abuseipdb bridge has its bot")
room = room_with_bot(hs)
hs.invite(room, ALICE, ABUSE)
hs.wait_for(lambda: hs.members(room).get(ABUSE) == "join", timeout=10, what="the abuseipdb bot to join")


def ask(text, timeout=10):
    """Sends a command; returns (body, machine result) of the final answer."""
    return harness.ask(hs, room, ABUSE, text, timeout=timeout)


def rows_of(res):
    return {row[0]: row[1] for row in res.get("rows", [])}


# ---- checks ------------------------------------------------------------------------------------

body, res = ask("!abuseipdb check 203.0.113.7")
tap.diag(body)
req = fake.seen(r"/check$")
tap.is_([(r.path, r.query) for r in req],
        [("/api/v2/check", {"ipAddress": ["203.0.113.7"], "maxAgeInDays": ["90"], "verbose": [""]})],
        "GET /check?ipAddress=...&maxAgeInDays=90&verbose")
tap.is_((req[0].headers.get("key"), req[0].headers.get("accept")) if req else None, (KEY, "application/json"),
        "with the Key and Accept headers")
tap.is_(res.get("verdict"), "malicious", "confidence 100: malicious")
summary = res.get("summary", "")
tap.ok(summary.startswith("confidence 100%, 1,234 reports by 321 users, last 20") and summary.endswith(
    "; ISP Bulletproof Hosting B.V.; usage type Data Center/Web Hosting/Transit; country NL"),
    f"the summary: confidence, reports, users, last report, ISP, usage type: {summary!r}")
rows = rows_of(res)
tap.is_(rows.get("Categories (4 latest reports)"), "Brute-Force (2), SSH (2), Port Scan (1), Hacking (1), "
                                                  "Web App Attack (1)", "the reports' categories, by name")
tap.is_((rows.get("ISP"), rows.get("Domain"), rows.get("Country"), rows.get("Usage type"), rows.get("Tor exit node"),
         rows.get("Whitelisted"), rows.get("Total reports"), rows.get("Distinct reporters")),
        ("Bulletproof Hosting B.V.", "bulletproof.example.net", "Netherlands (NL)", "Data Center/Web Hosting/Transit",
         "no", "no", "1,234", "321"), "ISP, domain, country, usage type, Tor, whitelist, reports, reporters")
tap.ok(any(k.startswith("Report ") and v.startswith("Brute-Force, SSH: sshd[1234]") for k, v in rows.items()),
       "the latest reports with their categories and comments")
tap.ok("malicious" in body.splitlines()[0] and "203.0.113[.]7" in body, "the room sees the verdict, defanged")

body, res = ask("!abuseipdb 198.51.100.23 30")
tap.is_(fake.seen(r"/check$")[-1].query.get("maxAgeInDays"), ["30"], "the default command, days as a positional")
tap.is_(res.get("verdict"), "suspicious", "confidence 32: suspicious")
tap.ok("a Tor exit node" in res.get("summary", "") and rows_of(res).get("Tor exit node") == "yes", "Tor is said")
tap.ok({"type": "domain", "value": "host-23.transit.example.com"} in res.get("artifacts", []),
       "hostnames are artifacts")

body, res = ask("!abuseipdb check 2001:db8::5 days=7")
tap.is_(fake.seen(r"/check$")[-1].query.get("ipAddress"), ["2001:db8::5"], "an IPv6 address, escaped in the query")
tap.is_((res.get("verdict"), res.get("summary")), ("safe", "confidence 0%, no reports in 7 days; ISP Unknown"),
        "never reported: safe")

n = fake.count()
for days in ("0", "366", "soon"):
    body, res = ask(f"!abuseipdb check 192.0.2.1 days={days}")
    tap.is_(res.get("error"), f'days must be a number of days from 1 to 365, not "{days}"', f"days={days} is refused")
tap.is_(fake.count(), n, "without asking AbuseIPDB")

n = fake.count()
ask("!abuseipdb check 192.0.2.2")
body, res = ask("!abuseipdb check 192.0.2.2")
tap.is_(fake.count() - n, 1, "the same check twice makes one request")
tap.ok("from the cache" in body, "the second is from the cache")
ask("!abuseipdb check 192.0.2.2 days=10")
tap.is_(fake.count() - n, 2, "another period is another request")

# ---- failures ----------------------------------------------------------------------------------

fake.api_key = "revoked"
body, res = ask("!abuseipdb check 192.0.2.3")
tap.is_(res.get("error"), "AbuseIPDB refused the API key (HTTP 401)", "401: the key is refused")
fake.api_key = KEY

fake.quota(retry_after=3600)
body, res = ask("!abuseipdb check 192.0.2.4")
tap.is_(res.get("error"), "AbuseIPDB's quota is used up (HTTP 429: Daily rate limit of 1000 requests exceeded for "
                          "this endpoint. See headers for additional details.); try again in 3600 s",
        "429: AbuseIPDB's quota message and when to retry")
tap.ok("Daily rate limit of 1000 requests exceeded" in body and "try again in 3600 s" in body, "shown in the room")

fake.fail(r"/check$", 422, errors(422, "The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or "
                                       "2001:4860:4860::8888).", "ipAddress"))
body, res = ask("!abuseipdb check 192.0.2.5")
tap.is_(res.get("error"), "AbuseIPDB refused the request (HTTP 422: The ip address must be a valid IPv4 or IPv6 "
                          "address (e.g. 8.8.8.8 or 2001:4860:4860::8888).)", "422: its detail")

fake.fail(r"/check$", 500, errors(500, "Internal Server Error"))
body, res = ask("!abuseipdb check 192.0.2.6")
tap.is_(res.get("error"), "AbuseIPDB is failing (HTTP 500); try again later", "500: failing")

fake.malformed(r"/check$")
body, res = ask("!abuseipdb check 192.0.2.7")
tap.is_(res.get("error"), "AbuseIPDB answered with something that is not JSON", "malformed JSON")

fake.fail(r"/check$", 200, {"data": {"ipAddress": "192.0.2.8"}})
body, res = ask("!abuseipdb check 192.0.2.8")
tap.is_(res.get("error"), "AbuseIPDB answered with something that is not a report on an IP address",
        "an answer without a confidence score")

fake.delay(r"/check$", 3.5, count=1)
body, res = ask("!abuseipdb check 192.0.2.9", timeout=15)
tap.is_(res.get("error"), "AbuseIPDB did not answer within 2 s", "a slow API: the bridge's timeout")

tap.is_(wr.stop(), 0, "warroom exits 0")
tap.is_(wr.sanitizer_report(), [], "no sanitizer report")
tap.ok(KEY not in wr.log(), "the API key never appears in the log")


def reconfigure(abuse):
    """Rewrites config.yaml with other abuseipdb settings (keeping the tokens)."""
    wr.set_bridge_config("abuseipdb", abuse)


reconfigure(dict(CONFIG, allow_networks=[]))
wr.start()
n = fake.count()
body, res = ask("!abuseipdb check 192.0.2.30")
tap.is_(res.get("error"), "AbuseIPDB was not asked: its address is on an internal network",
        "without allow_networks the check is refused and the room is told")
tap.is_(fake.count(), n, "nothing reached the API")
tap.is_(wr.stop(), 0, "warroom exits 0")

reconfigure({k: v for k, v in CONFIG.items() if k != "api_key"})
code, said = wr.refuses_to_start("bridges.abuseipdb: api_key is required")
tap.ok(code != 0, f"enabled without an api_key, warroom refuses to start (exit {code})")
tap.ok(said, "with file:line at bridges.abuseipdb")

fake.stop()
hs.stop()
tap.done()
