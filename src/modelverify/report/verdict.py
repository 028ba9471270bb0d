"""Verdict rules, written down once and used by the report, the summary table and the exit code.

The rule (also in ``docs/verdict.md`` and in every report's method section):

- A run's required stages are the stages of its stage list (``run.json`` ``stages``); each row
  of the summary is decided by the worst of its stages on the one outcome scale of
  :mod:`modelverify.results` (pass < not judged < skipped < warn < fail). A row none of whose
  stages is in the stage list is not a row.
- **Fully adapted** iff every required stage ran and ended pass or not judged (ℹ️: it ran,
  found no defect, and had no yardstick for its figures — listed as such in the report);
  align must pass: align not judged (no reference) leaves the run partially adapted.
- **Not adapted** iff any deployment defect was found (any required stage failed).
- **Could not judge** when the engine never started: nothing about the model was measured,
  whatever else ran (the fix is in the launch settings, as with bad input).
- Otherwise **partially adapted**, each reason listed (a warning, a skipped or missing stage).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from modelverify.results import SEVERITY, Status, as_status, worst

FULL, PARTIAL, NONE, UNJUDGED = "full", "partial", "none", "unjudged"
EXIT_CODES = {FULL: 0, PARTIAL: 1, UNJUDGED: 1, NONE: 2}
# A stage run alone exits by its own status, on the same scale: 0 passed (or ran with nothing
# to judge against), 1 warned or did not run, 2 failed.
STAGE_EXIT_CODES = {
    Status.PASS.value: 0,
    Status.NOT_JUDGED.value: 0,
    Status.SKIPPED.value: 1,
    Status.WARN.value: 1,
    Status.FAIL.value: 2,
}

# Summary rows: (key, stages that decide it).
ROWS = (
    ("env", ("env",)),
    ("compat", ("compat",)),
    ("runtime", ("serve", "api")),
    ("align", ("align",)),
    ("perf", ("perf",)),
    ("accuracy", ("accuracy",)),
)
JUDGED_STAGES = tuple(n for _, names in ROWS for n in names)
# Rows whose evidence the sign-off cannot do without: not judged there (e.g. align with no
# reference to compare against) leaves the run partially adapted, with the reason. Elsewhere
# (perf, accuracy with no yardstick) not judged is a measurement and does not hold it back.
MUST_JUDGE = ("align",)

RULES_ZH = [
    "必需阶段 = 本次运行的阶段列表;每一行取其阶段中最差的结果:"
    "✅ 通过 < ℹ️ 未评判 < ⏭️ 跳过 < ⚠️ 警告 < ❌ 失败,并给出原因。",
    "完全适配:每个必需阶段都已运行,且结果为通过或未评判(ℹ️:已运行、未发现缺陷,但其数据没有可比的标准,仅供参考);"
    "数值对齐必须通过:对齐未评判(没有参考)时为部分适配。",
    "不适配:发现任一部署缺陷(任一必需阶段失败)。",
    "无法评判:引擎未能启动,模型未被测量(与输入有误相同,需修正启动参数)。",
    "其他情况为部分适配,逐条列出原因(警告、被跳过或缺失的阶段)。",
    "性能与精度只有在给定标准(SLO、基线或同协议的参考分数)时才判定;否则为 ℹ️ 未评判。"
    "模型自身的回答质量(小模型答不对)不是部署缺陷,记为观察。",
    "`modelverify run` 的退出码:完全适配 0,部分适配 1,无法评判 1(输入有误或引擎未能启动,并给出诊断),不适配 2。",
]
RULES_EN = [
    "The required stages are the run's stage list; each row takes the worst of its stages: "
    "✅ pass < ℹ️ not judged < ⏭️ skipped < ⚠️ warn < ❌ fail, with the reason.",
    "Fully adapted: every required stage ran and ended pass or not judged (ℹ️: it ran and "
    "found no defect, but its figures had no yardstick; informative); numerical alignment "
    "must pass: align not judged (no reference) leaves the run partially adapted.",
    "Not adapted: any deployment defect was found (any required stage failed).",
    "Could not judge: the engine never started, so nothing about the model was measured (as "
    "with bad input, the fix is in the launch settings).",
    "Otherwise partially adapted, each reason listed (a warning, a skipped or missing stage).",
    "Performance and accuracy are judged only against a yardstick (SLO, baseline, or a "
    "reference score with the same protocol); without one they are ℹ️ not judged. What a "
    "model answers (a tiny model that cannot answer) is an observation, not a deployment defect.",
    "Exit code of `modelverify run`: 0 fully, 1 partially, 1 could not judge (bad input or an "
    "engine that did not start, with the diagnosis), 2 not adapted.",
]


def required_stages(run: dict[str, Any] | None, stages: dict[str, Any]) -> tuple[str, ...]:
    """The stages a run had to pass: its stage list, or (no ``run.json``) the stages present."""
    listed = (run or {}).get("stages")
    if isinstance(listed, list) and listed:
        return tuple(str(s) for s in listed if s in JUDGED_STAGES)
    return tuple(s for s in JUDGED_STAGES if s in stages)


def rows_for(required: Iterable[str]) -> list[tuple[str, tuple[str, ...]]]:
    """The summary rows of a run: those with at least one required stage, each with the
    required stages that decide it."""
    req = set(required)
    out = []
    for key, names in ROWS:
        mine = tuple(n for n in names if n in req)
        if mine:
            out.append((key, mine))
    return out


def row_status(stages: dict[str, Any], names: tuple[str, ...]) -> tuple[str, str]:
    """Worst status of the named stages and the reason that decided it; a named stage with no
    result did not run (skipped)."""
    found = [(n, stages.get(n)) for n in names]
    ran = [s for _, s in found if isinstance(s, dict)]
    missing = [n for n, s in found if not isinstance(s, dict)]
    top = worst([s.get("status") for s in ran], empty=Status.SKIPPED)
    if missing and (not ran or SEVERITY[Status.SKIPPED] > SEVERITY[top]):
        return Status.SKIPPED.value, f"{', '.join(missing)}: not run"
    deciding = [s for s in ran if as_status(s.get("status")) == top]
    if top in (Status.PASS, Status.NOT_JUDGED):
        deciding = ran
    return top.value, "; ".join(str(s.get("reason", "")) for s in deciding)


def engine_never_started(stages: dict[str, Any]) -> bool:
    """Whether this run launched an engine that never became ready."""
    serve = stages.get("serve")
    return (
        isinstance(serve, dict)
        and as_status(serve.get("status")) == Status.FAIL
        and serve.get("mode") == "launch"
        and serve.get("ready_after_s") is None
    )


def overall_verdict(
    stages: dict[str, Any], required: Iterable[str] | None = None
) -> tuple[str, list[str]]:
    """The run's verdict (FULL / PARTIAL / NONE / UNJUDGED) and the reasons that decided it.

    ``required``: the run's stage list (default: the stages present)."""
    req = tuple(required) if required is not None else required_stages(None, stages)
    statuses = {key: row_status(stages, names) for key, names in rows_for(req)}
    never = engine_never_started(stages)
    # with no engine, the server stages are skipped for that reason alone: not a defect
    fails = [
        f"{k}: {r}"
        for k, (s, r) in statuses.items()
        if s == Status.FAIL.value and not (never and k == "runtime")
    ]
    if fails:
        return NONE, fails
    if never:
        return UNJUDGED, [f"runtime: {statuses['runtime'][1]}"] if "runtime" in statuses else []
    partial = [
        f"{k}: {r}"
        for k, (s, r) in statuses.items()
        if s in (Status.WARN.value, Status.SKIPPED.value)
        or (k in MUST_JUDGE and s == Status.NOT_JUDGED.value)
    ]
    if partial:
        return PARTIAL, partial
    return FULL, []


def run_verdict(results: dict[str, Any]) -> tuple[str, list[str]]:
    """:func:`overall_verdict` of a whole ``results.json`` (its run's stage list required)."""
    st = results.get("stages") or {}
    return overall_verdict(st, required_stages(results.get("run"), st))


__all__ = [
    "EXIT_CODES",
    "FULL",
    "JUDGED_STAGES",
    "MUST_JUDGE",
    "NONE",
    "PARTIAL",
    "ROWS",
    "STAGE_EXIT_CODES",
    "UNJUDGED",
    "engine_never_started",
    "overall_verdict",
    "required_stages",
    "row_status",
    "rows_for",
    "run_verdict",
]
