"""The perf stage: the seed's two tests, streamed so TTFT / TPOT / ITL come with them.

Test 1: 10 sequential requests. Test 2: 50 requests at concurrency 10. Both use the seed's
prompt ("The future of artificial intelligence is", max_tokens 50) unless configured otherwise.
Every request's record is appended to ``perf_requests.jsonl``, and each finished load test to
``perf_tests.jsonl``: a resumed stage keeps the finished tests and runs the others.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from modelverify.client import OpenAIClient, make_timeout
from modelverify.degenerate import DegenerateSummary
from modelverify.degenerate import summarise as measure_degenerate
from modelverify.perf.metrics import (
    FORMULAS,
    RequestRecord,
    StreamingSummary,
    Summary,
    busy_output_throughput,
    streaming_summary,
    summarise_ms,
)
from modelverify.perf.slo import SloTest, judge
from modelverify.perf.usage import UsageSummary
from modelverify.perf.workload import Request
from modelverify.results import Model, StageResult, Status
from modelverify.rundir import JsonlWriter

SEED_PROMPT = "The future of artificial intelligence is"
Measured = tuple[list[RequestRecord], float]  # a load test's records and its wall time


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
    workload: str = "seed"  # seed | synthetic | jsonl
    input_len: int = 128  # synthetic
    output_len: int = 128  # synthetic (ignore_eos)
    prompts_file: str | None = None  # jsonl
    sweep: list[int] = []  # concurrency levels, e.g. [1, 2, 4, 8]
    sweep_requests: int = 0  # per level; 0 = max(16, 4 × concurrency)
    rate: float | None = None  # request-rate mode: requests per second
    burstiness: float = 1.0  # gamma shape; 1 = Poisson
    rate_requests: int = 100
    rate_max_concurrency: int | None = None
    # per phase of a measured stream; a request past one is a failed sample ("timeout")
    connect_timeout_s: float = 10.0
    first_byte_timeout_s: float = 300.0  # request sent → first byte (queueing, prefill)
    read_timeout_s: float = 120.0  # between two chunks once the answer has begun
    # the eval's own requests (GSM8K prompts and sampling) timed at the eval's concurrency: the
    # like-for-like reference for the eval's throughput; 0 = not run
    eval_load_requests: int = 0
    eval_load_concurrency: int = 0
    eval_load_source: str | None = None  # which eval: task, api, sampling
    baseline: str | None = None  # an earlier run directory to judge against (no regression)
    baseline_threshold_pct: float = 25.0  # see report.compare.DEFAULT_THRESHOLD_PCT


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
    # output tokens/s from the first send to the last, while every slot was busy (the tail of
    # a closed-loop test is its length, not the server's pace); None for a single wave
    busy_output_throughput: float | None = None


class PerfResult(StageResult):
    stage: str = "perf"
    config: PerfConfig = PerfConfig()
    sequential: LoadTest | None = None
    concurrent: LoadTest | None = None
    sweep: list[LoadTest] = []
    sweep_knee: int | None = None
    rate_test: LoadTest | None = None
    eval_load: LoadTest | None = None  # the eval's own requests at its concurrency
    length_check: dict[str, Any] | None = None
    slo_tests: list[SloTest] = []
    baseline_regressions: list[str] = []
    formulas: dict[str, str] = FORMULAS
    resumed_tests: list[str] = []  # load tests kept from the session that was interrupted
    usage: UsageSummary | None = None  # the engine's CPU / device use while loaded
    # answers cut at max_tokens and empty answers (no output tokens) among the successes; the
    # streams' text is not kept, so repetition is measured by api and accuracy only
    degenerate: DegenerateSummary = DegenerateSummary()


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
        busy_output_throughput=busy_output_throughput(records) if concurrency > 1 else None,
    )


async def _run(
    base_url: str,
    model: str,
    api_key: str | None,
    cfg: PerfConfig,
    jsonl: Path,
    progress: Callable[[int, int, int], None] | None = None,
    resume: bool = False,
    eval_requests: Callable[[int], Request] | None = None,
) -> PerfResult:
    from modelverify.perf.workload import (
        calibrate_words_per_token,
        knee,
        load_prompts,
        make_requests,
        run_rate,
        run_requests,
    )

    res = PerfResult(config=cfg)
    prompts = (
        load_prompts(Path(cfg.prompts_file))
        if cfg.workload == "jsonl" and cfg.prompts_file
        else None
    )
    eval_n = cfg.eval_load_requests if eval_requests is not None else 0
    limit = max(
        [cfg.concurrency, *cfg.sweep, cfg.rate_max_concurrency or 1, cfg.eval_load_concurrency, 1]
    )
    async with OpenAIClient(
        base_url,
        api_key=api_key,
        timeout=make_timeout(3600, connect=cfg.connect_timeout_s, read=cfg.read_timeout_s),
        max_connections=limit,
        first_byte_timeout=cfg.first_byte_timeout_s,
    ) as client:
        ratio = 1.0
        if cfg.workload == "synthetic":
            ratio = await calibrate_words_per_token(client, model)
        make = make_requests(
            model,
            cfg.workload,
            prompt=cfg.prompt,
            max_tokens=cfg.max_tokens,
            temperature=cfg.temperature,
            input_len=cfg.input_len,
            output_len=cfg.output_len,
            words_per_token=ratio,
            prompts=prompts,
        )
        done = _finished_tests(jsonl) if resume else _start_afresh(jsonl)
        res.resumed_tests = sorted(done)
        with JsonlWriter(jsonl) as out, JsonlWriter(_tests_file(jsonl), sync_every=1) as ends:
            kept: list[RequestRecord] = [r for recs, _ in done.values() for r in recs]
            tokens = [sum(r.output_tokens or 0 for r in kept if r.ok)]

            total = (
                cfg.sequential_requests
                + cfg.concurrent_requests
                + sum(cfg.sweep_requests or max(16, 4 * c) for c in cfg.sweep)
                + (cfg.rate_requests if cfg.rate else 0)
                + eval_n
            )

            def keep(r: RequestRecord) -> None:
                out.write(r.model_dump(mode="json"))
                kept.append(r)
                if r.ok:
                    tokens[0] += r.output_tokens or 0
                if progress is not None:
                    progress(len(kept), total, tokens[0])

            if cfg.warmup_requests and len(done) < _test_count(cfg):
                await run_requests(
                    client, make, n=cfg.warmup_requests, concurrency=1, test="warmup"
                )

            async def load_test(
                name: str, n: int, c: int, run: Callable[[], Awaitable[Measured]]
            ) -> LoadTest:
                """Run one load test, or take its records from the session that finished it."""
                if name not in done:
                    done[name] = await run()
                    ends.write(
                        {"test": name, "requests": n, "concurrency": c, "wall_s": done[name][1]}
                    )
                recs, wall = done[name]
                return _load_test(name, recs, wall, c)

            def closed(
                name: str, n: int, c: int, ask: Callable[[int], Request] = make
            ) -> Awaitable[LoadTest]:
                return load_test(
                    name,
                    n,
                    c,
                    lambda: run_requests(
                        client, ask, n=n, concurrency=c, test=name, on_record=keep
                    ),
                )

            if cfg.sequential_requests:
                res.sequential = await closed("sequential", cfg.sequential_requests, 1)
            if cfg.concurrent_requests:
                res.concurrent = await closed(
                    "concurrent", cfg.concurrent_requests, cfg.concurrency
                )
            for c in cfg.sweep:
                n = cfg.sweep_requests or max(16, 4 * c)
                res.sweep.append(await closed(f"sweep-c{c}", n, c))
            if cfg.sweep:
                res.sweep_knee = knee(
                    [(t.concurrency, t.streaming.output_throughput) for t in res.sweep]
                )
            if cfg.rate:
                rate = cfg.rate
                res.rate_test = await load_test(
                    "rate",
                    cfg.rate_requests,
                    cfg.rate_max_concurrency or 0,
                    lambda: run_rate(
                        client,
                        make,
                        n=cfg.rate_requests,
                        rate=rate,
                        burstiness=cfg.burstiness,
                        max_concurrency=cfg.rate_max_concurrency,
                        test="rate",
                        on_record=keep,
                    ),
                )
            if eval_n and eval_requests is not None:
                res.eval_load = await closed(
                    "eval_load", eval_n, max(1, cfg.eval_load_concurrency), eval_requests
                )
            # the tests the SLO and the baseline judge (a sweep level is a point on a curve)
            measured = {k: v for k, v in done.items() if k in ("sequential", "concurrent", "rate")}
        if cfg.workload == "synthetic":
            res.length_check = _length_check(cfg, kept)
        res.degenerate = measure_degenerate(
            ("" if not r.output_tokens else None, r.finish_reason) for r in kept if r.ok
        )
    tests = [
        t
        for t in (res.sequential, res.concurrent, *res.sweep, res.rate_test, res.eval_load)
        if t is not None
    ]
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
    deg_status, deg_reason = res.degenerate.judge()
    if deg_status == Status.FAIL:
        # requests that succeed with no output are a deployment symptom
        res.status, res.reason = Status.FAIL, f"{deg_reason}; {res.reason}"
    elif res.degenerate.answers:
        res.reason += f"; output: {deg_reason}"
    return res


def _tests_file(jsonl: Path) -> Path:
    """Where each finished load test is recorded, beside its requests (never the same file)."""
    stem = jsonl.stem.replace("requests", "tests") if "requests" in jsonl.stem else jsonl.stem
    return jsonl.with_name(stem + (".tests" if stem == jsonl.stem else "") + jsonl.suffix)


def _test_count(cfg: PerfConfig) -> int:
    return (
        bool(cfg.sequential_requests)
        + bool(cfg.concurrent_requests)
        + len(cfg.sweep)
        + bool(cfg.rate)
        + bool(cfg.eval_load_requests)
    )


def _start_afresh(jsonl: Path) -> dict[str, Measured]:
    """A new perf stage: earlier files are moved aside, never appended to nor lost."""
    for path in (jsonl, _tests_file(jsonl)):
        if path.exists():
            n = 1
            while path.with_name(f"{path.stem}.{n}{path.suffix}").exists():
                n += 1
            path.rename(path.with_name(f"{path.stem}.{n}{path.suffix}"))
    return {}


def _finished_tests(jsonl: Path) -> dict[str, Measured]:
    """The load tests an interrupted perf stage finished, with their records and wall time.

    A test is resumed whole or not at all: samples of one test all come from one server
    lifetime, and a half-run concurrent burst joined to a later one would corrupt its
    throughput. The records of the test that was cut short are moved to
    ``perf_requests.partial.jsonl`` (kept, not counted) and the test runs again.
    """
    from modelverify.rundir import atomic_write_text, read_jsonl

    ends = {e["test"]: e for e in read_jsonl(_tests_file(jsonl)) if isinstance(e.get("test"), str)}
    by_test: dict[str, list[RequestRecord]] = {}
    partial: list[dict[str, Any]] = []
    for raw in read_jsonl(jsonl):
        if raw.get("test") in ends:
            by_test.setdefault(raw["test"], []).append(RequestRecord(**raw))
        else:
            partial.append(raw)
    done = {
        name: (sorted(recs, key=lambda r: r.index), float(ends[name]["wall_s"]))
        for name, recs in by_test.items()
        if len(recs) == ends[name].get("requests")
    }
    if partial:
        with JsonlWriter(jsonl.with_name(jsonl.stem + ".partial" + jsonl.suffix)) as aside:
            for raw in partial:
                aside.write(raw)
    keep = [r.model_dump(mode="json") for recs, _ in done.values() for r in recs]
    atomic_write_text(jsonl, "".join(json.dumps(r, default=str) + "\n" for r in keep))
    atomic_write_text(_tests_file(jsonl), "".join(json.dumps(ends[name]) + "\n" for name in done))
    return done


def _length_check(cfg: PerfConfig, recs: list[RequestRecord]) -> dict[str, Any]:
    """Synthetic lengths against the server's usage: the prompts are only as long as it says."""
    ok = [r for r in recs if r.ok and r.prompt_tokens is not None]
    if not ok:
        return {"requests": 0}
    p = [r.prompt_tokens or 0 for r in ok]
    o = [r.output_tokens or 0 for r in ok]
    return {
        "requests": len(ok),
        "input_target": cfg.input_len,
        "input_mean": sum(p) / len(p),
        "input_min": min(p),
        "input_max": max(p),
        "output_target": cfg.output_len,
        "output_exact": sum(1 for x in o if x == cfg.output_len),
    }


def _judged(res: PerfResult, cfg: PerfConfig) -> tuple[Status, str]:
    """Pass or fail against the SLO and/or the baseline; not judged (informative) without
    either."""
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
            Status.NOT_JUDGED,
            "all requests succeeded; not judged: no SLO or baseline given, figures are informative",
        )
    return (Status.PASS if ok else Status.FAIL), "; ".join(parts)


def run_perf(
    base_url: str,
    model: str,
    jsonl: Path,
    *,
    api_key: str | None = None,
    config: PerfConfig | None = None,
    progress: Callable[[int, int, int], None] | None = None,
    resume: bool = False,
    eval_requests: Callable[[int], Request] | None = None,
) -> PerfResult:
    """Run the configured load tests; with ``resume`` keep the tests an interrupted stage
    finished (same inputs, checked by the caller) and run the rest. ``eval_requests`` makes the
    i-th of the eval's own requests, for the ``eval_load`` test."""
    t0 = time.monotonic()
    res = asyncio.run(
        _run(
            base_url, model, api_key, config or PerfConfig(), jsonl, progress, resume, eval_requests
        )
    )
    res.duration_s = time.monotonic() - t0
    return res


__all__ = ["LoadTest", "PerfConfig", "PerfResult", "run_perf"]
