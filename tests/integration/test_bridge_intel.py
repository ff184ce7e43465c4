"""The three threat-intelligence bridges together (rdap, virustotal,
abuseipdb, with the ioc bridge enabled as by default), each on its fake:
!enrich fans an indicator out to the tools that take its type and answers
one table (source, verdict, key facts) with the most severe verdict
overall; a failing tool is a row that says so; dangerous commands (the
VirusTotal submit) are never part of it.  Also what the bridge host does
for any bridge, once for the three: queueing (concurrency 1 and three
commands at once: all answered, never two at the tool at once) and the
per-user rate limit (rate_limit 2: the third command in a minute is
refused, with the wait).
"""

import json
import os
import threading

import harness
from harness import ALICE, BOT, room_with_bot, wait_answer
from toolservers.abuseipdb import AbuseIpdbServer, errors
from toolservers.rdap import RdapServer
from toolservers.virustotal import VirusTotalServer

BOTS = {"rdap": "@soc_rdap:localhost", "virustotal": "@soc_virustotal:localhost",
        "abuseipdb": "@soc_abuseipdb:localhost", "ioc": "@soc_ioc:localhost"}
BOB = "@bob:localhost"
CAROL = "@carol:localhost"

tap = harness.Tap()
tmp = harness.tmpdir()
rdap = RdapServer().start()
vt = VirusTotalServer(api_key="vt-key").start()
abuse = AbuseIpdbServer(api_key="abuse-key").start()

boot = os.path.join(tmp, "bootstrap")
os.makedirs(boot)
for name, services in {"dns.json": [[["com", "net", "org"], [rdap.url + "/"]]],
                       "ipv4.json": [[["0.0.0.0/0"], [rdap.url + "/"]]],
                       "ipv6.json": [[["::/0"], [rdap.url + "/"]]],
                       "asn.json": [[["1-4294967295"], [rdap.url + "/"]]]}.items():
    with open(os.path.join(boot, name), "w") as f:
        json.dump({"version": "1.0", "publication": "2026-11-01T00:00:00Z", "description": "test",
                   "services": services}, f)

allow = ["127.0.0.1/32"]
config = {"bridges": {
    "rdap": {"enabled": True, "allow_networks": allow, "bootstrap_dir": boot, "rate_limit": 0},
    "virustotal": {"enabled": True, "allow_networks": allow, "api_key": "vt-key", "base_url": vt.url + "/api/v3",
                   "concurrency": 1, "rate_limit": 0},
    "abuseipdb": {"enabled": True, "allow_networks": allow, "api_key": "abuse-key", "base_url": abuse.url + "/api/v2",
                  "rate_limit": 2},
}}
hs, wr = harness.start_pair(tmp, config_extra=config, retry_scale=0.05)
room = room_with_bot(hs)
for bot in BOTS.values():
    hs.invite(room, ALICE, bot)
hs.wait_for(lambda: all(hs.members(room).get(b) == "join" for b in BOTS.values()), timeout=10,
            what="the tools' bots to join")
for user in (BOB, CAROL):
    hs.invite(room, ALICE, user)
    hs.join(room, user)


def enrich(value, sender=ALICE):
    """!enrich value; returns (body, machine result, {source: (verdict, facts)})."""
    ev = hs.send_message(room, sender, "!enrich " + value)
    content = wait_answer(hs, room, ev, bot=BOT, timeout=15)["content"]
    res = content.get("org.warroom.result", {})
    return content["body"], res, {row[0]: (row[1], row[2]) for row in res.get("rows", [])}


# ---- !enrich ----------------------------------------------------------------------------------

body, res, rows = enrich("203[.]0.113.7")
tap.is_(sorted(rows), ["AbuseIPDB", "RDAP", "VirusTotal"], "an IP address goes to RDAP, VirusTotal and AbuseIPDB")
tap.is_(rows.get("RDAP", ("",))[0], "none", "RDAP gives no verdict")
tap.ok(rows.get("RDAP", ("", ""))[1].startswith("EVIL-HOSTING-NET 203.0.113.0/24"), "but its key facts")
tap.is_(rows.get("VirusTotal", ("",))[0], "malicious", "VirusTotal: malicious")
tap.ok(rows.get("VirusTotal", ("", ""))[1].startswith("4/89 engines: malicious"), "with the engines")
tap.is_(rows.get("AbuseIPDB", ("",))[0], "malicious", "AbuseIPDB: malicious")
tap.ok(rows.get("AbuseIPDB", ("", ""))[1].startswith("confidence 100%, 1,234 reports by 321 users"),
       "with the confidence and reports")
tap.is_(res.get("verdict"), "malicious", "overall: the most severe verdict")
tap.is_(res.get("summary"), "Overall: malicious (2 of 2 sources that judge say so)", "and how many agree")
tap.ok("203.0.113[.]7" in body.splitlines()[0] and all(f"  {s} | " in body for s in ("RDAP", "VirusTotal", "AbuseIPDB")),
       "one table in the room, a row per source, the address defanged")
tap.diag(body)

body, res, rows = enrich("fresh-login.com")
tap.is_(sorted(rows), ["RDAP", "VirusTotal"], "a domain goes to RDAP and VirusTotal")
tap.is_((rows.get("RDAP", ("",))[0], rows.get("VirusTotal", ("",))[0]), ("suspicious", "safe"),
        "RDAP: a 5-day-old domain is suspicious; VirusTotal: safe")
tap.ok("newly registered" in rows.get("RDAP", ("", ""))[1], "the reason is in the key facts")
tap.is_(res.get("summary"), "Overall: suspicious (1 of 2 sources that judge say so)", "overall: suspicious")

n_post = vt.count(method="POST")
body, res, rows = enrich("hxxps://fresh-login[.]com/signin")
tap.is_(sorted(rows), ["VirusTotal"], "a URL goes to VirusTotal only")
tap.is_(rows.get("VirusTotal", ("",))[0], "malicious", "as a URL lookup")
tap.is_(vt.count(method="POST"), n_post, "the dangerous submit is never part of !enrich")

body, res, rows = enrich("44d88612fea8a8f36de82e1278abb02f")
tap.is_((sorted(rows), res.get("verdict")), (["VirusTotal"], "malicious"), "a hash goes to VirusTotal")

body, res, rows = enrich("AS13335")
tap.is_(sorted(rows), ["RDAP"], "an AS number goes to RDAP")
tap.is_(res.get("summary"), "No source gave a verdict", "which does not judge")

abuse.fail(r"/check$", 500, errors(500, "Internal Server Error"))
body, res, rows = enrich("198.51.100.23")
tap.is_(rows.get("AbuseIPDB"), ("error", "AbuseIPDB is failing (HTTP 500); try again later"),
        "a failing tool is a row that says so")
tap.is_((rows.get("VirusTotal", ("",))[0], rows.get("RDAP", ("",))[0]), ("safe", "none"), "the others still answer")
tap.is_(res.get("verdict"), "safe", "and judge")

# ---- queueing: VirusTotal with concurrency 1 ---------------------------------------------------

vt.reset()
vt.delay(r"/ip_addresses/", 0.4, count=3)
events = [hs.send_message(room, BOB, f"!virustotal ip 192.0.2.{i}") for i in (51, 52, 53)]
answers = [wait_answer(hs, room, ev, bot=BOTS["virustotal"], timeout=15)["content"] for ev in events]
tap.ok(all(a.get("org.warroom.result", {}).get("summary") == "VirusTotal has never seen it" for a in answers),
       "three commands at once are all answered")
tap.is_(vt.count(r"/ip_addresses/"), 3, "each asked the tool once")
tap.is_(vt.max_in_flight, 1, "and the tool never saw two at once (concurrency 1)")
seen = vt.seen(r"/ip_addresses/")
tap.ok(all(seen[i].ended <= seen[i + 1].started for i in range(len(seen) - 1)), "one after the other")

# ---- the rate limit: AbuseIPDB with rate_limit 2 -------------------------------------------------

n = abuse.count()
answers = []
for ip in ("192.0.2.61", "192.0.2.62", "192.0.2.63"):
    ev = hs.send_message(room, CAROL, f"!abuseipdb check {ip}")
    answers.append(wait_answer(hs, room, ev, bot=BOTS["abuseipdb"])["content"])
tap.ok(all("org.warroom.result" in a and "error" not in a["org.warroom.result"] for a in answers[:2]),
       "two commands in a minute are run")
third = answers[2].get("org.warroom.result", {}).get("error", "")
tap.ok(third.startswith("You have run 2 abuseipdb commands in the last minute, the limit; try again in ")
       and third.endswith(" s"), f"the third is refused, with the wait: {third!r}")
tap.is_(abuse.count() - n, 2, "and never reaches the tool")
ev = hs.send_message(room, BOB, "!abuseipdb check 192.0.2.64")
tap.ok("error" not in wait_answer(hs, room, ev, bot=BOTS["abuseipdb"])["content"].get("org.warroom.result", {}),
       "the limit is per user: another user still may")

tap.is_(wr.stop(), 0, "warroom exits 0")
tap.is_(wr.sanitizer_report(), [], "no sanitizer report")
for srv in (rdap, vt, abuse):
    srv.stop()
hs.stop()
tap.done()
