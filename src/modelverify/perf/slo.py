"""Service-level objectives and goodput, as vLLM's ``bench serve --goodput`` defines them.

A request is *good* when it succeeded and meets every objective: TTFT, TPOT
(= (E2EL − TTFT) / (output tokens − 1)) and E2EL, each in milliseconds. Goodput is good
requests per second of the test's wall time; attainment is the share of good requests. A test
meets its SLO when attainment reaches the required share (default 90%).
"""

from __future__ import annotations

from modelverify.errors import ConfigError
from modelverify.perf.metrics import RequestRecord
from modelverify.results import Model

SLO_KEYS = ("ttft_ms", "tpot_ms", "e2el_ms")


def parse_slo(text: str | None) -> dict[str, float]:
    """``"ttft_ms=500,tpot_ms=50"`` -> {"ttft_ms": 500.0, "tpot_ms": 50.0}."""
    if not text:
        return {}
    out: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in SLO_KEYS:
            raise ConfigError(
                f"--slo {text!r}: each item must be KEY=MILLISECONDS with KEY one of "
                f"{', '.join(SLO_KEYS)}, e.g. --slo ttft_ms=500,tpot_ms=50"
            )
        try:
            ms = float(value)
        except ValueError as exc:
            raise ConfigError(f"--slo {key}={value!r}: not a number of milliseconds") from exc
        if ms <= 0:
            raise ConfigError(f"--slo {key}={value}: must be positive")
        out[key] = ms
    return out


def request_values(rec: RequestRecord) -> dict[str, float | None]:
    tpot = None
    if rec.e2el_s is not None and rec.ttft_s is not None and (rec.output_tokens or 0) > 1:
        tpot = (rec.e2el_s - rec.ttft_s) / ((rec.output_tokens or 2) - 1) * 1000
    return {
        "ttft_ms": None if rec.ttft_s is None else rec.ttft_s * 1000,
        "tpot_ms": tpot,
        "e2el_ms": None if rec.e2el_s is None else rec.e2el_s * 1000,
    }


def violations(rec: RequestRecord, slo: dict[str, float]) -> list[str]:
    """The objectives ``rec`` misses ("failed" when the request itself failed)."""
    if not rec.ok:
        return ["failed"]
    vals = request_values(rec)
    return [k for k, limit in slo.items() if vals.get(k) is not None and vals[k] > limit]  # type: ignore[operator]


class SloTest(Model):
    test: str
    requests: int
    good: int
    attainment: float
    goodput_rps: float
    violations: dict[str, int] = {}
    met: bool


def judge(
    test: str, recs: list[RequestRecord], wall_s: float, slo: dict[str, float], required: float
) -> SloTest:
    counts: dict[str, int] = {}
    good = 0
    for r in recs:
        v = violations(r, slo)
        if not v:
            good += 1
        for k in v:
            counts[k] = counts.get(k, 0) + 1
    n = len(recs)
    att = good / n if n else 0.0
    return SloTest(
        test=test,
        requests=n,
        good=good,
        attainment=att,
        goodput_rps=good / wall_s if wall_s > 0 else 0.0,
        violations=counts,
        met=n > 0 and att >= required,
    )


__all__ = ["SLO_KEYS", "SloTest", "judge", "parse_slo", "request_values", "violations"]
