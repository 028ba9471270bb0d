"""The regression statistics of `modelverify compare`, on constructed per-request records."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from modelverify.errors import ConfigError
from modelverify.report.compare import (
    Row,
    bootstrap_change,
    compare_perf_records,
    compare_runs,
    little_throughput,
    mcnemar_exact,
    two_proportion_p,
)


def test_mcnemar_exact_matches_the_binomial_by_hand() -> None:
    # b=10, c=2: 2 × P(X <= 2 | n=12, p=1/2) = 2 × (1 + 12 + 66) / 4096
    assert mcnemar_exact(10, 2) == pytest.approx(2 * 79 / 4096)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0


def test_two_proportion() -> None:
    assert two_proportion_p(50, 100, 50, 100) == 1.0
    assert two_proportion_p(70, 100, 40, 100) < 0.001


def test_little_throughput() -> None:
    recs = [{"e2el_s": 2.0, "output_tokens": 50}] * 10
    assert little_throughput(recs, 10, tokens=True) == pytest.approx(250.0)  # 10 × 500 / 20
    assert little_throughput(recs, 10, tokens=False) == pytest.approx(5.0)


def test_bootstrap_sees_a_real_shift_and_not_noise() -> None:
    rng = random.Random(1)
    a = [rng.gauss(100, 10) for _ in range(50)]
    same = [rng.gauss(100, 10) for _ in range(50)]
    slow = [x * 1.5 for x in same]
    _, lo, hi = bootstrap_change(a, same, lambda xs: sum(xs) / len(xs))
    assert lo < 0 < hi
    point, lo, hi = bootstrap_change(a, slow, lambda xs: sum(xs) / len(xs))
    assert 40 < point < 60 and lo > 0


def write_run(d: Path, latency: float, correct: list[bool], seed: int) -> Path:
    rng = random.Random(seed)
    d.mkdir()
    (d / "run.json").write_text("{}")
    (d / "perf.json").write_text(json.dumps({"concurrent": {"concurrency": 10}}))
    recs = []
    for i in range(50):
        e = latency * rng.uniform(0.9, 1.1)
        recs.append(
            {
                "test": "concurrent",
                "index": i,
                "ok": True,
                "e2el_s": e,
                "ttft_s": 0.1,
                "output_tokens": 50,
                "itl_s": [(e - 0.1) / 49] * 49,
            }
        )
    (d / "perf_requests.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    (d / "accuracy.jsonl").write_text(
        "".join(json.dumps({"index": i, "correct": c}) + "\n" for i, c in enumerate(correct))
    )
    return d


def test_compare_runs(tmp_path: Path) -> None:
    good = [i % 3 != 0 for i in range(60)]
    a = write_run(tmp_path / "a", 2.0, good, 1)
    b = write_run(tmp_path / "b", 2.0, good, 2)
    slow = write_run(tmp_path / "slow", 6.0, [False] * 60, 3)
    same = compare_runs(a, b)
    assert same.regressions == []
    bad = compare_runs(a, slow)
    assert "concurrent output_throughput" in bad.regressions
    assert "concurrent e2el_ms (mean)" in bad.regressions
    assert "GSM8K accuracy (%)" in bad.regressions
    acc = next(r for r in bad.rows if r.figure.startswith("GSM8K"))
    assert acc.p_value is not None and acc.p_value < 1e-6 and "McNemar" in acc.test
    # a tiny but consistent slowdown is real, yet below the threshold: not a regression
    tiny = write_run(tmp_path / "tiny", 2.1, good, 1)
    assert compare_runs(a, tiny).regressions == []


def test_not_a_run_dir(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a modelverify run directory"):
        compare_runs(tmp_path, tmp_path)


def _stepped(ttft_steps: list[int], step_s: float) -> list[dict[str, Any]]:
    return [
        {
            "test": "concurrent",
            "ok": True,
            "ttft_s": k * step_s,
            "e2el_s": k * step_s + 49 * step_s,
            "output_tokens": 50,
            "itl_s": [step_s] * 49,
        }
        for k in ttft_steps
    ]


def test_ttft_rise_under_one_decode_step_is_phase_not_regression() -> None:
    """TTFT under batching comes in whole steps: the demo's clustered at 2, 3 and 4 steps."""
    step = 0.046
    a = _stepped([2] * 20 + [3] * 20 + [4] * 10, step)
    later = _stepped([2] * 5 + [3] * 25 + [4] * 20, step)  # +0.5 step on the mean: +17%
    slower = _stepped([5] * 20 + [6] * 20 + [7] * 10, step)  # three steps later: +100%
    conc = {"concurrent": 10}

    def ttft_row(b: list[dict[str, Any]], threshold: float) -> Row:
        rows = compare_perf_records(a, b, conc, conc, threshold)
        return next(r for r in rows if r.figure == "concurrent ttft_ms (mean)")

    row = ttft_row(later, 5.0)
    assert row.ci_low_pct is not None and row.ci_low_pct > 5  # significant, past threshold ...
    assert row.verdict == "worse" and "under one decode step" in row.test  # ... but one phase
    assert ttft_row(slower, 10.0).verdict == "regression"
    # past the threshold on the point estimate but not with 95% confidence: not a regression
    row = ttft_row(later, 10.0)
    assert row.change_pct is not None and row.change_pct > 10 and row.ci_low_pct < 10
    assert row.verdict == "worse" and "decode step" not in row.test
    # the host 40% slower in B: every millisecond +40%, the same steps -> TTFT is no regression
    # (the slower step is TPOT's and ITL's to judge, and they flag it)
    drift = _stepped([2] * 20 + [3] * 20 + [4] * 10, step * 1.4)
    rows = {r.figure: r for r in compare_perf_records(a, drift, conc, conc, 25.0)}
    assert rows["concurrent ttft_ms (mean)"].verdict == "worse"
    assert "in decode steps 2.80 -> 2.80" in rows["concurrent ttft_ms (mean)"].test
    assert rows["concurrent tpot_ms (mean)"].verdict == "regression"
    # two more steps of waiting on a faster host is still a regression
    queued = _stepped([5] * 20 + [6] * 20 + [7] * 10, step * 0.8)
    assert ttft_row(queued, 25.0).verdict == "regression"
