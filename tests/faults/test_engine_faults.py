"""Faults on the real CPU engine: the engine dies mid-stage; modelverify is interrupted
(SIGINT, SIGTERM), killed (-9) and resumed; start-up too slow; port taken; API key."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from modelverify.serve.procs import alive, descendants, session_members

pytestmark = pytest.mark.engine


def mv(*args: str) -> list[str]:
    return [sys.executable, "-m", "modelverify", *args]


def _stderr_lines(proc: subprocess.Popen[str]) -> queue.Queue[str | None]:
    """The process's stderr lines, read by a thread (None at the end): a deadline must fire
    even when no line arrives, and a chatty process must never block on an unread pipe."""
    q: queue.Queue[str | None] | None = getattr(proc, "_mv_lines", None)
    if q is None:
        q = queue.Queue()
        assert proc.stderr is not None
        stream = proc.stderr

        def pump() -> None:
            for line in stream:
                q.put(line)
            q.put(None)

        threading.Thread(target=pump, daemon=True).start()
        proc._mv_lines = q  # type: ignore[attr-defined]
    return q


def wait_for_line(proc: subprocess.Popen[str], prefix: str, timeout: float = 540) -> None:
    q = _stderr_lines(proc)
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = q.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no {prefix!r} line in {timeout:g} s") from None
        if line is None:
            raise AssertionError(f"process ended before {prefix!r}")
        if line.startswith(prefix):
            return


def engine_pid(run_dir: Path) -> int:
    return int(json.loads((run_dir / "server.json").read_text())["pid"])


def engine_pids_left(run_dir: Path) -> list[int]:
    """The engine's tree and session members still alive (an orphaned EngineCore included)."""
    pid = engine_pid(run_dir)
    return sorted({p for p in [pid, *descendants(pid), *session_members(pid)] if alive(p)})


@pytest.mark.parametrize(
    ("sig", "code_expected"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
    ids=["ctrl-c", "sigterm"],
)
def test_ctrl_c_during_perf_keeps_results_and_stops_the_engine(
    tmp_path: Path, demo_model: Path, sig: signal.Signals, code_expected: int
) -> None:
    out = tmp_path / "run"
    proc = subprocess.Popen(
        mv("run", "demo", "--stages", "env,compat,serve,perf", "--out", str(out)),
        stderr=subprocess.PIPE,
        text=True,
        # A terminal delivers Ctrl-C with SIGINT's default action; a harness started in the
        # background (`cmd &`) would hand the child an ignored SIGINT instead.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    wait_for_line(proc, "[perf] running")
    time.sleep(2)
    t0 = time.monotonic()
    proc.send_signal(sig)
    code = proc.wait(timeout=60)
    took = time.monotonic() - t0
    assert code == code_expected
    assert took < 30
    for stage in ("env", "compat", "serve"):
        assert json.loads((out / f"{stage}.json").read_text())["status"] in ("pass", "warn")
    assert not (out / "perf.json").exists()
    assert engine_pids_left(out) == []


def test_engine_killed_mid_perf_fails_fast_and_keeps_results(
    tmp_path: Path, demo_model: Path
) -> None:
    out = tmp_path / "run"
    proc = subprocess.Popen(
        mv(
            "run",
            "demo",
            "--stages",
            "env,serve,perf,accuracy,report",
            "--limit",
            "2",
            "--out",
            str(out),
        ),
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_line(proc, "[perf] running")
    time.sleep(1)
    pid = engine_pid(out)
    for p in [pid, *descendants(pid)]:
        os.kill(p, signal.SIGKILL)
    t0 = time.monotonic()
    code = proc.wait(timeout=120)
    assert time.monotonic() - t0 < 30  # detected within seconds, not after every retry
    assert code == 2  # not adapted
    perf = json.loads((out / "perf.json").read_text())
    assert perf["status"] == "fail" and "engine process exited" in perf["reason"]
    acc = json.loads((out / "accuracy.json").read_text())
    assert acc["status"] == "skipped" and "engine process is gone" in acc["reason"]
    for stage in ("env", "serve"):
        assert json.loads((out / f"{stage}.json").read_text())["status"] == "pass"
    assert "## 7." in (out / "report.md").read_text()


def test_kill_9_mid_accuracy_then_resume_reasks_nothing(tmp_path: Path, demo_model: Path) -> None:
    out = tmp_path / "run"
    args = [
        "run",
        "demo",
        "--stages",
        "env,serve,accuracy,report",
        "--limit",
        "8",
        "--eval-concurrency",
        "2",
        "--max-tokens",
        "96",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(mv(*args), stderr=subprocess.PIPE, text=True)
    wait_for_line(proc, "[accuracy] running")
    jsonl = out / "accuracy.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if jsonl.exists() and len(jsonl.read_text().splitlines()) >= 2:
            break
        time.sleep(0.2)
    proc.kill()  # kill -9: no cleanup runs, the engine (own session) is orphaned
    proc.wait()
    orphan = engine_pid(out)
    assert alive(orphan)
    before = [json.loads(x) for x in jsonl.read_text().splitlines() if x.endswith("}")]
    answered_before = {r["index"] for r in before if "error" not in r}
    assert answered_before

    res = subprocess.run(
        mv("run", "--resume", str(out)), capture_output=True, text=True, timeout=570
    )
    assert res.returncode in (0, 1, 2), res.stderr[-2000:]
    assert "stopping the engine left running" in res.stderr
    assert not alive(orphan) and session_members(orphan) == []  # EngineCore included
    assert "[env] kept from the earlier run" in res.stderr
    after = [json.loads(x) for x in jsonl.read_text().splitlines()]
    asked = [r["index"] for r in after if "error" not in r]
    assert sorted(set(asked)) == list(range(8))
    assert len(asked) == len(set(asked))  # no item answered twice: nothing re-asked
    acc = json.loads((out / "accuracy.json").read_text())
    assert acc["answered"] == 8 and acc["resumed_items"] == len(answered_before)
    new_pid = engine_pid(out)
    assert not alive(new_pid) and session_members(new_pid) == []


def test_kill_9_mid_perf_then_resume_keeps_the_finished_load_test(
    tmp_path: Path, demo_model: Path
) -> None:
    out = tmp_path / "run"
    proc = subprocess.Popen(
        mv("run", "demo", "--stages", "env,serve,perf", "--out", str(out)),
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_line(proc, "[perf] running")
    reqs, ends = out / "perf_requests.jsonl", out / "perf_tests.jsonl"

    def concurrent_started() -> bool:
        return ends.exists() and '"concurrent"' in reqs.read_text()

    deadline = time.monotonic() + 300
    while not concurrent_started():
        assert time.monotonic() < deadline and proc.poll() is None, "perf never reached test 2"
        time.sleep(0.05)
    proc.kill()  # mid concurrent test: the sequential one is finished and recorded
    proc.wait()
    orphan = engine_pid(out)
    before = [json.loads(x) for x in reqs.read_text().splitlines() if x.endswith("}")]
    seq_before = [r for r in before if r["test"] == "sequential"]
    cut = [r for r in before if r["test"] == "concurrent"]
    assert len(seq_before) == 10 and 0 < len(cut) < 50

    res = subprocess.run(
        mv("run", "--resume", str(out)), capture_output=True, text=True, timeout=570
    )
    assert res.returncode in (0, 1), res.stderr[-2000:]
    assert not alive(orphan) and session_members(orphan) == []
    after = [json.loads(x) for x in reqs.read_text().splitlines()]
    # the finished test's samples are the same records, not re-asked ones
    assert [r for r in after if r["test"] == "sequential"] == seq_before
    assert len([r for r in after if r["test"] == "concurrent"]) == 50
    partial = [
        json.loads(x) for x in (out / "perf_requests.partial.jsonl").read_text().splitlines()
    ]
    assert partial == cut  # the cut-short test's samples are kept aside, not counted
    perf = json.loads((out / "perf.json").read_text())
    assert perf["resumed_tests"] == ["sequential"]
    assert perf["sequential"]["requests"] == 10 and perf["concurrent"]["requests"] == 50
    new_pid = engine_pid(out)
    assert not alive(new_pid) and session_members(new_pid) == []


def test_slow_start_past_the_timeout_stops_the_engine(tmp_path: Path, demo_model: Path) -> None:
    out = tmp_path / "run"
    proc = subprocess.run(
        mv("run", "demo", "--stages", "serve", "--startup-timeout", "3", "--out", str(out)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith("error: the engine did not start: ")
    serve = json.loads((out / "serve.json").read_text())
    assert serve["status"] == "fail" and "not ready after 3 s" in serve["reason"]
    pid = engine_pid(out)
    assert not alive(pid) and not [p for p in descendants(pid) if alive(p)]
    assert session_members(pid) == []  # nothing re-parented to init survives either


def test_port_in_use_is_refused_before_launch(tmp_path: Path, demo_model: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = subprocess.run(
            mv(
                "run",
                "demo",
                "--stages",
                "serve",
                "--out",
                str(tmp_path / "run"),
                "--",
                "--port",
                str(port),
            ),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in proc.stderr
    assert not (tmp_path / "run" / "server.json").exists()


def test_api_key_is_used_by_every_stage_and_never_written(tmp_path: Path, demo_model: Path) -> None:
    key = "sk-modelverify-test-7f3a9c"
    out = tmp_path / "run"
    proc = subprocess.run(
        mv(
            "run",
            "demo",
            "--stages",
            "env,serve,api,report",
            "--out",
            str(out),
            "--",
            "--api-key",
            key,
        ),
        capture_output=True,
        text=True,
        timeout=570,
    )
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    api = json.loads((out / "api.json").read_text())
    assert api["status"] in ("pass", "warn")  # the stages authenticated with the engine's key
    assert key not in proc.stdout + proc.stderr
    leaks = [p.name for p in out.iterdir() if p.is_file() and key in p.read_text(errors="replace")]
    assert leaks == []
    assert "***" in (out / "server.log").read_text()
