"""On the real CPU engine (demo model): a run's --events stream end to end, a killed run's
stream, and ``summary`` on real failing runs (an engine that dies at start-up, a device
selection the host lacks)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from helpers import ROOT, mv, run, validate_events

pytestmark = pytest.mark.engine


def test_demo_run_streams_every_stage_in_order_to_the_verdict(
    tmp_path: Path, demo_model: Path
) -> None:
    out = tmp_path / "run"
    proc = run(
        "run", "demo", "--stages", "env,compat,serve,api,report", "--out", str(out),
        "--events", "-", timeout=900,
    )  # fmt: skip
    events = validate_events(proc.stdout.splitlines())
    order = [e["event"] for e in events]
    assert order[0] == "run_started" and order[-2:] == ["verdict", "run_ended"]
    started = [e["stage"] for e in events if e["event"] == "stage_started"]
    ended = [e for e in events if e["event"] == "stage_ended"]
    stages = ["env", "compat", "serve", "api", "report"]
    assert started == stages == [e["stage"] for e in ended]
    for e in ended[:-1]:  # each stage's end points at the JSON it wrote, with its status
        assert json.loads(Path(e["path"]).read_text())["status"] == e["status"]
    # a stage's findings come between its start and its end
    for i, e in enumerate(events):
        if e["event"] == "finding":
            before = [x for x in events[:i] if x["event"] in ("stage_started", "stage_ended")]
            assert before[-1] == {**before[-1], "event": "stage_started", "stage": e["stage"]}
    verdict = events[-2]
    # judged on the stages it was asked to run, which all pass on the healthy demo
    assert verdict["overall"] == "full"
    assert verdict["exit_code"] == proc.returncode == 0
    assert str(out / "results.json") in verdict["report"]
    assert events[-1] == {**events[-1], "outcome": "finished", "exit_code": 0}


def test_killed_run_ends_its_stream_saying_so_and_summary_says_resume(
    tmp_path: Path, demo_model: Path
) -> None:
    out, ev = tmp_path / "run", tmp_path / "events.jsonl"
    proc = subprocess.Popen(
        mv("run", "demo", "--stages", "env,serve,api", "--out", str(out), "--events", str(ev)),
        stderr=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    # the file is read while the run goes: each event is flushed as it happens
    while '"stage":"serve"' not in (ev.read_text() if ev.exists() else ""):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.2)
    time.sleep(2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 143
    events = validate_events(ev.read_text().splitlines())
    assert events[-1]["event"] == "run_ended"
    assert events[-1] == {**events[-1], "outcome": "killed", "signal": "SIGTERM", "exit_code": 143}
    assert "verdict" not in [e["event"] for e in events]
    s = json.loads(run("summary", str(out), "--json").stdout)
    assert not s["finished"] and s["exit_code"] is None and "api" in s["missing_stages"]
    assert s["next"][-1]["command"] == f"modelverify run --resume {out}"


def test_summary_of_an_engine_that_died_at_startup_points_at_memory(
    tmp_path: Path, demo_model: Path
) -> None:
    out = tmp_path / "run"
    proc = run(
        "run", "demo", "--stages", "env,serve,report", "--out", str(out), "--",
        "--max-model-len", "999999", timeout=600,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    s = json.loads(run("summary", str(out), "--json").stdout)
    assert s["exit_code"] == 1 and s["verdict"] == "unjudged"  # the engine never started
    f = next(f for f in s["findings"] if f["stage"] == "serve")
    assert f["id"] == "max_model_len_over_model_limit" and f["area"] == "memory"
    assert str(out / "server.log") in f["look_at"]
    first = s["next"][0]["command"]
    assert first.startswith(f"modelverify compat {demo_model} -- ") and "999999" in first
    text = run("summary", str(out)).stdout
    assert "✗ serve max_model_len_over_model_limit [memory]" in text


def test_summary_of_a_device_selection_the_host_lacks(tmp_path: Path, demo_model: Path) -> None:
    """A stand-in npu-smi printing a real recorded 16-NPU table (as tests/faults does), and
    ASCEND_RT_VISIBLE_DEVICES=16: the run stops before launch; summary names the variable."""
    table = ROOT / "tests" / "data" / "npu_smi" / "07_910b2c_16npu_two_digit_ids_24.1.0.txt"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "npu-smi"
    fake.write_text(f'#!/bin/sh\n[ "$2" = "-m" ] && exit 1\ncat "{table}"\n')
    fake.chmod(0o755)
    out, ev = tmp_path / "run", tmp_path / "events.jsonl"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "ASCEND_RT_VISIBLE_DEVICES": "16",
    }
    proc = run(
        "run", "demo", "--stages", "env,serve", "--out", str(out), "--events", str(ev),
        timeout=300, env=env,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-2000:]
    events = validate_events(ev.read_text().splitlines())
    assert events[-1]["outcome"] == "error" and "ASCEND_RT_VISIBLE_DEVICES" in events[-1]["message"]
    s = json.loads(run("summary", str(out), "--json", env=env).stdout)
    f = next(f for f in s["findings"] if f["stage"] == "env" and f["id"] == "selection")
    assert f["status"] == "fail" and f["area"] == "device"
    assert "ASCEND_RT_VISIBLE_DEVICES" in f["reason"]
    assert s["next"][0]["command"].startswith("modelverify env")
    assert s["missing_stages"] == ["serve"]
    assert s["next"][-1]["command"] == f"modelverify run --resume {out}"
