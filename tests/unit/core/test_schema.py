"""results.json has a published JSON Schema that is generated, committed and kept in sync."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelverify.report.schema import Results, schema_text
from modelverify.results import Status

DOC = Path(__file__).resolve().parents[3] / "docs" / "results.schema.json"


def test_committed_schema_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == schema_text(), (
        "docs/results.schema.json is stale: run `modelverify schema > docs/results.schema.json`"
    )


def test_schema_names_every_stage() -> None:
    schema = json.loads(schema_text())
    stages = schema["$defs"]["Stages"]["properties"]
    assert set(stages) == {"env", "compat", "serve", "api", "align", "perf", "accuracy"}
    assert schema["properties"]["version"]["default"] >= 2


def test_a_skipped_stage_and_unknown_keys() -> None:
    ok = {
        "version": 2,
        "run": {},
        "stages": {"perf": {"stage": "perf", "status": "skipped", "reason": "no server"}},
    }
    assert Results.model_validate(ok).stages.perf.status == Status.SKIPPED  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        Results.model_validate({**ok, "surprise": 1})
