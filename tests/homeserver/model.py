"""The fake homeserver's world: users, devices, rooms, events, media.

Model holds everything the client-server API and the test-side helpers act
on, and decides, as Synapse does, which events, ephemeral events, to-device
messages and device-list changes the appservice hears about.  Whatever it
decides to deliver goes to a sink (the transaction pusher).

Every method expects the caller to hold the homeserver lock (FakeHomeserver
.lock); nothing here blocks or does I/O.  Failures raise MatrixError with
the status, errcode and wording Synapse uses.

Simplifications, on purpose: power levels are not enforced (any joined
member may send, set state, invite, kick and ban), there is no federation,
history visibility is ignored, and room versions only change the create
event and redaction rules.
"""

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Optional

from . import events as ev_mod
from .errors import MatrixError, bad_request, forbidden, not_found
from .events import Event

SUPPORTED_ROOM_VERSIONS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11")

# Synapse's default power levels for a new room (txn-room-create-by-appservice-user.json).
DEFAULT_POWER_LEVELS = {
    "ban": 50,
    "events": {
        "m.room.avatar": 50,
        "m.room.canonical_alias": 50,
        "m.room.encryption": 100,
        "m.room.history_visibility": 100,
        "m.room.name": 50,
        "m.room.power_levels": 100,
        "m.room.server_acl": 100,
        "m.room.tombstone": 100,
    },
    "events_default": 0,
    "historical": 100,
    "invite": 0,
    "kick": 50,
    "redact": 50,
    "state_default": 50,
    "users_default": 0,
}

# What Synapse 1.94 caps an event at (the whole event, here only the
# content is measured, which is close enough for a test).
MAX_EVENT_BYTES = 65536


@dataclass
class Device:
    device_id: str
    display_name: Optional[str] = None
    # One-time key counts by algorithm; Synapse always reports
    # signed_curve25519, 0 when none were uploaded.
    otk_counts: dict = field(default_factory=lambda: {"signed_curve25519": 0})
    # Algorithms of the unused fallback keys.
    fallback_types: list = field(default_factory=list)


@dataclass
class User:
    user_id: str
    displayname: Optional[str] = None
    avatar_url: Optional[str] = None
    devices: dict = field(default_factory=dict)


@dataclass
class Room:
    room_id: str
    version: str
    state: dict = field(default_factory=dict)  # (type, state_key) -> Event
    timeline: list = field(default_factory=list)

    def membership(self, user_id):
        """The user's membership ("join", "invite", "leave", "ban") or None."""
        ev = self.state.get(("m.room.member", user_id))
        return ev.content.get("membership") if ev else None

    def members(self, membership="join"):
        """User IDs with that membership."""
        return [k for (t, k), ev in self.state.items()
                if t == "m.room.member" and ev.content.get("membership") == membership]

    def join_rule(self):
        """The join rule; "invite" if the room has none."""
        ev = self.state.get(("m.room.join_rules", ""))
        return ev.content.get("join_rule") if ev else "invite"


class Model:
    """The homeserver's state.  sink receives what the appservice is owed:
    sink.event(ev), sink.ephemeral(edu), sink.to_device(msg),
    sink.device_list_changed(user_id)."""

    def __init__(self, domain, sender_user, user_regex, alias_regex=None, sink=None):
        self.domain = domain
        self.sender_user = sender_user
        self.user_regex = re.compile(user_regex)
        self.alias_regex = re.compile(alias_regex) if alias_regex else None
        self.sink = sink
        self.users = {}          # user_id -> User (registered or known test users)
        self.rooms = {}          # room_id -> Room
        self.events = {}         # event_id -> Event
        self.aliases = {}        # "#alias:domain" -> room_id
        self.media = {}          # media_id -> (bytes, content_type, filename)
        self.stream = 0
        self.client_events = []  # events appservice users created through the client API
        self.to_device_sent = []  # to-device messages sent through the client API
        self.typing_users = {}    # room_id -> user IDs typing now
        self.register(sender_user, displayname=sender_user[1:].split(":")[0])

    # ---- users ---------------------------------------------------------

    def is_as_user(self, user_id):
        """True for the appservice's own users: its sender and its user
        namespace.  Synapse matches namespace regexes with re.match, i.e.
        anchored at the start only."""
        return user_id == self.sender_user or bool(self.user_regex.match(user_id))

    def is_registered(self, user_id):
        """True if the homeserver knows the user."""
        return user_id in self.users

    def register(self, user_id, displayname=None):
        """Creates the user; Synapse sets the display name to the localpart
        (create_profile_with_displayname).  Raises M_USER_IN_USE if taken."""
        if user_id in self.users:
            raise MatrixError(400, "M_USER_IN_USE", "User ID already taken.")
        if displayname is None:
            displayname = user_id[1:].split(":")[0]
        user = User(user_id, displayname=displayname)
        self.users[user_id] = user
        return user

    def actor(self, user_id):
        """The user acting in a test-side helper.  Ordinary users (@alice)
        spring into existence on first use; appservice users must have been
        registered, as they must be for the appservice to act as them."""
        user = self.users.get(user_id)
        if user is None:
            if self.is_as_user(user_id):
                raise forbidden(f"Application service has not registered this user ({user_id})")
            user = self.register(user_id)
        return user

    def displayname(self, user_id):
        """The user's display name, or None."""
        user = self.users.get(user_id)
        return user.displayname if user else None

    def create_device(self, user_id, device_id, display_name=None):
        """Returns (device, created).  A new device changes the user's
        device list (txn-device-lists-appservice-user.json)."""
        user = self.users[user_id]
        dev = user.devices.get(device_id)
        if dev is not None:
            if display_name is not None:
                dev.display_name = display_name
            return dev, False
        dev = Device(device_id, display_name=display_name)
        user.devices[device_id] = dev
        self.device_list_changed(user_id)
        return dev, True

    def set_profile(self, user_id, displayname=None, avatar_url=None, field_name="displayname"):
        """Sets one profile field and, as Synapse does, sends a new
        m.room.member join event into every room the user has joined."""
        user = self.users.get(user_id)
        if user is None:
            raise not_found("Profile was not found")
        if field_name == "displayname":
            user.displayname = displayname
        else:
            user.avatar_url = avatar_url
        for room in list(self.rooms.values()):
            if room.membership(user_id) == "join":
                self._create(room, user_id, "m.room.member", self._member_content(user_id, "join"),
                             state_key=user_id)

    # ---- rooms ---------------------------------------------------------

    def room(self, room_id):
        """The Room, or 404 M_NOT_FOUND."""
        room = self.rooms.get(room_id)
        if room is None:
            raise not_found("Unknown room")
        return room

    def resolve_room(self, room_id_or_alias):
        """A room ID, or the room an alias points to, or 404."""
        if room_id_or_alias.startswith("#"):
            room_id = self.aliases.get(room_id_or_alias)
            if room_id is None:
                raise not_found(f"Room alias {room_id_or_alias} not found")
            return self.room(room_id)
        return self.room(room_id_or_alias)

    def create_room(self, creator, name=None, topic=None, invite=(), is_direct=False, preset=None,
                    visibility="private", room_version="10", initial_state=(), creation_content=None,
                    power_level_content_override=None, room_alias_name=None, via_client_api=False):
        """createRoom: the creation sequence Synapse produces, in its order
        (txn-room-create-by-appservice-user.json): create, the creator's
        join, power_levels, [canonical_alias], join_rules,
        history_visibility, [guest_access], initial_state, name, topic, then
        one invite per invitee.  Returns the Room."""
        self.actor(creator)
        room_version = str(room_version)
        if room_version not in SUPPORTED_ROOM_VERSIONS:
            raise bad_request(f"Your homeserver does not support the features required to interact "
                              f"with this room (version {room_version})", "M_UNSUPPORTED_ROOM_VERSION")
        if preset is None:
            preset = "public_chat" if visibility == "public" else "private_chat"
        if preset not in ("private_chat", "public_chat", "trusted_private_chat"):
            raise bad_request(f"Unknown preset {preset}", "M_INVALID_PARAM")
        invite = list(invite or ())
        for target in invite:
            if not isinstance(target, str) or not target.startswith("@") or ":" not in target:
                raise bad_request(f"Invalid user_id: {target!r}", "M_INVALID_PARAM")
        alias = None
        if room_alias_name is not None:
            alias = f"#{room_alias_name}:{self.domain}"
            if alias in self.aliases:
                raise bad_request("Room alias already taken", "M_ROOM_IN_USE")

        room = Room(ev_mod.new_room_id(self.domain), room_version)
        self.rooms[room.room_id] = room
        via = via_client_api

        create = {"room_version": room_version}
        if room_version != "11":
            create["creator"] = creator
        create.update(copy.deepcopy(creation_content or {}))
        self._create(room, creator, "m.room.create", create, state_key="", via=via)
        self._create(room, creator, "m.room.member", self._member_content(creator, "join"),
                     state_key=creator, via=via)

        power = copy.deepcopy(DEFAULT_POWER_LEVELS)
        power["users"] = {creator: 100}
        if preset == "trusted_private_chat":
            for target in invite:
                power["users"][target] = 100
        power.update(copy.deepcopy(power_level_content_override or {}))
        self._create(room, creator, "m.room.power_levels", power, state_key="", via=via)
        if alias is not None:
            self.aliases[alias] = room.room_id
            self._create(room, creator, "m.room.canonical_alias", {"alias": alias}, state_key="", via=via)
        self._create(room, creator, "m.room.join_rules",
                     {"join_rule": "public" if preset == "public_chat" else "invite"}, state_key="", via=via)
        self._create(room, creator, "m.room.history_visibility", {"history_visibility": "shared"},
                     state_key="", via=via)
        if preset != "public_chat":
            self._create(room, creator, "m.room.guest_access", {"guest_access": "can_join"},
                         state_key="", via=via)
        for item in initial_state or ():
            self._create(room, creator, item["type"], copy.deepcopy(item.get("content", {})),
                         state_key=item.get("state_key", ""), via=via)
        if name is not None:
            self._create(room, creator, "m.room.name", {"name": name}, state_key="", via=via)
        if topic is not None:
            self._create(room, creator, "m.room.topic", {"topic": topic}, state_key="", via=via)
        for target in invite:
            self.invite(room.room_id, creator, target, is_direct=is_direct, via=via)
        return room

    def _member_content(self, user_id, membership, reason=None, is_direct=False):
        """Synapse adds the target's profile to join and invite events."""
        content = {"membership": membership}
        if membership in ("join", "invite"):
            user = self.users.get(user_id)
            if user is not None:
                if user.displayname is not None:
                    content["displayname"] = user.displayname
                if user.avatar_url is not None:
                    content["avatar_url"] = user.avatar_url
        if is_direct:
            content["is_direct"] = True
        if reason is not None:
            content["reason"] = reason
        return content

    def _require_joined(self, room, user_id):
        if room.membership(user_id) != "join":
            raise forbidden(f"User {user_id} not in room {room.room_id}")

    def invite(self, room_id, sender, target, is_direct=False, reason=None, via=False):
        """An invite, with the stripped room state the invitee sees
        (txn-invite.json), and content.is_direct for DMs (txn-invite-direct.json)."""
        room = self.room(room_id)
        self.actor(sender)
        self._require_joined(room, sender)
        current = room.membership(target)
        if current == "join":
            raise forbidden(f"{target} is already in the room.")
        if current == "ban":
            raise forbidden(f"{target} is banned from the room")
        if not self.is_as_user(target) and target not in self.users:
            # Ordinary test users exist from the start; their invites carry
            # their display name, as Synapse adds the target's profile.
            self.register(target)
        stripped = [ev_mod.stripped(room.state[(t, "")]) for t in ev_mod.STRIPPED_STATE_TYPES
                    if (t, "") in room.state]
        stripped.append(ev_mod.stripped(room.state[("m.room.member", sender)]))
        ev = self._create(room, sender, "m.room.member",
                          self._member_content(target, "invite", reason, is_direct),
                          state_key=target, via=via, invite_room_state=stripped)
        return ev

    def join(self, room_id_or_alias, user_id, reason=None, via=False):
        """Joins if invited or if the room is public; returns the Room.
        Joining again with nothing changed creates no event (Synapse treats
        it as a no-op)."""
        room = self.resolve_room(room_id_or_alias)
        self.actor(user_id)
        current = room.membership(user_id)
        if current == "ban":
            raise forbidden("You are banned from this room")
        if current not in ("join", "invite") and room.join_rule() != "public":
            raise forbidden("You are not invited to this room.")
        content = self._member_content(user_id, "join", reason)
        if current == "join" and room.state[("m.room.member", user_id)].content == content:
            return room
        self._create(room, user_id, "m.room.member", content, state_key=user_id, via=via)
        return room

    def leave(self, room_id, user_id, reason=None, via=False):
        """Leaves a room, or rejects an invite (txn-member-leave.json)."""
        room = self.room(room_id)
        if room.membership(user_id) not in ("join", "invite"):
            raise forbidden(f"User {user_id} not in room {room_id}")
        self._create(room, user_id, "m.room.member", self._member_content(user_id, "leave", reason),
                     state_key=user_id, via=via)

    def kick(self, room_id, sender, target, reason=None, via=False):
        """A leave with sender != state_key (txn-member-kick.json)."""
        room = self.room(room_id)
        self.actor(sender)
        self._require_joined(room, sender)
        if room.membership(target) not in ("join", "invite"):
            raise forbidden(f"{target} is not in the room")
        self._create(room, sender, "m.room.member", self._member_content(target, "leave", reason),
                     state_key=target, via=via)

    def ban(self, room_id, sender, target, reason=None, via=False):
        """membership ban, prev_content the old membership (txn-member-ban.json)."""
        room = self.room(room_id)
        self.actor(sender)
        self._require_joined(room, sender)
        self._create(room, sender, "m.room.member", self._member_content(target, "ban", reason),
                     state_key=target, via=via)

    def send(self, room_id, sender, type_, content, via=False):
        """A message-like event; the sender must be joined."""
        room = self.room(room_id)
        self._require_joined(room, sender)
        self._check_size(content)
        return self._create(room, sender, type_, copy.deepcopy(content), via=via)

    def set_state(self, room_id, sender, type_, state_key, content, via=False):
        """A state event.  As Synapse does, setting the same content again
        by the same sender returns the current event without a new one."""
        room = self.room(room_id)
        self._require_joined(room, sender)
        self._check_size(content)
        current = room.state.get((type_, state_key))
        if current is not None and current.sender == sender and current.content == content:
            return current
        return self._create(room, sender, type_, copy.deepcopy(content), state_key=state_key, via=via)

    def redact(self, room_id, sender, event_id, reason=None, via=False):
        """m.room.redaction with redacts at the top level and in content, in
        every room version (txn-redaction.json, txn-redaction-room-v11.json).
        The target's content is pruned from then on."""
        room = self.room(room_id)
        self._require_joined(room, sender)
        content = {"redacts": event_id}
        if reason is not None:
            content["reason"] = reason
        ev = self._create(room, sender, "m.room.redaction", content, redacts=event_id, via=via)
        target = self.events.get(event_id)
        if target is not None and target.room_id == room_id and target.redacted_by is None:
            target.redacted_by = ev
        return ev

    def _check_size(self, content):
        if len(json.dumps(content).encode()) > MAX_EVENT_BYTES:
            raise MatrixError(413, "M_TOO_LARGE", "event too large")

    def _create(self, room, sender, type_, content, state_key=None, redacts=None, via=False,
                invite_room_state=None):
        """Stores a new event, updates the room state and hands the event to
        the sink if the appservice is interested."""
        self.stream += 1
        ev = Event(
            event_id=ev_mod.new_event_id(),
            room_id=room.room_id,
            sender=sender,
            type=type_,
            content=content,
            origin_server_ts=ev_mod.now_ms(),
            stream=self.stream,
            state_key=state_key,
            redacts=redacts,
            invite_room_state=invite_room_state,
            via_client_api=bool(via) and self.is_as_user(sender),
        )
        if state_key is not None:
            ev.prev = room.state.get((type_, state_key))
            room.state[(type_, state_key)] = ev
        room.timeline.append(ev)
        self.events[ev.event_id] = ev
        if ev.via_client_api:
            self.client_events.append(ev)
        if self._interested_in_event(room, ev):
            # Synapse asks the appservice about a namespace user it does not
            # know before delivering an event about it (user-query.json).
            for candidate in (state_key if type_ == "m.room.member" else None, sender):
                if candidate and self.user_regex.match(candidate) and candidate not in self.users:
                    ev.query_user = candidate
                    break
            if self.sink is not None:
                self.sink.event(ev)
        return ev

    # ---- interest --------------------------------------------------------

    def _as_users_joined(self, room):
        return [u for u in room.members("join") if self.is_as_user(u)]

    def _interested_in_event(self, room, ev):
        """Synapse's ApplicationService.is_interested_in_event: the sender or
        the state_key is one of the appservice's users, or one of its users
        is joined to the room now.  Hence an invite reaches the appservice
        but the rest of the room's history does not until a namespace user
        joins (txn-invite-at-room-creation.json), and the appservice's own
        events come back to it (txn-own-event-echo.json)."""
        if self.is_as_user(ev.sender):
            return True
        if ev.state_key is not None and self.is_as_user(ev.state_key):
            return True
        return bool(self._as_users_joined(room))

    def _shares_room_with_as(self, user_id):
        for room in self.rooms.values():
            if room.membership(user_id) == "join" and self._as_users_joined(room):
                return True
        return False

    # ---- ephemeral, to-device, device lists ---------------------------------

    def typing(self, room_id, user_ids):
        """m.typing for a room the appservice has a user in (txn-ephemeral-typing.json)."""
        room = self.room(room_id)
        edu = {"content": {"user_ids": list(user_ids)}, "room_id": room_id, "type": "m.typing"}
        if self._as_users_joined(room) and self.sink is not None:
            self.sink.ephemeral(edu)

    def set_typing(self, room_id, user_id, typing):
        """A user starts or stops typing; the appservice gets the room's
        whole list of typing users (txn-ephemeral-typing-stopped.json)."""
        current = self.typing_users.setdefault(room_id, [])
        if typing and user_id not in current:
            current.append(user_id)
        elif not typing and user_id in current:
            current.remove(user_id)
        self.typing(room_id, current)

    def receipt(self, room_id, event_id, user_id, receipt_type="m.read", ts=None):
        """m.receipt.  A thread_id is not passed on, and private receipts are
        (txn-ephemeral-receipt-threaded.json, txn-ephemeral-receipt-private.json)."""
        room = self.room(room_id)
        if ts is None:
            ts = ev_mod.now_ms()
        edu = {"content": {event_id: {receipt_type: {user_id: {"ts": ts}}}}, "room_id": room_id,
               "type": "m.receipt"}
        if self._as_users_joined(room) and self.sink is not None:
            self.sink.ephemeral(edu)

    def presence(self, user_id, presence, status_msg=None, last_active_ago=0):
        """m.presence, for users who share a room with an appservice user or
        are one (txn-ephemeral-presence.json); no room_id."""
        content = {"last_active_ago": last_active_ago, "presence": presence}
        if presence == "online":
            content["currently_active"] = True
        if status_msg is not None:
            content["status_msg"] = status_msg
        edu = {"content": content, "sender": user_id, "type": "m.presence"}
        if (self.is_as_user(user_id) or self._shares_room_with_as(user_id)) and self.sink is not None:
            self.sink.ephemeral(edu)

    def to_device(self, sender, to_user, to_device, type_, content):
        """A to-device message for an appservice user.  Device "*" arrives
        already fanned out to each device (txn-to-device-wildcard.json)."""
        if not self.is_as_user(to_user) or self.sink is None:
            return
        if to_device == "*":
            user = self.users.get(to_user)
            targets = sorted(user.devices) if user else []
        else:
            targets = [to_device]
        for device_id in targets:
            self.sink.to_device({"content": copy.deepcopy(content), "sender": sender,
                                 "to_device_id": device_id, "to_user_id": to_user, "type": type_})

    def device_list_changed(self, user_id):
        """A device-list change the appservice hears about if the user is one
        of its own or shares a room with one (txn-device-lists-changed.json)."""
        if (self.is_as_user(user_id) or self._shares_room_with_as(user_id)) and self.sink is not None:
            self.sink.device_list_changed(user_id)

    def key_counts(self, room_ids, to_device_users):
        """The MSC3202 one-time-key counts and unused fallback key types for
        a transaction: the appservice sender, the appservice users joined to
        the transaction's rooms and the to-device recipients, each with the
        devices they have.  Returns (otk_counts, fallback_types), both {}
        when none of those users has a device (txn-invite.json has neither;
        txn-message-text.json has both)."""
        users = {self.sender_user}
        for room_id in room_ids:
            room = self.rooms.get(room_id)
            if room is not None:
                users.update(self._as_users_joined(room))
        users.update(u for u in to_device_users if self.is_as_user(u))
        counts, fallback = {}, {}
        for user_id in sorted(users):
            user = self.users.get(user_id)
            if user is None or not user.devices:
                continue
            counts[user_id] = {d.device_id: dict(d.otk_counts) for d in user.devices.values()}
            fallback[user_id] = {d.device_id: list(d.fallback_types) for d in user.devices.values()}
        return counts, fallback
