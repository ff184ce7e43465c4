"""The dns bridge through the real warroom against a real DNS server:
dnsmasq serving a test zone on 127.0.0.1 (tests/toolservers/dnsmasq.py).
Every record type with its TTL (A, AAAA, MX, NS, TXT, CNAME, SOA, PTR for
IPv4 and IPv6), the default lookup of a name and of an IP, an internal
name, refanged input, NXDOMAIN as an answer, a resolver that never
answers (dnsmasq forwards a subdomain to a silent socket) and one that
fails (SERVFAIL), the cache and its cap at the records' TTL, queueing,
and !enrich of a domain and of an IP.  Skipped if dnsmasq is missing.
"""

import time

import harness
from harness import ALICE, count, room_with_bot, wait_answer
from toolservers.dnsmasq import Dnsmasq, RcodeResolver, SilentResolver, find_dnsmasq, wire_name

DNS = "@soc_dns:localhost"

tap = harness.Tap()
if find_dnsmasq() is None:
    tap.skip_all("dnsmasq not found (install the Debian package dnsmasq-base)")
tmp = harness.tmpdir()

silent = SilentResolver()
servfail = RcodeResolver(2)
ZONE = [
    "local=/example.com/",
    "local=/corp.internal/",
    "local=/2.0.192.in-addr.arpa/",
    "host-record=www.example.com,192.0.2.10,2001:db8::10,600",
    "host-record=www.example.com,192.0.2.11,600",
    "host-record=example.com,192.0.2.1,2001:db8::1,3600",
    "mx-host=example.com,mx1.example.com,10",
    "mx-host=example.com,mx2.example.com,20",
    "dns-rr=example.com,2," + wire_name("ns1.example.com").hex(),
    "dns-rr=example.com,2," + wire_name("ns2.example.com").hex(),
    'txt-record=example.com,"v=spf1 mx -all"',
    'txt-record=_dmarc.example.com,"v=DMARC1; p=reject","second string"',
    "cname=alias.example.com,www.example.com,120",
    "host-record=short.example.com,192.0.2.30,1",
    "host-record=q1.example.com,192.0.2.41,300",
    "host-record=q2.example.com,192.0.2.42,300",
    "host-record=q3.example.com,192.0.2.43,300",
    "host-record=dc01.corp.internal,10.1.2.3,900",
    "auth-server=ns1.example.org",
    "auth-zone=example.org",
    "auth-soa=2024010101,hostmaster.example.org,1200,180,1209600",
    "auth-ttl=900",
]
dns = Dnsmasq(tmp, ZONE, forward={"silent.example.com": silent.address, "servfail.example.com": servfail.address})
dns.start()
tap.diag(f"dnsmasq on {dns.address}")

# A 2 s call timeout: the resolver waits 500 ms per try and gives up after
# about 1.5 s, before the call's own timeout.
# A short shutdown grace: the lookup left in flight at the end is cancelled.
config = {"bridges": {"dns": {"enabled": True, "resolvers": [dns.address], "timeout": "2s", "concurrency": 1,
                              "rate_limit": 0}},
          "appservice": {"shutdown_grace": "200ms"}}
hs, wr = harness.start_pair(tmp, config_extra=config, retry_scale=0.05)
room = room_with_bot(hs)
hs.invite(room, ALICE, DNS)
hs.wait_for(lambda: hs.members(room).get(DNS) == "join", timeout=10, what="the dns bot to join")


def ask(command, timeout=10):
    """Sends a command; returns (body, machine result) of the final answer."""
    return harness.ask(hs, room, DNS, command, timeout=timeout)


def rows(result):
    return [tuple(r) for r in result.get("rows", [])]


def artifacts(result):
    return sorted((a["type"], a["value"]) for a in result.get("artifacts", []))


# The default command on a name: A, AAAA and MX, with TTLs.
body, res = ask("!dns www.example.com")
tap.is_(res.get("title"), "www.example.com A, AAAA, MX", "!dns <name> looks up A, AAAA and MX")
tap.is_(res.get("columns"), ["Type", "Name", "Value", "TTL"], "rows are type, name, value, TTL")
tap.is_(sorted(rows(res)), [("A", "www.example.com", "192.0.2.10", "600 (10m)"),
                            ("A", "www.example.com", "192.0.2.11", "600 (10m)"),
                            ("AAAA", "www.example.com", "2001:db8::10", "600 (10m)")],
        "both A records and the AAAA record, each with its own TTL")
tap.ok(res.get("summary", "").startswith("A 192.0.2.1") and res["summary"].endswith("; AAAA 2001:db8::10; no MX"),
       f"the summary lists the addresses and says there is no MX: {res.get('summary')!r}")
tap.is_(res.get("verdict"), "none", "DNS gives no verdict")
tap.is_(artifacts(res), [("ipv4", "192.0.2.10"), ("ipv4", "192.0.2.11"), ("ipv6", "2001:db8::10")],
        "the addresses found are artifacts")
tap.ok("192.0.2[.]10" in body, "the room sees them defanged")

# Each type on its own.
body, res = ask("!dns mx example.com")
tap.is_(rows(res), [("MX", "example.com", "10 mx1.example.com", "300 (5m)"),
                    ("MX", "example.com", "20 mx2.example.com", "300 (5m)")], "MX: preference and host, TTL")
tap.is_(res.get("summary"), "MX 10 mx1.example.com, 20 mx2.example.com", "MX summary")
tap.is_(artifacts(res), [("domain", "mx1.example.com"), ("domain", "mx2.example.com")], "MX hosts are artifacts")

body, res = ask("!dns ns example.com")
tap.is_(sorted(rows(res)), [("NS", "example.com", "ns1.example.com", "300 (5m)"),
                            ("NS", "example.com", "ns2.example.com", "300 (5m)")], "NS records")
tap.is_(artifacts(res), [("domain", "ns1.example.com"), ("domain", "ns2.example.com")], "NS hosts are artifacts")

body, res = ask("!dns txt example.com")
tap.is_(rows(res), [("TXT", "example.com", '"v=spf1 mx -all"', "300 (5m)")], "TXT record, quoted")
body, res = ask("!dns txt _dmarc.example.com")
tap.is_(rows(res), [("TXT", "_dmarc.example.com", '"v=DMARC1; p=reject" "second string"', "300 (5m)")],
        "a TXT record of two strings, at a service name (_dmarc)")

body, res = ask("!dns cname alias.example.com")
tap.is_(rows(res), [("CNAME", "alias.example.com", "www.example.com", "120 (2m)")], "CNAME with its own TTL")
tap.is_(artifacts(res), [("domain", "www.example.com")], "the alias target is an artifact")
body, res = ask("!dns a alias.example.com")
tap.is_(rows(res)[0], ("CNAME", "alias.example.com", "www.example.com", "120 (2m)"),
        "A of an alias shows the CNAME first")
tap.is_(sorted(r[2] for r in rows(res)[1:]), ["192.0.2.10", "192.0.2.11"], "then the target's addresses")
tap.ok(res.get("summary", "").startswith("CNAME www.example.com; A 192.0.2.1"), f"summary: {res.get('summary')!r}")

body, res = ask("!dns aaaa example.com")
tap.is_(rows(res), [("AAAA", "example.com", "2001:db8::1", "3600 (1h)")], "AAAA with a TTL of an hour")

body, res = ask("!dns soa example.org")
tap.is_(rows(res), [("SOA", "example.org", "primary ns1.example.org, contact hostmaster.example.org, serial 2024010101, "
                     "refresh 1200, retry 180, expire 1209600, minimum 900", "900 (15m)")],
        "SOA with every field")
tap.is_(res.get("summary"), "SOA ns1.example.org serial 2024010101", "SOA summary")

# Reverse lookups: an IP gets its reverse name.
body, res = ask("!dns ptr 192.0.2.10")
tap.is_(rows(res), [("PTR", "10.2.0.192.in-addr.arpa", "www.example.com", "600 (10m)")], "PTR of an IPv4 address")
tap.is_(res.get("summary"), "PTR www.example.com", "PTR summary")
body, res = ask("!dns 192.0.2.11")
tap.is_(res.get("title"), "192.0.2.11 PTR", "!dns <ip> looks up its reverse name")
tap.is_([r[2] for r in rows(res)], ["www.example.com"], "and finds it")
body, res = ask("!dns ptr 2001:db8::10")
tap.is_(rows(res), [("PTR", "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "www.example.com",
                     "600 (10m)")], "PTR of an IPv6 address, under ip6.arpa")
body, res = ask("!dns lookup example.com type=txt")
tap.is_(res.get("title"), "example.com TXT", "lookup type=txt asks one type")

# Internal names and defanged input.
body, res = ask("!dns a dc01.corp.internal")
tap.is_(rows(res), [("A", "dc01.corp.internal", "10.1.2.3", "900 (15m)")], "an internal name resolves")
tap.is_(artifacts(res), [("ipv4", "10.1.2.3")], "its address is an artifact, the internal name is not")
body, res = ask("!dns a www[.]example[.]com")
tap.is_(len(rows(res)), 2, "a defanged name is refanged first")

# NXDOMAIN is an answer, not a failure.
ev = hs.send_message(room, ALICE, "!dns nx.example.com")
content = wait_answer(hs, room, ev, bot=DNS)["content"]
res = content["org.warroom.result"]
tap.is_(res.get("summary"), "NXDOMAIN", "NXDOMAIN: the summary says so")
tap.is_(res.get("title"), "nx.example.com does not exist (NXDOMAIN)", "and the title says the name does not exist")
tap.is_(res.get("verdict"), "none", "verdict none")
tap.ok("error" not in res and not content["body"].startswith("\u26a0"), "it is not shown as an error")
tap.is_(count(wr, "SELECT count(*) FROM commands WHERE event_id = ? AND status = 'done'", ev), 1,
        "the command is recorded as done")
body, res = ask("!dns ptr 192.0.2.99")
tap.ok(res.get("summary") == "NXDOMAIN" and res.get("title", "").startswith("192.0.2.99 has no reverse name"),
       f"an IP without a reverse name: {res.get('title')!r}")

# Mistakes are explained.
body, res = ask("!dns a 192.0.2.10")
tap.ok("is an IP address" in res.get("error", "") and "!dns ptr 192.0.2.10" in res.get("error", ""),
       f"an IP given to a name command: {res.get('error')!r}")
body, res = ask('!dns a "no spaces.example.com"')
tap.ok("is not a domain name or an IP address" in res.get("error", ""), f"a bad name: {res.get('error')!r}")
body, res = ask("!dns https://example.com/login")
tap.ok("give the host name alone" in res.get("error", ""), f"a URL: {res.get('error')!r}")
body, res = ask("!dns ptr www.example.com")
tap.ok("ptr takes an IP address" in res.get("error", ""), f"ptr of a name: {res.get('error')!r}")
body, res = ask("!dns lookup example.com type=spf")
tap.ok("type" in body and "not one of" in body, f"an unknown type: {body!r}")

# A resolver that never answers: the analyst hears which one, before the
# call's own timeout.
t0 = time.monotonic()
body, res = ask("!dns a x.silent.example.com")
took = time.monotonic() - t0
tap.is_(res.get("error", "").split(" (")[0], f"the resolver {dns.address} did not answer",
        "a silent resolver: the room is told which resolver did not answer")
tap.ok(took < 2.5, f"within the bridge's 2 s timeout (took {took:.1f} s)")
tap.ok("\u26a0" in body, "shown as an error")

body, res = ask("!dns a x.servfail.example.com")
tap.ok("SERVFAIL" in res.get("error", "") and dns.address in res.get("error", ""),
       f"SERVFAIL: a clear failure naming the resolver: {res.get('error')!r}")

# The cache: the same lookup within its TTL is answered without a query.
before = dns.queries("example.com", "MX")
body, res = ask("!dns mx example.com")
tap.ok("(from the cache" in body, "the same MX lookup again comes from the cache")
tap.is_(dns.queries("example.com", "MX"), before, "and dnsmasq was not asked again")

# ... but never longer than the records' TTL (short.example.com: 1 s).
ask("!dns a short.example.com")
body, _ = ask("!dns a short.example.com")
tap.ok("(from the cache" in body, "a second lookup within the record's 1 s TTL is cached")
time.sleep(1.3)
body, res = ask("!dns a short.example.com")
tap.ok("(from the cache" not in body, "after the record's TTL the lookup is made again (cache capped at the TTL)")
tap.is_(dns.queries("short.example.com", "A"), 2, "dnsmasq was asked twice in all")
body, _ = ask("!dns nx.example.com")
tap.ok("(from the cache" not in body, "NXDOMAIN without an SOA is not cached (RFC 2308)")

# Queueing: concurrency 1 and three commands at once, all answered.
evs = [hs.send_message(room, ALICE, f"!dns a q{i}.example.com") for i in (1, 2, 3)]
answers = [wait_answer(hs, room, ev, bot=DNS)["content"]["org.warroom.result"] for ev in evs]
tap.is_([a.get("summary") for a in answers], ["A 192.0.2.41", "A 192.0.2.42", "A 192.0.2.43"],
        "three lookups at once with concurrency 1: each answered, each with its own name's address")

# !enrich includes DNS for domains and IPs.
ev = hs.send_message(room, ALICE, "!enrich example.com")
content = wait_answer(hs, room, ev, timeout=15)["content"]
dns_rows = [r for r in content["org.warroom.result"]["rows"] if r[0] == "DNS"]
tap.is_(len(dns_rows), 1, "!enrich example.com asks the dns bridge")
if dns_rows:
    tap.is_(dns_rows[0][2], "A 192.0.2.1; AAAA 2001:db8::1; MX 10 mx1.example.com, 20 mx2.example.com; "
            "NS ns1.example.com, ns2.example.com", "with A, AAAA, MX and NS as its key facts")
ev = hs.send_message(room, ALICE, "!enrich 192[.]0.2.10")
content = wait_answer(hs, room, ev, timeout=15)["content"]
dns_rows = [r for r in content["org.warroom.result"]["rows"] if r[0] == "DNS"]
tap.ok(len(dns_rows) == 1 and dns_rows[0][2] == "PTR www.example.com", f"!enrich of an IP gives its PTR: {dns_rows}")

# Stopping with a lookup in flight: it is cancelled cleanly (the sanitizer
# build would report what the call left behind).
hs.send_message(room, ALICE, "!dns y.silent.example.com")
hs.wait_for(lambda: dns.queries("y.silent.example.com") >= 1, timeout=10, what="the lookup to reach dnsmasq")
tap.is_(wr.stop(), 0, "warroom exits 0 with a lookup in flight")
tap.is_(wr.sanitizer_report(), [], "no sanitizer report")
hs.stop()
dns.stop()
silent.close()
servfail.close()
tap.done()
