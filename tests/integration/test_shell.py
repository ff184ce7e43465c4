"""warroom shell: the bots without a homeserver.  Lines on standard input
are commands from one local user in a local direct chat with the bots; the
answers are printed.  Checked as a user would: help, a tool command with
and without the prefix, a command still running when the input ends (its
answer is still printed), the permission table (a guest is refused an
analyst's tool, a server ranked none gets nothing run), the same storage
as the daemon (events and command records), a second run that sets up
nothing twice, and the usage and configuration errors.
"""

import os
import signal
import sqlite3
import subprocess
import time

import harness
from toolservers.dnsmasq import SilentResolver

tap = harness.Tap()
tmp = harness.tmpdir()
silent = SilentResolver()

wr = harness.Warroom(tmp, config_extra={
    "bridge": {"permissions": {"localhost": "analyst", "evil.example": "none"}},
    "bridges": {
        "ioc": {"enabled": True},
        "dns": {"enabled": True, "resolvers": [silent.address], "timeout": "1s"},
    },
    "logging": {"level": "info"},
})


def shell(lines, *args, timeout=30, stdin_file=None):
    """Runs warroom shell with the lines as input; returns (status, stdout, stderr)."""
    cmd = [wr.binary, "shell", "-c", str(wr.config_path), *args]
    if stdin_file is not None:
        with open(stdin_file, "rb") as f:
            p = subprocess.run(cmd, stdin=f, capture_output=True, timeout=timeout, cwd=tmp)
    else:
        p = subprocess.run(cmd, input="".join(line + "\n" for line in lines).encode(), capture_output=True,
                           timeout=timeout, cwd=tmp)
    out, err = p.stdout.decode(), p.stderr.decode()
    for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        if mark in err:
            tap.diag(err)
    tap.ok(not any(m in err for m in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")),
           "no sanitizer report")
    return p.returncode, out, err


# help, a tool with and without the prefix, a builtin without it.
t0 = time.monotonic()
status, out, err = shell(["help", "!ioc extract see hxxp://evil[.]com/x and 198.51.100.7 today",
                          "ioc refang 1.2.3[.]4", "ping"])
tap.is_(status, 0, "the shell exits 0 at the end of its input")
tap.ok("!ioc extract" in out and "!ping" in out, "help lists the tools and commands the user may run")
tap.ok("IOC extractor: 2 indicators in the text" in out, "a prefixed tool command is answered by the tool's bot")
tap.ok("hxxp://evil[.]com/x" in out and "198.51.100[.]7" in out, "indicators in the answer are defanged")
tap.ok("1.2.3.4" in out, "in the shell's direct chat a command needs no prefix")
tap.ok("IOC extractor: Refanged" in out, "and the tool's own bot answers it, not the main bot")
tap.ok("pong" in out, "the main bot's own commands work")
tap.ok("Working" not in err and "error" not in err.lower(), "nothing is logged at the default level: " + err[:200])

# A command still running when the input ends is answered before exit.
t0 = time.monotonic()
status, out, err = shell(["!dns a www.example.com"])
took = time.monotonic() - t0
tap.is_(status, 0, "exit 0 after a command that failed in the tool")
tap.ok("did not answer" in out, "the answer of a command running at the end of input is printed: " + out[-300:])
tap.ok(took < 15, f"and the shell then ends ({took:.1f} s)")

# Ctrl-C with a command running (and the input still open): the answer
# is printed, then the shell ends.
p = subprocess.Popen([wr.binary, "shell", "-c", str(wr.config_path)], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp)
p.stdin.write(b"!dns a www.example.com\n")
p.stdin.flush()
time.sleep(0.3)
p.send_signal(signal.SIGINT)
out, err = p.communicate(timeout=20)
tap.is_(p.returncode, 0, "Ctrl-C ends the shell with status 0")
tap.ok("did not answer" in out.decode(), "after the running command answered: " + out.decode()[-200:])
tap.ok("AddressSanitizer" not in err.decode() and "runtime error:" not in err.decode(), "no sanitizer report")

# Permissions: the same table as in rooms.
status, out, err = shell(["!dns a www.example.com"], "--as", "@guest:elsewhere.example")
tap.ok("may not run" in out and "guest" in out, "a federated guest is refused an analyst's tool: " + out[:300])
status, out, err = shell(["!ioc extract 203.0.113.9", "ping"], "--as", "@mallory:evil.example")
tap.ok("203.0.113" not in out and "pong" not in out, "a user ranked none gets nothing run: " + out[:300])

# The same storage as the daemon.
db = sqlite3.connect(wr.db_path)
n_msgs = db.execute("SELECT count(*) FROM events WHERE sender = '@shell:localhost' AND type = 'm.room.message'"
                    ).fetchone()[0]
tap.is_(n_msgs, 6, "every line is stored as an event from @shell:localhost")
cmds = dict(db.execute("SELECT command, status FROM commands WHERE sender = '@shell:localhost' "
                       "AND command LIKE 'ioc%'").fetchall())
tap.is_(cmds, {"ioc extract": "done", "ioc refang": "done"}, "commands are recorded with their outcome")
refused = db.execute("SELECT status FROM commands WHERE sender = '@guest:elsewhere.example'").fetchall()
tap.is_(refused, [("refused",)], "the refusal is recorded")
members = db.execute("SELECT count(*) FROM events WHERE room_id = '!shell:localhost' AND type = 'm.room.member'"
                     ).fetchone()[0]
db.close()

# A second run sets nothing up twice; input from a file works.
path = os.path.join(tmp, "input.txt")
with open(path, "w", encoding="utf-8") as f:
    f.write("ioc defang http://evil.com/path\nping")  # the last line has no newline
status, out, err = shell([], stdin_file=path)
tap.ok("hxxp://evil[.]com/path" in out and "pong" in out, "lines from a file, the last without a newline")
db = sqlite3.connect(wr.db_path)
tap.is_(db.execute("SELECT count(*) FROM events WHERE room_id = '!shell:localhost' AND type = 'm.room.member'"
                   ).fetchone()[0], members, "the local room is set up once")
db.close()

# Usage and configuration errors.
status, out, err = shell([], "--as", "shell")
tap.is_(status, 2, "--as without a user ID is a usage error")
tap.ok("@alice:example.org" in err, "and says what a user ID looks like")
status, out, err = shell([], "--bogus")
tap.is_(status, 2, "an unknown option is a usage error")
bad = os.path.join(tmp, "bad.yaml")
text = harness.to_yaml(harness.merge(wr.config, {"bridges": {"dns": {"timeout": "soon"}}})) + "\n"
bad_line = next(i for i, line in enumerate(text.splitlines(), 1) if "soon" in line)
with open(bad, "w", encoding="utf-8") as f:
    f.write(text)
p = subprocess.run([wr.binary, "shell", "-c", bad], input=b"ping\n", capture_output=True, timeout=30)
tap.is_(p.returncode, 1, "a bad configuration stops the shell")
tap.ok(f"bad.yaml:{bad_line}:" in p.stderr.decode(), "with file:line: " + p.stderr.decode()[:300])

silent.close()
tap.done()
