"""The published shape of ``results.json``: generated from the same pydantic models the stages
write, so the schema cannot drift from the data. ``modelverify schema`` prints it;
``docs/results.schema.json`` is the committed copy (a test keeps it equal)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from modelverify.accuracy.stage import AccuracyResult
from modelverify.align.stage import AlignResult
from modelverify.api.stage import ApiResult
from modelverify.compat.stage import CompatResult
from modelverify.env.stage import EnvResult
from modelverify.perf.stage import PerfResult
from modelverify.results import RESULTS_VERSION
from modelverify.serve.stage import ServeResult


class Stages(BaseModel):
    model_config = ConfigDict(extra="forbid")

    env: EnvResult | None = None
    compat: CompatResult | None = None
    serve: ServeResult | None = None
    api: ApiResult | None = None
    align: AlignResult | None = None
    perf: PerfResult | None = None
    accuracy: AccuracyResult | None = None


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overall: str  # full / partial / none
    reasons: list[str] = []


class Results(BaseModel):
    """results.json: every stage's result as written, plus how the run was made and the verdict."""

    model_config = ConfigDict(extra="forbid", title="modelverify results")

    version: int = RESULTS_VERSION
    run: dict[str, Any] = {}
    stages: Stages = Stages()
    verdict: Verdict | None = None


def results_schema() -> dict[str, Any]:
    schema = Results.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://modelverify.dev/schema/results-v{RESULTS_VERSION}.json"
    return schema


def schema_text() -> str:
    return json.dumps(results_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


__all__ = ["Results", "results_schema", "schema_text"]
