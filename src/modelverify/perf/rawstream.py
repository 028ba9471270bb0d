"""A lean HTTP/1.1 streaming client for measured requests: one asyncio Protocol per keep-alive
connection, SSE events parsed inside ``data_received`` and handed to a callback, no coroutine
switch or object per chunk.

Why not httpx: its pure-Python HTTP layer and the async generators between the socket and our
record cost about 25 µs of client CPU per streamed chunk, half the speed of ``vllm bench serve``
(aiohttp) on the same synthetic server — a perf client must never be the bottleneck, and the
time a chunk waits for the client inflates TTFT and ITL. The arrival time of an event is taken
once per ``data_received``, before any parsing.

Plain ``http://`` only (an engine on loopback or a cluster network); ``https://`` and custom
transports keep using httpx. Errors read as httpx's do (``EndpointError: POST /v1/…: …``) so the
error breakdown does not depend on the transport.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from modelverify.errors import EndpointError
from modelverify.perf.sse import (
    ContentTemplate,
    content_slot,
    content_template,
    is_string_body,
    parse_json,
)

# data payload (parsed JSON), arrival time -> None; raise to abort the request
OnEvent = Callable[[dict[str, Any], float], None]
# arrival time of a plain content chunk (one choice, non-empty content, no finish_reason, no
# usage) recognised without parsing -> None
OnContent = Callable[[float], None]

_HEAD, _BODY, _DONE = 0, 1, 2
_HEX = frozenset(b"0123456789abcdefABCDEF")
# a chunk-size line (size and extensions) and a pending SSE event longer than these are a broken
# or hostile server, not a stream: bounded so that no input makes a read cost more than its bytes
_MAX_SIZE_LINE = 4096
_MAX_EVENT = 4 << 20


def _chunk_size(line: bytes) -> int | None:
    """The size of a chunk-size line (``1a``, ``1a;name=value``), or None when it is not one:
    ``int(x, 16)`` alone would take ``-6`` (which moved the read position back: a hang), ``+6``,
    ``0x6`` and ``6_0``."""
    digits = line.split(b";", 1)[0].rstrip(b" \t")
    if not 0 < len(digits) <= 16 or not _HEX.issuperset(digits):
        return None
    return int(digits, 16)


class _Request:
    __slots__ = (
        "closed_unanswered",
        "error",
        "future",
        "learn",
        "on_content",
        "on_event",
        "path",
        "started",
        "template",
    )

    def __init__(
        self,
        path: str,
        on_event: OnEvent,
        future: asyncio.Future[float],
        on_content: OnContent | None = None,
    ):
        self.path = path
        self.on_event = on_event
        self.on_content = on_content
        self.template: ContentTemplate | None = None
        self.learn = 4  # parsed content chunks left to learn a template from
        self.future = future
        self.error: BaseException | None = None
        self.started = False  # a response byte arrived
        self.closed_unanswered = False  # the server closed the connection before any byte


class _Conn(asyncio.Protocol):
    """One keep-alive connection; serves one request at a time."""

    def __init__(self, pool: RawStreamPool):
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.req: _Request | None = None
        self.last_io = time.perf_counter()
        self._reset()

    def _reset(self) -> None:
        self.state = _HEAD
        self.head = b""
        self.status = 0
        self.mode = ""  # chunked / length / close
        self.remaining = 0  # length mode: bytes left; chunked: bytes left in this chunk
        self.need_crlf = False
        self.cbuf = b""
        self.sse = b""
        self.cr = False  # the last read ended with the CR of a CRLF
        self.error_body = b""

    # -- asyncio.Protocol ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        t = time.perf_counter()
        self.last_io = t
        req = self.req
        if req is None:
            return  # bytes after a finished body (none expected on HTTP/1.1)
        req.started = True
        try:
            if self.state == _HEAD:
                self.head += data
                end = self.head.find(b"\r\n\r\n")
                if end < 0:
                    if len(self.head) > 65536:
                        raise EndpointError(f"POST {req.path}: response head over 64 KiB")
                    return
                data = self.head[end + 4 :]
                self._parse_head(self.head[:end], req)
                self.state = _BODY
            if self.state == _BODY:
                self._body(data, t, req)
        except Exception as exc:  # a broken response ends this request, never the loop
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool._forget(self)
        req = self.req
        if req is None or req.future.done():
            return
        if self.state == _BODY and self.mode == "close" and self.status >= 300:
            self._finish_error(req)
            return
        if not req.started:
            req.closed_unanswered = True
        what = f"{type(exc).__name__}: {exc}" if exc else "connection closed by the server"
        if self.state == _BODY and self.status < 300:
            err: BaseException = EndpointError(f"POST {req.path}: stream ended before [DONE]")
        else:
            err = EndpointError(f"POST {req.path}: RemoteProtocolError: {what}")
        req.future.set_exception(err)

    # -- response ----------------------------------------------------------------------------
    def _parse_head(self, head: bytes, req: _Request) -> None:
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if (
            len(parts) < 2
            or not parts[0].startswith(b"HTTP/")
            or len(parts[1]) != 3
            or not parts[1].isdigit()
        ):
            raise EndpointError(f"POST {req.path}: not an HTTP response: {lines[0][:80]!r}")
        self.status = int(parts[1])
        te = cl = b""
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key == b"transfer-encoding":
                te = value.strip().lower()
            elif key == b"content-length":
                cl = value.strip()
        if b"chunked" in te:
            self.mode = "chunked"
        elif cl.isdigit() and len(cl) <= 18:
            self.mode, self.remaining = "length", int(cl)
        elif cl:
            raise EndpointError(f"POST {req.path}: malformed content-length: {cl[:40]!r}")
        else:
            self.mode = "close"

    def _body(self, data: bytes, t: float, req: _Request) -> None:
        if self.mode == "chunked":
            buf = self.cbuf + data if self.cbuf else data
            # the payload of every HTTP chunk in this read goes to the SSE parser in one piece:
            # a lagging client reads dozens of chunks at once, and they share one arrival time
            view = memoryview(buf)
            parts: list[memoryview] = []
            pos, n = 0, len(buf)
            remaining, need_crlf = self.remaining, self.need_crlf  # locals: hot loop
            ended = False
            while pos < n:
                if need_crlf:
                    if n - pos < 2:
                        break
                    if not buf.startswith(b"\r\n", pos):
                        raise EndpointError(f"POST {req.path}: a chunk does not end with CRLF")
                    pos += 2
                    need_crlf = False
                if remaining == 0:
                    j = buf.find(b"\r\n", pos, pos + _MAX_SIZE_LINE)
                    if j < 0:
                        if n - pos >= _MAX_SIZE_LINE:
                            raise EndpointError(f"POST {req.path}: chunk-size line too long")
                        break
                    size = _chunk_size(buf[pos:j])
                    if size is None:
                        raise EndpointError(
                            f"POST {req.path}: malformed chunk size: {bytes(buf[pos:j][:40])!r}"
                        )
                    remaining = size
                    pos = j + 2
                    if remaining == 0:
                        ended = True
                        break
                take = remaining if remaining <= n - pos else n - pos
                parts.append(view[pos : pos + take])
                pos += take
                remaining -= take
                need_crlf = remaining == 0
            self.remaining, self.need_crlf = remaining, need_crlf
            self.cbuf = buf[pos:] if pos < n and not ended else b""
            if parts:
                self._payload(b"".join(parts), t, req)
            if ended:
                self._end_of_body(req)
        elif self.mode == "length":
            part = data[: self.remaining]
            self.remaining -= len(part)
            self._payload(part, t, req)
            if self.remaining <= 0:
                self._end_of_body(req)
        else:
            self._payload(data, t, req)

    def _payload(self, data: bytes, t: float, req: _Request) -> None:
        if self.status >= 300:
            self.error_body += data[: 4096 - len(self.error_body)]
            return
        if self.cr:  # a CRLF split between two reads
            data, self.cr = b"\r" + data, False
        if data.endswith(b"\r"):
            data, self.cr = data[:-1], True
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        held = len(self.sse)
        sse = self.sse + data if held else data
        start = 0
        # the bytes held from the last read hold no event end: look only at the new ones
        find_from = held - 1 if held else 0
        on_content = req.on_content
        tpl = req.template if on_content is not None else None
        while True:
            end = sse.find(b"\n\n", max(start, find_from))
            if end < 0:
                break
            # the common event, one "data:" line that repeats the last content chunk with
            # another token, is recognised in place: no slice, no JSON, no dict (inlined
            # ContentTemplate.matches: this line runs once per streamed chunk)
            if tpl is not None and sse.startswith(b"data:", start):
                p = start + 6 if sse[start + 5] == 32 else start + 5  # one optional space
                lo, hi = p + len(tpl.head), end - len(tpl.tail)
                if (
                    lo < hi
                    and sse.startswith(tpl.head, p)
                    and sse.endswith(tpl.tail, lo, end)
                    and is_string_body(sse, lo, hi)
                ):
                    on_content(t)  # type: ignore[misc]
                    start = end + 2
                    continue
            self._event(sse[start:end], t, req)
            start = end + 2
            if req.future.done():
                break
            if tpl is None and on_content is not None:
                tpl = req.template
        self.sse = sse[start:]
        if len(self.sse) > _MAX_EVENT:
            raise EndpointError(f"POST {req.path}: an SSE event over {_MAX_EVENT >> 20} MiB")

    def _event(self, ev: bytes, t: float, req: _Request) -> None:
        if req.future.done():
            return
        if ev.startswith(b"data:") and b"\n" not in ev:
            payload = ev[5:].strip()
        else:  # several lines: comments, event:/id: fields, multi-line data
            datas = [ln[5:].strip() for ln in ev.split(b"\n") if ln.startswith(b"data:")]
            if not datas:
                return
            payload = b"\n".join(datas)
        if payload == b"[DONE]":
            # [DONE] is the server's promise that nothing follows
            req.future.set_result(t)
            return
        try:
            obj = parse_json(payload)
        except ValueError as exc:
            raise EndpointError(
                f"POST {req.path}: SSE payload is not JSON: {payload[:120].decode('utf-8', 'replace')!r}"
            ) from exc
        if not isinstance(obj, dict):
            return
        if req.on_content is not None and content_slot(obj) is not None:
            if req.template is None and req.learn > 0:
                # a few tries per request: a stream whose chunks never repeat in shape must not
                # pay for a template on every chunk
                req.learn -= 1
                req.template = content_template(payload, obj)
            req.on_content(t)
            return
        req.on_event(obj, t)

    def _end_of_body(self, req: _Request) -> None:
        self.state = _DONE
        if not req.future.done():
            if self.status >= 300:
                self._finish_error(req)
            else:
                req.future.set_exception(
                    EndpointError(f"POST {req.path}: stream ended before [DONE]")
                )
        self.req = None
        self.pool._release(self)

    def _finish_error(self, req: _Request) -> None:
        text = self.error_body.decode("utf-8", "replace")
        req.future.set_exception(
            EndpointError(f"POST {req.path} returned HTTP {self.status}: {text[:200]}")
        )

    def _fail(self, exc: BaseException) -> None:
        req = self.req
        if req is not None and not req.future.done():
            req.error = exc
            req.future.set_exception(exc)
        self.close()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()
        self.closed = True
        self.pool._forget(self)


class RawStreamPool:
    """Keep-alive connections to one ``http://host:port`` and streamed POSTs over them."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 300.0,
        total_timeout: float = 600.0,
        alive: Callable[[], bool] = lambda: True,
        first_byte_timeout: float | None = None,
    ):
        u = urlsplit(base_url)
        if u.scheme != "http" or not u.hostname:
            raise ValueError(f"RawStreamPool needs an http:// URL, not {base_url!r}")
        self.host, self.port = u.hostname, u.port or 80
        self.prefix = u.path.rstrip("/")
        host_header = u.netloc.rsplit("@", 1)[-1]
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._head_tail = (
            f"Host: {host_header}\r\nAccept: text/event-stream\r\n"
            f"Content-Type: application/json\r\nUser-Agent: modelverify\r\n{extra}"
        )
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout  # between two reads once the answer has begun
        # from the request sent to the answer's first byte (queueing and prefill)
        self.first_byte_timeout = first_byte_timeout or read_timeout
        self.total_timeout = total_timeout
        self.alive = alive  # the supervised engine's liveness, checked while a request waits
        self._idle: list[_Conn] = []
        self._all: set[_Conn] = set()

    @staticmethod
    def supports(base_url: str) -> bool:
        return urlsplit(base_url).scheme == "http"

    # -- connections -------------------------------------------------------------------------
    def _forget(self, conn: _Conn) -> None:
        self._all.discard(conn)
        if conn in self._idle:
            self._idle.remove(conn)

    def _release(self, conn: _Conn) -> None:
        if not conn.closed:
            conn._reset()
            self._idle.append(conn)

    async def _connect(self, path: str) -> _Conn:
        loop = asyncio.get_running_loop()
        try:
            _, proto = await asyncio.wait_for(
                loop.create_connection(lambda: _Conn(self), self.host, self.port),
                self.connect_timeout,
            )
        except (asyncio.TimeoutError, TimeoutError) as exc:
            raise EndpointError(
                f"POST {path}: ConnectTimeout: no connection in {self.connect_timeout:g} s"
            ) from exc
        except OSError as exc:
            raise EndpointError(f"POST {path}: ConnectError: {exc}") from exc
        self._all.add(proto)
        return proto

    async def aclose(self) -> None:
        for conn in list(self._all):
            conn.close()
        self._idle.clear()

    # -- one request ------------------------------------------------------------------------
    async def post_stream(
        self,
        path: str,
        body: dict[str, Any],
        on_event: OnEvent,
        on_content: OnContent | None = None,
    ) -> float:
        """POST ``body`` as JSON, hand each SSE data object to ``on_event`` with its arrival
        time, and return the arrival time of ``[DONE]``.

        With ``on_content``, a plain content chunk (one choice with non-empty text or delta
        content, no finish_reason, no usage) goes to ``on_content(t)`` instead, and is mostly
        recognised by its bytes without being parsed (see perf/sse.py).

        Raises:
            EndpointError: connection failure or timeout, non-2xx status, a payload that is not
                JSON, or a stream that ends before ``[DONE]``.
        """
        data = json.dumps(body, separators=(",", ":")).encode()
        head = (
            f"POST {self.prefix}{path} HTTP/1.1\r\n{self._head_tail}"
            f"Content-Length: {len(data)}\r\n\r\n"
        ).encode()
        for attempt in (0, 1):
            reused = bool(self._idle)
            conn = self._idle.pop() if reused else await self._connect(path)
            fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
            req = _Request(path, on_event, fut, on_content)
            conn._reset()
            conn.req = req
            conn.last_io = time.perf_counter()
            assert conn.transport is not None
            conn.transport.write(head + data)
            try:
                return await self._wait(conn, req)
            except EndpointError:
                # A kept-alive connection the server had already closed is closed again before
                # any byte of the answer: that request never reached the server, so it goes once
                # more on a new connection (what every HTTP client does). Anything else — a
                # timeout included — is a measured failure and never retried.
                if attempt == 0 and reused and req.closed_unanswered:
                    conn.close()
                    continue
                raise
            except BaseException:
                # cancelled (Ctrl-C, a stage deadline): the connection is mid-response, useless
                conn.close()
                raise
        raise AssertionError("unreachable")

    async def _wait(self, conn: _Conn, req: _Request) -> float:
        t0 = time.perf_counter()
        tick = max(0.05, min(1.0, self.read_timeout / 4, self.first_byte_timeout / 4))
        while True:
            done, _ = await asyncio.wait({req.future}, timeout=tick)
            if done:
                return req.future.result()
            now = time.perf_counter()
            if not self.alive():
                # a supervised engine that died may leave the socket open (a child still holds
                # it): do not wait out the read timeout for bytes that will never come
                conn._fail(EndpointError(f"POST {req.path}: the engine process exited"))
            elif now - conn.last_io > (
                limit := self.read_timeout if req.started else self.first_byte_timeout
            ):
                what = "next chunk" if req.started else "first byte"
                conn._fail(EndpointError(f"POST {req.path}: ReadTimeout: no {what} in {limit:g} s"))
            elif now - t0 > self.total_timeout:
                conn._fail(
                    EndpointError(
                        f"POST {req.path}: PoolTimeout: request over {self.total_timeout:g} s"
                    )
                )
