"""Property tests that reach the rows of an nvidia-smi table: GPUs generated in the layout of the
recorded H100 table (tests/data/nvidia_smi/07_r570_h100_mig_disabled.txt: its header, borders and
column widths verbatim), parsed back to the values they were built from, then mutated with hostile
numbers and ids in a GPU row: a value or our ParseError, nothing else."""

from __future__ import annotations

import contextlib
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from modelverify.env.nvidia_smi import parse_nvidia_smi
from modelverify.errors import ParseError

HEAD = """\
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 570.195.03             Driver Version: 570.195.03     CUDA Version: 12.8     |
|-----------------------------------------+------------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |
| Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage | GPU-Util  Compute M. |
|                                         |                        |               MIG M. |
|=========================================+========================+======================|"""
GPU_END = (
    "+-----------------------------------------+------------------------+----------------------+"
)
TAIL = """
+-----------------------------------------------------------------------------------------+
| Processes:                                                                              |
|  GPU   GI   CI              PID   Type   Process name                        GPU Memory |
|        ID   ID                                                               Usage      |
|=========================================================================================|
|  No running processes found                                                             |
+-----------------------------------------------------------------------------------------+
"""
SEP = "+-----------------------------------------+------------------------+----------------------+"


@st.composite
def gpu(draw: st.DrawFn, index: int) -> tuple[dict[str, object], list[str]]:
    temp, perf = draw(st.integers(0, 110)), draw(st.integers(0, 12))
    pw, cap = draw(st.integers(0, 999)), draw(st.integers(1, 999))
    used, total = draw(st.integers(0, 10**6)), draw(st.integers(1, 10**6))
    util = draw(st.integers(0, 100))
    bus = f"00000000:{draw(st.integers(0, 255)):02X}:00.0"
    row1 = f"| {index:>3}  NVIDIA H100 80GB HBM3          On  | {bus:>17} Off |" + " " * 20 + "0 |"
    mem = f"{used}MiB / {total:>6}MiB"
    row2 = f"| N/A   {f'{temp}C':<4}  P{perf:<2}  {f'{pw}W':>14} / {f'{cap}W':>5} | {mem:>22} |"
    row2 += f" {f'{util}%':>8}      Default |"
    row3 = "|" + " " * 41 + "|" + " " * 24 + "|             Disabled |"
    want = {
        "index": index,
        "temp_c": float(temp),
        "perf_state": f"P{perf}",
        "power_w": float(pw),
        "power_cap_w": float(cap),
        "memory_used_mib": used,
        "memory_total_mib": total,
        "util_pct": float(util),
        "bus_id": bus,
    }
    return want, [row1, row2, row3]


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[dict[str, object]], str]:
    n = draw(st.integers(1, 4))
    gpus = [draw(gpu(i)) for i in range(n)]
    rows: list[str] = []
    for k, (_, r) in enumerate(gpus):
        rows += r
        rows.append(GPU_END if k == n - 1 else SEP)
    return [w for w, _ in gpus], "\n".join([HEAD, *rows]) + "\n" + TAIL


@settings(max_examples=150, deadline=None)
@given(tables())
def test_generated_nvidia_smi_tables_parse_back_to_their_values(
    table: tuple[list[dict[str, object]], str],
) -> None:
    want, text = table
    got = parse_nvidia_smi(text).gpus
    assert [g.model_dump(include=set(want[0])) for g in got] == want


HOSTILE = ["inf", "1e400", "9" * 400, "²", "-", "N/A", "1.2.3", "nan", "-6", "x" * 1500]


@settings(max_examples=300, deadline=None)
@given(tables(), st.data())
def test_mutated_nvidia_smi_tables_give_values_or_our_error(
    table: tuple[list[dict[str, object]], str], data: st.DataObject
) -> None:
    _, text = table
    rows = text.split("\n")
    gpu_rows = [i for i, r in enumerate(rows) if "MiB /" in r or "NVIDIA H100" in r]
    i = data.draw(st.sampled_from(gpu_rows))
    toks = rows[i].split(" ")
    j = data.draw(st.sampled_from([k for k, t in enumerate(toks) if t]))  # a word, not a gap
    bad = data.draw(st.sampled_from(HOSTILE))
    if data.draw(st.booleans()):
        toks[j] = bad  # the whole token
    else:  # its number only, the unit kept: "1e400MiB", "infW"
        toks[j] = re.sub(r"\d+", lambda _: bad, toks[j], count=1)
    rows[i] = " ".join(toks)
    with contextlib.suppress(ParseError):
        parse_nvidia_smi("\n".join(rows))
