"""Read a model folder the way vLLM will: config, tokenizer, generation defaults, weight headers.

Nothing here loads a tensor: safetensors files are read for their JSON header only (the first
8 bytes give its length), so a 700 GB checkpoint is summarised in milliseconds.
"""

from __future__ import annotations

import json
import struct
from collections import Counter
from pathlib import Path
from typing import Any

from modelverify.compat.modules import (
    MODELSLIM_WIDTH,
    compressed_tensors_float,
    linear_widths,
    modelslim_type,
    modelslim_types,
)
from modelverify.errors import ConfigError
from modelverify.results import Model

# Bytes per element of every safetensors dtype vLLM checkpoints use.
DTYPE_BYTES: dict[str, float] = {
    "F64": 8,
    "I64": 8,
    "U64": 8,
    "F32": 4,
    "I32": 4,
    "U32": 4,
    "F16": 2,
    "BF16": 2,
    "I16": 2,
    "U16": 2,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "F8_E8M0": 1,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
    "F4": 0.5,
}
TORCH_DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float8": 1, "int8": 1}
MAX_HEADER_BYTES = 100 * 1024 * 1024


class LayerLayout(Model):
    """How the decoder layers attend: the part that decides the KV-cache size."""

    full_attention: int = 0
    sliding_attention: int = 0
    linear_attention: int = 0
    sliding_window: int | None = None
    source: str = ""  # which config field decided the layout


class LinearAttention(Model):
    """Gated DeltaNet / Mamba-like layers: a fixed state per sequence instead of a per-token cache."""

    num_key_heads: int | None = None
    num_value_heads: int | None = None
    key_head_dim: int | None = None
    value_head_dim: int | None = None
    conv_kernel_dim: int | None = None
    ssm_dtype: str | None = None


class Weights(Model):
    files: int = 0
    tensors: int = 0
    parameters: int | None = None
    bytes: int | None = None
    dtypes: dict[str, int] = {}  # safetensors dtype -> parameters
    source: str = ""  # "safetensors headers", "index metadata", "estimate from config"


class ModelInfo(Model):
    path: str
    name: str
    architectures: list[str] = []
    model_type: str | None = None
    text_model_type: str | None = None
    multimodal: bool = False
    dtype: str | None = None
    hidden_size: int | None = None
    intermediate_size: int | None = None
    num_layers: int | None = None
    num_attention_heads: int | None = None
    num_kv_heads: int | None = None
    head_dim: int | None = None
    head_dim_explicit: bool = False
    vocab_size: int | None = None
    max_position_embeddings: int | None = None
    rope_scaling: dict[str, Any] | None = None
    layers: LayerLayout = LayerLayout()
    linear: LinearAttention | None = None
    mla_kv_lora_rank: int | None = None
    mla_rope_head_dim: int | None = None
    moe_experts: int | None = None
    moe_intermediate_size: int | None = None
    moe_shared_intermediate_size: int | None = None
    dense_layers_before_moe: int = 0
    moe_experts_per_token: int | None = None
    moe_shared_experts: int | None = None
    mtp_layers: int = 0
    quantization: str | None = None
    quantization_detail: dict[str, Any] = {}
    tie_word_embeddings: bool | None = None
    trust_remote_code_needed: bool = False
    auto_map: dict[str, Any] = {}
    tokenizer_class: str | None = None
    chat_template: bool = False
    chat_template_source: str | None = None
    generation_defaults: dict[str, Any] = {}
    weights: Weights = Weights()
    warnings: list[str] = []

    @property
    def attention_kind(self) -> str:
        if self.mla_kv_lora_rank:
            return "MLA"
        parts = []
        if self.layers.linear_attention:
            parts.append("linear (Gated DeltaNet/SSM)")
        if self.layers.sliding_attention:
            parts.append(f"sliding window {self.layers.sliding_window}")
        if self.layers.full_attention:
            kind = "MHA" if self.num_kv_heads == self.num_attention_heads else "GQA"
            parts.append(f"full ({kind})")
        return " + ".join(parts) or "unknown"


def _read_json(path: Path, what: str) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        raise ConfigError(f"{path} is empty: re-download the model")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid JSON (line {exc.lineno}): re-download the model"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a JSON object ({what}): re-download the model")
    return data


def load_config(model_dir: Path) -> dict[str, Any]:
    """config.json of a model folder, or a one-line ConfigError saying what to do."""
    if not model_dir.exists():
        raise ConfigError(f"model path {model_dir} does not exist: pass a model folder or a hub id")
    cfg = model_dir / "config.json"
    if not cfg.is_file():
        raise ConfigError(f"{model_dir} has no config.json: is it a Hugging Face model folder?")
    data = _read_json(cfg, "config")
    if not data.get("architectures"):
        raise ConfigError(f"{cfg} names no 'architectures': vLLM cannot pick a model class")
    return data


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return None


def _first(d: dict[str, Any], *keys: str) -> Any:
    for k in keys:
        if d.get(k) is not None:
            return d[k]
    return None


def layer_layout(text: dict[str, Any], model_type: str | None) -> LayerLayout:
    """Count full / sliding-window / linear-attention layers from whichever field the family uses."""
    n = _int(text.get("num_hidden_layers")) or 0
    window = _int(text.get("sliding_window"))
    types = text.get("layer_types")
    if isinstance(types, list) and types and all(isinstance(t, str) for t in types):
        c = Counter(types[:n] if n else types)
        linear = sum(v for k, v in c.items() if "linear" in k or "mamba" in k or "ssm" in k)
        sliding = sum(v for k, v in c.items() if "sliding" in k or "local" in k)
        full = sum(c.values()) - linear - sliding
        return LayerLayout(
            full_attention=full,
            sliding_attention=sliding,
            linear_attention=linear,
            sliding_window=window if sliding else None,
            source="layer_types",
        )
    interval = _int(text.get("full_attention_interval"))
    if interval and n:
        full = n // interval
        return LayerLayout(
            full_attention=full, linear_attention=n - full, source="full_attention_interval"
        )
    pattern = _int(text.get("sliding_window_pattern"))
    if pattern and window and n:  # Gemma 3: every pattern-th layer is global
        full = n // pattern
        return LayerLayout(
            full_attention=full,
            sliding_attention=n - full,
            sliding_window=window,
            source="sliding_window_pattern",
        )
    if model_type == "gemma2" and window and n:  # alternate local/global, local first
        return LayerLayout(
            full_attention=n // 2,
            sliding_attention=n - n // 2,
            sliding_window=window,
            source="gemma2 alternating layers",
        )
    use_sw = text.get("use_sliding_window")
    if window and use_sw is not False and model_type in ("mistral", "mixtral", "starcoder2"):
        return LayerLayout(sliding_attention=n, sliding_window=window, source="sliding_window")
    if window and use_sw is True and n:
        max_window = _int(text.get("max_window_layers"))
        sliding = n - max_window if max_window is not None and max_window < n else n
        return LayerLayout(
            full_attention=n - sliding,
            sliding_attention=sliding,
            sliding_window=window,
            source="use_sliding_window",
        )
    return LayerLayout(full_attention=n, source="num_hidden_layers")


def _modelslim_description(model_dir: Path) -> tuple[str, dict[str, Any]] | None:
    """(file name, parsed JSON) of msModelSlim's per-tensor description, when the folder has one.

    vLLM-Ascend reads exactly ``quant_model_description.json``; older msModelSlim releases wrote
    ``quant_model_description_w8a8.json`` and the like, so any of those names is taken.
    """
    descs = sorted(model_dir.glob("quant_model_description*.json"))
    desc = descs[0] if descs else model_dir / "quant_model_description.json"
    if not desc.is_file():
        return None
    try:
        d = json.loads(desc.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError, UnicodeDecodeError):
        d = {}
    return desc.name, d if isinstance(d, dict) else {}


def _quantization(
    data: dict[str, Any], text: dict[str, Any], desc: tuple[str, dict[str, Any]] | None
) -> tuple[str | None, dict[str, Any]]:
    q = data.get("quantization_config") or text.get("quantization_config")
    if desc is not None:
        name, d = desc
        kind = d.get("model_quant_type")
        counts = Counter(v for v in d.values() if isinstance(v, str))
        return f"ascend {kind or 'msModelSlim'}", {
            "source": name,
            "model_quant_type": kind,
            "tensor_types": dict(counts),
        }
    if isinstance(q, dict):
        method = str(q.get("quant_method") or q.get("quant_algo") or "unknown")
        if method == "ascend" and q.get("model_quant_type"):  # newer msModelSlim exports
            return f"ascend {q['model_quant_type']}", {"source": "config.json quantization_config"}
        detail = {
            k: q[k]
            for k in (
                "bits",
                "group_size",
                "fmt",
                "format",
                "activation_scheme",
                "weight_block_size",
                "zero_point",
                "sym",
                "desc_act",
                "checkpoint_format",
                "version",
            )
            if k in q and q[k] is not None
        }
        # AutoAWQ's own quant_config names (w_bit, q_group_size) appear in older exports
        for alias, key in (("w_bit", "bits"), ("q_group_size", "group_size")):
            if key not in detail and isinstance(q.get(alias), int):
                detail[key] = q[alias]
        # compressed-tensors keeps the width per scheme group, not as a top-level "bits"
        groups = q.get("config_groups")
        if "bits" not in q and isinstance(groups, dict):
            schemes = [
                g["weights"]
                for g in groups.values()
                if isinstance(g, dict)
                and isinstance(g.get("weights"), dict)
                and isinstance(g["weights"].get("num_bits"), int)
            ]
            if schemes:
                narrow = min(schemes, key=lambda w: w["num_bits"])
                detail["bits"] = narrow["num_bits"]
                if isinstance(narrow.get("group_size"), int):
                    detail["group_size"] = narrow["group_size"]
                if isinstance(narrow.get("symmetric"), bool):
                    detail["sym"] = narrow["symmetric"]
            # which modules the schemes cover, and which stay in float (Kimi-K2.5 keeps its
            # attention and shared experts in bf16): the weight estimate counts them apart
            targets = sorted(
                {
                    t
                    for g in groups.values()
                    if isinstance(g, dict)
                    for t in g.get("targets") or []
                    if isinstance(t, str)
                }
            )
            if targets:
                detail["targets"] = targets
        ignore = q.get("ignore")
        if isinstance(ignore, list) and ignore:
            detail["ignore"] = [t for t in ignore if isinstance(t, str)]
        return method, detail
    return None, {}


def _chat_template(model_dir: Path, tok: dict[str, Any]) -> tuple[bool, str | None]:
    if tok.get("chat_template"):
        return True, "tokenizer_config.json"
    for name in ("chat_template.jinja", "chat_template.json"):
        if (model_dir / name).is_file():
            return True, name
    return False, None


def read_safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of one safetensors file (tensor name -> dtype, shape, offsets)."""
    with path.open("rb") as fh:
        raw = fh.read(8)
        if len(raw) != 8:
            raise ConfigError(f"{path} is shorter than a safetensors header: re-download it")
        (size,) = struct.unpack("<Q", raw)
        if size <= 0 or size > MAX_HEADER_BYTES:
            raise ConfigError(f"{path} has a corrupt safetensors header: re-download it")
        body = fh.read(size)
    try:
        header = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} has a corrupt safetensors header: re-download it") from exc
    if not isinstance(header, dict):
        raise ConfigError(f"{path} has a corrupt safetensors header: re-download it")
    return header


def read_weights(model_dir: Path) -> Weights:
    files = sorted(model_dir.glob("*.safetensors"))
    if files:
        w = Weights(files=len(files), parameters=0, bytes=0, source="safetensors headers")
        dtypes: Counter[str] = Counter()
        for f in files:
            for name, t in read_safetensors_header(f).items():
                if name == "__metadata__" or not isinstance(t, dict):
                    continue
                shape = t.get("shape") or []
                numel = 1
                for d in shape:
                    numel *= int(d)
                dt = str(t.get("dtype", ""))
                dtypes[dt] += numel
                w.tensors += 1
                w.bytes = (w.bytes or 0) + int(numel * DTYPE_BYTES.get(dt, 2))
                w.parameters = (w.parameters or 0) + numel
        w.dtypes = dict(dtypes)
        return w
    index = model_dir / "model.safetensors.index.json"
    if index.is_file():
        data = _read_json(index, "safetensors index")
        total = (data.get("metadata") or {}).get("total_size")
        shards = set((data.get("weight_map") or {}).values())
        return Weights(
            files=len(shards), bytes=_int(total), source="index metadata (shards absent)"
        )
    return Weights(source="no weight files")


def parameter_split(info: ModelInfo, text: dict[str, Any] | None = None) -> tuple[int, int] | None:
    """(decoder linear-layer parameters, embedding + lm_head parameters) from the config alone.

    The two are kept apart because quantized checkpoints (AWQ, GPTQ, FP8, W8A8) quantize only
    the linear layers: the embedding and the output head stay at the checkpoint's float dtype.
    """
    h, n, v = info.hidden_size, info.num_layers, info.vocab_size
    inter = info.intermediate_size
    if not (h and n and v and inter and info.num_attention_heads and info.head_dim):
        return None
    text = text or {}
    heads = info.num_attention_heads
    if info.mla_kv_lora_rank:
        nope = _int(text.get("qk_nope_head_dim")) or 0
        rope = info.mla_rope_head_dim or 0
        vd = _int(text.get("v_head_dim")) or info.head_dim
        q_rank = _int(text.get("q_lora_rank"))
        q = h * q_rank + q_rank * heads * (nope + rope) if q_rank else h * heads * (nope + rope)
        kv = h * (info.mla_kv_lora_rank + rope) + info.mla_kv_lora_rank * heads * (nope + vd)
        attn = q + kv + heads * vd * h
    else:
        kvh = info.num_kv_heads or heads
        attn = h * info.head_dim * (heads * 2 + kvh * 2)
    dense_mlp = 3 * h * inter
    if info.moe_experts and info.moe_intermediate_size:
        shared = (info.moe_shared_experts or 0) * info.moe_intermediate_size + (
            info.moe_shared_intermediate_size or 0
        )
        moe_mlp = 3 * h * (info.moe_intermediate_size * info.moe_experts + shared)
        dense = min(info.dense_layers_before_moe, n)
        layers = dense * (attn + dense_mlp) + (n - dense) * (attn + moe_mlp)
    elif info.moe_experts:
        layers = n * (attn + dense_mlp * info.moe_experts)
    else:
        layers = n * (attn + dense_mlp)
    emb = v * h * (1 if info.tie_word_embeddings else 2)
    return layers, emb


def estimate_parameters(info: ModelInfo, text: dict[str, Any] | None = None) -> int | None:
    """Decoder parameter estimate from the config alone, for folders that hold no weights."""
    split = parameter_split(info, text)
    return None if split is None else sum(split)


def _bytes_per_weight(info: ModelInfo) -> float:
    q = (info.quantization or "").lower()
    bits = info.quantization_detail.get("bits")
    if isinstance(bits, int) and bits > 0:
        return bits / 8
    if q in ("awq", "gptq", "mxfp4", "nvfp4", "bitsandbytes") or "w4a" in q:
        return 0.5
    if q.startswith("fp8") or "w8a8" in q or q in ("fbgemm_fp8", "modelopt"):
        return 1
    return TORCH_DTYPE_BYTES.get(info.dtype or "bfloat16", 2)


def linear_bytes_per_weight(info: ModelInfo) -> float:
    """Bytes one quantized linear-layer weight costs, its share of scales and zero points included.

    AWQ and GPTQ keep one fp16 scale per ``group_size`` input weights of every output channel,
    and a zero point packed at the weight's width (AWQ when ``zero_point``; GPTQ always stores
    ``qzeros``, except in the Marlin repacked format). At group 128 that adds 2.5 / 128 B to the
    0.5 B of a 4-bit weight, about 4%. GPTQ's ``g_idx`` (4 B per input row) is left out (< 0.1%).
    FP8 block quantization keeps one fp32 scale per block.
    """
    base = _bytes_per_weight(info)
    q = (info.quantization or "").lower()
    d = info.quantization_detail
    group = d.get("group_size")
    if q in ("awq", "gptq", "compressed-tensors") and isinstance(group, int) and group > 0:
        if q == "awq":
            zero = base if d.get("zero_point", True) else 0.0
        elif q == "gptq":
            zero = 0.0 if d.get("checkpoint_format") == "marlin" else base
        else:
            zero = 0.0 if d.get("sym", True) else base
        return base + (2 + zero) / group
    block = d.get("weight_block_size")
    if q.startswith("fp8") and isinstance(block, list) and len(block) == 2:
        a, b = block
        if isinstance(a, int) and isinstance(b, int) and a * b > 0:
            return base + 4 / (a * b)
    return base


def float_bytes(info: ModelInfo) -> float:
    """Bytes of one weight at the checkpoint's float dtype (``torch_dtype``; bf16 if unsaid)."""
    return TORCH_DTYPE_BYTES.get((info.dtype or "bfloat16").lower(), 2)


def estimate_weight_bytes(
    info: ModelInfo,
    linear: int,
    embedding: int,
    widths: dict[float | None, int] | None = None,
) -> int:
    """Checkpoint bytes: linear layers at the quantized width, embeddings at the float dtype.

    ``widths`` (from :func:`linear_widths`) splits the linear parameters by bytes per weight when
    the config says some modules stay unquantized; None there means the quantized width.
    """
    float_b = float_bytes(info)
    if not info.quantization:
        return int((linear + embedding) * float_b)
    quantized = linear_bytes_per_weight(info)
    if widths:
        lin = sum(p * (quantized if w is None else w) for w, p in widths.items())
        return int(lin + embedding * float_b)
    return int(linear * quantized + embedding * float_b)


def linear_widths_from_config(
    info: ModelInfo, text: dict[str, Any], desc: tuple[str, dict[str, Any]] | None
) -> dict[float | None, int] | None:
    """Linear parameters by bytes per weight, when the config names modules left in float.

    compressed-tensors: the ``ignore`` list (and name-pattern ``targets``) decide; msModelSlim:
    each module's ``<name>.weight`` entry in the description (``FLOAT`` -> the float dtype,
    ``W8A8*`` -> 1 B, ``W4A8*`` -> 0.5 B). None when the config says nothing per module.
    """
    float_b = float_bytes(info)
    if (info.quantization or "") == "compressed-tensors":
        is_float = compressed_tensors_float(info.quantization_detail)
        if is_float is None:
            return None
        return linear_widths(info, text, lambda n: float_b if is_float(n) else None)
    if desc is not None:
        types = modelslim_types(desc[1])
        if not types:
            return None

        def width(name: str) -> float | None:
            t = modelslim_type(types, name)
            return float_b if t == "FLOAT" else MODELSLIM_WIDTH.get(t or "")

        return linear_widths(info, text, width)
    return None


def read_model(model_dir: Path, *, weights: bool = True) -> ModelInfo:
    """Everything vLLM will decide from this folder, read in milliseconds."""
    data = load_config(model_dir)
    text = data.get("text_config") if isinstance(data.get("text_config"), dict) else data
    assert isinstance(text, dict)
    tok: dict[str, Any] = {}
    tok_path = model_dir / "tokenizer_config.json"
    warnings: list[str] = []
    if tok_path.is_file():
        try:
            tok = _read_json(tok_path, "tokenizer config")
        except ConfigError as exc:
            warnings.append(str(exc))
    else:
        warnings.append("no tokenizer_config.json: vLLM will fail to load a tokenizer")
    gen: dict[str, Any] = {}
    gen_path = model_dir / "generation_config.json"
    if gen_path.is_file():
        try:
            gen = _read_json(gen_path, "generation config")
        except ConfigError as exc:
            warnings.append(str(exc))
    heads = _int(text.get("num_attention_heads"))
    hidden = _int(text.get("hidden_size"))
    head_dim = _int(text.get("head_dim"))
    explicit = head_dim is not None
    if head_dim is None and hidden and heads:
        head_dim = hidden // heads
    model_type = data.get("model_type")
    text_type = text.get("model_type") if text is not data else model_type
    lin = None
    if _first(text, "linear_num_value_heads", "linear_key_head_dim") is not None:
        lin = LinearAttention(
            num_key_heads=_int(text.get("linear_num_key_heads")),
            num_value_heads=_int(text.get("linear_num_value_heads")),
            key_head_dim=_int(text.get("linear_key_head_dim")),
            value_head_dim=_int(text.get("linear_value_head_dim")),
            conv_kernel_dim=_int(text.get("linear_conv_kernel_dim")),
            ssm_dtype=_first(text, "mamba_ssm_dtype"),
        )
    desc = _modelslim_description(model_dir)
    quant, qdetail = _quantization(data, text, desc)
    has_template, template_src = _chat_template(model_dir, tok)
    auto_map = data.get("auto_map") if isinstance(data.get("auto_map"), dict) else {}
    info = ModelInfo(
        path=str(model_dir),
        name=model_dir.resolve().name if model_dir.exists() else str(model_dir),
        architectures=[str(a) for a in data.get("architectures") or []],
        model_type=model_type,
        text_model_type=text_type,
        multimodal=isinstance(data.get("vision_config"), dict)
        or isinstance(data.get("audio_config"), dict),
        dtype=str(
            _first(text, "torch_dtype", "dtype") or _first(data, "torch_dtype", "dtype") or ""
        )
        or None,
        hidden_size=hidden,
        intermediate_size=_int(_first(text, "intermediate_size", "moe_intermediate_size")),
        moe_intermediate_size=_int(text.get("moe_intermediate_size")),
        moe_shared_intermediate_size=_int(text.get("shared_expert_intermediate_size")),
        dense_layers_before_moe=_int(text.get("first_k_dense_replace")) or 0,
        num_layers=_int(text.get("num_hidden_layers")),
        num_attention_heads=heads,
        num_kv_heads=_int(text.get("num_key_value_heads")) or heads,
        head_dim=head_dim,
        head_dim_explicit=explicit,
        vocab_size=_int(_first(text, "vocab_size") or data.get("vocab_size")),
        max_position_embeddings=_int(text.get("max_position_embeddings")),
        rope_scaling=_first(text, "rope_scaling")
        if isinstance(_first(text, "rope_scaling"), dict)
        else None,
        layers=layer_layout(text, text_type),
        linear=lin,
        mla_kv_lora_rank=_int(text.get("kv_lora_rank")),
        mla_rope_head_dim=_int(text.get("qk_rope_head_dim")),
        moe_experts=_int(_first(text, "num_experts", "n_routed_experts", "num_local_experts")),
        moe_experts_per_token=_int(_first(text, "num_experts_per_tok", "moe_topk")),
        moe_shared_experts=_int(text.get("n_shared_experts")),
        mtp_layers=_int(_first(text, "num_nextn_predict_layers", "mtp_num_hidden_layers")) or 0,
        quantization=quant,
        quantization_detail=qdetail,
        tie_word_embeddings=_first(data, "tie_word_embeddings"),
        trust_remote_code_needed=bool(auto_map),
        auto_map=auto_map,
        tokenizer_class=tok.get("tokenizer_class"),
        chat_template=has_template,
        chat_template_source=template_src,
        generation_defaults={
            k: gen[k]
            for k in ("temperature", "top_p", "top_k", "repetition_penalty", "max_new_tokens")
            if k in gen
        },
    )
    if weights:
        info.weights = read_weights(model_dir)
    if info.weights.bytes is None:
        split = parameter_split(info, text)
        if split is not None:
            widths = linear_widths_from_config(info, text, desc)
            if widths:
                # the linear parameters the checkpoint keeps at the float dtype
                info.quantization_detail["unquantized_linear_parameters"] = widths.get(
                    float_bytes(info), 0
                )
            info.weights = Weights(
                parameters=sum(split),
                bytes=estimate_weight_bytes(info, *split, widths=widths),
                source="estimate from config (no weights)",
            )
    if not info.chat_template:
        warnings.append(
            "no chat template: /v1/chat/completions will fail unless the engine is given "
            "--chat-template"
        )
    if info.trust_remote_code_needed:
        warnings.append(
            "config has auto_map: the engine runs the model's own Python code "
            "(--trust-remote-code); review it before serving"
        )
    info.warnings = warnings
    return info


__all__ = [
    "LayerLayout",
    "LinearAttention",
    "ModelInfo",
    "Weights",
    "estimate_parameters",
    "estimate_weight_bytes",
    "float_bytes",
    "layer_layout",
    "linear_bytes_per_weight",
    "linear_widths_from_config",
    "load_config",
    "parameter_split",
    "read_model",
    "read_safetensors_header",
    "read_weights",
]
