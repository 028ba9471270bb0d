"""Send streamed requests at a fixed concurrency and record each one's timings.

Measured requests are never retried: a failure is a sample (counted in the error breakdown),
not something to hide.
"""

from __future__ import annotations

import time
from typing import Any

from modelverify.client import OpenAIClient, _raise_if_engine_dead
from modelverify.errors import EndpointError, EngineError
from modelverify.perf.metrics import RequestRecord


def _has_content(choice: dict[str, Any]) -> bool:
    if choice.get("text"):
        return True
    delta = choice.get("delta")
    return isinstance(delta, dict) and bool(delta.get("content") or delta.get("reasoning_content"))


async def one_request(
    client: OpenAIClient, path: str, body: dict[str, Any], test: str, index: int
) -> RequestRecord:
    body = {**body, "stream": True, "stream_options": {"include_usage": True}}
    t0 = time.perf_counter()
    rec = RequestRecord(test=test, index=index, ok=False, send_time=t0)
    # per-chunk state in closure variables, copied to the record once at the end: a pydantic
    # attribute write costs about a microsecond, as much as the rest of a chunk's bookkeeping
    itl: list[float] = []
    ttft: float | None = None
    last: float | None = None
    chunks = 0

    def on_content(t: float) -> None:
        nonlocal ttft, last, chunks
        if last is None:
            ttft = t - t0
        else:
            itl.append(t - last)
        last = t
        chunks += 1

    def on_event(data: dict[str, Any], t: float) -> None:
        choices = data.get("choices")
        if choices and isinstance(choices[0], dict):
            c = choices[0]
            if _has_content(c):
                on_content(t)
            if c.get("finish_reason"):
                rec.finish_reason = c["finish_reason"]
        usage = data.get("usage")
        if isinstance(usage, dict):
            rec.prompt_tokens = usage.get("prompt_tokens")
            rec.output_tokens = usage.get("completion_tokens")

    try:
        try:
            if client.raw is not None:
                try:
                    rec.e2el_s = await client.raw.post_stream(path, body, on_event, on_content) - t0
                except EndpointError:
                    _raise_if_engine_dead(f"POST {path}")
                    raise
            else:
                async for ev in client.stream(path, body):
                    on_event(ev.data, ev.t)
                rec.e2el_s = time.perf_counter() - t0
        finally:
            rec.ttft_s, rec.itl_s, rec.output_chunks = ttft, itl, chunks
        rec.status_code = 200
        rec.ok = rec.ttft_s is not None
        if not rec.ok:
            rec.error = "EmptyResponse: no content chunk"
    except EngineError:
        raise  # a dead engine ends the stage; it is not one more failed sample
    except EndpointError as exc:
        rec.error = f"EndpointError: {exc}"
    except Exception as exc:
        rec.error = f"{type(exc).__name__}: {exc}"
    return rec


__all__ = ["one_request"]
