"""A message in, the bot's reply out: the real warroom against the test
homeserver.  Invites are accepted from permitted users and rejected from
others; !ping and !help are answered in the command's thread, as a prefixed
command, a mention or in a direct chat; what is not a command for us
(notices, other bots' prefixes, our own messages) gets no answer; a
command older than bridge.command_max_age is not run and the room is told.
"""

import time

import harness
from harness import ALICE, BOT, bot_messages, count, room_with_bot, wait_answer

tap = harness.Tap()
tmp = harness.tmpdir()
hs, wr = harness.start_pair(tmp, retry_scale=0.05, config_extra={"bridge": {"command_max_age": "1m"}})

# An invite from a permitted user is accepted.
room = room_with_bot(hs, name="incident 2026-0042")
tap.ok(True, "the bot joined after alice (analyst) invited it")

# !ping: a notice in the command's thread, with the measured round trip.
ping = hs.send_message(room, ALICE, "!ping")
reply = wait_answer(hs, room, ping)
content = reply["content"]
tap.is_(content["msgtype"], "m.notice", "the answer is a notice")
tap.ok("pong" in content["body"] and "round trip" in content["body"], f"it says pong and the round trip: {content['body']!r}")
rel = content.get("m.relates_to", {})
tap.is_(rel.get("rel_type"), "m.thread", "it is in a thread")
tap.is_(rel.get("event_id"), ping, "the thread of the command")
tap.is_(rel.get("m.in_reply_to", {}).get("event_id"), ping, "with a reply fallback to the command")
tap.is_(rel.get("is_falling_back"), True, "marked as a fallback reply")
tap.is_(content.get("m.mentions"), {}, "the answer mentions nobody (no ping for the room)")
result = content.get("org.warroom.result", {})
tap.is_(result.get("command"), "ping", "the machine result names the command")
tap.ok(isinstance(result.get("round_trip_ms"), int), "and carries the round trip in milliseconds")
tap.is_(count(wr, "SELECT count(*) FROM commands WHERE event_id = ? AND status = 'done'", ping), 1,
        "the command is recorded as done")

# !help lists what the caller may run.
help_ev = hs.send_message(room, ALICE, "!help")
body = wait_answer(hs, room, help_ev)["content"]
tap.ok("!ping" in body["body"] and "!help" in body["body"], "!help lists !ping and !help")
tap.ok("<ul>" in body.get("formatted_body", ""), "with an HTML list")

# A mention works without the prefix (the pill of txn-message-command-mention.json).
mention = hs.send_message(room, ALICE, "Warroom: ping",
                          formatted_body=f'<a href="https://matrix.to/#/{BOT}">Warroom</a>: ping',
                          extra_content={"m.mentions": {"user_ids": [BOT]}})
tap.ok("pong" in wait_answer(hs, room, mention)["content"]["body"], "a mention runs the command without !")

# A command in a thread is answered in that thread.
root = hs.send_message(room, ALICE, "phishing wave from 203.0.113.7")
threaded = hs.send_message(room, ALICE, "!ping", relates_to=hs.in_thread(root))
rel = wait_answer(hs, room, threaded)["content"]["m.relates_to"]
tap.is_(rel["event_id"], root, "a command inside a thread is answered in that thread")

# A reply's quoted fallback is not part of the command.
replied = hs.send_message(room, ALICE, "> <@bob:localhost> is this one bad?\n\n!ping", relates_to=hs.reply_to(root))
tap.ok("pong" in wait_answer(hs, room, replied)["content"]["body"], "a reply holding a command is run")

# Addressed but unknown: the bot says so.  Not addressed: another bot's command, left alone.
unknown = hs.send_message(room, ALICE, "Warroom: frobnicate now",
                          extra_content={"m.mentions": {"user_ids": [BOT]}})
tap.ok("do not know" in wait_answer(hs, room, unknown)["content"]["body"], "an unknown command addressed to the bot is answered")
before = len(bot_messages(hs, room))
other = hs.send_message(room, ALICE, "!remindme 5m coffee")
notice = hs.send_message(room, ALICE, "!ping", msgtype="m.notice")
edited = hs.edit(room, ALICE, ping, "!help")
marker = hs.send_message(room, ALICE, "!ping")
wait_answer(hs, room, marker)
tap.is_(len(bot_messages(hs, room)), before + 1,
        "no answer to another bot's !command, to a notice, or to an edit (only to the marker command)")

# A direct chat: no prefix needed.
dm = room_with_bot(hs, creator="@carol:localhost", is_direct=True)
plain = hs.send_message(dm, "@carol:localhost", "ping")
tap.ok("pong" in wait_answer(hs, dm, plain)["content"]["body"], "in a direct chat, 'ping' alone is a command")

# An invite from someone the permission table does not allow is rejected, with a reason.
eve_room = hs.create_room("@eve:evil.example")
hs.invite(eve_room, "@eve:evil.example", BOT)
hs.wait_for(lambda: hs.members(eve_room).get(BOT) == "leave", timeout=10, what="the bot to reject eve's invite")
leaves = [e for e in hs.sent_events(room_id=eve_room, sender=BOT)] + [
    e for e in hs.room_timeline(eve_room) if e["type"] == "m.room.member" and e.get("state_key") == BOT
    and e["content"].get("membership") == "leave"]
reasons = [e["content"].get("reason", "") for e in leaves if e["content"].get("membership") == "leave"]
tap.ok(any("may not invite" in r for r in reasons), f"the rejection says why: {reasons!r}")

# A command older than command_max_age (sent while warroom was down) is not run; the room is told.
old_ts = int(time.time() * 1000) - 3600 * 1000
stale_id = "$stale" + "A" * 38
status, _ = hs.push_raw("9001", {
    "events": [{"age": 3600000, "content": {"body": "!ping", "msgtype": "m.text"}, "event_id": stale_id,
                "origin_server_ts": old_ts, "room_id": room, "sender": ALICE, "type": "m.room.message",
                "unsigned": {"age": 3600000}, "user_id": ALICE}],
    "ephemeral": [], "de.sorunome.msc2409.ephemeral": [], "de.sorunome.msc2409.to_device": []})
tap.is_(status, 200, "a late transaction is accepted")
stale = wait_answer(hs, room, stale_id)["content"]["body"]
tap.ok("did not run" in stale and "1 hour ago" in stale and "older than 1 minute " in stale, f"the stale command is not run and the room is told: {stale!r}")
tap.is_(count(wr, "SELECT count(*) FROM commands WHERE event_id = ? AND status = 'stale'", stale_id), 1,
        "recorded as stale")

# The bot's own echoes are stored but never answered.
tap.ok(count(wr, "SELECT count(*) FROM events WHERE sender = ?", BOT) > 0, "the bot's own events come back and are stored")
tap.is_(count(wr, "SELECT count(*) FROM commands WHERE sender = ?", BOT), 0, "and none is taken for a command")

tap.is_(wr.stop(), 0, "warroom exits 0 on SIGTERM")
tap.is_(wr.sanitizer_report(), [], "no sanitizer report")
hs.stop()
tap.done()
