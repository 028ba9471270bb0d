"""A stage that raises something we never meant to raise (a bug of ours) is recorded as a failed
stage with the traceback in its JSON, and the run still reaches the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelverify.results import StageResult
from modelverify.run import RunOptions, execute


def test_an_unexpected_exception_is_recorded_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import modelverify.env.stage as env_stage

    def broken(*_: object, **__: object) -> StageResult:
        return {"a": 1}["missing"]  # type: ignore[no-any-return]  # KeyError: a bug, not bad input

    monkeypatch.setattr(env_stage, "run_env", broken)
    opts = RunOptions(model="demo", stages=("env", "report"), runs_root=tmp_path / "runs")
    execute(opts, say=lambda _: None)
    (run,) = (tmp_path / "runs").iterdir()
    env = json.loads((run / "env.json").read_text())
    assert env["status"] == "fail"
    assert env["reason"].startswith("internal error in the env stage (KeyError: 'missing')")
    assert "Traceback (most recent call last)" in env["error"]
    assert "in broken" in env["error"]
    assert (run / "report.md").is_file()
    verdict = json.loads((run / "results.json").read_text())["verdict"]
    assert any(r.startswith("env: internal error") for r in verdict["reasons"])
