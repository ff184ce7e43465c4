"""Bad input gets a clear error and changes nothing: a wrong or missing
hs_token, a 50 MB body, malformed JSON, 10,000-deep nesting, invalid UTF-8,
wrong shapes, unknown paths and wrong methods each get the status and
errcode the spec gives, and not one row is written.  The connection stays
usable (keep-alive) after a refused request.
"""

import http.client
import json
import socket

import harness
from harness import count

tap = harness.Tap()
tmp = harness.tmpdir()
hs, wr = harness.start_pair(tmp, retry_scale=0.05, config_extra={"appservice": {"max_body_size": "1MiB"}})
hs.wait_idle(10)
TXN = "/_matrix/app/v1/transactions/"


def rows():
    return (count(wr, "SELECT count(*) FROM events"), count(wr, "SELECT count(*) FROM transactions"))


before = rows()


HS_TOKEN = object()  # the right hs_token


def check(label, method, path, want_status, want_errcode, token=HS_TOKEN, raw=None, body=None):
    kw = {} if token is HS_TOKEN else {"token": token}
    status, reply = wr.request(method, path, body=body, raw=raw, **kw)
    tap.is_(status, want_status, f"{label}: HTTP {want_status}")
    tap.is_(reply.get("errcode") if isinstance(reply, dict) else reply, want_errcode, f"{label}: {want_errcode}")
    return reply


good = {"events": [], "ephemeral": []}
check("no token", "PUT", TXN + "1", 401, "M_MISSING_TOKEN", token=None, body=good)
check("wrong token", "PUT", TXN + "2", 403, "M_FORBIDDEN", token="not-the-hs-token", body=good)
check("token only in ?access_token= (legacy off)", "PUT", TXN + "3?access_token=" + wr.hs_token, 401,
      "M_MISSING_TOKEN", token=None, body=good)
check("malformed JSON", "PUT", TXN + "4", 400, "M_NOT_JSON", raw=b'{"events": [')
check("trailing garbage", "PUT", TXN + "5", 400, "M_NOT_JSON", raw=b'{"events": []} }')
check("single quotes", "PUT", TXN + "6", 400, "M_NOT_JSON", raw=b"{'events': []}")
check("NaN", "PUT", TXN + "7", 400, "M_NOT_JSON", raw=b'{"events": [], "x": NaN}')
check("invalid UTF-8", "PUT", TXN + "8", 400, "M_NOT_JSON", raw=b'{"events": [], "x": "\xff\xfe"}')
check("overlong UTF-8", "PUT", TXN + "9", 400, "M_NOT_JSON", raw=b'{"events": [], "x": "\xc0\xaf"}')
deep = b'{"events": [], "x": ' + b"[" * 10000 + b"]" * 10000 + b"}"
reply = check("10,000-deep nesting", "PUT", TXN + "10", 400, "M_BAD_JSON", raw=deep)
tap.ok("nested" in reply.get("error", ""), f"and says it is nested too deep: {reply.get('error')!r}")
check("an array, not an object", "PUT", TXN + "11", 400, "M_BAD_JSON", raw=b"[]")
check("no events", "PUT", TXN + "12", 400, "M_BAD_JSON", body={"ephemeral": []})
half_bad = {"events": [{"type": "m.room.message", "event_id": "$ok" + "a" * 40, "room_id": "!r:localhost",
                        "sender": "@alice:localhost", "origin_server_ts": 1, "content": {}},
                       {"type": "m.room.message", "room_id": "!r:localhost"}]}
reply = check("one malformed event among good ones", "PUT", TXN + "13", 400, "M_BAD_JSON", body=half_bad)
tap.ok("events[1]" in reply.get("error", ""), f"and says which one: {reply.get('error')!r}")
check("unknown path", "GET", "/_matrix/app/v1/nope", 404, "M_UNRECOGNIZED")
check("known path, wrong method", "GET", TXN + "14", 405, "M_UNRECOGNIZED")
check("users path, wrong method", "POST", "/_matrix/app/v1/users/%40a%3Alocalhost", 405, "M_UNRECOGNIZED", body={})

# 2 MB against a 1 MiB limit, sent whole: 413 M_TOO_LARGE.
check("2 MB body", "PUT", TXN + "15", 413, "M_TOO_LARGE", raw=b'{"events": [], "pad": "' + b"x" * 2_000_000 + b'"}')

# 50 MB, over the 1 MiB limit but under the 64 MiB hard cap: the body is
# read and refused with a clean 413 on a connection that stays usable.
with open("/dev/zero", "rb") as zero:
    big = b'{"events": [], "pad": "' + zero.read(50 * 1024 * 1024).replace(b"\0", b"x") + b'"}'
check("50 MB body", "PUT", TXN + "16", 413, "M_TOO_LARGE", raw=big)
del big

# 100 MB, past the hard cap: refused from the headers alone, before the body is read.
sock = socket.create_connection(("127.0.0.1", wr.port), timeout=10)
sock.sendall((f"PUT {TXN}16 HTTP/1.1\r\nHost: warroom\r\nAuthorization: Bearer {wr.hs_token}\r\n"
              f"Content-Type: application/json\r\nContent-Length: {100 * 1024 * 1024}\r\n\r\n").encode())
try:
    sock.sendall(b"x" * 65536)
except OSError:
    pass
answer = b""
try:
    while b"\r\n\r\n" not in answer or len(answer) < 200:
        chunk = sock.recv(65536)
        if not chunk:
            break
        answer += chunk
except OSError:
    pass
sock.close()
head, _, rest = answer.partition(b"\r\n\r\n")
tap.ok(head.startswith(b"HTTP/1.1 413"), f"100 MB body: 413 before the body is read ({head[:40]!r})")
try:
    tap.is_(json.loads(rest.decode()).get("errcode"), "M_TOO_LARGE", "100 MB body: M_TOO_LARGE")
except ValueError:
    tap.ok(False, f"100 MB body: the 413 has a JSON body ({rest[:80]!r})")

tap.is_(rows(), before, "not one event or transaction row was written by any of these")

# Keep-alive: a refused request does not spoil the connection for the next one.
conn = http.client.HTTPConnection("127.0.0.1", wr.port, timeout=10)
auth = {"Authorization": f"Bearer {wr.hs_token}", "Content-Type": "application/json"}
conn.request("PUT", TXN + "17", body=b"{nope", headers=auth)
first = conn.getresponse()
first.read()
conn.request("PUT", TXN + "18", body=json.dumps(good).encode(), headers=auth)
second = conn.getresponse()
second.read()
conn.close()
tap.is_((first.status, second.status), (400, 200), "one keep-alive connection: 400 then 200")
tap.ok(harness.metric(wr, 'warroom_errors_total{kind="not_json"}') >= 6, "the refusals are counted in /metrics")

tap.is_(wr.stop(), 0, "warroom exits 0")
tap.is_(wr.sanitizer_report(), [], "no sanitizer report")
hs.stop()
tap.done()
