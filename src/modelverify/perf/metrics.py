"""Per-request streaming records and their summaries, with vLLM's definitions.

Formulas (times from ``time.perf_counter()`` on the client):

- TTFT = t(first chunk carrying content) − t(request sent)
- ITL  = gaps between consecutive content chunks
- E2EL = t(end of stream) − t(request sent)
- TPOT = (E2EL − TTFT) / (output_tokens − 1), output_tokens from the server's ``usage``
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from modelverify.results import Model

FORMULAS = {
    "ttft": "TTFT = t(first content chunk) − t(request sent)",
    "itl": "ITL = t(content chunk i) − t(content chunk i−1)",
    "e2el": "E2EL = t(last byte, [DONE]) − t(request sent)",
    "tpot": "TPOT = (E2EL − TTFT) / (output_tokens − 1)",
    "throughput": "output tok/s = Σ output_tokens / wall time; req/s = successes / wall time",
}

# How other tools name the same figures (GuideLLM's "ITL" is vLLM's TPOT).
NAME_MAP = {
    "ttft": {"vllm": "TTFT", "guidellm": "time_to_first_token_ms", "aisbench": "TTFT"},
    "tpot": {"vllm": "TPOT", "guidellm": "inter_token_latency_ms (ITL)", "aisbench": "TPOT"},
    "itl": {"vllm": "ITL", "guidellm": "—", "aisbench": "ITL"},
    "e2el": {"vllm": "E2EL", "guidellm": "request_latency", "aisbench": "E2EL"},
}


class RequestRecord(Model):
    """One measured request, as saved in the perf JSONL."""

    test: str
    index: int
    ok: bool
    status_code: int | None = None
    error: str | None = None
    send_time: float
    ttft_s: float | None = None
    e2el_s: float | None = None
    itl_s: list[float] = []
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    output_chunks: int = 0
    finish_reason: str | None = None

    @property
    def tpot_s(self) -> float | None:
        if (
            self.e2el_s is None
            or self.ttft_s is None
            or self.output_tokens is None
            or self.output_tokens < 2
        ):
            return None
        return (self.e2el_s - self.ttft_s) / (self.output_tokens - 1)


class Summary(Model):
    """Distribution of one metric, in milliseconds."""

    count: int
    mean: float | None = None
    median: float | None = None
    std: float | None = None
    p90: float | None = None
    p99: float | None = None
    min: float | None = None
    max: float | None = None


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), ``q`` in [0, 100]."""
    if not sorted_values:
        raise ValueError("no values")
    pos = (len(sorted_values) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summarise_ms(values_s: Sequence[float]) -> Summary:
    """Summary in ms of values in seconds; std is the sample standard deviation."""
    if not values_s:
        return Summary(count=0)
    v = sorted(x * 1000.0 for x in values_s)
    return Summary(
        count=len(v),
        mean=statistics.fmean(v),
        median=statistics.median(v),
        std=statistics.stdev(v) if len(v) > 1 else 0.0,
        p90=percentile(v, 90),
        p99=percentile(v, 99),
        min=v[0],
        max=v[-1],
    )


class StreamingSummary(Model):
    """TTFT / TPOT / ITL / E2EL distributions and throughput over a set of records."""

    requests: int
    successes: int
    wall_time_s: float
    request_throughput: float
    output_throughput: float
    total_token_throughput: float
    ttft_ms: Summary
    tpot_ms: Summary
    itl_ms: Summary
    e2el_ms: Summary
    errors: dict[str, int] = {}


def error_kind(error: str | None) -> str:
    """A short, stable class for an error message, for the breakdown table."""
    import re

    e = error or "unknown"
    if m := re.search(r"HTTP (\d{3})", e):
        return f"HTTP {m.group(1)}"
    low = e.lower()
    if "before [done]" in low:
        return "stream cut before [DONE]"
    if "not json" in low:
        return "malformed SSE JSON"
    if "timeout" in low:
        return "timeout"
    if "connect" in low or "refused" in low or "reset" in low:
        return "connection error"
    if "emptyresponse" in low:
        return "empty response"
    return e.split(":")[0][:60]


def busy_output_throughput(records: Sequence[RequestRecord]) -> float | None:
    """Output tokens per second while a closed-loop test kept every slot busy: from its first
    send to its last (after the last send, slots fall idle one by one and the tail would
    count the test's length, not the server's pace). Each chunk's arrival is its request's
    send time plus TTFT plus the ITLs so far; a chunk is worth its request's tokens per chunk.
    None when the window is empty (one wave of requests) or nothing streamed.
    """
    ok = [r for r in records if r.ok and r.ttft_s is not None and r.output_chunks]
    if not records or not ok:
        return None
    start = min(r.send_time for r in records)
    end = max(r.send_time for r in records)
    if end - start <= 0:
        return None
    tokens = 0.0
    for r in ok:
        per_chunk = (r.output_tokens or r.output_chunks) / r.output_chunks
        t = r.send_time + (r.ttft_s or 0.0)
        if start <= t <= end:
            tokens += per_chunk
        for gap in r.itl_s:
            t += gap
            if t > end:
                break
            if t >= start:
                tokens += per_chunk
    return tokens / (end - start)


def streaming_summary(records: Sequence[RequestRecord], wall_time_s: float) -> StreamingSummary:
    ok = [r for r in records if r.ok]
    out_tok = sum(r.output_tokens or 0 for r in ok)
    in_tok = sum(r.prompt_tokens or 0 for r in ok)
    errors: dict[str, int] = {}
    for r in records:
        if not r.ok:
            key = error_kind(r.error)
            errors[key] = errors.get(key, 0) + 1
    wall = max(wall_time_s, 1e-9)
    return StreamingSummary(
        requests=len(records),
        successes=len(ok),
        wall_time_s=wall_time_s,
        request_throughput=len(ok) / wall,
        output_throughput=out_tok / wall,
        total_token_throughput=(in_tok + out_tok) / wall,
        ttft_ms=summarise_ms([r.ttft_s for r in ok if r.ttft_s is not None]),
        tpot_ms=summarise_ms([t for r in ok if (t := r.tpot_s) is not None]),
        itl_ms=summarise_ms([x for r in ok for x in r.itl_s]),
        e2el_ms=summarise_ms([r.e2el_s for r in ok if r.e2el_s is not None]),
        errors=errors,
    )


__all__ = [
    "FORMULAS",
    "NAME_MAP",
    "RequestRecord",
    "StreamingSummary",
    "Summary",
    "percentile",
    "streaming_summary",
    "summarise_ms",
]
