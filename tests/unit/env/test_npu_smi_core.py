"""npu-smi parsing on real recorded tables (../shared/samples and the seed's pasted table), bad
input, and random text. The shared files are read in place, never copied into the project
(../shared/samples/README.md); the tests skip when ../shared is absent."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelverify.env.npu_smi import parse_npu_smi, parse_npu_smi_mapping
from modelverify.env.stage import judge_npu
from modelverify.errors import ParseError
from modelverify.results import Status


def test_910b3_26x_table_field_by_field(shared_dir: Path) -> None:
    base = shared_dir / "samples" / "npu_smi" / "12_910b3_8npu_pytest_proc_26.1.0"
    got = parse_npu_smi(Path(f"{base}.txt").read_text(encoding="utf-8")).model_dump()
    want = json.loads(Path(f"{base}.json").read_text())
    assert got["npu_smi_version"] == want["npu_smi_version"]
    assert len(got["chips"]) == want["chip_count"] == 8
    for g, w in zip(got["chips"], want["chips"], strict=False):
        assert {k: g[k] for k in w} == w
    assert got["processes"] == want["processes"]


def test_seed_paste_with_collapsed_spacing(shared_dir: Path) -> None:
    seed = (shared_dir / "seed" / "verification-report-qwen3.5-2b-ascend.txt").read_text(
        encoding="utf-8"
    )
    start = seed.index("+----")
    # The paste goes on with other tables after the last border, which is glued to "结论: ...".
    table = seed[start:]
    info = parse_npu_smi(table)
    assert info.npu_smi_version == "25.5.1"
    (chip,) = info.chips
    assert (chip.npu_id, chip.chip_id, chip.name, chip.health) == (3, 0, "910B4", "OK")
    assert (chip.power_w, chip.temp_c, chip.aicore_pct) == (91.9, 40, 0)
    assert (chip.hbm_used_mb, chip.hbm_total_mb, chip.bus_id) == (17790, 32768, "0000:02:00.0")
    (proc,) = info.processes
    assert (proc.npu_id, proc.chip_id, proc.pid, proc.name, proc.memory_mb) == (
        3,
        0,
        2756,
        "VLLMEngineCor",
        14973,
    )
    # The seed's engine holds 14,973 MB: as "our" process it is no warning, as a stranger's it is.
    assert judge_npu(info.model_dump(), "3", {2756})[0].status == Status.PASS
    other = judge_npu(info.model_dump(), "3", set())[0]
    assert other.status == Status.WARN and "pid 2756 VLLMEngineCor 14973 MB" in other.reason
    assert judge_npu(info.model_dump(), "5")[0].status == Status.FAIL  # selected device missing


def test_text_without_a_table_is_an_error_not_an_empty_list() -> None:
    with pytest.raises(ParseError, match="no device table"):
        parse_npu_smi("command not found: npu-smi\n")


def test_mapping_keeps_logic_ids_and_nulls() -> None:
    # Column layout of `npu-smi info -m` (NPU ID, Chip ID, Chip Logic ID, Chip Name); MCU rows have '-'.
    rows = parse_npu_smi_mapping(
        "NPU ID  Chip ID  Chip Logic ID  Chip Name\n0  0  0  Ascend 910B3\n0  1  -  Mcu\n"
    )
    assert [(r.npu_id, r.chip_id, r.logic_id) for r in rows] == [(0, 0, 0), (0, 1, None)]


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet="| +=-0123456789./ABCOKNPUHealthChipBus-IdMemory-Usage(MB)\n", max_size=2000)
)
def test_any_text_parses_or_raises_our_error(text: str) -> None:
    with contextlib.suppress(ParseError):
        parse_npu_smi(text)
