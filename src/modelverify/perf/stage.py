"""The perf stage: the seed's two tests, streamed so TTFT / TPOT / ITL come with them.

Test 1: 10 sequential requests. Test 2: 50 requests at concurrency 10. Both use the seed's
prompt ("The future of artificial intelligence is", max_tokens 50) unless configured otherwise.
Every request's record is appended to ``perf_requests.jsonl``.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from modelverify.client import OpenAIClient, make_timeout
from modelverify.perf.metrics import (
    FORMULAS,
    RequestRecord,
    StreamingSummary,
    Summary,
    streaming_summary,
    summarise_ms,
)
from modelverify.perf.runner import run_load
from modelverify.results import Model, StageResult, Status
from modelverify.rundir import JsonlWriter

SEED_PROMPT = "The future of artificial intelligence is"


class PerfConfig(Model):
    prompt: str = SEED_PROMPT
    max_tokens: int = 50
    temperature: float = 0.7
    sequential_requests: int = 10
    concurrent_requests: int = 50
    concurrency: int = 10
    warmup_requests: int = 1


class LoadTest(Model):
    """One load test: the seed's table figures plus the streaming summary."""

    name: str
    requests: int
    concurrency: int
    successes: int
    success_rate: float
    total_time_s: float
    qps: float
    latencies_ms: list[float | None] = []
    latency_ms: Summary
    streaming: StreamingSummary


class PerfResult(StageResult):
    stage: str = "perf"
    config: PerfConfig = PerfConfig()
    sequential: LoadTest | None = None
    concurrent: LoadTest | None = None
    formulas: dict[str, str] = FORMULAS


def _load_test(name: str, records: list[RequestRecord], wall: float, concurrency: int) -> LoadTest:
    ok = [r for r in records if r.ok]
    return LoadTest(
        name=name,
        requests=len(records),
        concurrency=concurrency,
        successes=len(ok),
        success_rate=len(ok) / len(records) if records else 0.0,
        total_time_s=wall,
        qps=len(ok) / wall if wall > 0 else 0.0,
        latencies_ms=[r.e2el_s * 1000 if r.ok and r.e2el_s is not None else None for r in records],
        latency_ms=summarise_ms([r.e2el_s for r in ok if r.e2el_s is not None]),
        streaming=streaming_summary(records, wall),
    )


async def _run(
    base_url: str, model: str, api_key: str | None, cfg: PerfConfig, jsonl: Path
) -> PerfResult:
    def body(_: int) -> dict[str, Any]:
        return {
            "model": model,
            "prompt": cfg.prompt,
            "max_tokens": cfg.max_tokens,
            "temperature": cfg.temperature,
        }

    res = PerfResult(config=cfg)
    limit = max(cfg.concurrency, 1)
    async with OpenAIClient(
        base_url, api_key=api_key, timeout=make_timeout(600, read=300), max_connections=limit
    ) as client:
        with JsonlWriter(jsonl) as out:
            if cfg.warmup_requests:
                await run_load(
                    client,
                    "/v1/completions",
                    body,
                    n=cfg.warmup_requests,
                    concurrency=1,
                    test="warmup",
                )
            recs, wall = await run_load(
                client,
                "/v1/completions",
                body,
                n=cfg.sequential_requests,
                concurrency=1,
                test="sequential",
                on_record=lambda r: out.write(r.model_dump(mode="json")),
            )
            res.sequential = _load_test("sequential", recs, wall, 1)
            recs, wall = await run_load(
                client,
                "/v1/completions",
                body,
                n=cfg.concurrent_requests,
                concurrency=cfg.concurrency,
                test="concurrent",
                on_record=lambda r: out.write(r.model_dump(mode="json")),
            )
            res.concurrent = _load_test("concurrent", recs, wall, cfg.concurrency)
    tests = [t for t in (res.sequential, res.concurrent) if t is not None]
    failed = [t for t in tests if t.successes < t.requests]
    if any(t.successes == 0 for t in tests):
        res.status, res.reason = (
            Status.FAIL,
            "requests failed: " + ", ".join(f"{t.name} {t.successes}/{t.requests}" for t in failed),
        )
    elif failed:
        res.status, res.reason = (
            Status.WARN,
            "some requests failed: "
            + ", ".join(f"{t.name} {t.successes}/{t.requests}" for t in failed),
        )
    else:
        # Without an SLO or a baseline there is nothing to pass against: say so (report issue).
        res.status = Status.PASS
        res.reason = "all requests succeeded; no SLO or baseline given, figures are informative"
    return res


def run_perf(
    base_url: str,
    model: str,
    jsonl: Path,
    *,
    api_key: str | None = None,
    config: PerfConfig | None = None,
) -> PerfResult:
    t0 = time.monotonic()
    res = asyncio.run(_run(base_url, model, api_key, config or PerfConfig(), jsonl))
    res.duration_s = time.monotonic() - t0
    return res


__all__ = ["LoadTest", "PerfConfig", "PerfResult", "run_perf"]
