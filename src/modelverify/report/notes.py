"""Two seed lines filled from recorded results: the perf summary's device-memory row and the
accuracy section's 注 (settings and how comparable the score is).

A figure that was not recorded shows "—" and says why; nothing here is estimated.
"""

from __future__ import annotations

from typing import Any

from modelverify.report.i18n import strings

D = dict[str, Any]


def _platform(serve: D | None, env: D | None) -> str:
    plat = (env or {}).get("platform")
    if plat in ("npu", "cuda", "cpu"):
        return str(plat)
    src = (serve or {}).get("device_memory_source")
    return {"npu-smi": "npu", "nvidia-smi": "cuda"}.get(src or "", "cpu")


def _capacity_mib(plat: str, device: str, env: D | None) -> int | None:
    """The device's total memory from the env stage's table, matched on the serve stage's
    device label ("NPU 3 chip 0 = device 3" / "GPU 1")."""
    if plat == "npu":
        npu = (env or {}).get("npu") or {}
        for c in (npu.get("info") or npu).get("chips") or []:
            if device.startswith(f"NPU {c.get('npu_id')} chip {c.get('chip_id')}"):
                total = c.get("hbm_total_mb") or c.get("memory_total_mb")
                return int(total) if total else None
    if plat == "cuda":
        for g in ((env or {}).get("gpu") or {}).get("gpus") or []:
            if device == f"GPU {g.get('index')}" and g.get("memory_total_mib"):
                return int(g["memory_total_mib"])
    return None


def _with_total(used: float, total: float | None, unit: str, fmt: str) -> str:
    if not total:
        return fmt.format(used) + f" {unit}"
    return fmt.format(used) + f" / {fmt.format(total)} {unit} ({used / total:.1%})"


def _utilisation(usage: D | None, t: dict[str, str]) -> str:
    """The note's utilisation clause, from the perf stage's samples under load."""
    u = usage or {}
    devs = [
        f"{d['device']} {d['util_pct_mean']:.0f}% / {d['util_pct_max']:.0f}%"
        for d in u.get("devices") or []
        if d.get("util_pct_mean") is not None
    ]
    if devs:
        return t["mem_util_dev"].format(devs=", ".join(devs))
    if u.get("cpu_pct_mean") is not None:
        return t["mem_util_cpu"].format(mean=u["cpu_pct_mean"], max=u["cpu_pct_max"])
    return t["mem_util_none"]


def memory_row(serve: D | None, env: D | None, lang: str, usage: D | None = None) -> list[Any]:
    """[label, value, note] of the perf summary's seed row "NPU 利用率 / HBM 占用", labelled for
    the device kind: HBM on NPU, GPU memory on CUDA, the engine's RSS on CPU; the note adds the
    utilisation sampled under load when the perf stage has it."""
    t = strings(lang)
    plat = _platform(serve, env)
    label = t[f"mem_label_{plat}"]
    if serve is None:
        return [label, "—", t["mem_no_serve"]]
    if plat == "cpu":
        rss = serve.get("memory_total_bytes")
        if not isinstance(rss, int):
            return [label, "—", t["mem_no_rss"]]
        host = ((env or {}).get("cpu") or {}).get("memory_total_bytes")
        value = _with_total(rss / 2**30, host / 2**30 if host else None, "GiB", "{:.2f}")
        cpu_note = t["mem_cpu_note"].format(n=len(serve.get("memory") or []))
        return [label, value, cpu_note + _utilisation(usage, t)]
    rows = serve.get("device_memory") or []
    ours = [r for r in rows if r.get("ours") and isinstance(r.get("memory_mib"), int)]
    src = serve.get("device_memory_source") or ("npu-smi" if plat == "npu" else "nvidia-smi")
    if not ours:
        note = serve.get("device_memory_note")
        why = t["quoted"] + note if note else t["mem_not_recorded"].format(src=src)
        return [label, "—", t["mem_dev_missing"].format(src=src) + why]
    per_dev: dict[str, int] = {}
    for r in ours:
        per_dev[r["device"]] = per_dev.get(r["device"], 0) + r["memory_mib"]
    value = "; ".join(
        f"{d}: " + _with_total(m, _capacity_mib(plat, d, env), "MiB", "{:,}")
        for d, m in per_dev.items()
    )
    return [label, value, t["mem_dev_note"].format(src=src, n=len(ours)) + _utilisation(usage, t)]


def accuracy_note(acc: D, lang: str) -> str:
    """The seed's 注 line under the accuracy conclusion, from the recorded settings."""
    t = strings(lang)
    cfg = acc.get("config") or {}
    n = acc.get("answered") or 0
    scope = (
        t["an_first"].format(n=acc.get("items") or n)
        if cfg.get("limit")
        else t["an_all"].format(n=acc.get("items") or n)
    )
    temp = cfg.get("temperature")
    sampling = t["an_greedy"] if temp == 0 else t["an_sampled"]
    if cfg.get("seed") is not None:
        sampling += t["an_seeded"].format(seed=cfg["seed"])
    parts = [
        t["an_settings"].format(
            ds=acc.get("dataset_name") or "GSM8K",
            scope=scope,
            api="chat" if cfg.get("api") == "chat" else "completions",
            mt=cfg.get("max_tokens"),
            temp=temp,
            tp=cfg.get("top_p"),
            sampling=sampling,
        )
    ]
    ours, ais = acc.get("accuracy"), acc.get("aisbench_accuracy")
    if isinstance(ours, (int, float)) and isinstance(ais, (int, float)):
        diff = (ours - ais) * 100
        cmp = t["an_same"] if abs(diff) < 1e-9 else t["an_diff"].format(d=diff)
        parts.append(t["an_ais"].format(ours=ours, ais=ais, cmp=cmp))
    lo, hi = acc.get("ci_low"), acc.get("ci_high")
    if isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
        ci = t["an_ci"].format(lo=lo, hi=hi, n=n, hw=(hi - lo) * 50)
        # the normal-approximation size is only meaningful when it exceeds what we already ran
        need = acc.get("items_for_2pt")
        if isinstance(need, int) and need > n and (hi - lo) * 50 > 2:
            ci += t["an_need"].format(need=acc["items_for_2pt"])
        parts.append(ci)
    ref = cfg.get("reference_accuracy")
    diffs = cfg.get("reference_differences") or []
    if ref is None:
        parts.append(t["an_noref"])
    elif diffs:
        parts.append(t["an_ref_diff"].format(ref=ref) + t["quoted"] + "; ".join(diffs))
    else:
        src = cfg.get("reference_source")
        parts.append(
            t["an_ref_same"].format(ref=ref) + ((t["quoted"] + src) if src else t["acc_ref_given"])
        )
    return t["an_prefix"] + t["an_sep"].join(parts)


__all__ = ["accuracy_note", "memory_row"]
