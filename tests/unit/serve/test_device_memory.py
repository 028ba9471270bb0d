"""Device memory after load: the npu-smi / nvidia-smi process table matched to the engine's
process tree, on recorded real tables."""

from __future__ import annotations

from pathlib import Path

from modelverify.env.npu_smi import parse_npu_smi
from modelverify.env.nvidia_smi import parse_nvidia_smi
from modelverify.report.sections import device_memory_table
from modelverify.serve.stage import match_device_memory

DATA = Path(__file__).parents[2] / "data"


def test_seed_engine_pid_is_found_on_its_npu(shared_dir: Path) -> None:
    seed = (shared_dir / "seed" / "verification-report-qwen3.5-2b-ascend.txt").read_text(
        encoding="utf-8"
    )
    info = parse_npu_smi(seed[seed.index("+----") :]).model_dump()
    rows, note = match_device_memory("npu", info, {2756, 2700}, [])
    assert note is None
    assert [(r.device, r.pid, r.name, r.memory_mib) for r in rows] == [
        ("NPU 3 chip 0", 2756, "VLLMEngineCor", 14973)
    ]
    text = device_memory_table({"device_memory": [r.model_dump() for r in rows]}, "en")
    assert text is not None and "NPU 3 chip 0: 14,973 MiB" in text


def test_a3_tensor_parallel_engine_spans_chips() -> None:
    info = parse_npu_smi(
        (DATA / "npu_smi" / "01_a3_16chip_blank_proc_names_25.2.0.txt").read_text(encoding="utf-8")
    ).model_dump()
    rows, note = match_device_memory("npu", info, {929673, 930242}, [])
    assert note is None
    got = sorted((r.device, r.memory_mib) for r in rows)
    assert got == [
        ("NPU 0 chip 0", 141),
        ("NPU 0 chip 0", 141),
        ("NPU 1 chip 0 = device 2", 58540),
        ("NPU 1 chip 1 = device 3", 58780),
    ]


def test_no_pid_of_ours_lists_everything_with_a_note() -> None:
    info = parse_nvidia_smi(
        (DATA / "nvidia_smi" / "06_r570_3gpu_l40s_truncated_process.txt").read_text(
            encoding="utf-8"
        )
    ).model_dump()
    rows, note = match_device_memory("cuda", info, {1, 2}, [])
    assert [(r.device, r.pid, r.memory_mib, r.ours) for r in rows] == [
        ("GPU 0", 3330776, 41504, False)
    ]
    assert note is not None and "pid namespace" in note
    rows, note = match_device_memory("cuda", info, {3330776}, [])
    assert [r.ours for r in rows] == [True] and note is None
