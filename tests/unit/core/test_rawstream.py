"""The lean streaming transport: a chunked SSE response split at arbitrary byte boundaries reads
the same as in one piece, and each failure reads as an EndpointError that names it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelverify.errors import EndpointError
from modelverify.perf.rawstream import RawStreamPool, _Conn, _Request


def chunked(parts: list[bytes]) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def sse(objs: list[dict[str, Any]]) -> list[bytes]:
    return [f"data: {json.dumps(o)}\n\n".encode() for o in objs] + [b"data: [DONE]\n\n"]


HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
EVENTS = [{"choices": [{"index": 0, "text": f" w{i}"}]} for i in range(5)] + [
    {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 5}}
]


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def feed(wire: bytes, cuts: list[int]) -> tuple[list[dict[str, Any]], asyncio.Future[float], _Conn]:
    loop = asyncio.new_event_loop()
    try:
        pool = RawStreamPool("http://127.0.0.1:9")
        conn = _Conn(pool)
        conn.connection_made(FakeTransport())
        got: list[dict[str, Any]] = []
        fut: asyncio.Future[float] = loop.create_future()
        conn.req = _Request("/v1/completions", lambda d, t: got.append(d), fut)
        pos = 0
        for c in [*sorted(set(cuts)), len(wire)]:
            if c > pos:
                conn.data_received(wire[pos:c])
                pos = c
        return got, fut, conn
    finally:
        loop.close()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2000), max_size=30))
def test_any_split_of_a_chunked_stream_reads_the_same(cuts: list[int]) -> None:
    wire = HEAD + chunked(sse(EVENTS))
    got, fut, conn = feed(wire, [c % len(wire) for c in cuts])
    assert got == EVENTS
    assert fut.done() and fut.exception() is None
    assert conn in conn.pool._idle  # the terminating chunk releases the connection for reuse


def test_crlf_framing_and_multiline_events() -> None:
    body = (
        b": keep-alive comment\r\n\r\n"
        b"event: message\r\ndata: " + json.dumps(EVENTS[0]).encode() + b"\r\n\r\n"
        b"data: [DONE]\r\n\r\n"
    )
    got, fut, _ = feed(HEAD + chunked([body]), [40, 41, 97])
    assert got == [EVENTS[0]] and fut.exception() is None


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (HEAD + chunked(sse(EVENTS)[:2]), "stream ended before [DONE]"),
        (HEAD + chunked([b"data: {not json\n\n"]), "SSE payload is not JSON"),
        (
            b'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 27\r\n\r\n{"error": {"message": "x"}}',
            "returned HTTP 503",
        ),
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "not an HTTP response"),
    ],
)
def test_failures_are_endpoint_errors_that_name_them(wire: bytes, message: str) -> None:
    _, fut, _ = feed(wire, [7])
    exc = fut.exception()
    assert isinstance(exc, EndpointError) and message in str(exc), exc


def _feed_within(wire: bytes, seconds: float = 5.0) -> asyncio.Future[float]:
    """feed() in a thread, so that a parser that hangs fails the test instead of the suite."""
    import threading

    out: list[asyncio.Future[float]] = []
    th = threading.Thread(target=lambda: out.append(feed(wire, [])[1]), daemon=True)
    th.start()
    th.join(seconds)
    assert not th.is_alive(), "data_received did not return: the event loop would be blocked"
    return out[0]


CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        # int("-6", 16) moved the read position back: data_received never returned
        (CHUNKED_HEAD + b"-6\r\n", "malformed chunk size: b'-6'"),
        (CHUNKED_HEAD + b"+6\r\nabcdef\r\n", "malformed chunk size"),
        (CHUNKED_HEAD + b"0x6\r\nabcdef\r\n", "malformed chunk size"),
        (CHUNKED_HEAD + b"6_0\r\n", "malformed chunk size"),
        (CHUNKED_HEAD + b"zz\r\n", "malformed chunk size"),
        (CHUNKED_HEAD + b"f" * 400 + b"\r\n", "malformed chunk size"),
        (CHUNKED_HEAD + b"1" * 5000, "chunk-size line too long"),
        (CHUNKED_HEAD + b"3\r\nabcXY", "a chunk does not end with CRLF"),
        # a 5,000-digit status code raised ValueError (int's digit limit), not a protocol error
        (b"HTTP/1.1 " + b"2" * 5000 + b" OK\r\n\r\n", "not an HTTP response"),
        (b"HTTP/1.1 2000 OK\r\n\r\n", "not an HTTP response"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: " + b"9" * 5000 + b"\r\n\r\n", "content-length"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: -5\r\n\r\n", "content-length"),
        # deep nesting raised RecursionError from the JSON scanner
        (CHUNKED_HEAD + chunked([b"data: " + b"[" * 100_000 + b"\n\n"]), "not JSON"),
        (CHUNKED_HEAD + chunked([b"data: " + b"1" * 5000 + b"\n\n"]), "not JSON"),
    ],
)
def test_a_malformed_response_is_a_protocol_error_for_that_request(
    wire: bytes, message: str
) -> None:
    exc = _feed_within(wire).exception()
    assert isinstance(exc, EndpointError) and message in str(exc), exc


def test_an_event_without_end_is_refused_before_it_grows_without_bound() -> None:
    part = b"data: " + b"x" * (1 << 20)
    exc = _feed_within(CHUNKED_HEAD + chunked([part] * 5)).exception()
    assert isinstance(exc, EndpointError) and "SSE event over 4 MiB" in str(exc)
