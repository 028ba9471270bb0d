"""The env stage: what accelerator and software this run is on, and whether it is healthy."""

from __future__ import annotations

import os
import platform
import socket
import time
from typing import Any

from modelverify.env.ascend_compat import check_stack
from modelverify.env.cpu import CpuInfo, probe_cpu
from modelverify.env.versions import Versions, probe_versions
from modelverify.results import Model, StageResult, Status

SELECTION_VARS = (
    "ASCEND_RT_VISIBLE_DEVICES",
    "CUDA_VISIBLE_DEVICES",
    "VLLM_CPU_KVCACHE_SPACE",
    "VLLM_CPU_OMP_THREADS_BIND",
)


class Finding(Model):
    """One judgement: what it is about, how it stands and why."""

    subject: str
    status: Status
    reason: str
    # pids of the processes (not the engine's) found holding the device's memory; the report
    # lists them from here rather than reading them back out of the reason text
    held_by: list[int] = []
    # the temperature (°C) that made it a warning, for the report's device line
    hot_c: float | None = None


class EnvResult(StageResult):
    stage: str = "env"
    hostname: str = ""
    os: str = ""
    python: str = ""
    platform: str = "cpu"
    accelerator: str | None = None
    device_selection: dict[str, str] = {}
    cpu: CpuInfo | None = None
    versions: Versions | None = None
    npu: dict[str, Any] | None = None
    gpu: dict[str, Any] | None = None
    findings: list[Finding] = []


def _accelerators() -> tuple[str, str | None, dict[str, Any] | None, dict[str, Any] | None]:
    """(platform, accelerator summary, npu-smi facts, nvidia-smi facts) for this host."""
    npu: dict[str, Any] | None = None
    gpu: dict[str, Any] | None = None
    try:
        from modelverify.env.npu_smi import query_npu_smi

        q = query_npu_smi()
        if q is not None:
            npu = q.model_dump(mode="json")
    except ImportError:
        pass
    try:
        from modelverify.env.nvidia_smi import query_nvidia_smi

        g = query_nvidia_smi()
        if g is not None:
            gpu = g.model_dump(mode="json")
    except ImportError:
        pass
    if npu is not None:
        return "npu", "Ascend NPU (npu-smi)", npu, gpu
    if gpu is not None:
        return "cuda", "NVIDIA GPU (nvidia-smi)", npu, gpu
    return "cpu", None, npu, gpu


def logical_id(chip: dict[str, Any], mapping: list[dict[str, Any]]) -> int:
    """The device number ASCEND_RT_VISIBLE_DEVICES and torch_npu use for a chip.

    That is the "Chip Logic ID" of ``npu-smi info -m``. Without that table: the ``Device``
    column of 310P cards, the ``Phy-ID`` of Atlas A3 chips, else the NPU id, which equals the
    logic id where every NPU has one chip (910B)."""
    for m in mapping:
        same = (m.get("npu_id"), m.get("chip_id")) == (chip.get("npu_id"), chip.get("chip_id"))
        if same and m.get("logic_id") is not None:
            return int(m["logic_id"])
    for key in ("device_id", "phy_id"):
        if chip.get(key) is not None:
            return int(chip[key])
    return int(chip["npu_id"])


def _by_position(
    selected: set[str], chips: list[dict[str, Any]], ids: dict[int, str]
) -> dict[int, str] | None:
    """Chip -> logical id, counting the listed chips from 0, if that explains every selected id.

    CANN documents ASCEND_RT_VISIBLE_DEVICES as logical ids, 0..N-1 over the devices of the
    "physical machine, VM or container" (envref ASCEND_RT_VISIBLE_DEVICES / ASCEND_DEVICE_ID),
    while npu-smi in a container still prints physical NPU ids. Without the ``npu-smi info -m``
    table the best reading is by position, in the order of the ids npu-smi implies."""
    if not chips or not all(s.isdigit() for s in selected):
        return None
    order = sorted(chips, key=lambda c: (int(ids[id(c)]), c.get("npu_id") or 0))
    if max(int(s) for s in selected) >= len(order):
        return None
    return {id(c): str(i) for i, c in enumerate(order)}


def _health_ok(health: str) -> bool:
    # "0K" (a zero) appears in pastes typed by hand; npu-smi itself prints "OK".
    return health.strip().upper().replace("0", "O") == "OK"


def judge_npu(
    info: dict[str, Any],
    visible: str | None,
    engine_pids: set[int] | None = None,
    mapping: list[dict[str, Any]] | None = None,
) -> list[Finding]:
    """Per chip: health, temperature, memory held by processes that are not ours.

    ``visible`` (ASCEND_RT_VISIBLE_DEVICES) names logical device ids, which are not the NPU ids
    on cards with two chips (Atlas A3, 300I Duo): see :func:`logical_id`."""
    out: list[Finding] = []
    chips = info.get("chips") or []
    mapping = mapping or []
    selected = None if visible is None else {v.strip() for v in visible.split(",") if v.strip()}
    ids = {id(c): str(logical_id(c, mapping)) for c in chips}
    if selected is not None:
        known = set(ids.values())
        missing = sorted(selected - known, key=lambda x: (len(x), x))
        by_position = None if mapping else _by_position(selected, chips, ids)
        if missing and by_position is not None:
            ids = by_position
            out.append(
                Finding(
                    subject="selection",
                    status=Status.WARN,
                    reason=f"ASCEND_RT_VISIBLE_DEVICES={visible} names {', '.join(missing)}, "
                    "which npu-smi does not list; read as logical ids, which number the "
                    "devices this process can see from 0 in order (a container that mounts "
                    "only some NPUs lists their physical ids): "
                    + ", ".join(
                        f"device {ids[id(c)]} = NPU {c.get('npu_id')} chip {c.get('chip_id')}"
                        for c in chips
                        if ids[id(c)] in selected
                    )
                    + "; `npu-smi info -m` would confirm it",
                )
            )
        elif missing:
            out.append(
                Finding(
                    subject="selection",
                    status=Status.FAIL,
                    reason=f"ASCEND_RT_VISIBLE_DEVICES={visible} names {', '.join(missing)}, "
                    f"not on this host (devices: "
                    f"{', '.join(sorted(known, key=lambda x: (len(x), x)))})",
                )
            )
    for c in chips:
        if selected is not None and ids[id(c)] not in selected:
            continue
        name = f"NPU {c.get('npu_id')} chip {c.get('chip_id')} ({c.get('name')})"
        several = sum(1 for o in chips if o.get("npu_id") == c.get("npu_id")) > 1
        if several or ids[id(c)] != str(c.get("npu_id")):
            # on a card with two chips the NPU id never names a device by itself
            name += f" = device {ids[id(c)]}"
        health = c.get("health") or "?"
        procs = [
            p
            for p in info.get("processes") or []
            if p.get("npu_id") == c.get("npu_id")
            and p.get("chip_id") == c.get("chip_id")
            and p.get("pid") not in (engine_pids or set())
        ]
        if not _health_ok(health):
            # npu-smi: Warning 一般告警, Alarm 重要告警, Critical 紧急告警, UNKNOWN: the device is
            # absent or not started (npu-smi info -t health, Atlas 200I A2 npusmi_028)
            status = (
                Status.FAIL
                if health.strip().capitalize() in ("Alarm", "Critical", "Unknown")
                else Status.WARN
            )
            out.append(Finding(subject=name, status=status, reason=f"{name}: Health {health}"))
        elif procs:
            held = ", ".join(
                f"pid {p.get('pid')} {p.get('name') or '?'} {p.get('memory_mb')} MB" for p in procs
            )
            out.append(
                Finding(
                    subject=name,
                    status=Status.WARN,
                    reason=f"{name}: memory already held by other processes ({held})",
                    held_by=[int(p["pid"]) for p in procs if p.get("pid") is not None],
                )
            )
        elif (c.get("temp_c") or 0) >= 85:
            out.append(
                Finding(
                    subject=name,
                    status=Status.WARN,
                    reason=f"{name}: temperature {c.get('temp_c')} C",
                    hot_c=c.get("temp_c"),
                )
            )
        else:
            hbm = (
                f", HBM {c.get('hbm_used_mb')}/{c.get('hbm_total_mb')} MB"
                if c.get("hbm_total_mb")
                else ""
            )
            out.append(Finding(subject=name, status=Status.PASS, reason=f"{name}: Health OK{hbm}"))
    return out


def _cuda_selection(visible: str, gpus: list[dict[str, Any]]) -> tuple[list[int], list[str]]:
    """(selected GPU indices, entries that name no GPU) for CUDA_VISIBLE_DEVICES.

    CUDA reads the list in order and stops at the first invalid entry; entries are indices or
    GPU UUIDs (``GPU-…``; a unique prefix is enough). MIG instances (``MIG-…``) are not GPUs of
    the table and are reported as unknown here."""
    chosen: list[int] = []
    bad: list[str] = []
    for tok in (t.strip() for t in visible.split(",")):
        if not tok:
            continue
        if tok.lstrip("-").isdigit():
            idx = int(tok)
            hit = [g["index"] for g in gpus if g.get("index") == idx]
        else:
            hit = [g["index"] for g in gpus if str(g.get("uuid") or "").startswith(tok)]
        if len(hit) != 1:
            bad.append(tok)
            break  # CUDA ignores everything after the first entry it cannot use
        chosen.append(hit[0])
    return chosen, bad


def judge_gpu(
    info: dict[str, Any], visible: str | None, engine_pids: set[int] | None = None
) -> list[Finding]:
    """Per GPU: memory already held by processes that are not ours, temperature; and whether
    CUDA_VISIBLE_DEVICES names GPUs that exist."""
    out: list[Finding] = []
    gpus = info.get("gpus") or []
    selected: set[int] | None = None
    if visible is not None:
        chosen, bad = _cuda_selection(visible, gpus)
        selected = set(chosen)
        if bad or not chosen:
            known = ", ".join(
                f"{g.get('index')}" + (f" ({g.get('uuid')})" if g.get("uuid") else "") for g in gpus
            )
            out.append(
                Finding(
                    subject="selection",
                    status=Status.FAIL,
                    reason=f"CUDA_VISIBLE_DEVICES={visible}: "
                    + (f"{bad[0]} names no single GPU of this host" if bad else "selects no GPU")
                    + f" (GPUs: {known or 'none'}); CUDA ignores the entries after it",
                )
            )
    for g in gpus:
        if selected is not None and g.get("index") not in selected:
            continue
        name = f"GPU {g.get('index')} ({g.get('name')})"
        procs = [
            p
            for p in info.get("processes") or []
            if p.get("gpu") == g.get("index") and p.get("pid") not in (engine_pids or set())
        ]
        mem = f"{g.get('memory_used_mib')}/{g.get('memory_total_mib')} MiB"
        if procs:
            held = ", ".join(
                f"pid {p.get('pid')} {p.get('name') or '?'} "
                + (f"{p.get('memory_mib')} MiB" if p.get("memory_mib") is not None else "N/A")
                for p in procs
            )
            out.append(
                Finding(
                    subject=name,
                    status=Status.WARN,
                    reason=f"{name}: memory already held by other processes ({held}); {mem}",
                    held_by=[int(p["pid"]) for p in procs if p.get("pid") is not None],
                )
            )
        elif (g.get("temp_c") or 0) >= 85:
            out.append(
                Finding(
                    subject=name,
                    status=Status.WARN,
                    reason=f"{name}: temperature {g.get('temp_c')} C",
                    hot_c=g.get("temp_c"),
                )
            )
        else:
            out.append(Finding(subject=name, status=Status.PASS, reason=f"{name}: {mem} in use"))
    return out


def judge_versions(platform_name: str, versions: Versions, attached: bool = False) -> list[Finding]:
    out: list[Finding] = []
    vllm = versions.get("vllm") or versions.get("vllm-cpu")
    if vllm:
        out.append(Finding(subject="vllm", status=Status.PASS, reason=f"vLLM {vllm} installed"))
    elif attached:
        # The server we attach to may run in another environment or on another host.
        out.append(
            Finding(
                subject="vllm",
                status=Status.WARN,
                reason="vLLM is not installed in this Python; attached to a running server, so "
                "its versions are not known here (pass --engine-python to read them)",
            )
        )
    else:
        out.append(
            Finding(
                subject="vllm",
                status=Status.FAIL,
                reason="vLLM is not installed in the engine's Python",
            )
        )
    if platform_name == "npu":
        va = versions.get("vllm-ascend")
        out.append(
            Finding(
                subject="vllm-ascend",
                status=Status.PASS if va else Status.FAIL,
                reason=f"vLLM-Ascend {va} installed" if va else "vllm-ascend is not installed",
            )
        )
        if versions.driver_version:
            out.append(
                Finding(
                    subject="Ascend driver",
                    status=Status.PASS,
                    reason=f"Ascend driver {versions.driver_version} "
                    "(/usr/local/Ascend/driver/version.info)",
                )
            )
        if versions.cann_version is None:
            out.append(Finding(subject="CANN", status=Status.FAIL, reason="CANN toolkit not found"))
        elif not versions.cann_env_sourced:
            out.append(
                Finding(
                    subject="CANN",
                    status=Status.WARN,
                    reason="CANN is installed but its environment is not sourced: run "
                    "`source /usr/local/Ascend/ascend-toolkit/set_env.sh`",
                )
            )
        out += [Finding(subject=a, status=b, reason=c) for a, b, c in check_stack(versions)]
    return out


def run_env(engine_python: str | None, *, attached: bool = False) -> EnvResult:
    t0 = time.monotonic()
    plat, accel, npu, gpu = _accelerators()
    cpu = probe_cpu()
    versions = probe_versions(engine_python)
    findings: list[Finding] = []
    if plat == "cpu":
        findings.append(
            Finding(
                subject="accelerator",
                status=Status.PASS,
                reason=f"no accelerator found (no npu-smi, no nvidia-smi); CPU host: "
                f"{cpu.model_name or cpu.architecture}, {cpu.logical_cores} logical cores, "
                f"{cpu.isa_class}",
            )
        )
    if plat == "npu" and npu is not None:
        if npu.get("info"):
            findings += judge_npu(
                npu["info"],
                os.environ.get("ASCEND_RT_VISIBLE_DEVICES"),
                mapping=npu.get("mapping") or [],
            )
        elif npu.get("error"):
            findings.append(
                Finding(
                    subject="npu-smi", status=Status.WARN, reason=f"npu-smi failed: {npu['error']}"
                )
            )
    if plat == "cuda" and gpu is not None:
        if gpu.get("gpus"):
            findings += judge_gpu(gpu, os.environ.get("CUDA_VISIBLE_DEVICES"))
        elif gpu.get("error"):
            findings.append(
                Finding(
                    subject="nvidia-smi",
                    status=Status.WARN,
                    reason=f"nvidia-smi failed: {gpu['error']}",
                )
            )
    findings += judge_versions(plat, versions, attached)
    worst = max((f.status for f in findings), key=_rank, default=Status.PASS)
    result = EnvResult(
        hostname=socket.gethostname(),
        os=platform.platform(),
        python=platform.python_version(),
        platform=plat,
        accelerator=accel,
        device_selection={k: os.environ[k] for k in SELECTION_VARS if k in os.environ},
        cpu=cpu,
        versions=versions,
        npu=npu,
        gpu=gpu,
        findings=findings,
        status=worst,
        reason="; ".join(f.reason for f in findings if f.status == worst),
    )
    result.duration_s = time.monotonic() - t0
    return result


def _rank(s: Status) -> int:
    return {Status.PASS: 0, Status.SKIPPED: 1, Status.WARN: 2, Status.FAIL: 3}[s]


__all__ = ["EnvResult", "Finding", "run_env"]
