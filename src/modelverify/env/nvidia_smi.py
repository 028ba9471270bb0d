"""nvidia-smi: the CSV query interface on live hosts, and the human table for recorded text.

On a live host we never parse the table: ``--query-gpu`` / ``--query-compute-apps`` with
``--format=csv,noheader,nounits`` is nvidia-smi's stable interface. The table parser is for
logs pasted from machines the user cannot run on. Units stay nvidia-smi's (MiB); ``N/A``,
``[N/A]`` and ``[Not Supported]`` become None.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess

from modelverify.env._text import table_lines
from modelverify.errors import ParseError
from modelverify.results import Model

GPU_FIELDS = (
    "index,name,uuid,memory.used,memory.total,utilization.gpu,temperature.gpu,power.draw,"
    "power.limit,fan.speed,pci.bus_id,pstate"
)
APP_FIELDS = "gpu_uuid,pid,process_name,used_memory"
_NULL = {"", "N/A", "[N/A]", "[Not Supported]", "Not Supported", "-"}
_HEADER = re.compile(r"NVIDIA-SMI\s+(\S+)\s+Driver Version:\s*(\S+)\s+CUDA Version:\s*(\S+)")
_PROC = re.compile(
    r"^\s*(\d+)\s+(?:(\S+)\s+(\S+)\s+)?(\d+)\s+(C\+G|G\+C|C|G|M|M\+C)\s+(.*?)\s+(\d+MiB|N/A)\s*$"
)
# the MIG table's first cell: GPU, GPU instance, compute instance, MIG device index
_MIG_IDS = re.compile(r"^(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$")
# (?<!\d) / (?<!\S): a match starts only where a digit or token run starts, so a long run
# without a match is read once, not once per position (quadratic)
_MIB_PAIR = re.compile(r"(?<!\d)(\d+)MiB\s*/\s*(\d+)MiB")
_POWER = re.compile(r"(?<!\S)(\S+)\s*/\s*(\S+)\s*$")
_PAIR = re.compile(r"(?<!\S)(\S+)\s*/\s*(\S+)")
# rows of the process table that carry no process: its column heads and the empty notice
_PROC_NOT_DATA = re.compile(r"^(GPU\s+GI\s+CI\b|ID\s+ID\b|Usage$|No running processes found)")


class GpuRecord(Model):
    index: int
    name: str | None = None
    uuid: str | None = None
    memory_used_mib: int | None = None
    memory_total_mib: int | None = None
    util_pct: float | None = None
    temp_c: float | None = None
    power_w: float | None = None
    power_cap_w: float | None = None
    fan_pct: float | None = None
    bus_id: str | None = None
    perf_state: str | None = None


class GpuProcess(Model):
    gpu: int | None = None
    gi_id: int | None = None  # GPU / compute instance on a MIG GPU; None ("N/A") otherwise
    ci_id: int | None = None
    pid: int
    type: str | None = None
    name: str | None = None
    memory_mib: int | None = None


class MigDevice(Model):
    """One row of the table's "MIG devices" block (a GPU partition, not a GPU)."""

    gpu: int
    gi_id: int
    ci_id: int
    mig_dev: int
    memory_used_mib: int | None = None
    memory_total_mib: int | None = None


class NvidiaSmiInfo(Model):
    nvidia_smi_version: str | None = None
    driver_version: str | None = None
    cuda_version: str | None = None
    gpus: list[GpuRecord] = []
    mig_devices: list[MigDevice] = []
    processes: list[GpuProcess] = []


class NvidiaSmiQuery(Model):
    gpus: list[GpuRecord] = []
    processes: list[GpuProcess] = []
    driver_version: str | None = None
    cuda_version: str | None = None
    error: str | None = None


def _num(tok: str | None) -> float | None:
    if tok is None:
        return None
    tok = tok.strip().rstrip("%WCMiB").strip()
    if tok in _NULL:
        return None
    if len(tok) > 40:  # a 400-digit number is no reading
        return None
    try:
        value = float(tok)
    except ValueError:
        return None
    return value if math.isfinite(value) else None  # inf, 1e400: int() of them would raise


def _int(tok: str | None) -> int | None:
    v = _num(tok)
    return None if v is None else int(v)


def _id(tok: str) -> int | None:
    """An index of ASCII digits (``str.isdigit`` also takes ``²``, which int() refuses)."""
    return int(tok) if tok.isascii() and tok.isdigit() and len(tok) <= 18 else None


def _first(cell: str) -> str | None:
    parts = cell.split()
    return parts[0] if parts else None


def _cells(line: str) -> list[str] | None:
    s = line.strip()
    if not s.startswith("|") or s.count("|") < 2:
        return None
    return [c.strip() for c in s[1 : s.rfind("|")].split("|")]


def parse_nvidia_smi(text: str) -> NvidiaSmiInfo:
    """Parse the human ``nvidia-smi`` table.

    Rows that are not data (borders, column heads, "No running processes found", a WSL
    ``N/A``) are skipped; any other row that cannot be read is an error, never a silent skip.

    Raises:
        ParseError: no GPU table, a GPU table without a readable GPU, or a GPU, MIG or
            process row that cannot be read (naming the line).
    """
    info = NvidiaSmiInfo()
    section: str | None = None  # "gpus", "mig" or "procs": the block the rows belong to
    pending: tuple[GpuRecord, int, str] | None = None

    def unfinished() -> None:
        if pending is not None:
            raise ParseError(
                "nvidia-smi: GPU row without its 'Fan Temp Perf' row",
                line_no=pending[1],
                line=pending[2],
            )

    for n, line in table_lines(text):
        if m := _HEADER.search(line[:1000]):
            smi, drv, cuda = m.groups()
            # a version with no digit is one the author masked ("xxx.xx.xx"): unknown
            info.nvidia_smi_version, info.driver_version, info.cuda_version = (
                v if any(ch.isdigit() for ch in v) else None for v in (smi, drv, cuda)
            )
            continue
        if "Processes:" in line or "MIG devices:" in line:
            unfinished()
            section = "procs" if "Processes:" in line else "mig"
            continue
        cells = _cells(line)
        if cells is None or all(set(c) <= set("=-+") for c in cells):  # "|====|" rules
            continue
        if section != "procs" and cells[0].startswith("GPU") and "Name" in cells[0]:
            section = "gpus"
            continue
        if section == "procs":
            _process_row(info, cells, n, line)
        elif section == "mig":
            _mig_row(info, cells, n, line)
        elif section == "gpus" and cells[0]:
            pending = _gpu_row(info, pending, cells, n, line)
    unfinished()
    if section is not None and not info.gpus:
        raise ParseError("nvidia-smi: a GPU table with no readable GPU row in it")
    if not info.gpus and info.driver_version is None:
        raise ParseError(
            "nvidia-smi: no GPU table (no 'NVIDIA-SMI … Driver Version' header) in this text"
        )
    return info


def _gpu_row(
    info: NvidiaSmiInfo,
    pending: tuple[GpuRecord, int, str] | None,
    cells: list[str],
    n: int,
    line: str,
) -> tuple[GpuRecord, int, str] | None:
    """One row of a GPU's three; returns the GPU still waiting for its second row."""
    toks = cells[0].split()
    if pending is None:
        if toks[0] == "Fan":  # the column heads' second row
            return None
        if len(cells) < 3 or _id(toks[0]) is None:
            raise ParseError(
                "nvidia-smi: expected a GPU row ('index name … | bus id | …')", line_no=n, line=line
            )
        rest = toks[1:]
        if rest and rest[-1] in ("On", "Off"):  # persistence mode closes the name cell
            rest = rest[:-1]
        gpu = GpuRecord(index=int(toks[0]), name=" ".join(rest) or None, bus_id=_first(cells[1]))
        return gpu, n, line
    gpu = pending[0]
    fan, temp, perf = ([*toks, None, None, None])[:3]
    power = _POWER.search(cells[0])
    mem = _PAIR.search(cells[1]) if len(cells) >= 3 else None
    if mem is None or temp is None:
        raise ParseError(
            "nvidia-smi: expected 'Fan Temp Perf Pwr' and 'used / total' memory",
            line_no=n,
            line=line,
        )
    gpu.fan_pct, gpu.temp_c, gpu.perf_state = _num(fan), _num(temp), perf
    if power:
        gpu.power_w, gpu.power_cap_w = _num(power.group(1)), _num(power.group(2))
    gpu.memory_used_mib, gpu.memory_total_mib = _int(mem.group(1)), _int(mem.group(2))
    gpu.util_pct = _num(_first(cells[2]))
    info.gpus.append(gpu)
    return None


def _mig_row(info: NvidiaSmiInfo, cells: list[str], n: int, line: str) -> None:
    first = cells[0]
    # column heads ("GPU  GI  CI  MIG", "ID  ID  Dev") and the BAR1 row under each device
    if not first or first.startswith(("GPU", "ID")):
        return
    ids = _MIG_IDS.match(first)
    mem = _MIB_PAIR.search(cells[1]) if len(cells) > 1 else None
    if ids is None or mem is None:
        raise ParseError(
            "nvidia-smi: expected a MIG device row ('GPU GI CI MIG | used / total')",
            line_no=n,
            line=line,
        )
    gpu, gi, ci, dev = (int(v) for v in ids.groups())
    info.mig_devices.append(
        MigDevice(
            gpu=gpu,
            gi_id=gi,
            ci_id=ci,
            mig_dev=dev,
            memory_used_mib=_int(mem.group(1)),
            memory_total_mib=_int(mem.group(2)),
        )
    )


def _process_row(info: NvidiaSmiInfo, cells: list[str], n: int, line: str) -> None:
    row = " ".join(cells).strip()
    if not row or _PROC_NOT_DATA.match(row):
        return
    m = _PROC.match(row)
    if m is None:
        raise ParseError(
            "nvidia-smi: expected a process row ('GPU GI CI PID Type name memory')",
            line_no=n,
            line=line,
        )
    gpu, gi, ci, pid, kind, name, mem = m.groups()
    if _id(gpu) is None or _id(pid) is None:
        raise ParseError("nvidia-smi: a process row's GPU or PID is too long", line_no=n, line=line)
    info.processes.append(
        GpuProcess(
            gpu=_id(gpu),
            gi_id=_int(gi),
            ci_id=_int(ci),
            pid=int(pid),
            type=kind,
            name=name or None,
            memory_mib=_int(mem),
        )
    )


def _csv_rows(text: str, width: int) -> list[list[str]]:
    rows = []
    for n, line in enumerate(text.strip().splitlines(), start=1):
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != width:
            raise ParseError(f"nvidia-smi csv: expected {width} fields", line_no=n, line=line)
        rows.append(parts)
    return rows


def parse_query_gpu_csv(text: str) -> list[GpuRecord]:
    """``--query-gpu=GPU_FIELDS --format=csv,noheader,nounits`` output."""
    out = []
    for n, r in enumerate(_csv_rows(text, 12), start=1):
        index = _id(r[0])
        if index is None:
            raise ParseError("nvidia-smi csv: the GPU index is not a number", line_no=n, line=r[0])
        out.append(
            GpuRecord(
                index=index,
                name=r[1],
                uuid=r[2],
                memory_used_mib=_int(r[3]),
                memory_total_mib=_int(r[4]),
                util_pct=_num(r[5]),
                temp_c=_num(r[6]),
                power_w=_num(r[7]),
                power_cap_w=_num(r[8]),
                fan_pct=_num(r[9]),
                bus_id=r[10],
                perf_state=r[11],
            )
        )
    return out


def parse_query_apps_csv(
    text: str, uuid_to_index: dict[str, int] | None = None
) -> list[GpuProcess]:
    """``--query-compute-apps=APP_FIELDS --format=csv,noheader,nounits`` output."""
    out = []
    for r in _csv_rows(text, 4) if text.strip() else []:
        pid = _int(r[1])
        if pid is None:
            continue
        out.append(
            GpuProcess(
                gpu=(uuid_to_index or {}).get(r[0]),
                pid=pid,
                type="C",
                name=r[2] or None,
                memory_mib=_int(r[3]),
            )
        )
    return out


def query_nvidia_smi(timeout: float = 15.0) -> NvidiaSmiQuery | None:
    """Query a live host; None when nvidia-smi is not installed."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    q = NvidiaSmiQuery()

    def run(*args: str) -> str:
        out = subprocess.run(
            [exe, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if out.returncode != 0:
            raise ParseError(
                f"nvidia-smi {' '.join(args)} exited {out.returncode}: {out.stderr.strip()[:200]}"
            )
        return out.stdout

    try:
        q.gpus = parse_query_gpu_csv(
            run(f"--query-gpu={GPU_FIELDS}", "--format=csv,noheader,nounits")
        )
        index = {g.uuid: g.index for g in q.gpus if g.uuid}
        q.processes = parse_query_apps_csv(
            run(f"--query-compute-apps={APP_FIELDS}", "--format=csv,noheader,nounits"), index
        )
        if m := _HEADER.search(run()):
            q.driver_version, q.cuda_version = m.group(2), m.group(3)
    except (OSError, subprocess.TimeoutExpired, ParseError, ValueError) as exc:
        q.error = f"{type(exc).__name__}: {exc}"
    return q


__all__ = [
    "APP_FIELDS",
    "GPU_FIELDS",
    "GpuProcess",
    "GpuRecord",
    "MigDevice",
    "NvidiaSmiInfo",
    "NvidiaSmiQuery",
    "parse_nvidia_smi",
    "parse_query_apps_csv",
    "parse_query_gpu_csv",
    "query_nvidia_smi",
]
