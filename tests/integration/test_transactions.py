"""Transactions as a homeserver sends them, and sends them again: the same
transaction twice is stored once; a homeserver that resets its txnIds
(Synapse on SQLite, a regenerated registration) loses nothing, because
dedup rests on event_id; a retry that arrives while the first attempt is
still being stored waits for it; a warroom that was down gets what the
homeserver queued, once; both stable and unstable field names are read.
"""

import threading
import time

import harness
from harness import ALICE, count, room_with_bot

tap = harness.Tap()
tmp = harness.tmpdir()
hs, wr = harness.start_pair(tmp, retry_scale=0.05)
room = room_with_bot(hs)
hs.wait_idle(10)


def message(event_id, body, ts=None):
    """An m.room.message in the shape of txn-message-text.json."""
    return {"age": 13, "content": {"body": body, "msgtype": "m.text"}, "event_id": event_id,
            "origin_server_ts": ts or int(time.time() * 1000), "room_id": room, "sender": ALICE,
            "type": "m.room.message", "unsigned": {"age": 13}, "user_id": ALICE}


def txn(events, **extra):
    body = {"events": events, "ephemeral": [], "de.sorunome.msc2409.ephemeral": [],
            "de.sorunome.msc2409.to_device": []}
    body.update(extra)
    return body


events_before = count(wr, "SELECT count(*) FROM events")

# The same transaction twice is stored once.
batch = [message(f"$dedup{i:02d}" + "x" * 36, f"line {i}") for i in range(3)]
tap.is_(hs.push_raw("5001", txn(batch))[0], 200, "a transaction is acknowledged")
tap.is_(hs.push_raw("5001", txn(batch))[0], 200, "the same transaction again is acknowledged too")
tap.is_(count(wr, "SELECT count(*) FROM events") - events_before, 3, "its three events are stored once")
tap.is_(count(wr, "SELECT count(*) FROM transactions WHERE txn_id = '5001'"), 2, "both deliveries are recorded")

# txnIds reset: a new transaction reusing an old id is stored in full.
again = [message("$reset" + "y" * 38, "after the homeserver forgot its txnIds")]
tap.is_(hs.push_raw("5001", txn(again))[0], 200, "a different transaction with a used txnId")
tap.is_(count(wr, "SELECT count(*) FROM events WHERE event_id = ?", again[0]["event_id"]), 1,
        "its event is stored: dedup is on event_id, not txnId")

# A retry that arrives while the first attempt is still being stored waits for it.
big = [message(f"$conc{i:03d}" + "z" * 35, "x" * 2000) for i in range(100)]
results = []


def push():
    results.append(hs.push_raw("6001", txn(big))[0])


threads = [threading.Thread(target=push) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
tap.is_(sorted(results), [200, 200], "two concurrent deliveries of one transaction both get 200")
tap.is_(count(wr, "SELECT count(*) FROM events WHERE event_id LIKE '$conc%'"), 100, "its 100 events are stored once")

# Stable field names (ephemeral, to_device, device_lists, key counts) are read as the unstable ones are.
stable = txn([message("$stable" + "s" * 37, "stable names")],
             to_device=[{"type": "org.example.test", "sender": ALICE, "to_user_id": "@warroom:localhost",
                         "to_device_id": "WARROOMMAIN", "content": {"x": 1}}],
             device_lists={"changed": ["@bob:localhost"], "left": ["@carol:localhost"]},
             device_one_time_keys_count={"@warroom:localhost": {"WARROOMMAIN": {"signed_curve25519": 7}}},
             device_unused_fallback_key_types={"@warroom:localhost": {"WARROOMMAIN": ["signed_curve25519"]}})
tap.is_(hs.push_raw("7001", stable)[0], 200, "a transaction with the stable MSC2409/MSC3202 names")
tap.is_(count(wr, "SELECT count(*) FROM to_device WHERE to_device_id = 'WARROOMMAIN'"), 1, "to_device kept")
tap.is_(count(wr, "SELECT count(*) FROM device_list_changes WHERE user_id IN ('@bob:localhost', '@carol:localhost')"),
        2, "device_lists.changed and .left kept")
tap.is_(count(wr, "SELECT count FROM device_key_counts WHERE device_id = 'WARROOMMAIN'"), 7, "one-time key count kept")

# warroom down: the homeserver keeps the transaction and retries; once back, stored once.
tap.is_(wr.stop(), 0, "warroom stops")
queued = hs.send_message(room, ALICE, "said while warroom was down")
time.sleep(0.5)
tap.ok(any(not a.ok for a in hs.transactions), "the homeserver's delivery failed while warroom was down")
wr.start()
hs.wait_idle(20)
tap.is_(count(wr, "SELECT count(*) FROM events WHERE event_id = ?", queued), 1,
        "the message sent while warroom was down is stored once it is back")
tap.is_(wr.stop(), 0, "warroom exits 0")
tap.is_(wr.sanitizer_report(), [], "no sanitizer report")
hs.stop()
tap.done()
