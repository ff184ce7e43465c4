"""The homeserver is down while replies wait, then back: every reply is
delivered once, in order.  Also through 500s (retried with backoff), 429s
(retried after retry_after_ms), and a refusal for good (the entry is
marked failed and the room's queue moves on).  The outbox lives in the
database, so /metrics shows the replies waiting.
"""

import time

import harness
from harness import ALICE, bot_messages, count, metric, room_with_bot, wait_answer

tap = harness.Tap()
tmp = harness.tmpdir()
hs, wr = harness.start_pair(tmp, retry_scale=0.05)
room = room_with_bot(hs)
hs.wait_idle(10)

# Down: the client-server API refuses connections; transactions still come in.
hs.refuse_connections(True)
commands = [hs.send_message(room, ALICE, "!help") for _ in range(5)]
hs.wait_idle(10)
deadline = time.monotonic() + 10
while time.monotonic() < deadline and count(wr, "SELECT count(*) FROM outbox WHERE state = 'pending'") < 5:
    time.sleep(0.05)
tap.is_(count(wr, "SELECT count(*) FROM outbox WHERE state = 'pending'"), 5, "five replies wait in the outbox")
tap.is_(metric(wr, "warroom_outbox_depth"), 5.0, "/metrics shows the outbox depth")
tap.is_(len(bot_messages(hs, room)), 0, "nothing reached the room while the homeserver was down")

# Back: each reply once, in the order of the commands.
hs.refuse_connections(False)
replies = [wait_answer(hs, room, c, timeout=90) for c in commands]
hs.wait_for(lambda: count(wr, "SELECT count(*) FROM outbox WHERE state = 'pending'") == 0, timeout=10,
            what="the outbox to drain")
sent = [e for e in bot_messages(hs, room)]
tap.is_(len(sent), 5, "five replies delivered, none twice")
tap.is_([e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] for e in sent], commands,
        "in the order of the commands")
tap.is_(metric(wr, "warroom_outbox_depth"), 0.0, "the outbox is empty")

# 500 twice, then it works: delivered once.
hs.fail(r"/send/", status=500, count=2)
c500 = hs.send_message(room, ALICE, "!help")
wait_answer(hs, room, c500, timeout=30)
tap.is_(sum(1 for e in bot_messages(hs, room)
            if e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == c500), 1,
        "after two 500s the reply is delivered, once")

# 429 with retry_after_ms: not retried earlier than asked.
hs.rate_limit(r"/send/", count=1, retry_after_ms=700)
start = time.monotonic()
c429 = hs.send_message(room, ALICE, "!help")
wait_answer(hs, room, c429, timeout=30)
tap.ok(time.monotonic() - start >= 0.7, "a 429 with retry_after_ms=700 is retried after at least 0.7 s")

# Retry-After in a header instead.
hs.rate_limit(r"/send/", count=1, retry_after_ms=1000, header=True)
start = time.monotonic()
chdr = hs.send_message(room, ALICE, "!help")
wait_answer(hs, room, chdr, timeout=30)
tap.ok(time.monotonic() - start >= 1.0, "a 429 with Retry-After: 1 is retried after at least 1 s")

# Refused for good: marked failed, and the next reply in the room still goes out.
hs.fail(r"/send/", status=403, count=1, errcode="M_FORBIDDEN")
doomed = hs.send_message(room, ALICE, "!help")
after = hs.send_message(room, ALICE, "!ping")
wait_answer(hs, room, after, timeout=30)
tap.is_(count(wr, "SELECT count(*) FROM outbox WHERE state = 'failed'"), 1, "the refused reply is marked failed")
tap.ok("refused entry" in wr.log(), "and the log says the homeserver refused it")
tap.ok(harness.metric(wr, "warroom_outbox_failed_total") == 1.0, "counted in warroom_outbox_failed_total")

tap.is_(wr.stop(), 0, "warroom exits 0")
tap.is_(wr.sanitizer_report(), [], "no sanitizer report")
hs.stop()
tap.done()
