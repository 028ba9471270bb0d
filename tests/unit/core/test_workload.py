"""Workloads and load shapes: arrivals, knee, prompt files, and both loops on a fake stream."""

from __future__ import annotations

import asyncio
import json
import statistics
from pathlib import Path

import httpx
import pytest

from modelverify.client import OpenAIClient
from modelverify.errors import DataError
from modelverify.perf.workload import (
    arrival_gaps,
    knee,
    load_prompts,
    make_requests,
    run_rate,
    run_requests,
    synthetic_prompt,
)


def test_arrivals_have_the_asked_rate_and_burstiness() -> None:
    poisson = arrival_gaps(20_000, rate=5.0, burstiness=1.0)
    bursty = arrival_gaps(20_000, rate=5.0, burstiness=0.25)
    assert statistics.fmean(poisson) == pytest.approx(0.2, rel=0.03)
    assert statistics.fmean(bursty) == pytest.approx(0.2, rel=0.05)
    # coefficient of variation: 1 for Poisson, 1/sqrt(shape) = 2 for shape 0.25
    assert statistics.stdev(poisson) / 0.2 == pytest.approx(1.0, rel=0.05)
    assert statistics.stdev(bursty) / 0.2 == pytest.approx(2.0, rel=0.1)


def test_knee() -> None:
    assert knee([(1, 30.0), (2, 58.0), (4, 110.0), (8, 118.0), (16, 120.0)]) == 4
    assert knee([(1, 30.0), (2, 60.0), (4, 120.0)]) is None


def test_prompt_file_errors_name_the_line(tmp_path: Path) -> None:
    f = tmp_path / "p.jsonl"
    f.write_text('{"prompt": "a"}\n\n{"messages": [{"role": "user", "content": "b"}]}\n{oops\n')
    with pytest.raises(DataError, match=r"p.jsonl:4: not JSON"):
        load_prompts(f)
    f.write_text('{"prompt": "a"}\n{"text": "b"}\n')
    with pytest.raises(DataError, match=r"p.jsonl:2: needs"):
        load_prompts(f)
    f.write_text(
        '{"prompt": "a"}\n{"messages": [{"role": "user", "content": "b"}], "max_tokens": 7}\n'
    )
    make = make_requests(
        "m", "jsonl", prompt="", max_tokens=16, temperature=0.0, prompts=load_prompts(f)
    )
    assert make(0).path == "/v1/completions" and make(0).body["max_tokens"] == 16
    assert make(1).path == "/v1/chat/completions" and make(1).body["max_tokens"] == 7
    assert make(2).body["prompt"] == "a"  # cycles


def test_synthetic_requests() -> None:
    assert len(synthetic_prompt(3, 50).split()) == 50
    assert synthetic_prompt(3, 50) != synthetic_prompt(4, 50)  # no shared prefix cache
    assert synthetic_prompt(3, 50, seed=1) != synthetic_prompt(3, 50, seed=2)  # nor across runs
    make = make_requests(
        "m",
        "synthetic",
        prompt="",
        max_tokens=0,
        temperature=1.0,
        input_len=100,
        output_len=32,
        words_per_token=0.8,
    )
    body = make(0).body
    assert body["ignore_eos"] and body["max_tokens"] == 32 and body["temperature"] == 0.0
    assert len(body["prompt"].split()) == 80


def test_synthetic_prompts_differ_between_runs_unless_seeded() -> None:
    def first_prompt(seed: int | None) -> str:
        make = make_requests(
            "m", "synthetic", prompt="", max_tokens=0, temperature=0.0, input_len=20, seed=seed
        )
        return str(make(0).body["prompt"])

    # a second run against the same server must not hit vLLM's prefix cache
    assert first_prompt(None) != first_prompt(None)
    assert first_prompt(7) == first_prompt(7)


class Stream:
    """A streaming completions endpoint: 4 chunks, usage, [DONE]; counts requests in flight."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(0.02)
            lines = [{"choices": [{"index": 0, "text": w}]} for w in ("a", "b", "c", "d")]
            lines.append(
                {
                    "choices": [],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
                }
            )
            data = "".join(f"data: {json.dumps(x)}\n\n" for x in lines) + "data: [DONE]\n\n"
            return httpx.Response(200, content=data.encode())
        finally:
            self.in_flight -= 1


def test_closed_and_open_loops() -> None:
    server = Stream()
    make = make_requests("m", "seed", prompt="p", max_tokens=4, temperature=0.0)

    async def go() -> tuple:
        async with OpenAIClient("http://fake", transport=httpx.MockTransport(server)) as c:
            closed = await run_requests(c, make, n=12, concurrency=3, test="c3")
            peak_closed = server.peak
            server.peak = 0
            opened = await run_rate(c, make, n=12, rate=200.0, burstiness=1.0, max_concurrency=5)
            return closed, peak_closed, opened, server.peak

    (recs, _), peak_closed, (rrecs, _), peak_open = asyncio.run(go())
    assert len(recs) == 12 and all(r.ok and r.output_tokens == 4 for r in recs)
    assert peak_closed == 3
    assert len(rrecs) == 12 and all(r.ok for r in rrecs) and peak_open <= 5
    sends = [r.send_time for r in rrecs]
    assert sends == sorted(sends)  # arrivals in schedule order


def test_perf_progress_lines_every_tenth(capsys) -> None:
    from modelverify.progress import load_progress

    lines: list[str] = []
    with load_progress(lines.append) as update:
        for i in range(1, 21):
            update(i, 20, 50 * i)
    assert len(lines) == 11 and lines[-1].startswith("[perf] 20/20 requests, ")  # 0%..100%
    assert lines[-1].endswith("tok/s")
