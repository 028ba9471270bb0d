"""``modelverify compare RUN_A RUN_B``: every figure side by side, and a regression verdict
that respects noise.

* Latency (E2EL, TTFT, TPOT, ITL means): bootstrap over the per-request records of each run
  (``perf_requests.jsonl``), 95% interval of the relative change B/A − 1.
* Throughput of a closed-loop test with fixed concurrency C: by Little's law
  throughput = C × Σ output tokens / Σ E2EL, bootstrapped the same way.
* Accuracy: McNemar's exact test on the items both runs answered (paired), else a
  two-proportion z-test.

A figure regresses only when it is worse than the threshold with 95% confidence (the whole
interval past the threshold; for accuracy p < α and a drop of at least the threshold) — noise
alone never fails a pipeline, and neither does a statistically real but negligible change.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from modelverify.errors import ConfigError
from modelverify.results import Model

BOOTSTRAP = 2000
# The per-request bootstrap sees the noise inside one run, not the drift between two launches of
# the same engine: two identical demo launches on a 2-core CPU host differed by 15% (sequential
# TPOT +14.7%, 95% CI [+5.4%, +25.6%]) and, another time, with nothing else running, by 33%
# (concurrent TPOT, 95% CI [+29.5%, +36.9%]). 25% suits a dedicated accelerator; on a small or
# shared CPU host pass a larger --threshold (and --baseline-threshold to run / perf).
DEFAULT_THRESHOLD_PCT = 25.0
LOWER_IS_BETTER = {
    "e2el_ms": True,
    "ttft_ms": True,
    "tpot_ms": True,
    "itl_ms": True,
    "output_throughput": False,
    "request_throughput": False,
}


class Row(Model):
    figure: str
    a: float | None
    b: float | None
    change_pct: float | None = None
    ci_low_pct: float | None = None
    ci_high_pct: float | None = None
    p_value: float | None = None
    test: str = ""
    verdict: str = "n/a"  # better / worse / no significant change / regression / n/a


class Comparison(Model):
    run_a: str
    run_b: str
    threshold_pct: float
    accuracy_threshold_pts: float
    alpha: float
    rows: list[Row]
    regressions: list[str]
    verdict: str


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line of an interrupted run
        if isinstance(rec, dict):
            out.append(rec)
    return out


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def per_request(rec: dict[str, Any], figure: str) -> float | None:
    if figure == "e2el_ms":
        return None if rec.get("e2el_s") is None else float(rec["e2el_s"]) * 1000
    if figure == "ttft_ms":
        return None if rec.get("ttft_s") is None else float(rec["ttft_s"]) * 1000
    if figure == "tpot_ms":
        n, e, t = rec.get("output_tokens"), rec.get("e2el_s"), rec.get("ttft_s")
        if not n or n < 2 or e is None or t is None:
            return None
        return (float(e) - float(t)) / (int(n) - 1) * 1000
    if figure == "itl_ms":
        itl = rec.get("itl_s") or []
        return _mean(itl) * 1000 if itl else None
    raise ValueError(figure)


def _step_ms(recs: Sequence[dict[str, Any]]) -> float | None:
    """One decode step of a test: the mean inter-token latency over its requests, in ms."""
    itl = [v for r in recs if (v := per_request(r, "itl_ms")) is not None]
    return _mean(itl) if itl else None


def _ttft_in_steps(row: Row, step_a: float | None, step_b: float | None) -> None:
    """Keep a TTFT regression only if it is also one whole decode step or more.

    Under continuous batching a request's first token waits for the step in flight, so TTFT
    comes in multiples of one decode step (the demo's concurrent TTFTs cluster at ~100, ~140,
    ~186 ms with 46 ms steps). Counted in each run's own steps, the TTFT of two launches of the
    same engine holds still while both drift in milliseconds with the host's speed (two demo
    launches on this 2-core host: 164 -> 126 ms, -23%, but 2.20 -> 2.03 steps). A rise of less
    than one step is then a change of phase or of the engine's step time, and a slower step is
    judged where it shows, by TPOT and ITL: no slowdown escapes, none is counted twice.
    """
    if row.a is None or row.b is None or not step_a or not step_b:
        return
    steps_a, steps_b = row.a / step_a, row.b / step_b
    if steps_b - steps_a < 1:
        row.verdict = "worse"
        row.test += (
            f"; in decode steps {steps_a:.2f} -> {steps_b:.2f} ({step_a:.1f} / {step_b:.1f} ms "
            "a step): under one decode step more, not a regression"
        )


def little_throughput(recs: Sequence[dict[str, Any]], concurrency: int, tokens: bool) -> float:
    """Closed-loop throughput = concurrency × work / Σ latency (Little's law)."""
    lat = sum(r["e2el_s"] for r in recs)
    work = sum(r.get("output_tokens") or 0 for r in recs) if tokens else len(recs)
    return concurrency * work / lat if lat > 0 else float("nan")


def _throughput_stat(concurrency: int, tokens: bool) -> Callable[[Sequence[Any]], float]:
    def stat(recs: Sequence[Any]) -> float:
        return little_throughput(recs, concurrency, tokens)

    return stat


def bootstrap_change(
    a: Sequence[Any], b: Sequence[Any], stat: Callable[[Sequence[Any]], float], seed: int = 0
) -> tuple[float, float, float]:
    """(point, low, high) of stat(B)/stat(A) − 1 in percent, 95% percentile bootstrap."""
    rng = random.Random(seed)
    point = (stat(b) / stat(a) - 1) * 100
    draws = []
    for _ in range(BOOTSTRAP):
        ra = [a[rng.randrange(len(a))] for _ in a]
        rb = [b[rng.randrange(len(b))] for _ in b]
        sa = stat(ra)
        if sa and not math.isnan(sa):
            draws.append((stat(rb) / sa - 1) * 100)
    draws.sort()
    lo = draws[int(0.025 * (len(draws) - 1))]
    hi = draws[int(0.975 * (len(draws) - 1))]
    return point, lo, hi


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for b (A right, B wrong) and c (A wrong, B right)."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return float(min(1.0, 2 * tail))


def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float:
    if n1 == 0 or n2 == 0:
        return 1.0
    p = (x1 + x2) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = abs(x1 / n1 - x2 / n2) / se
    return math.erfc(z / math.sqrt(2))


def _judge(row: Row, lower_better: bool, threshold: float) -> None:
    """A regression is worse by at least ``threshold`` % with 95% confidence: the end of the
    interval nearest to no change must be past the threshold, not only the point estimate.
    Sequential figures rest on 10 requests, so their intervals are wide: two identical demo
    launches on this 2-core host moved sequential TPOT +18.7% with a 95% interval of
    +10.9..+27.3%, and another pair, on a busy host, crossed 25% on the point estimate."""
    if row.ci_low_pct is None or row.ci_high_pct is None or row.change_pct is None:
        return
    significant = row.ci_low_pct > 0 or row.ci_high_pct < 0
    worse = row.change_pct > 0 if lower_better else row.change_pct < 0
    # the least change the interval allows, in the direction of the change
    least = row.ci_low_pct if row.change_pct > 0 else -row.ci_high_pct
    if not significant:
        row.verdict = "no significant change"
    elif worse and least >= threshold:
        row.verdict = "regression"
    else:
        row.verdict = "worse" if worse else "better"


def load_perf_dir(d: Path) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Per-request records and each test's concurrency of a run directory."""
    if not (d / "perf_requests.jsonl").is_file():
        raise ConfigError(
            f"{d} has no perf_requests.jsonl: pass a run directory whose perf stage ran"
        )
    p = _json(d / "perf.json")
    conc = {t: int((p.get(t) or {}).get("concurrency") or 1) for t in ("sequential", "concurrent")}
    return _jsonl(d / "perf_requests.jsonl"), conc


def compare_perf(a_dir: Path, b_dir: Path, threshold: float) -> list[Row]:
    if (
        not (a_dir / "perf_requests.jsonl").is_file()
        or not (b_dir / "perf_requests.jsonl").is_file()
    ):
        return []
    ra, ca = load_perf_dir(a_dir)
    rb, cb = load_perf_dir(b_dir)
    return compare_perf_records(ra, rb, ca, cb, threshold)


def compare_perf_records(
    ra: list[dict[str, Any]],
    rb: list[dict[str, Any]],
    conc_a_by: dict[str, int],
    conc_b_by: dict[str, int],
    threshold: float,
) -> list[Row]:
    rows: list[Row] = []
    for test in ("sequential", "concurrent"):
        a = [r for r in ra if r.get("test") == test and r.get("ok") and r.get("e2el_s")]
        b = [r for r in rb if r.get("test") == test and r.get("ok") and r.get("e2el_s")]
        if len(a) < 2 or len(b) < 2:
            continue
        conc_a = conc_a_by.get(test, 1)
        conc_b = conc_b_by.get(test, 1)
        for fig in ("e2el_ms", "ttft_ms", "tpot_ms", "itl_ms"):
            va = [v for r in a if (v := per_request(r, fig)) is not None]
            vb = [v for r in b if (v := per_request(r, fig)) is not None]
            if len(va) < 2 or len(vb) < 2:
                continue
            point, lo, hi = bootstrap_change(va, vb, _mean)
            row = Row(
                figure=f"{test} {fig} (mean)",
                a=_mean(va),
                b=_mean(vb),
                change_pct=point,
                ci_low_pct=lo,
                ci_high_pct=hi,
                test="bootstrap 95% CI",
            )
            _judge(row, True, threshold)
            if fig == "ttft_ms" and row.verdict == "regression":
                _ttft_in_steps(row, _step_ms(a), _step_ms(b))
            rows.append(row)
        for fig, tokens in (("output_throughput", True), ("request_throughput", False)):
            point, lo, hi = (
                bootstrap_change(a, b, _throughput_stat(conc_a, tokens))
                if conc_a == conc_b
                else (float("nan"), float("nan"), float("nan"))
            )
            ta, tb = little_throughput(a, conc_a, tokens), little_throughput(b, conc_b, tokens)
            if conc_a != conc_b:
                row = Row(
                    figure=f"{test} {fig}",
                    a=ta,
                    b=tb,
                    change_pct=(tb / ta - 1) * 100,
                    test=f"concurrency differs ({conc_a} vs {conc_b}): not compared",
                )
            else:
                row = Row(
                    figure=f"{test} {fig}",
                    a=ta,
                    b=tb,
                    change_pct=point,
                    ci_low_pct=lo,
                    ci_high_pct=hi,
                    test="bootstrap 95% CI, Little's law",
                )
                _judge(row, False, threshold)
            rows.append(row)
    return rows


def compare_accuracy(a_dir: Path, b_dir: Path, alpha: float, threshold_pts: float) -> list[Row]:
    ra = {
        r.get("index"): bool(r.get("correct"))
        for r in _jsonl(a_dir / "accuracy.jsonl")
        if "correct" in r
    }
    rb = {
        r.get("index"): bool(r.get("correct"))
        for r in _jsonl(b_dir / "accuracy.jsonl")
        if "correct" in r
    }
    if not ra or not rb:
        return []
    acc_a, acc_b = sum(ra.values()) / len(ra), sum(rb.values()) / len(rb)
    common = sorted(set(ra) & set(rb), key=str)
    if len(common) >= 10:
        b = sum(1 for i in common if ra[i] and not rb[i])
        c = sum(1 for i in common if not ra[i] and rb[i])
        p, test = mcnemar_exact(b, c), f"McNemar exact on {len(common)} paired items (b={b}, c={c})"
        acc_a = sum(ra[i] for i in common) / len(common)
        acc_b = sum(rb[i] for i in common) / len(common)
    else:
        p = two_proportion_p(sum(ra.values()), len(ra), sum(rb.values()), len(rb))
        test = f"two-proportion z-test ({len(ra)} vs {len(rb)} items)"
    change = (acc_b - acc_a) * 100
    row = Row(
        figure="GSM8K accuracy (%)",
        a=acc_a * 100,
        b=acc_b * 100,
        change_pct=change,
        p_value=p,
        test=test + "; change in points",
    )
    if p >= alpha:
        row.verdict = "no significant change"
    elif change < 0 and -change >= threshold_pts:
        row.verdict = "regression"
    else:
        row.verdict = "worse" if change < 0 else "better"
    return [row]


def informative_rows(a_dir: Path, b_dir: Path) -> list[Row]:
    """Figures shown side by side without a test (single numbers per run)."""
    rows = []
    sa, sb = _json(a_dir / "serve.json"), _json(b_dir / "serve.json")
    ca, cb = _json(a_dir / "compat.json"), _json(b_dir / "compat.json")
    aa, ab = _json(a_dir / "api.json"), _json(b_dir / "api.json")
    pairs: list[tuple[str, Any, Any]] = [
        ("engine ready after (s)", sa.get("ready_after_s"), sb.get("ready_after_s")),
        (
            "engine memory (MiB)",
            _mib(sa.get("memory_total_bytes")),
            _mib(sb.get("memory_total_bytes")),
        ),
        (
            "KV cache tokens (engine)",
            (sa.get("log_facts") or {}).get("kv_cache_tokens"),
            (sb.get("log_facts") or {}).get("kv_cache_tokens"),
        ),
        (
            "KV cache tokens (predicted)",
            (ca.get("memory") or {}).get("predicted_kv_tokens"),
            (cb.get("memory") or {}).get("predicted_kv_tokens"),
        ),
        ("API checks passed", _passed(aa), _passed(ab)),
    ]
    for name, x, y in pairs:
        if x is None and y is None:
            continue
        ch = (
            (y / x - 1) * 100
            if isinstance(x, (int, float)) and isinstance(y, (int, float)) and x
            else None
        )
        rows.append(Row(figure=name, a=x, b=y, change_pct=ch, test="single value, no test"))
    return rows


def _mib(b: Any) -> float | None:
    return b / 2**20 if isinstance(b, (int, float)) else None


def _passed(api: dict[str, Any]) -> int | None:
    checks = api.get("checks")
    return sum(1 for c in checks if c.get("status") == "pass") if isinstance(checks, list) else None


def compare_runs(
    a: Path,
    b: Path,
    *,
    threshold_pct: float = DEFAULT_THRESHOLD_PCT,
    accuracy_threshold_pts: float = 2.0,
    alpha: float = 0.05,
) -> Comparison:
    for d in (a, b):
        if not (d / "run.json").is_file():
            raise ConfigError(f"{d} is not a modelverify run directory (no run.json)")
    rows = compare_perf(a, b, threshold_pct) + compare_accuracy(a, b, alpha, accuracy_threshold_pts)
    if not rows:
        raise ConfigError(
            f"{a} and {b} share no perf or accuracy records to compare: run the perf "
            "or accuracy stage in both"
        )
    rows += informative_rows(a, b)
    regressions = [r.figure for r in rows if r.verdict == "regression"]
    verdict = "significant regression" if regressions else "no significant regression"
    return Comparison(
        run_a=str(a),
        run_b=str(b),
        threshold_pct=threshold_pct,
        accuracy_threshold_pts=accuracy_threshold_pts,
        alpha=alpha,
        rows=rows,
        regressions=regressions,
        verdict=verdict,
    )


def render_comparison(c: Comparison) -> str:
    def f(v: float | None) -> str:
        return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:,.2f}"

    lines = [
        f"A: {c.run_a}",
        f"B: {c.run_b}",
        "",
        "| figure | A | B | change | 95% CI / p | verdict | test |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in c.rows:
        ci = (
            f"[{r.ci_low_pct:+.1f}%, {r.ci_high_pct:+.1f}%]"
            if r.ci_low_pct is not None
            and r.ci_high_pct is not None
            and not math.isnan(r.ci_low_pct)
            else (f"p = {r.p_value:.3g}" if r.p_value is not None else "—")
        )
        unit = " pts" if "accuracy" in r.figure else "%"
        ch = (
            "—"
            if r.change_pct is None or math.isnan(r.change_pct)
            else f"{r.change_pct:+.1f}{unit}"
        )
        lines.append(f"| {r.figure} | {f(r.a)} | {f(r.b)} | {ch} | {ci} | {r.verdict} | {r.test} |")
    lines += [
        "",
        f"Regression rule: worse by >= {c.threshold_pct:g}% with 95% confidence (the whole "
        f"interval past it; latency, throughput), or p < {c.alpha} and a drop of "
        f">= {c.accuracy_threshold_pts:g} points (accuracy).",
        f"Verdict: {c.verdict}" + (f" — {', '.join(c.regressions)}" if c.regressions else ""),
    ]
    return "\n".join(lines)


__all__ = [
    "Comparison",
    "Row",
    "bootstrap_change",
    "compare_runs",
    "little_throughput",
    "mcnemar_exact",
    "render_comparison",
    "two_proportion_p",
]
