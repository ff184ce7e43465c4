"""Identifiers and the wire format of events, as Synapse 1.94 writes them.

An Event here is the homeserver's stored copy.  serialize() turns it into
what an appservice receives in a transaction (and what /state or /event
answer): Synapse's "client format v1" with the legacy extras.  The captured
transactions in tests/fixtures/synapse/ are the reference:

  - top-level keys: age, content, event_id, origin_server_ts, room_id,
    sender, type, unsigned, user_id (= sender), plus state_key and redacts
    when they apply (txn-message-text.json, txn-redaction.json);
  - unsigned carries age, prev_content, prev_sender, replaces_state and
    invite_room_state, and Synapse copies age, prev_content, replaces_state,
    invite_room_state (and redacted_because) to the top level as well
    (txn-state-topic-change.json, txn-invite.json).
"""

import base64
import copy
import os
import random
import string
import time
from dataclasses import dataclass
from typing import Optional

# State types that go into the stripped state of an invite
# (room_prejoin_state in Synapse's default config).  The fixtures show the
# order varies between captures (txn-invite.json versus
# txn-invite-encrypted-room.json); the appservice must not depend on it.
STRIPPED_STATE_TYPES = (
    "m.room.join_rules",
    "m.room.create",
    "m.room.name",
    "m.room.topic",
    "m.room.avatar",
    "m.room.canonical_alias",
    "m.room.encryption",
)

# Content keys that survive a redaction, per event type (room versions
# 10 and 11, from the Matrix spec's redaction algorithm).
_KEPT_ON_REDACTION = {
    "m.room.member": ("membership", "join_authorised_via_users_server"),
    "m.room.join_rules": ("join_rule", "allow"),
    "m.room.history_visibility": ("history_visibility",),
    "m.room.power_levels": (
        "ban", "events", "events_default", "kick", "redact",
        "state_default", "users", "users_default",
    ),
}


def now_ms():
    """Milliseconds since the epoch, as origin_server_ts uses."""
    return int(time.time() * 1000)


def new_event_id():
    """An event ID as room versions 4 and later make them: "$" and 43
    URL-safe base64 characters (the hash of the event; random here)."""
    return "$" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def new_room_id(domain):
    """A room ID as Synapse makes them: "!", 18 random letters, ":domain"."""
    return "!" + "".join(random.choices(string.ascii_letters, k=18)) + ":" + domain


def new_media_id():
    """A media ID as Synapse makes them: 24 random letters."""
    return "".join(random.choices(string.ascii_letters, k=24))


def new_device_id():
    """A device ID as Synapse makes them: 10 random upper-case letters."""
    return "".join(random.choices(string.ascii_uppercase, k=10))


def new_token(prefix="syt_"):
    """An opaque access token."""
    return prefix + base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")


@dataclass
class Event:
    """One stored event.  content is owned by the event (deep-copied in)."""

    event_id: str
    room_id: str
    sender: str
    type: str
    content: dict
    origin_server_ts: int
    stream: int
    state_key: Optional[str] = None
    redacts: Optional[str] = None
    # The state event this one replaced (gives prev_content, prev_sender
    # and replaces_state, txn-state-topic-change.json).
    prev: Optional["Event"] = None
    invite_room_state: Optional[list] = None
    # The m.room.redaction that redacted this event, if any.
    redacted_by: Optional["Event"] = None
    # True for events an appservice user created through the client API.
    via_client_api: bool = False
    # A namespace user unknown to the homeserver: the appservice is asked
    # about it (GET /_matrix/app/v1/users/...) before the event is
    # delivered (user-query.json, txn-invite-unregistered-user.json).
    query_user: Optional[str] = None

    def is_state(self):
        return self.state_key is not None


def pruned_content(ev, room_version):
    """The content left after a redaction (Matrix redaction algorithm)."""
    if ev.type == "m.room.create":
        if room_version == "11":
            return copy.deepcopy(ev.content)
        return {k: v for k, v in ev.content.items() if k == "creator"}
    if ev.type == "m.room.redaction" and room_version == "11":
        return {k: v for k, v in ev.content.items() if k == "redacts"}
    keep = _KEPT_ON_REDACTION.get(ev.type, ())
    if ev.type == "m.room.power_levels" and room_version == "11":
        keep = keep + ("invite",)
    return {k: copy.deepcopy(v) for k, v in ev.content.items() if k in keep}


def serialize(ev, room_version, now=None):
    """The event as an appservice receives it (client format v1).

    age and unsigned.age are computed now, so a transaction that is retried
    carries a larger age each time (txn-retry-2-second-attempt-500.json).
    Returns a new dict the caller may keep.
    """
    if now is None:
        now = now_ms()
    age = max(0, now - ev.origin_server_ts)
    content = copy.deepcopy(ev.content)
    unsigned = {"age": age}
    if ev.redacted_by is not None:
        content = pruned_content(ev, room_version)
        unsigned["redacted_because"] = serialize(ev.redacted_by, room_version, now)
    if ev.prev is not None:
        prev_content = ev.prev.content
        if ev.prev.redacted_by is not None:
            prev_content = pruned_content(ev.prev, room_version)
        unsigned["prev_content"] = copy.deepcopy(prev_content)
        unsigned["prev_sender"] = ev.prev.sender
        unsigned["replaces_state"] = ev.prev.event_id
    if ev.invite_room_state is not None:
        unsigned["invite_room_state"] = copy.deepcopy(ev.invite_room_state)

    out = {
        "content": content,
        "event_id": ev.event_id,
        "origin_server_ts": ev.origin_server_ts,
        "room_id": ev.room_id,
        "sender": ev.sender,
        "type": ev.type,
        "unsigned": unsigned,
        # Client format v1 repeats the sender as user_id.
        "user_id": ev.sender,
    }
    if ev.state_key is not None:
        out["state_key"] = ev.state_key
    if ev.redacts is not None:
        out["redacts"] = ev.redacts
    # Synapse's format_event_for_client_v1 copies these from unsigned to the
    # top level; prev_sender stays in unsigned only.
    for key in ("age", "redacted_because", "replaces_state", "prev_content", "invite_room_state"):
        if key in unsigned:
            out[key] = copy.deepcopy(unsigned[key])
    return out


def stripped(ev):
    """The stripped form of a state event used in invite_room_state."""
    return {
        "content": copy.deepcopy(ev.content),
        "sender": ev.sender,
        "state_key": ev.state_key,
        "type": ev.type,
    }
