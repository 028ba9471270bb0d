"""The eval's concurrency sized to the served engine, and its throughput judged against perf's."""

from __future__ import annotations

from pathlib import Path

from modelverify.accuracy.concurrency import (
    MAX_EVAL_CONCURRENCY,
    choose_concurrency,
    compare_with_perf,
    kv_capacity,
    request_tokens,
)
from modelverify.accuracy.stage import AccuracyConfig, AccuracyResult, add_perf_comparison
from modelverify.serve.logparse import parse_vllm_log

DATA = Path(__file__).resolve().parents[2] / "data" / "vllm_logs"


def test_recorded_log_sizes_the_eval_by_its_kv_cache() -> None:
    facts = parse_vllm_log((DATA / "cpu_v0.32.0_smollm2_eager_ok.log").read_text()).model_dump(
        mode="json"
    )
    per = request_tokens("chat", 512)
    assert 1500 < per < 2100  # ~1,270 prompt tokens + a 512-token answer
    cache = kv_capacity(facts, per)
    assert cache is not None and cache == facts["kv_cache_tokens"] // per
    n, why = choose_concurrency(facts, None)
    assert n == max(1, min(cache, MAX_EVAL_CONCURRENCY))
    assert why.startswith("sized to the engine: KV cache holds")


def test_the_smaller_of_kv_capacity_and_max_num_seqs_capped_and_at_least_one() -> None:
    per = request_tokens("chat", 512)
    facts = {"kv_cache_tokens": 20 * per}
    assert choose_concurrency(facts, None)[0] == 20
    n, why = choose_concurrency(facts, 6)
    assert n == 6 and "--max-num-seqs 6" in why
    n, why = choose_concurrency({"kv_cache_tokens": 1000 * per}, None)
    assert n == 64 and "capped at 64" in why
    assert choose_concurrency({"kv_cache_tokens": per // 2}, None)[0] == 1
    # no KV token count: vLLM's "Maximum concurrency for 4,096 tokens per request: 8.0x"
    facts = {"max_concurrency": 8.0, "max_concurrency_tokens_per_request": 4096}
    assert choose_concurrency(facts, None)[0] == 8 * 4096 // per


def test_unknown_capacity_falls_back_to_the_perf_concurrency() -> None:
    n, why = choose_concurrency(None, None)
    assert n == 10 and "perf stage" in why and "unknown" in why
    assert choose_concurrency({"parse_error": "x"}, None, fallback=4)[0] == 4


PERF = {
    "sequential": {"concurrency": 1, "streaming": {"output_throughput": 30.0}},
    "concurrent": {"concurrency": 10, "streaming": {"output_throughput": 200.0}},
}


def test_throughput_target_judged_only_at_the_same_concurrency() -> None:
    met = compare_with_perf(190.0, 10, PERF)
    assert met is not None and met.ratio == 0.95 and met.target_met is True
    assert "target ≥ 90%: met" in met.note
    missed = compare_with_perf(150.0, 10, PERF)
    assert missed is not None and missed.target_met is False and "missed" in missed.note
    other = compare_with_perf(150.0, 16, PERF)
    assert other is not None and other.ratio is None and other.target_met is None
    assert other.note.startswith("not comparable") and other.perf_concurrency == 10
    assert compare_with_perf(150.0, 10, None) is None


def test_the_comparison_is_recorded_in_the_accuracy_result() -> None:
    res = AccuracyResult(output_throughput=190.0, config=AccuracyConfig(concurrency=10))
    add_perf_comparison(res, PERF)
    assert (res.perf_concurrency, res.perf_throughput_ratio) == (10, 0.95)
    assert res.perf_throughput_target_met is True and res.perf_output_throughput == 200.0
    res = AccuracyResult(output_throughput=190.0, config=AccuracyConfig(concurrency=32))
    add_perf_comparison(res, PERF)
    assert res.perf_throughput_target_met is None and "not comparable" in (
        res.perf_comparison or ""
    )


def test_the_evals_own_requests_are_the_reference_when_perf_timed_them() -> None:
    # perf's concurrent test ran at the eval's concurrency too, on its 6-token seed prompt: the
    # eval_load test (GSM8K's own requests) is the like-for-like one and wins
    perf = {
        **PERF,
        "concurrent": {
            "name": "concurrent",
            "concurrency": 26,
            "streaming": {"output_throughput": 900.0},
        },
        "eval_load": {
            "name": "eval_load",
            "concurrency": 26,
            "streaming": {"output_throughput": 400.0},
        },
    }
    cmp = compare_with_perf(380.0, 26, perf)
    assert cmp is not None and cmp.perf_test == "eval_load" and cmp.ratio == 0.95
    assert "its own requests" in cmp.note and cmp.target_met is True
    res = AccuracyResult(output_throughput=380.0, config=AccuracyConfig(concurrency=26))
    add_perf_comparison(res, perf)
    assert res.perf_reference_test == "eval_load" and res.perf_output_throughput == 400.0
    # without it, the same-concurrency test of perf's own workload, said to be another workload
    other = compare_with_perf(380.0, 26, {**perf, "eval_load": None})
    assert other is not None and other.perf_test == "concurrent" and "perf's workload" in other.note
