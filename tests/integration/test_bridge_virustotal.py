"""The virustotal bridge through the real warroom, the test homeserver and a
fake VirusTotal API v3 (tests/toolservers/virustotal.py): IP, domain, URL
(its URL-safe base64 id) and hash lookups with the API key in x-apikey,
the default command detecting the type, the verdict and summary from the
engines, 404 as "never seen", the cache, and every failure: a wrong key
(401), the quota (429), 500, a body that is not JSON, a slow API, the SSRF
guard without allow_networks, and no api_key at all (warroom refuses to
start, at the line of bridges.virustotal).  Then the dangerous submit:
the bot asks, another user's 👍 does nothing, the caller's runs it (one
POST), and a submit left unconfirmed past bridge.confirm_timeout is not
run and the room is told.  The key never appears in the log.
"""

import json
import time
import urllib.parse

import harness
from harness import ALICE, bot_messages, room_with_bot, wait_reply
from toolservers.virustotal import VirusTotalServer, url_id

VT = "@soc_virustotal:localhost"
BOB = "@bob:localhost"
GUEST = "@partner:partner.example"
KEY = "vt-test-key-0123456789abcdef"
THUMBS_UP = "\U0001f44d"

tap = harness.Tap()
tmp = harness.tmpdir()
fake = VirusTotalServer(api_key=KEY).start()
VT_CONFIG = {"enabled": True, "allow_networks": ["127.0.0.1/32"], "api_key": KEY, "base_url": fake.url + "/api/v3",
             "timeout": "2s", "rate_limit": 0}
hs, wr = harness.start_pair(tmp, config_extra={"bridges": {"virustotal": VT_CONFIG},
                                               "bridge": {"confirm_timeout": "5s"}}, retry_scale=0.05)
tap.is_(hs.user_query(VT), (200, {}), "the virustotal bridge has its bot")
room = room_with_bot(hs)
hs.invite(room, ALICE, VT)
hs.wait_for(lambda: hs.members(room).get(VT) == "join", timeout=10, what="the virustotal bot to join")
hs.invite(room, ALICE, BOB)
hs.join(room, BOB)


def ask(text, sender=ALICE, in_room=None, timeout=10):
    """Sends a command; returns (body, machine result) of the final answer."""
    return harness.ask(hs, in_room or room, VT, text, sender=sender, timeout=timeout)


def rows_of(res):
    return {row[0]: row[1:] for row in res.get("rows", [])}


# A submit nobody confirms: its confirm_timeout (5 s) runs while the lookups
# below are made; it is checked after the confirmed one.
def replies(ev):
    """The bot's messages in reply to ev, as (event, content) with edits applied."""
    mine = bot_messages(hs, room, VT)
    out = []
    for e in mine:
        if e["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id") != ev:
            continue
        content = e["content"]
        for x in mine:
            rel = x["content"].get("m.relates_to", {})
            if rel.get("rel_type") == "m.replace" and rel.get("event_id") == e["event_id"]:
                content = x["content"]["m.new_content"]
        out.append((e, content))
    return out


unconfirmed = hs.send_message(room, ALICE, "!virustotal submit https://fresh-login.com/other")
unconfirmed_prompt = wait_reply(hs, room, unconfirmed, bot=VT)
tap.ok("marked dangerous" in unconfirmed_prompt["content"]["body"], "a submit is asked about")

# ---- lookups ---------------------------------------------------------------------------------

body, res = ask("!virustotal ip 203.0.113.7")
tap.diag(body)
req = fake.seen(r"/ip_addresses/")
tap.is_([r.path for r in req], ["/api/v3/ip_addresses/203.0.113.7"], "an IP address: /ip_addresses/{ip}")
tap.is_(req[0].headers.get("x-apikey") if req else None, KEY, "with the API key in x-apikey")
tap.is_(res.get("verdict"), "malicious", "4 engines say malicious: malicious")
tap.is_(res.get("summary"), "4/89 engines: malicious, 1 suspicious; reputation -12; tags c2; AS64496 Bulletproof "
                            "Hosting B.V., country NL", "the summary: engines, reputation, tags, owner")
rows = rows_of(res)
tap.is_(rows.get("Fortinet"), ["malicious", "malware"], "the engines that flagged it are rows (engine, category, result)")
tap.is_(rows.get("alphaMountain.ai"), ["suspicious", "suspicious"], "suspicious ones too")
tap.ok("Kaspersky" not in rows, "engines that found nothing are not listed")
tap.is_(rows.get("AS owner"), ["attribute", "Bulletproof Hosting B.V."], "key attributes: as_owner")
tap.is_(rows.get("Network"), ["attribute", "203.0.113.0/24"], "network")
tap.ok("malicious" in body.splitlines()[0], f"the room sees the verdict: {body.splitlines()[0]!r}")

body, res = ask("!virustotal domain fresh-login.com")
tap.is_(fake.count(r"^/api/v3/domains/fresh-login\.com$"), 1, "a domain: /domains/{domain}")
tap.is_(res.get("verdict"), "safe", "harmless engines only: safe")
tap.ok("registrar NameCheap, Inc.; created " in res.get("summary", ""), f"registrar and creation: {res.get('summary')!r}")
tap.ok(rows_of(res).get("Categories", ["", ""])[1] == "Forcepoint ThreatSeeker: newly registered websites",
       "categories by vendor")

body, res = ask("!virustotal url hxxps://fresh-login[.]com/signin")
want_id = url_id("https://fresh-login.com/signin")
tap.is_([r.path for r in fake.seen(r"/urls/")], ["/api/v3/urls/" + want_id],
        "a URL: /urls/{id}, the refanged URL in URL-safe base64 without padding")
tap.is_(res.get("verdict"), "malicious", "7 engines: malicious")
tap.ok('title "Sign in to your account"' in res.get("summary", ""), "the page's title in the summary")
tap.ok({"type": "url", "value": "https://fresh-login.com/signin/verify.php"} in res.get("artifacts", []),
       "the final URL is an artifact")

body, res = ask("!virustotal hash 44D88612FEA8A8F36DE82E1278ABB02F")
tap.is_(fake.count(r"^/api/v3/files/44d88612fea8a8f36de82e1278abb02f$"), 1, "a hash: /files/{hash}, lower case")
tap.is_(res.get("summary"), "62/73 engines: malicious; reputation 3515; tags text; Text, 68 bytes; label eicar/test",
        "a file: detections, type, size, label")

body, res = ask("!virustotal 198.51.100.23")
tap.is_((res.get("command"), fake.count(r"^/api/v3/ip_addresses/198\.51\.100\.23$")), ("lookup", 1),
        "the default command detects an IP address")
tap.is_(res.get("verdict"), "safe", "and judges it")

body, res = ask("!virustotal domain never-seen-before.com")
tap.is_(res.get("summary"), "VirusTotal has never seen it", "404 NotFoundError: never seen")
tap.is_(res.get("verdict"), "none", "with no verdict")

body, res = ask("!virustotal url https://never-seen-before.com/x")
tap.ok(res.get("summary", "").startswith("VirusTotal has never seen it (submit it"), "a URL never seen: submit it")

n = fake.count(r"/domains/example\.com$")
ask("!virustotal domain example.com")
body, res = ask("!virustotal domain example.com")
tap.is_(fake.count(r"/domains/example\.com$") - n, 1, "the same lookup twice makes one request")
tap.ok("from the cache" in body, "the second is from the cache")

body, res = ask("!virustotal ip example.com")
tap.ok("Usage: !virustotal ip <address>" in body, "a domain given to ip is a usage error")

# ---- failures ----------------------------------------------------------------------------------

fake.api_key = "rotated-key"
body, res = ask("!virustotal ip 192.0.2.10")
tap.is_(res.get("error"), "VirusTotal refused the API key (HTTP 401)", "401 WrongCredentialsError: the key is refused")
fake.api_key = KEY

fake.quota(r"/ip_addresses/")
body, res = ask("!virustotal ip 192.0.2.11")
tap.is_(res.get("error"), "VirusTotal's quota is used up (HTTP 429: You have exceeded one of your quotas (minute, "
                          "daily or monthly).)", "429 QuotaExceededError: the quota message")
tap.ok("quota is used up" in body, "shown in the room")

fake.fail(r"/ip_addresses/", 500, {"error": {"code": "TransientError", "message": "Please retry"}})
body, res = ask("!virustotal ip 192.0.2.12")
tap.is_(res.get("error"), "VirusTotal is failing (HTTP 500); try again later", "500: failing")

fake.malformed(r"/ip_addresses/")
body, res = ask("!virustotal ip 192.0.2.13")
tap.is_(res.get("error"), "VirusTotal answered with something that is not JSON", "malformed JSON")

fake.fail(r"/ip_addresses/", 200, {"data": {"id": "192.0.2.14", "type": "ip_address"}})
body, res = ask("!virustotal ip 192.0.2.14")
tap.is_(res.get("error"), "VirusTotal answered with something that is not a report on the IP address",
        "an object without attributes")

fake.delay(r"/ip_addresses/", 3.5, count=1)
body, res = ask("!virustotal ip 192.0.2.15", timeout=15)
tap.is_(res.get("error"), "VirusTotal did not answer within 2 s", "a slow API: the bridge's timeout")

# A guest may not spend the team's VirusTotal quota.
guest_room = room_with_bot(hs)
hs.invite(guest_room, ALICE, VT)
hs.wait_for(lambda: hs.members(guest_room).get(VT) == "join", timeout=10, what="the virustotal bot to join")
hs.invite(guest_room, ALICE, GUEST)
hs.join(guest_room, GUEST)
body, res = ask("!virustotal ip 203.0.113.7", sender=GUEST, in_room=guest_room)
tap.ok("You may not run !virustotal ip" in body, f"a guest may not use VirusTotal: {body!r}")

# ---- the dangerous submit ---------------------------------------------------------------------


phish = "https://fresh-login.com/signin?id=1&next=/a%20b"
ev = hs.send_message(room, ALICE, f'!virustotal submit "{phish}"')
prompt = wait_reply(hs, room, ev, bot=VT)
tap.ok("virustotal submit is marked dangerous" in prompt["content"]["body"] and THUMBS_UP in prompt["content"]["body"],
       f"the bot asks first: {prompt['content']['body']!r}")
tap.ok(ALICE in prompt["content"].get("m.mentions", {}).get("user_ids", []), "mentioning the caller")
hs.react(room, BOB, prompt["event_id"], THUMBS_UP)
time.sleep(0.8)
tap.is_(fake.count(method="POST"), 0, "another user's 👍 does nothing")
tap.is_(len(replies(ev)), 1, "and nothing is answered")
hs.react(room, ALICE, prompt["event_id"], THUMBS_UP)
answer = hs.wait_for(lambda: next((c for e, c in replies(ev) if "org.warroom.result" in c
                                   and not c.get("body", "").startswith("\u23f3")), None),
                     timeout=10, what="the submission's answer")
posts = fake.seen(r"^/api/v3/urls$", method="POST")
tap.is_(len(posts), 1, "the caller's 👍 runs it: exactly one POST /urls")
tap.is_(urllib.parse.parse_qs(posts[0].body.decode()) if posts else None, {"url": [phish]},
        "with the URL as the form field url, encoded")
tap.is_(posts[0].headers.get("content-type") if posts else None, "application/x-www-form-urlencoded", "as a form")
result = answer["org.warroom.result"]
analysis = {row[0]: row[2] for row in result.get("rows", [])}.get("Analysis ID", "")
tap.ok(analysis.startswith("u-") and analysis in result.get("summary", ""),
       f"the answer gives the analysis ID: {result.get('summary')!r}")

told = hs.wait_for(lambda: next((c for e, c in replies(unconfirmed) if "Not run" in c.get("body", "")), None),
                   timeout=10, what="the room to be told the submit was not run")
tap.ok("was not confirmed within 5 seconds" in told["body"], f"a submit unconfirmed past confirm_timeout: {told['body']!r}")
hs.react(room, ALICE, unconfirmed_prompt["event_id"], THUMBS_UP)
time.sleep(0.5)
tap.is_(fake.count(method="POST"), 1, "is not run, not even by a late 👍")


def confirm_steps(event_id):
    """The audit log's confirmation steps of a command: (phase, user)."""
    db = wr.db()
    try:
        details = [json.loads(d) for (d,) in db.execute("SELECT detail FROM audit_log WHERE kind = 'permission'")]
    finally:
        db.close()
    return [(d["phase"], d["user"]) for d in details if d.get("action") == "confirm" and d["event_id"] == event_id]


tap.is_(confirm_steps(ev), [("asked", ALICE), ("refused", BOB), ("confirmed", ALICE)],
        "the audit log has the confirmation asked, another user's 👍 refused, the caller's accepted")
tap.is_(confirm_steps(unconfirmed), [("asked", ALICE), ("expired", ALICE)], "and the one that expired")
db = wr.db()
try:
    audit_text = "\n".join(d for (d,) in db.execute("SELECT detail FROM audit_log"))
finally:
    db.close()
tap.ok("virustotal" in audit_text and KEY not in audit_text, "the config entry has the bridge but not its API key")

tap.is_(wr.stop(), 0, "warroom exits 0")
tap.is_(wr.sanitizer_report(), [], "no sanitizer report")
tap.ok(KEY not in wr.log(), "the API key never appears in the log")


def reconfigure(vt):
    """Rewrites config.yaml with other virustotal settings (keeping the tokens)."""
    wr.set_bridge_config("virustotal", vt)


# ---- without allow_networks: the SSRF guard --------------------------------------------------

reconfigure(dict(VT_CONFIG, allow_networks=[]))
wr.start()
n = fake.count()
body, res = ask("!virustotal ip 192.0.2.20")
tap.is_(res.get("error"), "VirusTotal was not asked: its address is on an internal network",
        "without allow_networks the lookup is refused and the room is told")
tap.is_(fake.count(), n, "nothing reached the API")
tap.is_(wr.stop(), 0, "warroom exits 0")

# ---- no api_key: warroom does not start ---------------------------------------------------------

reconfigure({k: v for k, v in VT_CONFIG.items() if k != "api_key"})
code, said = wr.refuses_to_start("bridges.virustotal: api_key is required")
tap.ok(code != 0, f"enabled without an api_key, warroom refuses to start (exit {code})")
tap.ok(said, "with file:line at bridges.virustotal")

fake.stop()
hs.stop()
tap.done()
