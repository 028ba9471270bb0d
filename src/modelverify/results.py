"""The result model shared by every stage.

Each stage returns a subclass of :class:`StageResult`; the run directory stores it as
``<stage>.json`` the moment the stage ends. Results are versioned JSON other tools can read.
"""

from __future__ import annotations

from collections.abc import Iterable
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


# One severity order for every check, stage and report row: the worst status decides. A check
# that ran with no yardstick (not_judged, ℹ️) found nothing wrong, so it ranks with pass; a
# stage that did not run (skipped) leaves the verdict short of "fully adapted".
SEVERITY = {
    Status.PASS: 0,
    Status.NOT_JUDGED: 1,
    Status.SKIPPED: 2,
    Status.WARN: 3,
    Status.FAIL: 4,
}
ICONS = {
    Status.PASS: "✅",
    Status.NOT_JUDGED: "ℹ️",
    Status.SKIPPED: "⏭️",
    Status.WARN: "⚠️",
    Status.FAIL: "❌",
}


def as_status(value: str | Status | None) -> Status:
    """A status from its JSON value; anything unknown (or missing) counts as a failure, since a
    result nobody can read must not pass."""
    if isinstance(value, Status):
        return value
    try:
        return Status(value)
    except ValueError:
        return Status.FAIL


def worst(statuses: Iterable[str | Status | None], empty: Status = Status.PASS) -> Status:
    """The most severe of ``statuses`` (``empty`` when there are none)."""
    found = [as_status(s) for s in statuses]
    return max(found, key=SEVERITY.__getitem__) if found else empty


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


__all__ = [
    "ICONS",
    "RESULTS_VERSION",
    "SEVERITY",
    "Model",
    "StageResult",
    "Status",
    "as_status",
    "utcnow",
    "worst",
]
