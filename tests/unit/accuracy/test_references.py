"""The bundled published GSM8K scores and their use as the accuracy reference."""

from __future__ import annotations

from modelverify.accuracy.references import ReferenceScore, find_reference, load_references
from modelverify.accuracy.stage import AccuracyConfig, summarise, use_published_reference
from modelverify.report.sections import eval_vs_perf
from modelverify.results import Status


def test_table_rows_have_source_and_settings() -> None:
    rows = load_references()
    assert len(rows) >= 10
    for r in rows:
        assert 0 < r.accuracy < 1 and r.source.startswith("https://github.com/vllm-project/")
        assert "shot" in r.settings and "flexible-extract" in r.metric
    by = {r.model: r for r in rows}
    # the v0.10.1rc1 accuracy report of Qwen3-8B-Base: 0.8294 ± 0.0104
    assert (by["Qwen/Qwen3-8B-Base"].accuracy, by["Qwen/Qwen3-8B-Base"].stderr) == (0.8294, 0.0104)


def test_matching_by_last_path_component() -> None:
    assert find_reference("/models/Qwen3-8B") is not None
    assert find_reference("/models/qwen3-8b-base/").model == "Qwen/Qwen3-8B-Base"  # type: ignore[union-attr]
    assert find_reference("Qwen3-8B-W8A8-mine") is None
    assert find_reference("demo", "SmolLM2-135M-Instruct") is None


def test_published_reference_of_another_protocol_is_shown_beside_never_used() -> None:
    ref = find_reference("Qwen/Qwen3-8B")
    assert ref is not None
    cfg = AccuracyConfig()
    use_published_reference(cfg, ref)
    assert cfg.reference_differences == [
        "5-shot (ours: 4-shot)",
        "no chain-of-thought prompt (ours: CoT)",
        "greedy decoding (ours: temperature 0.6)",
    ]
    recs = [{"correct": i < 160, "extracted": "1", "rule": "answer_is"} for i in range(200)]
    res = summarise(recs, cfg)  # 80% (CI about 73.9-85.0%) vs published 81%: never a pass
    assert res.status == Status.NOT_JUDGED and "another protocol" in res.reason
    low = summarise([{"correct": i < 100, "extracted": "1"} for i in range(200)], cfg)
    assert low.status == Status.NOT_JUDGED and "shown beside, never used" in low.reason
    assert "5-shot (ours: 4-shot)" in low.reason


def test_every_bundled_score_is_of_another_protocol() -> None:
    for api in ("chat", "completions"):
        for r in load_references():
            assert r.protocol_differences(api, 0.6), r.model


def test_a_reference_of_the_same_protocol_still_fails_outside_the_interval() -> None:
    same = ReferenceScore(
        model="m",
        accuracy=0.8,
        metric="AISBench accuracy",
        settings="4-shot CoT, chat template, temperature 0.6",
    )
    assert same.protocol_differences("chat", 0.6) == []
    cfg = AccuracyConfig()
    use_published_reference(cfg, same)
    low = summarise([{"correct": i < 100, "extracted": "1"} for i in range(200)], cfg)
    assert low.status == Status.FAIL and "the same protocol as ours" in low.reason


def test_a_bare_score_fails_only_beyond_the_interval_and_the_floor() -> None:
    recs = [{"correct": i < 160, "extracted": "1"} for i in range(200)]  # CI 73.9-85.0%
    # 87% lies outside the interval, but 7 points is under vLLM's 8-point subset floor
    within_floor = summarise(recs, AccuracyConfig(reference_accuracy=0.87))
    assert within_floor.status == Status.PASS and "floor 8 points" in within_floor.reason
    beyond = summarise(recs, AccuracyConfig(reference_accuracy=0.90))
    assert beyond.status == Status.FAIL and "-10.0 points" in beyond.reason
    tight = summarise(recs, AccuracyConfig(reference_accuracy=0.87, tolerance=0.03))
    assert tight.status == Status.FAIL and "--tolerance 3 points" in tight.reason
    inside = summarise(recs, AccuracyConfig(reference_accuracy=0.82, tolerance=0.03))
    assert inside.status == Status.PASS


def test_a_reference_with_n_is_a_two_proportion_test() -> None:
    ref = {"reference_accuracy": 0.62, "reference_n": 1319}  # 818/1319
    half = summarise(
        [{"correct": i < 100, "extracted": "1"} for i in range(200)], AccuracyConfig(**ref)
    )
    # 50% vs 62%: z = 3.24, p = 0.001 (pooled z-test by hand); 12 points beyond the 8-point floor
    assert (
        half.status == Status.FAIL and "p = 0.001" in half.reason and "-12.0 points" in half.reason
    )
    assert "818/1319" in half.reason
    close = summarise(
        [{"correct": i < 116, "extracted": "1"} for i in range(200)], AccuracyConfig(**ref)
    )
    assert close.status == Status.PASS  # 58% vs 62%: p = 0.27
    higher = summarise(
        [{"correct": i < 160, "extracted": "1"} for i in range(200)], AccuracyConfig(**ref)
    )
    assert higher.status == Status.PASS  # a rise is not a serving defect


def test_no_reference_is_not_judged_never_a_pass() -> None:
    # the healthy demo's 10-item run: 0/10, no reference
    res = summarise(
        [{"correct": False, "extracted": "5", "completion": "The answer is 5"}] * 10,
        AccuracyConfig(),
    )
    assert res.status == Status.NOT_JUDGED and "not judged" in res.reason


def test_eval_throughput_against_perf_at_the_same_concurrency() -> None:
    perf = {
        "sequential": {"concurrency": 1, "streaming": {"output_throughput": 30.0}},
        "concurrent": {"concurrency": 10, "streaming": {"output_throughput": 200.0}},
    }
    acc = {"output_throughput": 190.0, "config": {"concurrency": 10}}
    text = eval_vs_perf(acc, perf)
    assert text is not None and "= 95% of the perf stage's 200.0 tok/s (same concurrency" in text
    assert "perf's own workload" in text and "target ≥ 90%: met" in text
    own = {
        **perf,
        "eval_load": {
            "name": "eval_load",
            "concurrency": 10,
            "streaming": {"output_throughput": 250.0},
        },
    }
    text = eval_vs_perf(acc, own)
    assert text is not None and "76% of the perf stage's 250.0" in text and "GSM8K's own" in text
    assert "missed" in text
    assert "GSM8K 自己的请求" in (eval_vs_perf(acc, own, "zh") or "")
    acc8 = {"output_throughput": 150.0, "config": {"concurrency": 8}}
    assert (eval_vs_perf(acc8, perf) or "").startswith("not comparable")
    assert eval_vs_perf(acc, None) is None


def test_sweep_levels_count_as_measured_concurrencies() -> None:
    perf = {
        "concurrent": {"concurrency": 10, "streaming": {"output_throughput": 200.0}},
        "sweep": [{"concurrency": 8, "streaming": {"output_throughput": 180.0}}],
    }
    text = eval_vs_perf({"output_throughput": 171.0, "config": {"concurrency": 8}}, perf)
    assert text is not None and "95% of the perf stage's 180.0 tok/s (same concurrency" in text


def test_the_perf_section_shows_the_evals_own_requests() -> None:
    from modelverify.report.sections import perf_extras

    stream = {"output_throughput": 104.0, "ttft_ms": {}, "errors": {}}
    ev = {
        "name": "eval_load",
        "requests": 52,
        "concurrency": 26,
        "successes": 52,
        "success_rate": 1.0,
        "total_time_s": 77.1,
        "qps": 0.67,
        "latency_ms": {"count": 52},
        "streaming": stream,
        "busy_output_throughput": 130.29,
    }
    perf = {
        "config": {"eval_load_source": "gsm8k via chat: the dataset's last 52 items"},
        "eval_load": ev,
    }
    for lang, words in (("en", "130.3 output tok/s"), ("zh", "输出 130.3 tok/s")):
        text = "\n".join(perf_extras(perf, lang))
        assert "26" in text and words in text and "the dataset's last 52 items" in text
