"""What the engine used while the perf stage loaded it, sampled once a second.

- CPU: the engine's process tree, from ``/proc/<pid>/stat`` (user + system time; 100% is one
  core busy) and its resident memory.
- Ascend: ``npu-smi info`` per chip — AICore % and HBM (or memory on cards without HBM), MB.
- NVIDIA: ``nvidia-smi --query-gpu=…`` (the env stage's fields) — utilisation %, memory MiB.

A failed or missing device tool leaves that part empty with the reason; sampling never stops
the load test. The figures are the tools' own, in their own units.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from types import TracebackType

from modelverify.errors import ParseError
from modelverify.results import Model
from modelverify.serve import procs

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class DeviceUsage(Model):
    device: str
    util_pct: float | None = None
    memory_used: float | None = None
    memory_total: float | None = None


class DeviceSummary(Model):
    device: str
    util_pct_mean: float | None = None
    util_pct_max: float | None = None
    memory_used_max: float | None = None
    memory_total: float | None = None


class UsageSummary(Model):
    samples: int = 0
    interval_s: float = 1.0
    cpu_pct_mean: float | None = None  # engine tree; 100 = one core
    cpu_pct_max: float | None = None
    rss_max_bytes: int | None = None
    device_source: str | None = None  # "npu-smi" / "nvidia-smi"
    memory_unit: str | None = None  # "MB" (npu-smi) / "MiB" (nvidia-smi)
    devices: list[DeviceSummary] = []
    device_error: str | None = None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of one process, or None when it is gone."""
    try:
        stat = (procs.PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its last ')'
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return (int(fields[11]) + int(fields[12])) / _TICK
    except (IndexError, ValueError):
        return None


def read_npu(text: str) -> list[DeviceUsage]:
    from modelverify.env.npu_smi import parse_npu_smi

    out = []
    for c in parse_npu_smi(text).chips:
        used, total = (
            (c.hbm_used_mb, c.hbm_total_mb)
            if c.hbm_total_mb
            else (c.memory_used_mb, c.memory_total_mb)
        )
        name = f"NPU {c.npu_id}" + (f" chip {c.chip_id}" if c.chip_id is not None else "")
        out.append(
            DeviceUsage(device=name, util_pct=c.aicore_pct, memory_used=used, memory_total=total)
        )
    return out


def read_gpu_csv(text: str) -> list[DeviceUsage]:
    """The env stage's ``--query-gpu`` CSV (``GPU_FIELDS``) as usage rows."""
    from modelverify.env.nvidia_smi import parse_query_gpu_csv

    return [
        DeviceUsage(
            device=f"GPU {g.index}",
            util_pct=g.util_pct,
            memory_used=g.memory_used_mib,
            memory_total=g.memory_total_mib,
        )
        for g in parse_query_gpu_csv(text)
    ]


def _device_reader(platform: str) -> tuple[str, str, Callable[[], list[DeviceUsage]]] | None:
    if platform == "npu" and (exe := shutil.which("npu-smi")):
        cmd, parse, src, unit = [exe, "info"], read_npu, "npu-smi", "MB"
    elif platform == "cuda" and (exe := shutil.which("nvidia-smi")):
        from modelverify.env.nvidia_smi import GPU_FIELDS

        cmd = [exe, f"--query-gpu={GPU_FIELDS}", "--format=csv,noheader,nounits"]
        parse, src, unit = read_gpu_csv, "nvidia-smi", "MiB"
    else:
        return None

    def read() -> list[DeviceUsage]:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
        if res.returncode != 0:
            raise ParseError(f"{src} exited {res.returncode}: {res.stderr.strip()[:200]}")
        return parse(res.stdout)

    return src, unit, read


class UsageSampler:
    """A background thread sampling the engine's tree (``pid``) and the devices of
    ``platform`` every ``interval_s`` while the ``with`` block runs."""

    def __init__(self, pid: int | None, platform: str, interval_s: float = 1.0):
        self.pid, self.interval_s = pid, interval_s
        self._reader = _device_reader(platform)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="usage-sampler", daemon=True)
        self.cpu_pct: list[float] = []
        self.rss: list[int] = []
        self.devices: list[list[DeviceUsage]] = []
        self.device_error: str | None = None

    def __enter__(self) -> UsageSampler:
        self._thread.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def _tree_cpu(self) -> dict[int, float]:
        if self.pid is None:
            return {}
        pids = [self.pid, *procs.descendants(self.pid)]
        return {p: s for p in pids if (s := cpu_seconds(p)) is not None}

    def _loop(self) -> None:
        last, t_last = self._tree_cpu(), time.monotonic()
        while not self._stop.wait(self.interval_s):
            now, t = self._tree_cpu(), time.monotonic()
            if self.pid is not None and now:
                busy = sum(s - last[p] for p, s in now.items() if p in last)
                self.cpu_pct.append(100.0 * busy / max(t - t_last, 1e-6))
                self.rss.append(sum(procs.rss_bytes(p) for p in now))
            last, t_last = now, t
            if self._reader is not None and self.device_error is None:
                try:
                    self.devices.append(self._reader[2]())
                except (OSError, subprocess.TimeoutExpired, ParseError) as exc:
                    self.device_error = f"{type(exc).__name__}: {exc}"

    def summary(self) -> UsageSummary:
        s = UsageSummary(
            samples=max(len(self.cpu_pct), len(self.devices)),
            interval_s=self.interval_s,
            device_error=self.device_error,
        )
        if self.cpu_pct:
            s.cpu_pct_mean = sum(self.cpu_pct) / len(self.cpu_pct)
            s.cpu_pct_max = max(self.cpu_pct)
            s.rss_max_bytes = max(self.rss)
        if self._reader is not None:
            s.device_source, s.memory_unit = self._reader[0], self._reader[1]
        names = [d.device for d in (self.devices[0] if self.devices else [])]
        for name in names:
            rows = [d for sample in self.devices for d in sample if d.device == name]
            util = [d.util_pct for d in rows if d.util_pct is not None]
            mem = [d.memory_used for d in rows if d.memory_used is not None]
            s.devices.append(
                DeviceSummary(
                    device=name,
                    util_pct_mean=sum(util) / len(util) if util else None,
                    util_pct_max=max(util) if util else None,
                    memory_used_max=max(mem) if mem else None,
                    memory_total=rows[-1].memory_total if rows else None,
                )
            )
        return s


__all__ = [
    "DeviceSummary",
    "DeviceUsage",
    "UsageSampler",
    "UsageSummary",
    "cpu_seconds",
    "read_gpu_csv",
    "read_npu",
]
