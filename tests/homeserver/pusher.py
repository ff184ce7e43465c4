"""The transaction pusher: Synapse's appservice scheduler, in one thread.

What it copies from Synapse 1.94 (README.md of the fixtures, "Retry" and
"Batching"; synapse/appservice/scheduler.py):

  - PUT {as_url}/_matrix/app/v1/transactions/{txnId}; txnId is a decimal
    integer starting at 1 and going up by one per new transaction; a retry
    reuses its id.
  - One transaction in flight.  Whatever queued up meanwhile goes into the
    next one, at most 100 events, 100 ephemeral events and 100 to-device
    messages per transaction (txn-batch-max-events.json then
    txn-batch-remainder.json), events in stream order.
  - A transaction is only its events once created: a non-2xx answer, an
    answer that is not JSON, or no answer marks the appservice down, and
    the same txnId is sent again 2 s, 4 s, 8 s ... (capped at 512 s) later
    with the events read back (age recomputed), ephemeral and to_device
    empty and the MSC3202 keys absent (txn-retry-1-first-attempt-500.json,
    txn-retry-2-second-attempt-500.json).  That data is lost.
  - While down, new events become further transactions (new ids) that are
    sent only by the recoverer, after the failed one; ephemeral-only
    transactions are dropped ("Don't create empty txns when in recovery
    mode").  A success resets the backoff and the recoverer sends the next
    stored transaction at once; when none is left the appservice is up.
  - Before an event about a namespace user the homeserver does not know is
    delivered, the appservice is asked GET /_matrix/app/v1/users/{userId}
    (user-query.json); the answer does not change what is delivered
    (txn-invite-unregistered-user.json came after a 404).

All state is guarded by the homeserver's lock; the thread releases it for
every HTTP request.  The sink methods (event, ephemeral, to_device,
device_list_changed) are called by the model with the lock held.
"""

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Optional

from . import events as ev_mod
from .asclient import ASClient, canonical_json, quote_segment, safe_request

MAX_EVENTS = 100
MAX_EPHEMERAL = 100
MAX_TO_DEVICE = 100
MAX_BACKOFF_EXPONENT = 9  # 2**9 = 512 s


@dataclass
class TxnAttempt:
    """One PUT /transactions request as sent, and how it ended."""
    txn_id: int
    time: float                 # time.monotonic() when it was sent
    retry: bool                 # sent by the recoverer (a stored transaction)
    body: dict                  # what was sent, parsed back
    raw: bytes                  # exactly what was sent
    headers: dict               # request headers sent, without Authorization
    status: Optional[int] = None    # HTTP status, None when no answer came
    response: object = None         # the answer's JSON (or text)
    error: Optional[str] = None     # why there was no answer
    duration: float = 0.0

    @property
    def ok(self):
        return self.status is not None and 200 <= self.status < 300 and self.error is None


@dataclass
class _StoredTxn:
    """A created transaction: only its events survive a failure."""
    txn_id: int
    events: list


@dataclass
class _Job:
    txn: _StoredTxn
    retry: bool
    ephemeral: list = field(default_factory=list)
    to_device: list = field(default_factory=list)
    device_changed: list = field(default_factory=list)


class Pusher:
    """Pushes what the model queued to the appservice.  cond is the
    homeserver's Condition (built on its lock)."""

    def __init__(self, cond, model, as_url, hs_token, retry_scale=1.0, stable_names=False,
                 stable_ephemeral=True, txn_timeout=60.0, query_timeout=10.0):
        self.cond = cond
        self.model = model
        self.as_url = as_url
        self.hs_token = hs_token
        self.retry_scale = retry_scale
        self.stable_names = stable_names
        self.stable_ephemeral = stable_ephemeral
        self.txn_timeout = txn_timeout
        self.query_timeout = query_timeout
        self.client = ASClient(as_url, hs_token, timeout=txn_timeout, persistent=True)

        self.pending_events = deque()
        self.pending_ephemeral = deque()
        self.pending_to_device = deque()
        self.pending_device_changed = []
        self.stored = deque()           # _StoredTxn, oldest first
        self.next_txn_id = 1
        self.down = False
        self.backoff = 0
        self.next_retry = 0.0
        self.paused = False
        self.in_flight = None
        self.stopping = False
        self.attempts = []              # TxnAttempt, in order
        self.user_queries = []          # (user_id, status or None, time)
        self.dropped = []               # (kind, item) lost while the appservice was down
        self._thread = None

    # ---- sink (lock held by the caller) ----------------------------------------

    def event(self, ev):
        """Queues an event for the appservice (model, lock held)."""
        self.pending_events.append(ev)
        self.cond.notify_all()

    def ephemeral(self, edu):
        """Queues an ephemeral event (model, lock held)."""
        self.pending_ephemeral.append(edu)
        self.cond.notify_all()

    def to_device(self, msg):
        """Queues a to-device message (model, lock held)."""
        self.pending_to_device.append(msg)
        self.cond.notify_all()

    def device_list_changed(self, user_id):
        """Notes a device-list change for the next transaction (model, lock held)."""
        if user_id not in self.pending_device_changed:
            self.pending_device_changed.append(user_id)
        self.cond.notify_all()

    # ---- control -------------------------------------------------------------

    def start(self):
        """Starts the pusher thread."""
        self._thread = threading.Thread(target=self._run, name="fakehs-pusher", daemon=True)
        self._thread.start()

    def stop(self):
        """Stops the thread; an attempt in flight is cut short."""
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        self.client.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def idle_locked(self):
        """True when nothing is queued, stored or in flight."""
        return not (self.pending_events or self.pending_ephemeral or self.pending_to_device
                    or self.pending_device_changed or self.stored or self.in_flight)

    def describe_locked(self):
        """One line on what is still queued, for timeout messages."""
        return (f"pending events={len(self.pending_events)} ephemeral={len(self.pending_ephemeral)} "
                f"to_device={len(self.pending_to_device)} device_lists={len(self.pending_device_changed)}, "
                f"stored txns={[t.txn_id for t in self.stored]}, in flight="
                f"{self.in_flight.txn.txn_id if self.in_flight else None}, down={self.down}, "
                f"paused={self.paused}")

    # ---- the thread ------------------------------------------------------------

    def _run(self):
        while True:
            with self.cond:
                job = self._next_job_locked()
                if job is None:
                    return
                self.in_flight = job
                # Also for transactions stored while the appservice was
                # down: Synapse asks when the event happens, whatever the
                # appservice's state.
                queries = self._take_queries_locked(job)
            for user_id in queries:
                self._query_user(user_id)
            with self.cond:
                body = self._body_locked(job)
            raw = canonical_json(body)
            headers = dict(self.client.headers_for("PUT", raw))
            headers.pop("Authorization", None)
            attempt = TxnAttempt(job.txn.txn_id, time.monotonic(), job.retry, json.loads(raw), raw, headers)
            resp, err = safe_request(self.client, "PUT", f"/_matrix/app/v1/transactions/{job.txn.txn_id}",
                                     body=raw, timeout=self.txn_timeout)
            if self.stopping:
                return
            if resp is not None:
                attempt.status = resp.status
                attempt.response = resp.json_or_text()
                attempt.duration = resp.duration
                # Synapse parses the answer as JSON (put_json); a 200 that is
                # not JSON fails the transaction like a 500 would.
                if 200 <= resp.status < 300 and resp.json() is None and resp.data.strip() != b"null":
                    err = "answer is not JSON"
            attempt.error = err
            with self.cond:
                self._finish_locked(job, attempt)

    def _next_job_locked(self):
        """Waits for something to send.  Returns a _Job, or None to stop."""
        while not self.stopping:
            timeout = None
            if not self.paused:
                if self.down:
                    self._absorb_while_down_locked()
                    if not self.stored:
                        self.down = False
                        continue
                    now = time.monotonic()
                    if now >= self.next_retry:
                        return _Job(self.stored[0], retry=True)
                    timeout = self.next_retry - now
                elif self.stored:
                    return _Job(self.stored[0], retry=True)
                else:
                    job = self._new_txn_locked()
                    if job is not None:
                        return job
            self.cond.wait(timeout)
        return None

    def _allocate_locked(self, events):
        txn = _StoredTxn(self.next_txn_id, events)
        self.next_txn_id += 1
        self.stored.append(txn)
        return txn

    def _take(self, queue, n):
        return [queue.popleft() for _ in range(min(n, len(queue)))]

    def _new_txn_locked(self):
        if not (self.pending_events or self.pending_ephemeral or self.pending_to_device
                or self.pending_device_changed):
            return None
        events = self._take(self.pending_events, MAX_EVENTS)
        job = _Job(self._allocate_locked(events), retry=False,
                   ephemeral=self._take(self.pending_ephemeral, MAX_EPHEMERAL),
                   to_device=self._take(self.pending_to_device, MAX_TO_DEVICE),
                   device_changed=list(self.pending_device_changed))
        self.pending_device_changed.clear()
        return job

    def _absorb_while_down_locked(self):
        """Synapse while the appservice is down: new events still become
        transactions (stored, sent later by the recoverer); the rest is lost."""
        while self.pending_events:
            self._allocate_locked(self._take(self.pending_events, MAX_EVENTS))
        for kind, queue in (("ephemeral", self.pending_ephemeral), ("to_device", self.pending_to_device)):
            while queue:
                self.dropped.append((kind, queue.popleft()))
        for user_id in self.pending_device_changed:
            self.dropped.append(("device_lists", user_id))
        self.pending_device_changed.clear()

    def _take_queries_locked(self, job):
        users = []
        for ev in job.txn.events:
            if ev.query_user and ev.query_user not in users and not self.model.is_registered(ev.query_user):
                users.append(ev.query_user)
            ev.query_user = None
        return users

    def _query_user(self, user_id):
        client = ASClient(self.as_url, self.hs_token, timeout=self.query_timeout)
        resp, _ = safe_request(client, "GET", "/_matrix/app/v1/users/" + quote_segment(user_id))
        with self.cond:
            self.user_queries.append((user_id, resp.status if resp else None, time.monotonic()))

    def _body_locked(self, job):
        now = ev_mod.now_ms()
        events = [ev_mod.serialize(ev, self.model.rooms[ev.room_id].version, now) for ev in job.txn.events]
        ephemeral = [] if job.retry else job.ephemeral
        to_device = [] if job.retry else job.to_device
        only_stable = self.stable_names == "only"
        body = {"events": events}
        # The stable "ephemeral" comes from the fixtures' patched Synapse;
        # stock 1.94 sends only the unstable name (README.md of the fixtures).
        if self.stable_ephemeral or only_stable:
            body["ephemeral"] = ephemeral
        if not only_stable:
            body["de.sorunome.msc2409.ephemeral"] = ephemeral
            body["de.sorunome.msc2409.to_device"] = to_device
        if self.stable_names:
            body["to_device"] = to_device
        if job.retry:
            return body

        def put(stable, unstable, value):
            if not only_stable:
                body[unstable] = value
            if self.stable_names:
                body[stable] = value

        if job.device_changed:
            # device_lists.left is always [] in 1.94 (txn-device-lists-changed.json).
            put("device_lists", "org.matrix.msc3202.device_lists",
                {"changed": list(job.device_changed), "left": []})
        rooms = {ev.room_id for ev in job.txn.events}
        rooms.update(e["room_id"] for e in ephemeral if "room_id" in e)
        counts, fallback = self.model.key_counts(rooms, {m["to_user_id"] for m in to_device})
        if counts:
            put("device_one_time_keys_count", "org.matrix.msc3202.device_one_time_keys_count", counts)
            # The twin with the other spelling, always alongside (txn-message-text.json).
            if not only_stable:
                body["org.matrix.msc3202.device_one_time_key_counts"] = counts
        if fallback:
            put("device_unused_fallback_key_types", "org.matrix.msc3202.device_unused_fallback_key_types",
                fallback)
        return body

    def _finish_locked(self, job, attempt):
        self.attempts.append(attempt)
        self.in_flight = None
        now = time.monotonic()
        if attempt.ok:
            if self.stored and self.stored[0] is job.txn:
                self.stored.popleft()
            if self.down:
                # The recoverer resets its backoff after a success and goes
                # straight on with the next stored transaction.
                self.backoff = 0
                self.next_retry = now
                if not self.stored:
                    self.down = False
        else:
            if not self.down:
                self.down = True
                self.backoff = 1
            else:
                self.backoff = min(self.backoff + 1, MAX_BACKOFF_EXPONENT)
            self.next_retry = now + (2 ** self.backoff) * self.retry_scale
        self.cond.notify_all()

    def push_raw(self, txn_id, body, headers=None, timeout=None):
        """Sends one transaction with an arbitrary body (bytes) and headers
        on a connection of its own; bypasses the queue.  Returns
        (status, parsed answer) or (None, error text)."""
        client = ASClient(self.as_url, self.hs_token, timeout=timeout or self.txn_timeout)
        try:
            resp = client.request("PUT", f"/_matrix/app/v1/transactions/{txn_id}", body=body, headers=headers)
        except Exception as e:  # noqa: BLE001 - reported to the test as is
            return None, f"{type(e).__name__}: {e}"
        return resp.status, resp.json_or_text()
