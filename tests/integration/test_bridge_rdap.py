"""The rdap bridge through the real warroom, the test homeserver and a fake
RDAP server (tests/toolservers/rdap.py): the server chosen from bootstrap
files (bridges.rdap.bootstrap_dir, here pointing at the fake under a path
per registry), domains (a young one suspicious), IP networks, AS numbers,
the type detected by the default command, redirects followed, 404 as "no
registration data", and every failure the analyst must understand: 429
with the server's words and Retry-After, 403, 500, a body that is not
JSON, an object of the wrong class, a slow server (the bridge's timeout),
a redirect into an internal network, no server known, the SSRF guard
without allow_networks.  Also the cache, base_url (a proxy: the bootstrap
files are not read), and the refusal to start on unreadable bootstrap
files, at the line of bridges.rdap.
"""

import json
import os
import time

import harness
from harness import ALICE, room_with_bot
from toolservers.rdap import RdapServer, error_object

RDAP = "@soc_rdap:localhost"
GUEST = "@partner:partner.example"

tap = harness.Tap()
tmp = harness.tmpdir()
fake = RdapServer().start()

# Bootstrap files of RFC 9224's shape, each registry under its own path
# of the fake, so that the path a query arrives at says which was chosen.
boot = os.path.join(tmp, "bootstrap")
os.makedirs(boot)


def registry(services):
    return {"version": "1.0", "publication": "2026-11-01T00:00:00Z", "description": "test", "services": services}


for name, services in {
    "dns.json": [[["com", "net"], [fake.url + "/verisign/"]], [["org"], [fake.url + "/pir"]]],
    "ipv4.json": [[["203.0.113.0/24"], [fake.url + "/ripe/"]], [["198.51.100.0/24"], [fake.url + "/arin/"]]],
    "ipv6.json": [[["2001:db8::/32"], [fake.url + "/ripe/"]]],
    "asn.json": [[["13312-15359"], [fake.url + "/arin/"]]],
}.items():
    with open(os.path.join(boot, name), "w") as f:
        json.dump(registry(services), f)

RDAP_CONFIG = {"enabled": True, "allow_networks": ["127.0.0.1/32"], "bootstrap_dir": boot, "timeout": "2s",
               "rate_limit": 0}
hs, wr = harness.start_pair(tmp, config_extra={"bridges": {"rdap": RDAP_CONFIG}}, retry_scale=0.05)
tap.is_(hs.user_query(RDAP), (200, {}), "the rdap bridge has its bot")
room = room_with_bot(hs)
hs.invite(room, ALICE, RDAP)
hs.wait_for(lambda: hs.members(room).get(RDAP) == "join", timeout=10, what="the rdap bot to join")


def ask(text, sender=ALICE, in_room=None, timeout=10):
    """Sends a command; returns (body, machine result) of the final answer."""
    return harness.ask(hs, in_room or room, RDAP, text, sender=sender, timeout=timeout)


# ---- lookups ---------------------------------------------------------------------------------

body, res = ask("!rdap domain fresh-login.com")
tap.diag(body)
req = fake.seen(r"/domain/fresh-login\.com$")
tap.is_([r.path for r in req], ["/verisign/domain/fresh-login.com"], "a .com domain goes to the server dns.json names")
tap.is_(req[0].headers.get("accept") if req else None, "application/rdap+json", "asking for application/rdap+json")
tap.is_(res.get("verdict"), "suspicious", "a domain registered 5 days ago is suspicious")
tap.ok(res.get("summary", "").startswith("registered 5 days ago (") and "newly registered (under 30 days)" in
       res.get("summary", ""), f"and the summary says why: {res.get('summary')!r}")
tap.ok("registrar NameCheap, Inc. (IANA 1068)" in res.get("summary", "") and "country IS" in res.get("summary", ""),
       "with the registrar, its IANA ID and the country")
rows = {row[0]: row[1] for row in res.get("rows", [])}
tap.is_(rows.get("Name servers"), "dns1.registrar-servers.com, dns2.registrar-servers.com", "name servers")
tap.is_(rows.get("Status"), "client transfer prohibited, add period", "status")
tap.ok(rows.get("Abuse contact", "").startswith("abuse@namecheap.com"), "the abuse contact")
tap.is_(sorted((a["type"], a["value"]) for a in res.get("artifacts", [])),
        [("domain", "dns1.registrar-servers.com"), ("domain", "dns2.registrar-servers.com"),
         ("email", "abuse@namecheap.com")], "artifacts: the name servers and the abuse address")
tap.ok("suspicious" in body and "fresh-login[.]com" in body, "the room sees the verdict, the domain defanged")

body, res = ask("!rdap example.com")
tap.is_(res.get("command"), "lookup", "the default command detects a domain")
tap.is_(res.get("verdict"), "none", "an old domain gets no verdict")
tap.ok(res.get("summary", "").startswith("registered 3") and "years ago (1995-08-14)" in res.get("summary", ""),
       f"its age: {res.get('summary')!r}")

body, res = ask("!rdap domain wikipedia.org")
tap.is_(fake.count(r"^/pir/domain/wikipedia\.org$"), 1,
        "a .org domain goes to its own server (a base URL without its trailing '/' works)")

body, res = ask("!rdap ip 203.0.113.7")
tap.is_(fake.count(r"^/ripe/ip/203\.0\.113\.7$"), 1, "an IPv4 address goes to the RIR of its block")
tap.ok(res.get("summary", "").startswith("EVIL-HOSTING-NET 203.0.113.0/24 (ASSIGNED PA); held by Bulletproof "
                                         "Hosting B.V.; country NL; abuse abuse@bulletproof.example.net"),
       f"the network, holder, country and abuse address: {res.get('summary')!r}")

body, res = ask("!rdap 2001:db8::1")
tap.is_(fake.count(r"^/ripe/ip/2001:db8::1$"), 1, "the default command detects an IPv6 address")
tap.ok("DOC-V6-NET 2001:db8::/32" in res.get("summary", ""), "and reads the IPv6 network")

for text in ("!rdap asn AS13335", "!rdap asn 13335", "!rdap AS13335"):
    body, res = ask(text)
    tap.ok(res.get("summary", "").startswith("CLOUDFLARENET; held by Cloudflare, Inc.; country US"),
           f"{text}: the AS number's holder")
tap.ok(fake.count(r"^/arin/autnum/13335$") >= 2, "AS numbers go to the RIR asn.json names, as autnum/<number>")

body, res = ask("!rdap hxxps://fresh-login[.]com/signin")
tap.is_(fake.count(r"^/verisign/domain/fresh-login\.com$"), 2, "a defanged URL means its host's domain")

# A guest may read RDAP: it is public data.
guest_room = room_with_bot(hs)
hs.invite(guest_room, ALICE, RDAP)
hs.wait_for(lambda: hs.members(guest_room).get(RDAP) == "join", timeout=10, what="the rdap bot to join")
hs.invite(guest_room, ALICE, GUEST)
hs.join(guest_room, GUEST)
body, res = ask("!rdap ip 203.0.113.7", sender=GUEST, in_room=guest_room)
tap.ok(res.get("summary", "").startswith("EVIL-HOSTING-NET"), "a federated guest may use rdap")

# ---- the cache -------------------------------------------------------------------------------

before = fake.count(r"/domain/example\.net$")
body1, _ = ask("!rdap domain example.net")
body2, res2 = ask("!rdap domain example.net")
tap.is_(fake.count(r"/domain/example\.net$") - before, 1, "the same lookup twice makes one request")
tap.ok("from the cache" in body2, "and the second answer says it is from the cache")

# ---- answers that are not registrations --------------------------------------------------------

body, res = ask("!rdap domain no-such-name-here.com")
tap.ok(res.get("summary", "").startswith("no registration data: the registry has no record of it (not registered?); "
                                         "it says: The requested object was not found"),
       f"404: no registration data, with the registry's words: {res.get('summary')!r}")
tap.is_(res.get("verdict"), "none", "404 is an answer, not an error")

n = fake.count()
body, res = ask("!rdap domain example.fr")
tap.ok("no RDAP server is known for example.fr" in res.get("error", "") and "dns.json" in res.get("error", ""),
       f"a TLD the bootstrap files do not name: {res.get('error')!r}")
body, res = ask("!rdap ip 10.1.2.3")
tap.ok("no RDAP server is known for 10.1.2.3" in res.get("error", "") and "private and reserved" in res.get("error", ""),
       f"an address in no block: {res.get('error')!r}")
tap.is_(fake.count(), n, "neither asked anything")

body, res = ask("!rdap asn nonsense")
tap.ok('"nonsense" is not an AS number' in res.get("error", ""), f"not an AS number: {res.get('error')!r}")

# ---- redirects -----------------------------------------------------------------------------

fake.redirect(r"^/verisign/domain/moved\.com$", fake.url + "/registrar/domain/example.com")
body, res = ask("!rdap domain moved.com")
tap.is_(fake.count(r"^/registrar/domain/example\.com$"), 1, "a redirect is followed")
tap.ok(res.get("summary", "").startswith("registered"), "to the answer")

fake.redirect(r"^/verisign/domain/inward\.com$", "http://10.0.0.1/rdap/domain/inward.com")
body, res = ask("!rdap domain inward.com")
tap.is_(res.get("error"), "RDAP server 127.0.0.1 was not asked: its address is on an internal network",
        "a redirect into an internal network is refused, and the room told")

# ---- failures ----------------------------------------------------------------------------------

fake.fail(r"/domain/busy\.com$", 429, error_object(429, "Too Many Requests", "Query rate limit exceeded, slow down."),
          headers={"Retry-After": "30"})
body, res = ask("!rdap domain busy.com")
tap.is_(res.get("error"), "RDAP server 127.0.0.1's quota is used up (HTTP 429: Query rate limit exceeded, slow "
                          "down.); try again in 30 s", "429: the server's words and when to retry")
tap.ok("quota is used up" in body and "try again in 30 s" in body, "shown in the room")

fake.fail(r"/domain/closed\.com$", 403, error_object(403, "Forbidden", "Access from your network is not allowed."))
body, res = ask("!rdap domain closed.com")
tap.is_(res.get("error"), "RDAP server 127.0.0.1 refused the query (HTTP 403: Access from your network is not "
                          "allowed.)", "403: refused, with its words (RDAP has no API key to blame)")

fake.fail(r"/domain/unauth\.com$", 401, error_object(401, "Unauthorized", "Authentication required."))
body, res = ask("!rdap domain unauth.com")
tap.is_(res.get("error"), "RDAP server 127.0.0.1 refused the query (HTTP 401: Authentication required.)", "401 too")

fake.fail(r"/domain/broken\.com$", 500, error_object(500, "Internal Server Error", "Database unavailable."))
body, res = ask("!rdap domain broken.com")
tap.is_(res.get("error"), "RDAP server 127.0.0.1 is failing (HTTP 500); try again later", "500: failing")

fake.malformed(r"/domain/garbled\.com$")
body, res = ask("!rdap domain garbled.com")
tap.is_(res.get("error"), "RDAP server 127.0.0.1 answered with something that is not JSON", "malformed JSON")

fake.fail(r"/domain/odd\.com$", 200, {"objectClassName": "entity", "handle": "X", "rdapConformance": ["rdap_level_0"]})
body, res = ask("!rdap domain odd.com")
tap.is_(res.get("error"), "RDAP server 127.0.0.1 answered with something that is not RDAP data about the domain",
        "an object of another class")

fake.delay(r"/domain/slow\.com$", 3.5, count=1)
t0 = time.monotonic()
body, res = ask("!rdap domain slow.com", timeout=15)
tap.is_(res.get("error"), "RDAP did not answer within 2 s", "a slow server: the bridge's timeout, in the room")
tap.ok(time.monotonic() - t0 < 3.4, "told before the server would have answered")

tap.is_(wr.stop(), 0, "warroom exits 0")
tap.is_(wr.sanitizer_report(), [], "no sanitizer report")



def reconfigure(rdap):
    """Rewrites config.yaml with other rdap settings (keeping the tokens)."""
    wr.set_bridge_config("rdap", rdap)


# ---- without allow_networks: the SSRF guard --------------------------------------------------

reconfigure(dict(RDAP_CONFIG, allow_networks=[]))
wr.start()
n = fake.count()
body, res = ask("!rdap ip 198.51.100.23")
tap.is_(res.get("error"), "RDAP server 127.0.0.1 was not asked: its address is on an internal network",
        "without allow_networks the lookup is refused and the room is told")
tap.is_(fake.count(), n, "nothing reached the server")
tap.is_(wr.stop(), 0, "warroom exits 0")

# ---- base_url: every query to one server, the bootstrap files unread ---------------------------

reconfigure(dict(RDAP_CONFIG, base_url=fake.url + "/proxy/", bootstrap_dir=os.path.join(tmp, "no-such-dir")))
wr.start()
body, res = ask("!rdap domain example.fr")
tap.is_(fake.count(r"^/proxy/domain/example\.fr$"), 1, "base_url receives every query (the bootstrap dir is not read)")
tap.ok(res.get("summary", "").startswith("no registration data"), "and its answer is read")
body, res = ask("!rdap asn AS64512")
tap.is_(fake.count(r"^/proxy/autnum/64512$"), 1, "AS numbers too (one the bootstrap files would not know)")
tap.is_(wr.stop(), 0, "warroom exits 0")
tap.is_(wr.sanitizer_report(), [], "no sanitizer report")

# ---- unreadable bootstrap files: warroom does not start -------------------------------------

reconfigure(dict(RDAP_CONFIG, bootstrap_dir=os.path.join(tmp, "no-such-dir")))
wr.start(wait_ready=False)
wr.proc.wait(timeout=15)
code = wr.stop()
log = wr.log()
line = next(i for i, text in enumerate(wr.config_path.read_text().splitlines(), 1) if text.strip() == "rdap:")
tap.ok(code != 0, f"warroom refuses to start without bootstrap files (exit {code})")
tap.ok(f"config.yaml:{line}: bridges.rdap: cannot read the RDAP bootstrap file" in log and "no-such-dir/dns.json" in log,
       "with file:line at bridges.rdap, naming the file")

fake.stop()
hs.stop()
tap.done()
