"""nvidia-smi parsing on real recorded R535 tables (tests/data/nvidia_smi, sources in SOURCES.md)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelverify.env.nvidia_smi import parse_nvidia_smi, parse_query_apps_csv, parse_query_gpu_csv
from modelverify.errors import ParseError

DATA = Path(__file__).resolve().parents[2] / "data" / "nvidia_smi"


def test_r535_power_na_and_truncated_process_names() -> None:
    info = parse_nvidia_smi(
        (DATA / "01_r535_2gpu_gtx_truncated_name.txt").read_text(encoding="utf-8")
    )
    assert (info.nvidia_smi_version, info.driver_version, info.cuda_version) == (
        "535.183.01",
        "535.183.01",
        "12.2",
    )
    g0, g1 = info.gpus
    # Read off the table: "| 57%   85C    P0              N/A /  75W |   2528MiB /  4096MiB |     93%      Default |"
    assert (g0.index, g0.name, g0.bus_id) == (0, "NVIDIA GeForce GTX 1050 Ti", "00000000:03:00.0")
    assert (g0.fan_pct, g0.temp_c, g0.perf_state, g0.power_w, g0.power_cap_w) == (
        57,
        85,
        "P0",
        None,
        75,
    )
    assert (g0.memory_used_mib, g0.memory_total_mib, g0.util_pct) == (2528, 4096, 93)
    assert (g1.name, g1.power_w, g1.power_cap_w, g1.memory_used_mib, g1.util_pct) == (
        "NVIDIA GeForce GTX 1060 6GB",
        49,
        120,
        5226,
        100,
    )
    assert [(p.gpu, p.pid, p.type, p.memory_mib) for p in info.processes] == [
        (0, 2421, "G", 30),
        (0, 2767, "G", 1),
        (0, 190709, "C", 2492),
        (1, 2421, "G", 4),
        (1, 7699, "C", 5218),
    ]
    assert info.processes[2].name == "...unners/cuda_v12/ollama_llama_server"


def test_r535_display_on_and_idle_gpus() -> None:
    info = parse_nvidia_smi((DATA / "02_r535_2gpu_rtx3090_desktop.txt").read_text(encoding="utf-8"))
    assert [
        (g.index, g.fan_pct, g.temp_c, g.power_w, g.power_cap_w, g.memory_used_mib)
        for g in info.gpus
    ] == [(0, 0, 29, 38, 350, 513), (1, 0, 25, 17, 370, 12)]
    assert info.gpus[0].bus_id == "00000000:01:00.0"
    assert (
        len(info.processes) == 5
        and info.processes[3].name == "...sion,SpareRendererForSitePerProcess"
    )


def test_csv_query_interface() -> None:
    # Format documented by `nvidia-smi --help-query-gpu`; values here are illustrative inputs.
    gpus = parse_query_gpu_csv(
        "0, NVIDIA A100-SXM4-80GB, GPU-abc, 1024, 81920, 12, 40, 61.50, 400.00, [N/A], 00000000:07:00.0, P0\n"
    )
    assert gpus[0].uuid == "GPU-abc" and gpus[0].fan_pct is None and gpus[0].power_w == 61.5
    procs = parse_query_apps_csv("GPU-abc, 4242, python, 1000\n", {"GPU-abc": 0})
    assert (procs[0].gpu, procs[0].pid, procs[0].memory_mib) == (0, 4242, 1000)
    with pytest.raises(ParseError, match="expected 12 fields"):
        parse_query_gpu_csv("0, only, three\n")


def test_text_without_a_table_is_an_error() -> None:
    with pytest.raises(ParseError, match="no GPU table"):
        parse_nvidia_smi(
            "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n"
        )


def _table(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def test_mig_block_is_not_a_gpu() -> None:
    # A MIG block used to yield extra GPUs named like "7 0 0" with a bus id "5MiB".
    info = parse_nvidia_smi(_table("10_r570_gh200_mig_processes_gi_ci.txt"))
    assert [(g.index, g.name) for g in info.gpus] == [(0, "NVIDIA GH200 480GB")]
    assert [(d.gi_id, d.ci_id, d.mig_dev) for d in info.mig_devices] == [
        (1, 0, 0),
        (5, 0, 1),
        (6, 0, 2),
    ]


def test_unreadable_process_row_is_an_error_naming_the_line() -> None:
    text = _table("06_r570_3gpu_l40s_truncated_process.txt").replace(
        "|    0   N/A  N/A         3330776      C   ...ma.cpp/build/bin/llama-server      41504MiB |",
        "|    0   N/A  N/A         3330776      C   ...ma.cpp/build/bin/llama-server      41504 MB |",
    )
    with pytest.raises(ParseError, match=r"process row.*line 28: .*3330776"):
        parse_nvidia_smi(text)


def test_header_with_unreadable_gpu_rows_is_an_error_not_an_empty_list() -> None:
    text = _table("07_r570_h100_mig_disabled.txt").replace(
        "|   0  NVIDIA H100 80GB HBM3          On  |", "|   ?  NVIDIA H100 80GB HBM3          On  |"
    )
    with pytest.raises(ParseError, match=r"expected a GPU row.*line 10"):
        parse_nvidia_smi(text)
    # a table cut off after the column heads has no GPU to report: say so
    head = "".join(_table("07_r570_h100_mig_disabled.txt").splitlines(keepends=True)[:9])
    with pytest.raises(ParseError, match="no readable GPU row"):
        parse_nvidia_smi(head)


def test_gpu_row_without_its_second_row_is_an_error() -> None:
    lines = _table("07_r570_h100_mig_disabled.txt").splitlines(keepends=True)
    with pytest.raises(ParseError, match=r"without its 'Fan Temp Perf' row.*line 10"):
        parse_nvidia_smi("".join(lines[:10] + lines[13:]))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="| +=-0123456789./%WCMiBPNAOnfGPUNameDriver Version:\n", max_size=2000))
def test_any_text_parses_or_raises_our_error(text: str) -> None:
    with contextlib.suppress(ParseError):
        parse_nvidia_smi(text)
