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
from modelverify.perf.slo import SloTest, judge
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
    slo: dict[str, float] = {}  # ttft_ms / tpot_ms / e2el_ms -> limit
    slo_attainment: float = 0.9  # share of requests that must meet every objective
    baseline: str | None = None  # an earlier run directory to judge against (no regression)
    baseline_threshold_pct: float = 10.0


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
    slo_tests: list[SloTest] = []
    baseline_regressions: list[str] = []
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
            measured = {"sequential": (recs, wall)}
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
            measured["concurrent"] = (recs, wall)
    tests = [t for t in (res.sequential, res.concurrent) if t is not None]
    if cfg.slo:
        res.slo_tests = [
            judge(name, r, w, cfg.slo, cfg.slo_attainment) for name, (r, w) in measured.items()
        ]
    if cfg.baseline:
        from modelverify.report.compare import compare_perf_records, load_perf_dir

        base_recs, base_conc = load_perf_dir(Path(cfg.baseline))
        now = [r.model_dump(mode="json") for rs, _ in measured.values() for r in rs]
        rows = compare_perf_records(
            base_recs,
            now,
            base_conc,
            {"sequential": 1, "concurrent": cfg.concurrency},
            cfg.baseline_threshold_pct,
        )
        res.baseline_regressions = [r.figure for r in rows if r.verdict == "regression"]
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
        res.status, res.reason = _judged(res, cfg)
    return res


def _judged(res: PerfResult, cfg: PerfConfig) -> tuple[Status, str]:
    """Pass or fail against the SLO and/or the baseline; informative without either."""
    parts, ok = [], True
    if cfg.slo:
        limits = ", ".join(f"{k} <= {v:g}" for k, v in cfg.slo.items())
        for t in res.slo_tests:
            ok &= t.met
            parts.append(
                f"{t.test}: {t.attainment:.0%} of requests meet the SLO ({limits}; "
                f"need {cfg.slo_attainment:.0%}), goodput {t.goodput_rps:.2f} req/s"
            )
    if cfg.baseline:
        if res.baseline_regressions:
            ok = False
            parts.append(
                f"regression vs baseline {cfg.baseline}: {', '.join(res.baseline_regressions)}"
            )
        else:
            parts.append(f"no significant regression vs baseline {cfg.baseline}")
    if not parts:
        # Without an SLO or a baseline there is nothing to pass against: say so.
        return (
            Status.PASS,
            "all requests succeeded; no SLO or baseline given, figures are informative",
        )
    return (Status.PASS if ok else Status.FAIL), "; ".join(parts)


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
