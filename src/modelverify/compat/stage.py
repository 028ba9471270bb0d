"""The compat stage: read the model folder and judge it before anything is launched."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from modelverify.errors import ConfigError
from modelverify.results import Model, StageResult, Status


class ModelSummary(Model):
    path: str
    architectures: list[str] = []
    model_type: str | None = None
    dtype: str | None = None
    quantization: str | None = None
    num_layers: int | None = None
    hidden_size: int | None = None
    num_kv_heads: int | None = None
    head_dim: int | None = None
    max_position_embeddings: int | None = None
    vocab_size: int | None = None
    chat_template: bool | None = None
    tokenizer_class: str | None = None
    trust_remote_code_needed: bool = False


class CompatResult(StageResult):
    stage: str = "compat"
    model: ModelSummary | None = None
    details: dict[str, Any] = {}


def load_config(model_dir: Path) -> dict[str, Any]:
    """config.json of a model folder, or a one-line ConfigError saying what to do."""
    if not model_dir.exists():
        raise ConfigError(f"model path {model_dir} does not exist: pass a model folder or a hub id")
    cfg = model_dir / "config.json"
    if not cfg.is_file():
        raise ConfigError(f"{model_dir} has no config.json: is it a Hugging Face model folder?")
    text = cfg.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        raise ConfigError(f"{cfg} is empty: re-download the model")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{cfg} is not valid JSON (line {exc.lineno}): re-download the model"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{cfg} is not a JSON object: re-download the model")
    if not data.get("architectures"):
        raise ConfigError(f"{cfg} names no 'architectures': vLLM cannot pick a model class")
    return data


def summarise_model(model_dir: Path) -> ModelSummary:
    data = load_config(model_dir)
    text = data.get("text_config") if isinstance(data.get("text_config"), dict) else data
    assert isinstance(text, dict)
    tok: dict[str, Any] = {}
    tok_path = model_dir / "tokenizer_config.json"
    if tok_path.is_file():
        try:
            tok = json.loads(tok_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            tok = {}
    heads = text.get("num_attention_heads")
    hidden = text.get("hidden_size")
    head_dim = text.get("head_dim") or (hidden // heads if hidden and heads else None)
    quant = data.get("quantization_config")
    return ModelSummary(
        path=str(model_dir),
        architectures=list(data.get("architectures") or []),
        model_type=data.get("model_type"),
        dtype=str(data.get("torch_dtype") or data.get("dtype") or text.get("torch_dtype") or "")
        or None,
        quantization=quant.get("quant_method") if isinstance(quant, dict) else None,
        num_layers=text.get("num_hidden_layers"),
        hidden_size=hidden,
        num_kv_heads=text.get("num_key_value_heads") or heads,
        head_dim=head_dim,
        max_position_embeddings=text.get("max_position_embeddings"),
        vocab_size=text.get("vocab_size"),
        chat_template=bool(tok.get("chat_template"))
        or (model_dir / "chat_template.jinja").is_file()
        or (model_dir / "chat_template.json").is_file(),
        tokenizer_class=tok.get("tokenizer_class"),
        trust_remote_code_needed=bool(data.get("auto_map")),
    )


def run_compat(model_dir: Path) -> CompatResult:
    t0 = time.monotonic()
    summary = summarise_model(model_dir)
    res = CompatResult(model=summary)
    res.reason = f"{', '.join(summary.architectures)}, dtype {summary.dtype}"
    res.status = Status.PASS
    res.duration_s = time.monotonic() - t0
    return res


__all__ = ["CompatResult", "ModelSummary", "load_config", "run_compat", "summarise_model"]
