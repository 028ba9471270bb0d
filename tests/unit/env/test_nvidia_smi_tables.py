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
    # a MIG table's partitions are not GPUs: they land in mig_devices, never in gpus
    migs = [[d[f] for f in EXPECTED["mig_fields"]] for d in got["mig_devices"]]
    assert migs == want.get("mig_devices", [])
    instances = [[p["gi_id"], p["ci_id"]] for p in got["processes"]]
    assert instances == want.get("process_instances", [[None, None]] * len(procs))


def test_every_collected_table_is_checked() -> None:
    files = {p.name for p in DATA.glob("*.txt")}
    assert files - set(EXPECTED["tables"]) == {
        "01_r535_2gpu_gtx_truncated_name.txt",
        "02_r535_2gpu_rtx3090_desktop.txt",
    }
    assert len(files) >= 10


def test_wrapped_rows_keep_original_line_numbers_in_errors() -> None:
    from modelverify.env._text import table_lines

    text = (DATA / "08_r570_l40s_hard_wrapped_at_80_columns.txt").read_text(encoding="utf-8")
    lines = dict(table_lines(text))
    assert lines[4].endswith("CUDA Version: 12.8     |")  # header joined, numbered as line 4
    assert 5 not in lines


def test_gpu_judgement_and_cuda_visible_devices() -> None:
    from modelverify.env.stage import judge_gpu
    from modelverify.results import Status

    info = parse_nvidia_smi(
        (DATA / "06_r570_3gpu_l40s_truncated_process.txt").read_text(encoding="utf-8")
    ).model_dump()
    (busy,) = judge_gpu(info, "0")
    assert busy.status == Status.WARN and "pid 3330776 ...ma.cpp/build/bin/llama-server" in (
        busy.reason
    )
    assert judge_gpu(info, "0", engine_pids={3330776})[0].status == Status.PASS  # our engine
    assert [f.subject for f in judge_gpu(info, "2,1")] == [
        "GPU 1 (NVIDIA L40S)",
        "GPU 2 (NVIDIA L40S)",
    ]
    bad = judge_gpu(info, "1,7,2")
    assert bad[0].status == Status.FAIL and "7 names no single GPU" in bad[0].reason
    assert [f.subject for f in bad[1:]] == ["GPU 1 (NVIDIA L40S)"]  # CUDA stops at the bad entry
    assert len(judge_gpu(info, None)) == 3


def test_cuda_visible_devices_by_uuid_and_unique_prefix() -> None:
    from modelverify.env.stage import judge_gpu
    from modelverify.results import Status

    info = {
        "gpus": [
            {"index": 0, "name": "A", "uuid": "GPU-072b19bd-4ccf-63cf-6435-cf462aff833d"},
            {"index": 1, "name": "B", "uuid": "GPU-07ffffff-0000-0000-0000-000000000000"},
        ],
        "processes": [],
    }
    assert [f.subject for f in judge_gpu(info, "GPU-072b")] == ["GPU 0 (A)"]
    ambiguous = judge_gpu(info, "GPU-07")
    assert (
        ambiguous[0].status == Status.FAIL and "GPU-07 names no single GPU" in ambiguous[0].reason
    )


def test_every_collected_table_has_a_source_entry() -> None:
    sources = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    missing = [p.name for p in sorted(DATA.glob("*.txt")) if f"| {p.name} |" not in sources]
    assert missing == []
