"""KV-cache size per token and what fits in the memory the engine will give it.

The arithmetic follows vLLM's own accounting: a full-attention layer stores K and V for every
token (``2 × kv_heads × head_dim × dtype bytes``), MLA stores one compressed latent per token
shared by all heads (``kv_lora_rank + qk_rope_head_dim``), a sliding-window layer needs only the
last ``window`` tokens of a sequence, and a linear-attention (Gated DeltaNet) layer keeps a fixed
state per sequence. The engine rounds capacity down to whole blocks of ``block_size`` tokens.
"""

from __future__ import annotations

import math

from modelverify.compat.model import TORCH_DTYPE_BYTES, ModelInfo
from modelverify.results import Model

GiB = 1024**3
DEFAULT_BLOCK_SIZE = {"cpu": 128, "npu": 128, "cuda": 16}
KV_DTYPE_BYTES = {
    "fp8": 1,
    "fp8_e4m3": 1,
    "fp8_e5m2": 1,
    "int8": 1,
    "bfloat16": 2,
    "float16": 2,
    "half": 2,
    "float32": 4,
    "float": 4,
}


class KvSpec(Model):
    """Per-token and per-sequence cache cost of one tensor-parallel rank."""

    kv_dtype: str
    kv_dtype_bytes: float
    tensor_parallel: int = 1
    kv_heads_per_rank: int | None = None
    per_token_bytes: int  # grows with context: full-attention (or MLA) layers
    sliding_per_token_bytes: int = 0  # sliding-window layers, capped at the window
    sliding_window: int | None = None
    per_sequence_state_bytes: int = 0  # linear-attention layers, fixed per sequence
    full_layers: int = 0  # layers per kind, for vLLM's grouping of hybrid models
    sliding_layers: int = 0
    layer_bytes_per_token: int = 0  # one attention layer (or MLA latent) per token
    formula: str
    notes: list[str] = []


class MemoryFit(Model):
    platform: str
    budget_bytes: int | None
    budget_source: str
    weights_bytes_per_rank: int | None = None
    reserve_bytes: int | None = None
    block_size: int
    max_model_len: int | None
    predicted_kv_tokens: int | None = None
    max_concurrency: float | None = None
    largest_max_model_len: int | None = None
    fits: bool | None = None
    suggestions: list[str] = []
    weights_do_not_fit: bool = False
    exact: bool = False  # True when vLLM's own accounting is reproduced, not estimated


def kv_dtype_bytes(kv_cache_dtype: str | None, model_dtype: str | None) -> tuple[str, float]:
    name = (kv_cache_dtype or "auto").lower()
    if name == "auto":
        name = (model_dtype or "bfloat16").lower()
        return name, TORCH_DTYPE_BYTES.get(name, 2)
    return name, KV_DTYPE_BYTES.get(name, 2)


def kv_spec(info: ModelInfo, kv_cache_dtype: str | None = None, tp: int = 1) -> KvSpec:
    name, b = kv_dtype_bytes(kv_cache_dtype, info.dtype)
    tp = max(1, tp)
    notes: list[str] = []
    lay = info.layers
    if info.mla_kv_lora_rank:
        latent = info.mla_kv_lora_rank + (info.mla_rope_head_dim or 0)
        layers = info.num_layers or 0
        per_token = int(layers * latent * b)
        formula = (
            f"{layers} layers × ({info.mla_kv_lora_rank} + {info.mla_rope_head_dim or 0}) × {b:g} B"
        )
        notes.append("MLA: one latent per token shared by all heads, replicated on every TP rank")
        if info.mtp_layers:
            notes.append(
                f"{info.mtp_layers} MTP layer(s) not counted: cached only with MTP speculative decoding"
            )
        return KvSpec(
            kv_dtype=name,
            kv_dtype_bytes=b,
            tensor_parallel=tp,
            per_token_bytes=per_token,
            full_layers=layers,
            layer_bytes_per_token=int(latent * b),
            formula=formula,
            notes=notes,
        )
    kv = info.num_kv_heads or 0
    per_rank = max(1, kv // tp) if kv else 0
    if kv and kv < tp:
        notes.append(f"{kv} KV heads < TP {tp}: heads are replicated, one per rank")
    hd = info.head_dim or 0
    per_layer = 2 * per_rank * hd * b
    per_token = int(lay.full_attention * per_layer)
    formula = f"2 × {lay.full_attention} full-attention layers × {per_rank} KV heads × {hd} head_dim × {b:g} B"
    sliding = int(lay.sliding_attention * per_layer)
    if lay.sliding_attention:
        notes.append(
            f"{lay.sliding_attention} sliding-window layers hold at most {lay.sliding_window} tokens "
            "per sequence"
        )
    state = 0
    if lay.linear_attention and info.linear is not None:
        li = info.linear
        vh = (li.num_value_heads or 0) // tp or 1
        kh = (li.num_key_heads or 0) // tp or 1
        kd, vd = li.key_head_dim or 0, li.value_head_dim or 0
        recurrent = vh * kd * vd
        conv = max(0, (li.conv_kernel_dim or 1) - 1) * (2 * kh * kd + vh * vd)
        ssm_b = TORCH_DTYPE_BYTES.get((li.ssm_dtype or info.dtype or "bfloat16").lower(), 2)
        state = int(lay.linear_attention * (recurrent * ssm_b + conv * b))
        notes.append(
            f"{lay.linear_attention} linear-attention layers keep a fixed state per sequence "
            f"(recurrent {recurrent:,} values in {li.ssm_dtype or info.dtype or 'bfloat16'}, "
            f"conv {conv:,} values); vLLM pads these pages, so the hybrid figure is an estimate"
        )
    if info.moe_experts:
        notes.append("MoE experts do not change the KV cache")
    return KvSpec(
        kv_dtype=name,
        kv_dtype_bytes=b,
        tensor_parallel=tp,
        kv_heads_per_rank=per_rank,
        per_token_bytes=per_token,
        sliding_per_token_bytes=sliding,
        sliding_window=lay.sliding_window,
        per_sequence_state_bytes=state,
        full_layers=lay.full_attention,
        sliding_layers=lay.sliding_attention,
        layer_bytes_per_token=int(per_layer),
        formula=formula,
        notes=notes,
    )


def engine_tokens(
    spec: KvSpec, budget: int, block_size: int, max_model_len: int, max_batched: int
) -> int | None:
    """The "KV cache size: N tokens" vLLM 0.32 reports, for attention-only models.

    vLLM's rule (v1/core/kv_cache_utils.py): layers of one kind form groups of equal size (the
    smaller kind's layer count, or the larger's when the two are within 1.5×); every block of
    the pool holds one page for each layer of a group, so ``num_blocks = budget // (group_size
    × page)``. A request at ``max_model_len`` takes ``cdiv(len, block)`` blocks in each
    full-attention group and ``cdiv(min(window − 1 + max_num_batched_tokens, len), block) + 1``
    in each sliding-window group; the figure is ``num_blocks / blocks_per_request × len``.
    None where the rule is not reproduced (linear-attention state pages are padded to the
    attention page, see the note).
    """
    if spec.per_sequence_state_bytes or max_model_len <= 0 or budget <= 0:
        return None
    layer_bytes = spec.layer_bytes_per_token
    full, sliding = spec.full_layers, spec.sliding_layers
    if not layer_bytes or not (full or sliding):
        return None
    page = layer_bytes * block_size
    counts = [n for n in (full, sliding) if n]
    group = min(counts)
    if max(counts) < group * 1.5:
        group = max(counts)
    num_blocks = budget // (group * page)
    full_blocks = math.ceil(max_model_len / block_size)
    window = spec.sliding_window or max_model_len
    slide_blocks = math.ceil(min(window - 1 + max_batched, max_model_len) / block_size) + 1
    per_request = math.ceil(full / group) * full_blocks + math.ceil(sliding / group) * slide_blocks
    return int(num_blocks / per_request * max_model_len)


def tokens_in(budget: int, per_token: int, block_size: int) -> int:
    """Whole blocks of KV cache that fit in ``budget`` bytes, as tokens (vLLM rounds down)."""
    if per_token <= 0 or budget <= 0:
        return 0
    return (budget // (per_token * block_size)) * block_size


def sequence_bytes(spec: KvSpec, length: int, block_size: int) -> int:
    """Cache one sequence of ``length`` tokens needs, in whole blocks."""
    blocks = math.ceil(length / block_size)
    need = blocks * block_size * spec.per_token_bytes + spec.per_sequence_state_bytes
    if spec.sliding_per_token_bytes:
        window = min(length, spec.sliding_window or length)
        need += (math.ceil(window / block_size) + 1) * block_size * spec.sliding_per_token_bytes
    return need


def largest_len(spec: KvSpec, budget: int, block_size: int, ceiling: int | None) -> int:
    """The longest single sequence whose cache fits in ``budget`` (binary search over blocks)."""
    lo, hi = 0, (ceiling or 10**8)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sequence_bytes(spec, mid, block_size) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


def reserve_estimate(device_bytes: int) -> int:
    """Activations, graphs and runtime outside weights and KV cache: a documented rough guess."""
    return max(GiB, int(device_bytes * 0.05))


def fit_memory(
    info: ModelInfo,
    spec: KvSpec,
    *,
    platform: str,
    device_bytes: int | None,
    gpu_memory_utilization: float = 0.9,
    kv_cache_memory_bytes: int | None = None,
    cpu_kvcache_space_gib: int | None = None,
    max_model_len: int | None = None,
    block_size: int | None = None,
    max_num_batched_tokens: int | None = None,
) -> MemoryFit:
    """Predict the engine's KV-cache capacity and whether ``max_model_len`` fits."""
    tp = spec.tensor_parallel
    bs = block_size or (
        16 if platform == "cpu" and info.mla_kv_lora_rank else DEFAULT_BLOCK_SIZE.get(platform, 16)
    )
    length = max_model_len or info.max_position_embeddings
    weights = info.weights.bytes
    w_rank = None if weights is None else weights // tp
    fit = MemoryFit(
        platform=platform,
        budget_bytes=None,
        budget_source="",
        block_size=bs,
        max_model_len=length,
        weights_bytes_per_rank=w_rank,
    )
    if kv_cache_memory_bytes is not None:
        fit.budget_bytes, fit.exact = kv_cache_memory_bytes, True
        fit.budget_source = f"--kv-cache-memory-bytes {kv_cache_memory_bytes}"
    elif platform == "cpu" and cpu_kvcache_space_gib:
        fit.budget_bytes, fit.exact = cpu_kvcache_space_gib * GiB, True
        fit.budget_source = f"VLLM_CPU_KVCACHE_SPACE={cpu_kvcache_space_gib} (GiB)"
    elif device_bytes:
        reserve = reserve_estimate(device_bytes)
        fit.reserve_bytes = reserve
        fit.budget_bytes = int(device_bytes * gpu_memory_utilization) - (w_rank or 0) - reserve
        what = "CPU memory" if platform == "cpu" else "device memory"
        fit.budget_source = (
            f"{what} {device_bytes / GiB:.1f} GiB × {gpu_memory_utilization:g} "
            f"− weights {(w_rank or 0) / GiB:.2f} GiB − reserve {reserve / GiB:.2f} GiB (estimate)"
        )
    else:
        fit.budget_source = "device memory unknown: no prediction"
        return fit
    budget = fit.budget_bytes
    assert budget is not None
    if budget <= 0:
        fit.predicted_kv_tokens, fit.fits, fit.largest_max_model_len = 0, False, 0
        fit.weights_do_not_fit = True
        usable = (device_bytes or 0) * gpu_memory_utilization - (fit.reserve_bytes or 0)
        if platform != "cpu" and weights and usable > 0:
            # Smallest power-of-two TP whose weight shard leaves room for some KV cache.
            n = tp
            while n < 64 and weights / n > usable * 0.8:
                n *= 2
            fit.suggestions = [f"--tensor-parallel-size {n}", "a quantized model"]
        else:
            fit.suggestions = ["a machine with more memory", "a quantized model"]
        return fit
    # vLLM's CPU and OpenAI-server default: 2048 × world size (engine/arg_utils.py)
    batched = max_num_batched_tokens or 2048 * tp
    reproduced = engine_tokens(spec, budget, bs, length, batched) if length else None
    if reproduced is not None:
        fit.predicted_kv_tokens = reproduced
    elif spec.per_token_bytes:
        fit.predicted_kv_tokens = tokens_in(budget, spec.per_token_bytes, bs)
    fit.exact = fit.exact and reproduced is not None
    fit.largest_max_model_len = largest_len(spec, budget, bs, info.max_position_embeddings)
    if length:
        need = sequence_bytes(spec, length, bs)
        fit.max_concurrency = round(budget / need, 2) if need else None
        if reproduced is not None:  # the engine's own "Maximum concurrency" (tokens / length)
            fit.max_concurrency = round(reproduced / length, 2)
        fit.fits = need <= budget
        if not fit.fits:
            fit.suggestions = _suggest(
                platform,
                tp,
                need=need,
                largest=fit.largest_max_model_len,
                budget=budget,
                device_bytes=device_bytes,
                util=gpu_memory_utilization,
            )
    return fit


def _suggest(
    platform: str,
    tp: int,
    need: int | None,
    largest: int | None = None,
    budget: int | None = None,
    device_bytes: int | None = None,
    util: float = 0.9,
) -> list[str]:
    out = []
    if largest:
        out.append(f"--max-model-len {largest}")
    if need and budget is not None:
        short = need - budget
        if platform == "cpu":
            out.append(f"VLLM_CPU_KVCACHE_SPACE={math.ceil(need / GiB)}")
        elif device_bytes:
            u = min(0.98, util + short / device_bytes)
            if u > util + 0.005:
                out.append(f"--gpu-memory-utilization {math.ceil(u * 100) / 100:.2f}")
    if platform != "cpu":
        out.append(f"--tensor-parallel-size {tp * 2}")
    out.append("--kv-cache-dtype fp8" if platform == "cuda" else "a quantized model")
    return out


__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "KvSpec",
    "MemoryFit",
    "engine_tokens",
    "fit_memory",
    "kv_dtype_bytes",
    "kv_spec",
    "largest_len",
    "sequence_bytes",
    "tokens_in",
]
