"""Resource use under load: the engine tree's CPU from /proc (checked on a real busy process)
and device rows from a recorded npu-smi table run through the live sampler."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from modelverify.perf.usage import UsageSampler, cpu_seconds, read_npu
from modelverify.report.i18n import strings
from modelverify.report.sections import usage_table

DATA = Path(__file__).resolve().parents[2] / "data" / "npu_smi"
TABLE = "04_910a_8npu_memory_and_hbm_24.1.0.txt"


def test_cpu_of_a_busy_process_tree_is_sampled() -> None:
    # a parent that spins and a child that spins: the tree, not just the parent, is counted
    code = "import os, time\nif os.fork() == 0:\n    pass\nt = time.time()\nwhile time.time() - t < 4: pass\n"
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(0.3)
        with UsageSampler(proc.pid, "cpu", interval_s=0.5) as s:
            time.sleep(2.2)
        u = s.summary()
    finally:
        proc.wait(timeout=10)
    assert u.samples >= 3 and u.device_source is None and u.devices == []
    # two spinning processes on a 2-core host: well over one core's worth at the peak
    assert u.cpu_pct_max is not None and u.cpu_pct_max > 120, s.cpu_pct
    assert u.rss_max_bytes is not None and u.rss_max_bytes > 1_000_000


def test_cpu_seconds_of_a_gone_process_is_none() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert cpu_seconds(proc.pid) is None
    assert cpu_seconds(os.getpid()) is not None


def test_npu_rows_come_from_the_live_tool(tmp_path: Path, monkeypatch) -> None:
    """A stand-in npu-smi on PATH prints a real recorded 910 table each time it is asked."""
    fake = tmp_path / "npu-smi"
    fake.write_text(f'#!/bin/sh\ncat "{DATA / TABLE}"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    with UsageSampler(None, "npu", interval_s=0.2) as s:
        time.sleep(0.9)
    u = s.summary()
    want = json.loads((DATA / "expected.json").read_text())["tables"][TABLE]["chips"]
    fields = json.loads((DATA / "expected.json").read_text())["chip_fields"]
    chips = [dict(zip(fields, c, strict=True)) for c in want]
    assert u.device_source == "npu-smi" and u.memory_unit == "MB" and u.samples >= 2
    assert [d.device for d in u.devices] == [f"NPU {c['npu_id']} chip 0" for c in chips]
    for d, c in zip(u.devices, chips, strict=True):  # HBM, not the card's DDR, on a 910
        assert (d.util_pct_max, d.memory_used_max, d.memory_total) == (
            c["aicore_pct"],
            c["hbm_used_mb"],
            c["hbm_total_mb"],
        )
    md = usage_table(u.model_dump(mode="json"), strings("zh"))
    assert md is not None and "NPU 1 chip 0 (npu-smi)" in md
    assert f"{chips[0]['hbm_used_mb']:,} / {chips[0]['hbm_total_mb']:,} MB" in md


def test_a_failing_device_tool_is_reported_not_raised(tmp_path: Path, monkeypatch) -> None:
    fake = tmp_path / "npu-smi"
    fake.write_text("#!/bin/sh\necho 'stand-in failure' >&2\nexit 8\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    with UsageSampler(None, "npu", interval_s=0.2) as s:
        time.sleep(0.5)
    u = s.summary()
    assert u.device_error is not None and "npu-smi exited 8" in u.device_error
    assert read_npu((DATA / TABLE).read_text())  # the same table parses directly
    md = usage_table(u.model_dump(mode="json"), strings("en"))
    assert md is not None and "device sampling stopped (`npu-smi`)" in md
