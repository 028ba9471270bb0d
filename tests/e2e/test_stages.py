"""Stages against one shared real server, and ``--base-url`` attach mode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from modelverify.accuracy.stage import AccuracyConfig, run_accuracy
from modelverify.api.stage import run_api
from modelverify.perf.stage import PerfConfig, run_perf
from modelverify.results import Status

pytestmark = pytest.mark.engine


def test_api_checks_pass_on_the_healthy_engine(served) -> None:
    res = run_api(served.base_url, served.model, expected_max_model_len=2048)
    by_id = {c.id: c for c in res.checks}
    assert len(res.checks) == 21 and res.status == Status.PASS, res.reason
    # a batched flip at a near tie is honest (vLLM is not batch-invariant): ℹ️, with its margin
    ties = by_id["concurrency.consistency"]
    assert ties.status == Status.PASS or (
        ties.status == Status.NOT_JUDGED and "each at a near tie" in ties.reason
    ), ties.reason
    # every other check passes on a real vLLM, chat.basic included (a 135M model that does not
    # say "Paris" is an observation, not a warning)
    others = [c for c in res.checks if c.id != "concurrency.consistency"]
    assert [(c.id, c.reason) for c in others if c.status != Status.PASS] == []


def test_perf_records_streaming_metrics(served, tmp_path: Path) -> None:
    cfg = PerfConfig(sequential_requests=2, concurrent_requests=4, concurrency=2, max_tokens=16)
    res = run_perf(served.base_url, served.model, tmp_path / "p.jsonl", config=cfg)
    assert res.concurrent is not None and res.concurrent.successes == 4
    s = res.concurrent.streaming
    assert s.ttft_ms.count == 4 and s.tpot_ms.count == 4
    assert s.e2el_ms.min is not None and s.ttft_ms.max is not None and s.e2el_ms.min > 0
    records = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert len(records) == 6
    # ignore_eos is not set, so a stop is allowed; the token count must come from usage.
    assert all(r["output_tokens"] is not None and 1 <= r["output_tokens"] <= 16 for r in records)


def test_accuracy_resume_reasks_nothing(served, tmp_path: Path) -> None:
    jsonl = tmp_path / "acc.jsonl"
    cfg = AccuracyConfig(limit=3, max_tokens=128, concurrency=3)
    first = run_accuracy(served.base_url, served.model, jsonl, config=cfg)
    assert first.answered == 3 and first.resumed_items == 0
    lines = jsonl.read_text().splitlines()
    second = run_accuracy(served.base_url, served.model, jsonl, config=cfg)
    assert second.resumed_items == 3 and second.answered == 3
    assert jsonl.read_text().splitlines() == lines  # nothing new asked
    assert second.correct == first.correct


def test_attach_with_base_url_launches_nothing(served, tmp_path: Path) -> None:
    out = tmp_path / "attach"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelverify",
            "run",
            served.model,
            "--base-url",
            served.base_url,
            "--limit",
            "2",
            "--max-tokens",
            "128",
            # align has its own tests on this engine's module peers; here the attach path
            "--stages",
            "env,compat,serve,api,perf,accuracy,report",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=570,
    )
    assert proc.returncode in (0, 1, 2), proc.stderr[-2000:]
    assert not (out / "server.log").exists() and not (out / "server.json").exists()
    serve = json.loads((out / "serve.json").read_text())
    assert serve["mode"] == "attach"
    for stage in ("api", "perf", "accuracy"):
        # nothing judged these figures (no SLO, no reference score): ℹ️ not judged
        assert json.loads((out / f"{stage}.json").read_text())["status"] in ("pass", "not_judged")
    assert "## 5." in (out / "report.md").read_text()


def test_attach_reads_the_given_server_log(served, tmp_path: Path) -> None:
    """--server-log: an attached server's start-up log fills the service section."""
    out = tmp_path / "attach-log"
    base = [sys.executable, "-m", "modelverify", "run", served.model, "--out", str(out)]
    proc = subprocess.run(
        [
            *base,
            "--base-url",
            served.base_url,
            "--server-log",
            str(served.log),
            "--stages",
            "serve,report",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode in (0, 1, 2), proc.stderr[-2000:]
    serve = json.loads((out / "serve.json").read_text())
    assert serve["mode"] == "attach"
    assert serve["log_facts"]["kv_cache_tokens"] > 0
    assert serve["log_facts"]["world_size"] == 1
    assert (out / "server.log").is_file()
    report = (out / "report.en.md").read_text() if (out / "report.en.md").exists() else ""
    report += (out / "report.md").read_text()
    assert "KV cache (tokens)" in report
    bad = subprocess.run(
        [*base, "--server-log", str(served.log)], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode != 0 and "--server-log" in bad.stderr and "--base-url" in bad.stderr


def test_api_command_against_a_running_server(served, tmp_path: Path) -> None:
    """`modelverify api` as a user runs it: the max model length it is told is checked."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelverify",
            "api",
            "--base-url",
            served.base_url,
            "--max-model-len",
            "4096",  # the server runs with 2048
            "--out",
            str(tmp_path / "api"),
        ],
        capture_output=True,
        text=True,
        timeout=570,
    )
    # a failed check fails the stage, and a stage run alone exits 2 on a failure
    assert proc.returncode == 2, proc.stderr[-2000:]
    res = json.loads(proc.stdout)
    by_id = {c["id"]: c for c in res["checks"]}
    assert len(by_id) >= 21
    assert by_id["models.list"]["status"] == "fail"
    assert "max_model_len 2048 != configured 4096" in by_id["models.list"]["reason"]
    assert json.loads((tmp_path / "api" / "api.json").read_text())["status"] == "fail"


def test_compat_demo_judges_what_run_demo_serves(demo_model: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "modelverify", "compat", "demo", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout)
    assert res["verdict"]["word"] == "supported"
    # the demo's own flags and cache size, as `run demo` launches it (not this host's RAM)
    mem = res["memory"]
    assert mem["max_model_len"] == 2048 and mem["budget_source"].startswith(
        "VLLM_CPU_KVCACHE_SPACE"
    )
    assert mem["predicted_kv_tokens"] == 1 * 2**30 // 23040 // 128 * 128
