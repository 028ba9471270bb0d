"""``modelverify summary RUN_DIR``: the verdict, what failed and where to look, what to run next.

Read from the run directory alone (run.json and the stage JSONs, as the report reads them), with
the report's own verdict rules (report/verdict.py), so the summary and the report never
disagree. ``--json`` is versioned (``docs/summary.schema.json``, ``modelverify schema
--summary``) for agents and CI jobs.
"""

from __future__ import annotations

import contextlib
import json
import shlex
from pathlib import Path
from typing import Any

from pydantic import Field

from modelverify.errors import ConfigError
from modelverify.findings import Found, stage_findings
from modelverify.results import Model

SUMMARY_VERSION = 1
# stage -> the report section it fills (report/i18n.py's English titles; same numbers in Chinese)
SECTIONS = {
    "env": "1. Environment",
    "serve": "2. Server start-up",
    "api": "3. API tests",
    "perf": "4. Performance",
    "accuracy": "5. Accuracy",
    "compat": "6. Compatibility",
}
ORDER = ("env", "compat", "serve", "api", "align", "perf", "accuracy")
VERDICT_TEXT = {"full": "fully adapted", "partial": "partially adapted", "none": "not adapted"}


class SummaryFinding(Model):
    stage: str
    id: str
    status: str
    reason: str
    area: str = Field(description="the part of the port it points at (SKILL.md)")
    look_at: list[str] = Field(description="files in the run directory with the evidence")
    report_section: str | None = None


class NextStep(Model):
    command: str = Field(description="a runnable modelverify command (or the run's own)")
    why: str


class Summary(Model):
    """What `modelverify summary --json` prints."""

    version: int = SUMMARY_VERSION
    run_dir: str
    model: str
    finished: bool = Field(description="every chosen stage wrote its JSON")
    missing_stages: list[str] = []
    verdict: str = Field(description="full / partial / none, by report/verdict.py's rules")
    verdict_text: str
    reasons: list[str] = []
    exit_code: int | None = Field(description="what `modelverify run` exits with; None unfinished")
    findings: list[SummaryFinding] = []
    next: list[NextStep] = []
    report: list[str] = []


def _load(run_dir: Path) -> dict[str, Any]:
    from modelverify.report.markdown import load_results
    from modelverify.rundir import RunDir

    if not (run_dir / "run.json").is_file():
        raise ConfigError(f"{run_dir} is not a modelverify run directory (no run.json)")
    try:
        results = load_results(RunDir(run_dir))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"{run_dir}: a stage file is not readable JSON ({exc}): rerun that stage "
            f"(`modelverify run --resume {run_dir}`)"
        ) from exc
    extra = run_dir / "align.json"  # the align stage's file, whether or not load_results has it
    if "align" not in results["stages"] and extra.is_file():
        with contextlib.suppress(OSError, ValueError):
            results["stages"]["align"] = json.loads(extra.read_text(encoding="utf-8"))
    if not isinstance(results.get("run"), dict):
        results["run"] = {}
    return results


def _look_at(run_dir: Path, stage: str, data: dict[str, Any]) -> list[str]:
    files = [run_dir / f"{stage}.json"]
    if stage == "serve" and (run_dir / "server.log").is_file():
        files.append(run_dir / "server.log")
    if stage == "perf" and (run_dir / "perf_requests.jsonl").is_file():
        files.append(run_dir / "perf_requests.jsonl")
    if stage == "accuracy" and (run_dir / "accuracy.jsonl").is_file():
        files.append(run_dir / "accuracy.jsonl")
    return [str(f) for f in files]


def _not_started(serve: Any) -> bool:
    """A launched engine that never became ready (``run`` exits 1: the model was not judged)."""
    return (
        isinstance(serve, dict)
        and serve.get("status") == "fail"
        and serve.get("mode", "launch") == "launch"
        and serve.get("ready_after_s") is None
    )


def _cmd(*parts: str) -> str:
    return shlex.join(["modelverify", *parts])


def _next_steps(
    run_dir: Path,
    run: dict[str, Any],
    stages: dict[str, Any],
    found: list[Found],
    missing: list[str],
) -> list[NextStep]:
    saved = run.get("options")
    opts: dict[str, Any] = saved if isinstance(saved, dict) else {}
    model = str(run.get("model_path") or opts.get("model") or "MODEL")
    args = [str(a) for a in run.get("engine_args") or [] if isinstance(a, str)]
    base_url = opts.get("base_url") or run.get("base_url")
    attach = bool(base_url)
    resume = NextStep(
        command=_cmd("run", "--resume", str(run_dir)),
        why="after the fix: redoes the stages that did not pass, keeps the rest",
    )
    argv = run.get("argv") if isinstance(run.get("argv"), list) else None
    rerun = shlex.join([str(a) for a in argv]) if argv else _cmd("run", model)
    steps: list[NextStep] = []
    bad = [f for f in found if f.status == "fail"] or [
        f for f in found if f.status in ("warn", "skipped", "not_judged")
    ]
    for f in sorted(bad, key=lambda f: ORDER.index(f.stage) if f.stage in ORDER else 99):
        if f.stage == "env":
            py = run.get("engine_python")
            what = (
                "fix or unset the device selection"
                if f.area == "device"
                else ("install the versions it names")
            )
            cmd = _cmd("env", *(["--engine-python", str(py)] if py else []))
            steps.append(NextStep(command=cmd, why=f"{what} ({f.id}), then check the host again"))
        elif f.stage == "compat" or (f.stage == "serve" and f.area == "memory"):
            cmd = _cmd("compat", model, *(["--", *args] if args else []))
            why = "change the flags until the KV cache fits (nothing is launched)"
            if f.area != "memory":
                why = "see which part of the model the stack cannot serve (nothing is launched)"
            steps.append(NextStep(command=cmd, why=why))
            if f.stage == "serve":
                steps.append(NextStep(command=rerun, why="then run again with the changed flags"))
        elif f.stage == "serve" and _not_started(stages.get("serve")):
            steps.append(NextStep(command=rerun, why=f"fix the launch ({f.id}), then run again"))
        elif f.stage in ("api", "perf", "accuracy") and attach and f.status != "skipped":
            extra = ["--limit", "50"] if f.stage == "accuracy" else []
            cmd = _cmd(f.stage, "--base-url", str(base_url), *extra)
            steps.append(
                NextStep(command=cmd, why=f"check {f.stage} again once the server is fixed")
            )
        else:
            steps.append(resume)
    if missing:
        steps.append(
            NextStep(command=resume.command, why=f"the run stopped before {', '.join(missing)}")
        )
    if steps and steps[-1].command != resume.command and not attach:
        steps.append(resume)
    out: list[NextStep] = []
    for s in steps:  # first mention wins
        if all(s.command != o.command for o in out):
            out.append(s)
    return out


def summarise(run_dir: Path) -> Summary:
    from modelverify.report.verdict import EXIT_CODES, overall_verdict

    results = _load(run_dir)
    run, stages = results["run"], results["stages"]
    chosen = [s for s in run.get("stages") or [] if isinstance(s, str) and s != "report"]
    missing = [s for s in chosen if s not in stages]
    verdict, reasons = overall_verdict(stages)
    found = [f for name in ORDER if name in stages for f in stage_findings(stages[name])]
    finished = not missing
    exit_code: int | None = None
    if finished:
        exit_code = 1 if _not_started(stages.get("serve")) else EXIT_CODES.get(verdict, 2)
    report = [
        str(run_dir / n)
        for n in ("report.md", "report.en.md", "report.html", "results.json")
        if (run_dir / n).is_file()
    ]
    return Summary(
        run_dir=str(run_dir),
        model=str(run.get("model") or ""),
        finished=finished,
        missing_stages=missing,
        verdict=verdict,
        verdict_text=VERDICT_TEXT.get(verdict, verdict),
        reasons=list(reasons),
        exit_code=exit_code,
        findings=[
            SummaryFinding(
                stage=f.stage,
                id=f.id,
                status=f.status,
                reason=f.reason,
                area=f.area,
                look_at=_look_at(run_dir, f.stage, stages.get(f.stage) or {}),
                report_section=SECTIONS.get(f.stage),
            )
            for f in found
        ],
        next=_next_steps(run_dir, run, stages, found, missing),
        report=report,
    )


MARK = {"fail": "✗", "warn": "!", "skipped": "-", "not_judged": "i"}


def render(s: Summary) -> str:
    """The summary for a person (or an agent reading text): verdict, findings, next commands."""
    code = f"exit code {s.exit_code}" if s.exit_code is not None else "unfinished"
    lines = [f"verdict: {s.verdict} ({s.verdict_text}), {code}", f"run directory: {s.run_dir}"]
    lines += [f"  because {r}" for r in s.reasons]
    if s.missing_stages:
        lines.append(f"not run yet: {', '.join(s.missing_stages)}")
    if s.findings:
        lines.append("findings:")
    for f in s.findings:
        lines.append(f"  {MARK.get(f.status, '?')} {f.stage} {f.id} [{f.area}]: {f.reason}")
        where = ", ".join(f.look_at)
        if f.report_section:
            where += f"; report § {f.report_section}"
        lines.append(f"    look at: {where}")
    if s.next:
        lines.append("next:")
        lines += [f"  {n.command}    # {n.why}" for n in s.next]
    elif s.verdict == "full":
        lines.append("next: nothing to fix")
    return "\n".join(lines)


def summary_schema_text() -> str:
    schema = Summary.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://modelverify.dev/schema/summary-v{SUMMARY_VERSION}.json"
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


__all__ = ["Summary", "render", "summarise", "summary_schema_text"]
