"""CPU and memory facts from /proc, the ones that matter to vLLM's CPU backend."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

from modelverify.results import Model

# ISA extensions vLLM's CPU backend picks kernels by (AVX-512 and AMX paths are much faster).
ISA_FLAGS = (
    "avx2",
    "avx512f",
    "avx512_bf16",
    "avx512_vnni",
    "avx512bw",
    "amx_bf16",
    "amx_int8",
    "amx_tile",
    "asimd",
    "sve",
)


class CpuInfo(Model):
    model_name: str | None = None
    architecture: str
    logical_cores: int
    physical_cores: int | None = None
    sockets: int | None = None
    numa_nodes: int | None = None
    usable_cores: int | None = None
    isa: list[str] = []
    isa_class: str = "unknown"
    memory_total_bytes: int | None = None
    memory_available_bytes: int | None = None


@dataclass(frozen=True)
class CpuText:
    """What ``/proc/cpuinfo`` says."""

    model_name: str | None
    sockets: int | None
    physical_cores: int | None
    flags: frozenset[str]


def parse_cpuinfo(text: str) -> CpuText:
    """Model name, physical ids, core counts and flags from ``/proc/cpuinfo`` text."""
    model: str | None = None
    sockets: set[str] = set()
    cores: set[tuple[str, str]] = set()
    flags: set[str] = set()
    phys = "0"
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key in ("model name", "Model name") and model is None:
            model = value
        elif key == "physical id":
            phys = value
            sockets.add(value)
        elif key == "core id":
            cores.add((phys, value))
        elif key in ("flags", "Features") and not flags:
            flags = set(value.split())
    return CpuText(model, len(sockets) or None, len(cores) or None, frozenset(flags))


def parse_meminfo(text: str) -> tuple[int | None, int | None]:
    """(MemTotal, MemAvailable) in bytes from ``/proc/meminfo`` text."""
    vals: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            vals[key.strip()] = int(parts[0]) * 1024
    return vals.get("MemTotal"), vals.get("MemAvailable")


def isa_class(flags: set[str] | frozenset[str]) -> str:
    if {"amx_bf16", "amx_tile"} <= flags:
        return "AMX"
    if "avx512f" in flags:
        return "AVX-512"
    if "avx2" in flags:
        return "AVX2 only"
    if "asimd" in flags:
        return "ARM NEON"
    return "no AVX2"


def probe_cpu(
    proc: Path = Path("/proc"), sys_node: Path = Path("/sys/devices/system/node")
) -> CpuInfo:
    def read(p: Path) -> str:
        try:
            return p.read_text()
        except OSError:
            return ""

    info = parse_cpuinfo(read(proc / "cpuinfo"))
    total, avail = parse_meminfo(read(proc / "meminfo"))
    flags = info.flags
    numa = len(list(sys_node.glob("node[0-9]*"))) if sys_node.exists() else None
    try:
        usable: int | None = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = None
    return CpuInfo(
        model_name=info.model_name,
        architecture=platform.machine(),
        logical_cores=os.cpu_count() or 1,
        physical_cores=info.physical_cores,
        sockets=info.sockets,
        numa_nodes=numa or None,
        usable_cores=usable,
        isa=sorted(f for f in ISA_FLAGS if f in flags),
        isa_class=isa_class(flags),
        memory_total_bytes=total,
        memory_available_bytes=avail,
    )


__all__ = ["CpuInfo", "CpuText", "isa_class", "parse_cpuinfo", "parse_meminfo", "probe_cpu"]
