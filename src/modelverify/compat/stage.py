"""The compat stage: judge the model folder against the engine and the device, before launch.

Three independent sources, each kept with its evidence: the model folder itself (read by
:mod:`modelverify.compat.model`), the installed engine's model registry, and — on Ascend — vLLM-Ascend's
documented support matrix. Then the memory arithmetic predicts the KV cache the engine will
allocate; after the serve stage the engine's own figure is put next to it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from modelverify.compat.kvcache import GiB, KvSpec, MemoryFit, fit_memory, kv_spec
from modelverify.compat.matrix import (
    ASCEND_QUANTIZATION,
    FP8_QUANTIZATION,
    MatrixMatch,
    MatrixRow,
    hardware_tab,
    load_matrix,
    match_model,
)
from modelverify.compat.model import ModelInfo, load_config, read_model
from modelverify.compat.registry import Registry, engine_registry
from modelverify.errors import ConfigError
from modelverify.results import Model, StageResult, Status

RANK = {Status.PASS: 0, Status.SKIPPED: 0, Status.WARN: 1, Status.FAIL: 2}
MATRIX_STATUS = {
    "supported": Status.PASS,
    "experimental": Status.WARN,
    "untested": Status.WARN,
    "unsupported": Status.FAIL,
}


class Finding(Model):
    subject: str
    status: Status
    reason: str


class Feature(Model):
    """One row of the seed's architecture table: what it is, and whether the target supports it."""

    feature: str
    value: str
    status: Status
    basis: str = ""


VERDICTS = ("supported", "supported with caveats", "unknown", "unsupported")
VERDICT_STATUS = {
    "supported": Status.PASS,
    "supported with caveats": Status.WARN,
    "unknown": Status.WARN,
    "unsupported": Status.FAIL,
}


class Verdict(Model):
    """Can the model run here: one of :data:`VERDICTS`, why, and the source that decided it."""

    word: str
    reason: str
    decided_by: str  # "vLLM-Ascend matrix", "vLLM model registry" or "nothing"
    row: MatrixRow | None = None  # the matrix row, when the matrix decided
    caveats: list[str] = []
    blockers: list[str] = []


# A prediction that reproduces vLLM's own rule (MemoryFit.exact) must land within this of the
# engine's figure; an estimate (device memory, hybrid state pages) has no stated tolerance.
KV_TOLERANCE_PCT = 2.0


class KvCheck(Model):
    predicted_tokens: int
    engine_tokens: int
    error_pct: float
    tolerance_pct: float | None = None  # None: an estimate, never ✅ on its own
    within: bool | None = None


class CompatResult(StageResult):
    stage: str = "compat"
    model: ModelInfo | None = None
    platform: str = "cpu"
    device_name: str | None = None
    device_memory_bytes: int | None = None
    registry: Registry | None = None
    registry_verdict: str | None = None
    matrix_source: str | None = None
    matrix: MatrixMatch | None = None
    matrix_decides: bool = False
    features: list[Feature] = []
    verdict: Verdict | None = None
    kv: KvSpec | None = None
    memory: MemoryFit | None = None
    kv_check: KvCheck | None = None
    findings: list[Finding] = []


def _flag(args: list[str], *names: str) -> str | None:
    from modelverify.serve.supervisor import flag_value

    for n in names:
        v = flag_value(args, n)
        if v is not None:
            return v
    return None


def _has(args: list[str], name: str) -> bool:
    from modelverify.serve.supervisor import has_flag

    return has_flag(args, name)


def _num(value: str | None, kind: type, flag: str) -> Any:
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError as exc:
        raise ConfigError(f"engine flag {flag} {value!r} is not a number: fix the flag") from exc


def _visible(var: str, n: int) -> list[int]:
    raw = os.environ.get(var)
    if not raw:
        return list(range(n))
    out = [int(x) for x in raw.split(",") if x.strip().isdigit()]
    return out or list(range(n))


def device_facts(env: dict[str, Any] | None) -> tuple[str, str | None, int | None]:
    """(platform, device name, memory of one device in bytes) from an env result, or probed."""
    if env is None:
        from modelverify.env.cpu import probe_cpu
        from modelverify.env.stage import _accelerators

        platform, _acc, npu, gpu = _accelerators()
        env = {
            "platform": platform,
            "npu": npu,
            "gpu": gpu,
            "cpu": probe_cpu().model_dump(mode="json"),
        }
    platform = env.get("platform") or "cpu"
    if platform == "npu":
        chips = ((env.get("npu") or {}).get("info") or {}).get("chips") or []
        if chips:
            sel = _visible("ASCEND_RT_VISIBLE_DEVICES", len(chips))
            chip = chips[sel[0]] if sel[0] < len(chips) else chips[0]
            mb = chip.get("hbm_total_mb") or chip.get("memory_total_mb")
            return "npu", chip.get("name"), (mb * 1024 * 1024 if mb else None)
    if platform == "cuda":
        gpus = (env.get("gpu") or {}).get("gpus") or []
        if gpus:
            sel = _visible("CUDA_VISIBLE_DEVICES", len(gpus))
            gpu = gpus[sel[0]] if sel[0] < len(gpus) else gpus[0]
            mib = gpu.get("memory_total_mib")
            return "cuda", gpu.get("name"), (mib * 1024 * 1024 if mib else None)
    cpu = env.get("cpu") or {}
    return "cpu", cpu.get("model_name"), cpu.get("memory_total_bytes")


def _matrix_features(row: Any) -> dict[str, str]:
    return dict(row.features) if row is not None else {}


def _mark(cell: str | None) -> Status:
    if not cell:
        return Status.WARN
    if "✅" in cell:
        return Status.PASS
    if "❌" in cell:
        return Status.FAIL
    return Status.WARN


def build_features(res: CompatResult, info: ModelInfo, args: list[str]) -> list[Feature]:
    on_npu = res.platform == "npu"
    row = res.matrix.deciding if res.matrix else None
    cols = _matrix_features(row)
    rows: list[Feature] = []
    reg_status = {"supported": Status.PASS, "unsupported": Status.FAIL}.get(
        res.registry_verdict or "", Status.WARN
    )
    rows.append(
        Feature(
            feature="architecture",
            value=", ".join(info.architectures),
            status=reg_status,
            basis=f"vLLM registry ({res.registry.method})" if res.registry else "",
        )
    )
    attn = info.attention_kind
    rows.append(
        Feature(
            feature="attention",
            value=attn,
            status=MATRIX_STATUS.get(row.support, Status.WARN) if (on_npu and row) else reg_status,
            basis=f"matrix row {row.model!r} (line {row.line})"
            if (on_npu and row)
            else "served by the registry's model class",
        )
    )
    quant = info.quantization or (info.dtype or "unknown")
    if on_npu and info.quantization:
        method = info.quantization.lower().split()[0]
        hw = res.matrix.hardware if res.matrix else "A2/A3"
        user_quant = _flag(args, "--quantization", "-q")
        if method not in ASCEND_QUANTIZATION:
            qs = Status.FAIL
            basis = f"{info.quantization} is not a vLLM-Ascend quantization method"
        elif method in FP8_QUANTIZATION and hw != "Ascend 950 Products":
            # sources in matrix.FP8_QUANTIZATION: vLLM-Ascend runs FP8 only on Ascend 950
            qs = Status.FAIL
            basis = (
                f"{info.quantization} weights need Ascend 950 (A5): vLLM-Ascend has no FP8 "
                f"kernels on {hw} (vllm-ascend#12826, #1526); use a BF16 or msModelSlim W8A8 "
                "checkpoint"
            )
        elif method == "ascend" and user_quant not in (None, "ascend"):
            # vLLM-Ascend keeps an explicit --quantization over the one it detects
            # (maybe_auto_detect_quantization in vllm_ascend/quantization/utils.py at 182b75ea)
            qs = Status.FAIL
            basis = (
                f"--quantization {user_quant} overrides the msModelSlim description: "
                "pass --quantization ascend"
            )
        elif "w8a8" in info.quantization.lower():
            qs, basis = _mark(cols.get("W8A8")), "matrix column W8A8"
        else:
            qs = Status.WARN
            basis = f"{info.quantization} on Ascend: check vLLM-Ascend's quantization guide"
    elif on_npu:
        qs = (
            _mark(cols.get("BF16"))
            if (info.dtype or "").startswith("bfloat") and cols.get("BF16")
            else Status.PASS
        )
        basis = "matrix column BF16" if cols.get("BF16") else "float weights"
    else:
        qs, basis = (
            Status.PASS,
            "float weights" if not info.quantization else "engine decides at load",
        )
    rows.append(Feature(feature="dtype / quantization", value=quant, status=qs, basis=basis))
    tok = info.tokenizer_class or "unknown"
    rows.append(
        Feature(
            feature="tokenizer / chat template",
            value=f"{tok}; chat template {'yes (' + (info.chat_template_source or '') + ')' if info.chat_template else 'none'}",
            status=Status.PASS
            if info.chat_template or _has(args, "--chat-template")
            else Status.WARN,
            basis="chat template needed for /v1/chat/completions",
        )
    )
    eager = _has(args, "--enforce-eager")
    if on_npu:
        mode = "eager" if eager else "PIECEWISE (ACL Graph)"
        cell = cols.get("Piecewise AclGraph")
        gs = Status.PASS if eager else _mark(cell)
        rows.append(
            Feature(
                feature="graph mode",
                value=mode,
                status=gs,
                basis="matrix column Piecewise AclGraph" if cell else "not listed in the matrix",
            )
        )
    elif res.platform == "cuda":
        rows.append(
            Feature(
                feature="graph mode",
                value="eager" if eager else "CUDA graphs",
                status=Status.PASS,
                basis="vLLM default",
            )
        )
    else:
        rows.append(
            Feature(
                feature="graph mode",
                value="eager" if eager else "torch.compile (CPU)",
                status=Status.PASS,
                basis="vLLM CPU backend",
            )
        )
    tp = _flag(args, "--tensor-parallel-size", "-tp") or "1"
    if on_npu and tp != "1":
        rows.append(
            Feature(
                feature="tensor parallel",
                value=tp,
                status=_mark(cols.get("Tensor Parallel")),
                basis="matrix column Tensor Parallel",
            )
        )
    if info.moe_experts:
        rows.append(
            Feature(
                feature="MoE",
                value=f"{info.moe_experts} experts, {info.moe_experts_per_token} per token",
                status=_mark(cols.get("Expert Parallel"))
                if on_npu and _has(args, "--enable-expert-parallel")
                else Status.PASS,
                basis="matrix column Expert Parallel" if on_npu else "registry model class",
            )
        )
    if info.trust_remote_code_needed:
        rows.append(
            Feature(
                feature="remote code",
                value="auto_map: " + ", ".join(sorted(info.auto_map)),
                status=Status.PASS if _has(args, "--trust-remote-code") else Status.WARN,
                basis="--trust-remote-code given"
                if _has(args, "--trust-remote-code")
                else "add --trust-remote-code after reviewing the code",
            )
        )
    return rows


def support_verdict(res: CompatResult, info: ModelInfo) -> Verdict:
    """The four-word verdict from the deciding source, downgraded by what the features say.

    On Ascend the vLLM-Ascend matrix row decides (and the registry, when read, can still say no);
    elsewhere the installed engine's registry does. A feature the row or the engine marks as
    unsupported makes it ``unsupported``; an experimental/untested row, a row's note, a feature
    not marked supported, or remote code make it ``supported with caveats``.
    """
    caveats: list[str] = []
    blockers: list[str] = []
    base: str | None = None  # "unknown" when no source could decide
    row = res.matrix.deciding if (res.matrix_decides and res.matrix) else None
    if res.matrix_decides:
        decided_by = "vLLM-Ascend matrix"
        if row is None:
            base = "unknown"
            why = f"no row for {info.name} ({info.model_type}) in the vLLM-Ascend matrix"
            hw = res.matrix.hardware if res.matrix else "this hardware"
            why += f" on {hw}"
        else:
            why = f"{row.support} {row.symbol} by {res.matrix.how if res.matrix else ''} (row {row.model!r}, {row.hardware}, line {row.line})"
            if row.support == "unsupported":
                blockers.append(f"matrix row {row.model!r} marks it unsupported")
            elif row.support != "supported":
                caveats.append(f"matrix row {row.model!r} is {row.support}")
            if row.note:
                caveats.append(f"row note: {row.note}")
    elif res.registry is not None:
        decided_by = "vLLM model registry"
        why = res.registry_verdict or "unknown"
        if res.registry_verdict == "unknown":
            base = "unknown"
    else:
        decided_by = "nothing"
        base = "unknown"
        why = "no engine found to read its model registry, and this host is not Ascend"
    if res.registry is not None and info.architectures:
        reasons = [res.registry.verdict(a) for a in info.architectures]
        best = next((v for v in reasons if v[0] == "supported"), reasons[0])
        if decided_by == "vLLM model registry":
            why = best[1]
        if best[0] == "unsupported":
            if info.trust_remote_code_needed:
                caveats.append(f"{best[1]}; the model's own code (auto_map) may register it")
            else:
                blockers.append(best[1])
    for f in res.features:
        if f.feature in ("architecture", "attention"):
            continue  # the registry and the row, counted above
        if f.status == Status.FAIL:
            blockers.append(f"{f.feature} {f.value}: {f.basis}")
        elif f.status == Status.WARN:
            caveats.append(f"{f.feature} {f.value}: {f.basis}")
    if info.trust_remote_code_needed and not any(c.startswith("remote code") for c in caveats):
        caveats.append(
            "remote code: the engine runs the model's own Python (auto_map, --trust-remote-code)"
        )
    if blockers:
        word = "unsupported"
    elif base:
        word = base
    elif caveats:
        word = "supported with caveats"
    else:
        word = "supported"
    reason = why
    if blockers:
        reason += "; " + "; ".join(blockers)
    elif caveats and word != "unknown":
        reason += "; caveats: " + "; ".join(caveats)
    return Verdict(
        word=word,
        reason=reason,
        decided_by=decided_by,
        row=row,
        caveats=caveats,
        blockers=blockers,
    )


def run_compat(
    model_dir: Path,
    *,
    engine_args: list[str] | None = None,
    engine_env: dict[str, str] | None = None,
    engine_python: str | None = None,
    distributions: dict[str, str] | None = None,
    env: dict[str, Any] | None = None,
    registry_mode: str = "auto",
    matrix_path: Path | None = None,
) -> CompatResult:
    t0 = time.monotonic()
    args = list(engine_args or [])
    info = read_model(model_dir)
    res = CompatResult(model=info)
    res.platform, res.device_name, res.device_memory_bytes = device_facts(env)
    findings: list[Finding] = [
        Finding(subject="model folder", status=Status.WARN, reason=w)
        for w in info.warnings
        if not (
            ("chat template" in w and _has(args, "--chat-template"))
            or ("auto_map" in w and _has(args, "--trust-remote-code"))
        )
    ]
    # 1. the engine's registry
    if engine_python:
        res.registry = engine_registry(engine_python, distributions or {}, registry_mode)
        verdicts = [res.registry.verdict(a) for a in info.architectures]
        best = next((v for v in verdicts if v[0] == "supported"), verdicts[0])
        res.registry_verdict = best[0]
        st = {"supported": Status.PASS, "unsupported": Status.FAIL}.get(best[0], Status.WARN)
        if best[0] == "unsupported" and info.trust_remote_code_needed:
            st = Status.WARN  # custom code may register itself through a plugin
        findings.append(Finding(subject="vLLM model registry", status=st, reason=best[1]))
    # 2. vLLM-Ascend's matrix (decides only on Ascend; shown for reference elsewhere)
    matrix = load_matrix(matrix_path)
    res.matrix_source = matrix.source
    tab = hardware_tab(res.device_name) if res.platform == "npu" else None
    res.matrix = match_model(
        matrix,
        info.name,
        info.model_type or info.text_model_type,
        tab or "A2/A3",
        moe=bool(info.moe_experts),
    )
    res.matrix_decides = res.platform == "npu"
    if res.matrix_decides:
        row = res.matrix.deciding
        if row is None:
            findings.append(
                Finding(
                    subject="vLLM-Ascend matrix",
                    status=Status.WARN,
                    reason=f"no row for {info.name} ({info.model_type}) on {res.matrix.hardware}: unknown",
                )
            )
        else:
            findings.append(
                Finding(
                    subject="vLLM-Ascend matrix",
                    status=MATRIX_STATUS.get(row.support, Status.WARN),
                    reason=f"{row.support} {row.symbol} by {res.matrix.how} (row {row.model!r}, {row.hardware}, line {row.line})",
                )
            )
    # 3. memory
    tp = _num(_flag(args, "--tensor-parallel-size", "-tp"), int, "--tensor-parallel-size") or 1
    res.kv = kv_spec(info, _flag(args, "--kv-cache-dtype"), tp)
    env_all = {**os.environ, **(engine_env or {})}
    space = env_all.get("VLLM_CPU_KVCACHE_SPACE")
    res.memory = fit_memory(
        info,
        res.kv,
        platform=res.platform,
        device_bytes=res.device_memory_bytes,
        gpu_memory_utilization=_num(
            _flag(args, "--gpu-memory-utilization"), float, "--gpu-memory-utilization"
        )
        or 0.9,
        kv_cache_memory_bytes=_num(
            _flag(args, "--kv-cache-memory-bytes", "--kv-cache-memory"),
            int,
            "--kv-cache-memory-bytes",
        ),
        cpu_kvcache_space_gib=_num(space, int, "VLLM_CPU_KVCACHE_SPACE") if space else None,
        max_model_len=_num(_flag(args, "--max-model-len"), int, "--max-model-len"),
        block_size=_num(_flag(args, "--block-size"), int, "--block-size"),
        max_num_batched_tokens=_num(
            _flag(args, "--max-num-batched-tokens"), int, "--max-num-batched-tokens"
        ),
    )
    mem = res.memory
    asked = _num(_flag(args, "--max-model-len"), int, "--max-model-len")
    limit = info.max_position_embeddings
    if asked and limit and asked > limit and env_all.get("VLLM_ALLOW_LONG_MAX_MODEL_LEN") != "1":
        # vLLM refuses this before it looks at memory; blaming memory would send the user the
        # wrong way (issue 22: --max-model-len 999999 was reported as a KV-cache shortfall).
        findings.append(
            Finding(
                subject="max model length",
                status=Status.FAIL,
                reason=f"--max-model-len {asked} is above the model's own limit {limit} "
                f"(max_position_embeddings in config.json): vLLM will refuse it; use "
                f"--max-model-len {limit} or less",
            )
        )
    elif mem.weights_do_not_fit:
        findings.append(
            Finding(
                subject="memory",
                status=Status.WARN,
                reason=f"weights ({(mem.weights_bytes_per_rank or 0) / GiB:.1f} GiB per rank) leave no room "
                f"for KV cache ({mem.budget_source}); try " + " or ".join(mem.suggestions),
            )
        )
    elif mem.fits is False:
        findings.append(
            Finding(
                subject="memory",
                status=Status.WARN,
                reason=f"max model length {mem.max_model_len} needs more KV cache than the "
                f"{(mem.budget_bytes or 0) / GiB:.2f} GiB available; try "
                + " or ".join(mem.suggestions),
            )
        )
    elif mem.fits:
        findings.append(
            Finding(
                subject="memory",
                status=Status.PASS,
                reason=f"{mem.predicted_kv_tokens:,} KV tokens predicted, {mem.max_concurrency}x "
                f"concurrency at {mem.max_model_len} tokens",
            )
        )
    res.features = build_features(res, info, args)
    res.findings = findings
    res.verdict = support_verdict(res, info)
    worst = max((f.status for f in findings), key=lambda s: RANK[s], default=Status.PASS)
    vstatus = VERDICT_STATUS[res.verdict.word]
    res.status = max(worst, vstatus, key=lambda s: RANK[s])
    decisive = [f for f in findings if f.status == worst] or findings
    head = f"{', '.join(info.architectures)} ({info.attention_kind}, {info.quantization or info.dtype or 'dtype unspecified'})"
    head += f": {res.verdict.word}"
    res.reason = head + ("; " + "; ".join(f.reason for f in decisive) if decisive else "")
    if RANK[vstatus] > RANK[worst]:
        res.reason += f"; {res.verdict.reason}"
    res.duration_s = time.monotonic() - t0
    return res


def check_kv(res: CompatResult, engine_tokens: int | None) -> KvCheck | None:
    """Put the prediction next to the engine's "KV cache size: N tokens"."""
    if engine_tokens is None or res.memory is None or not res.memory.predicted_kv_tokens:
        return None
    pred = res.memory.predicted_kv_tokens
    err = round(100.0 * (pred - engine_tokens) / engine_tokens, 2) if engine_tokens else 100.0
    tol = KV_TOLERANCE_PCT if res.memory.exact else None
    chk = KvCheck(
        predicted_tokens=pred,
        engine_tokens=engine_tokens,
        error_pct=err,
        tolerance_pct=tol,
        within=None if tol is None else abs(err) <= tol,
    )
    _judge_memory(res, chk)
    return chk


def _judge_memory(res: CompatResult, chk: KvCheck) -> None:
    """The memory finding follows the prediction's error: a passing fit whose prediction missed
    the engine's figure by more than its tolerance (or had none) is a warning, not ✅."""
    if chk.within:
        return
    why = (
        f"predicted {chk.predicted_tokens:,} KV tokens, the engine reported "
        f"{chk.engine_tokens:,} ({chk.error_pct:+.2f}%"
        + (
            f", tolerance ±{chk.tolerance_pct:g}%)"
            if chk.tolerance_pct is not None
            else ", an estimate)"
        )
    )
    changed = False
    for f in res.findings:
        if f.subject == "memory" and f.status == Status.PASS:
            f.status, f.reason, changed = Status.WARN, f"{why}: the memory fit is not proven", True
    if changed and RANK[res.status] < RANK[Status.WARN]:
        res.status = Status.WARN
        res.reason += f"; {why}"


__all__ = [
    "KV_TOLERANCE_PCT",
    "VERDICTS",
    "CompatResult",
    "Feature",
    "Finding",
    "KvCheck",
    "Verdict",
    "check_kv",
    "device_facts",
    "load_config",
    "run_compat",
    "support_verdict",
]
