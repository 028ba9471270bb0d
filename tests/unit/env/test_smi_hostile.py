"""Hostile numbers, ids and cell lengths in real npu-smi / nvidia-smi tables: a value or our
ParseError, never OverflowError / ValueError, and never a quadratic regex."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest

from modelverify.env.npu_smi import parse_npu_smi
from modelverify.env.nvidia_smi import parse_nvidia_smi, parse_query_gpu_csv
from modelverify.errors import ParseError

DATA = Path(__file__).resolve().parents[2] / "data"
NPU = (DATA / "npu_smi" / "06_910b4_npu2_no_version.txt").read_text()
NVIDIA = (DATA / "nvidia_smi" / "07_r570_h100_mig_disabled.txt").read_text()
CSV = "0, NVIDIA H100, GPU-1, 10, 81559, 0, 30, 70.5, 700, N/A, 00000000:01:00.0, P0"


@pytest.mark.parametrize("bad", ["inf", "1e400", "9" * 400, "nan"])
def test_npu_smi_power_that_is_no_number_is_a_parse_error(bad: str) -> None:
    assert parse_npu_smi(NPU).chips[0].power_w == 88.9  # the recorded value
    with pytest.raises(ParseError, match="is not a number"):
        parse_npu_smi(NPU.replace("88.9", bad.ljust(4)))
    with pytest.raises(ParseError, match="is not a number"):
        parse_npu_smi(NPU.replace("2858", bad.ljust(4)))  # an int field: int(inf) raised


def test_npu_smi_id_that_isdigit_but_is_no_int_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="NPU-id Name"):
        parse_npu_smi(NPU.replace("| 2     910B4", "| ²     910B4"))


@pytest.mark.parametrize("bad", ["inf", "1e400", "9" * 400])
def test_nvidia_smi_numbers_that_are_no_reading_become_none(bad: str) -> None:
    info = parse_nvidia_smi(NVIDIA)
    used = info.gpus[0].memory_used_mib
    assert used is not None
    hostile = parse_nvidia_smi(NVIDIA.replace(f"{used}MiB", f"{bad}MiB", 1))
    assert hostile.gpus[0].memory_used_mib is None
    got = parse_query_gpu_csv(CSV.replace("81559", bad).replace("70.5", bad))
    assert got[0].memory_total_mib is None and got[0].power_w is None


def test_nvidia_smi_index_that_isdigit_but_is_no_int_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_query_gpu_csv(CSV.replace("0,", "²,", 1))


@pytest.mark.parametrize("size", [20_000, 80_000])
@pytest.mark.parametrize("filler", ["x", "1"])
def test_long_cells_are_linear(size: int, filler: str) -> None:
    # 20k-char cells took 2-13 s and 80k over a minute in the pair/number regexes before
    for parse, text, anchor in (
        (parse_npu_smi, NPU, "2858 "),
        (parse_nvidia_smi, NVIDIA, "MiB /"),
    ):
        cell = filler * (size // len(filler))
        t0 = time.perf_counter()
        with contextlib.suppress(ParseError):
            parse(text.replace(anchor, anchor + cell, 1))
        assert time.perf_counter() - t0 < 1.0
