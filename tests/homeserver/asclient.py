"""HTTP requests from the fake homeserver to the appservice.

Every request looks like Synapse 1.94's (README.md of the fixtures,
"Transport"): HTTP/1.1, `Authorization: Bearer <hs_token>`,
`User-Agent: Synapse/1.94.0`, `Accept: application/json`,
`Accept-Encoding: gzip` and Host; PUT and POST add
`Content-Type: application/json` and a Content-Length (never chunked); a GET
has no Content-Type.  Paths are /_matrix/app/v1/... only, and the query
string is empty except for the thirdparty field lookups.

ASClient can keep one connection alive (the transaction pusher does) and
then reconnects after a failure.  A request that fails on a reused
connection before any answer arrives is sent once more on a new connection,
as Twisted's connection pool does for idempotent requests, so that an
appservice closing idle connections is not mistaken for an outage.
"""

import gzip
import http.client
import json
import time
import urllib.parse
from dataclasses import dataclass

USER_AGENT = "Synapse/1.94.0"


@dataclass
class ASResponse:
    status: int
    headers: dict
    data: bytes
    duration: float

    def json(self):
        """The body parsed as JSON, or None if it is not JSON."""
        try:
            return json.loads(self.data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def json_or_text(self):
        parsed = self.json()
        if parsed is not None or self.data.strip() == b"null":
            return parsed
        return self.data.decode("utf-8", "replace")


def canonical_json(obj):
    """Compact JSON with sorted keys and raw UTF-8, as Synapse sends."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class ASClient:
    """Requests to the appservice at base_url, authenticated with hs_token.
    Not thread-safe when persistent: give each thread its own client."""

    def __init__(self, base_url, hs_token, timeout=60.0, persistent=False):
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme != "http":
            raise ValueError(f"only http:// appservice URLs are supported, not {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.hs_token = hs_token
        self.timeout = timeout
        self.persistent = persistent
        self._conn = None
        self._reused = False

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def headers_for(self, method, body, extra=None):
        """The request headers Synapse sends, in a list of pairs."""
        headers = [
            ("Authorization", f"Bearer {self.hs_token}"),
            ("User-Agent", USER_AGENT),
            ("Accept", "application/json"),
            ("Accept-Encoding", "gzip"),
        ]
        if method in ("PUT", "POST"):
            headers.append(("Content-Type", "application/json"))
            headers.append(("Content-Length", str(len(body or b""))))
        if extra:
            names = {k.lower() for k, _ in extra.items()}
            headers = [(k, v) for k, v in headers if k.lower() not in names]
            headers.extend(extra.items())
        return headers

    def request(self, method, path, body=None, query=None, timeout=None, headers=None):
        """Sends one request.  body is an object (sent as canonical JSON) or
        bytes (sent as is).  Returns an ASResponse; raises OSError,
        http.client.HTTPException or TimeoutError when no answer arrives."""
        if body is not None and not isinstance(body, (bytes, bytearray)):
            body = canonical_json(body)
        if method in ("PUT", "POST") and body is None:
            body = b"{}"
        target = self.prefix + path
        if query:
            target += "?" + urllib.parse.urlencode(query)
        hdrs = self.headers_for(method, body, headers)
        timeout = self.timeout if timeout is None else timeout

        if not self.persistent:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            try:
                return self._exchange(conn, method, target, hdrs, body)
            finally:
                conn.close()

        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
                self._reused = False
            conn = self._conn
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            conn.timeout = timeout
            try:
                response = self._exchange(conn, method, target, hdrs, body)
            except (BrokenPipeError, ConnectionResetError):
                # RemoteDisconnected is a ConnectionResetError.
                reused = self._reused
                self.close()
                if reused and attempt == 1:
                    continue
                raise
            except BaseException:
                self.close()
                raise
            self._reused = True
            if response.headers.get("connection", "").lower() == "close":
                self.close()
            return response
        raise AssertionError("unreachable")

    @staticmethod
    def _exchange(conn, method, target, headers, body):
        start = time.monotonic()
        # skip_accept_encoding: we send Synapse's own Accept-Encoding.
        conn.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders(body if body is not None else None)
        resp = conn.getresponse()
        data = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        if hdrs.get("content-encoding", "").lower() == "gzip":
            data = gzip.decompress(data)
        return ASResponse(resp.status, hdrs, data, time.monotonic() - start)


def quote_segment(text):
    """Percent-encodes a path segment the way Synapse does for user IDs and
    aliases: "@" and ":" and "#" are encoded (user-query.json, alias-query.json)."""
    return urllib.parse.quote(text, safe="")


def safe_request(client, method, path, body=None, query=None, timeout=None):
    """client.request(), but returns (response or None, error text or None).
    Any failure counts as "no answer", including the odd errors http.client
    raises when another thread closes the connection (Pusher.stop)."""
    try:
        return client.request(method, path, body=body, query=query, timeout=timeout), None
    except Exception as e:  # noqa: BLE001 - see above
        return None, f"{type(e).__name__}: {e}"


__all__ = ["ASClient", "ASResponse", "canonical_json", "quote_segment", "safe_request", "USER_AGENT"]
