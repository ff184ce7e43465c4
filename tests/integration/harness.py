"""What every integration test needs: TAP output, temporary directories,
and a handle on a running warroom wired to the fake homeserver.

A test script imports this module (it sits beside the tests), makes a Tap,
and ends with tap.done():

    import harness
    tap = harness.Tap()
    tmp = harness.tmpdir()
    hs, wr = harness.start_pair(tmp, retry_scale=0.05)
    ...
    tap.is_(status, 200, "warroom answers the ping")
    wr.stop(); hs.stop()
    tap.done()

A test must not pass by accident: tap.done() fails when nothing was
tested, and an uncaught exception prints "not ok" and "Bail out!" and
exits non-zero.  On failure the temporary directories are kept (and
named) and the tail of every warroom log is printed.

Environment (set by `make check`): WARROOM, the binary under test.
"""

import atexit
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent.parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from homeserver import FakeHomeserver, MatrixError, WaitTimeout, read_registration  # noqa: E402

FIXTURES = TESTS_DIR / "fixtures" / "synapse"

_TMPDIRS = []
_WARROOMS = []


def fixture(name):
    """A captured Synapse request from tests/fixtures/synapse (parsed JSON)."""
    with open(FIXTURES / name, encoding="utf-8") as f:
        return json.load(f)


# ---- TAP -----------------------------------------------------------------------------


def _pretty(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=repr)
    return repr(value)


class Tap:
    """TAP output for automake's tap-driver.sh.  One per test script."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self._lock = threading.Lock()
        sys.excepthook = self._excepthook
        threading.excepthook = self._thread_excepthook

    def _line(self, text):
        print(text, flush=True)

    @staticmethod
    def _description(msg):
        """One line, with "#" escaped so it never reads as a directive."""
        return " ".join(str(msg).split()).replace("#", "\\#")

    def ok(self, cond, msg):
        """One test point.  Returns cond as a bool so callers can branch."""
        with self._lock:
            self.n += 1
            if not cond:
                self.failed += 1
            self._line(f"{'ok' if cond else 'not ok'} {self.n} - {self._description(msg)}")
        return bool(cond)

    def is_(self, got, want, msg):
        """got == want; on failure both are printed as diagnostics."""
        if self.ok(got == want, msg):
            return True
        self.diag("   got: " + _pretty(got))
        self.diag("  want: " + _pretty(want))
        return False

    def skip(self, msg):
        """A test point that was skipped, with the reason."""
        with self._lock:
            self.n += 1
            self._line(f"ok {self.n} # SKIP {self._description(msg)}")

    def diag(self, msg):
        """Diagnostic lines ("# ...") that never affect the result."""
        for line in str(msg).splitlines() or [""]:
            self._line("# " + line)

    def skip_all(self, reason):
        """Nothing can be tested here (e.g. no warroom binary): says so, exits 0."""
        self._line(f"1..0 # SKIP {reason}")
        _cleanup(keep=False)
        sys.exit(0)

    def done(self):
        """Prints the plan and exits: 0 if every test passed, 1 otherwise."""
        if self.n == 0:
            self.ok(False, "the script ran at least one test")
        self._line(f"1..{self.n}")
        failed = self.failed > 0
        _cleanup(keep=failed)
        # os._exit: no lingering server thread may keep the script alive.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1 if failed else 0)

    def _excepthook(self, exc_type, exc, tb):
        with self._lock:
            self.n += 1
            self.failed += 1
            first = str(exc).splitlines()[0] if str(exc) else ""
            self._line(f"not ok {self.n} - uncaught {exc_type.__name__}: {self._description(first)}")
        self.diag("".join(traceback.format_exception(exc_type, exc, tb)))
        self._line(f"Bail out! uncaught {exc_type.__name__}")
        _cleanup(keep=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)

    def _thread_excepthook(self, args):
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread else "?"
        self.ok(False, f"no exception in thread {name}: {args.exc_type.__name__}: {args.exc_value}")
        self.diag("".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)))


def _cleanup(keep):
    """Stops leftover warroom processes and removes (or keeps) temporary directories."""
    for wr in list(_WARROOMS):
        if keep:
            tail = wr.log_tail(30)
            if tail:
                print(f"# last lines of {wr.log_path}:", flush=True)
                for line in tail.splitlines():
                    print("#   " + line, flush=True)
        wr.kill9()
    for path in list(_TMPDIRS):
        if keep:
            print(f"# kept {path} for inspection", flush=True)
        else:
            shutil.rmtree(path, ignore_errors=True)
        _TMPDIRS.remove(path)


atexit.register(lambda: [wr.kill9() for wr in list(_WARROOMS)])


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tmpdir(prefix="warroom-test-"):
    """A new temporary directory, removed by Tap.done() if every test
    passed and kept (and named) otherwise."""
    path = tempfile.mkdtemp(prefix=prefix)
    _TMPDIRS.append(path)
    return path


# ---- config files ---------------------------------------------------------------------------

DELETE = object()  # in config_extra: remove this key from the default config


def _yaml_key(key):
    key = str(key)
    if key and all(c.isalnum() or c in "_-." for c in key):
        return key
    return json.dumps(key, ensure_ascii=False)


def _yaml_scalar(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return str(value)
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(str(value), ensure_ascii=False)


def to_yaml(obj, indent=0):
    """YAML text for nested dicts, lists and scalars (block style)."""
    pad = " " * indent
    lines = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(value, dict) and value:
                lines.append(f"{pad}{_yaml_key(key)}:")
                lines.append(to_yaml(value, indent + 2))
            elif isinstance(value, list) and value:
                lines.append(f"{pad}{_yaml_key(key)}:")
                lines.append(to_yaml(value, indent + 2))
            elif isinstance(value, (dict, list)):
                lines.append(f"{pad}{_yaml_key(key)}: {'{}' if isinstance(value, dict) else '[]'}")
            else:
                lines.append(f"{pad}{_yaml_key(key)}: {_yaml_scalar(value)}")
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, (dict, list)) and item:
                nested = to_yaml(item, indent + 2).lstrip()
                lines.append(f"{pad}- {nested}")
            else:
                lines.append(f"{pad}- {_yaml_scalar(item)}")
    else:
        lines.append(pad + _yaml_scalar(obj))
    return "\n".join(lines)


def merge(base, extra):
    """base updated with extra, recursively for nested dicts; DELETE removes a key."""
    out = dict(base)
    for key, value in (extra or {}).items():
        if value is DELETE:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


# ---- warroom ------------------------------------------------------------------------------------

_HS_TOKEN = object()


def warroom_binary():
    """The binary under test ($WARROOM), or None if there is none."""
    path = os.environ.get("WARROOM")
    return path if path and os.access(path, os.X_OK) else None


class Warroom:
    """One warroom daemon in its own directory, talking to hs (a
    FakeHomeserver, or None until one is attached with .hs = ...)."""

    def __init__(self, tmpdir, hs=None, port=None, config_extra=None, hs_port=None):
        self.dir = Path(tmpdir)
        self.hs = hs
        self.port = port or free_port()
        if hs is not None and not hs.port:
            raise ValueError("start the FakeHomeserver before giving it to Warroom")
        # Without a homeserver yet, reserve a port for the one to come.
        self.hs_port = hs.port if hs is not None else (hs_port or free_port())
        self.binary = os.environ.get("WARROOM", "warroom")
        self.config_path = self.dir / "config.yaml"
        self.registration_path = self.dir / "registration.yaml"
        self.log_path = self.dir / "warroom.log"
        self.db_path = self.dir / "warroom.db"
        self.registration = None
        self.proc = None
        self.config = merge(self.default_config(), config_extra)
        self.write_config()

    def default_config(self):
        """The config.yaml content before config_extra is merged in."""
        return {
            "homeserver": {"address": f"http://127.0.0.1:{self.hs_port}", "domain": "localhost"},
            "appservice": {
                "address": f"http://127.0.0.1:{self.port}",
                "hostname": "127.0.0.1",
                "port": self.port,
                "id": "warroom",
                "bot": {"username": "warroom", "displayname": "Warroom"},
                "database": str(self.db_path),
            },
            "bridge": {"permissions": {"localhost": "analyst", "@admin:localhost": "admin"}},
            "logging": {"level": "debug"},
        }

    def write_config(self):
        """Writes self.config to config.yaml."""
        self.config_path.write_text(to_yaml(self.config) + "\n", encoding="utf-8")

    def set_bridge_config(self, name, section):
        """Rewrites config.yaml with other settings for bridges.<name>,
        keeping the tokens -g wrote (takes effect at the next start)."""
        if self.registration:
            self.config["appservice"].update(as_token=self.as_token, hs_token=self.hs_token)
        self.config.setdefault("bridges", {})[name] = section
        self.write_config()

    def refuses_to_start(self, what_is_wrong, timeout=15):
        """Starts warroom with the current config, which must make it exit
        at once; returns (exit status, 1 if the log says what_is_wrong at
        the line of bridges.<name>, where what_is_wrong begins with
        "bridges.<name>:")."""
        self.start(wait_ready=False)
        self.proc.wait(timeout=timeout)
        code = self.stop()
        section = what_is_wrong.split(":", 1)[0].split(".")[-1] + ":"
        line = next(i for i, text in enumerate(self.config_path.read_text().splitlines(), 1)
                    if text.strip() == section)
        return code, f"config.yaml:{line}: {what_is_wrong}" in self.log()

    @property
    def url(self):
        """Where warroom listens: http://127.0.0.1:PORT."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def hs_token(self):
        """The hs_token from the registration, once generate() ran."""
        return self.registration["hs_token"] if self.registration else None

    @property
    def as_token(self):
        """The as_token from the registration, once generate() ran."""
        return self.registration["as_token"] if self.registration else None

    def generate(self, timeout=30):
        """Runs `warroom -g -c config.yaml -r registration.yaml` and returns
        the parsed registration (with user_regex added)."""
        result = subprocess.run([self.binary, "-g", "-c", str(self.config_path), "-r", str(self.registration_path)],
                                cwd=self.dir, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(f"warroom -g exited with {result.returncode}:\n{result.stderr}{result.stdout}")
        self.registration = read_registration(self.registration_path)
        return self.registration

    def start(self, wait_ready=True, timeout=15):
        """Starts the daemon (stdout and stderr to warroom.log) and waits
        until GET /_warroom/ready answers 200."""
        if self.proc is not None and self.proc.poll() is None:
            raise AssertionError("warroom is already running")
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen([self.binary, "-c", str(self.config_path)], cwd=self.dir,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        _WARROOMS.append(self)
        if wait_ready:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=15):
        """Polls GET /_warroom/ready until 200; raises with the log tail if not."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                raise AssertionError(f"warroom exited with {code} before it was ready; log:\n{self.log_tail()}")
            try:
                status, _ = self.request("GET", "/_warroom/ready", token=None, timeout=2)
                if status == 200:
                    return
                last = f"status {status}"
            except OSError as e:
                last = str(e)
            time.sleep(0.05)
        raise AssertionError(f"warroom not ready after {timeout} s ({last}); log:\n{self.log_tail()}")

    def running(self):
        """True while the daemon process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Sends sig and waits for the exit; returns the exit code (negative:
        killed by a signal).  Raises if it does not exit within timeout."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
                raise AssertionError(f"warroom did not exit within {timeout} s of signal {sig}; "
                                     f"log:\n{self.log_tail()}")
        self._forget()
        return self.proc.returncode

    def kill9(self):
        """SIGKILL, as a crash or an OOM kill would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._forget()
        return self.proc.returncode if self.proc else None

    def _forget(self):
        if self in _WARROOMS:
            _WARROOMS.remove(self)

    def request_full(self, method, path, body=None, token=_HS_TOKEN, raw=None, headers=None, timeout=10):
        """One HTTP request to warroom.  Returns (status, headers, bytes)."""
        hdrs = {}
        if token is _HS_TOKEN:
            token = self.hs_token
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode("utf-8")
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def request(self, method, path, body=None, token=_HS_TOKEN, raw=None, headers=None, timeout=10):
        """One HTTP request to warroom, authenticated with the hs_token
        unless token says otherwise (None: no Authorization header).
        Returns (status, parsed JSON or text)."""
        status, _, data = self.request_full(method, path, body, token, raw, headers, timeout)
        try:
            return status, json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return status, data.decode("utf-8", "replace")

    def db(self):
        """A read-only connection to warroom's SQLite database."""
        uri = "file:" + urllib.parse.quote(str(self.db_path)) + "?mode=ro"
        return sqlite3.connect(uri, uri=True, timeout=5)

    def log(self):
        """The whole log so far (stdout and stderr of the daemon)."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=40):
        """The last lines of the log."""
        return "\n".join(self.log().splitlines()[-lines:])

    def sanitizer_report(self):
        """Lines of the log where ASan or UBSan reported a problem."""
        marks = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
        return [line for line in self.log().splitlines() if any(m in line for m in marks)]


def start_pair(tmp, config_extra=None, start_warroom=True, **hs_kw):
    """A FakeHomeserver and a Warroom wired together: generates the
    registration, builds the homeserver from it (hs_kw are passed on, e.g.
    retry_scale=0.05), starts both.  Returns (hs, warroom)."""
    wr = Warroom(tmp, config_extra=config_extra)
    wr.generate()
    hs = FakeHomeserver.from_registration(wr.registration_path, port=wr.hs_port, **hs_kw)
    hs.start()
    wr.hs = hs
    if start_warroom:
        try:
            wr.start()
        except BaseException:
            hs.stop()
            raise
    return hs, wr


# ---- conversations ---------------------------------------------------------------------

BOT = "@warroom:localhost"
ALICE = "@alice:localhost"


def room_with_bot(hs, creator=ALICE, bot=BOT, timeout=10, **kw):
    """Creates a room, invites the bot and waits until it has joined.
    Returns the room ID."""
    room = hs.create_room(creator, **kw)
    hs.invite(room, creator, bot, is_direct=kw.get("is_direct", False))
    hs.wait_for(lambda: hs.members(room).get(bot) == "join", timeout=timeout, what=f"{bot} to join {room}")
    return room


def bot_messages(hs, room, bot=BOT):
    """The m.room.message events the bot sent to a room, in order."""
    return [e for e in hs.sent_events(room_id=room, sender=bot) if e["type"] == "m.room.message"]


def wait_reply(hs, room, command_event_id, bot=BOT, timeout=10):
    """Waits for the bot's answer in the thread of a command and returns it."""
    def find():
        for e in bot_messages(hs, room, bot):
            rel = e["content"].get("m.relates_to", {})
            if rel.get("m.in_reply_to", {}).get("event_id") == command_event_id:
                return e
        return None
    return hs.wait_for(find, timeout=timeout, what=f"the answer to {command_event_id}")


def wait_answer(hs, room, command_event_id, bot=BOT, timeout=10):
    """Waits for the bot's final answer to a command, as a client shows it:
    the reply in the command's thread, or its latest edit (m.replace) once
    that is no longer the "⏳" acknowledgement of slow work.  Returns the
    reply event with "content" replaced by the final content (keeping the
    reply's m.relates_to)."""
    def find():
        mine = bot_messages(hs, room, bot)
        reply = next((e for e in mine if e["content"].get("m.relates_to", {}).get("m.in_reply_to", {})
                      .get("event_id") == command_event_id), None)
        if reply is None:
            return None
        content = reply["content"]
        for e in mine:
            rel = e["content"].get("m.relates_to", {})
            if rel.get("rel_type") == "m.replace" and rel.get("event_id") == reply["event_id"]:
                content = dict(e["content"]["m.new_content"], **{"m.relates_to": reply["content"]["m.relates_to"]})
        if content.get("body", "").startswith("\u23f3"):
            return None
        return dict(reply, content=content)
    return hs.wait_for(find, timeout=timeout, what=f"the answer to {command_event_id}")


def ask(hs, room, bot, text, sender=ALICE, timeout=10):
    """Sends a command as sender; returns (body, org.warroom.result) of the
    bot's final answer (wait_answer)."""
    ev = hs.send_message(room, sender, text)
    content = wait_answer(hs, room, ev, bot=bot, timeout=timeout)["content"]
    return content["body"], content.get("org.warroom.result", {})


def count(wr, sql, *args):
    """One integer from warroom's database."""
    with wr.db() as db:
        return db.execute(sql, args).fetchone()[0]


def metric(wr, name):
    """The value of one Prometheus sample from /metrics (a float), or None."""
    status, text = wr.request("GET", "/metrics", token=None)
    if status != 200:
        return None
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            if line.split(" ")[0] == name or name.endswith("}"):
                return float(line.rsplit(" ", 1)[1])
    return None


__all__ = ["Tap", "Warroom", "FakeHomeserver", "MatrixError", "WaitTimeout", "FIXTURES", "DELETE", "fixture",
           "free_port", "merge", "start_pair", "tmpdir", "to_yaml", "warroom_binary", "read_registration",
           "BOT", "ALICE", "room_with_bot", "bot_messages", "wait_reply", "wait_answer", "count", "metric"]
