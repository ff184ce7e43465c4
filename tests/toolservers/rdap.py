"""A fake RDAP server (RFC 7480 HTTP, RFC 9083 JSON) for the rdap bridge.

It answers /<any prefix>/domain/<name>, /ip/<address> and /autnum/<n>
with objects of the real shape (objectClassName, ldhName, status, events,
entities with jCard vcardArray and roles, nameservers, secureDNS; ip
network with startAddress/endAddress, cidr0_cidrs, parentHandle; autnum
with startAutnum/endAutnum), and anything it does not hold with an RFC
9083 error object (errorCode, title, description) and its status.  Dates
can be relative to now, so that "registered 5 days ago" stays true.
Content-Type is application/rdap+json.
"""

import datetime
import ipaddress
import re

from .base import ToolServer, serve_forever

CONFORMANCE = ["rdap_level_0", "icann_rdap_response_profile_0"]


def rdap_date(days_ago=0.0, at=None):
    """An RFC 3339 date: `at` ("1997-09-15T04:00:00Z") or now minus days_ago."""
    if at is not None:
        return at
    when = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days_ago)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def vcard(*props):
    """A jCard (RFC 7095): ["vcard", [["version", {}, "text", "4.0"], ...]]."""
    return ["vcard", [["version", {}, "text", "4.0"]] + [list(p) for p in props]]


def entity(roles, handle=None, fn=None, email=None, tel=None, org=None, cc=None, public_ids=None, entities=None):
    """An entity object with a jCard."""
    props = []
    if fn is not None:
        props.append(["fn", {}, "text", fn])
    if org is not None:
        props.append(["org", {}, "text", org])
    if email is not None:
        props.append(["email", {}, "text", email])
    if tel is not None:
        props.append(["tel", {"type": "voice"}, "uri", "tel:" + tel])
    if cc is not None:
        props.append(["adr", {"cc": cc}, "text", ["", "", "", "", "", "", ""]])
    e = {"objectClassName": "entity", "roles": list(roles), "vcardArray": vcard(*props)}
    if handle is not None:
        e["handle"] = handle
    if public_ids:
        e["publicIds"] = public_ids
    if entities:
        e["entities"] = entities
    return e


def domain_object(name, registered, expires, registrar, iana_id, abuse_email, nameservers, registrant_cc=None,
                  signed=False, status=("client transfer prohibited",)):
    """A domain object as a gTLD registry answers it."""
    registrar_entity = entity(["registrar"], handle=str(iana_id), fn=registrar,
                              public_ids=[{"type": "IANA Registrar ID", "identifier": str(iana_id)}],
                              entities=[entity(["abuse"], fn="", email=abuse_email, tel="+1.5555550100")])
    entities = [registrar_entity]
    if registrant_cc is not None:
        entities.append(entity(["registrant"], fn="REDACTED FOR PRIVACY", cc=registrant_cc))
    obj = {
        "objectClassName": "domain",
        "handle": f"{abs(hash(name)) % 10**10}_DOMAIN_COM-VRSN",
        "ldhName": name.upper(),
        "links": [{"value": f"https://rdap.example/domain/{name}", "rel": "self",
                   "href": f"https://rdap.example/domain/{name}", "type": "application/rdap+json"}],
        "status": list(status),
        "entities": entities,
        "events": [{"eventAction": "registration", "eventDate": registered},
                   {"eventAction": "expiration", "eventDate": expires},
                   {"eventAction": "last update of RDAP database", "eventDate": rdap_date()}],
        "secureDNS": {"delegationSigned": signed},
        "nameservers": [{"objectClassName": "nameserver", "ldhName": ns.upper()} for ns in nameservers],
        "rdapConformance": CONFORMANCE,
        "notices": [{"title": "Terms of Use", "description": ["Service subject to Terms of Use."]}],
    }
    return obj


def network_object(cidr, name, net_type, country, parent, registrant, abuse_email):
    """An ip network object as an RIR answers it, with cidr0."""
    net = ipaddress.ip_network(cidr)
    key = "v4prefix" if net.version == 4 else "v6prefix"
    return {
        "objectClassName": "ip network",
        "handle": f"NET-{str(net.network_address).replace('.', '-').replace(':', '-')}-1",
        "startAddress": str(net.network_address),
        "endAddress": str(net.broadcast_address),
        "ipVersion": f"v{net.version}",
        "name": name,
        "type": net_type,
        "country": country,
        "parentHandle": parent,
        "cidr0_cidrs": [{key: str(net.network_address), "length": net.prefixlen}],
        "status": ["active"],
        "entities": [entity(["registrant"], handle="ORG-1", fn=registrant,
                            entities=[entity(["abuse"], handle="ABUSE-1", fn="Abuse", email=abuse_email)])],
        "events": [{"eventAction": "registration", "eventDate": "2011-08-10T23:12:35Z"},
                   {"eventAction": "last changed", "eventDate": "2023-04-26T22:57:58-04:00"}],
        "port43": "whois.example.net",
        "rdapConformance": ["rdap_level_0", "cidr0", "nro_rdap_profile_0"],
    }


def autnum_object(number, name, country, registrant, abuse_email):
    """An autnum object as an RIR answers it."""
    return {
        "objectClassName": "autnum",
        "handle": f"AS{number}",
        "startAutnum": number,
        "endAutnum": number,
        "name": name,
        "country": country,
        "status": ["active"],
        "entities": [entity(["registrant"], handle="ORG-2", fn=registrant,
                            entities=[entity(["abuse"], fn="Abuse", email=abuse_email)])],
        "events": [{"eventAction": "registration", "eventDate": "2010-07-14T18:35:57-04:00"}],
        "port43": "whois.example.net",
        "rdapConformance": ["rdap_level_0", "nro_rdap_profile_0"],
    }


def error_object(code, title, description):
    """An RFC 9083 error response body."""
    return {"errorCode": code, "title": title, "description": [description], "rdapConformance": ["rdap_level_0"]}


class RdapServer(ToolServer):
    """The fake, with a few registrations already in it."""

    name = "rdap"
    json_type = "application/rdap+json"

    def __init__(self, port=0):
        super().__init__(port)
        self.domains = {}
        self.networks = []  # (ip_network, object)
        self.autnums = {}
        self.add_domain(domain_object("example.com", "1995-08-14T04:00:00Z", "2030-08-13T04:00:00Z",
                                      "RESERVED-Internet Assigned Numbers Authority", 376, "abuse@iana.org",
                                      ["a.iana-servers.net", "b.iana-servers.net"], signed=True))
        self.add_domain(domain_object("fresh-login.com", rdap_date(days_ago=5), rdap_date(days_ago=-360),
                                      "NameCheap, Inc.", 1068, "abuse@namecheap.com",
                                      ["dns1.registrar-servers.com", "dns2.registrar-servers.com"],
                                      registrant_cc="IS", status=("client transfer prohibited", "add period")))
        self.add_domain(domain_object("wikipedia.org", "2001-01-13T00:12:14Z", "2032-01-13T00:12:14Z",
                                      "MarkMonitor Inc.", 292, "abusecomplaints@markmonitor.com",
                                      ["ns0.wikimedia.org", "ns1.wikimedia.org"]))
        self.add_network(network_object("203.0.113.0/24", "EVIL-HOSTING-NET", "ASSIGNED PA", "NL", "NET-203-0-0-0-0",
                                        "Bulletproof Hosting B.V.", "abuse@bulletproof.example.net"))
        self.add_network(network_object("2001:db8::/32", "DOC-V6-NET", "ALLOCATED-BY-RIR", "DE", "NET6-2001-DB8-0",
                                        "Example GmbH", "abuse@example.net"))
        self.autnums[13335] = autnum_object(13335, "CLOUDFLARENET", "US", "Cloudflare, Inc.", "abuse@cloudflare.com")

    def add_domain(self, obj):
        self.domains[obj["ldhName"].lower()] = obj

    def add_network(self, obj):
        c = obj["cidr0_cidrs"][0]
        prefix = c.get("v4prefix") or c.get("v6prefix")
        self.networks.append((ipaddress.ip_network(f"{prefix}/{c['length']}"), obj))

    def handle(self, request):
        if request.method != "GET":
            return 405, {}, error_object(405, "Method Not Allowed", "RDAP answers GET and HEAD only.")
        m = re.search(r"/(domain|ip|autnum)/([^/]+)$", request.path)
        if m is None:
            return 400, {}, error_object(400, "Bad Request", "Not an RDAP query path.")
        kind, value = m.group(1), m.group(2)
        if kind == "domain":
            obj = self.domains.get(value.lower().rstrip("."))
        elif kind == "ip":
            try:
                addr = ipaddress.ip_address(value)
            except ValueError:
                return 400, {}, error_object(400, "Bad Request", f"'{value}' is not an IP address.")
            holders = [(n, o) for n, o in self.networks if n.version == addr.version and addr in n]
            obj = max(holders, key=lambda t: t[0].prefixlen)[1] if holders else None
        else:
            obj = self.autnums.get(int(value)) if value.isdigit() else None
        if obj is None:
            return 404, {}, error_object(404, "Not Found", "The requested object was not found in the registry.")
        return 200, {}, obj


if __name__ == "__main__":
    serve_forever(RdapServer())
