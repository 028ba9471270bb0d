"""``--events FILE|-``: the run as it goes, one JSON object per line, for agents and CI jobs.

Each line is one event of the versioned schema ``docs/events.schema.json`` (``modelverify
schema --events``), written and flushed the moment it happens, so a reader tailing the file sees
a stage end before the next one starts. The order of a run's stream:

    run_started            once the run directory exists (bad input may end the run before)
    stage_started          a stage begins (a stage kept by --resume or skipped has no start)
    progress*              throttled: at most one a second per stage, and the last one
    finding*               each judgement of the stage that ended (checks, findings, diagnosis)
    stage_ended            status, reason, duration, the path of the stage's JSON
    verdict                overall verdict, its reasons, the exit code, the report paths
    run_ended              always last: finished, error (with the message) or killed (signal)

A stream that cannot be written (a closed pipe, a full disk) is dropped with one warning on
stderr: the run itself never fails because of its event stream.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, TextIO

from pydantic import Field, TypeAdapter

from modelverify.findings import stage_findings
from modelverify.results import Model, utcnow

EVENTS_VERSION = 1
PROGRESS_EVERY_S = 1.0  # at most one progress event a second per stage (the last always goes)


class _Event(Model):
    v: int = Field(default=EVENTS_VERSION, description="schema version of this event")
    seq: int = Field(description="0, 1, 2… in the order written")
    time: datetime = Field(default_factory=utcnow, description="UTC time it happened")


class RunStarted(_Event):
    event: Literal["run_started"] = "run_started"
    run_dir: str
    model: str
    stages: list[str]
    resume: bool = False
    tool_version: str = ""


class StageStarted(_Event):
    event: Literal["stage_started"] = "stage_started"
    stage: str


class Progress(_Event):
    event: Literal["progress"] = "progress"
    stage: str
    done: int
    total: int
    unit: str = Field(description="what is counted: requests (perf) or items (accuracy)")
    detail: str = ""


class FindingEvent(_Event):
    event: Literal["finding"] = "finding"
    stage: str
    id: str = Field(description="check id or finding subject, stable across runs")
    status: str = Field(description="pass / warn / fail / skipped / not_judged")
    reason: str
    area: str = Field(description="the part of a port it points at (see SKILL.md)")


class StageEnded(_Event):
    event: Literal["stage_ended"] = "stage_ended"
    stage: str
    status: str
    reason: str
    duration_s: float | None = None
    path: str | None = Field(default=None, description="the stage's JSON in the run directory")
    kept: bool = Field(default=False, description="kept from the earlier run by --resume")


class VerdictEvent(_Event):
    event: Literal["verdict"] = "verdict"
    overall: str = Field(description="full / partial / none")
    reasons: list[str] = []
    exit_code: int
    report: list[str] = Field(default=[], description="report files written (md, html, json)")
    error: str | None = Field(default=None, description="why the model was not judged")


class RunEnded(_Event):
    event: Literal["run_ended"] = "run_ended"
    outcome: Literal["finished", "error", "killed"]
    exit_code: int
    signal: str | None = Field(default=None, description="SIGINT / SIGTERM for a killed run")
    message: str | None = None


Event = Annotated[
    RunStarted | StageStarted | Progress | FindingEvent | StageEnded | VerdictEvent | RunEnded,
    Field(discriminator="event"),
]
EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(Event)


class EventStream:
    """Writes events to one text sink, thread-safe, flushed per line; ``end`` closes it."""

    def __init__(self, sink: TextIO, close: bool = False) -> None:
        self._sink: TextIO | None = sink
        self._close = close
        self._seq = 0
        self._lock = threading.Lock()
        self._last_progress: dict[str, float] = {}
        self.ended = False

    def emit(self, cls: type[_Event], **fields: Any) -> None:
        with self._lock:
            if self._sink is None or self.ended:
                return
            line = cls(seq=self._seq, **fields).model_dump_json()
            try:
                self._sink.write(line + "\n")
                self._sink.flush()
            except (OSError, ValueError) as exc:  # a reader gone, a full disk: drop the stream
                print(f"warning: event stream dropped: {exc}", file=sys.stderr)
                self._sink = None
                return
            self._seq += 1

    def progress(self, stage: str, done: int, total: int, unit: str, detail: str = "") -> None:
        now = time.monotonic()
        last = self._last_progress.get(stage)
        if done < total and last is not None and now - last < PROGRESS_EVERY_S:
            return
        self._last_progress[stage] = now
        self.emit(Progress, stage=stage, done=done, total=total, unit=unit, detail=detail)

    def end(self, outcome: str, exit_code: int, signal: str | None = None, msg: str = "") -> None:
        self.emit(
            RunEnded, outcome=outcome, exit_code=exit_code, signal=signal, message=msg or None
        )
        with self._lock:
            self.ended = True
            if self._close and self._sink is not None:
                with contextlib.suppress(OSError):
                    self._sink.close()


# The stream of this process's run (one run per process); the hooks below do nothing without it.
_current: EventStream | None = None


def open_stream(target: str) -> EventStream:
    """``-`` is stdout; anything else a file, created (with its folder) or truncated."""
    global _current
    if target == "-":
        _current = EventStream(sys.stdout)
    else:
        p = Path(target).expanduser()
        p.parent.mkdir(parents=True, exist_ok=True)
        _current = EventStream(p.open("w", encoding="utf-8"), close=True)
    return _current


def current() -> EventStream | None:
    return _current


def on_stdout() -> bool:
    """The stream owns stdout: the command's own lines go to stderr then."""
    return _current is not None and _current._sink is sys.stdout and not _current.ended


def run_started(run_dir: Path, model: str, stages: list[str], resume: bool, version: str) -> None:
    if _current is not None:
        _current.emit(
            RunStarted,
            run_dir=str(run_dir),
            model=model,
            stages=stages,
            resume=resume,
            tool_version=version,
        )


def stage_started(stage: str) -> None:
    if _current is not None:
        _current.emit(StageStarted, stage=stage)


def stage_ended(result: Any, path: Path | None, kept: bool = False) -> None:
    """A stage's findings, then its end; ``result`` is a StageResult or its JSON."""
    if _current is None:
        return
    data = result if isinstance(result, dict) else result.model_dump(mode="json")
    stage = str(data.get("stage", "?"))
    if not kept:
        for f in stage_findings(data):
            _current.emit(FindingEvent, stage=stage, **f.as_event())
    _current.emit(
        StageEnded,
        stage=stage,
        status=str(data.get("status", "fail")),
        reason=str(data.get("reason", "")),
        duration_s=data.get("duration_s"),
        path=str(path) if path is not None else None,
        kept=kept,
    )


def stage_kept(stage: str, path: Path) -> None:
    if _current is None:
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    stage_ended({**(data if isinstance(data, dict) else {}), "stage": stage}, path, kept=True)


def progress(stage: str, done: int, total: int, unit: str, detail: str = "") -> None:
    if _current is not None:
        _current.progress(stage, done, total, unit, detail)


def verdict(
    overall: str,
    reasons: list[str],
    exit_code: int,
    report: list[str],
    error: str | None = None,
) -> None:
    if _current is not None:
        _current.emit(
            VerdictEvent,
            overall=overall,
            reasons=reasons,
            exit_code=exit_code,
            report=report,
            error=error,
        )


def run_ended(outcome: str, exit_code: int, signal: str | None = None, message: str = "") -> None:
    """The last event; a second call (an error after the verdict) is ignored."""
    global _current
    if _current is not None and not _current.ended:
        _current.end(outcome, exit_code, signal, message)


def events_schema() -> dict[str, Any]:
    schema = EVENT_ADAPTER.json_schema()
    schema["title"] = "modelverify event (one JSON object per line of --events)"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://modelverify.dev/schema/events-v{EVENTS_VERSION}.json"
    return schema


def events_schema_text() -> str:
    return json.dumps(events_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


__all__ = [
    "EVENTS_VERSION",
    "EVENT_ADAPTER",
    "EventStream",
    "current",
    "events_schema",
    "events_schema_text",
    "on_stdout",
    "open_stream",
    "progress",
    "run_ended",
    "run_started",
    "stage_ended",
    "stage_kept",
    "stage_started",
    "verdict",
]
