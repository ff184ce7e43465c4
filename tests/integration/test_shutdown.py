"""SIGTERM with replies pending: nothing is lost.  warroom stops accepting,
finishes what is in flight, keeps what it could not send in the outbox,
exits 0 (its event loop closed cleanly), and sends it after the restart.
A second SIGTERM, or appservice.shutdown_grace, cuts a slow shutdown short
without losing anything either.
"""

import signal
import time

import harness
from harness import ALICE, bot_messages, count, room_with_bot, wait_answer

tap = harness.Tap()
tmp = harness.tmpdir()
hs, wr = harness.start_pair(tmp, retry_scale=0.05, config_extra={"appservice": {"shutdown_grace": "2s"}})
room = room_with_bot(hs)
hs.wait_idle(10)

# Replies pending because the homeserver refuses connections.
hs.refuse_connections(True)
pending = [hs.send_message(room, ALICE, "!help") for _ in range(3)]
hs.wait_for(lambda: count(wr, "SELECT count(*) FROM outbox WHERE state = 'pending'") == 3, timeout=10,
            what="three replies to wait")
start = time.monotonic()
code = wr.stop(signal.SIGTERM, timeout=15)
elapsed = time.monotonic() - start
tap.is_(code, 0, "warroom exits 0 on SIGTERM with replies pending")
tap.ok(elapsed < 1.5, f"at once: it does not wait for a homeserver that is down ({elapsed:.1f} s)")
tap.ok("entries kept for the next run" in wr.log() or "left for the next run" in wr.log(),
       "the log says the replies are kept for the next run")
tap.is_(count(wr, "SELECT count(*) FROM outbox WHERE state = 'pending'"), 3, "the three replies are still in the outbox")

hs.refuse_connections(False)
wr.start()
for c in pending:
    wait_answer(hs, room, c, timeout=30)
time.sleep(0.3)
tap.is_(len(bot_messages(hs, room)), 3, "after the restart the three replies are delivered, once each")

# A clean shutdown with nothing pending: exit 0, and the loop closed cleanly.
tap.is_(wr.stop(signal.SIGTERM), 0, "SIGTERM when idle: exit status 0")
tap.ok("shutdown complete" in wr.log(), "the log says the shutdown completed")
tap.ok("did not close cleanly" not in wr.log(), "every libuv handle was closed (uv_loop_close returned 0)")

# SIGINT works like SIGTERM.
wr.start()
tap.is_(wr.stop(signal.SIGINT), 0, "SIGINT: exit status 0")

# A command in flight finishes before the exit: its answer is at least stored.
wr.start()
hs.delay(r"/appservice/warroom/ping", 1.0, count=1)
slow = hs.send_message(room, ALICE, "!ping")
hs.wait_for(lambda: count(wr, "SELECT count(*) FROM commands WHERE event_id = ? AND status = 'running'", slow) == 1,
            timeout=10, what="the command to run")
tap.is_(wr.stop(signal.SIGTERM), 0, "SIGTERM while a command runs: exit 0")
tap.is_(count(wr, "SELECT count(*) FROM commands WHERE event_id = ? AND status = 'done'", slow), 1,
        "the running command finished before the exit")
wr.start()
tap.ok("pong" in wait_answer(hs, room, slow, timeout=30)["content"]["body"], "and its answer reached the room")

# A homeserver that hangs: the grace period ends the wait; the reply stays queued.
hs.delay(r"/send/", 30.0, count=1)
hung = hs.send_message(room, ALICE, "!help")
hs.wait_for(lambda: count(wr, "SELECT count(*) FROM outbox WHERE state = 'pending'") == 1, timeout=10,
            what="the reply to be queued")
time.sleep(0.5)  # its send is now on the wire, held by the homeserver
start = time.monotonic()
code = wr.stop(signal.SIGTERM, timeout=20)
tap.ok(time.monotonic() - start < 8, "a hung send does not hold the shutdown beyond the grace period")
tap.is_(code, 0, "and the shutdown is still orderly (exit 0)")
tap.ok("shutdown grace of 2000 ms over" in wr.log(), "the log says the grace period ended the wait")
tap.is_(count(wr, "SELECT count(*) FROM outbox WHERE state = 'pending'"), 1, "its reply stays in the outbox")
wr.start()
wait_answer(hs, room, hung, timeout=60)
tap.ok(True, "and is delivered after the restart")

tap.is_(wr.stop(), 0, "warroom exits 0")
tap.is_(wr.sanitizer_report(), [], "no sanitizer report")
hs.stop()
tap.done()
