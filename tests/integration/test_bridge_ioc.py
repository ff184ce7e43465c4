"""The ioc bridge through the real warroom and the test homeserver, and
with it what every tool bridge shares: its own bot, commands answered in
the thread with a table and the machine result, help generated from the
tables and filtered by permission, usage errors, permission refusals, the
message replied to as input, a text file replied to, and slow work first
acknowledged, then edited into the answer.
"""

import time

import harness
from harness import ALICE, BOT, bot_messages, count, room_with_bot, wait_answer, wait_reply

IOC = "@soc_ioc:localhost"
GUEST = "@partner:partner.example"

tap = harness.Tap()
tmp = harness.tmpdir()
hs, wr = harness.start_pair(tmp, retry_scale=0.05)
tap.is_(hs.user_query(IOC), (200, {}), "the ioc bridge has its bot, @soc_ioc (registered)")
room = room_with_bot(hs)
hs.invite(room, ALICE, IOC)
hs.wait_for(lambda: hs.members(room).get(IOC) == "join", timeout=10, what="the ioc bot to join")

# !ioc extract: a table of indicators, in the thread, from the ioc bot.
text = "Phish from 203.0.113.7 via hxxps://login-micros0ft[.]com/verify, payload 44d88612fea8a8f36de82e1278abb02f"
ev = hs.send_message(room, ALICE, "!ioc extract " + text)
reply = wait_answer(hs, room, ev, bot=IOC)
body = reply["content"]["body"]
tap.ok(body.startswith("3 indicators in the text"), f"three indicators found: {body.splitlines()[0]!r}")
tap.ok("203.0.113[.]7" in body and "hxxps://login-micros0ft[.]com/verify" in body, "shown defanged")
result = reply["content"]["org.warroom.result"]
tap.is_(result["tool"], "ioc", "the machine result names the tool")
tap.is_(sorted(a["type"] for a in result["artifacts"]), ["ipv4", "md5", "url"], "and lists the artifacts by type")
tap.ok("<table>" in reply["content"]["formatted_body"], "the HTML has a table")
tap.is_(count(wr, "SELECT count(*) FROM commands WHERE event_id = ? AND bridge = 'ioc' AND status = 'done'", ev), 1,
        "the command is recorded with its bridge")

# The default command: !ioc <text>.
ev = hs.send_message(room, ALICE, "!ioc see evil[.]com")
tap.ok("1 indicator in the text" in wait_answer(hs, room, ev, bot=IOC)["content"]["body"], "!ioc <text> extracts")

# Replying !ioc to a message uses that message.
report = hs.send_message(room, ALICE, "IR notes: C2 at 198.51.100.23 and mail from billing@evil-corp.com")
ev = hs.send_message(room, ALICE, "> <@alice:localhost> IR notes\n\n!ioc", relates_to=hs.reply_to(report))
body = wait_answer(hs, room, ev, bot=IOC)["content"]["body"]
tap.ok("2 indicators in the message replied to" in body, f"a reply takes the message replied to: {body.splitlines()[0]!r}")

# A text file replied to is downloaded and scanned; slow work is acknowledged, then edited.
log_file = b"Nov 28 04:40:01 proxy: CONNECT 192.0.2.44:443 evil-updates.net\nnothing else\n"
hs.delay(r"/download/", 1.6, count=2)
f = hs.send_file(room, ALICE, log_file, "proxy.log", mimetype="text/plain")
ev = hs.send_message(room, ALICE, "!ioc", relates_to=hs.reply_to(f))
ack = wait_reply(hs, room, ev, bot=IOC, timeout=20)  # the raw reply: the acknowledgement
tap.ok(ack["content"]["body"].startswith("\u23f3 ioc extract"), f"slow work is first acknowledged: {ack['content']['body']!r}")
edit = hs.wait_for(lambda: [e for e in hs.sent_events(room_id=room, sender=IOC) if
                            e["content"].get("m.relates_to", {}).get("rel_type") == "m.replace" and
                            e["content"]["m.relates_to"]["event_id"] == ack["event_id"] and
                            "indicator" in e["content"].get("m.new_content", {}).get("body", "")],
                   timeout=20, what="the acknowledgement to be edited into the answer")[-1]
new = edit["content"]["m.new_content"]["body"]
tap.ok("2 indicators in proxy.log" in new, f"the edit holds the answer: {new.splitlines()[0]!r}")
tap.ok(edit["content"]["body"].startswith("* "), "with the '* ' fallback for clients without edits")

# defang and refang.
ev = hs.send_message(room, ALICE, "!ioc defang go to https://evil-corp.com/x now")
tap.ok("hxxps://evil-corp[.]com/x" in wait_answer(hs, room, ev, bot=IOC)["content"]["body"], "defang")
ev = hs.send_message(room, ALICE, "!ioc refang hxxps://evil-corp[.]com/x")
html = wait_answer(hs, room, ev, bot=IOC)["content"]["formatted_body"]
tap.ok("<pre><code>https://evil-corp.com/x</code></pre>" in html, "refang shows the live text in a code block, as asked")

# Usage errors say what was wrong and show the usage.
ev = hs.send_message(room, ALICE, "!ioc defang")
body = wait_answer(hs, room, ev, bot=IOC)["content"]["body"]
tap.ok("text is missing" in body and "Usage: !ioc defang <text>" in body, f"a usage error: {body!r}")
ev = hs.send_message(room, ALICE, '!ioc extract "unclosed')
body = wait_answer(hs, room, ev, bot=IOC)["content"]["body"]
tap.ok("never closed" in body, f"a parse error: {body!r}")

# Help, generated from the tables, shows only what the caller may run.
ev = hs.send_message(room, ALICE, "!help")
body = wait_answer(hs, room, ev)["content"]["body"]
tap.ok("!ioc extract <text>" in body and "!ioc refang <text>" in body and "!enrich <indicator>" in body,
       "!help lists the tools' commands for an analyst")
ev = hs.send_message(room, ALICE, "!help ioc defang")
body = wait_answer(hs, room, ev)["content"]["body"]
tap.ok("!ioc defang <text>" in body and "text" in body, f"!help ioc defang explains one command")

# A federated guest: may extract, may not refang, does not see refang or !enrich in !help.
guest_room = room_with_bot(hs)
hs.invite(guest_room, ALICE, IOC)
hs.wait_for(lambda: hs.members(guest_room).get(IOC) == "join", timeout=10, what="the ioc bot to join")
hs.invite(guest_room, ALICE, GUEST)
hs.join(guest_room, GUEST)
ev = hs.send_message(guest_room, GUEST, "!help")
body = wait_answer(hs, guest_room, ev)["content"]["body"]
tap.ok("!ioc extract" in body and "!ioc refang" not in body and "!enrich" not in body,
       "a federated guest's !help shows only what a guest may run")
ev = hs.send_message(guest_room, GUEST, "!ioc refang evil[.]com")
body = wait_answer(hs, guest_room, ev, bot=IOC)["content"]["body"]
tap.ok("You may not run !ioc refang" in body and "guest" in body, f"and refang is refused, with the rule: {body!r}")
ev = hs.send_message(guest_room, GUEST, "!ioc extract evil[.]com")
tap.ok("1 indicator" in wait_answer(hs, guest_room, ev, bot=IOC)["content"]["body"], "while extract works for a guest")

# Addressing the tool's bot by mention needs no tool word.
ev = hs.send_message(room, ALICE, "IOC extractor: defang evil-corp.com",
                     formatted_body=f'<a href="https://matrix.to/#/{IOC}">IOC extractor</a>: defang evil-corp.com',
                     extra_content={"m.mentions": {"user_ids": [IOC]}})
tap.ok("evil-corp[.]com" in wait_answer(hs, room, ev, bot=IOC)["content"]["body"], "a mention of the tool's bot runs its command")

tap.is_(wr.stop(), 0, "warroom exits 0")
tap.is_(wr.sanitizer_report(), [], "no sanitizer report")
hs.stop()
tap.done()
