"""SLO parsing, per-request violations and goodput (vLLM bench serve's --goodput definition)."""

from __future__ import annotations

import pytest

from modelverify.errors import ConfigError
from modelverify.perf.metrics import RequestRecord
from modelverify.perf.slo import judge, parse_slo, violations


def rec(ttft: float, e2el: float, tokens: int, ok: bool = True) -> RequestRecord:
    return RequestRecord(
        test="t", index=0, ok=ok, send_time=0.0, ttft_s=ttft, e2el_s=e2el, output_tokens=tokens
    )


def test_parse() -> None:
    assert parse_slo("ttft_ms=500, tpot_ms=50") == {"ttft_ms": 500.0, "tpot_ms": 50.0}
    assert parse_slo(None) == {}
    for bad in ("ttft=5", "ttft_ms", "ttft_ms=abc", "e2el_ms=-1"):
        with pytest.raises(ConfigError):
            parse_slo(bad)


def test_violations_use_tpot_from_e2el_and_ttft() -> None:
    slo = {"ttft_ms": 100.0, "tpot_ms": 40.0}
    # TPOT = (2.0 - 0.05) / (50 - 1) = 39.8 ms: meets
    assert violations(rec(0.05, 2.0, 50), slo) == []
    # TPOT = (2.1 - 0.05) / 49 = 41.8 ms: misses TPOT only
    assert violations(rec(0.05, 2.1, 50), slo) == ["tpot_ms"]
    assert violations(rec(0.2, 2.3, 50), slo) == ["ttft_ms", "tpot_ms"]  # TPOT 42.9 ms
    assert violations(rec(0.01, 0.1, 5, ok=False), slo) == ["failed"]


def test_goodput_and_attainment() -> None:
    recs = [rec(0.05, 2.0, 50)] * 9 + [rec(0.5, 2.0, 50)]
    t = judge("concurrent", recs, wall_s=5.0, slo={"ttft_ms": 100.0}, required=0.9)
    assert (t.good, t.attainment, t.goodput_rps, t.met) == (9, 0.9, 1.8, True)
    assert t.violations == {"ttft_ms": 1}
    assert not judge("c", recs, 5.0, {"ttft_ms": 100.0}, 0.95).met
