"""Real AWQ and GPTQ config.json files (tests/data/model_configs, sources in its SOURCES.md).

Every expected figure is worked out by hand in the comment above it; the code is not asked to
agree with itself.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from modelverify.compat.kvcache import fit_memory, kv_spec
from modelverify.compat.model import linear_bytes_per_weight, parameter_split, read_model

FIXTURES = Path(__file__).resolve().parents[2] / "data" / "model_configs"
GiB = 1024**3


def test_awq_qwen25_72b_reading() -> None:
    info = read_model(FIXTURES / "qwen2.5-72b-instruct-ko-awq")
    assert info.architectures == ["Qwen2ForCausalLM"] and info.model_type == "qwen2"
    assert info.quantization == "awq"
    assert info.quantization_detail == {
        "bits": 4,
        "group_size": 128,
        "zero_point": True,
        "version": "gemm",
    }
    assert info.dtype == "float16"  # activations and the unquantized embeddings
    # 4-bit weight 0.5 B + one fp16 scale (2 B) and one 4-bit zero (0.5 B) per 128 weights
    assert linear_bytes_per_weight(info) == 0.5 + 2.5 / 128


def test_awq_qwen25_72b_weight_bytes() -> None:
    info = read_model(FIXTURES / "qwen2.5-72b-instruct-ko-awq")
    # per layer: attention 8192·128·(2·64 + 2·8) = 150,994,944; MLP 3·8192·29568 = 726,663,168
    # 80 layers: 80 × 877,658,112 = 70,212,648,960 linear parameters
    # embedding + untied lm_head: 2 × 152,064 × 8192 = 2,491,416,576
    assert parameter_split(info) == (70_212_648_960, 2_491_416_576)
    assert info.weights.parameters == 72_704_065_536
    # bytes: 70,212,648,960 × 0.5 = 35,106,324,480 (int4)
    #      + 70,212,648,960 / 128 × 2.5 = 1,371,340,800 (scales + zeros)
    #      + 2,491,416,576 × 2 = 4,982,833,152 (fp16 embeddings)
    #      = 41,460,498,432 B (38.6 GiB; 4 bits for everything would say 33.9 GiB)
    assert info.weights.bytes == 41_460_498_432


def test_awq_qwen25_72b_kv_and_memory_on_two_80gib_gpus() -> None:
    info = read_model(FIXTURES / "qwen2.5-72b-instruct-ko-awq")
    # the quantization does not touch the cache: fp16, 2 × 80 layers × 8 KV heads × 128 × 2 B
    assert kv_spec(info).per_token_bytes == 327_680
    spec = kv_spec(info, tp=2)
    assert spec.kv_heads_per_rank == 4 and spec.per_token_bytes == 163_840
    fit = fit_memory(
        info,
        spec,
        platform="cuda",
        device_bytes=80 * GiB,
        gpu_memory_utilization=0.9,
        max_model_len=32768,
    )
    # budget per rank: 85,899,345,920 × 0.9 = 77,309,411,328
    #   − weights 41,460,498,432 / 2 = 20,730,249,216
    #   − reserve 5% of 80 GiB = 4,294,967,296        -> 52,284,194,816 B
    assert fit.weights_bytes_per_rank == 20_730_249_216
    assert fit.budget_bytes == 52_284_194_816
    # blocks of 16 tokens × 163,840 B = 2,621,440 B: 52,284,194,816 // 2,621,440 = 19,944 blocks
    assert fit.block_size == 16
    assert fit.predicted_kv_tokens == 19_944 * 16 == 319_104
    # one 32,768-token sequence: 2,048 blocks × 2,621,440 = 5,368,709,120 B -> 9.74 sequences
    assert fit.fits and fit.max_concurrency == 9.74


def test_gptq_llama2_7b_marlin_reading_and_bytes() -> None:
    info = read_model(FIXTURES / "llama-2-7b-chat-gptq-marlin")
    assert info.quantization == "gptq"
    assert info.quantization_detail == {
        "bits": 4,
        "group_size": 128,
        "sym": True,
        "desc_act": False,
        "checkpoint_format": "marlin",
    }
    # the Marlin repack stores scales only (no qzeros): 0.5 + 2 / 128 B per weight
    assert linear_bytes_per_weight(info) == 0.5 + 2 / 128
    # per layer: attention 4096·128·(2·32 + 2·32) = 67,108,864; MLP 3·4096·11008 = 135,266,304
    # 32 layers: 6,476,005,376; embedding + lm_head 2 × 32,000 × 4096 = 262,144,000
    assert parameter_split(info) == (6_476_005_376, 262_144_000)
    # 6,476,005,376 × 0.5 = 3,238,002,688 + 6,476,005,376 / 64 = 101,187,584
    # + 262,144,000 × 2 = 524,288,000 -> 3,863,478,272 B
    assert info.weights.bytes == 3_863_478_272


def test_gptq_without_marlin_counts_qzeros() -> None:
    info = read_model(FIXTURES / "llama-2-7b-chat-gptq-marlin")
    info.quantization_detail = {**info.quantization_detail, "checkpoint_format": "gptq"}
    # AutoGPTQ's own layout keeps a 4-bit zero per group even when symmetric
    assert linear_bytes_per_weight(info) == 0.5 + 2.5 / 128


def test_gptq_llama2_7b_mha_cache_on_a_24gib_gpu() -> None:
    info = read_model(FIXTURES / "llama-2-7b-chat-gptq-marlin")
    # multi-head attention (32 KV heads): 2 × 32 × 32 × 128 × 2 B = 524,288 B per token
    spec = kv_spec(info)
    assert spec.per_token_bytes == 524_288
    assert info.attention_kind == "full (MHA)"
    fit = fit_memory(info, spec, platform="cuda", device_bytes=24 * GiB, max_model_len=4096)
    # 25,769,803,776 × 0.9 = 23,192,823,398 − 3,863,478,272 − reserve 1,288,490,188 (5%)
    #   = 18,040,854,938 B; // (16 × 524,288) = 2,150 blocks = 34,400 tokens
    assert fit.budget_bytes == 18_040_854_938
    assert fit.predicted_kv_tokens == 34_400
    # a 4,096-token sequence is 2 GiB of cache: 8.4 of them fit
    assert fit.max_concurrency == 8.4


def test_compressed_tensors_ignore_patterns_follow_vllm() -> None:
    from modelverify.compat.modules import matches

    # Kimi-K2.5's dense-MLP pattern: "mlp." must be followed by the projection, so the routed
    # experts (mlp.experts.E.gate_proj) stay quantized and layer 0's dense MLP does not
    dense = r"re:.*mlp\.(gate|up|gate_up|down)_proj.*"
    assert matches("model.layers.0.mlp.gate_proj", dense)
    assert not matches("model.layers.1.mlp.experts.7.gate_proj", dense)
    assert matches("model.layers.1.mlp.shared_experts.down_proj", "re:.*shared_experts.*")
    # plain entries: equal, or a dotted suffix (our names lack "language_model.")
    assert matches("lm_head", "lm_head") and matches("language_model.lm_head", "lm_head")
    assert not matches("model.layers.0.self_attn.q_a_proj", "q_a")


# msModelSlim's quant_model_description.json: no whole real export was found in a public source
# (see tests/data/model_configs/SOURCES.md), so these tests write a description next to the real
# Qwen3-8B config.json, in the documented format (msModelSlim docs: one "<tensor>": "<type>" per
# tensor, "FLOAT" for the ones left unquantized, plus "model_quant_type"). The descriptions are
# synthetic test inputs, not samples of an export.
def _qwen3_8b_w8a8(
    tmp_path: Path, float_suffixes: tuple[str, ...] = (), fused: bool = False
) -> Path:
    d = tmp_path / "Qwen3-8B-W8A8"
    d.mkdir(parents=True)
    shutil.copy(FIXTURES / "qwen3-8b" / "config.json", d)
    desc: dict[str, str] = {
        "model_quant_type": "W8A8",
        "model.embed_tokens.weight": "FLOAT",
        "lm_head.weight": "FLOAT",
    }
    attn = ("qkv_proj",) if fused else ("q_proj", "k_proj", "v_proj")
    mlp = ("gate_up_proj",) if fused else ("gate_proj", "up_proj")
    for i in range(36):
        for m in (*(f"self_attn.{a}" for a in (*attn, "o_proj")), *(f"mlp.{p}" for p in mlp)):
            desc[f"model.layers.{i}.{m}.weight"] = "W8A8"
            desc[f"model.layers.{i}.{m}.deq_scale"] = "W8A8"
        down = f"model.layers.{i}.mlp.down_proj.weight"
        desc[down] = "FLOAT" if any(down.endswith(s) for s in float_suffixes) else "W8A8"
        desc[f"model.layers.{i}.input_layernorm.weight"] = "FLOAT"
    (d / "quant_model_description.json").write_text(json.dumps(desc))
    return d


def test_msmodelslim_w8a8_weight_bytes_config_only(tmp_path: Path) -> None:
    info = read_model(_qwen3_8b_w8a8(tmp_path))
    assert info.quantization == "ascend W8A8"
    # per layer: q 4096·32·128 = 16,777,216, k and v 4096·8·128 = 4,194,304 each, o 16,777,216,
    # gate/up/down 4096·12288 = 50,331,648 each -> 192,937,984; 36 layers = 6,945,767,424
    # embedding + untied lm_head 2 × 151,936 × 4096 = 1,244,659,712 (FLOAT, bf16)
    assert parameter_split(info) == (6_945_767_424, 1_244_659_712)
    # int8: 6,945,767,424 × 1 B + bf16 1,244,659,712 × 2 B = 2,489,319,424 -> 9,435,086,848 B
    # (per-channel scales and offsets, < 0.5%, not counted)
    assert info.weights.bytes == 9_435_086_848
    assert info.quantization_detail["unquantized_linear_parameters"] == 0
    # the fused spelling (qkv_proj, gate_up_proj) some exports use reads the same
    assert read_model(_qwen3_8b_w8a8(tmp_path / "f", fused=True)).weights.bytes == 9_435_086_848


def test_msmodelslim_float_entries_count_at_the_config_dtype(tmp_path: Path) -> None:
    # every layer's down_proj left FLOAT: msModelSlim leaves the layers it is told to skip
    # (disable_names) unquantized; the export pasted in vllm-ascend issue #633 has FLOAT
    # down_proj entries among W8A8 ones
    info = read_model(_qwen3_8b_w8a8(tmp_path, float_suffixes=("mlp.down_proj.weight",)))
    # down_proj: 36 × 50,331,648 = 1,811,939,328 at bf16 = 3,623,878,656 B
    # the rest int8: 6,945,767,424 − 1,811,939,328 = 5,133,828,096 B
    # embeddings 2,489,319,424 B -> 11,247,026,176 B
    assert info.quantization_detail["unquantized_linear_parameters"] == 1_811_939_328
    assert info.weights.bytes == 11_247_026_176
