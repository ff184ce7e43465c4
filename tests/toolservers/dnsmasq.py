"""A real DNS server for the dns bridge's tests: dnsmasq from Debian
(package dnsmasq-base), serving a test zone on 127.0.0.1 on a free port,
plus two tiny misbehaving resolvers (one that never answers, one that
answers every query with a chosen error code) that dnsmasq can forward
a subdomain to.

    from toolservers.dnsmasq import Dnsmasq, RcodeResolver, SilentResolver, find_dnsmasq
    silent = SilentResolver()
    dns = Dnsmasq(tmp, records=[...], forward={"silent.example.com": silent.address})
    dns.start()
    ... dns.address ("127.0.0.1:PORT"), dns.queries("short.example.com", "A") ...
    dns.stop()

dnsmasq runs under a small shell that holds the read end of a pipe from
this process: when the test process ends in any way (tap.done() and an
uncaught exception leave with os._exit, a crash or a kill), the pipe
closes and the shell stops dnsmasq, so no server is left behind.

How dnsmasq serves the records (learnt in tests/unit/test_dns_resolver.c):
in its ordinary mode each record keeps its own TTL (--local-ttl for
address/mx-host/txt-record/ptr-record/dns-rr, the record's own for
host-record and cname); NS records are raw dns-rr records; an SOA comes
from an auth-zone, which it also serves there.  Names under a local=
domain that are not configured are NXDOMAIN, without an SOA.
"""

import os
import re
import shutil
import socket
import struct
import subprocess
import threading
import time


def find_dnsmasq():
    """The dnsmasq binary: $DNSMASQ (set by make check) or the usual
    places; None if there is none."""
    exe = os.environ.get("DNSMASQ", "")
    candidates = [exe] if exe and exe != "no" else []
    candidates += [shutil.which("dnsmasq") or "", "/usr/sbin/dnsmasq", "/sbin/dnsmasq"]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    return None


def wire_name(name):
    """A name in DNS wire form (length-prefixed labels)."""
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def query_packet(name, qtype=1, qid=0x5157):
    """A DNS query for name (type qtype, class IN), recursion desired."""
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + wire_name(name) + struct.pack(">HH", qtype, 1)


def ask(address, name, qtype=1, timeout=1.0):
    """Sends one query over UDP; returns (rcode, answer count), or None if
    nothing came back in time."""
    host, port = address.rsplit(":", 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(query_packet(name, qtype), (host, int(port)))
        try:
            data = s.recv(4096)
        except (socket.timeout, ConnectionRefusedError):
            return None
    return data[3] & 0x0F, struct.unpack(">H", data[6:8])[0]


def _free_udp_tcp_port():
    """A port free for both UDP and TCP on 127.0.0.1 right now."""
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port for dnsmasq")


class SilentResolver:
    """A UDP socket on 127.0.0.1 that reads queries and never answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"

    def close(self):
        self.sock.close()


class RcodeResolver:
    """Answers every query at once with an error code (2: SERVFAIL,
    5: REFUSED), echoing the question, from a thread."""

    def __init__(self, rcode):
        self.rcode = rcode
        self.count = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._serve, name=f"rcode{rcode}", daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            if len(data) < 12:
                continue
            self.count += 1
            # QR and RA set, the opcode and RD kept, the error code given;
            # no answers, the question as asked.
            flags = struct.unpack(">H", data[2:4])[0]
            flags = 0x8000 | (flags & 0x7900) | 0x0080 | self.rcode
            reply = data[:2] + struct.pack(">HHHHH", flags, struct.unpack(">H", data[4:6])[0], 0, 0, 0) + data[12:]
            try:
                self.sock.sendto(reply, peer)
            except OSError:
                return

    def close(self):
        self.sock.close()


class Dnsmasq:
    """dnsmasq on 127.0.0.1:<free port> with the given configuration lines
    (dnsmasq.conf syntax, e.g. "address=/a.example.com/192.0.2.10"), and
    server=/<domain>/<address> for each forwarded domain."""

    def __init__(self, tmpdir, records, forward=None, local_ttl=300, exe=None):
        self.tmpdir = tmpdir
        self.records = list(records)
        self.forward = dict(forward or {})
        self.local_ttl = local_ttl
        self.exe = exe or find_dnsmasq()
        self.port = None
        self.proc = None
        self.log_path = os.path.join(tmpdir, "dnsmasq.log")
        self.conf_path = os.path.join(tmpdir, "dnsmasq.conf")

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def _write_config(self):
        lines = [
            f"port={self.port}",
            "listen-address=127.0.0.1",
            "bind-interfaces",
            "no-resolv",
            "no-hosts",
            "pid-file=",
            "log-facility=-",
            "log-queries",
            f"local-ttl={self.local_ttl}",
        ]
        for domain, address in self.forward.items():
            host, port = address.rsplit(":", 1)
            lines.append(f"server=/{domain}/{host}#{port}")
        lines += self.records
        with open(self.conf_path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

    def start(self, timeout=10):
        """Starts dnsmasq and waits until it answers; retries on another
        port if the one chosen was taken meanwhile.  Raises RuntimeError
        (with dnsmasq's log) if it cannot."""
        if self.exe is None:
            raise RuntimeError("dnsmasq not found")
        for _ in range(3):
            self.port = _free_udp_tcp_port()
            self._write_config()
            # The shell keeps dnsmasq for as long as our end of its stdin
            # is open: EOF (we stopped, exited or died) stops dnsmasq.
            script = ('"$0" --keep-in-foreground --conf-file="$1" </dev/null >"$2" 2>&1 & pid=$!; '
                      'read _ignored; kill $pid 2>/dev/null; wait $pid')
            self.proc = subprocess.Popen(["/bin/sh", "-c", script, self.exe, self.conf_path, self.log_path],
                                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if ask(self.address, "dnsmasq-probe.invalid", timeout=0.2) is not None:
                    return self
                if self.proc.poll() is not None:
                    break
                if "FAILED to start up" in self.log():
                    break
                time.sleep(0.05)
            log = self.log()
            self.stop()
            if "Address already in use" not in log:
                raise RuntimeError(f"dnsmasq did not start:\n{log}")
        raise RuntimeError("dnsmasq found no free port")

    def stop(self):
        """Stops dnsmasq (closing the pipe makes the shell kill it)."""
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def queries(self, name, qtype=None):
        """How many queries for name (and of qtype, "A", "MX" ..., if given)
        dnsmasq has logged."""
        pattern = re.compile(r"query\[(\w+)\] (\S+) from ")
        n = 0
        for m in pattern.finditer(self.log()):
            if m.group(2) == name and (qtype is None or m.group(1) == qtype):
                n += 1
        return n
