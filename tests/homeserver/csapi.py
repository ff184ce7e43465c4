"""The client-server API of the fake homeserver: the endpoints warroom calls.

One ThreadingHTTPServer (HTTP/1.1, keep-alive) and a route table.  For each
request, in this order: injected faults (faults.py) are applied, the route
is found (unknown path: 404 M_UNRECOGNIZED; known path, wrong method: 405
M_UNRECOGNIZED, as Synapse), the caller is authenticated, the JSON body is
parsed, and the handler runs with the homeserver lock held (except the few
that must call the appservice first: ping, join by alias, alias lookups).

Authentication follows Synapse 1.94 (synapse/api/auth): `Authorization:
Bearer <token>` or the deprecated `?access_token=`; no token is 401
M_MISSING_TOKEN, an unknown one 401 M_UNKNOWN_TOKEN.  The as_token acts as
the appservice's sender, or as `?user_id=` if that user is in its namespace
and registered (403 M_FORBIDDEN otherwise), on the device named by
`?org.matrix.msc3202.device_id=` if given (MSC3202 device masquerading; the
README's keys/upload request).  Tokens from /login act as their user and
device.  Like Synapse, /versions, GET /login, /register, profile lookups and
the legacy media download need no token.

Every request is recorded (FakeHomeserver.requests) without its token.
"""

import http.server
import json
import re
import socket
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Optional

from . import events as ev_mod
from .asclient import ASClient, quote_segment
from .errors import MatrixError, bad_request, forbidden, not_found

# Synapse 1.94's default media upload limit (max_upload_size: 50M).
MAX_UPLOAD = 50 * 1024 * 1024
LOCALPART_RE = re.compile(r"[a-z0-9._=\-/+]+")


@dataclass
class Requester:
    user_id: str
    device_id: Optional[str]
    is_as: bool
    identity: tuple  # what the /send transaction cache is keyed on


@dataclass
class Request:
    """One request as a test sees it in FakeHomeserver.requests."""
    method: str
    path: str                  # raw, still percent-encoded, without the query
    query: dict                # first value of each query parameter
    user_id: Optional[str]     # who the request acted as, if authenticated
    body: object               # parsed JSON body, or None
    status: int
    time: float                # time.monotonic() when it arrived
    route: Optional[str] = None        # handler name ("send", "join", ...)
    params: dict = field(default_factory=dict)  # decoded path parameters
    errcode: Optional[str] = None
    response: object = None
    bytes_sent: int = 0        # body bytes handed to the socket (less than the body if the client hung up)


@dataclass
class Ctx:
    method: str
    path: str
    query: dict
    headers: object
    raw: bytes
    params: dict
    body: object = None
    requester: Optional[Requester] = None


@dataclass
class Raw:
    """A non-JSON answer (media downloads)."""
    status: int
    data: bytes
    content_type: str
    headers: dict = field(default_factory=dict)


@dataclass
class Route:
    name: str
    method: str
    pattern: re.Pattern
    auth: bool = True          # a token is required
    json: str = "no"           # "no", "object", or "optional" (empty body = {})
    locked: bool = True


C = r"/_matrix/client/(?:r0|v3)"
SEG = r"[^/]+"


def _routes(hs):
    r = []

    def add(name, method, pattern, **kw):
        r.append(Route(name, method, re.compile(pattern), **kw))

    add("versions", "GET", r"/_matrix/client/versions", auth=False)
    add("whoami", "GET", C + r"/account/whoami")
    add("register", "POST", C + r"/register", auth=False, json="object")
    add("login_flows", "GET", C + r"/login", auth=False)
    add("login", "POST", C + r"/login", auth=False, json="object")
    add("put_device", "PUT", C + rf"/devices/(?P<device_id>{SEG})", json="optional")
    add("keys_upload", "POST", C + rf"/keys/upload(?:/(?P<device_id>{SEG}))?", json="object")
    add("join", "POST", C + rf"/join/(?P<room>{SEG})", json="optional", locked=False)
    add("join", "POST", C + rf"/rooms/(?P<room>{SEG})/join", json="optional", locked=False)
    add("leave", "POST", C + rf"/rooms/(?P<room>{SEG})/leave", json="optional")
    add("invite", "POST", C + rf"/rooms/(?P<room>{SEG})/invite", json="object")
    add("kick", "POST", C + rf"/rooms/(?P<room>{SEG})/kick", json="object")
    add("ban", "POST", C + rf"/rooms/(?P<room>{SEG})/ban", json="object")
    add("send", "PUT", C + rf"/rooms/(?P<room>{SEG})/send/(?P<type>{SEG})/(?P<txn>{SEG})", json="object")
    add("put_state", "PUT", C + rf"/rooms/(?P<room>{SEG})/state/(?P<type>{SEG})(?:/(?P<key>[^/]*))?",
        json="object")
    add("get_state_event", "GET", C + rf"/rooms/(?P<room>{SEG})/state/(?P<type>{SEG})(?:/(?P<key>[^/]*))?")
    add("get_state", "GET", C + rf"/rooms/(?P<room>{SEG})/state")
    add("joined_members", "GET", C + rf"/rooms/(?P<room>{SEG})/joined_members")
    add("get_event", "GET", C + rf"/rooms/(?P<room>{SEG})/event/(?P<event_id>{SEG})")
    add("redact", "PUT", C + rf"/rooms/(?P<room>{SEG})/redact/(?P<event_id>{SEG})/(?P<txn>{SEG})",
        json="optional")
    add("typing", "PUT", C + rf"/rooms/(?P<room>{SEG})/typing/(?P<user>{SEG})", json="object")
    add("receipt", "POST", C + rf"/rooms/(?P<room>{SEG})/receipt/(?P<rtype>{SEG})/(?P<event_id>{SEG})",
        json="optional")
    add("joined_rooms", "GET", C + r"/joined_rooms")
    add("create_room", "POST", C + r"/createRoom", json="object")
    add("get_profile", "GET", C + rf"/profile/(?P<user>{SEG})", auth=False)
    add("get_profile_field", "GET", C + rf"/profile/(?P<user>{SEG})/(?P<field>displayname|avatar_url)",
        auth=False)
    add("put_profile_field", "PUT", C + rf"/profile/(?P<user>{SEG})/(?P<field>displayname|avatar_url)",
        json="object")
    add("get_alias", "GET", C + rf"/directory/room/(?P<alias>{SEG})", locked=False)
    add("put_alias", "PUT", C + rf"/directory/room/(?P<alias>{SEG})", json="object")
    add("delete_alias", "DELETE", C + rf"/directory/room/(?P<alias>{SEG})")
    add("send_to_device", "PUT", C + rf"/sendToDevice/(?P<type>{SEG})/(?P<txn>{SEG})", json="object")
    add("ping", "POST", rf"/_matrix/client/v1/appservice/(?P<as_id>{SEG})/ping", json="object", locked=False)
    add("upload", "POST", r"/_matrix/media/(?:r0|v3)/upload")
    add("media_config", "GET", r"/_matrix/media/(?:r0|v3)/config")
    add("download_legacy", "GET",
        rf"/_matrix/media/(?:r0|v3)/download/(?P<server>{SEG})/(?P<media_id>{SEG})(?:/(?P<filename>{SEG}))?",
        auth=False)
    if hs.authenticated_media:
        # Servers without authenticated media (Synapse 1.94 itself) do not
        # know these paths at all: 404 M_UNRECOGNIZED.
        add("download", "GET",
            rf"/_matrix/client/v1/media/download/(?P<server>{SEG})/(?P<media_id>{SEG})"
            rf"(?:/(?P<filename>{SEG}))?")
        add("media_config", "GET", r"/_matrix/client/v1/media/config")
    return r


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, api):
        self.api = api
        self.active = set()
        self.active_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request, client_address):
        if self.api.hs.debug:
            super().handle_error(request, client_address)

    def drop_connections(self):
        """Shuts every open connection down, as a homeserver going away would."""
        with self.active_lock:
            conns = list(self.active)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "Synapse/1.94.0"

    def setup(self):
        super().setup()
        # The handler writes the headers and the body separately; without
        # TCP_NODELAY, Nagle and the client's delayed ACK add 40 ms to
        # every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.active_lock:
            self.server.active.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.server.active_lock:
                self.server.active.discard(self.connection)

    def log_message(self, fmt, *args):
        if self.server.api.hs.debug:
            sys.stderr.write("fakehs: " + (fmt % args) + "\n")

    def do_GET(self):
        self.server.api.handle(self)

    do_PUT = do_POST = do_DELETE = do_OPTIONS = do_HEAD = do_PATCH = do_GET


class ClientServerAPI:
    """The routes and their handlers; hs is the FakeHomeserver."""

    def __init__(self, hs):
        self.hs = hs
        self.model = hs.model
        self.routes = _routes(hs)
        self.server = None
        self._thread = None

    # ---- server lifecycle ------------------------------------------------------

    def listen(self, port):
        self.server = _Server(("127.0.0.1", port), self)
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fakehs-http", daemon=True)
        self._thread.start()
        return self.server.server_address[1]

    def close(self):
        if self.server is None:
            return
        self.server.shutdown()
        self.server.server_close()
        self.server.drop_connections()
        self._thread.join(timeout=5)
        self.server = None

    # ---- request handling --------------------------------------------------------

    def handle(self, h):
        arrived = time.monotonic()
        method = h.command
        parts = urllib.parse.urlsplit(h.path)
        path = parts.path
        query = {k: v[0] for k, v in urllib.parse.parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            raw = self._read_body(h)
        except (ValueError, OSError):
            h.close_connection = True
            return
        ctx = Ctx(method, path, query, h.headers, raw, {})
        record = Request(method, path, {k: v for k, v in query.items() if k != "access_token"}, None, None,
                         0, arrived)
        extra_headers = None
        route = None
        try:
            injected = self.hs.faults.match(method, path)
            if injected.delay:
                time.sleep(injected.delay)
            if injected.error is not None:
                extra_headers = injected.headers
                raise injected.error
            route = self._route(method, path, ctx)
            record.route = route.name
            record.params = dict(ctx.params)
            if route.auth:
                ctx.requester = self.authenticate(ctx)
                record.user_id = ctx.requester.user_id
            ctx.body = self._parse_json(route, raw)
            record.body = ctx.body
            handler = getattr(self, "h_" + route.name)
            if route.locked:
                with self.hs.lock:
                    result = handler(ctx)
            else:
                result = handler(ctx)
        except MatrixError as e:
            result = (e.status, e.body())
            record.errcode = e.errcode
        except Exception as e:  # noqa: BLE001 - a bug in the fake must not hang the client
            if self.hs.debug:
                import traceback
                traceback.print_exc()
            result = (500, {"errcode": "M_UNKNOWN", "error": f"fake homeserver bug: {type(e).__name__}: {e}"})
            record.errcode = "M_UNKNOWN"
        if record.user_id is None and ctx.requester is not None:
            record.user_id = ctx.requester.user_id
        if isinstance(result, Raw):
            record.status = result.status
            record.bytes_sent = self._respond(h, result.status, result.data, result.content_type, result.headers)
        else:
            status, body = result
            record.status = status
            record.response = body
            data = json.dumps(body).encode("utf-8")
            self._respond(h, status, data, "application/json", extra_headers)
        with self.hs.lock:
            self.hs.requests.append(record)
            self.hs.cond.notify_all()

    @staticmethod
    def _read_body(h):
        if "chunked" in h.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(h.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(h.rfile.read(size))
                h.rfile.readline()
        length = int(h.headers.get("Content-Length") or 0)
        return h.rfile.read(length) if length > 0 else b""

    # Bodies are written in pieces of this size, so that a client that hangs
    # up early (a download over its size limit) is seen not to have had it all.
    CHUNK = 64 * 1024

    @classmethod
    def _respond(cls, h, status, data, content_type, headers=None):
        """Sends the answer; returns how many body bytes reached the socket."""
        sent = 0
        try:
            h.send_response(status)
            h.send_header("Content-Type", content_type)
            h.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                h.send_header(name, value)
            h.end_headers()
            if h.command != "HEAD":
                view = memoryview(data)
                while sent < len(data):
                    h.wfile.write(view[sent:sent + cls.CHUNK])
                    sent += len(view[sent:sent + cls.CHUNK])
            h.wfile.flush()
        except OSError:
            h.close_connection = True
        return sent

    def _route(self, method, path, ctx):
        known = False
        for route in self.routes:
            m = route.pattern.fullmatch(path)
            if not m:
                continue
            known = True
            if route.method == method:
                ctx.params = {k: urllib.parse.unquote(v) for k, v in m.groupdict().items() if v is not None}
                return route
        if known:
            raise MatrixError(405, "M_UNRECOGNIZED", "Unrecognized request")
        raise MatrixError(404, "M_UNRECOGNIZED", "Unrecognized request")

    @staticmethod
    def _parse_json(route, raw):
        """Synapse's parse_json_object_from_request: 400 M_NOT_JSON for
        invalid JSON, 400 M_BAD_JSON for JSON that is not an object."""
        if route.json == "no":
            return None
        if route.json == "optional" and not raw.strip():
            return {}
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise MatrixError(400, "M_NOT_JSON", "Content not JSON.")
        if not isinstance(body, dict):
            raise MatrixError(400, "M_BAD_JSON", "Content must be a JSON object.")
        return body

    # ---- authentication ----------------------------------------------------------

    @staticmethod
    def access_token(ctx):
        """The token from the Authorization header or ?access_token=, or None."""
        headers = ctx.headers.get_all("Authorization") or []
        from_query = ctx.query.get("access_token")
        if len(headers) > 1:
            raise MatrixError(401, "M_MISSING_TOKEN", "Too many Authorization headers.")
        if headers:
            if from_query is not None:
                raise MatrixError(401, "M_MISSING_TOKEN",
                                  "Mixing Authorization headers and access_token query parameters.")
            parts = headers[0].split(" ")
            if len(parts) != 2 or parts[0] != "Bearer":
                raise MatrixError(401, "M_MISSING_TOKEN", "Invalid Authorization header.")
            return parts[1]
        return from_query

    def authenticate(self, ctx):
        token = self.access_token(ctx)
        if token is None:
            raise MatrixError(401, "M_MISSING_TOKEN", "Missing access token")
        with self.hs.lock:
            if token == self.hs.as_token:
                return self._as_requester(ctx)
            entry = self.hs.user_tokens.get(token)
            if entry is not None:
                user_id, device_id = entry
                return Requester(user_id, device_id, False, ("token", token))
        raise MatrixError(401, "M_UNKNOWN_TOKEN", "Invalid access token passed.", soft_logout=False)

    def _as_requester(self, ctx):
        model = self.model
        user_id = ctx.query.get("user_id") or model.sender_user
        if user_id != model.sender_user:
            if not model.is_as_user(user_id):
                raise forbidden(f"Application service cannot masquerade as this user ({user_id}).")
            if not model.is_registered(user_id):
                raise forbidden(f"Application service has not registered this user ({user_id})")
        device_id = ctx.query.get("org.matrix.msc3202.device_id")
        if device_id is not None and device_id not in model.users[user_id].devices:
            raise MatrixError(400, "M_EXCLUSIVE", "Application service trying to use a device that doesn't "
                              f"exist ('{device_id}' for {user_id})")
        return Requester(user_id, device_id, True, ("as", user_id))

    def _require_as(self, ctx, token):
        """For /register and /login: the as_token, or 401 as Synapse's
        get_appservice_by_req."""
        if token is None:
            raise MatrixError(401, "M_MISSING_TOKEN", "Missing access token")
        if token != self.hs.as_token:
            raise MatrixError(401, "M_UNKNOWN_TOKEN", "Invalid access token passed.", soft_logout=False)

    # ---- helpers -----------------------------------------------------------------

    def _new_device(self, user_id, device_id=None, display_name=None):
        """A device and an access token for it (login, register without
        inhibit_login)."""
        if device_id is None:
            device_id = ev_mod.new_device_id()
        self.model.create_device(user_id, device_id, display_name)
        token = ev_mod.new_token()
        self.hs.user_tokens[token] = (user_id, device_id)
        return device_id, token

    def _cached(self, ctx, make):
        """Synapse's HttpTransactionCache: the same request path from the
        same requester (for an appservice: the same user) gets the first
        answer again and creates nothing new."""
        key = (ctx.path, ctx.requester.identity)
        if key in self.hs.txn_cache:
            return self.hs.txn_cache[key]
        result = make()
        self.hs.txn_cache[key] = result
        return result

    def _joined_room(self, ctx):
        room = self.model.room(ctx.params["room"])
        if room.membership(ctx.requester.user_id) != "join":
            raise forbidden(f"User {ctx.requester.user_id} not in room {room.room_id}, and room previews "
                            "are disabled")
        return room

    def _query_alias(self, alias):
        """Asks the appservice about an alias in its namespace it does not
        have yet (alias-query.json)."""
        model = self.model
        with self.hs.lock:
            if alias in model.aliases or model.alias_regex is None or not model.alias_regex.match(alias):
                return
        self.hs.alias_query(alias)

    # ---- handlers: server and account ---------------------------------------------

    def h_versions(self, ctx):
        versions = ["r0.0.1", "r0.1.0", "r0.2.0", "r0.3.0", "r0.4.0", "r0.5.0", "r0.6.0", "r0.6.1",
                    "v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8"]
        if self.hs.authenticated_media:
            # Authenticated media came with spec v1.11, after Synapse 1.94.
            versions += ["v1.9", "v1.10", "v1.11"]
        return 200, {"versions": versions, "unstable_features": {}}

    def h_whoami(self, ctx):
        body = {"user_id": ctx.requester.user_id, "is_guest": False}
        if ctx.requester.device_id is not None:
            body["device_id"] = ctx.requester.device_id
        return 200, body

    def h_register(self, ctx):
        """Synapse's RegisterRestServlet for appservices: {"user_id",
        "home_server"} with inhibit_login; M_EXCLUSIVE outside the
        namespace; M_USER_IN_USE when taken (README, "Client-side")."""
        token = self.access_token(ctx)
        body = ctx.body
        if body.get("type") != "m.login.application_service":
            if token is not None:
                raise bad_request("An access token should not be provided on requests to /register "
                                  "(except if type is m.login.application_service)")
            # enable_registration is off by default.
            raise forbidden("Registration has been disabled")
        if token is None:
            raise bad_request("Appservice token must be provided when using a type of m.login.application_service")
        self._require_as(ctx, token)
        username = body.get("username")
        if not isinstance(username, str) or not username:
            raise bad_request("Desired Username is missing or not a string")
        if not LOCALPART_RE.fullmatch(username):
            raise bad_request("User ID can only contain characters a-z, 0-9, or '=_-./+'", "M_INVALID_USERNAME")
        user_id = f"@{username}:{self.hs.domain}"
        with self.hs.lock:
            if not self.model.is_as_user(user_id):
                raise bad_request("Invalid user localpart for this application service.", "M_EXCLUSIVE")
            self.model.register(user_id)
            result = {"user_id": user_id, "home_server": self.hs.domain}
            if not body.get("inhibit_login"):
                device_id, access = self._new_device(user_id, body.get("device_id"),
                                                     body.get("initial_device_display_name"))
                result.update(device_id=device_id, access_token=access)
        ctx.requester = Requester(user_id, None, True, ("as", user_id))
        return 200, result

    def h_login_flows(self, ctx):
        return 200, {"flows": [{"type": "m.login.application_service"}, {"type": "m.login.password"}]}

    def h_login(self, ctx):
        """m.login.application_service: the appservice gets a device and an
        access token for one of its users (the README's bot device)."""
        body = ctx.body
        if body.get("type") != "m.login.application_service":
            raise bad_request("Unknown login type", "M_UNKNOWN")
        self._require_as(ctx, self.access_token(ctx))
        identifier = body.get("identifier") or {}
        user = identifier.get("user") if identifier.get("type") == "m.id.user" else None
        user = user or body.get("user")
        if not isinstance(user, str) or not user:
            raise bad_request("Invalid login submission", "M_INVALID_PARAM")
        user_id = user if user.startswith("@") else f"@{user}:{self.hs.domain}"
        with self.hs.lock:
            if not self.model.is_as_user(user_id):
                raise forbidden("Invalid access_token")
            if not self.model.is_registered(user_id):
                raise forbidden("Invalid username or password")
            device_id, access = self._new_device(user_id, body.get("device_id"),
                                                 body.get("initial_device_display_name"))
        ctx.requester = Requester(user_id, device_id, True, ("as", user_id))
        return 200, {"user_id": user_id, "access_token": access, "home_server": self.hs.domain,
                     "device_id": device_id}

    def h_put_device(self, ctx):
        """Without MSC4190 (Synapse 1.94) an unknown device is 404
        M_NOT_FOUND (README, "Client-side"); an existing one is renamed.
        With msc4190=True an appservice creates the device this way (201)."""
        user = self.model.users[ctx.requester.user_id]
        device_id = ctx.params["device_id"]
        display_name = ctx.body.get("display_name")
        if device_id in user.devices:
            if display_name is not None:
                user.devices[device_id].display_name = display_name
            return 200, {}
        if not (self.hs.msc4190 and ctx.requester.is_as):
            raise not_found("Unknown device")
        self.model.create_device(user.user_id, device_id, display_name)
        return 201, {}

    def h_keys_upload(self, ctx):
        device_id = ctx.params.get("device_id") or ctx.requester.device_id
        if device_id is None:
            raise bad_request("To upload keys, you must pass device_id when authenticating")
        user = self.model.users[ctx.requester.user_id]
        device = user.devices.get(device_id)
        if device is None:
            device, _ = self.model.create_device(user.user_id, device_id)
        for key_id in (ctx.body.get("one_time_keys") or {}):
            algorithm = key_id.split(":")[0]
            device.otk_counts[algorithm] = device.otk_counts.get(algorithm, 0) + 1
        fallback = ctx.body.get("fallback_keys") or ctx.body.get("org.matrix.msc2732.fallback_keys")
        if fallback:
            device.fallback_types = sorted({key_id.split(":")[0] for key_id in fallback})
        if ctx.body.get("device_keys"):
            self.model.device_list_changed(user.user_id)
        return 200, {"one_time_key_counts": dict(device.otk_counts)}

    # ---- handlers: rooms ------------------------------------------------------------

    def h_join(self, ctx):
        target = ctx.params["room"]
        if not target.startswith(("!", "#")):
            raise bad_request(f"{target} was not legal room ID or room alias", "M_UNKNOWN")
        if target.startswith("#"):
            self._query_alias(target)
        with self.hs.lock:
            room = self.model.join(target, ctx.requester.user_id, ctx.body.get("reason"), via=True)
            return 200, {"room_id": room.room_id}

    def h_leave(self, ctx):
        self.model.leave(ctx.params["room"], ctx.requester.user_id, ctx.body.get("reason"), via=True)
        return 200, {}

    def _target(self, ctx):
        target = ctx.body.get("user_id")
        if not isinstance(target, str):
            raise MatrixError(400, "M_MISSING_PARAM", "Missing user_id")
        return target

    def h_invite(self, ctx):
        self.model.invite(ctx.params["room"], ctx.requester.user_id, self._target(ctx),
                          reason=ctx.body.get("reason"), via=True)
        return 200, {}

    def h_kick(self, ctx):
        self.model.kick(ctx.params["room"], ctx.requester.user_id, self._target(ctx), ctx.body.get("reason"),
                        via=True)
        return 200, {}

    def h_ban(self, ctx):
        self.model.ban(ctx.params["room"], ctx.requester.user_id, self._target(ctx), ctx.body.get("reason"),
                       via=True)
        return 200, {}

    def h_send(self, ctx):
        def make():
            ev = self.model.send(ctx.params["room"], ctx.requester.user_id, ctx.params["type"], ctx.body,
                                 via=True)
            return 200, {"event_id": ev.event_id}
        return self._cached(ctx, make)

    def h_put_state(self, ctx):
        ev = self.model.set_state(ctx.params["room"], ctx.requester.user_id, ctx.params["type"],
                                  ctx.params.get("key", ""), ctx.body, via=True)
        return 200, {"event_id": ev.event_id}

    def h_get_state_event(self, ctx):
        room = self._joined_room(ctx)
        ev = room.state.get((ctx.params["type"], ctx.params.get("key", "")))
        if ev is None:
            raise not_found("Event not found.")
        return 200, ev_mod.serialize(ev, room.version)["content"]

    def h_get_state(self, ctx):
        room = self._joined_room(ctx)
        return 200, [ev_mod.serialize(ev, room.version) for ev in room.state.values()]

    def h_joined_members(self, ctx):
        room = self._joined_room(ctx)
        joined = {}
        for user_id in room.members("join"):
            content = room.state[("m.room.member", user_id)].content
            joined[user_id] = {"display_name": content.get("displayname"), "avatar_url": content.get("avatar_url")}
        return 200, {"joined": joined}

    def h_get_event(self, ctx):
        room = self._joined_room(ctx)
        ev = self.model.events.get(ctx.params["event_id"])
        if ev is None or ev.room_id != room.room_id:
            raise not_found(f"Could not find event {ctx.params['event_id']}")
        return 200, ev_mod.serialize(ev, room.version)

    def h_redact(self, ctx):
        def make():
            ev = self.model.redact(ctx.params["room"], ctx.requester.user_id, ctx.params["event_id"],
                                   ctx.body.get("reason"), via=True)
            return 200, {"event_id": ev.event_id}
        return self._cached(ctx, make)

    def h_typing(self, ctx):
        if ctx.params["user"] != ctx.requester.user_id:
            raise forbidden("Cannot set another user's typing state")
        self._joined_room(ctx)
        typing = ctx.body.get("typing")
        if not isinstance(typing, bool):
            raise MatrixError(400, "M_MISSING_PARAM", "Missing 'typing'")
        self.model.set_typing(ctx.params["room"], ctx.requester.user_id, typing)
        return 200, {}

    def h_receipt(self, ctx):
        self._joined_room(ctx)
        self.model.receipt(ctx.params["room"], ctx.params["event_id"], ctx.requester.user_id, ctx.params["rtype"])
        return 200, {}

    def h_joined_rooms(self, ctx):
        user_id = ctx.requester.user_id
        return 200, {"joined_rooms": [r.room_id for r in self.model.rooms.values()
                                      if r.membership(user_id) == "join"]}

    def h_create_room(self, ctx):
        b = ctx.body
        room = self.model.create_room(
            ctx.requester.user_id, name=b.get("name"), topic=b.get("topic"), invite=b.get("invite") or [],
            is_direct=bool(b.get("is_direct")), preset=b.get("preset"), visibility=b.get("visibility", "private"),
            room_version=b.get("room_version", "10"), initial_state=b.get("initial_state") or [],
            creation_content=b.get("creation_content"),
            power_level_content_override=b.get("power_level_content_override"),
            room_alias_name=b.get("room_alias_name"), via_client_api=True)
        return 200, {"room_id": room.room_id}

    # ---- handlers: profiles ------------------------------------------------------------

    def h_get_profile(self, ctx):
        user = self.model.users.get(ctx.params["user"])
        if user is None:
            raise not_found("Profile was not found")
        body = {}
        if user.displayname is not None:
            body["displayname"] = user.displayname
        if user.avatar_url is not None:
            body["avatar_url"] = user.avatar_url
        return 200, body

    def h_get_profile_field(self, ctx):
        status, body = self.h_get_profile(ctx)
        name = ctx.params["field"]
        return status, ({name: body[name]} if name in body else {})

    def h_put_profile_field(self, ctx):
        """Also sends a new member event into every joined room, as Synapse."""
        name = ctx.params["field"]
        if ctx.params["user"] != ctx.requester.user_id:
            raise forbidden(f"Cannot set another user's {name}", status=400)
        if name not in ctx.body:
            raise MatrixError(400, "M_MISSING_PARAM", f"Missing key '{name}'")
        value = ctx.body[name]
        if not isinstance(value, str):
            raise MatrixError(400, "M_INVALID_PARAM", f"{name} must be a string.")
        if name == "displayname" and len(value) > 256:
            raise bad_request("Displayname is too long (max 256)")
        if name == "displayname":
            self.model.set_profile(ctx.requester.user_id, displayname=value)
        else:
            self.model.set_profile(ctx.requester.user_id, avatar_url=value, field_name="avatar_url")
        return 200, {}

    # ---- handlers: directory, to-device ---------------------------------------------------

    def h_get_alias(self, ctx):
        alias = ctx.params["alias"]
        self._query_alias(alias)
        with self.hs.lock:
            room_id = self.model.aliases.get(alias)
            if room_id is None:
                raise not_found(f"Room alias {alias} not found")
            return 200, {"room_id": room_id, "servers": [self.hs.domain]}

    def h_put_alias(self, ctx):
        alias = ctx.params["alias"]
        room_id = ctx.body.get("room_id")
        if not isinstance(room_id, str):
            raise MatrixError(400, "M_MISSING_PARAM", "Missing room_id")
        self.model.room(room_id)
        if alias in self.model.aliases:
            raise MatrixError(409, "M_UNKNOWN", f"Room alias {alias} already exists")
        self.model.aliases[alias] = room_id
        return 200, {}

    def h_delete_alias(self, ctx):
        alias = ctx.params["alias"]
        if self.model.aliases.pop(alias, None) is None:
            raise not_found(f"Room alias {alias} not found")
        return 200, {}

    def h_send_to_device(self, ctx):
        def make():
            messages = ctx.body.get("messages")
            if not isinstance(messages, dict):
                raise MatrixError(400, "M_MISSING_PARAM", "Missing messages")
            for user_id, by_device in messages.items():
                for device_id, content in (by_device or {}).items():
                    msg = {"sender": ctx.requester.user_id, "type": ctx.params["type"], "to_user_id": user_id,
                           "to_device_id": device_id, "content": content}
                    self.model.to_device_sent.append(msg)
                    self.model.to_device(ctx.requester.user_id, user_id, device_id, ctx.params["type"], content)
            return 200, {}
        return self._cached(ctx, make)

    # ---- handlers: ping -----------------------------------------------------------------

    def h_ping(self, ctx):
        """MSC2659 / spec v1.7: the homeserver POSTs
        {"transaction_id": <value or null>} to the appservice (ping.json,
        ping-without-transaction-id.json) and reports how that went."""
        if not ctx.requester.is_as:
            raise forbidden("Only application services can use the /appservice/ping endpoint")
        if ctx.params["as_id"] != self.hs.as_id:
            raise forbidden("Mismatching application service")
        txn_id = ctx.body.get("transaction_id")
        if txn_id is not None and not isinstance(txn_id, str):
            raise MatrixError(400, "M_BAD_JSON", "transaction_id must be a string")
        client = ASClient(self.hs.as_url, self.hs.hs_token, timeout=self.hs.ping_timeout)
        start = time.monotonic()
        try:
            resp = client.request("POST", "/_matrix/app/v1/ping", body={"transaction_id": txn_id})
        except TimeoutError:
            raise MatrixError(504, "M_CONNECTION_TIMEOUT", "Request timed out")
        except Exception:  # noqa: BLE001 - any failure to talk is "connection failed"
            raise MatrixError(502, "M_CONNECTION_FAILED", "Connection failed")
        duration_ms = int((time.monotonic() - start) * 1000)
        if not 200 <= resp.status < 300:
            extra = {"status": resp.status}
            try:
                extra["body"] = resp.data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            raise MatrixError(502, "M_BAD_STATUS", f"HTTP {resp.status}", **extra)
        return 200, {"duration_ms": duration_ms}

    # ---- handlers: media ----------------------------------------------------------------

    def h_upload(self, ctx):
        if len(ctx.raw) > MAX_UPLOAD:
            raise MatrixError(413, "M_TOO_LARGE", "Upload request body is too large")
        media_id = ev_mod.new_media_id()
        content_type = ctx.headers.get("Content-Type") or "application/octet-stream"
        self.model.media[media_id] = (bytes(ctx.raw), content_type, ctx.query.get("filename"))
        return 200, {"content_uri": f"mxc://{self.hs.domain}/{media_id}"}

    def h_media_config(self, ctx):
        return 200, {"m.upload.size": MAX_UPLOAD}

    def h_download(self, ctx):
        if ctx.params["server"] != self.hs.domain:
            raise not_found("Not found")  # no federation here
        item = self.model.media.get(ctx.params["media_id"])
        if item is None:
            raise not_found("Not found")
        data, content_type, filename = item
        filename = ctx.params.get("filename") or filename
        headers = {}
        if filename:
            headers["Content-Disposition"] = "attachment; filename*=utf-8''" + quote_segment(filename)
        return Raw(200, data, content_type, headers)

    h_download_legacy = h_download
