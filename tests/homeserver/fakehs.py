"""FakeHomeserver: a stand-in for Synapse 1.94 as warroom sees it.

It is three things wired around one lock:

  - a client-server API on 127.0.0.1 (csapi.py) serving the endpoints an
    appservice calls: register, login, join/leave, send, state, redact,
    createRoom, profile, ping, media ...;
  - a room/event model (model.py) that decides, as Synapse does, what the
    appservice is told;
  - a transaction pusher thread (pusher.py) that PUTs transactions to the
    appservice with Synapse's batching, retry schedule and retry bodies.

Tests drive "other users" (alice, bob) through the Python methods below,
which act directly on the model as a client of that user would, and look at
what warroom did through the records (requests, sent_events, transactions)
and the misbehaviour switches (fail, rate_limit, delay, refuse_connections).

Typical use:

    hs = FakeHomeserver.from_registration("registration.yaml", retry_scale=0.05)
    hs.start()
    room = hs.create_room("@alice:localhost", name="INC-42", invite=["@soc_dns:localhost"])
    ...
    hs.wait_for(lambda: hs.sent_events(room_id=room), what="a reply from the bot")
    hs.stop()

Everything here is thread-safe: each method takes FakeHomeserver.lock.
Actions that Synapse would refuse raise MatrixError.
"""

import copy
import os
import threading
import time

from . import events as ev_mod
from .asclient import ASClient, quote_segment
from .csapi import ClientServerAPI
from .errors import MatrixError
from .faults import Faults
from .model import Model
from .pusher import Pusher
from .registration import read_registration


class WaitTimeout(AssertionError):
    """wait_for() or wait_idle() gave up."""


class FakeHomeserver:
    """A fake Synapse 1.94 homeserver for one appservice."""

    def __init__(self, *, as_url, as_token, hs_token, domain="localhost", as_id="warroom",
                 sender_localpart="warroom", user_regex=r"@soc_.*:localhost", alias_regex=None,
                 retry_scale=1.0, msc4190=False, authenticated_media=True, stable_names=False,
                 stable_ephemeral=True, port=0, ping_timeout=10.0, txn_timeout=60.0, query_timeout=10.0,
                 debug=None):
        """as_url, as_token, hs_token, as_id, sender_localpart, user_regex
        and alias_regex come from the registration.  retry_scale multiplies
        Synapse's retry delays (2 s, 4 s ... 512 s).  msc4190: PUT
        /devices/{id} creates devices (else 404 M_NOT_FOUND, as 1.94).
        authenticated_media: serve /_matrix/client/v1/media/download (else
        404 M_UNRECOGNIZED, as an old server).  stable_names: False sends
        only the unstable MSC2409/MSC3202 field names (as the fixtures), True
        both, "only" just the stable ones.  stable_ephemeral: also send the
        stable "ephemeral" key (the fixtures' patched Synapse does; stock
        1.94 does not).  port: 0 for an ephemeral port."""
        self.domain = domain
        self.as_url = as_url.rstrip("/")
        self.as_token = as_token
        self.hs_token = hs_token
        self.as_id = as_id
        self.sender_user = f"@{sender_localpart}:{domain}"
        self.msc4190 = msc4190
        self.authenticated_media = authenticated_media
        self.ping_timeout = ping_timeout
        self.query_timeout = query_timeout
        self.debug = bool(os.environ.get("FAKEHS_DEBUG")) if debug is None else debug

        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.model = Model(domain, self.sender_user, user_regex, alias_regex)
        self.pusher = Pusher(self.cond, self.model, self.as_url, hs_token, retry_scale=retry_scale,
                             stable_names=stable_names, stable_ephemeral=stable_ephemeral,
                             txn_timeout=txn_timeout, query_timeout=query_timeout)
        self.model.sink = self.pusher
        self.faults = Faults()
        self.requests = []        # csapi.Request, in arrival order
        self.user_tokens = {}     # access token -> (user_id, device_id)
        self.txn_cache = {}       # (path, requester identity) -> (status, body)
        self.api = ClientServerAPI(self)
        self.port = port
        self._started = False

    @classmethod
    def from_registration(cls, path, **kw):
        """A FakeHomeserver for the appservice described by a registration
        file (as `warroom -g` writes it).  Keyword arguments override what
        the file says (as_url=... when the file's url is not reachable)."""
        reg = read_registration(path)
        args = {
            "as_url": reg.get("url"),
            "as_token": reg.get("as_token"),
            "hs_token": reg.get("hs_token"),
            "as_id": reg.get("id"),
            "sender_localpart": reg.get("sender_localpart"),
            "user_regex": reg.get("user_regex") or r"(?!)",
            "alias_regex": reg.get("alias_regex"),
        }
        args.update(kw)
        missing = [k for k in ("as_url", "as_token", "hs_token", "as_id", "sender_localpart") if not args.get(k)]
        if missing:
            raise ValueError(f"{path}: missing {', '.join(missing)}")
        return cls(**args)

    # ---- lifecycle ---------------------------------------------------------------

    @property
    def url(self):
        """The client-server base URL, http://127.0.0.1:PORT."""
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        """Listens on 127.0.0.1 and starts pushing transactions."""
        self.port = self.api.listen(self.port)
        self.pusher.start()
        self._started = True
        return self

    def stop(self):
        """Stops pushing and listening.  Queued transactions are abandoned."""
        if not self._started:
            return
        self._started = False
        self.pusher.stop()
        self.api.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def refuse_connections(self, refuse=True):
        """True: stop listening (connections are refused) and cut the open
        ones.  False: listen again on the same port."""
        if refuse:
            self.api.close()
        elif self.api.server is None:
            self.api.listen(self.port)

    # ---- users and devices -----------------------------------------------------------

    def register_user(self, user_id, displayname=None):
        """Creates a user as if the appservice had registered it."""
        with self.lock:
            self.model.register(user_id, displayname)

    def set_displayname(self, user_id, displayname):
        """Like PUT /profile/{userId}/displayname: new member events in every joined room."""
        with self.lock:
            self.model.actor(user_id)
            self.model.set_profile(user_id, displayname=displayname)

    def add_device(self, user_id, device_id):
        """Gives a user a device (a device-list change the appservice may hear about)."""
        with self.lock:
            self.model.actor(user_id)
            self.model.create_device(user_id, device_id)

    def set_otk_count(self, user_id, device_id, n, algorithm="signed_curve25519"):
        """Sets a device's one-time key count (creating the device if needed)."""
        with self.lock:
            self.model.actor(user_id)
            dev, _ = self.model.create_device(user_id, device_id)
            dev.otk_counts[algorithm] = n

    def set_fallback_key_types(self, user_id, device_id, types):
        """Sets the algorithms of a device's unused fallback keys."""
        with self.lock:
            self.model.actor(user_id)
            dev, _ = self.model.create_device(user_id, device_id)
            dev.fallback_types = list(types)

    def device_list_changed(self, user_id):
        """A device-list change of user_id, as when they log in on a new device."""
        with self.lock:
            self.model.device_list_changed(user_id)

    # ---- rooms and events (test side, acting as a client of `sender`) -------------------

    def create_room(self, creator, name=None, topic=None, encrypted=False, is_direct=False, invite=(),
                    room_version="10", preset=None, public=False, alias=None, creation_content=None):
        """createRoom as `creator`; returns the room ID."""
        initial_state = []
        if encrypted:
            initial_state.append({"type": "m.room.encryption", "state_key": "",
                                  "content": {"algorithm": "m.megolm.v1.aes-sha2"}})
        if preset is None:
            preset = "public_chat" if public else ("trusted_private_chat" if is_direct else "private_chat")
        with self.lock:
            room = self.model.create_room(creator, name=name, topic=topic, invite=invite, is_direct=is_direct,
                                          preset=preset, room_version=room_version, initial_state=initial_state,
                                          creation_content=creation_content, room_alias_name=alias)
            return room.room_id

    def invite(self, room_id, sender, target, is_direct=False, reason=None):
        """sender invites target; returns the invite's event ID."""
        with self.lock:
            return self.model.invite(room_id, sender, target, is_direct=is_direct, reason=reason).event_id

    def join(self, room_id, user_id):
        """user_id joins (needs an invite or a public room)."""
        with self.lock:
            self.model.join(room_id, user_id)

    def leave(self, room_id, user_id, reason=None):
        """user_id leaves, or rejects an invite."""
        with self.lock:
            self.model.leave(room_id, user_id, reason)

    def kick(self, room_id, sender, target, reason=None):
        """sender kicks target (a leave with sender != state_key)."""
        with self.lock:
            self.model.kick(room_id, sender, target, reason)

    def ban(self, room_id, sender, target, reason=None):
        """sender bans target."""
        with self.lock:
            self.model.ban(room_id, sender, target, reason)

    def send_event(self, room_id, sender, type, content, state_key=None):
        """Any event; a state event if state_key is not None.  Returns its ID."""
        with self.lock:
            self.model.actor(sender)
            if state_key is not None:
                return self.model.set_state(room_id, sender, type, state_key, content).event_id
            return self.model.send(room_id, sender, type, content).event_id

    def send_message(self, room_id, sender, body, msgtype="m.text", formatted_body=None, relates_to=None,
                     extra_content=None):
        """An m.room.message; formatted_body adds format
        org.matrix.custom.html (txn-message-html.json)."""
        content = {"body": body, "msgtype": msgtype}
        if formatted_body is not None:
            content["format"] = "org.matrix.custom.html"
            content["formatted_body"] = formatted_body
        if relates_to is not None:
            content["m.relates_to"] = copy.deepcopy(relates_to)
        if extra_content:
            content.update(copy.deepcopy(extra_content))
        return self.send_event(room_id, sender, "m.room.message", content)

    @staticmethod
    def reply_to(event_id):
        """m.relates_to of a plain reply (txn-reply.json)."""
        return {"m.in_reply_to": {"event_id": event_id}}

    @staticmethod
    def in_thread(root_id, latest_id=None):
        """m.relates_to of a thread message with its fallback (txn-thread.json)."""
        return {"event_id": root_id, "is_falling_back": True,
                "m.in_reply_to": {"event_id": latest_id or root_id}, "rel_type": "m.thread"}

    def edit(self, room_id, sender, event_id, new_body, msgtype="m.text", formatted_body=None):
        """An m.replace edit with m.new_content and the " * " fallback (txn-edit.json)."""
        new_content = {"body": new_body, "msgtype": msgtype}
        content = {"body": " * " + new_body, "msgtype": msgtype}
        if formatted_body is not None:
            new_content.update(format="org.matrix.custom.html", formatted_body=formatted_body)
            content.update(format="org.matrix.custom.html", formatted_body=" * " + formatted_body)
        content["m.new_content"] = new_content
        content["m.relates_to"] = {"event_id": event_id, "rel_type": "m.replace"}
        return self.send_event(room_id, sender, "m.room.message", content)

    def react(self, room_id, sender, event_id, key):
        """An m.reaction annotation (txn-reaction.json)."""
        return self.send_event(room_id, sender, "m.reaction",
                               {"m.relates_to": {"event_id": event_id, "key": key, "rel_type": "m.annotation"}})

    def redact(self, room_id, sender, event_id, reason=None):
        """sender redacts event_id; returns the redaction's event ID."""
        with self.lock:
            return self.model.redact(room_id, sender, event_id, reason).event_id

    def upload(self, data, content_type="application/octet-stream", filename=None):
        """Stores media as POST /upload would; returns the mxc:// URI."""
        media_id = ev_mod.new_media_id()
        with self.lock:
            self.model.media[media_id] = (bytes(data), content_type, filename)
        return f"mxc://{self.domain}/{media_id}"

    def media(self, mxc):
        """(bytes, content_type, filename) of uploaded media, or None."""
        media_id = mxc.rsplit("/", 1)[-1]
        with self.lock:
            return self.model.media.get(media_id)

    def send_file(self, room_id, sender, data, filename, mimetype="application/octet-stream", msgtype="m.file",
                  info=None):
        """Uploads data and sends an m.file (or m.image ...) pointing at it (txn-file.json)."""
        url = self.upload(data, mimetype, filename)
        content_info = {"mimetype": mimetype, "size": len(data)}
        content_info.update(info or {})
        content = {"body": filename, "filename": filename, "info": content_info, "msgtype": msgtype, "url": url}
        return self.send_event(room_id, sender, "m.room.message", content)

    # ---- ephemeral and to-device ------------------------------------------------------------

    def typing(self, room_id, user_ids):
        """m.typing with exactly these users typing in the room."""
        with self.lock:
            self.model.typing(room_id, user_ids)

    def receipt(self, room_id, event_id, user_id, receipt_type="m.read"):
        """A read receipt (m.read, m.read.private ...) of user_id on event_id."""
        with self.lock:
            self.model.receipt(room_id, event_id, user_id, receipt_type)

    def presence(self, user_id, presence, status_msg=None):
        """An m.presence update ("online", "unavailable", "offline")."""
        with self.lock:
            self.model.presence(user_id, presence, status_msg)

    def to_device(self, sender, to_user, to_device, type, content):
        """A to-device message; to_device "*" means every device of to_user."""
        with self.lock:
            self.model.to_device(sender, to_user, to_device, type, content)

    # ---- requests to the appservice made on a test's behalf -----------------------------------

    def _as_get(self, path, query=None):
        client = ASClient(self.as_url, self.hs_token, timeout=self.query_timeout)
        try:
            resp = client.request("GET", path, query=query)
        except Exception as e:  # noqa: BLE001 - reported to the test
            return None, f"{type(e).__name__}: {e}"
        return resp.status, resp.json_or_text()

    def alias_query(self, alias):
        """GET /_matrix/app/v1/rooms/{alias}, "#" and ":" encoded (alias-query.json)."""
        return self._as_get("/_matrix/app/v1/rooms/" + quote_segment(alias))

    def user_query(self, user_id):
        """GET /_matrix/app/v1/users/{userId}, "@" and ":" encoded (user-query.json)."""
        return self._as_get("/_matrix/app/v1/users/" + quote_segment(user_id))

    def thirdparty(self, kind, protocol, query=None):
        """GET /_matrix/app/v1/thirdparty/{kind}/{protocol}[?fields]; kind is
        "protocol", "user" or "location" (thirdparty-*.json)."""
        return self._as_get(f"/_matrix/app/v1/thirdparty/{kind}/{quote_segment(protocol)}", query or None)

    # ---- the transaction pusher ------------------------------------------------------------------

    @property
    def transactions(self):
        """Every transaction attempt (pusher.TxnAttempt), in order."""
        with self.lock:
            return list(self.pusher.attempts)

    def delivered_events(self):
        """The events of every acknowledged transaction, in order (a
        transaction retried after a failure counts once)."""
        with self.lock:
            return [e for a in self.pusher.attempts if a.ok for e in a.body["events"]]

    def pause_pushing(self):
        """Holds every transaction (new and retried) until resume_pushing()."""
        with self.lock:
            self.pusher.paused = True

    def resume_pushing(self):
        """Lets the pusher go on with whatever queued up."""
        with self.lock:
            self.pusher.paused = False
            self.cond.notify_all()

    def reset_txn_ids(self):
        """The next transaction ID is 1 again, as after Synapse's SQLite
        database was recreated."""
        with self.lock:
            self.pusher.next_txn_id = 1

    def push_raw(self, txn_id, body, headers=None, timeout=None):
        """Sends one arbitrary transaction body (bytes, or an object sent as
        canonical JSON), outside the queue.  Returns (status, answer)."""
        return self.pusher.push_raw(txn_id, body, headers=headers, timeout=timeout)

    def wait_idle(self, timeout=10):
        """Waits until everything queued was acknowledged by the appservice."""
        with self.cond:
            if not self.cond.wait_for(self.pusher.idle_locked, timeout):
                raise WaitTimeout(f"transactions not acknowledged within {timeout} s: "
                                  f"{self.pusher.describe_locked()}")

    # ---- misbehaviour --------------------------------------------------------------------------------

    def fail(self, path_regex, status=500, count=1, errcode="M_UNKNOWN", method=None):
        """The next `count` requests whose path matches get that error."""
        return self.faults.fail(path_regex, status, count, errcode, method)

    def rate_limit(self, path_regex, count=1, retry_after_ms=500, header=False, method=None):
        """The next `count` matching requests get 429 M_LIMIT_EXCEEDED, with
        retry_after_ms in the body, or a Retry-After header if header=True."""
        return self.faults.rate_limit(path_regex, count, retry_after_ms, header, method)

    def delay(self, path_regex, seconds, count=None, method=None):
        """Matching requests are answered `seconds` late (count None: all)."""
        return self.faults.delay(path_regex, seconds, count, method)

    def clear_faults(self):
        """Removes every fail/rate_limit/delay rule."""
        self.faults.clear()

    # ---- records -------------------------------------------------------------------------------------

    def requests_for(self, route=None, method=None, user_id=None):
        """Recorded client-server requests, filtered by route name
        ("send", "join", "register" ...), method or acting user."""
        with self.lock:
            return [r for r in self.requests
                    if (route is None or r.route == route) and (method is None or r.method == method)
                    and (user_id is None or r.user_id == user_id)]

    def sent_events(self, room_id=None, sender=None, type=None):
        """Non-state events appservice users created through the client API
        (send, redact), as the appservice would receive them."""
        with self.lock:
            out = []
            for ev in self.model.client_events:
                if ev.is_state() or (room_id and ev.room_id != room_id) or (sender and ev.sender != sender) \
                        or (type and ev.type != type):
                    continue
                out.append(ev_mod.serialize(ev, self.model.rooms[ev.room_id].version))
            return out

    def room_timeline(self, room_id):
        """Every event of the room, in order."""
        with self.lock:
            room = self.model.room(room_id)
            return [ev_mod.serialize(ev, room.version) for ev in room.timeline]

    def room_state(self, room_id, type, state_key=""):
        """The content of a current state event, or None."""
        with self.lock:
            ev = self.model.room(room_id).state.get((type, state_key))
            return copy.deepcopy(ev.content) if ev else None

    def members(self, room_id):
        """{user_id: membership} for everyone with a membership in the room."""
        with self.lock:
            room = self.model.room(room_id)
            return {k: ev.content.get("membership") for (t, k), ev in room.state.items() if t == "m.room.member"}

    def wait_for(self, predicate, timeout=10, interval=0.02, what=None):
        """Calls predicate() until it returns something true, and returns
        that.  Raises WaitTimeout naming `what` after `timeout` seconds.
        The predicate runs without the lock, so it may talk to warroom."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                name = what or getattr(predicate, "__doc__", None) or getattr(predicate, "__name__", "condition")
                raise WaitTimeout(f"timed out after {timeout} s waiting for {name}")
            time.sleep(interval)


__all__ = ["FakeHomeserver", "MatrixError", "WaitTimeout"]
