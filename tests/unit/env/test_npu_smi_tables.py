"""npu-smi parsing on the collected real tables (tests/data/npu_smi), field by field against
values typed by hand, and the judgement of device selection on multi-chip cards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelverify.env.npu_smi import parse_npu_smi, parse_npu_smi_mapping
from modelverify.env.stage import judge_npu, logical_id
from modelverify.results import Status

DATA = Path(__file__).parents[2] / "data" / "npu_smi"
EXPECTED = json.loads((DATA / "expected.json").read_text(encoding="utf-8"))


def _table(name: str) -> dict[str, Any]:
    return parse_npu_smi((DATA / name).read_text(encoding="utf-8")).model_dump()


@pytest.mark.parametrize("name", sorted(EXPECTED["tables"]))
def test_table_agrees_with_a_human_reading(name: str) -> None:
    want = EXPECTED["tables"][name]
    got = _table(name)
    assert got["npu_smi_version"] == want["npu_smi_version"]
    chip_fields, proc_fields = EXPECTED["chip_fields"], EXPECTED["process_fields"]
    assert [[c[f] for f in chip_fields] for c in got["chips"]] == want["chips"]
    assert [[p[f] for f in proc_fields] for p in got["processes"]] == want["processes"]
    if "hugepages" in want:
        pages = [[c["hugepages_used_pages"], c["hugepages_total_pages"]] for c in got["chips"]]
        assert pages == want["hugepages"]


def test_every_collected_table_is_checked() -> None:
    files = {p.name for p in DATA.glob("*.txt")}
    assert files == set(EXPECTED["tables"]) and len(files) >= 10


def test_a3_selection_uses_logical_ids_not_npu_ids() -> None:
    """ASCEND_RT_VISIBLE_DEVICES=15 is the second chip of NPU 7 on an A3 node."""
    info = _table("01_a3_16chip_blank_proc_names_25.2.0.txt")
    findings = judge_npu(info, "15", engine_pids=set())
    assert [f.subject for f in findings] == ["NPU 7 chip 1 (Ascend910) = device 15"]
    # the chip is busy with pid 944268 (58,782 MB), a stranger's process
    assert findings[0].status == Status.WARN and "pid 944268" in findings[0].reason
    assert judge_npu(info, "16")[0].status == Status.FAIL


def test_duo_card_chips_are_devices_by_the_device_column() -> None:
    info = _table("09_310p3_duo_2chips_power_na_25.2.0.txt")
    assert [logical_id(c, []) for c in info["chips"]] == [0, 1]
    (only,) = judge_npu(info, "1")
    assert only.subject == "NPU 2 chip 1 (310P3) = device 1" and only.status == Status.PASS
    # NPU id 2 is not a device number on this card
    assert judge_npu(info, "2")[0].status == Status.FAIL


def test_mapping_table_wins_over_the_guess() -> None:
    info = _table("06_910b4_npu2_no_version.txt")
    # a container that sees NPU 2 as its device 0
    mapping = [{"npu_id": 2, "chip_id": 0, "logic_id": 0}]
    assert logical_id(info["chips"][0], mapping) == 0
    assert judge_npu(info, "0", mapping=mapping)[0].status == Status.PASS
    assert judge_npu(info, "2", mapping=mapping)[0].status == Status.FAIL


def test_health_words() -> None:
    info = _table("08_310p3_4npu_collapsed_0K_typo_25.0.rc1.1.txt")
    assert all(f.status == Status.PASS for f in judge_npu(info, None))  # "0K" is a typed OK
    for word, status in (
        ("Warning", Status.WARN),
        ("Alarm", Status.FAIL),
        ("Critical", Status.FAIL),
        ("UNKNOWN", Status.FAIL),  # npu-smi: the device is absent or not started
    ):
        bad = json.loads(json.dumps(info))
        bad["chips"][1]["health"] = word
        got = {f.subject: f for f in judge_npu(bad, None)}
        assert got["NPU 1 chip 0 (310P3)"].status == status
        assert f"Health {word}" in got["NPU 1 chip 0 (310P3)"].reason


def test_real_alarm_is_a_failure_and_na_bus_is_no_address() -> None:
    """A real 310B4 (Atlas 200I A2) table with Health Alarm and Bus-Id NA."""
    info = _table("10_310b4_alarm_bus_na_23.0.0.txt")
    (chip,) = info["chips"]
    assert chip["bus_id"] is None
    (only,) = judge_npu(info, None)
    assert only.status == Status.FAIL and "Health Alarm" in only.reason
    # the selection is judged by the Device column (0), and still fails on health
    assert judge_npu(info, "0")[0].status == Status.FAIL


def test_real_warning_is_a_warning_not_a_failure() -> None:
    """A real 910A table (a ModelArts notebook that sees only NPU 1) with Health Warning."""
    info = _table("17_910a_npu1_warning_23.0.rc3.txt")
    (only,) = judge_npu(info, None)
    assert only.subject == "NPU 1 chip 0 (910A)"
    assert only.status == Status.WARN and "Health Warning" in only.reason
    # the physical id names the listed device and keeps its warning
    (by_id,) = judge_npu(info, "1", engine_pids=set())
    assert by_id.status == Status.WARN and "Health Warning" in by_id.reason
    # device 0 of the notebook is NPU 1: the selection is explained, the health still warns
    sel, chip = judge_npu(info, "0", engine_pids=set())
    assert sel.subject == "selection" and sel.status == Status.WARN
    assert chip.status == Status.WARN and "Health Warning" in chip.reason


def test_a3_process_rows_land_on_the_right_chip() -> None:
    """A3: NPU 0 has no processes, pid 990711 runs on NPU 1 chip 1 = device 3 (Phy-ID 3)."""
    info = _table("13_a3_2npu_no_proc_in_npu0_25.2.0.txt")
    busy = judge_npu(info, "3", engine_pids=set())
    assert [f.subject for f in busy] == ["NPU 1 chip 1 (Ascend910) = device 3"]
    assert busy[0].status == Status.WARN and "pid 990711 python 7746 MB" in busy[0].reason
    assert busy[0].held_by == [990711]  # the same pid as a field, for the report
    (ours,) = judge_npu(info, "3", engine_pids={990711})
    assert ours.status == Status.PASS and ours.held_by == []
    assert judge_npu(info, "0", engine_pids=set())[0].status == Status.PASS  # NPU 0: none


def test_two_duo_cards_number_their_chips_by_the_device_column() -> None:
    """Two 300I Duo cards (NPU 1 and 2): devices 0-3, each chip with its own MindIE pid."""
    info = _table("14_310p3_duo_2cards_mindie_24.1.0.1.txt")
    assert [logical_id(c, []) for c in info["chips"]] == [0, 1, 2, 3]
    (f,) = judge_npu(info, "2", engine_pids={3034986})
    assert f.subject.startswith("NPU 2 chip 0") and f.status == Status.PASS
    (f,) = judge_npu(info, "3", engine_pids={3034986})  # the other chip's pid is not ours
    assert f.status == Status.WARN and "pid 3034989" in f.reason


def test_mapping_parser_reads_a3_phy_column_and_mcu_rows() -> None:
    # `npu-smi info -m` column layouts: 910B (4 columns, tab-indented as printed) and A3, which
    # adds Chip Phy-ID. The 910B lines are a capture quoted as verbatim in a public test file
    # (index id 68598607334); the A3 lines are as another public test file writes them (index id
    # 71321102829), spacing collapsed there: no real A3 capture of `-m` was found.
    b3 = (
        "\tNPU ID                         Chip ID                        Chip Logic ID"
        "                  Chip Name                     \n"
        "\t0                              0                              0"
        "                              Ascend 910B3\n"
        "\t0                              1                              -"
        "                              Mcu                           \n"
    )
    rows = parse_npu_smi_mapping(b3)
    assert [(r.npu_id, r.chip_id, r.logic_id, r.name) for r in rows] == [
        (0, 0, 0, "Ascend 910B3"),
        (0, 1, None, "Mcu"),
    ]
    a3 = (
        "NPU ID Chip ID Chip Logic ID Chip Phy-ID Chip Name\n"
        "0 0 0 0 Ascend910\n0 1 1 1 Ascend910\n0 2 - - Mcu\n1 0 2 2 Ascend910\n"
    )
    rows = parse_npu_smi_mapping(a3)
    assert [(r.npu_id, r.chip_id, r.logic_id, r.phy_id, r.name) for r in rows] == [
        (0, 0, 0, 0, "Ascend910"),
        (0, 1, 1, 1, "Ascend910"),
        (0, 2, None, None, "Mcu"),
        (1, 0, 2, 2, "Ascend910"),
    ]


def test_mapping_parser_on_a_real_910b4_capture() -> None:
    """``npu-smi info -m`` of an Atlas 800I A2 (8 x 910B4, info_m/01): every NPU has its chip 0
    as a device (logic id = NPU id here) and an Mcu row with ``-``; the padded header and Mcu
    rows keep their trailing spaces, the name rows have none."""
    text = (DATA / "info_m" / "01_910b4_8npu_mcu_rows_25.0.rc1.1.txt").read_text(encoding="utf-8")
    rows = parse_npu_smi_mapping(text)
    assert len(rows) == 16 and all(r.phy_id is None for r in rows)
    chips = [(r.npu_id, r.chip_id, r.logic_id, r.name) for r in rows if r.name != "Mcu"]
    assert chips == [(n, 0, n, "Ascend 910B4") for n in range(8)]
    mcus = [(r.npu_id, r.chip_id, r.logic_id) for r in rows if r.name == "Mcu"]
    assert mcus == [(n, 1, None) for n in range(8)]


def test_container_view_reads_the_selection_as_logical_ids() -> None:
    """A container that mounts only NPU 3 (fixture 15): npu-smi prints the physical id 3, while
    ASCEND_RT_VISIBLE_DEVICES counts the devices the process can see from 0, so 0 is NPU 3."""
    info = _table("15_910b3_npu3_misaligned_container_25.2.3.txt")
    sel, chip = judge_npu(info, "0", engine_pids=set())
    assert sel.subject == "selection" and sel.status == Status.WARN
    assert "device 0 = NPU 3 chip 0" in sel.reason and "npu-smi info -m" in sel.reason
    assert chip.subject == "NPU 3 chip 0 (910B3) = device 0" and chip.status == Status.PASS
    # the physical id itself still names the listed device, as on a host that shows all NPUs
    (only,) = judge_npu(info, "3")
    assert only.status == Status.PASS and only.subject == "NPU 3 chip 0 (910B3)"
    # one device visible: no reading makes 1 a device of this process
    assert judge_npu(info, "1")[0].status == Status.FAIL


def test_selection_by_position_covers_several_devices_or_none() -> None:
    """Two 300I Duo cards (fixture 14) list Device 0-3; 0,1 match directly, 0,4 cannot be
    explained by positions either, and a mapping table is never second-guessed."""
    info = _table("14_310p3_duo_2cards_mindie_24.1.0.1.txt")
    assert all(f.subject != "selection" for f in judge_npu(info, "0,1"))
    assert judge_npu(info, "0,4")[0].status == Status.FAIL
    single = _table("06_910b4_npu2_no_version.txt")  # NPU 2 alone
    sel, chip = judge_npu(single, "0")
    assert sel.status == Status.WARN and chip.subject.endswith("= device 0")
    mapping = [{"npu_id": 2, "chip_id": 0, "logic_id": 2}]
    assert judge_npu(single, "0", mapping=mapping)[0].status == Status.FAIL
