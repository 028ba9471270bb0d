"""nvidia-smi parsing on the collected real tables (tests/data/nvidia_smi), field by field
against values typed by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelverify.env.nvidia_smi import parse_nvidia_smi

DATA = Path(__file__).parents[2] / "data" / "nvidia_smi"
EXPECTED = json.loads((DATA / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(EXPECTED["tables"]))
def test_table_agrees_with_a_human_reading(name: str) -> None:
    want = EXPECTED["tables"][name]
    got = parse_nvidia_smi((DATA / name).read_text(encoding="utf-8")).model_dump()
    assert [got["nvidia_smi_version"], got["driver_version"], got["cuda_version"]] == want[
        "versions"
    ]
    assert [[g[f] for f in EXPECTED["gpu_fields"]] for g in got["gpus"]] == want["gpus"]
    procs = [[p[f] for f in EXPECTED["process_fields"]] for p in got["processes"]]
    assert procs == want["processes"]


def test_every_collected_table_is_checked() -> None:
    files = {p.name for p in DATA.glob("*.txt")}
    assert files - set(EXPECTED["tables"]) == {
        "01_r535_2gpu_gtx_truncated_name.txt",
        "02_r535_2gpu_rtx3090_desktop.txt",
    }
    assert len(files) >= 8


def test_wrapped_rows_keep_original_line_numbers_in_errors() -> None:
    from modelverify.env._text import table_lines

    text = (DATA / "08_r570_l40s_hard_wrapped_at_80_columns.txt").read_text(encoding="utf-8")
    lines = dict(table_lines(text))
    assert lines[4].endswith("CUDA Version: 12.8     |")  # header joined, numbered as line 4
    assert 5 not in lines
