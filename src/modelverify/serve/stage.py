"""The serve stage: what was launched (or attached to), how start-up went, what it holds."""

from __future__ import annotations

from typing import Any

from modelverify.results import Model, StageResult
from modelverify.serve import procs


class ProcessMemory(Model):
    pid: int
    name: str
    rss_bytes: int


class DeviceMemory(Model):
    """Device memory one process holds, as npu-smi / nvidia-smi's process table shows it."""

    device: str  # "NPU 3 chip 0 = device 3" / "GPU 1"
    pid: int
    name: str | None = None
    memory_mib: int | None = None  # npu-smi's MB and nvidia-smi's MiB are both 2**20 bytes
    ours: bool = True  # a pid of the engine's process tree


class ServeResult(StageResult):
    stage: str = "serve"
    mode: str = "launch"  # or "attach"
    command: list[str] = []
    base_url: str = ""
    served_model: str = ""
    host_warning: str | None = None
    ready_after_s: float | None = None
    fell_back_to_module: bool = False
    env: dict[str, str] = {}
    log_path: str | None = None
    log_facts: dict[str, Any] | None = None
    diagnosis: dict[str, Any] | None = None
    memory: list[ProcessMemory] = []
    memory_total_bytes: int | None = None
    device_memory: list[DeviceMemory] = []
    device_memory_source: str | None = None  # "npu-smi" / "nvidia-smi"
    device_memory_note: str | None = None


# Variables the engine reads (or its runtime: OpenMP, the device runtimes, the hub clients): a
# run depends on them whether modelverify set them or the user's shell did, so the repro block
# needs every one of them.
ENGINE_ENV_PREFIXES = (
    "VLLM_",
    "HF_",
    "TRANSFORMERS_",
    "OMP_",
    "KMP_",
    "CUDA_",
    "NCCL_",
    "ASCEND_",
    "HCCL_",
    "PYTORCH_",
    "TORCH_",
)
ENGINE_ENV_NAMES = ("LD_PRELOAD", "TOKENIZERS_PARALLELISM")


def engine_env_record(
    set_by_run: dict[str, str], inherited: dict[str, str] | None = None
) -> dict[str, str]:
    """Every engine-relevant variable the engine process got: inherited ones, then the run's."""
    import os

    base = os.environ if inherited is None else inherited
    out = {
        k: v
        for k, v in sorted(base.items())
        if k.startswith(ENGINE_ENV_PREFIXES) or k in ENGINE_ENV_NAMES
    }
    out.update(set_by_run)
    return out


def tree_memory(pid: int) -> list[ProcessMemory]:
    return [
        ProcessMemory(pid=p, name=procs.process_name(p), rss_bytes=rss)
        for p, rss in procs.tree_rss(pid).items()
    ]


def match_device_memory(
    platform: str, info: dict[str, Any], tree_pids: set[int], mapping: list[dict[str, Any]]
) -> tuple[list[DeviceMemory], str | None]:
    """The rows of a device process table that belong to the engine's process tree.

    When none of the tree's pids appears (npu-smi in a container can show the host's pid
    namespace), the processes of every device are returned with ``ours=False`` and a note:
    the memory is then attributed by the reader, not guessed by us."""
    rows: list[DeviceMemory] = []
    if platform == "npu":
        from modelverify.env.stage import logical_id

        chips = {(c.get("npu_id"), c.get("chip_id")): c for c in info.get("chips") or []}
        for p in info.get("processes") or []:
            chip = chips.get((p.get("npu_id"), p.get("chip_id")))
            dev = f"NPU {p.get('npu_id')} chip {p.get('chip_id')}"
            if chip is not None and logical_id(chip, mapping) != p.get("npu_id"):
                dev += f" = device {logical_id(chip, mapping)}"
            rows.append(
                DeviceMemory(
                    device=dev,
                    pid=int(p["pid"]),
                    name=p.get("name"),
                    memory_mib=p.get("memory_mb"),
                    ours=int(p["pid"]) in tree_pids,
                )
            )
    else:
        for p in info.get("processes") or []:
            rows.append(
                DeviceMemory(
                    device=f"GPU {p.get('gpu')}",
                    pid=int(p["pid"]),
                    name=p.get("name"),
                    memory_mib=p.get("memory_mib"),
                    ours=int(p["pid"]) in tree_pids,
                )
            )
    ours = [r for r in rows if r.ours]
    if ours:
        return ours, None
    if rows:
        return rows, (
            "no pid of the engine's process tree is in the device process table (a container "
            "with its own pid namespace?): all processes on the devices are listed"
        )
    return [], "the device process table lists no process"


def device_memory_after_load(
    platform: str, tree_pids: set[int]
) -> tuple[list[DeviceMemory], str | None, str | None]:
    """(rows, source, note) read live from npu-smi / nvidia-smi on this host."""
    if platform == "npu":
        from modelverify.env.npu_smi import query_npu_smi

        q = query_npu_smi()
        if q is None or q.info is None:
            return [], "npu-smi", (q.error if q is not None else "npu-smi not found")
        rows, note = match_device_memory(
            "npu", q.info.model_dump(), tree_pids, [m.model_dump() for m in q.mapping]
        )
        return rows, "npu-smi", note
    if platform == "cuda":
        from modelverify.env.nvidia_smi import query_nvidia_smi

        g = query_nvidia_smi()
        if g is None or g.error:
            return [], "nvidia-smi", (g.error if g is not None else "nvidia-smi not found")
        rows, note = match_device_memory("cuda", g.model_dump(), tree_pids, [])
        return rows, "nvidia-smi", note
    return [], None, None


def parse_log_facts(text: str) -> dict[str, Any]:
    """The start-up log parsed into facts, as serve.json keeps them."""
    from modelverify.serve.logparse import parse_vllm_log

    facts: dict[str, Any] = parse_vllm_log(text).model_dump(mode="json")
    return facts


__all__ = [
    "DeviceMemory",
    "ProcessMemory",
    "ServeResult",
    "device_memory_after_load",
    "match_device_memory",
    "parse_log_facts",
    "tree_memory",
]
