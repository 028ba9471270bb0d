"""Reading a model folder: safetensors headers (no tensor loaded), tokenizer, hub caches, registry."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelverify.compat.hub import find_in_hf_cache, find_in_modelscope_cache, resolve_model
from modelverify.compat.model import read_model, read_safetensors_header, read_weights
from modelverify.compat.registry import parse_registry_source, static_registry
from modelverify.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]


def write_safetensors(path: Path, tensors: dict[str, tuple[str, list[int]]]) -> None:
    """A valid safetensors file per the format spec: u64 header length, JSON header, data."""
    sizes = {"BF16": 2, "F32": 4, "F8_E4M3": 1, "I8": 1}
    header, offset = {}, 0
    for name, (dtype, shape) in tensors.items():
        n = sizes[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    header["__metadata__"] = {"format": "pt"}
    blob = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + b"\0" * offset)


def model_folder(tmp_path: Path) -> Path:
    d = tmp_path / "tiny"
    d.mkdir()
    (d / "config.json").write_text(
        json.dumps(
            {
                "architectures": ["LlamaForCausalLM"],
                "model_type": "llama",
                "hidden_size": 64,
                "num_attention_heads": 4,
                "num_key_value_heads": 2,
                "num_hidden_layers": 2,
                "vocab_size": 100,
                "max_position_embeddings": 512,
                "torch_dtype": "bfloat16",
            }
        )
    )
    (d / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "PreTrainedTokenizerFast"})
    )
    (d / "generation_config.json").write_text(json.dumps({"temperature": 0.6, "top_p": 0.95}))
    write_safetensors(
        d / "model-00001-of-00002.safetensors",
        {"embed": ("BF16", [100, 64]), "w": ("F8_E4M3", [64, 64])},
    )
    write_safetensors(d / "model-00002-of-00002.safetensors", {"scale": ("F32", [64])})
    return d


def test_weights_from_headers_only(tmp_path: Path) -> None:
    d = model_folder(tmp_path)
    w = read_weights(d)
    assert (w.files, w.tensors, w.parameters) == (2, 3, 6400 + 4096 + 64)
    assert w.bytes == 6400 * 2 + 4096 + 64 * 4
    assert w.dtypes == {"BF16": 6400, "F8_E4M3": 4096, "F32": 64}


def test_model_reading(tmp_path: Path) -> None:
    info = read_model(model_folder(tmp_path))
    assert info.head_dim == 16 and not info.head_dim_explicit
    assert info.generation_defaults == {"temperature": 0.6, "top_p": 0.95}
    assert not info.chat_template
    assert any("no chat template" in w for w in info.warnings)


def test_corrupt_safetensors_header_is_one_clear_error(tmp_path: Path) -> None:
    d = model_folder(tmp_path)
    bad = d / "model-00002-of-00002.safetensors"
    bad.write_bytes(struct.pack("<Q", 10**12) + b"{}")
    with pytest.raises(ConfigError, match="corrupt safetensors header: re-download"):
        read_weights(d)
    bad.write_bytes(b"abc")
    with pytest.raises(ConfigError, match="shorter than a safetensors header"):
        read_safetensors_header(bad)


def test_msmodelslim_w8a8_description(tmp_path: Path) -> None:
    d = model_folder(tmp_path)
    (d / "quant_model_description.json").write_text(
        json.dumps({"model_quant_type": "W8A8", "embed": "FLOAT", "w": "W8A8", "scale": "W8A8"})
    )
    info = read_model(d)
    assert info.quantization == "ascend W8A8"
    assert info.quantization_detail["tensor_types"] == {"W8A8": 3, "FLOAT": 1}
    # newer exports name the scheme in config.json instead
    (d / "quant_model_description.json").unlink()
    cfg = json.loads((d / "config.json").read_text())
    cfg["quantization_config"] = {"quant_method": "ascend", "model_quant_type": "W8A8"}
    (d / "config.json").write_text(json.dumps(cfg))
    assert read_model(d).quantization == "ascend W8A8"


def test_hf_cache_layout(tmp_path: Path) -> None:
    repo = tmp_path / "models--Qwen--Qwen3-8B"
    snap = repo / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123\n")
    assert find_in_hf_cache("Qwen/Qwen3-8B", roots=[tmp_path]) == snap
    assert find_in_hf_cache("Qwen/Qwen3-8B", "abc123", roots=[tmp_path]) == snap
    assert find_in_hf_cache("Qwen/Other", roots=[tmp_path]) is None


def test_modelscope_cache_layout(tmp_path: Path) -> None:
    d = tmp_path / "Qwen" / "Qwen3___5-2B"
    d.mkdir(parents=True)
    (d / "config.json").write_text("{}")
    assert find_in_modelscope_cache("Qwen/Qwen3.5-2B", roots=[tmp_path]) == d


def test_offline_hub_id_not_cached_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path / "ms"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match="offline"):
        resolve_model("nobody/nothing")
    with pytest.raises(ConfigError, match="neither an existing folder nor a hub id"):
        resolve_model("a/b/c")


def test_static_registry_reads_dict_literals() -> None:
    src = (
        "_A_MODELS = {'XForCausalLM': ('x', 'XForCausalLM')}\n"
        "_B_MODELS = {'YModel': ('y', 'YModel')}\n"
        "_VLLM_MODELS = {**_A_MODELS, **_B_MODELS}\n"
        "_PREVIOUSLY_SUPPORTED_MODELS = {'Old': '0.10.2'}\n"
    )
    reg = parse_registry_source(src)
    assert reg.archs == ["XForCausalLM", "YModel"]
    assert reg.verdict("Old") == ("unsupported", "Old was removed from vLLM after 0.10.2")
    assert reg.verdict("XForCausalLM")[0] == "supported"


def test_static_registry_of_the_installed_engine() -> None:
    py = ROOT / ".venv" / "bin" / "python"
    if not py.exists():
        pytest.skip("no engine venv (scripts/setup-cpu-engine.sh)")
    reg = static_registry(str(py))
    assert reg.method == "static"
    assert {"LlamaForCausalLM", "Qwen3_5ForConditionalGeneration", "DeepseekV3ForCausalLM"} <= set(
        reg.archs
    )
    assert len(reg.archs) > 200


def test_compat_cli_on_a_folder(tmp_path: Path) -> None:
    d = model_folder(tmp_path)
    t0 = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelverify",
            "compat",
            str(d),
            "--json",
            "--registry",
            "static",
            "--",
            "--max-model-len",
            "256",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    took = time.monotonic() - t0
    data = json.loads(proc.stdout)
    # exit by the stage's status (this toy model is not in the registry: a warning)
    assert proc.returncode == {"pass": 0, "warn": 1, "fail": 2}[data["status"]], proc.stderr
    assert data["memory"]["max_model_len"] == 256
    assert data["kv"]["per_token_bytes"] == 2 * 2 * 2 * 16 * 2
    assert data["status"] == "warn"  # no chat template
    print(f"compat CLI took {took:.2f} s")


def test_compat_cli_missing_folder(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "modelverify", "compat", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"error: model path {tmp_path / 'nope'} does not exist: pass a model folder or a hub id"
    ]
