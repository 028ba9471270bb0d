"""One conclusion line per judged device, in the report's language, from the env stage's record.

The env stage judges each selected chip or GPU (a ``Finding`` with an English reason); the line
here is rebuilt from the parsed npu-smi / nvidia-smi tables, so that the Chinese report says it in
Chinese. Only the devices the stage judged are listed: those ASCEND_RT_VISIBLE_DEVICES or
CUDA_VISIBLE_DEVICES selects, or all of them.
"""

from __future__ import annotations

import re
from typing import Any

D = dict[str, Any]

T: dict[str, dict[str, str]] = {
    "zh": {
        "chip": " 芯片 {chip}",
        "device": " = 设备 {dev}",
        "ok_hbm": "健康 OK,HBM {used}/{total} MB",
        "ok_mem": "健康 OK,内存 {used}/{total} MB",
        "health": "健康 {health}({meaning})",
        "held_npu": "健康 {health},已被其他进程占用 {mb} MB ({procs})",
        "temp": "健康 {health},温度 {temp} °C,已达 85 °C",
        "ok_gpu": "已用显存 {used}/{total} MiB",
        "held_gpu": "已被其他进程占用 {mib} MiB ({procs})",
        "held_gpu_na": "已被其他进程占用,显存用量未知 ({procs})",
        "temp_gpu": "温度 {temp} °C,已达 85 °C",
        "selection": "设备选择",
        "Warning": "一般告警",
        "Alarm": "重要告警",
        "Critical": "紧急告警",
        "UNKNOWN": "设备不存在或未启动",
        "other": "npu-smi 报告的状态",
    },
    "en": {
        "chip": " chip {chip}",
        "device": " = device {dev}",
        "ok_hbm": "Health OK, HBM {used}/{total} MB",
        "ok_mem": "Health OK, memory {used}/{total} MB",
        "health": "Health {health} ({meaning})",
        "held_npu": "Health {health}, {mb} MB already held by other processes ({procs})",
        "temp": "Health {health}, temperature {temp} °C, at or above 85 °C",
        "ok_gpu": "{used}/{total} MiB in use",
        "held_gpu": "{mib} MiB already held by other processes ({procs})",
        "held_gpu_na": "held by other processes, memory use not reported ({procs})",
        "temp_gpu": "temperature {temp} °C, at or above 85 °C",
        "selection": "device selection",
        # npu-smi's own words (npu-smi info -t health: 一般/重要/紧急告警, 不存在或未启动)
        "Warning": "minor alarm",
        "Alarm": "major alarm",
        "Critical": "critical alarm",
        "UNKNOWN": "device absent or not started",
        "other": "as npu-smi reports it",
    },
}


def _t(lang: str) -> dict[str, str]:
    return T["en" if lang == "en" else "zh"]


def _n(v: Any) -> str:
    return f"{v:,}" if isinstance(v, int) else ("?" if v is None else str(v))


# The env stage's findings about devices; every other subject (vllm, vllm-ascend, CANN, torch,
# "vllm / vllm-ascend", "Ascend driver", ...) is about the software stack.
DEVICE_SUBJECTS = ("selection", "accelerator", "npu-smi", "nvidia-smi")


def is_device(finding: D) -> bool:
    subject = str(finding.get("subject", ""))
    return subject in DEVICE_SUBJECTS or subject.startswith(("NPU ", "GPU "))


def _finding(findings: list[D], prefix: str) -> D | None:
    return next((f for f in findings if str(f.get("subject", "")).startswith(prefix)), None)


def _strangers(procs: list[D], finding: D) -> list[D]:
    """The device's processes the stage counted as someone else's (its finding's ``held_by``;
    the engine's own pids are never in it, so they are left out here too)."""
    held_by = set(finding.get("held_by") or [])
    return [p for p in procs if p.get("pid") in held_by]


def _procs(procs: list[D], mem_key: str, unit: str) -> str:
    return ", ".join(
        f"pid {p.get('pid')} {p.get('name') or '?'}"
        + ("" if len(procs) == 1 or p.get(mem_key) is None else f" {_n(p.get(mem_key))} {unit}")
        for p in procs
    )


def _npu_lines(env: D, findings: list[D], lang: str) -> list[tuple[str, str]]:
    t = _t(lang)
    info = (env.get("npu") or {}).get("info") or env.get("npu") or {}
    chips = info.get("chips") or []
    out = []
    for c in chips:
        f = _finding(findings, f"NPU {c.get('npu_id')} chip {c.get('chip_id')} (")
        if f is None:
            continue  # not selected, so not judged
        npu = c.get("npu_id")
        several = sum(1 for o in chips if o.get("npu_id") == npu) > 1
        name = f"NPU {npu}" + (t["chip"].format(chip=c.get("chip_id")) if several else "")
        name += f" ({c.get('name')})"
        dev = re.search(r"= device (\d+)$", str(f.get("subject")))
        if dev:
            name += t["device"].format(dev=dev.group(1))
        health = str(c.get("health") or "?")
        procs = [
            p
            for p in info.get("processes") or []
            if (p.get("npu_id"), p.get("chip_id")) == (npu, c.get("chip_id"))
        ]
        held = _strangers(procs, f)
        if (
            health.strip().upper().replace("0", "O") != "OK"
        ):  # "0K": a typed OK, as the stage reads it
            word = health.strip().capitalize() if health.strip().upper() != "UNKNOWN" else "UNKNOWN"
            text = t["health"].format(health=health, meaning=t.get(word, t["other"]))
        elif held:
            mb = sum(p.get("memory_mb") or 0 for p in held)
            text = t["held_npu"].format(
                health=health, mb=_n(mb), procs=_procs(held, "memory_mb", "MB")
            )
        elif _hot(f):
            text = t["temp"].format(health=health, temp=c.get("temp_c"))
        elif c.get("hbm_total_mb"):
            text = t["ok_hbm"].format(used=_n(c.get("hbm_used_mb")), total=_n(c["hbm_total_mb"]))
        else:
            text = t["ok_mem"].format(
                used=_n(c.get("memory_used_mb")), total=_n(c.get("memory_total_mb"))
            )
        out.append((str(f.get("status")), f"{name}: {text}"))
    return out


def _hot(f: D) -> bool:
    """Whether the finding is a temperature warning: its ``hot_c``; an env.json written before
    that field existed says so only in its reason."""
    if f.get("hot_c") is not None:
        return True
    return "hot_c" not in f and f.get("status") == "warn" and "temperature" in str(f.get("reason"))


def _gpu_lines(env: D, findings: list[D], lang: str) -> list[tuple[str, str]]:
    t = _t(lang)
    gpu = env.get("gpu") or {}
    out = []
    for g in gpu.get("gpus") or []:
        f = _finding(findings, f"GPU {g.get('index')} (")
        if f is None:
            continue
        procs = [p for p in gpu.get("processes") or [] if p.get("gpu") == g.get("index")]
        held = _strangers(procs, f)
        if held:
            known = [p.get("memory_mib") for p in held if p.get("memory_mib") is not None]
            listed = _procs(held, "memory_mib", "MiB")
            text = (
                t["held_gpu"].format(mib=_n(sum(known)), procs=listed)
                if known
                else t["held_gpu_na"].format(procs=listed)
            )
        elif _hot(f):
            text = t["temp_gpu"].format(temp=g.get("temp_c"))
        else:
            text = t["ok_gpu"].format(
                used=_n(g.get("memory_used_mib")), total=_n(g.get("memory_total_mib"))
            )
        out.append((str(f.get("status")), f"GPU {g.get('index')} ({g.get('name')}): {text}"))
    return out


def device_lines(env: D, lang: str) -> list[tuple[str, str]]:
    """(status, text) for each device the env stage judged, in table order."""
    findings = env.get("findings") or []
    if env.get("platform") == "npu":
        return _npu_lines(env, findings, lang)
    if env.get("platform") == "cuda":
        return _gpu_lines(env, findings, lang)
    return []


def selection_name(lang: str) -> str:
    return _t(lang)["selection"]


__all__ = ["DEVICE_SUBJECTS", "device_lines", "is_device", "selection_name"]
