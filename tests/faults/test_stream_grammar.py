"""Property tests on the lean streaming transport built from a grammar: vLLM-shaped SSE events
(random unicode text, a usage chunk, ``[DONE]``) framed as HTTP/1.1 chunked bodies cut into random
chunks and fed at random byte boundaries read back to the same events; one framing byte mutated
(the status line, a header, a chunk size, a CRLF) gives the same events or an EndpointError for
that request, never another exception, and returns (a hang fails by the per-test timeout)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "core"))
from test_rawstream import HEAD, feed

from modelverify.errors import EndpointError

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[dict[str, Any]], bytes]:
    words = draw(st.lists(texts, min_size=1, max_size=8))
    events: list[dict[str, Any]] = [
        {"id": "cmpl-1", "object": "text_completion", "choices": [{"index": 0, "text": w}]}
        for w in words
    ]
    events.append({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": len(words)}})
    sep = draw(st.sampled_from(["\n\n", "\r\n\r\n"]))
    body = "".join(f"data: {json.dumps(e, ensure_ascii=draw(st.booleans()))}{sep}" for e in events)
    raw = (body + f"data: [DONE]{sep}").encode()
    # the body cut into chunks at random places, each framed with its hex size
    cuts = sorted(set(draw(st.lists(st.integers(1, max(1, len(raw) - 1)), max_size=6))))
    parts = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True) if b > a]
    wire = HEAD + b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    return events, wire


@settings(max_examples=200, deadline=None)
@given(streams(), st.lists(st.integers(0, 10**6), max_size=20))
def test_generated_streams_read_back_their_events(
    stream: tuple[list[dict[str, Any]], bytes], cuts: list[int]
) -> None:
    events, wire = stream
    got, fut, _ = feed(wire, [c % len(wire) for c in cuts])
    assert got == events
    assert fut.done() and fut.exception() is None


SIZES = [b"-6", b"-1", b"-2", b"+6", b"0x6", b"6_0", b"9" * 40, b"", b" ", b"fffffffffffffffff"]
FRAMING = [b"-", b"+", b"x", b"0", b"F", b"\r", b"\n", b" ", b"9" * 40, b"\x00", b"\xff"]


@settings(max_examples=300, deadline=None)
@given(streams(), st.data())
def test_a_mutated_framing_byte_is_the_same_events_or_an_endpoint_error(
    stream: tuple[list[dict[str, Any]], bytes], data: st.DataObject
) -> None:
    events, wire = stream
    # framing bytes: the head, and each chunk-size line and its CRLFs
    framing = list(range(len(HEAD)))
    starts = []  # where each chunk-size line begins: "-6" there once hung the event loop
    pos = len(HEAD)
    while pos < len(wire):
        eol = wire.index(b"\r\n", pos)
        size = int(wire[pos:eol], 16)
        starts.append(pos)
        framing += list(range(pos, eol + 2))  # the size line
        framing += [eol + 2 + size, eol + 3 + size]  # the chunk's closing CRLF
        pos = eol + 4 + size
        if size == 0:
            break
    how = data.draw(st.sampled_from(["size", "insert", "replace"]))
    if how == "size":  # a whole chunk-size line replaced by a hostile one
        i = data.draw(st.sampled_from(starts))
        eol = wire.index(b"\r\n", i)
        bad = wire[:i] + data.draw(st.sampled_from(SIZES)) + wire[eol:]
    elif how == "insert":
        i = data.draw(st.sampled_from(starts))
        bad = wire[:i] + data.draw(st.sampled_from(FRAMING)) + wire[i:]  # a byte put before it
    else:
        i = data.draw(st.sampled_from([f for f in framing if f < len(wire)]))
        bad = wire[:i] + data.draw(st.sampled_from(FRAMING)) + wire[i + 1 :]
    got, fut, _ = feed(bad, data.draw(st.lists(st.integers(0, len(bad)), max_size=5)))
    if fut.done() and fut.exception() is not None:
        assert isinstance(fut.exception(), EndpointError), repr(fut.exception())
    else:
        # what was read was sent, in order: a mangled header can turn the body into one read
        # to close (HTTP allows it), where SSE rules drop the event that carries the chunk
        # sizes, but nothing is made up
        it = iter(events)
        assert all(any(g == e for e in it) for g in got), (got, events)
