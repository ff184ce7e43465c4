"""The audit log through the real warroom and the test homeserver:
commands run and refused, permission decisions with the rule that made
them, a refused invite, the configuration at start-up (and a change of it
at the next start), and chain heads in the log and the table.  The chain
is recomputed here with Python's own JSON and SHA-256 (so the canonical
form is what the documentation says), `warroom audit verify` accepts it,
an anchored head from the log checks out, and tampering with the file
(an edited, a deleted, a swapped entry) makes verify fail at the right
entry.
"""

import hashlib
import json
import re
import shutil
import subprocess
import time

import sqlite3

import harness
from harness import ALICE, BOT, room_with_bot, wait_answer

IOC = "@soc_ioc:localhost"
GUEST = "@partner:partner.example"
EVE = "@eve:evil.example"
ZERO = "0" * 64

tap = harness.Tap()
tmp = harness.tmpdir()
hs, wr = harness.start_pair(tmp, config_extra={"audit": {"head_interval": "1s"}}, retry_scale=0.05)


def canonical(value):
    """Matrix's canonical JSON, as its reference implementation writes it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def rows():
    """Every audit entry, in seq order, as dicts."""
    db = wr.db()
    try:
        cur = db.execute("SELECT seq, ts, kind, detail, prev_hash, entry_hash FROM audit_log ORDER BY seq")
        return [dict(zip(("seq", "ts", "kind", "detail", "prev_hash", "entry_hash"), r)) for r in cur]
    finally:
        db.close()


def audit(*args, config=None):
    """Runs `warroom audit ...`; returns (status, stdout, stderr)."""
    p = subprocess.run([wr.binary, "audit", *args, "-c", str(config or wr.config_path)], capture_output=True,
                       timeout=60, cwd=tmp)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def details(kind, **match):
    """The parsed details of the entries of kind whose fields match."""
    out = []
    for r in rows():
        if r["kind"] != kind:
            continue
        d = json.loads(r["detail"])
        if all(d.get(k) == v for k, v in match.items()):
            out.append(d)
    return out


# Commands: one run by an analyst, one by the main bot, one refused to a guest.
room = room_with_bot(hs)
hs.invite(room, ALICE, IOC)
hs.wait_for(lambda: hs.members(room).get(IOC) == "join", timeout=10, what="the ioc bot to join")
hs.invite(room, ALICE, GUEST)
hs.join(room, GUEST)
ping = hs.send_message(room, ALICE, "!ping")
wait_answer(hs, room, ping)
extract = hs.send_message(room, ALICE, "!ioc extract C2 at 203.0.113.7")
wait_answer(hs, room, extract, bot=IOC)
refused = hs.send_message(room, GUEST, "!ioc refang evil[.]com")
body = wait_answer(hs, room, refused, bot=IOC)["content"]["body"]
tap.ok("You may not run" in body, "the guest's refang is refused in the room")

# An invite from someone the table does not allow.
eve_room = hs.create_room(EVE)
hs.invite(eve_room, EVE, BOT)
hs.wait_for(lambda: hs.members(eve_room).get(BOT) == "leave", timeout=10, what="the bot to reject eve's invite")

# The head appears in the log at the interval (1 s here).
hs.wait_for(lambda: "(interval)" in wr.log(), timeout=10, what="a chain head at the interval")

# What was recorded.
tap.ok(any(d.get("event") == "start" and re.fullmatch("[0-9a-f]{64}", d.get("digest", "")) for d in details("config")),
       "the configuration at start-up, as a digest")
start_cfg = next(d for d in details("config") if d.get("event") == "start")
cfg_text = json.dumps(start_cfg)
tap.ok(wr.as_token not in cfg_text and wr.hs_token not in cfg_text, "without the tokens")
tap.is_(start_cfg["config"]["audit"]["head_interval"], 1000, "with the effective values (audit.head_interval 1s)")
tap.ok(any(d.get("reason") == "start" for d in details("head")), "a head entry at start-up")
tap.ok(any(d.get("reason") == "interval" for d in details("head")), "and at the interval")

received = details("command", event_id=ping, phase="received")
finished = details("command", event_id=ping, phase="finished")
tap.ok(len(received) == 1 and received[0]["command"] == "ping" and received[0]["user"] == ALICE,
       "!ping received: who, what")
tap.ok(len(finished) == 1 and finished[0]["status"] == "done", "!ping finished: done")
perm = details("permission", event_id=extract)
tap.ok(len(perm) == 1 and perm[0]["allowed"] is True and perm[0]["rule"] == "localhost" and perm[0]["level"] == "analyst",
       f"the analyst's !ioc extract allowed by the rule 'localhost': {perm!r}")
rec = details("command", event_id=extract, phase="received")
tap.ok(len(rec) == 1 and rec[0]["bridge"] == "ioc" and rec[0]["command"] == "ioc extract" and "args" in rec[0],
       "with the tool and its arguments")
perm = details("permission", event_id=refused)
tap.ok(len(perm) == 1 and perm[0]["allowed"] is False and perm[0]["rule"] == "default" and perm[0]["user"] == GUEST
       and perm[0]["needed"] == "analyst", f"the guest's refang refused, by the rule that decided: {perm!r}")
fin = details("command", event_id=refused, phase="finished")
tap.ok(len(fin) == 1 and fin[0]["status"] == "refused" and "You may not run" in fin[0]["reason"],
       "the refused command's end, with why")
inv = [d for d in details("permission", action="invite") if d["user"] == EVE]
tap.ok(len(inv) == 1 and inv[0]["allowed"] is False and inv[0]["bot"] == BOT, f"eve's invite refused: {inv!r}")
inv = [d for d in details("permission", action="invite") if d["user"] == ALICE and d["bot"] == IOC]
tap.ok(len(inv) == 1 and inv[0]["allowed"] is True and inv[0]["rule"] == "localhost", "alice's invite accepted")

# The chain, recomputed independently: SHA-256(prev bytes || canonical entry).
def recompute(entries):
    prev = ZERO
    for r in entries:
        if r["prev_hash"] != prev:
            return f"entry {r['seq']} links to {r['prev_hash']}, not {prev}"
        if r["detail"] != canonical(json.loads(r["detail"])):
            return f"entry {r['seq']}'s detail is not canonical"
        entry = {"seq": r["seq"], "ts": r["ts"], "kind": r["kind"], "detail": json.loads(r["detail"]),
                 "prev_hash": r["prev_hash"]}
        h = hashlib.sha256(bytes.fromhex(r["prev_hash"]) + canonical(entry).encode("utf-8")).hexdigest()
        if h != r["entry_hash"]:
            return f"entry {r['seq']}: {h} != {r['entry_hash']}"
        prev = h
    return None


entries = rows()
tap.is_([r["seq"] for r in entries], list(range(1, len(entries) + 1)), "seq counts from 1 without gaps")
tap.is_(recompute(entries), None, "Python's json and hashlib recompute every entry_hash")

# verify while the daemon runs.
status, out, err = audit("verify")
m = re.fullmatch(r"(\d+) entries, chain intact, head ([0-9a-f]{64})\n", out)
tap.ok(status == 0 and m is not None, f"warroom audit verify: exit 0, '{out.strip()}' {err}")
tap.ok(m is not None and int(m.group(1)) >= len(entries), "counting every entry")

# Stop: a last head entry, and the head in the log to anchor outside.
tap.is_(wr.stop(), 0, "warroom exits 0")
entries = rows()
tap.ok(entries[-1]["kind"] == "head" and json.loads(entries[-1]["detail"])["reason"] == "shutdown",
       "the last entry is the shutdown head")
heads = re.findall(r"audit: chain head (\d+):([0-9a-f]{64}) \(shutdown\)", wr.log())
tap.ok(heads and int(heads[-1][0]) == entries[-1]["seq"] and heads[-1][1] == entries[-1]["entry_hash"],
       "and the log says the same head")
status, out, _ = audit("verify")
tap.ok(status == 0 and out.startswith(f"{len(entries)} entries, chain intact, head {entries[-1]['entry_hash']}"),
       f"verify after shutdown: {out.strip()}")
anchor = f"{heads[-1][0]}:{heads[-1][1]}"
status, out, _ = audit("verify", "--head", anchor)
tap.is_(status, 0, "the anchored head from the log checks out")

# show, as text and as JSON lines.
status, out, _ = audit("show", "--json")
shown = [json.loads(line) for line in out.splitlines()]
tap.ok(status == 0 and [e["seq"] for e in shown] == [r["seq"] for r in entries], "audit show --json lists every entry")
status, out, _ = audit("show", "--since", str(entries[-1]["ts"]))
tap.ok(status == 0 and out.splitlines() and out.splitlines()[-1].startswith(f"{entries[-1]['seq']} ")
       and len(out.splitlines()) < len(entries), "audit show --since T starts at T")

# A changed configuration is recorded at the next start.
# (Edit the file -g wrote the tokens into, rather than rewrite it.)
text = wr.config_path.read_text(encoding="utf-8")
wr.config_path.write_text(text.replace("bridge:\n", "bridge:\n  command_max_age: 5m\n", 1), encoding="utf-8")
wr.start()
hs.wait_for(lambda: any(d.get("event") == "changed" for d in details("config")), timeout=10,
            what="the config changed entry")
changed = next(d for d in details("config") if d.get("event") == "changed")
tap.is_(changed["changed_keys"], ["bridge.command_max_age"], "'config changed' names the key that changed")
tap.is_(wr.stop(), 0, "warroom exits 0 again")
tap.is_(wr.sanitizer_report(), [], "no sanitizer report")
hs.stop()
status, out, _ = audit("verify")
tap.is_(status, 0, "the chain verifies across restarts")

# Tampering, each on a fresh copy of the database (and a config naming it).
entries = rows()
refused_seq = next(r["seq"] for r in entries
                   if r["kind"] == "permission" and json.loads(r["detail"]).get("event_id") == refused)
clean = wr.dir / "clean.db"
shutil.copy(wr.db_path, clean)
copy_db = wr.dir / "tampered.db"
copy_config = wr.dir / "tampered.yaml"
copy_config.write_text(wr.config_path.read_text(encoding="utf-8").replace(str(wr.db_path), str(copy_db)),
                       encoding="utf-8")


def tampered(sql, *args, head=None):
    """A fresh copy of the clean database with sql run on it; returns
    verify's (status, stdout) on it."""
    for suffix in ("", "-wal", "-shm"):
        p = copy_db.with_name(copy_db.name + suffix)
        if p.exists():
            p.unlink()
    shutil.copy(clean, copy_db)
    db = sqlite3.connect(str(copy_db))
    try:
        if args:
            db.execute(sql, args)
        else:
            db.executescript(sql)
        db.commit()
    finally:
        db.close()
    status, out, _ = audit("verify", *(("--head", head) if head else ()), config=copy_config)
    return status, out


status, out = tampered("SELECT 1")
tap.is_(status, 0, "an untouched copy verifies")
forged = canonical(dict(json.loads(next(r["detail"] for r in entries if r["seq"] == refused_seq)), allowed=True))
status, out = tampered("UPDATE audit_log SET detail = ? WHERE seq = ?", forged, refused_seq)
tap.ok(status == 1 and out.startswith(f"chain broken at entry {refused_seq}: entry {refused_seq} was changed"),
       f"the guest's refusal edited into 'allowed': {out.strip()}")
status, out = tampered(f"DELETE FROM audit_log WHERE seq = {refused_seq}")
tap.ok(status == 1 and out.startswith(f"chain broken at entry {refused_seq}: entry {refused_seq} was removed"),
       f"the refusal deleted: {out.strip()}")
status, out = tampered(f"UPDATE audit_log SET seq = -1 WHERE seq = {refused_seq};"
                       f"UPDATE audit_log SET seq = {refused_seq} WHERE seq = {refused_seq + 1};"
                       f"UPDATE audit_log SET seq = {refused_seq + 1} WHERE seq = -1;")
tap.ok(status == 1 and out.startswith(f"chain broken at entry {refused_seq}: entries were reordered"),
       f"the refusal swapped with the next entry: {out.strip()}")
last = entries[-1]
status, out = tampered(f"DELETE FROM audit_log WHERE seq >= {last['seq'] - 1}")
tap.is_(status, 0, "the newest entries deleted: the chain alone cannot tell")
status, out = tampered(f"DELETE FROM audit_log WHERE seq >= {last['seq'] - 1}", head=f"{last['seq']}:{last['entry_hash']}")
tap.ok(status == 1 and out.startswith(f"chain broken at entry {last['seq'] - 1}"), f"but the anchored head can: {out.strip()}")
status, out = tampered("SELECT 1", head=f"{last['seq']}:{last['entry_hash']}")
tap.is_(status, 0, "while the untouched copy matches its anchored head")
status, _, err = audit("verify", "--head", "nonsense")
tap.is_(status, 2, "a malformed --head is a usage error")
tap.done()
