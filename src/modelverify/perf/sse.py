"""Byte-level helpers for the measured stream: exact JSON of an SSE payload without
``json.loads``' per-call wrappers, and a content-chunk template that recognises, without
parsing, a chunk differing from an already parsed one only in its content string.

Why: on a fast stream the client spends most of its time per chunk in ``json.loads`` and in
walking the resulting dict, though consecutive vLLM content chunks are byte-identical apart from
the token text. A chunk recognised by the template is exactly what ``json.loads`` would have
accepted (the check is the JSON string grammar, not a guess), so a malformed chunk still fails
the match, goes to the full parser and is reported as malformed.
"""

from __future__ import annotations

import json
import json.decoder
import re
from collections.abc import Callable
from typing import Any

# the documented JSONDecoder.raw_decode, called directly: json.loads(bytes) first runs a Python
# detect_encoding and two wrapper calls, about half its time on a small chunk (raw_decode costs
# 2.20 µs on a 170-byte vLLM chunk, the private json.scanner.make_scanner 2.15 µs)
_raw_decode = json.JSONDecoder().raw_decode
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]

# a JSON string body: printable ASCII except quote and backslash (the common token) ...
_PLAIN_ASCII = re.compile(rb"[\x20\x21\x23-\x5b\x5d-\x7f]+")
# ... or the full grammar: any byte but quote, backslash and controls, or an escape
_STRING_BODY = re.compile(rb'(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})+')

# where a choice carries its content: completions' text, chat's delta content or reasoning
_SLOTS = (("text",), ("delta", "content"), ("delta", "reasoning_content"))


def parse_json(payload: bytes) -> Any:
    """``json.loads(payload)`` for a UTF-8 payload with no surrounding whitespace.

    Raises:
        ValueError: the payload is not UTF-8 or not one JSON value, or nests too deeply for
            the C scanner (json.loads raises RecursionError there).
    """
    try:
        s = payload.decode()
        obj, end = _raw_decode(s)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if end != len(s):
        raise ValueError(f"extra data at {end}")
    return obj


def is_string_body(buf: bytes, start: int, end: int) -> bool:
    """Whether ``buf[start:end]`` is a non-empty JSON string body (between the quotes) in UTF-8."""
    if _PLAIN_ASCII.fullmatch(buf, start, end):
        return True
    if _STRING_BODY.fullmatch(buf, start, end) is None:
        return False
    try:
        buf[start:end].decode()
    except UnicodeDecodeError:
        return False
    return True


class ContentTemplate:
    """A parsed content chunk split around its content string: ``head`` ends with the string's
    opening quote, ``tail`` starts with its closing quote.

    A payload ``head + body + tail`` with ``body`` a non-empty JSON string body parses to the
    template's object with another non-empty content: same choice, no finish_reason, no usage.
    """

    __slots__ = ("head", "tail")

    def __init__(self, head: bytes, tail: bytes):
        self.head = head
        self.tail = tail

    def matches(self, buf: bytes, start: int, end: int) -> bool:
        """Whether ``buf[start:end]`` is this chunk with another non-empty content string."""
        a = start + len(self.head)
        b = end - len(self.tail)
        return (
            a < b
            and buf.startswith(self.head, start)
            and buf.endswith(self.tail, a, end)
            and is_string_body(buf, a, b)
        )


def content_slot(obj: Any) -> tuple[str, ...] | None:
    """Which content field makes ``obj`` a plain content chunk (one choice, non-empty content,
    no finish_reason, no usage), if it is one."""
    if not isinstance(obj, dict) or obj.get("usage") is not None:
        return None
    choices = obj.get("choices")
    if not isinstance(choices, list) or len(choices) != 1 or not isinstance(choices[0], dict):
        return None
    choice = choices[0]
    if choice.get("finish_reason") is not None:
        return None
    for path in _SLOTS:
        node: Any = choice
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, str) and node:
            return path
    return None


def _with_content(obj: dict[str, Any], path: tuple[str, ...], value: str) -> dict[str, Any]:
    # copies only the dicts on the way to the content field (a deepcopy was 3% of a stream)
    choice = dict(obj["choices"][0])
    out = {**obj, "choices": [choice]}
    node = choice
    for key in path[:-1]:
        node[key] = dict(node[key])
        node = node[key]
    node[path[-1]] = value
    return out


def content_template(payload: bytes, obj: Any) -> ContentTemplate | None:
    """A template from a payload and its parsed object, or None when it is not a plain content
    chunk (a usage or finish chunk, several choices) or its content string cannot be located
    unambiguously in the bytes."""
    path = content_slot(obj)
    if path is None or b"\n" in payload:  # a multi-line data field: never matched in place
        return None
    s = payload.decode()
    key = f'"{path[-1]}"'
    at = s.find(key)
    tries = 8  # each try parses the payload twice: a chunk with a thousand keys stays linear
    while at >= 0 and tries > 0:
        tries -= 1
        q = at + len(key)
        while q < len(s) and s[q] in " \t\r\n:":
            q += 1
        if q < len(s) and s[q] == '"':
            try:
                _, end = _scanstring(s, q + 1)
            except ValueError:
                end = -1
            if end > 0:
                head, tail = s[: q + 1].encode(), s[end - 1 :].encode()
                # the split is the content field only if swapping the string changes just that
                # field (two probes: one might equal the real content)
                if all(
                    _parses_to(head + v.encode() + tail, _with_content(obj, path, v))
                    for v in ("Q", "R")
                ):
                    return ContentTemplate(head, tail)
        at = s.find(key, at + 1)
    return None


def _parses_to(payload: bytes, expected: Any) -> bool:
    try:
        return bool(parse_json(payload) == expected)
    except ValueError:
        return False


__all__ = ["ContentTemplate", "content_slot", "content_template", "is_string_body", "parse_json"]
