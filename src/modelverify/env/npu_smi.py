"""``npu-smi info`` (Huawei Ascend) parsed into typed records.

The table is read by cells (split on ``|``), not by fixed columns, so it survives every layout we
have seen and pastes whose spacing was collapsed: each device is a pair of rows whose third cell
holds the values named by the two header rows (``Power(W) Temp(C) Hugepages-Usage(page)`` /
``AICore(%) Memory-Usage(MB) HBM-Usage(MB)``), in header order. ``-``/``NA``/``N/A`` become None;
units stay npu-smi's (MB).
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess

from modelverify.env._text import table_lines
from modelverify.errors import ParseError
from modelverify.results import Model

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_VERSION = re.compile(r"npu-smi\s+(\S+)\s+Version:\s*(\S+)")
_NO_PROC = re.compile(r"No running processes found in NPU\s+(\d+)")
_NULL = {"-", "NA", "N/A", ""}
_DECIMAL = re.compile(r"[-+]?[0-9]+(?:\.[0-9]+)?")


class NpuChip(Model):
    npu_id: int
    chip_id: int | None = None
    name: str | None = None
    health: str | None = None
    power_w: float | None = None
    temp_c: float | None = None
    aicore_pct: float | None = None
    memory_used_mb: int | None = None
    memory_total_mb: int | None = None
    hbm_used_mb: int | None = None
    hbm_total_mb: int | None = None
    bus_id: str | None = None
    phy_id: int | None = None
    device_id: int | None = None
    hugepages_used_pages: int | None = None
    hugepages_total_pages: int | None = None


class NpuProcess(Model):
    npu_id: int
    chip_id: int | None = None
    pid: int
    name: str | None = None
    memory_mb: int | None = None


class NpuSmiInfo(Model):
    npu_smi_version: str | None = None
    chips: list[NpuChip] = []
    processes: list[NpuProcess] = []


class NpuChipMapping(Model):
    npu_id: int
    chip_id: int
    logic_id: int | None = None
    phy_id: int | None = None
    name: str | None = None


class NpuSmiQuery(Model):
    """What a live host's ``npu-smi info`` (and ``info -m``) said."""

    raw: str | None = None
    info: NpuSmiInfo | None = None
    mapping: list[NpuChipMapping] = []
    error: str | None = None


def _cells(line: str) -> list[str] | None:
    """The cells of a table row, or None for borders and text outside the table."""
    s = line.strip()
    if not s.startswith("|"):
        return None
    inner = s[1:]
    # A paste can glue trailing text to the last border: keep only what lies between bars.
    last = inner.rfind("|")
    if last < 0:
        return None
    return [c.strip() for c in inner[:last].split("|")]


def _num(
    tok: str | None, kind: type[int] | type[float], line_no: int, line: str
) -> int | float | None:
    if tok is None or tok in _NULL:
        return None
    # npu-smi prints short decimals: inf, 1e400 and 400-digit runs are no reading (and int(inf)
    # raises OverflowError)
    value = float(tok) if len(tok) <= 40 and _DECIMAL.fullmatch(tok) else math.nan
    if not math.isfinite(value):
        raise ParseError(f"npu-smi: {tok[:40]!r} is not a number", line_no=line_no, line=line)
    return int(value) if kind is int else value


def _id(tok: str) -> int | None:
    """An id of ASCII digits (``str.isdigit`` also takes ``²``, which int() refuses)."""
    return int(tok) if tok.isascii() and tok.isdigit() and len(tok) <= 18 else None


def _tokens(cell: str) -> list[str]:
    """Whitespace tokens, with ``a / b`` pairs kept as one ``a/b`` token (split and strip, not a
    ``\\s*/\\s*`` regex: that one is quadratic on a long run of spaces)."""
    return "/".join(part.strip() for part in cell.split("/")).split()


def _split_pair(tok: str | None) -> tuple[str | None, str | None]:
    if tok is None or "/" not in tok:
        return tok, None
    a, b = tok.split("/", 1)
    return a, b


def _header_fields(cell: str) -> list[str]:
    return [h.split("(")[0].lower() for h in cell.split()]


def _assign(chip: NpuChip, fields: list[str], cell: str, line_no: int, line: str) -> None:
    toks = _tokens(cell)
    for field, tok in zip(fields, toks, strict=False):
        if field == "power":
            chip.power_w = _num(tok, float, line_no, line)
        elif field == "temp":
            chip.temp_c = _num(tok, float, line_no, line)
        elif field == "aicore":
            chip.aicore_pct = _num(tok, float, line_no, line)
        elif field in ("memory-usage", "hbm-usage", "hugepages-usage"):
            used, total = _split_pair(tok)
            u, t = _num(used, int, line_no, line), _num(total, int, line_no, line)
            if field == "memory-usage":
                chip.memory_used_mb, chip.memory_total_mb = u, t  # type: ignore[assignment]
            elif field == "hbm-usage":
                chip.hbm_used_mb, chip.hbm_total_mb = u, t  # type: ignore[assignment]
            else:
                chip.hugepages_used_pages, chip.hugepages_total_pages = u, t  # type: ignore[assignment]


def parse_npu_smi(text: str) -> NpuSmiInfo:
    """Parse ``npu-smi info`` output.

    Raises:
        ParseError: no device table, or a row that cannot be read (the message names the line).
    """
    text = _ANSI.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    info = NpuSmiInfo()
    head1: list[str] | None = None
    head2: list[str] | None = None
    second_id = "chip"
    pending: tuple[NpuChip, int] | None = None
    in_procs = False
    for n, line in table_lines(text):
        if m := _VERSION.search(line[:1000]):
            info.npu_smi_version = m.group(2)
            continue
        s = line.strip()
        if (
            head1 is not None
            and s
            and (not s.startswith(("|", "+")) or (s[0] == "+" and s[-1] != "+"))
        ):
            # Text after the table (or glued to its last border): the table is over.
            break
        cells = _cells(line)
        if cells is None:
            continue
        joined = " ".join(cells)
        if "Process id" in joined or "Process name" in joined:
            in_procs, pending = True, None
            continue
        if cells[0].startswith("NPU") and "Name" in cells[0] and len(cells) >= 3:
            head1, in_procs = _header_fields(cells[2]), False
            continue
        if cells[0].startswith("Chip") and len(cells) >= 3 and "Bus-Id" in cells[1]:
            head2 = _header_fields(cells[2])
            second_id = (
                "phy" if "Phy-ID" in cells[0] else ("device" if "Device" in cells[0] else "chip")
            )
            continue
        if in_procs:
            if m := _NO_PROC.search(joined[:1000]):
                continue
            info.processes.append(_process(cells, n, line))
            continue
        if head1 is None or head2 is None:
            continue
        if len(cells) < 3:
            raise ParseError("npu-smi: a device row needs three cells", line_no=n, line=line)
        if pending is None:
            ids = cells[0].split()
            if not ids or _id(ids[0]) is None:
                raise ParseError(
                    "npu-smi: expected 'NPU-id Name' in the first cell", line_no=n, line=line
                )
            chip = NpuChip(
                npu_id=int(ids[0]), name=" ".join(ids[1:]) or None, health=cells[1] or None
            )
            _assign(chip, head1, cells[2], n, line)
            pending = (chip, n)
        else:
            chip = pending[0]
            ids = cells[0].split()
            if not ids or _id(ids[0]) is None:
                raise ParseError(
                    "npu-smi: expected the chip id in the first cell", line_no=n, line=line
                )
            chip.chip_id = _id(ids[0])
            if len(ids) > 1 and _id(ids[1]) is not None:
                if second_id == "phy":
                    chip.phy_id = _id(ids[1])
                elif second_id == "device":
                    chip.device_id = _id(ids[1])
            # An Atlas 200I A2 (310B4) prints Bus-Id "NA": no PCIe bus, not an address.
            chip.bus_id = None if cells[1] in _NULL else cells[1]
            _assign(chip, head2, cells[2], n, line)
            info.chips.append(chip)
            pending = None
    if head1 is None:
        raise ParseError("npu-smi: no device table (no 'NPU Name | Health' header) in this text")
    if pending is not None:
        raise ParseError("npu-smi: a device row has no second (chip) row", line_no=pending[1])
    return info


def _process(cells: list[str], n: int, line: str) -> NpuProcess:
    ids = cells[0].split()
    if len(cells) < 4 or not ids or _id(ids[0]) is None:
        raise ParseError("npu-smi: cannot read this process row", line_no=n, line=line)
    pid = _num(cells[1], int, n, line)
    if pid is None:
        raise ParseError("npu-smi: a process row without a pid", line_no=n, line=line)
    mem = _num(cells[3].split()[0] if cells[3] else None, int, n, line)
    return NpuProcess(
        npu_id=int(ids[0]),
        chip_id=_id(ids[1]) if len(ids) > 1 else None,
        pid=int(pid),
        name=cells[2] or None,
        memory_mb=None if mem is None else int(mem),
    )


def parse_npu_smi_mapping(text: str) -> list[NpuChipMapping]:
    """``npu-smi info -m``: NPU ID, Chip ID, Chip Logic ID (what ASCEND_RT_VISIBLE_DEVICES uses),
    on Atlas A3 also Chip Phy-ID, then the chip name. Mcu rows have ``-`` as logic id."""
    out: list[NpuChipMapping] = []
    has_phy = False
    for n, line in enumerate(text.replace("\r", "").split("\n"), start=1):
        if "Chip Logic ID" in line:
            has_phy = "Phy" in line  # A3: "NPU ID  Chip ID  Chip Logic ID  Chip Phy-ID  Chip Name"
            continue
        toks = line.split()
        if len(toks) < 3 or _id(toks[0]) is None or _id(toks[1]) is None:
            continue
        fields = toks[2:4] if has_phy else toks[2:3]
        for f in fields:
            if not (_id(f) is not None or f in _NULL):
                raise ParseError("npu-smi -m: the logic id is not a number", line_no=n, line=line)
        name_at = 4 if has_phy else 3
        out.append(
            NpuChipMapping(
                npu_id=int(toks[0]),
                chip_id=int(toks[1]),
                logic_id=_id(toks[2]),
                phy_id=_id(toks[3]) if has_phy and len(toks) > 3 else None,
                name=" ".join(toks[name_at:]) or None,
            )
        )
    return out


def query_npu_smi(timeout: float = 15.0) -> NpuSmiQuery | None:
    """Run ``npu-smi info`` (and ``-m``) on this host; None when npu-smi is not installed."""
    exe = shutil.which("npu-smi")
    if exe is None:
        return None
    q = NpuSmiQuery()
    try:
        out = subprocess.run(
            [exe, "info"], capture_output=True, text=True, timeout=timeout, check=False
        )
        q.raw = out.stdout
        if out.returncode != 0:
            q.error = f"npu-smi info exited {out.returncode}: {out.stderr.strip()[:200]}"
            return q
        q.info = parse_npu_smi(out.stdout)
        m = subprocess.run(
            [exe, "info", "-m"], capture_output=True, text=True, timeout=timeout, check=False
        )
        if m.returncode == 0:
            q.mapping = parse_npu_smi_mapping(m.stdout)
    except (OSError, subprocess.TimeoutExpired, ParseError) as exc:
        q.error = f"{type(exc).__name__}: {exc}"
    return q


__all__ = [
    "NpuChip",
    "NpuChipMapping",
    "NpuProcess",
    "NpuSmiInfo",
    "NpuSmiQuery",
    "parse_npu_smi",
    "parse_npu_smi_mapping",
    "query_npu_smi",
]
