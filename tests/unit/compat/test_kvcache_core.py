"""KV-cache arithmetic on real public configs, against values worked out by hand.

The hand values for the shared configs are the ones in ``../shared/samples/README.md``
("Per-model numbers (worked out by hand)"); the configs in ``tests/data/model_configs`` have
theirs in its ``SOURCES.md``. Each assertion names the trap it guards against.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelverify.compat.kvcache import (
    GiB,
    fit_memory,
    kv_spec,
    largest_len,
    sequence_bytes,
    tokens_in,
)
from modelverify.compat.model import ModelInfo, read_model

FIXTURES = Path(__file__).resolve().parents[2] / "data" / "model_configs"


def shared_model(shared_dir: Path, name: str) -> ModelInfo:
    return read_model(shared_dir / "samples" / "models" / name)


def test_qwen35_hybrid_counts_only_full_attention_layers(shared_dir: Path) -> None:
    info = shared_model(shared_dir, "qwen3.5-27b")
    assert info.layers.full_attention == 16 and info.layers.linear_attention == 48
    assert info.head_dim == 256  # explicit; 5120 / 24 would give 213
    spec = kv_spec(info)
    assert spec.per_token_bytes == 65_536  # not 262,144 (all 64 layers)
    # recurrent state in float32 (mamba_ssm_dtype), conv state in bf16
    assert spec.per_sequence_state_bytes == 153_944_064


def test_qwen3_next_layout_from_full_attention_interval(shared_dir: Path) -> None:
    info = shared_model(shared_dir, "qwen3-next-80b-a3b-thinking")
    assert info.layers.source == "full_attention_interval"
    assert (info.layers.full_attention, info.layers.linear_attention) == (12, 36)
    spec = kv_spec(info)
    assert spec.per_token_bytes == 24_576
    assert spec.per_sequence_state_bytes == 39_518_208  # no mamba_ssm_dtype: bf16


def test_deepseek_v3_mla_latent_not_heads(shared_dir: Path) -> None:
    info = shared_model(shared_dir, "deepseek-v3")
    spec = kv_spec(info)
    assert spec.per_token_bytes == 70_272  # 61 × (512 + 64) × 2; not 4,997,120
    assert info.mtp_layers == 1 and any("MTP" in n for n in spec.notes)
    assert info.quantization == "fp8"  # weights; the cache stays bf16 with kv_cache_dtype auto
    assert kv_spec(info, "fp8").per_token_bytes == 35_136
    # MLA is replicated, not split, across tensor-parallel ranks
    assert kv_spec(info, tp=8).per_token_bytes == 70_272


def test_qwen3_moe_explicit_head_dim(shared_dir: Path) -> None:
    info = shared_model(shared_dir, "qwen3-30b-a3b")
    assert info.head_dim == 128 and info.head_dim_explicit  # 2048 / 32 would give 64
    assert kv_spec(info).per_token_bytes == 98_304
    assert kv_spec(info, tp=2).per_token_bytes == 49_152
    # 4 KV heads over TP 8: replicated, one head per rank
    spec8 = kv_spec(info, tp=8)
    assert spec8.kv_heads_per_rank == 1 and spec8.per_token_bytes == 24_576
    assert any("replicated" in n for n in spec8.notes)
    # parameter estimate without weights: Qwen3-30B-A3B has ~30.5 B parameters
    assert info.weights.parameters is not None
    assert 29e9 < info.weights.parameters < 32e9


def test_gpt_oss_sliding_layers_are_capped(shared_dir: Path) -> None:
    info = shared_model(shared_dir, "gpt-oss-20b")
    assert (info.layers.full_attention, info.layers.sliding_attention) == (12, 12)
    spec = kv_spec(info)
    assert spec.per_token_bytes == 24_576  # full layers only; not 49,152
    assert spec.sliding_per_token_bytes == 24_576 and spec.sliding_window == 128
    # A 32k sequence: the sliding part holds about 128 tokens (whole blocks), not 32k.
    one = sequence_bytes(spec, 32_768, 16)
    assert one == 32_768 * 24_576 + (math.ceil(128 / 16) + 1) * 16 * 24_576


def test_deepseek_parameter_estimate_is_near_671b(shared_dir: Path) -> None:
    info = shared_model(shared_dir, "deepseek-v3")
    assert info.weights.parameters is not None
    assert abs(info.weights.parameters - 671e9) / 671e9 < 0.02


def smol() -> ModelInfo:
    """SmolLM2-135M's attention geometry (the demo model): 30 layers, 3 KV heads, head_dim 64."""
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
    return info


def test_demo_model_cpu_prediction_matches_vllm_arithmetic() -> None:
    # vLLM CPU: block 128; 1 GiB / (23,040 B × 128) = 364 whole blocks = 46,592 tokens,
    # the figure the real engine logs for the demo ("KV cache size: 46,592 tokens").
    spec = kv_spec(smol())
    assert spec.per_token_bytes == 23_040
    fit = fit_memory(
        smol(), spec, platform="cpu", device_bytes=None, cpu_kvcache_space_gib=1, max_model_len=2048
    )
    assert fit.exact and fit.predicted_kv_tokens == 46_592
    assert fit.max_concurrency == pytest.approx(46_592 / 2048, rel=0.01)


def test_does_not_fit_suggests_flags_that_do() -> None:
    # 16 GiB device × 0.9, 8 GiB of weights, reserve 1 GiB -> ~5.4 GiB of cache.
    info = smol()
    info.weights.bytes = 8 * GiB
    info.max_position_embeddings = 1_000_000
    spec = kv_spec(info)
    fit = fit_memory(info, spec, platform="npu", device_bytes=16 * GiB, max_model_len=1_000_000)
    assert fit.fits is False
    best = fit.largest_max_model_len
    assert best is not None and fit.budget_bytes is not None
    assert sequence_bytes(spec, best, 128) <= fit.budget_bytes < sequence_bytes(spec, best + 1, 128)
    assert f"--max-model-len {best}" in fit.suggestions
    assert any(
        s.startswith("--gpu-memory-utilization") or s.startswith("--tensor-parallel-size")
        for s in fit.suggestions
    )


def test_weights_larger_than_device() -> None:
    info = smol()
    info.weights.bytes = 100 * GiB
    fit = fit_memory(info, kv_spec(info), platform="npu", device_bytes=32 * GiB)
    assert fit.weights_do_not_fit and fit.fits is False
    assert "--tensor-parallel-size 8" in fit.suggestions


@given(st.integers(1, 2**40), st.integers(1, 10**6), st.sampled_from([1, 16, 128]))
def test_tokens_are_whole_blocks_within_budget(budget: int, per_token: int, block: int) -> None:
    n = tokens_in(budget, per_token, block)
    assert n % block == 0 and n * per_token <= budget
    assert (n + block) * per_token > budget


@given(st.integers(1, 2**36))
def test_largest_len_is_tight(budget: int) -> None:
    spec = kv_spec(smol())
    n = largest_len(spec, budget, 128, None)
    assert sequence_bytes(spec, n, 128) <= budget or n == 0
    assert sequence_bytes(spec, n + 1, 128) > budget


def test_layer_types_from_real_config_json_text(tmp_path: Path, shared_dir: Path) -> None:
    # A folder holding only config.json still gets a verdict (weights estimated from config).
    src = shared_dir / "samples" / "models" / "qwen3.5-27b" / "config.json"
    (tmp_path / "config.json").write_text(src.read_text())
    info = read_model(tmp_path)
    assert info.multimodal and info.text_model_type == "qwen3_5_text"
    assert info.weights.source.startswith("estimate")
    assert json.loads(src.read_text())["text_config"]["num_hidden_layers"] == info.num_layers


def test_llama3_70b_on_a_64gib_npu_needs_tensor_parallel() -> None:
    info = read_model(FIXTURES / "llama-3.3-70b-instruct")
    assert info.rope_scaling is not None and info.rope_scaling["rope_type"] == "llama3"
    assert kv_spec(info).per_token_bytes == 327_680
    assert kv_spec(info, tp=4).per_token_bytes == 81_920
    assert (
        info.weights.parameters is not None
        and abs(info.weights.parameters - 70.6e9) / 70.6e9 < 0.02
    )
    one = fit_memory(info, kv_spec(info), platform="npu", device_bytes=64 * GiB)
    assert one.weights_do_not_fit and "--tensor-parallel-size 4" in one.suggestions
    four = fit_memory(
        info, kv_spec(info, tp=4), platform="npu", device_bytes=64 * GiB, max_model_len=32_768
    )
    # 64 GiB × 0.9 − 141.1 GB / 4 − 3.2 GiB reserve ≈ 21.6 GiB -> ~283k tokens of 81,920 B
    assert four.fits and four.budget_bytes is not None
    assert four.predicted_kv_tokens == (four.budget_bytes // (81_920 * 128)) * 128
    assert 250_000 < four.predicted_kv_tokens < 300_000


def test_glm47_moe_explicit_head_dim_and_matrix_family() -> None:
    from modelverify.compat.matrix import load_matrix, match_model

    info = read_model(FIXTURES / "glm-4.7-fp8")
    assert info.head_dim == 128 and info.moe_experts == 160 and info.dense_layers_before_moe == 3
    assert kv_spec(info).per_token_bytes == 376_832
    m = match_model(load_matrix(), "GLM-4.7-FP8", info.model_type, "A2/A3", moe=True)
    assert m.deciding is not None and m.deciding.model == "GLM-4.x" and m.how == "family"
    assert m.deciding.support == "supported"
