"""Real public configs (tests/data/model_configs, sources in its SOURCES.md) against hand arithmetic.

The Qwen3-MoE and gpt-oss configs are read from ``../shared/samples/models`` (not copied, per its
README); those tests skip when ``../shared`` is absent.

KV bytes per token (bf16, TP 1) = 2 (K and V) × full-attention layers × KV heads × head_dim × 2 B;
sliding-window layers are counted apart (capped at the window per sequence); MLA =
layers × (kv_lora_rank + qk_rope_head_dim) × 2 B.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from modelverify.compat.kvcache import kv_spec, sequence_bytes
from modelverify.compat.matrix import load_matrix, match_model
from modelverify.compat.model import parameter_split, read_model
from modelverify.compat.stage import run_compat
from modelverify.results import Status

FIXTURES = Path(__file__).resolve().parents[2] / "data" / "model_configs"
CPU_ENV = {"platform": "cpu", "cpu": {"model_name": "x", "memory_total_bytes": 64 * 1024**3}}


@pytest.fixture(scope="module")
def matrix():
    return load_matrix()


def test_qwen25_7b_ignores_disabled_sliding_window(matrix) -> None:
    info = read_model(FIXTURES / "qwen2.5-7b-instruct")
    # sliding_window 131072 but use_sliding_window false: vLLM treats every layer as full.
    assert info.layers.source == "num_hidden_layers"
    assert (info.layers.full_attention, info.layers.sliding_attention) == (28, 0)
    # head_dim not given: 3584 / 28 heads = 128
    assert info.head_dim == 128 and not info.head_dim_explicit
    spec = kv_spec(info)
    # 2 × 28 layers × 4 KV heads × 128 × 2 B = 57,344
    assert spec.per_token_bytes == 57_344 and spec.sliding_per_token_bytes == 0
    # TP 4: 4 KV heads / 4 = 1 per rank -> 2 × 28 × 1 × 128 × 2 = 14,336
    assert kv_spec(info, tp=4).per_token_bytes == 14_336
    assert info.quantization is None and info.moe_experts is None
    m = match_model(matrix, "Qwen2.5-7B-Instruct", info.model_type, "A2/A3")
    assert m.deciding is not None
    assert (m.how, m.deciding.model, m.deciding.support) == (
        "model name",
        "Qwen2.5",
        "experimental",
    )


def test_qwen3_8b_dense(matrix) -> None:
    info = read_model(FIXTURES / "qwen3-8b")
    assert info.architectures == ["Qwen3ForCausalLM"] and info.head_dim_explicit
    assert info.layers.full_attention == 36
    # 2 × 36 layers × 8 KV heads × 128 × 2 B = 147,456
    assert kv_spec(info).per_token_bytes == 147_456
    # kv-cache-dtype fp8: 2 × 36 × 8 × 128 × 1 B = 73,728
    assert kv_spec(info, "fp8").per_token_bytes == 73_728
    assert info.quantization is None and info.moe_experts is None
    m = match_model(matrix, "Qwen3-8B", info.model_type, "A2/A3")
    assert m.deciding is not None
    assert (m.how, m.deciding.model, m.deciding.support) == ("family", "Qwen3-Dense", "supported")


def test_qwen3_32b_fp8_weights_not_cache() -> None:
    info = read_model(FIXTURES / "qwen3-32b-fp8")
    assert info.quantization == "fp8"
    assert info.quantization_detail == {
        "fmt": "e4m3",
        "activation_scheme": "dynamic",
        "weight_block_size": [128, 128],
    }
    # fp8 weights, bf16 cache with kv_cache_dtype auto: 2 × 64 × 8 × 128 × 2 B = 262,144
    assert kv_spec(info).per_token_bytes == 262_144
    # Linear layers: 64 × (5120·128·(2·64 + 2·8) + 3·5120·25600) = 31,205,621,760 parameters;
    # embedding + untied lm_head: 2 × 151,936 × 5120 = 1,555,824,640 (32,761,446,400 in all).
    assert info.weights.parameters == 32_761_446_400
    # fp8 linear weights, 1 B each plus one fp32 scale per 128 × 128 block (4 / 16,384 B), and the
    # embeddings left in bf16: 31,205,621,760 + 7,618,560 + 3,111,649,280 = 34,324,889,600 B
    assert info.weights.bytes == 34_324_889_600


def test_gemma3_sliding_layers_from_text_config(matrix) -> None:
    info = read_model(FIXTURES / "medgemma-27b-it")
    assert info.architectures == ["Gemma3ForConditionalGeneration"] and info.multimodal
    assert info.text_model_type == "gemma3_text"
    # layer_types: 5 sliding then 1 full, repeated; 62 = 10 × 6 + 2 sliding -> 10 full, 52 sliding
    assert info.layers.source == "layer_types"
    assert (info.layers.full_attention, info.layers.sliding_attention) == (10, 52)
    assert info.layers.sliding_window == 1024
    # head_dim explicit 128 (5376 / 32 heads would be 168)
    assert info.head_dim == 128 and info.num_kv_heads == 16
    spec = kv_spec(info)
    # full: 2 × 10 × 16 × 128 × 2 B = 81,920; sliding: 2 × 52 × 16 × 128 × 2 B = 425,984
    assert spec.per_token_bytes == 81_920
    assert spec.sliding_per_token_bytes == 425_984 and spec.sliding_window == 1024
    # a 32k sequence, blocks of 128: full 32,768 × 81,920 = 2,684,354,560; the sliding part
    # holds (1024 / 128 + 1) = 9 blocks = 1,152 tokens × 425,984 = 490,733,568, not 32k × 425,984
    assert sequence_bytes(spec, 32_768, 128) == 2_684_354_560 + 490_733_568
    m = match_model(matrix, info.name, info.model_type, "A2/A3")
    assert m.deciding is not None
    assert (m.how, m.deciding.model, m.deciding.support) == ("family", "Gemma-3", "experimental")


def test_safetensors_index_without_shards() -> None:
    info = read_model(FIXTURES / "medgemma-27b-it")
    w = info.weights
    # the index names 12 shard files, none present; size from metadata.total_size
    assert w.source == "index metadata (shards absent)"
    assert (w.files, w.tensors, w.bytes) == (12, 0, 54_864_813_280)
    assert w.parameters is None


def test_chat_template_jinja_file() -> None:
    info = read_model(FIXTURES / "medgemma-27b-it")
    assert info.chat_template and info.chat_template_source == "chat_template.jinja"
    assert not any("chat template" in w for w in info.warnings)
    # no tokenizer_config.json in the folder: warned, even with a template
    assert any("no tokenizer_config.json" in w for w in info.warnings)


def _folder_with_tokenizer(tmp_path: Path, shared_dir: Path, tokenizer: str) -> Path:
    d = tmp_path / "qwen3-30b-a3b"
    d.mkdir(parents=True)
    shutil.copy(shared_dir / "samples" / "models" / "qwen3-30b-a3b" / "config.json", d)
    shutil.copy(FIXTURES / "tokenizers" / tokenizer / "tokenizer_config.json", d)
    return d


def test_chat_template_in_tokenizer_config(tmp_path: Path, shared_dir: Path) -> None:
    info = read_model(_folder_with_tokenizer(tmp_path, shared_dir, "qwen3-30b"))
    assert info.chat_template and info.chat_template_source == "tokenizer_config.json"
    assert info.tokenizer_class == "Qwen2Tokenizer"
    assert info.warnings == []
    res = run_compat(_folder_with_tokenizer(tmp_path / "b", shared_dir, "qwen3-30b"), env=CPU_ENV)
    feat = {f.feature: f for f in res.features}["tokenizer / chat template"]
    assert feat.status == Status.PASS and "tokenizer_config.json" in feat.value


def test_tokenizer_config_without_chat_template(tmp_path: Path, shared_dir: Path) -> None:
    info = read_model(_folder_with_tokenizer(tmp_path, shared_dir, "qwen-7b"))
    assert not info.chat_template and info.chat_template_source is None
    assert info.tokenizer_class == "QWenTokenizer"
    assert any("no chat template" in w for w in info.warnings)
    d = _folder_with_tokenizer(tmp_path / "b", shared_dir, "qwen-7b")
    res = run_compat(d, env=CPU_ENV)
    feat = {f.feature: f for f in res.features}["tokenizer / chat template"]
    assert feat.status == Status.WARN and feat.value.endswith("chat template none")
    assert any("no chat template" in f.reason for f in res.findings)
    # --chat-template given: the feature passes and the finding is dropped
    res = run_compat(d, env=CPU_ENV, engine_args=["--chat-template", "t.jinja"])
    feat = {f.feature: f for f in res.features}["tokenizer / chat template"]
    assert feat.status == Status.PASS
    assert not any("chat template" in f.reason for f in res.findings)


def test_kimi_k25_compressed_tensors_mla_and_remote_code(matrix) -> None:
    info = read_model(FIXTURES / "kimi-k2.5")
    assert info.architectures == ["KimiK25ForConditionalGeneration"] and info.multimodal
    # quantization_config sits in text_config
    assert info.quantization == "compressed-tensors"
    assert info.quantization_detail == {
        "format": "pack-quantized",
        "bits": 4,
        "group_size": 32,
        "sym": True,
        "targets": ["Linear"],
        "ignore": [
            "lm_head",
            "re:.*self_attn.*",
            "re:.*shared_experts.*",
            "re:.*mlp\\.(gate|up|gate_up|down)_proj.*",
        ],
        "unquantized_linear_parameters": 9_207_218_176,
    }
    split = parameter_split(
        info, json.loads((FIXTURES / "kimi-k2.5" / "config.json").read_text())["text_config"]
    )
    assert split is not None and sum(split) == info.weights.parameters
    # 61 layers, hidden 7168, MLA (q_lora_rank 1536, kv_lora_rank 512, 64 heads, nope 128 +
    # rope 64, v_head_dim 128), layer 0 dense (intermediate 18432), layers 1-60 MoE (384 routed
    # experts + 1 shared, each 3 × 7168 × 2048 = 44,040,192), vocab 163,840, untied:
    #   attention per layer 7168·1536 + 1536·64·192 + 7168·576 + 512·64·256 + 64·128·7168
    #     = 11,010,048 + 18,874,368 + 4,128,768 + 8,388,608 + 58,720,256 = 101,122,048
    #   attention 61 × 101,122,048 = 6,168,444,928        (ignore re:.*self_attn.* -> bf16)
    #   dense MLP (layer 0) 3 × 7168 × 18432 = 396,361,728 (ignore re:.*mlp\.(gate|up|down)_proj)
    #   shared experts 60 × 44,040,192 = 2,642,411,520     (ignore re:.*shared_experts.* -> bf16)
    #   routed experts 60 × 384 × 44,040,192 = 1,014,686,023,680 (the only int4 modules)
    assert split == (1_023_893_241_856, 2_348_810_240)
    # bf16: (6,168,444,928 + 396,361,728 + 2,642,411,520 = 9,207,218,176 linear
    #        + 2,348,810,240 embedding and lm_head) × 2 B = 23,112,056,832
    # int4: 1,014,686,023,680 × (0.5 + 2 / 32: one bf16 scale per 32 weights, symmetric)
    #       = 570,760,888,320
    # total 593,872,945,152 B (553 GiB); int4 for all linear layers would say 580,637,569,024.
    # Not counted: the vision tower, the MoE routers and the norms (not in parameter_split).
    assert info.weights.bytes == 593_872_945_152
    assert (info.moe_experts, info.moe_experts_per_token) == (384, 8)
    spec = kv_spec(info)
    # MLA: 61 layers × (512 + 64) × 2 B = 70,272 (64 KV heads × 112 would be 1,748,992)
    assert spec.per_token_bytes == 70_272
    assert kv_spec(info, tp=8).per_token_bytes == 70_272  # replicated per rank
    m = match_model(matrix, "Kimi-K2.5", info.model_type, "A2/A3", moe=True)
    assert m.deciding is not None
    assert (m.how, m.deciding.model, m.deciding.support) == (
        "model name",
        "Kimi-K2.5/Kimi-K2.6",
        "experimental",
    )


def test_auto_map_is_a_remote_code_finding() -> None:
    d = FIXTURES / "kimi-k2.5"
    info = read_model(d)
    assert info.trust_remote_code_needed
    assert info.auto_map["AutoConfig"] == "configuration_kimi_k25.KimiK25Config"
    assert any("--trust-remote-code" in w for w in info.warnings)
    res = run_compat(d, env=CPU_ENV)
    assert any(
        f.status == Status.WARN and "auto_map" in f.reason and "--trust-remote-code" in f.reason
        for f in res.findings
    )
    feat = {f.feature: f for f in res.features}["remote code"]
    assert feat.status == Status.WARN
    assert feat.value == "auto_map: AutoConfig, AutoModel, AutoModelForCausalLM"
    # with the flag: the feature passes and the auto_map finding is dropped
    res = run_compat(d, env=CPU_ENV, engine_args=["--trust-remote-code"])
    assert {f.feature: f for f in res.features}["remote code"].status == Status.PASS
    assert not any("auto_map" in f.reason for f in res.findings)


def test_config_without_auto_map_needs_no_remote_code() -> None:
    info = read_model(FIXTURES / "qwen3-8b")
    assert not info.trust_remote_code_needed and info.auto_map == {}
    assert not any("auto_map" in w for w in info.warnings)


def test_sliding_cap_is_whole_blocks_plus_one(shared_dir: Path) -> None:
    # gpt-oss-20b at block 16: the 128-token window is 8 blocks, plus one partly filled
    spec = kv_spec(read_model(shared_dir / "samples" / "models" / "gpt-oss-20b"))
    assert (
        sequence_bytes(spec, 100, 16)
        == math.ceil(100 / 16) * 16 * 24_576 + (math.ceil(100 / 16) + 1) * 16 * 24_576
    )
