"""The byte-level SSE fast path: a content chunk is recognised without parsing only when it is
exactly what json.loads would accept, and a stream reads the same through the fast path as
through full parsing — split across reads, several events per read, CRLF, comments, ``data:``
without a space."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelverify.perf.rawstream import RawStreamPool, _Conn, _Request
from modelverify.perf.sse import content_template, is_string_body, parse_json

HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


def chunked(parts: list[bytes]) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def vllm_chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 1733,
        "model": "smol",
        "choices": [
            {
                "index": 0,
                "text": text,
                "logprobs": None,
                "finish_reason": finish,
                "stop_reason": None,
            }
        ],
    }


USAGE = {"id": "cmpl-1", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 5}}
TEXTS = [" The", " caf\u00e9", ' "quoted"', " back\\slash", " \u4e2d\u6587", "\n", " end"]


def events(
    objs: list[dict[str, Any]], sep: bytes = b"\n", prefix: bytes = b"data: "
) -> list[bytes]:
    body = [prefix + json.dumps(o, ensure_ascii=False).encode() + sep + sep for o in objs]
    return [*body, prefix + b"[DONE]" + sep + sep]


def stream_objs() -> list[dict[str, Any]]:
    return [*(vllm_chunk(t) for t in TEXTS[:-1]), vllm_chunk(TEXTS[-1], "length"), USAGE]


def feed(wire: bytes, cuts: list[int]) -> tuple[list[Any], asyncio.Future[float]]:
    """Feed ``wire`` in pieces; returns what reached the callbacks, in order."""
    loop = asyncio.new_event_loop()
    try:
        conn = _Conn(RawStreamPool("http://127.0.0.1:9"))
        got: list[Any] = []
        fut: asyncio.Future[float] = loop.create_future()
        conn.req = _Request(
            "/v1/completions", lambda d, t: got.append(d), fut, lambda t: got.append("content")
        )
        pos = 0
        for c in [*sorted(set(cuts)), len(wire)]:
            if c > pos:
                conn.data_received(wire[pos:c])
                pos = c
        return got, fut
    finally:
        loop.close()


def as_content(objs: list[Any]) -> list[Any]:
    """What the fast-path callbacks should see: plain content chunks as "content"."""
    return [
        "content" if o != USAGE and o["choices"][0]["finish_reason"] is None else o for o in objs
    ]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=3000), max_size=40))
def test_fast_path_reads_a_stream_split_anywhere_like_full_parsing(cuts: list[int]) -> None:
    wire = HEAD + chunked(events(stream_objs()))
    got, fut = feed(wire, [c % len(wire) for c in cuts])
    assert got == as_content(stream_objs())
    assert fut.done() and fut.exception() is None


@pytest.mark.parametrize(
    ("sep", "prefix"),
    [(b"\n", b"data: "), (b"\r\n", b"data: "), (b"\n", b"data:")],
    ids=["lf", "crlf", "no-space"],
)
def test_several_events_in_one_read_crlf_and_data_without_space(sep: bytes, prefix: bytes) -> None:
    wire = HEAD + chunked([b"".join(events(stream_objs(), sep, prefix))])  # one HTTP chunk
    got, fut = feed(wire, [])
    assert got == as_content(stream_objs()) and fut.exception() is None


def test_comments_and_keepalives_between_chunks_change_nothing() -> None:
    evs = events(stream_objs())
    mixed = [evs[0], b": keep-alive\n\n", evs[1], b": ping\n\nevent: message\n", evs[2], *evs[3:]]
    got, fut = feed(HEAD + chunked(mixed), [len(HEAD) + 30])
    assert got == as_content(stream_objs()) and fut.exception() is None


def test_empty_text_is_not_content_and_reaches_on_event() -> None:
    objs = [vllm_chunk(" a"), vllm_chunk(""), vllm_chunk(" b"), USAGE]
    got, _ = feed(HEAD + chunked(events(objs)), [])
    assert got == ["content", vllm_chunk(""), "content", USAGE]


@pytest.mark.parametrize(
    "bad",
    [b'a"b', b"tab\there", b"bad \\x escape", b"\\u12", b"\xff\xfe", b"trailing\\"],
    ids=["quote", "control", "escape", "short-u", "not-utf8", "lone-backslash"],
)
def test_a_chunk_shaped_like_the_template_but_not_json_is_malformed(bad: bytes) -> None:
    good = json.dumps(vllm_chunk(" x")).encode()
    broken = good.replace(b'" x"', b'"' + bad + b'"')
    wire = HEAD + chunked([b"data: " + good + b"\n\n", b"data: " + broken + b"\n\n"])
    got, fut = feed(wire, [])
    assert got == ["content"]
    exc = fut.exception()
    assert exc is not None and "SSE payload is not JSON" in str(exc)


def test_parse_json_is_json_loads() -> None:
    for payload in [b'{"a": [1, 2.5, null, true]}', '"caf\u00e9"'.encode(), b"[]", b"NaN"]:
        got, want = parse_json(payload), json.loads(payload)
        assert got == want or (got != got and want != want)
    for bad in [b"{not json", b'{"a": 1} x', b"", b"\xff", b'{"a": 1}{"b": 2}']:
        with pytest.raises(ValueError):
            json.loads(bad)
        with pytest.raises(ValueError):
            parse_json(bad)


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        (b" tok", True),
        (b"caf\xc3\xa9", True),
        (b'\\"x\\"', True),
        (b"\\u00e9\\n", True),
        (b"", False),
        (b'a"b', False),
        (b"a\nb", False),
        (b"\\q", False),
        (b"\xc3", False),
    ],
)
def test_is_string_body(body: bytes, ok: bool) -> None:
    buf = b"xx" + body + b"yy"
    assert is_string_body(buf, 2, 2 + len(body)) is ok


def test_template_only_for_plain_content_chunks_and_an_unambiguous_slot() -> None:
    def tpl(obj: dict[str, Any]) -> Any:
        return content_template(json.dumps(obj).encode(), obj)

    assert tpl(vllm_chunk(" a")) is not None
    assert tpl(vllm_chunk(" a", "stop")) is None  # a finish chunk carries news
    assert tpl(USAGE) is None
    assert tpl({**vllm_chunk(" a"), "usage": {"completion_tokens": 1}}) is None
    chat = {"choices": [{"index": 0, "delta": {"content": " hi"}, "finish_reason": None}]}
    assert tpl(chat) is not None
    # a model name that looks like the content field: the real field is still the one found
    tricky = {**vllm_chunk(" a"), "model": '"text": "'}
    t = tpl(tricky)
    assert t is not None
    other = json.dumps({**tricky, "choices": [{**tricky["choices"][0], "text": " b"}]}).encode()
    assert t.matches(other, 0, len(other))
    # duplicate keys: json.loads keeps the last, so the first "text" is not the content slot
    dup = b'{"choices": [{"text": " a", "text": " a", "finish_reason": null}]}'
    t = content_template(dup, json.loads(dup))
    assert t is not None and t.head.endswith(b'" a", "text": "')


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=5), kids, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    _JSON,
    st.integers(0, 400),
    st.sampled_from(["", "x", "}", "]", ",", "\\", '"', "[" * 3000, " 1", "\x00"]),
)
def test_parse_json_agrees_with_json_loads_on_valid_and_mutated_payloads(
    value: object, at: int, junk: str
) -> None:
    text = json.dumps(value, separators=(",", ":"))
    assert parse_json(text.encode()) == json.loads(text)
    cut = at % (len(text) + 1)
    # an SSE payload reaches parse_json stripped: no surrounding whitespace, by its contract
    bad = (text[:cut] + junk + text[cut:]).strip(" \t\n\r")
    try:
        want = json.loads(bad)
    except (ValueError, RecursionError):
        with pytest.raises(ValueError):
            parse_json(bad.encode())
        return
    assert parse_json(bad.encode()) == want
