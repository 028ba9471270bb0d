"""The decoder's linear modules by name, and which of them a quantized checkpoint leaves in float.

A quantized checkpoint rarely quantizes every linear layer: compressed-tensors lists the modules
it skips in ``quantization_config.ignore`` (Kimi-K2.5 keeps attention, the shared experts and the
dense first layer in bf16 and packs only the routed experts to int4), and msModelSlim's
``quant_model_description.json`` names a type per tensor (``FLOAT`` for the ones left alone).
Counting the skipped modules at the quantized width understates the checkpoint, so the estimate
walks the modules by their Hugging Face names and asks the config which width each one has.

The names and shapes follow the Hugging Face modelling code of the Llama / Qwen / DeepSeek
families (``model.layers.N.self_attn.q_proj``, ``...mlp.experts.E.down_proj``, MLA's
``q_a_proj`` / ``kv_b_proj``); the totals equal :func:`modelverify.compat.model.parameter_split`
exactly, so a family whose modules are named otherwise still gets the right total, only the
matching against its ignore list or description can miss (and then it falls back to the
checkpoint-wide width). Routers, norms and biases are left out, as in ``parameter_split``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelverify.compat.model import ModelInfo

# msModelSlim per-tensor types -> bytes per weight of the int8 / int4 payload. The per-channel
# scales and offsets beside them (one fp32/bf16 value per output row) are left out: below 0.5% of
# the weight for rows of 4096 inputs or more.
MODELSLIM_WIDTH: dict[str, float] = {
    "W8A8": 1,
    "W8A8_DYNAMIC": 1,
    "W8A8S": 1,
    "W8A8SC": 1,
    "W8A16": 1,
    "W8A8_MIX": 1,
    "W4A8_DYNAMIC": 0.5,
    "W4A8": 0.5,
    "W4A16": 0.5,
    "W4A4_DYNAMIC": 0.5,
    "W4A4_FLATQUANT_DYNAMIC": 0.5,
    "NF4": 0.5,
}
_LAYER = re.compile(r"(?:^|\.)(layers\.\d+\..+)$")


def _int(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def linear_modules(
    info: ModelInfo, text: dict[str, Any] | None = None
) -> Iterator[tuple[str, int]]:
    """(name, parameters) of every decoder linear layer, counted as ``parameter_split`` does."""
    h, n = info.hidden_size or 0, info.num_layers or 0
    heads, hd = info.num_attention_heads or 0, info.head_dim or 0
    inter = info.intermediate_size or 0
    text = text or {}
    if info.mla_kv_lora_rank:
        nope, rope = _int(text.get("qk_nope_head_dim")), info.mla_rope_head_dim or 0
        vd = _int(text.get("v_head_dim")) or hd
        q_rank, kv_rank = _int(text.get("q_lora_rank")), info.mla_kv_lora_rank
        attn = [("q_a_proj", h * q_rank), ("q_b_proj", q_rank * heads * (nope + rope))]
        if not q_rank:
            attn = [("q_proj", h * heads * (nope + rope))]
        attn += [
            ("kv_a_proj_with_mqa", h * (kv_rank + rope)),
            ("kv_b_proj", kv_rank * heads * (nope + vd)),
            ("o_proj", heads * vd * h),
        ]
    else:
        kvh = info.num_kv_heads or heads
        attn = [
            ("q_proj", h * heads * hd),
            ("k_proj", h * kvh * hd),
            ("v_proj", h * kvh * hd),
            ("o_proj", heads * hd * h),
        ]
    moe_inter = info.moe_intermediate_size
    dense = min(info.dense_layers_before_moe, n) if info.moe_experts and moe_inter else n
    for i in range(n):
        p = f"model.layers.{i}"
        for name, size in attn:
            yield f"{p}.self_attn.{name}", size
        if i < dense and not (info.moe_experts and not moe_inter):
            for proj in ("gate_proj", "up_proj", "down_proj"):
                yield f"{p}.mlp.{proj}", h * inter
            continue
        width = moe_inter or inter  # experts without their own size are dense-MLP sized
        for e in range(info.moe_experts or 0):
            for proj in ("gate_proj", "up_proj", "down_proj"):
                yield f"{p}.mlp.experts.{e}.{proj}", h * width
        if moe_inter and info.moe_shared_experts:
            for proj in ("gate_proj", "up_proj", "down_proj"):
                yield f"{p}.mlp.shared_experts.{proj}", h * moe_inter * info.moe_shared_experts
        if moe_inter and info.moe_shared_intermediate_size:
            for proj in ("gate_proj", "up_proj", "down_proj"):
                yield f"{p}.mlp.shared_expert.{proj}", h * info.moe_shared_intermediate_size


def matches(name: str, target: str) -> bool:
    """vLLM's rule for compressed-tensors ``ignore`` / ``targets`` entries.

    ``re:`` entries are ``re.match``-ed against the module name; plain entries must equal it
    (vLLM's ``_is_equal_or_regex_match``). A plain entry also matches as a dotted suffix here,
    because our names lack the multimodal wrapper's prefix (``language_model.``).
    """
    if target.startswith("re:"):
        return re.match(target[3:], name) is not None
    return name == target or name.endswith("." + target)


def compressed_tensors_float(detail: dict[str, Any]) -> Callable[[str], bool] | None:
    """A test for "this module stays unquantized", from the ignore list and the scheme targets."""
    ignore = [t for t in detail.get("ignore") or [] if isinstance(t, str)]
    targets = [t for t in detail.get("targets") or [] if isinstance(t, str)]
    # "Linear" (the class name) targets every linear layer; name patterns target some of them.
    by_name = [t for t in targets if t != "Linear"]
    if not ignore and not by_name:
        return None
    everything = not targets or "Linear" in targets

    def is_float(name: str) -> bool:
        if any(matches(name, t) for t in ignore):
            return True
        return not everything and not any(matches(name, t) for t in by_name)

    return is_float


def _layer_key(name: str) -> str | None:
    m = _LAYER.search(name)
    return m.group(1) if m else None


def modelslim_types(description: dict[str, Any]) -> dict[str, str]:
    """Module (from ``layers.N.``) -> msModelSlim type, from the ``*.weight`` entries."""
    out: dict[str, str] = {}
    for key, value in description.items():
        if isinstance(value, str) and key.endswith(".weight"):
            module = _layer_key(key.removesuffix(".weight"))
            if module:
                out[module] = value
    return out


_FUSED = {"q_proj": "qkv_proj", "k_proj": "qkv_proj", "v_proj": "qkv_proj"}
_FUSED.update({"gate_proj": "gate_up_proj", "up_proj": "gate_up_proj"})


def modelslim_type(types: dict[str, str], name: str) -> str | None:
    """The description's type for one of our module names, trying the fused and merged spellings.

    Exports name the unfused modules (``q_proj``) or the fused ones vLLM loads (``qkv_proj``),
    and some MoE exports one entry for all experts of a layer (``mlp.experts.weight``).
    """
    key = _layer_key(name)
    if key is None:
        return None
    if key in types:
        return types[key]
    head, _, last = key.rpartition(".")
    fused = _FUSED.get(last)
    if fused and f"{head}.{fused}" in types:
        return types[f"{head}.{fused}"]
    merged = re.sub(r"\.experts\.\d+\.\w+$", ".experts", key)
    return types.get(merged)


def linear_widths(
    info: ModelInfo,
    text: dict[str, Any] | None,
    width: Callable[[str], float | None],
) -> dict[float | None, int]:
    """Linear parameters grouped by bytes per weight (None: the checkpoint-wide width)."""
    out: dict[float | None, int] = {}
    for name, size in linear_modules(info, text):
        w = width(name)
        out[w] = out.get(w, 0) + size
    return out


__all__ = [
    "MODELSLIM_WIDTH",
    "compressed_tensors_float",
    "linear_modules",
    "linear_widths",
    "matches",
    "modelslim_type",
    "modelslim_types",
]
