"""One small async client for OpenAI-compatible servers.

Non-streaming calls return the parsed body with the status code and wall time; streaming calls
yield each SSE ``data:`` payload with its arrival time (``time.perf_counter()``), stopping at
``[DONE]``. Retries (exponential backoff with jitter, honouring ``Retry-After``) are opt-in per
call: health checks and eval requests use them, measured perf samples never do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from modelverify.errors import EndpointError, EngineError

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})

# Set by the supervisor while it owns an engine: a connection failure then checks whether the
# engine process is still alive, so a dead engine ends a stage at once instead of after every
# request has used up its retries.
_engine_alive: Callable[[], bool] | None = None


def watch_engine(alive: Callable[[], bool] | None) -> None:
    """Tell every client how to check that the engine is alive (None: not supervised)."""
    global _engine_alive
    _engine_alive = alive


def _engine_is_alive() -> bool:
    """The supervised engine is running, or nothing is supervised (attach mode, tests)."""
    return _engine_alive is None or _engine_alive()


def _raise_if_engine_dead(what: str) -> None:
    if not _engine_is_alive():
        raise EngineError(f"the engine process exited during {what}; see server.log for why")


async def _while_engine_lives(call: Any, what: str, tick: float = 1.0) -> Any:
    """Await ``call``, but give up within ``tick`` seconds of the supervised engine's death.

    A dead engine can leave its socket open (a child still holds it): without this, a request
    would wait out its whole read timeout for an answer that will never come.
    """
    if _engine_alive is None:
        return await call
    task = asyncio.ensure_future(call)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=tick)
            if done:
                return task.result()
            _raise_if_engine_dead(what)
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


@dataclass(frozen=True)
class Reply:
    """A non-streaming answer: HTTP status, parsed JSON (or None) and the raw text."""

    status: int
    body: Any
    text: str
    elapsed_s: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class StreamEvent:
    """One SSE data payload and when it arrived."""

    t: float
    data: dict[str, Any]


@dataclass
class StreamResult:
    """What a streamed request produced, for callers that want it all at once."""

    status: int
    t_start: float
    events: list[StreamEvent] = field(default_factory=list)
    done: bool = False
    error: str | None = None


def make_timeout(total: float = 600.0, connect: float = 10.0, read: float = 300.0) -> httpx.Timeout:
    return httpx.Timeout(total, connect=connect, read=read)


class OpenAIClient:
    """A thin async wrapper around ``httpx.AsyncClient`` for one server."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: httpx.Timeout | None = None,
        max_connections: int = 64,
        transport: httpx.AsyncBaseTransport | None = None,
        first_byte_timeout: float | None = None,
    ):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url.rstrip("/")
        self.retried = 0  # requests sent again after a transport error, 429 or 5xx
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        t = timeout or make_timeout()
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=t,
            limits=limits,
            transport=transport,
        )
        # measured streams go over a lean transport when the server is plain http (see
        # perf/rawstream.py); MODELVERIFY_HTTPX_STREAM=1 keeps them on httpx
        self.raw: Any = None
        if transport is None and not os.environ.get("MODELVERIFY_HTTPX_STREAM"):
            from modelverify.perf.rawstream import RawStreamPool

            if RawStreamPool.supports(self.base_url):
                self.raw = RawStreamPool(
                    self.base_url,
                    headers=headers,
                    connect_timeout=t.connect or 10.0,
                    read_timeout=t.read or 300.0,
                    total_timeout=t.pool or 600.0,
                    alive=_engine_is_alive,
                    first_byte_timeout=first_byte_timeout,
                )

    async def __aenter__(self) -> OpenAIClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self.raw is not None:
            await self.raw.aclose()
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content: bytes | None = None,
        retries: int = 0,
    ) -> Reply:
        """Send one request; with ``retries`` > 0, transient failures are retried with backoff."""
        attempt = 0
        while True:
            t0 = time.perf_counter()
            try:
                resp = await _while_engine_lives(
                    self._http.request(
                        method,
                        path,
                        json=body if content is None else None,
                        content=content,
                        headers={"Content-Type": "application/json"}
                        if content is not None
                        else None,
                    ),
                    f"{method} {path}",
                )
            except httpx.TransportError as exc:
                _raise_if_engine_dead(f"{method} {path}")
                if attempt >= retries:
                    raise EndpointError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
                await asyncio.sleep(backoff(attempt))
                attempt += 1
                self.retried += 1
                continue
            elapsed = time.perf_counter() - t0
            if resp.status_code in RETRY_STATUS and attempt < retries:
                await asyncio.sleep(backoff(attempt, resp.headers.get("retry-after")))
                attempt += 1
                self.retried += 1
                continue
            try:
                parsed: Any = resp.json()
            except ValueError:
                parsed = None
            return Reply(resp.status_code, parsed, resp.text, elapsed)

    async def get(self, path: str, *, retries: int = 0) -> Reply:
        return await self.request("GET", path, retries=retries)

    async def post(self, path: str, body: Any, *, retries: int = 0) -> Reply:
        return await self.request("POST", path, body, retries=retries)

    async def stream(self, path: str, body: dict[str, Any]) -> AsyncIterator[StreamEvent]:
        """Yield each SSE ``data:`` JSON payload with its arrival time until ``[DONE]``.

        Raises:
            EndpointError: non-2xx status, a payload that is not JSON, or a stream that ends
                before ``[DONE]`` (a cut stream must not pass as a complete answer).
        """
        try:
            async for ev in self._stream(path, body):
                yield ev
        except httpx.TransportError as exc:
            _raise_if_engine_dead(f"POST {path}")
            raise EndpointError(f"POST {path}: {type(exc).__name__}: {exc}") from exc

    async def _stream(self, path: str, body: dict[str, Any]) -> AsyncIterator[StreamEvent]:
        async with self._http.stream("POST", path, json=body) as resp:
            if resp.status_code >= 300:
                text = (await resp.aread()).decode("utf-8", "replace")
                raise EndpointError(f"POST {path} returned HTTP {resp.status_code}: {text[:200]}")
            async for line in resp.aiter_lines():
                if not line.startswith("data:"):
                    continue  # blank separators, comments, event: lines
                payload = line[5:].strip()
                t = time.perf_counter()
                # [DONE] is the server's promise that nothing follows; stop reading there
                # instead of waiting for the connection to close.
                if payload == "[DONE]":
                    return
                try:
                    data = json.loads(payload)
                except json.JSONDecodeError as exc:
                    raise EndpointError(
                        f"POST {path}: SSE payload is not JSON: {payload[:120]!r}"
                    ) from exc
                if isinstance(data, dict):
                    yield StreamEvent(t, data)
            raise EndpointError(f"POST {path}: stream ended before [DONE]")


def backoff(attempt: int, retry_after: str | None = None) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): honour Retry-After, else 0.5·2^n ± jitter."""
    if retry_after:
        try:
            return min(float(retry_after), 30.0)  # seconds form; HTTP-date form falls through
        except ValueError:
            pass
    return float(min(0.5 * 2**attempt, 8.0)) * (0.75 + 0.5 * random.random())


__all__ = [
    "OpenAIClient",
    "Reply",
    "StreamEvent",
    "StreamResult",
    "backoff",
    "make_timeout",
    "watch_engine",
]
