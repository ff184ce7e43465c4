"""Misbehaviour injected into the client-server API by a test.

A test asks for the next requests matching a path regex (and optionally a
method) to fail with an error, to be rate limited, or to be answered
slowly.  Rules are checked in the order they were added; each has a count
of requests it still applies to (None: every request).  The HTTP layer asks
match() for every request before routing it, so any path can be made to
fail, known or not.
"""

import math
import re
import threading
from dataclasses import dataclass
from typing import Optional

from .errors import MatrixError


@dataclass
class Rule:
    kind: str                      # "fail", "rate_limit" or "delay"
    pattern: re.Pattern
    method: Optional[str]
    remaining: Optional[int]       # None: unlimited
    status: int = 500
    errcode: str = "M_UNKNOWN"
    retry_after_ms: int = 0
    header: bool = False
    seconds: float = 0.0

    def matches(self, method, path):
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        return bool(self.pattern.search(path))


@dataclass
class Injected:
    """What match() decided for one request: sleep this long first, then
    answer with error (and extra headers) instead of handling it, if set."""
    delay: float = 0.0
    error: Optional[MatrixError] = None
    headers: Optional[dict] = None


class Faults:
    """The list of rules; thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rules = []

    def add(self, rule):
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self):
        with self._lock:
            self._rules.clear()

    def fail(self, path_regex, status=500, count=1, errcode="M_UNKNOWN", method=None):
        return self.add(Rule("fail", re.compile(path_regex), method, count, status=status, errcode=errcode))

    def rate_limit(self, path_regex, count=1, retry_after_ms=500, header=False, method=None):
        return self.add(Rule("rate_limit", re.compile(path_regex), method, count,
                             retry_after_ms=retry_after_ms, header=header))

    def delay(self, path_regex, seconds, count=None, method=None):
        return self.add(Rule("delay", re.compile(path_regex), method, count, seconds=seconds))

    def match(self, method, path):
        """Consumes the rules that apply to this request: the first delay
        rule and the first error rule that match."""
        out = Injected()
        with self._lock:
            delayed = False
            for rule in self._rules:
                if not rule.matches(method, path):
                    continue
                if rule.kind == "delay":
                    if delayed:
                        continue
                    delayed = True
                    out.delay = rule.seconds
                elif out.error is None:
                    out.error, out.headers = _error_for(rule)
                else:
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
        return out


def _error_for(rule):
    if rule.kind == "fail":
        return MatrixError(rule.status, rule.errcode, "Injected failure (fake homeserver)"), None
    # Synapse 1.94 puts retry_after_ms in the body; newer servers send a
    # Retry-After header (whole seconds) instead, which header=True imitates.
    if rule.header:
        seconds = max(1, math.ceil(rule.retry_after_ms / 1000))
        return MatrixError(429, "M_LIMIT_EXCEEDED", "Too Many Requests"), {"Retry-After": str(seconds)}
    return MatrixError(429, "M_LIMIT_EXCEEDED", "Too Many Requests",
                       retry_after_ms=rule.retry_after_ms), None
