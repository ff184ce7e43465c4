"""The file bridge through the real warroom and the fake homeserver: files
sent to a room and a reply "!file" (or "!file info mxc://..."): a text
file, a small PE and ELF built here, the EICAR test string (published
hashes), a disguised executable and a disguised web page (suspicious),
a file exactly at bridges.file.max_size and files over it (declared: not
downloaded; undeclared: the download is cut, the fake counts the bytes it
sent), download failures (500, 404) in clear words, usage mistakes, and
the legacy media endpoint when the server has no authenticated media.
Every hash is checked against Python's hashlib.
"""

import hashlib
import os
import struct
import time

import harness
from harness import ALICE, room_with_bot, wait_answer

FILE = "@soc_file:localhost"
LIMIT = 1024 * 1024  # bridges.file.max_size in this test

tap = harness.Tap()
tmp = harness.tmpdir()
# A short shutdown grace: the download left in flight at the end is cancelled.
config = {"bridges": {"file": {"enabled": True, "max_size": "1MiB", "rate_limit": 0}},
          "appservice": {"shutdown_grace": "200ms"}}
hs, wr = harness.start_pair(tmp, config_extra=config, retry_scale=0.05)
room = room_with_bot(hs)
hs.invite(room, ALICE, FILE)
hs.wait_for(lambda: hs.members(room).get(FILE) == "join", timeout=10, what="the file bot to join")


def pe32():
    """A minimal 32-bit Windows console executable's headers: MZ, PE, COFF
    (i386), an optional header (PE32, console subsystem), some padding."""
    dos = bytearray(b"MZ" + b"\0" * 62)
    struct.pack_into("<I", dos, 0x3C, 0x40)
    coff = struct.pack("<HHIIIHH", 0x14C, 1, 0, 0, 0, 0xE0, 0x0102)
    opt = bytearray(0xE0)
    struct.pack_into("<H", opt, 0, 0x10B)
    struct.pack_into("<H", opt, 68, 3)
    return bytes(dos) + b"PE\0\0" + coff + bytes(opt) + bytes(range(256)) * 4


def elf64():
    """A minimal x86-64 ELF executable header."""
    h = bytearray(64)
    h[0:7] = b"\x7fELF\x02\x01\x01"
    struct.pack_into("<HHI", h, 16, 2, 0x3E, 1)
    return bytes(h) + b"\x90" * 200


# Written in two halves, so that this source file itself is not the test file.
EICAR = ("X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*").encode("ascii")


def send_and_ask(data, filename, mimetype, command="!file", info=None, timeout=15):
    """Sends a file, replies a command to it; returns (file event, final content)."""
    f = hs.send_file(room, ALICE, data, filename, mimetype=mimetype, info=info)
    ev = hs.send_message(room, ALICE, command, relates_to=hs.reply_to(f))
    return f, wait_answer(hs, room, ev, bot=FILE, timeout=timeout)["content"]


def fields(result):
    return {r[0]: r[1] for r in result.get("rows", [])}


def hashes_ok(result, data, what):
    """The three hashes, as rows and as artifacts, are hashlib's."""
    want = {"MD5": hashlib.md5(data).hexdigest(), "SHA-1": hashlib.sha1(data).hexdigest(),
            "SHA-256": hashlib.sha256(data).hexdigest()}
    got = {k: fields(result).get(k) for k in want}
    tap.is_(got, want, f"{what}: MD5, SHA-1 and SHA-256 are hashlib's")
    arts = sorted((a["type"], a["value"]) for a in result.get("artifacts", []))
    tap.is_(arts, sorted([("md5", want["MD5"]), ("sha1", want["SHA-1"]), ("sha256", want["SHA-256"])]),
            f"{what}: the hashes are the artifacts")


# A text file.
text = b"Nov 28 04:40:01 proxy: CONNECT 192.0.2.44:443\n"
_, content = send_and_ask(text, "proxy.log", "text/plain")
res = content["org.warroom.result"]
tap.is_(res.get("tool"), "file", "!file as a reply to a file message answers from the file bot")
f = fields(res)
tap.is_((f.get("Name"), f.get("Size"), f.get("MIME type"), f.get("Declared type"), f.get("Description")),
        ("proxy.log", f"{len(text)} bytes", "text/plain", "text/plain", "ASCII text"),
        "text file: name, size, detected and declared type, description")
hashes_ok(res, text, "text file")
tap.is_(res.get("verdict"), "info", "a text file that says it is text: info")
tap.is_(res.get("summary"), f"ASCII text, {len(text)} bytes, sha256 {hashlib.sha256(text).hexdigest()[:16]}\u2026",
        "summary: type, size, the start of the SHA-256")

# A Windows executable under its own name, and disguised as a PDF.
pe = pe32()
_, content = send_and_ask(pe, "setup.exe", "application/x-msdownload")
res = content["org.warroom.result"]
tap.is_(fields(res).get("MIME type"), "application/vnd.microsoft.portable-executable", "PE: detected by libmagic")
tap.ok(fields(res).get("Description", "").startswith("PE32 executable (console) Intel 80386"),
       f"PE: described: {fields(res).get('Description')!r}")
tap.is_(res.get("verdict"), "info", "an executable named .exe is not flagged")
hashes_ok(res, pe, "PE")
_, content = send_and_ask(pe, "invoice.pdf", "application/pdf")
res = content["org.warroom.result"]
tap.is_(res.get("verdict"), "suspicious", "an executable named invoice.pdf is suspicious")
tap.ok(fields(res).get("Mismatch", "").startswith("named .pdf and declared application/pdf, but the content is "
                                                  "native code: application/vnd.microsoft.portable-executable"),
       f"and the table says why: {fields(res).get('Mismatch')!r}")
tap.ok(res.get("summary", "").startswith("PE32 executable (console) Intel 80386, 1.3 KiB, sha256 ")
       and "named .pdf" in res.get("summary", ""), f"summary: {res.get('summary')!r}")
tap.ok("suspicious" in content["body"], "the room sees the verdict")

# ELF: without an extension it is fine, as a .docx it is not.
elf = elf64()
_, content = send_and_ask(elf, "backup", "application/octet-stream")
res = content["org.warroom.result"]
tap.is_((fields(res).get("MIME type"), res.get("verdict")), ("application/x-executable", "info"),
        "ELF without an extension: detected, not flagged")
hashes_ok(res, elf, "ELF")
_, content = send_and_ask(elf, "Q3 results.docx", "application/octet-stream")
tap.is_(content["org.warroom.result"].get("verdict"), "suspicious", "ELF named .docx: suspicious (by its name alone)")

# A web page disguised as a picture (the second rule: a known kind whose content is another).
html = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><form>password</form></body></html>\n"
_, content = send_and_ask(html, "photo.png", "image/png")
res = content["org.warroom.result"]
tap.is_(res.get("verdict"), "suspicious", "an HTML page named photo.png is suspicious")
tap.ok(fields(res).get("Mismatch", "").startswith("named .png and declared image/png, but the content is text/html"),
       f"mismatch: {fields(res).get('Mismatch')!r}")

# The EICAR test string: the published hashes.
_, content = send_and_ask(EICAR, "eicar.com", "application/octet-stream")
res = content["org.warroom.result"]
tap.is_((fields(res).get("MD5"), fields(res).get("SHA-1"), fields(res).get("SHA-256")),
        ("44d88612fea8a8f36de82e1278abb02f", "3395856ce81f2b7382dee72602f798b642f14140",
         "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"),
        "EICAR: the published MD5, SHA-1 and SHA-256")
hashes_ok(res, EICAR, "EICAR")
tap.is_(fields(res).get("Description"), "EICAR virus test files", "libmagic knows the EICAR test file")

# A file exactly at the limit is read whole.
at_limit = os.urandom(LIMIT)
_, content = send_and_ask(at_limit, "blob.bin", "application/octet-stream")
res = content["org.warroom.result"]
tap.is_(fields(res).get("Size"), f"{LIMIT} bytes (1.0 MiB)", "a file of exactly max_size is read")
hashes_ok(res, at_limit, "1 MiB of random bytes")

# Over the limit, declared by the message: refused without a download.
big = os.urandom(32 * LIMIT)
downloads_before = len(hs.requests_for("download")) + len(hs.requests_for("download_legacy"))
f_ev, content = send_and_ask(big, "dump.raw", "application/octet-stream")
err = content["org.warroom.result"].get("error", "")
tap.is_(err, "the file is 32.0 MiB, larger than the 1.0 MiB warroom reads (bridges.file.max_size); it was not downloaded",
        "a file declared larger than max_size is refused, in clear words")
tap.is_(len(hs.requests_for("download")) + len(hs.requests_for("download_legacy")), downloads_before,
        "and nothing was downloaded")

# Over the limit, but the message says it is small: the download is cut.
f_ev, content = send_and_ask(big, "small.txt", "text/plain", info={"size": 100})
err = content["org.warroom.result"].get("error", "")
tap.is_(err, "the file is larger than the 1.0 MiB warroom reads (bridges.file.max_size); the download was stopped there",
        "a file that turns out larger than max_size is refused")
cut = hs.requests_for("download")[downloads_before:]
tap.is_(len(cut), 1, "one download was started")
if cut:
    tap.ok(cut[0].bytes_sent < len(big) // 2,
           f"and stopped: the fake sent {cut[0].bytes_sent} of {len(big)} bytes before warroom hung up")

# By mxc:// address, without a message: the download's Content-Type is the declared type.
mxc = hs.upload(EICAR, "application/pdf", "x.pdf")
ev = hs.send_message(room, ALICE, f"!file info {mxc}")
res = wait_answer(hs, room, ev, bot=FILE)["content"]["org.warroom.result"]
tap.is_((fields(res).get("Name"), fields(res).get("Declared type"), res.get("verdict")),
        ("the file", "application/pdf", "suspicious"),
        "!file info mxc://...: works without a message; the served type counts as declared")

# Download failures, said clearly.
hs.fail(r"/download/", status=500, count=1)
_, content = send_and_ask(text, "again.log", "text/plain")
err = content["org.warroom.result"].get("error", "")
tap.ok(err.startswith("the file could not be downloaded from the homeserver (HTTP 500"),
       f"a homeserver error (500) is said clearly: {err!r}")
ev = hs.send_message(room, ALICE, "!file info mxc://localhost/NoSuchMediaHere")
err = wait_answer(hs, room, ev, bot=FILE)["content"]["org.warroom.result"].get("error", "")
tap.ok(err.startswith("the file could not be downloaded from the homeserver (HTTP 404 M_NOT_FOUND"),
       f"a missing file (404): {err!r}")

# Usage mistakes.
ev = hs.send_message(room, ALICE, "!file")
body = wait_answer(hs, room, ev, bot=FILE)["content"]["body"]
tap.ok("file is missing" in body and "replied to" in body, f"!file alone: {body!r}")
note = hs.send_message(room, ALICE, "just words")
ev = hs.send_message(room, ALICE, "!file", relates_to=hs.reply_to(note))
body = wait_answer(hs, room, ev, bot=FILE)["content"]["body"]
tap.ok("has no file" in body, f"!file replying to a text message: {body!r}")
ev = hs.send_message(room, ALICE, "!file info https://example.com/x.exe")
body = wait_answer(hs, room, ev, bot=FILE)["content"]["body"]
tap.ok("is not a file" in body and "mxc://" in body, f"!file with a URL: {body!r}")

# Stopping with a download in flight: it is cancelled cleanly.
hs.delay(r"/download/", 3, count=1)
runs = wr.log().count("runs !file info")
f = hs.send_file(room, ALICE, text, "slow.log", mimetype="text/plain")
hs.send_message(room, ALICE, "!file", relates_to=hs.reply_to(f))
hs.wait_for(lambda: wr.log().count("runs !file info") > runs, timeout=10, what="the command to start")
time.sleep(0.3)  # the download is on its way, held by the fake for 3 s
tap.is_(wr.stop(), 0, "warroom exits 0 with a download in flight")
tap.is_(wr.sanitizer_report(), [], "no sanitizer report")
hs.stop()

# A homeserver without authenticated media (before Matrix 1.11): the legacy endpoint.
tmp2 = harness.tmpdir()
hs, wr = harness.start_pair(tmp2, config_extra=config, retry_scale=0.05, authenticated_media=False)
room = room_with_bot(hs)
hs.invite(room, ALICE, FILE)
hs.wait_for(lambda: hs.members(room).get(FILE) == "join", timeout=10, what="the file bot to join")
_, content = send_and_ask(pe, "setup.exe", "application/x-msdownload")
res = content["org.warroom.result"]
hashes_ok(res, pe, "legacy media")
tap.ok(len(hs.requests_for("download_legacy")) >= 1, "the file came from the legacy media endpoint")
tap.is_(wr.stop(), 0, "warroom exits 0")
tap.is_(wr.sanitizer_report(), [], "no sanitizer report")
hs.stop()
tap.done()
