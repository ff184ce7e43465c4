#!/usr/bin/env python3
"""Self-test of the fake homeserver and the harness, without warroom.

The fake runs against RecordingAS, a tiny appservice written here that
records every request and answers from a script.  What the fake sends is
compared with the requests captured from Synapse 1.94
(tests/fixtures/synapse/*.json): request line, headers, body keys, event
keys and, where the setup makes them reproducible, whole values.  Then the
retry schedule and retry bodies, batching, one transaction in flight, the
user query, the ping flow, a set of client-server calls with injected
faults, and the harness's TAP and config helpers.
"""

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from harness import FakeHomeserver, fixture  # noqa: E402

AS_TOKEN = "as_token_fixture_0000"
HS_TOKEN = "hs_token_fixture_0000"
ALICE = "@alice:localhost"
BOB = "@bob:localhost"
BOT = "@soc_dns:localhost"
BOT_Q = "user_id=%40soc_dns%3Alocalhost"
TXN_PATH = re.compile(r"/_matrix/app/v1/transactions/([0-9]+)")
SCALE = 0.05


class RecordingAS:
    """An appservice that records every request.  Transactions are answered
    200 {} unless txn_script holds statuses; hold (a threading.Event) keeps
    transactions waiting until it is set."""

    def __init__(self):
        self.cond = threading.Condition()
        self.log = []
        self.txn_script = deque()
        self.hold = None
        self.in_flight = 0
        self.max_in_flight = 0
        self.ping_status = 200
        self.ping_delay = 0.0
        rec = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args):
                pass

            def handle_one(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path, _, query = self.path.partition("?")
                entry = {
                    "method": self.command, "path": path, "query": query, "version": self.request_version,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "header_names": [k.lower() for k in self.headers.keys()],
                    "raw": raw, "body": json.loads(raw) if raw else None, "time": time.monotonic(),
                }
                with rec.cond:
                    rec.log.append(entry)
                    rec.cond.notify_all()
                status, answer = 404, {"errcode": "M_NOT_FOUND", "error": "nothing here"}
                if TXN_PATH.fullmatch(path):
                    with rec.cond:
                        rec.in_flight += 1
                        rec.max_in_flight = max(rec.max_in_flight, rec.in_flight)
                        hold = rec.hold
                    if hold is not None:
                        hold.wait(5)
                    with rec.cond:
                        rec.in_flight -= 1
                        status = rec.txn_script.popleft() if rec.txn_script else 200
                    answer = {} if status == 200 else {"errcode": "M_UNKNOWN", "error": "scripted failure"}
                elif path == "/_matrix/app/v1/ping":
                    time.sleep(rec.ping_delay)
                    status = rec.ping_status
                    answer = {} if status == 200 else {"errcode": "M_UNKNOWN", "error": "ping refused"}
                elif path.startswith("/_matrix/app/v1/thirdparty/"):
                    status, answer = 200, []
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

            do_GET = do_PUT = do_POST = handle_one

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def txns(self):
        with self.cond:
            return [e for e in self.log if TXN_PATH.fullmatch(e["path"])]

    def mark(self):
        """A position in the log, for since()."""
        with self.cond:
            return len(self.log)

    def since(self, mark):
        with self.cond:
            return list(self.log[mark:])


def cs(hs, method, path, body=None, token=AS_TOKEN, raw=None, headers=None):
    """One client-server request to the fake.  Returns (status, headers, json)."""
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    conn = http.client.HTTPConnection("127.0.0.1", hs.port, timeout=10)
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        try:
            parsed = json.loads(payload)
        except ValueError:
            parsed = payload
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, parsed
    finally:
        conn.close()


def keys(d):
    return sorted(d.keys())


def without_age(ev):
    ev = json.loads(json.dumps(ev))
    ev.pop("age", None)
    ev.get("unsigned", {}).pop("age", None)
    return ev


def by_type(items):
    return sorted(items, key=lambda e: (e["type"], e.get("state_key", "")))


def events_after(hs, mark):
    """Events of the transactions acknowledged after position `mark` of hs.transactions."""
    return [e for a in hs.transactions[mark:] if a.ok for e in a.body["events"]]


def last_txn_with(hs, predicate, start=0):
    for attempt in reversed(hs.transactions[start:]):
        if predicate(attempt.body):
            return attempt
    return None


# ---- sections --------------------------------------------------------------------------------


def test_harness_pieces(tap):
    reg = harness.read_registration(harness.FIXTURES / "registration.yaml")
    tap.is_((reg["id"], reg["url"], reg["as_token"], reg["hs_token"], reg["sender_localpart"]),
            ("warroom-fixtures", "http://127.0.0.1:29555", AS_TOKEN, HS_TOKEN, "warroom"),
            "registration reader: flat keys of the fixture registration")
    tap.is_((reg["user_regex"], reg["alias_regex"], reg["protocols"], reg["namespaces"]["rooms"]),
            ("@soc_.*:localhost", "#soc_.*:localhost", ["warroom"], []),
            "registration reader: namespaces and flow lists")

    tmp = harness.tmpdir()
    wr = harness.Warroom(tmp, port=40001, hs_port=40002,
                         config_extra={"appservice": {"max_body_size": "1MiB"}, "logging": harness.DELETE})
    parsed = harness.read_registration(wr.config_path)  # the same YAML subset
    tap.is_(parsed["homeserver"], {"address": "http://127.0.0.1:40002", "domain": "localhost"},
            "config.yaml: homeserver section")
    tap.is_(parsed["appservice"]["port"], 40001, "config.yaml: appservice.port is a number")
    tap.is_(parsed["appservice"]["max_body_size"], "1MiB", "config.yaml: config_extra merged into appservice")
    tap.is_(parsed["appservice"]["bot"], {"username": "warroom", "displayname": "Warroom"},
            "config.yaml: the nested bot section survives the merge")
    tap.is_(parsed["bridge"]["permissions"], {"localhost": "analyst", "@admin:localhost": "admin"},
            "config.yaml: permission subjects quoted and read back")
    tap.ok("logging" not in parsed, "config.yaml: DELETE removes a section")
    tap.ok(parsed["appservice"]["database"].startswith(tmp), "config.yaml: the database lives in the tmpdir")

    # The Tap itself, run in child processes: it must never pass by accident.
    def child(body):
        code = ("import sys; sys.path.insert(0, %r)\nimport harness\ntap = harness.Tap()\n" %
                str(Path(__file__).resolve().parent)) + body
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
        return result.returncode, result.stdout

    code, out = child("tap.ok(True, 'a')\ntap.is_(1, 1, 'b')\ntap.done()\n")
    tap.is_((code, out.splitlines()[-1]), (0, "1..2"), "Tap: all passing exits 0 with the plan")
    code, out = child("tap.ok(True, 'a')\ntap.is_({'x': 1}, {'x': 2}, 'b')\ntap.done()\n")
    tap.ok(code != 0 and "not ok 2 - b" in out and re.search(r"^#\s+got: \{", out, re.M)
           and re.search(r"^#\s+want: \{", out, re.M),
           "Tap: a failure exits non-zero and shows got/want")
    code, out = child("tap.ok(True, 'a')\nraise RuntimeError('boom')\n")
    tap.ok(code != 0 and "not ok 2 - uncaught RuntimeError: boom" in out and "Bail out!" in out,
           "Tap: an uncaught exception prints not ok and Bail out!, exits non-zero")
    code, out = child("tap.done()\n")
    tap.ok(code != 0 and "not ok 1" in out, "Tap: a script that tested nothing fails")
    code, out = child("p = harness.tmpdir()\nprint('#DIR', p)\ntap.ok(False, 'x')\ntap.done()\n")
    kept = re.search(r"#DIR (\S+)", out)
    tap.ok(code != 0 and kept and os.path.isdir(kept.group(1)) and "kept" in out,
           "tmpdir() is kept and named when a test failed")
    if kept:
        import shutil
        shutil.rmtree(kept.group(1), ignore_errors=True)
    code, out = child("p = harness.tmpdir()\nprint('#DIR', p)\ntap.ok(True, 'x')\ntap.done()\n")
    gone = re.search(r"#DIR (\S+)", out)
    tap.ok(code == 0 and gone and not os.path.exists(gone.group(1)), "tmpdir() is removed when all passed")


def setup_bot(tap, hs, rec):
    """Registers @soc_dns, gives it the device WARROOMDNS with 5 one-time
    keys and a fallback key, and checks the first transaction against
    txn-device-lists-appservice-user.json."""
    hs.pause_pushing()
    reg = {"type": "m.login.application_service", "username": "soc_dns", "inhibit_login": True}
    status, _, body = cs(hs, "POST", "/_matrix/client/v3/register", reg)
    tap.is_((status, body), (200, {"user_id": BOT, "home_server": "localhost"}),
            "register with inhibit_login -> {user_id, home_server}")
    status, _, body = cs(hs, "POST", "/_matrix/client/v3/register", reg)
    tap.is_((status, body.get("errcode")), (400, "M_USER_IN_USE"), "register again -> 400 M_USER_IN_USE")
    status, _, body = cs(hs, "POST", "/_matrix/client/v3/register", dict(reg, username="mallory"))
    tap.is_((status, body.get("errcode")), (400, "M_EXCLUSIVE"), "register outside the namespace -> 400 M_EXCLUSIVE")
    status, _, body = cs(hs, "POST", "/_matrix/client/v3/register", dict(reg, username="soc_x"), token="nope")
    tap.is_((status, body.get("errcode")), (401, "M_UNKNOWN_TOKEN"), "register with a wrong token -> 401")
    status, _, body = cs(hs, "POST", "/_matrix/client/v3/register", {"username": "soc_x"})
    tap.is_((status, body.get("errcode")), (400, "M_UNKNOWN"), "register with the as_token but no type -> 400")

    status, _, body = cs(hs, "PUT", "/_matrix/client/v3/devices/WARROOMDNS?" + BOT_Q, {"display_name": "x"})
    tap.is_((status, body.get("errcode")), (404, "M_NOT_FOUND"), "PUT /devices/{id} without MSC4190 -> 404 (1.94)")
    login = {"type": "m.login.application_service", "identifier": {"type": "m.id.user", "user": "soc_dns"},
             "device_id": "WARROOMDNS"}
    status, _, body = cs(hs, "POST", "/_matrix/client/v3/login", login)
    tap.ok(status == 200 and body.get("device_id") == "WARROOMDNS" and body.get("user_id") == BOT
           and body.get("access_token"), "login m.login.application_service creates the device")
    user_token = body.get("access_token")
    upload = {"device_keys": {"user_id": BOT, "device_id": "WARROOMDNS"},
              "one_time_keys": {f"signed_curve25519:AAAA{i}": {"key": "k"} for i in range(5)},
              "fallback_keys": {"signed_curve25519:FFFF": {"key": "f", "fallback": True}}}
    status, _, body = cs(hs, "POST", "/_matrix/client/v3/keys/upload?" + BOT_Q
                         + "&org.matrix.msc3202.device_id=WARROOMDNS", upload)
    tap.is_((status, body), (200, {"one_time_key_counts": {"signed_curve25519": 5}}),
            "keys/upload with device masquerading -> one_time_key_counts")
    status, _, body = cs(hs, "GET", "/_matrix/client/v3/account/whoami", token=user_token)
    tap.is_((status, body), (200, {"user_id": BOT, "is_guest": False, "device_id": "WARROOMDNS"}),
            "the login token acts as the bot's device")
    status, _, body = cs(hs, "PUT", "/_matrix/client/v3/profile/%40soc_dns%3Alocalhost/displayname?" + BOT_Q,
                         {"displayname": "DNS (warroom)"})
    tap.is_(status, 200, "the bot sets its display name")
    hs.resume_pushing()
    hs.wait_idle(5)

    first = rec.txns()[0]
    want = fixture("txn-device-lists-appservice-user.json")
    tap.is_((first["method"], first["path"], first["query"]), (want["method"], want["path"], want["query"]),
            "first transaction: PUT /_matrix/app/v1/transactions/1, no query")
    tap.is_(first["body"], want["body"], "first transaction: exactly txn-device-lists-appservice-user.json")


def test_transactions(tap, hs, rec):
    # An invite while the room has no appservice user: only the invite goes out.
    mark = len(hs.transactions)
    room43 = hs.create_room(ALICE, name="Incident 43", invite=[BOT])
    hs.wait_idle(5)
    got = events_after(hs, mark)
    want = fixture("txn-invite-at-room-creation.json")["body"]["events"]
    tap.is_([e["type"] for e in got], [e["type"] for e in want],
            "createRoom with invite: the appservice gets only the invite (txn-invite-at-room-creation.json)")
    tap.is_(by_type(got[0]["invite_room_state"]), by_type(want[0]["invite_room_state"]),
            "invite_room_state has exactly the fixture's stripped state")

    # An invite into an existing room (txn-invite.json).
    room = hs.create_room(ALICE, name="Incident 44: credential stuffing", topic="INC-44, SOC shift B")
    mark = len(hs.transactions)
    hs.invite(room, ALICE, BOT)
    hs.wait_idle(5)
    att = hs.transactions[-1]
    want = fixture("txn-invite.json")["body"]
    ev, wev = att.body["events"][0], want["events"][0]
    tap.is_(keys(att.body), keys(want), "invite: the transaction's keys are the fixture's")
    tap.is_((keys(ev), keys(ev["unsigned"])), (keys(wev), keys(wev["unsigned"])),
            "invite: event and unsigned keys are the fixture's")
    tap.is_(ev["content"], wev["content"], "invite: content carries the bot's display name")
    tap.is_(by_type(ev["invite_room_state"]), by_type(wev["invite_room_state"]),
            "invite: invite_room_state equals the fixture's")
    tap.is_(ev["unsigned"]["invite_room_state"], ev["invite_room_state"], "invite: stripped state also in unsigned")
    tap.ok(re.fullmatch(r"\$[A-Za-z0-9_-]{43}", ev["event_id"]) and re.fullmatch(r"![A-Za-z]{18}:localhost", room),
           "event IDs are $ + 43 URL-safe base64 characters, room IDs ! + 18 letters")
    tap.ok(ev["user_id"] == ev["sender"] and ev["age"] == ev["unsigned"]["age"], "user_id = sender, age twice")

    # The bot joins through the client API (txn-member-join-appservice-user.json).
    status, _, body = cs(hs, "POST", f"/_matrix/client/v3/join/{room}?" + BOT_Q)
    tap.is_((status, body), (200, {"room_id": room}), "POST /join/{roomId}?user_id= -> 200 {room_id}")
    hs.wait_idle(5)
    ev = hs.transactions[-1].body["events"][0]
    want = fixture("txn-member-join-appservice-user.json")["body"]
    wev = want["events"][0]
    tap.is_(keys(hs.transactions[-1].body), keys(want), "join: transaction keys, with the MSC3202 key counts")
    tap.is_((keys(ev), keys(ev["unsigned"])), (keys(wev), keys(wev["unsigned"])), "join: event and unsigned keys")
    tap.is_((ev["content"], ev["prev_content"], ev["unsigned"]["prev_sender"]),
            (wev["content"], wev["prev_content"], ALICE), "join: prev_content is the invite, prev_sender alice")
    tap.is_(hs.transactions[-1].body["org.matrix.msc3202.device_one_time_keys_count"],
            want["org.matrix.msc3202.device_one_time_keys_count"], "join: the bot's key counts as in the fixture")

    # A plain message (txn-message-text.json): request line, headers, body.
    mark = rec.mark()
    hs.send_message(room, ALICE, "first IOC from the proxy logs: 203.0.113.7")
    hs.wait_idle(5)
    req = [e for e in rec.since(mark) if TXN_PATH.fullmatch(e["path"])][-1]
    want = fixture("txn-message-text.json")
    tap.is_((req["method"], req["version"], req["query"]), ("PUT", "HTTP/1.1", want["query"]),
            "message: PUT over HTTP/1.1 with no query string")
    tap.is_(int(TXN_PATH.fullmatch(req["path"]).group(1)), hs.transactions[-1].txn_id,
            "message: txnId in the path is the attempt's id")
    tap.is_((req["headers"]["authorization"], req["headers"]["content-type"]),
            (want["headers"]["authorization"], want["headers"]["content-type"]),
            "message: Authorization and Content-Type as the fixture")
    tap.is_((req["headers"].get("user-agent"), req["headers"].get("accept"), req["headers"].get("accept-encoding")),
            ("Synapse/1.94.0", "application/json", "gzip"), "message: User-Agent, Accept, Accept-Encoding")
    tap.ok(req["headers"].get("content-length") == str(len(req["raw"])) and "transfer-encoding" not in req["headers"]
           and "host" in req["headers"], "message: Content-Length, Host, never chunked")
    canon = json.dumps(req["body"], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    tap.is_(req["raw"], canon, "message: compact canonical JSON with sorted keys")
    tap.is_(keys(req["body"]), keys(want["body"]), "message: top-level keys are the fixture's")
    ev, wev = req["body"]["events"][0], want["body"]["events"][0]
    tap.is_((keys(ev), keys(ev["unsigned"])), (keys(wev), keys(wev["unsigned"])), "message: event keys")
    tap.is_(ev["content"], wev["content"], "message: content")
    for name in ("org.matrix.msc3202.device_one_time_keys_count", "org.matrix.msc3202.device_one_time_key_counts",
                 "org.matrix.msc3202.device_unused_fallback_key_types"):
        tap.is_(req["body"][name], want["body"][name], f"message: {name} as the fixture")

    # Raw UTF-8 on the wire (txn-reaction.json's thumbs up).
    mark = rec.mark()
    hs.react(room, ALICE, ev["event_id"], "\U0001F44D")
    hs.wait_idle(5)
    req = [e for e in rec.since(mark) if TXN_PATH.fullmatch(e["path"])][-1]
    tap.ok("\U0001F44D".encode() in req["raw"] and b"\\u" not in req["raw"], "reaction key sent as raw UTF-8")
    want = fixture("txn-reaction.json")["body"]["events"][0]
    tap.is_(keys(req["body"]["events"][0]["content"]["m.relates_to"]), keys(want["content"]["m.relates_to"]),
            "reaction: m.relates_to keys")

    # The bot's own message comes back (txn-own-event-echo.json).
    content = fixture("txn-own-event-echo.json")["body"]["events"][0]["content"]
    status, _, body = cs(hs, "PUT", f"/_matrix/client/v3/rooms/{room}/send/m.room.message/echo1?" + BOT_Q, content)
    hs.wait_idle(5)
    ev = hs.transactions[-1].body["events"][0]
    tap.ok(status == 200 and ev["event_id"] == body["event_id"] and ev["sender"] == BOT,
           "the bot's own event is echoed back to the appservice")
    tap.is_((ev["content"], keys(ev["unsigned"])), (content, ["age"]), "echo: same content, no transaction_id")
    tap.is_([e["event_id"] for e in hs.sent_events(room_id=room, sender=BOT)], [body["event_id"]],
            "sent_events() lists what the bot sent")

    # A topic change (txn-state-topic-change.json).
    hs.send_event(room, ALICE, "m.room.topic", {"topic": "INC-44, SOC shift B; scope: VPN + mail"}, state_key="")
    hs.wait_idle(5)
    ev = hs.transactions[-1].body["events"][0]
    wev = fixture("txn-state-topic-change.json")["body"]["events"][0]
    tap.is_((keys(ev), keys(ev["unsigned"])), (keys(wev), keys(wev["unsigned"])), "topic change: event keys")
    tap.is_((ev["prev_content"], ev["unsigned"]["prev_content"],
             ev["replaces_state"] == ev["unsigned"]["replaces_state"]),
            (wev["prev_content"], wev["prev_content"], True), "topic change: prev_content and replaces_state twice")

    # A redaction (txn-redaction.json).
    target = hs.send_message(room, ALICE, "password123")
    hs.redact(room, ALICE, target, reason="credential posted by mistake")
    hs.wait_idle(5)
    ev = hs.transactions[-1].body["events"][-1]
    wev = fixture("txn-redaction.json")["body"]["events"][0]
    tap.is_((keys(ev), keys(ev["content"])), (keys(wev), keys(wev["content"])), "redaction: keys")
    tap.is_((ev["redacts"], ev["content"]["redacts"]), (target, target),
            "redaction: redacts at top level and in content")
    redacted = [e for e in hs.room_timeline(room) if e["event_id"] == target][0]
    tap.ok(redacted["content"] == {} and redacted["unsigned"]["redacted_because"]["event_id"] == ev["event_id"],
           "the redacted event is pruned, with redacted_because")

    # Ephemeral: typing (txn-ephemeral-typing.json) and a receipt.
    hs.typing(room, [ALICE])
    hs.wait_idle(5)
    body = hs.transactions[-1].body
    want = fixture("txn-ephemeral-typing.json")["body"]
    tap.is_(keys(body), keys(want), "typing: transaction keys")
    tap.is_((body["ephemeral"], body["de.sorunome.msc2409.ephemeral"]),
            ([{"content": {"user_ids": [ALICE]}, "room_id": room, "type": "m.typing"}],) * 2,
            "typing: the same m.typing in ephemeral and de.sorunome.msc2409.ephemeral")
    hs.receipt(room, target, ALICE, "m.read.private")
    hs.wait_idle(5)
    edu = hs.transactions[-1].body["ephemeral"][0]
    ts = edu["content"][target]["m.read.private"][ALICE]["ts"]
    tap.is_(edu, {"content": {target: {"m.read.private": {ALICE: {"ts": ts}}}}, "room_id": room, "type": "m.receipt"},
            "receipt: private receipts are passed on")

    # Presence (txn-ephemeral-presence.json): no room, so no key counts.
    hs.presence(ALICE, "online", "triaging INC-44")
    hs.wait_idle(5)
    body = hs.transactions[-1].body
    want = fixture("txn-ephemeral-presence.json")["body"]
    tap.is_((keys(body), keys(body["ephemeral"][0]), keys(body["ephemeral"][0]["content"])),
            (keys(want), keys(want["ephemeral"][0]), keys(want["ephemeral"][0]["content"])),
            "presence: keys as the fixture")

    # To-device (txn-to-device.json, txn-to-device-wildcard.json): whole values.
    for name, device in (("txn-to-device.json", "WARROOMDNS"), ("txn-to-device-wildcard.json", "*")):
        want = fixture(name)["body"]
        msg = want["de.sorunome.msc2409.to_device"][0]
        hs.to_device(ALICE, BOT, device, msg["type"], msg["content"])
        hs.wait_idle(5)
        body = hs.transactions[-1].body
        tap.is_((keys(body), body["de.sorunome.msc2409.to_device"]),
                (keys(want), want["de.sorunome.msc2409.to_device"]),
                f"to-device to {device!r}: exactly as {name}")

    # Device-list change of a user sharing a room (txn-device-lists-changed.json).
    hs.invite(room, ALICE, BOB)
    hs.join(room, BOB)
    hs.wait_idle(5)
    hs.device_list_changed(BOB)
    hs.wait_idle(5)
    tap.is_(hs.transactions[-1].body, fixture("txn-device-lists-changed.json")["body"],
            "device list change: exactly txn-device-lists-changed.json")

    # The user query before an invite of an unknown namespace user (user-query.json).
    mark = rec.mark()
    hs.invite(room, ALICE, "@soc_shodan:localhost")
    hs.wait_idle(5)
    log = rec.since(mark)
    want = fixture("user-query.json")
    query = [i for i, e in enumerate(log) if e["method"] == "GET"]
    txn = [i for i, e in enumerate(log) if TXN_PATH.fullmatch(e["path"])]
    tap.ok(query and txn and query[0] < txn[0], "user query made before the invite is delivered")
    if query:
        q = log[query[0]]
        tap.is_((q["path"], q["query"], q["headers"]["authorization"], "content-type" in q["headers"]),
                (want["path"], want["query"], want["headers"]["authorization"], False),
                "user query: @ and : percent-encoded, no Content-Type (user-query.json)")
    ev = hs.transactions[-1].body["events"][0]
    wev = fixture("txn-invite-unregistered-user.json")["body"]["events"][0]
    tap.is_(ev["content"], wev["content"], "invite of an unregistered user: no display name")

    # The bot creates a room: the whole creation sequence in one transaction.
    want = fixture("txn-room-create-by-appservice-user.json")["body"]["events"]
    hs.pause_pushing()
    status, _, body = cs(hs, "POST", "/_matrix/client/v3/createRoom?" + BOT_Q,
                         {"name": "Incident 42: phishing wave", "topic": "war room for INC-42", "invite": [ALICE],
                          "preset": "private_chat", "creation_content": {"m.federate": False}})
    hs.resume_pushing()
    hs.wait_idle(5)
    got = hs.transactions[-1].body["events"]
    tap.is_([(e["type"], e.get("state_key"), e["content"]) for e in got],
            [(e["type"], e.get("state_key"), e["content"]) for e in want],
            "bot's createRoom: types, state keys and contents of txn-room-create-by-appservice-user.json")
    tap.ok(status == 200 and all(e["room_id"] == body["room_id"] for e in got), "createRoom -> {room_id}")
    return room


def test_more_shapes(tap, hs, rec):
    """Further event shapes against their fixtures, and the state, typing
    and redaction endpoints."""
    def shape(ev):
        return keys(ev), keys(ev["unsigned"]), keys(ev["content"])

    def fx(name, i=0):
        return fixture(name)["body"]["events"][i]

    # An encrypted room's invite carries m.room.encryption (txn-invite-encrypted-room.json).
    room = hs.create_room(ALICE, name="Incident 47 (encrypted)", encrypted=True,
                          creation_content={"m.federate": True})
    hs.invite(room, ALICE, BOT)
    hs.wait_idle(5)
    ev = hs.transactions[-1].body["events"][0]
    tap.is_(by_type(ev["invite_room_state"]), by_type(fx("txn-invite-encrypted-room.json")["invite_room_state"]),
            "encrypted room: invite_room_state equals txn-invite-encrypted-room.json's")
    status, _, _ = cs(hs, "POST", f"/_matrix/client/v3/rooms/{room}/join?" + BOT_Q)
    tap.is_(status, 200, "POST /rooms/{roomId}/join")

    # Kick and ban (txn-member-kick.json, txn-member-ban.json).
    hs.invite(room, ALICE, "@carol:localhost")
    hs.join(room, "@carol:localhost")
    hs.kick(room, ALICE, "@carol:localhost", reason="wrong room")
    hs.wait_idle(5)
    ev = hs.transactions[-1].body["events"][-1]
    tap.is_((shape(ev), ev["content"], ev["prev_content"]),
            (shape(fx("txn-member-kick.json")), fx("txn-member-kick.json")["content"],
             fx("txn-member-kick.json")["prev_content"]), "kick: as txn-member-kick.json")
    hs.invite(room, ALICE, "@carol:localhost")
    hs.join(room, "@carol:localhost")
    hs.ban(room, ALICE, "@carol:localhost", reason="compromised account")
    hs.wait_idle(5)
    ev = hs.transactions[-1].body["events"][-1]
    tap.is_((shape(ev), ev["content"], ev["prev_content"]),
            (shape(fx("txn-member-ban.json")), fx("txn-member-ban.json")["content"],
             fx("txn-member-ban.json")["prev_content"]), "ban: as txn-member-ban.json")

    # A file and an edit (txn-file.json, txn-edit.json).
    data = b"From: x@example.com\r\n\r\nclick here"
    hs.send_file(room, ALICE, data, "suspicious.eml", "message/rfc822")
    hs.wait_idle(5)
    ev = hs.transactions[-1].body["events"][-1]
    tap.is_((shape(ev), keys(ev["content"]["info"])),
            (shape(fx("txn-file.json")), keys(fx("txn-file.json")["content"]["info"])), "file: as txn-file.json")
    tap.is_(hs.media(ev["content"]["url"]), (data, "message/rfc822", "suspicious.eml"), "media() returns the upload")
    msg = hs.send_message(room, ALICE, "**Alert**: 203.0.113.8", formatted_body="<strong>Alert</strong>")
    hs.edit(room, ALICE, msg, "**Alert**: 203.0.113.9", formatted_body="<strong>Alert</strong> .9")
    hs.wait_idle(5)
    ev = hs.transactions[-1].body["events"][-1]
    want = fx("txn-edit.json")
    tap.is_((shape(ev), keys(ev["content"]["m.new_content"]), ev["content"]["body"][:3]),
            (shape(want), keys(want["content"]["m.new_content"]), " * "), "edit: as txn-edit.json")

    # State, typing and redaction through the client API.
    base = f"/_matrix/client/v3/rooms/{room}"
    status, _, body = cs(hs, "PUT", f"{base}/state/m.room.topic?" + BOT_Q, {"topic": "by the bot"})
    status2, _, body2 = cs(hs, "PUT", f"{base}/state/m.room.topic/?" + BOT_Q, {"topic": "by the bot"})
    tap.ok(status == status2 == 200 and body == body2, "PUT state with an empty key; the same content again is a no-op")
    status, _, body = cs(hs, "GET", f"{base}/state/m.room.topic/?" + BOT_Q)
    tap.is_((status, body), (200, {"topic": "by the bot"}), "GET state/{type}/ -> content")
    status, _, body = cs(hs, "GET", f"{base}/state/m.room.avatar/?" + BOT_Q)
    tap.is_((status, body.get("errcode")), (404, "M_NOT_FOUND"), "GET state of an unset type -> 404")
    status, _, body = cs(hs, "GET", f"{base}/state?" + BOT_Q)
    tap.ok(status == 200 and {"m.room.create", "m.room.encryption", "m.room.topic"} <= {e["type"] for e in body},
           "GET state -> the room's state events")
    status, _, body = cs(hs, "GET", f"{base}/joined_members?" + BOT_Q)
    tap.is_((status, sorted(body.get("joined", {}))), (200, [ALICE, BOT]), "GET joined_members")
    status, _, body = cs(hs, "GET", "/_matrix/client/v3/joined_rooms?" + BOT_Q)
    tap.ok(status == 200 and room in body["joined_rooms"], "GET joined_rooms")
    status, _, _ = cs(hs, "PUT", f"{base}/typing/%40soc_dns%3Alocalhost?" + BOT_Q, {"typing": True, "timeout": 5000})
    hs.wait_idle(5)
    tap.is_((status, hs.transactions[-1].body["ephemeral"]),
            (200, [{"content": {"user_ids": [BOT]}, "room_id": room, "type": "m.typing"}]),
            "PUT typing: the appservice hears its own typing")
    r1 = cs(hs, "PUT", f"{base}/redact/{msg}/red1?" + BOT_Q, {"reason": "oops"})
    r2 = cs(hs, "PUT", f"{base}/redact/{msg}/red1?" + BOT_Q, {"reason": "oops"})
    tap.ok(r1[0] == 200 and r1[2] == r2[2], "PUT redact is idempotent per txnId")

    # Room version 11 (txn-redaction-room-v11.json).
    v11 = hs.create_room(ALICE, room_version="11", invite=[BOT])
    cs(hs, "POST", f"/_matrix/client/v3/join/{v11}?" + BOT_Q)
    target = hs.send_message(v11, ALICE, "x")
    hs.redact(v11, ALICE, target, reason="credential posted by mistake")
    hs.wait_idle(5)
    ev = hs.transactions[-1].body["events"][-1]
    tap.is_((shape(ev), ev["redacts"] == ev["content"]["redacts"] == target),
            (shape(fx("txn-redaction-room-v11.json")), True), "v11 redaction: as txn-redaction-room-v11.json")

    # The bot leaves: no key counts any more (txn-member-leave-appservice-user.json).
    status, _, _ = cs(hs, "POST", f"/_matrix/client/v3/rooms/{v11}/leave?" + BOT_Q, {})
    hs.wait_idle(5)
    body = hs.transactions[-1].body
    want = fixture("txn-member-leave-appservice-user.json")["body"]
    tap.is_((status, keys(body), shape(body["events"][0]), body["events"][0]["content"]),
            (200, keys(want), shape(want["events"][0]), want["events"][0]["content"]),
            "bot leaves: as txn-member-leave-appservice-user.json, without MSC3202 keys")
    hs.send_message(v11, ALICE, "after the bot left")
    time.sleep(0.1)
    hs.wait_idle(5)
    tap.ok(all(e["room_id"] != v11 or e["sender"] != ALICE or e["content"].get("body") != "after the bot left"
               for a in hs.transactions for e in a.body["events"]),
           "after the bot left, the room's messages no longer reach the appservice")


def test_batching(tap, hs, rec, room):
    hs.pause_pushing()
    sent = [hs.send_message(room, ALICE, f"message {i}") for i in range(150)]
    mark = len(hs.transactions)
    hs.resume_pushing()
    hs.wait_idle(10)
    atts = hs.transactions[mark:]
    sizes = [len(a.body["events"]) for a in atts]
    tap.is_(sizes, [len(fixture("txn-batch-max-events.json")["body"]["events"]),
                    len(fixture("txn-batch-remainder.json")["body"]["events"])],
            "150 queued messages go as 100 then 50 (txn-batch-*.json)")
    tap.is_([e["event_id"] for a in atts for e in a.body["events"]], sent, "events in stream order across transactions")
    tap.is_([a.txn_id for a in atts], [atts[0].txn_id, atts[0].txn_id + 1], "txnIds go up by one")

    # One transaction in flight: the rest waits and then goes together.
    rec.hold = threading.Event()
    rec.max_in_flight = 0
    first = hs.send_message(room, ALICE, "held")
    hs.wait_for(lambda: rec.in_flight == 1, 5, what="the held transaction to arrive")
    later = [hs.send_message(room, ALICE, f"queued {i}") for i in range(20)]
    count = len(rec.txns())
    time.sleep(0.2)
    tap.is_(len(rec.txns()), count, "nothing else is sent while a transaction is in flight")
    rec.hold.set()
    hs.wait_idle(5)
    rec.hold = None
    tap.is_(rec.max_in_flight, 1, "never more than one transaction in flight")
    tap.is_([[e["event_id"] for e in a.body["events"]] for a in hs.transactions[-2:]], [[first], later],
            "what queued up meanwhile goes in the next transaction")


def test_retry(tap, hs, rec, room):
    want = [fixture(f"txn-retry-{n}.json")["body"] for n in
            ("1-first-attempt-500", "2-second-attempt-500", "3-third-attempt-200")]
    rec.txn_script.extend([500, 500])
    hs.pause_pushing()
    hs.typing(room, [ALICE])
    hs.send_message(room, ALICE, "this transaction fails twice")
    mark = len(hs.transactions)
    hs.resume_pushing()
    hs.wait_idle(10)
    atts = hs.transactions[mark:]
    tap.is_([(a.txn_id, a.status) for a in atts], [(atts[0].txn_id, 500), (atts[0].txn_id, 500), (atts[0].txn_id, 200)],
            "a failing transaction is resent with the same txnId until it succeeds")
    if len(atts) == 3:
        d1, d2 = atts[1].time - atts[0].time, atts[2].time - atts[1].time
        # Lower bounds tell 2 s from 4 s; upper bounds allow a loaded machine.
        tap.ok(2 * SCALE * 0.9 <= d1 < 2 * SCALE + 0.5 and 4 * SCALE * 0.9 <= d2 < 4 * SCALE + 0.5,
               f"retried after 2 s then 4 s, times retry_scale (got {d1:.3f} s, {d2:.3f} s)")
        tap.is_([keys(a.body) for a in atts], [keys(w) for w in want], "retry bodies keep the fixtures' keys")
        tap.is_((atts[1].body["ephemeral"], atts[1].body["de.sorunome.msc2409.ephemeral"],
                 atts[1].body["de.sorunome.msc2409.to_device"]), ([], [], []),
                "the retried body has ephemeral and to-device data dropped")
        tap.is_([without_age(a.body["events"][0]) for a in atts[1:]], [without_age(atts[0].body["events"][0])] * 2,
                "the retried events are the same but for age")
        ages = [a.body["events"][0]["unsigned"]["age"] for a in atts]
        tap.ok(ages[0] <= ages[1] <= ages[2] and ages[2] > ages[0], f"age is recomputed at each attempt ({ages})")
        tap.ok(atts[0].body["ephemeral"] and not atts[0].retry and atts[1].retry,
               "only the first attempt had the typing")

    # While down: new events become later transactions, ephemeral is lost.
    rec.txn_script.extend([500, 500])
    mark = len(hs.transactions)
    m1 = hs.send_message(room, ALICE, "sent while the appservice fails")
    hs.wait_for(lambda: any(a.status == 500 for a in hs.transactions[mark:]), 5, what="the first failure")
    hs.typing(room, [BOB])
    m2 = hs.send_message(room, ALICE, "queued while down")
    hs.wait_idle(10)
    atts = hs.transactions[mark:]
    ok = [a for a in atts if a.ok]
    tap.is_([[e["event_id"] for e in a.body["events"]] for a in ok], [[m1], [m2]],
            "while down, a new event goes in a later transaction, sent after the failed one succeeds")
    tap.ok(len(ok) == 2 and ok[1].txn_id == ok[0].txn_id + 1 and ok[1].retry
           and "org.matrix.msc3202.device_one_time_keys_count" not in ok[1].body,
           "that transaction is built like a retry (no ephemeral, no MSC3202 keys)")
    tap.ok(not any(a.body["ephemeral"] for a in atts[1:]) and
           any(kind == "ephemeral" and e["content"]["user_ids"] == [BOB] for kind, e in hs.pusher.dropped),
           "typing while down is dropped")

    # reset_txn_ids and push_raw.
    hs.reset_txn_ids()
    hs.send_message(room, ALICE, "after a database reset")
    hs.wait_idle(5)
    tap.is_(hs.transactions[-1].txn_id, 1, "reset_txn_ids(): the next transaction is 1 again")
    mark = rec.mark()
    status, answer = hs.push_raw(777, b'{"events":[]}')
    tap.ok(status == 200 and rec.since(mark)[-1]["raw"] == b'{"events":[]}'
           and rec.since(mark)[-1]["path"] == "/_matrix/app/v1/transactions/777", "push_raw() sends the bytes as given")


def test_ping(tap, hs, rec):
    for name, sent in (("ping.json", {"transaction_id": "fixture-ping-0001"}),
                       ("ping-without-transaction-id.json", {})):
        want = fixture(name)
        mark = rec.mark()
        status, _, body = cs(hs, "POST", "/_matrix/client/v1/appservice/warroom-fixtures/ping", sent)
        got = [e for e in rec.since(mark) if e["path"] == "/_matrix/app/v1/ping"]
        tap.ok(status == 200 and isinstance(body.get("duration_ms"), int), f"ping {sent} -> 200 {{duration_ms}}")
        tap.ok(got and (got[0]["method"], got[0]["body"], got[0]["headers"]["authorization"],
                        got[0]["headers"].get("content-type")) ==
               (want["method"], want["body"], want["headers"]["authorization"], want["headers"]["content-type"]),
               f"the appservice got the ping of {name}")
    status, _, body = cs(hs, "POST", "/_matrix/client/v1/appservice/someone-else/ping", {})
    tap.is_((status, body.get("errcode")), (403, "M_FORBIDDEN"), "ping for another appservice id -> 403")
    rec.ping_status = 500
    status, _, body = cs(hs, "POST", "/_matrix/client/v1/appservice/warroom-fixtures/ping", {})
    tap.ok(status == 502 and body.get("errcode") == "M_BAD_STATUS" and body.get("status") == 500
           and "ping refused" in body.get("body", ""), "appservice answered 500 -> 502 M_BAD_STATUS with status, body")
    rec.ping_status, rec.ping_delay = 200, 1.0
    status, _, body = cs(hs, "POST", "/_matrix/client/v1/appservice/warroom-fixtures/ping", {})
    tap.is_((status, body.get("errcode")), (504, "M_CONNECTION_TIMEOUT"), "appservice too slow -> 504")
    rec.ping_delay = 0.0
    other = FakeHomeserver(as_url=f"http://127.0.0.1:{harness.free_port()}", as_token="a", hs_token="h", as_id="x")
    with other:
        status, _, body = cs(other, "POST", "/_matrix/client/v1/appservice/x/ping", {}, token="a")
    tap.is_((status, body.get("errcode")), (502, "M_CONNECTION_FAILED"), "appservice unreachable -> 502")


def test_client_server(tap, hs, room):
    send = f"/_matrix/client/v3/rooms/{room}/send/m.room.message/"
    status, _, body = cs(hs, "GET", "/_matrix/client/v3/joined_rooms", token=None)
    tap.is_((status, body.get("errcode")), (401, "M_MISSING_TOKEN"), "no token -> 401 M_MISSING_TOKEN")
    status, _, body = cs(hs, "GET", "/_matrix/client/v3/joined_rooms", token="wrong")
    tap.is_((status, body.get("errcode")), (401, "M_UNKNOWN_TOKEN"), "unknown token -> 401 M_UNKNOWN_TOKEN")
    status, _, body = cs(hs, "GET", "/_matrix/client/v3/account/whoami?user_id=%40soc_nobody%3Alocalhost")
    tap.ok(status == 403 and body.get("errcode") == "M_FORBIDDEN" and "has not registered" in body.get("error", ""),
           "acting as an unregistered namespace user -> 403")
    status, _, body = cs(hs, "GET", "/_matrix/client/v3/account/whoami?user_id=%40alice%3Alocalhost")
    tap.is_((status, body.get("errcode")), (403, "M_FORBIDDEN"), "acting as a user outside the namespace -> 403")
    status, _, body = cs(hs, "GET", "/_matrix/client/v3/account/whoami")
    tap.is_((status, body.get("user_id")), (200, "@warroom:localhost"), "no user_id: the sender_localpart user")
    status, _, body = cs(hs, "GET", "/_matrix/client/v3/no/such/thing")
    tap.is_((status, body.get("errcode")), (404, "M_UNRECOGNIZED"), "unknown path -> 404 M_UNRECOGNIZED")
    status, _, body = cs(hs, "DELETE", "/_matrix/client/v3/createRoom")
    tap.is_((status, body.get("errcode")), (405, "M_UNRECOGNIZED"), "known path, wrong method -> 405 M_UNRECOGNIZED")
    status, _, body = cs(hs, "PUT", send + "bad?" + BOT_Q, raw=b"{not json")
    tap.is_((status, body.get("errcode")), (400, "M_NOT_JSON"), "invalid JSON -> 400 M_NOT_JSON")

    before = len(hs.sent_events(room_id=room))
    s1, _, b1 = cs(hs, "PUT", send + "same-txn?" + BOT_Q, {"msgtype": "m.notice", "body": "once"})
    s2, _, b2 = cs(hs, "PUT", send + "same-txn?" + BOT_Q, {"msgtype": "m.notice", "body": "once"})
    tap.ok(s1 == s2 == 200 and b1 == b2, "the same txnId returns the same event_id")
    tap.is_(len(hs.sent_events(room_id=room)) - before, 1, "... and creates one event only")
    s3, _, b3 = cs(hs, "PUT", send + "other-txn?" + BOT_Q, {"msgtype": "m.notice", "body": "once"})
    tap.ok(s3 == 200 and b3["event_id"] != b1["event_id"], "another txnId makes another event")
    lonely = hs.create_room(ALICE, name="not the bot's")
    status, _, body = cs(hs, "PUT", f"/_matrix/client/v3/rooms/{lonely}/send/m.room.message/t?" + BOT_Q,
                         {"msgtype": "m.text", "body": "x"})
    tap.is_((status, body.get("errcode")), (403, "M_FORBIDDEN"), "sending into a room the bot is not in -> 403")
    status, _, body = cs(hs, "POST", f"/_matrix/client/v3/join/{lonely}?" + BOT_Q)
    tap.is_((status, body.get("errcode")), (403, "M_FORBIDDEN"), "joining without an invite -> 403")

    hs.rate_limit(r"/send/", retry_after_ms=500)
    status, _, body = cs(hs, "PUT", send + "rl1?" + BOT_Q, {"msgtype": "m.text", "body": "x"})
    tap.is_((status, body), (429, {"errcode": "M_LIMIT_EXCEEDED", "error": "Too Many Requests", "retry_after_ms": 500}),
            "rate_limit(): 429 with retry_after_ms")
    hs.rate_limit(r"/send/", retry_after_ms=1500, header=True)
    status, headers, body = cs(hs, "PUT", send + "rl1?" + BOT_Q, {"msgtype": "m.text", "body": "x"})
    tap.ok(status == 429 and headers.get("retry-after") == "2" and "retry_after_ms" not in body,
           "rate_limit(header=True): Retry-After in whole seconds instead")
    status, _, _ = cs(hs, "PUT", send + "rl1?" + BOT_Q, {"msgtype": "m.text", "body": "x"})
    tap.is_(status, 200, "after the injected 429s the request goes through")
    hs.fail(r"/joined_rooms$", status=502, count=2, method="GET")
    statuses = [cs(hs, "GET", "/_matrix/client/v3/joined_rooms?" + BOT_Q)[0] for _ in range(3)]
    tap.is_(statuses, [502, 502, 200], "fail(count=2): two failures, then normal")
    hs.delay(r"/account/whoami", 0.3, count=1)
    start = time.monotonic()
    cs(hs, "GET", "/_matrix/client/v3/account/whoami")
    tap.ok(time.monotonic() - start >= 0.3, "delay(): the answer comes late")

    port = hs.port
    hs.refuse_connections(True)
    try:
        cs(hs, "GET", "/_matrix/client/versions")
        refused = False
    except ConnectionRefusedError:
        refused = True
    tap.ok(refused, "refuse_connections(True): connections are refused")
    hs.refuse_connections(False)
    status, _, _ = cs(hs, "GET", "/_matrix/client/versions")
    tap.ok(status == 200 and hs.port == port, "refuse_connections(False): back on the same port")

    status, _, body = cs(hs, "POST", "/_matrix/media/v3/upload?filename=a.txt&" + BOT_Q, raw=b"hello",
                         headers={"Content-Type": "text/plain"})
    mxc = body.get("content_uri", "")
    tap.ok(status == 200 and re.fullmatch(r"mxc://localhost/[A-Za-z]{24}", mxc), "upload -> mxc://localhost/<id>")
    path = mxc[len("mxc://"):]
    status, headers, data = cs(hs, "GET", "/_matrix/client/v1/media/download/" + path)
    tap.ok(status == 200 and data == b"hello" and headers["content-type"] == "text/plain",
           "authenticated download returns the bytes")
    status, _, _ = cs(hs, "GET", "/_matrix/client/v1/media/download/" + path, token=None)
    tap.is_(status, 401, "authenticated download needs a token")
    status, _, data = cs(hs, "GET", "/_matrix/media/v3/download/" + path, token=None)
    tap.ok(status == 200 and data == b"hello", "legacy download works without a token")

    cs(hs, "PUT", "/_matrix/client/v3/profile/%40soc_dns%3Alocalhost/displayname?" + BOT_Q, {"displayname": "DNS 2"})
    last = hs.room_timeline(room)[-1]
    tap.is_((last["type"], last["state_key"], last["content"].get("displayname"), last["prev_content"]["displayname"]),
            ("m.room.member", BOT, "DNS 2", "DNS (warroom)"), "a display name change sends a member event per room")
    tap.is_(hs.members(room).get(BOT), "join", "members() reports the bot joined")

    leak = [r for r in hs.requests if AS_TOKEN in repr(r)]
    tap.is_(leak, [], "recorded requests never contain the token")
    reqs = hs.requests_for(route="send", user_id=BOT)
    tap.ok(reqs and reqs[-1].params.get("room") == room and reqs[-1].status == 200,
           "requests_for(route=...) finds the sends, with decoded parameters")
    try:
        hs.wait_for(lambda: False, timeout=0.1, what="something that never happens")
        tap.ok(False, "wait_for() times out")
    except harness.WaitTimeout as e:
        tap.ok("something that never happens" in str(e), "wait_for() raises, naming what it waited for")


def test_options(tap):
    rec = RecordingAS()
    try:
        for stable, want_present, want_absent in (
                (True, ["device_lists", "org.matrix.msc3202.device_lists", "to_device",
                        "de.sorunome.msc2409.to_device"], []),
                ("only", ["device_lists", "to_device", "ephemeral"],
                 ["org.matrix.msc3202.device_lists", "de.sorunome.msc2409.to_device",
                  "de.sorunome.msc2409.ephemeral"])):
            hs = FakeHomeserver(as_url=rec.url, as_token="a", hs_token="h", stable_names=stable)
            with hs:
                hs.device_list_changed("@warroom:localhost")
                hs.wait_idle(5)
                body = hs.transactions[-1].body
            tap.ok(all(k in body for k in want_present) and not any(k in body for k in want_absent),
                   f"stable_names={stable!r}: {sorted(body)}")
        hs = FakeHomeserver(as_url=rec.url, as_token="a", hs_token="h", msc4190=True, authenticated_media=False)
        with hs:
            status, _, _ = cs(hs, "PUT", "/_matrix/client/v3/devices/NEWDEVICE", {}, token="a")
            tap.is_(status, 201, "msc4190=True: PUT /devices/{id} creates the device")
            status, _, body = cs(hs, "GET", "/_matrix/client/v1/media/download/localhost/abc", token="a")
            tap.is_((status, body.get("errcode")), (404, "M_UNRECOGNIZED"),
                    "authenticated_media=False: the authenticated download path is unknown")
            status, _, body = cs(hs, "GET", "/_matrix/client/versions", token=None)
            tap.ok(status == 200 and "v1.11" not in body["versions"] and "v1.7" in body["versions"],
                   "versions: no v1.11 without authenticated media")
            tap.is_(hs.alias_query("#soc_incident_45:localhost")[0], 404, "alias_query() reaches the appservice")
        log = [e for e in rec.log if e["method"] == "GET"]
        want = fixture("alias-query.json")
        tap.is_(log[-1]["path"], want["path"], "alias query path: # and : percent-encoded (alias-query.json)")
        hs = FakeHomeserver(as_url=rec.url, as_token="a", hs_token="h", alias_regex="#soc_.*:localhost")
        with hs:
            mark = rec.mark()
            status, _, body = cs(hs, "GET", "/_matrix/client/v3/directory/room/%23soc_incident_45%3Alocalhost",
                                 token="a")
            asked = [e["path"] for e in rec.since(mark)]
            tap.ok(status == 404 and body.get("errcode") == "M_NOT_FOUND" and asked == [want["path"]],
                   "an unknown alias in the namespace is asked of the appservice, then 404 M_NOT_FOUND")
            status, _, body = cs(hs, "POST", "/_matrix/client/v3/join/%23soc_incident_45%3Alocalhost", token="a")
            tap.is_((status, body.get("errcode"), len(rec.since(mark))), (404, "M_NOT_FOUND", 2),
                    "joining by that alias asks again, then 404")
        status, _ = hs.thirdparty("user", "warroom", {"tool": "dns"})
        tap.ok(status == 200 and rec.log[-1]["query"] == fixture("thirdparty-user.json")["query"],
               "thirdparty() passes the fields as the query (thirdparty-user.json)")
    finally:
        rec.stop()


def main():
    tap = harness.Tap()
    started = time.monotonic()
    test_harness_pieces(tap)

    rec = RecordingAS()
    hs = FakeHomeserver.from_registration(harness.FIXTURES / "registration.yaml", as_url=rec.url,
                                          retry_scale=SCALE, ping_timeout=0.5)
    hs.start()
    try:
        setup_bot(tap, hs, rec)
        room = test_transactions(tap, hs, rec)
        test_more_shapes(tap, hs, rec)
        test_batching(tap, hs, rec, room)
        test_retry(tap, hs, rec, room)
        test_ping(tap, hs, rec)
        test_client_server(tap, hs, room)
    finally:
        hs.stop()
        rec.stop()
    test_options(tap)
    tap.diag(f"took {time.monotonic() - started:.1f} s")
    tap.done()


if __name__ == "__main__":
    main()
