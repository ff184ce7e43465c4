"""What every fake tool server shares: an HTTP server on 127.0.0.1 in a
thread, a log of the requests it saw (with how many were in flight at
once), and misbehaviour a test asks for.

A tool's fake subclasses ToolServer and implements handle(request), which
returns (status, headers, body); a body that is a dict or a list is sent
as JSON.  Before handle() runs, the rules a test added are consulted in
the order they were added, each for `count` requests (None: all):

    srv.delay(r"/domain/", 3.0)                 # answer slowly
    srv.fail(r"/check", 500, {"errors": [...]}) # an error answer
    srv.fail(r"/urls/", 429, body, headers={"Retry-After": "30"})
    srv.malformed(r"/ip/")                      # a body that is not JSON
    srv.redirect(r"/ip/", "http://...")         # a 301 to elsewhere

Only the standard library is used.
"""

import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional


@dataclass
class Request:
    """One request the fake received."""
    method: str
    path: str      # without the query string
    query: dict    # parsed: name -> [values]
    raw_query: str
    headers: dict  # lower-case names
    body: bytes
    started: float
    ended: Optional[float] = None


@dataclass
class Rule:
    kind: str                  # "delay", "fail", "malformed", "redirect"
    pattern: re.Pattern
    method: Optional[str]
    remaining: Optional[int]
    seconds: float = 0.0
    status: int = 500
    body: object = None
    headers: dict = field(default_factory=dict)
    location: str = ""

    def matches(self, method, path):
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        return bool(self.pattern.search(path))


class ToolServer:
    """A fake tool API on 127.0.0.1 (a free port unless one is given)."""

    name = "tool"
    json_type = "application/json"

    def __init__(self, port=0):
        self._port = port
        self._lock = threading.Lock()
        self._rules = []
        self.requests = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._httpd = None
        self._thread = None

    # ---- life ----------------------------------------------------------------------------

    def start(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):  # quiet: the test prints what matters
                pass

            def _any(self):
                server._serve(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name=f"fake-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def port(self):
        return self._httpd.server_address[1]

    @property
    def url(self):
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    # ---- what the test sees ------------------------------------------------------------

    def count(self, path_regex=None, method=None):
        """How many requests matched (all so far if no filter)."""
        with self._lock:
            return sum(1 for r in self.requests
                       if (path_regex is None or re.search(path_regex, r.path))
                       and (method is None or r.method == method.upper()))

    def seen(self, path_regex=None, method=None):
        """The requests that matched, oldest first."""
        with self._lock:
            return [r for r in self.requests
                    if (path_regex is None or re.search(path_regex, r.path))
                    and (method is None or r.method == method.upper())]

    def reset(self):
        """Forgets the requests and the rules."""
        with self._lock:
            self.requests.clear()
            self._rules.clear()
            self.max_in_flight = self.in_flight

    # ---- misbehaviour ----------------------------------------------------------------------

    def _add(self, rule):
        with self._lock:
            self._rules.append(rule)
        return rule

    def delay(self, path_regex, seconds, count=None, method=None):
        """Sleeps before answering the matching requests."""
        return self._add(Rule("delay", re.compile(path_regex), method, count, seconds=seconds))

    def fail(self, path_regex, status, body=None, headers=None, count=1, method=None):
        """Answers status with body (JSON if a dict or list) and headers."""
        return self._add(Rule("fail", re.compile(path_regex), method, count, status=status, body=body,
                              headers=dict(headers or {})))

    def malformed(self, path_regex, count=1, method=None):
        """Answers 200 with a JSON content type and a body that is not JSON."""
        return self._add(Rule("malformed", re.compile(path_regex), method, count))

    def redirect(self, path_regex, location, status=301, count=1, method=None):
        """Answers a redirect to location."""
        return self._add(Rule("redirect", re.compile(path_regex), method, count, status=status, location=location))

    def _match(self, method, path):
        """The delay and the answering rule for a request, consumed."""
        delay, answer = 0.0, None
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path):
                    continue
                if rule.kind == "delay":
                    if delay:
                        continue
                    delay = rule.seconds
                elif answer is None:
                    answer = rule
                else:
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
        return delay, answer

    # ---- serving -----------------------------------------------------------------------------

    def handle(self, request):
        """The tool's answer: (status, headers, body).  Subclasses implement it."""
        return 404, {}, {"error": "not found"}

    def _serve(self, h):
        parts = urllib.parse.urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length > 0 else b""
        req = Request(method=h.command, path=urllib.parse.unquote(parts.path),
                      query=urllib.parse.parse_qs(parts.query, keep_blank_values=True), raw_query=parts.query,
                      headers={k.lower(): v for k, v in h.headers.items()}, body=body, started=time.monotonic())
        with self._lock:
            self.requests.append(req)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            delay, rule = self._match(req.method, req.path)
            if delay:
                time.sleep(delay)
            if rule is None:
                status, headers, payload = self.handle(req)
            elif rule.kind == "fail":
                status, headers, payload = rule.status, dict(rule.headers), rule.body
            elif rule.kind == "malformed":
                status, headers, payload = 200, {"Content-Type": self.json_type}, b'{"data": {"id": "x", "attrib'
            else:
                status, headers, payload = rule.status, {"Location": rule.location}, b""
            self._write(h, status, headers, payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout): nothing to answer
        finally:
            with self._lock:
                self.in_flight -= 1
                req.ended = time.monotonic()

    def _write(self, h, status, headers, payload):
        if isinstance(payload, (dict, list)):
            data = json.dumps(payload).encode("utf-8")
            headers.setdefault("Content-Type", self.json_type)
        elif isinstance(payload, str):
            data = payload.encode("utf-8")
        else:
            data = payload or b""
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, str(v))
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)


def serve_forever(server):
    """For running a fake by hand: `python3 -m toolservers.rdap --port 8400`."""
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    server._port = args.port
    server.start()
    print(f"{server.name} fake on {server.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
