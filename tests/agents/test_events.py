"""The --events stream without an engine: schema, order, throttling, bad input, a lost reader."""

from __future__ import annotations

import io
import json
from pathlib import Path

from helpers import ROOT, run, validate_events

from modelverify.events import EventStream, Progress, StageStarted, events_schema_text
from modelverify.findings import stage_findings
from modelverify.summary import summary_schema_text


def test_committed_schemas_are_current() -> None:
    assert (ROOT / "docs" / "events.schema.json").read_text(encoding="utf-8") == (
        events_schema_text()
    ), "stale: run `modelverify schema --events > docs/events.schema.json`"
    assert (ROOT / "docs" / "summary.schema.json").read_text(encoding="utf-8") == (
        summary_schema_text()
    ), "stale: run `modelverify schema --summary > docs/summary.schema.json`"


def test_progress_is_throttled_but_the_last_one_always_goes() -> None:
    sink = io.StringIO()
    stream = EventStream(sink)
    for done in range(1, 501):
        stream.progress("perf", done, 500, "requests")
    got = [json.loads(x) for x in sink.getvalue().splitlines()]
    # 500 updates in well under a second: the first and the last
    assert [e["done"] for e in got] == [1, 500]
    stream.progress("accuracy", 1, 10, "items")  # another stage has its own clock
    assert json.loads(sink.getvalue().splitlines()[-1])["stage"] == "accuracy"


def test_a_reader_that_goes_away_drops_the_stream_not_the_run(capsys) -> None:
    sink = io.StringIO()
    stream = EventStream(sink)
    stream.emit(StageStarted, stage="env")
    sink.close()  # the reader of `--events -` closed the pipe
    stream.emit(StageStarted, stage="compat")
    stream.emit(Progress, stage="compat", done=1, total=1, unit="items")
    assert "event stream dropped" in capsys.readouterr().err


def test_findings_reader_is_total() -> None:
    odd = [
        None,
        [],
        "text",
        {"stage": 3, "status": None},
        {"stage": "api", "checks": "not a list", "findings": [None, 7, {"status": ["x"]}]},
        {"stage": "api", "status": "fail", "checks": [{"id": None, "status": "fail"}]},
        {"stage": "serve", "status": "fail", "diagnosis": {"id": None, "advice": 5}},
        {
            "stage": "env",
            "status": "warn",
            "findings": [{"subject": "selection", "status": "warn"}],
        },
    ]
    out = [stage_findings(x) for x in odd]
    assert out[:4] == [[], [], [], []]
    assert out[5][0].id == "checks" and out[5][0].status == "fail"
    assert out[6][0].id == "unknown" and out[6][0].area == "launch flags"
    assert out[7][0].area == "device"


def test_bad_input_ends_the_stream_with_the_error(tmp_path: Path) -> None:
    ev = tmp_path / "events.jsonl"
    proc = run("run", "/no/such/model", "--events", str(ev), "--out", str(tmp_path / "r"))
    assert proc.returncode == 1
    events = validate_events(ev.read_text().splitlines())
    assert [e["event"] for e in events] == ["run_ended"]
    assert events[0]["outcome"] == "error" and events[0]["exit_code"] == 1
    assert "/no/such/model does not exist" in events[0]["message"]


def test_stages_without_a_server_stream_in_order_to_the_verdict(
    tmp_path: Path, demo_model: Path
) -> None:
    """env and compat for real (no engine is launched): stdout holds only the events."""
    out = tmp_path / "run"
    proc = run("run", "demo", "--stages", "env,compat,report", "--out", str(out), "--events", "-")
    # judged on what ran (the stage list): env and compat pass on the demo model
    assert proc.returncode == 0, proc.stderr
    events = validate_events(proc.stdout.splitlines())
    order = [e["event"] for e in events]
    assert order[0] == "run_started" and order[-2:] == ["verdict", "run_ended"]
    started = [e["stage"] for e in events if e["event"] == "stage_started"]
    ended = [e for e in events if e["event"] == "stage_ended"]
    assert started == ["env", "compat", "report"] == [e["stage"] for e in ended]
    for e in ended[:2]:
        assert Path(e["path"]) == out / f"{e['stage']}.json"
        assert json.loads(Path(e["path"]).read_text())["status"] == e["status"]
    verdict = events[-2]
    assert verdict["overall"] == "full" and verdict["exit_code"] == 0
    assert str(out / "report.md") in verdict["report"]
    assert verdict["reasons"] == []
    assert events[-1]["outcome"] == "finished" and events[-1]["exit_code"] == 0
    # the plain lines went to stderr
    assert "verdict: full" in proc.stderr and "verdict:" not in proc.stdout
