"""The result model shared by every stage.

Each stage returns a subclass of :class:`StageResult`; the run directory stores it as
``<stage>.json`` the moment the stage ends. Results are versioned JSON other tools can read.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

RESULTS_VERSION = 2  # 2: compat holds the model, registry, matrix and memory fit


class Status(str, Enum):
    """Outcome of a stage or of a single check inside it."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "skipped"
    NOT_JUDGED = "not_judged"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Model(BaseModel):
    """Base for every pydantic model that crosses a boundary (files, JSON output)."""

    model_config = ConfigDict(extra="forbid")


class StageResult(Model):
    """Common envelope: which stage, how it ended, why, and when."""

    version: int = RESULTS_VERSION
    stage: str
    status: Status = Status.PASS
    reason: str = ""
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    duration_s: float | None = None
    error: str | None = None


__all__ = ["RESULTS_VERSION", "Model", "StageResult", "Status", "utcnow"]
