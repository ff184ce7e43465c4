"""kill -9 during a stream of transactions, then a restart: every event the
homeserver got a 200 for is present exactly once; what was not
acknowledged is simply sent again and stored then.  A reply that was
waiting in the outbox when warroom died is delivered after the restart,
once.  A command that was running when warroom died is run again.
"""

import random
import threading
import time

import harness
from harness import ALICE, bot_messages, count, room_with_bot, wait_answer

tap = harness.Tap()
tmp = harness.tmpdir()
hs, wr = harness.start_pair(tmp, retry_scale=0.05)
room = room_with_bot(hs)
hs.wait_idle(10)


def batch(n):
    """Transaction n: 20 messages with IDs of its own."""
    now = int(time.time() * 1000)
    return [{"age": 1, "content": {"body": f"log line {n}.{i}", "msgtype": "m.text"},
             "event_id": f"$crash{n:05d}x{i:02d}" + "c" * 31, "origin_server_ts": now, "room_id": room,
             "sender": ALICE, "type": "m.room.message", "unsigned": {"age": 1}, "user_id": ALICE}
            for i in range(20)]


acked, unacked = [], []
stop = threading.Event()


def stream():
    n = 0
    while not stop.is_set():
        events = batch(n)
        body = {"events": events, "ephemeral": [], "de.sorunome.msc2409.ephemeral": [],
                "de.sorunome.msc2409.to_device": []}
        try:
            status, _ = hs.push_raw(str(100000 + n), body, timeout=5)
        except Exception:  # noqa: BLE001 - the daemon died mid-request
            status = None
        (acked if status == 200 else unacked).append((n, body))
        n += 1
        if status is None:
            time.sleep(0.01)


thread = threading.Thread(target=stream)
thread.start()
time.sleep(0.6 + random.random() * 0.6)
wr.kill9()
time.sleep(0.2)
stop.set()
thread.join()
tap.ok(len(acked) > 5, f"transactions were acknowledged before the crash ({len(acked)})")
tap.ok(len(unacked) > 0, f"and some were not, after it ({len(unacked)})")

wr.start()
with wr.db() as db:
    stored = dict(db.execute("SELECT event_id, count(*) FROM events WHERE event_id LIKE '$crash%' GROUP BY event_id"))
missing = [e["event_id"] for _, body in acked for e in body["events"] if stored.get(e["event_id"]) != 1]
tap.is_(missing, [], f"each of the {20 * len(acked)} acknowledged events is present exactly once")
tap.is_(count(wr, "SELECT count(*) FROM events WHERE event_id LIKE '$crash%'"),
        count(wr, "SELECT count(DISTINCT event_id) FROM events WHERE event_id LIKE '$crash%'"), "no duplicates")

# What was not acknowledged, the homeserver sends again.
n, body = unacked[0]
tap.is_(hs.push_raw(str(100000 + n), body)[0], 200, "the first unacknowledged transaction, sent again")
tap.is_(count(wr, "SELECT count(*) FROM events WHERE event_id LIKE ?", f"$crash{n:05d}x%"), 20, "is stored")

# A reply waiting in the outbox survives kill -9.
hs.refuse_connections(True)
waiting = hs.send_message(room, ALICE, "!help")
hs.wait_for(lambda: count(wr, "SELECT count(*) FROM outbox WHERE state = 'pending'") == 1, timeout=10,
            what="the reply to wait in the outbox")
wr.kill9()
hs.refuse_connections(False)
wr.start()
wait_answer(hs, room, waiting, timeout=30)
time.sleep(0.5)
tap.is_(sum(1 for e in bot_messages(hs, room)
            if e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == waiting), 1,
        "the reply that waited when warroom was killed is delivered after the restart, once")

# A command killed while it ran (the homeserver's ping was slow) is run again.
hs.delay(r"/appservice/warroom/ping", 3.0, count=1)
running = hs.send_message(room, ALICE, "!ping")
hs.wait_for(lambda: count(wr, "SELECT count(*) FROM commands WHERE event_id = ? AND status = 'running'", running)
            == 1, timeout=10, what="the command to be running")
wr.kill9()
wr.start()
reply = wait_answer(hs, room, running, timeout=30)
tap.ok("pong" in reply["content"]["body"], "a command interrupted by kill -9 is run again after the restart")
tap.ok("running again the command" in wr.log(), "and the log says so")

tap.is_(wr.stop(), 0, "warroom exits 0")
tap.is_(wr.sanitizer_report(), [], "no sanitizer report")
hs.stop()
tap.done()
