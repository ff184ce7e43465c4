"""Reading appservice registration files without PyYAML.

The tests may use only the Python standard library, so this is a small
reader for the YAML subset registration files are written in: block
mappings and sequences by indentation, "- key: value" sequence items,
flow sequences of scalars ("[]", '["warroom"]'), double- and single-quoted
or plain scalars, and comments.  It is not a YAML parser and raises
ValueError on anything outside that subset rather than guessing.

read_registration() also extracts what FakeHomeserver needs: id, url,
as_token, hs_token, sender_localpart and the first user and alias
namespace regexes.
"""

import json
import re
from dataclasses import dataclass


@dataclass
class _Line:
    number: int
    indent: int
    text: str


def _strip_comment(line):
    """Removes a comment: "#" at the start or after a blank, outside quotes."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'":
            if i == 0 or line[i - 1] in " \t[,:{-":
                quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def _split_flow(text):
    """Splits the inside of a flow collection on commas outside quotes."""
    items, quote, start = [], None, 0
    for i, c in enumerate(text):
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == ",":
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [x.strip() for x in items if x.strip()]


def _scalar(text, number):
    text = text.strip()
    if text.startswith('"'):
        if not text.endswith('"') or len(text) < 2:
            raise ValueError(f"line {number}: unterminated double-quoted string")
        # YAML's double-quoted escapes include JSON's.
        return json.loads(text)
    if text.startswith("'"):
        if not text.endswith("'") or len(text) < 2:
            raise ValueError(f"line {number}: unterminated single-quoted string")
        return text[1:-1].replace("''", "'")
    if text.startswith("["):
        if not text.endswith("]"):
            raise ValueError(f"line {number}: flow sequences must fit on one line")
        return [_scalar(x, number) for x in _split_flow(text[1:-1])]
    if text.startswith("{"):
        if not text.endswith("}"):
            raise ValueError(f"line {number}: flow mappings must fit on one line")
        out = {}
        for item in _split_flow(text[1:-1]):
            key, value = _split_key(item, number)
            out[key] = _scalar(value, number) if value else None
        return out
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if text in ("null", "Null", "NULL", "~", ""):
        return None
    if re.fullmatch(r"[-+]?[0-9]+", text):
        return int(text)
    return text


def _split_key(text, number):
    """"key: value" -> (key, value text); the key may be quoted."""
    if text[:1] in "\"'":
        quote = text[0]
        end = text.find(quote, 1)
        while quote == "'" and end != -1 and text[end + 1:end + 2] == "'":
            end = text.find(quote, end + 2)
        if end == -1:
            raise ValueError(f"line {number}: unterminated quoted key")
        key = _scalar(text[:end + 1], number)
        rest = text[end + 1:].lstrip()
        if not rest.startswith(":"):
            raise ValueError(f"line {number}: expected ':' after the key")
        return key, rest[1:].strip()
    m = re.match(r"([^:]*?):(?:\s+|$)(.*)$", text)
    if not m:
        raise ValueError(f"line {number}: expected 'key: value', got {text!r}")
    return m.group(1).strip(), m.group(2).strip()


def _is_item(text):
    return text == "-" or text.startswith("- ")


def _is_key(text):
    return bool(re.match(r"""(?:"[^"]*"|'[^']*'|[^\s"'\[{-][^:]*?):(?:\s|$)""", text))


def _parse_block(lines, i, indent):
    if _is_item(lines[i].text):
        return _parse_seq(lines, i, indent)
    return _parse_map(lines, i, indent)


def _parse_value(lines, i, indent, rest, number):
    """The value after "key:" or "-": inline, or the block below it."""
    if rest != "":
        return _scalar(rest, number), i
    if i < len(lines) and (lines[i].indent > indent or (lines[i].indent == indent and _is_item(lines[i].text))):
        return _parse_block(lines, i, lines[i].indent)
    return None, i


def _parse_map(lines, i, indent):
    out = {}
    while i < len(lines) and lines[i].indent == indent and not _is_item(lines[i].text):
        line = lines[i]
        key, rest = _split_key(line.text, line.number)
        if key in out:
            raise ValueError(f"line {line.number}: duplicate key {key!r}")
        out[key], i = _parse_value(lines, i + 1, indent, rest, line.number)
    if i < len(lines) and lines[i].indent > indent:
        raise ValueError(f"line {lines[i].number}: unexpected indentation")
    return out, i


def _parse_seq(lines, i, indent):
    out = []
    while i < len(lines) and lines[i].indent == indent and _is_item(lines[i].text):
        line = lines[i]
        rest = line.text[1:].lstrip()
        if rest and _is_key(rest):
            # "- key: value" opens a mapping whose keys line up with "key".
            column = indent + (len(line.text) - len(rest))
            lines[i] = _Line(line.number, column, rest)
            value, i = _parse_map(lines, i, column)
        else:
            value, i = _parse_value(lines, i + 1, indent, rest, line.number)
        out.append(value)
    return out, i


def parse_registration(text):
    """Parses registration YAML text into dicts, lists and scalars."""
    lines = []
    for number, raw in enumerate(text.splitlines(), 1):
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise ValueError(f"line {number}: tabs are not allowed for indentation")
        stripped = _strip_comment(raw).rstrip()
        if not stripped.strip() or stripped.strip() in ("---", "..."):
            continue
        lines.append(_Line(number, len(stripped) - len(stripped.lstrip()), stripped.lstrip()))
    if not lines:
        return {}
    value, i = _parse_block(lines, 0, lines[0].indent)
    if i != len(lines):
        raise ValueError(f"line {lines[i].number}: unexpected content")
    return value


def read_registration(path):
    """Reads a registration file.  Returns the parsed document with these
    keys added for convenience: user_regex and alias_regex (the first
    namespace of each, or None)."""
    with open(path, encoding="utf-8") as f:
        reg = parse_registration(f.read())
    if not isinstance(reg, dict):
        raise ValueError(f"{path}: not a mapping")
    namespaces = reg.get("namespaces") or {}

    def first_regex(kind):
        entries = namespaces.get(kind) or []
        return entries[0].get("regex") if entries and isinstance(entries[0], dict) else None

    reg["user_regex"] = first_regex("users")
    reg["alias_regex"] = first_regex("aliases")
    return reg
