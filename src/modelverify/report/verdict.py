"""Verdict rules, written down once and used by the report, the summary table and the exit code.

- Each section is pass / warn / fail / skipped with its reason (from its stage result).
- Overall: 完全适配 (fully adapted) when every section passes; 部分适配 (partially adapted) when
  any section warns or was skipped; 不适配 (not adapted) when any section fails.
- Performance and accuracy pass against a threshold (SLO, baseline, reference score) when one is
  given; without one their figures are reported as informative and never called "达标".
"""

from __future__ import annotations

from typing import Any

FULL, PARTIAL, NONE = "full", "partial", "none"
EXIT_CODES = {FULL: 0, PARTIAL: 1, NONE: 2}
# a stage run alone exits by its own status, on the same scale: 0 passed (or had nothing to
# do), 1 passed with a warning, 2 failed
STAGE_EXIT_CODES = {"pass": 0, "skip": 0, "warn": 1, "fail": 2}

# Summary rows: (key, stages that decide it).
ROWS = (
    ("env", ("env",)),
    ("compat", ("compat",)),
    ("runtime", ("serve", "api")),
    ("perf", ("perf",)),
    ("accuracy", ("accuracy",)),
)

RULES_ZH = [
    "每个部分取其阶段结果:通过 / 警告 / 失败 / 跳过,并给出原因。",
    "总体:全部通过 → 完全适配;有警告或有阶段被跳过 → 部分适配;任一失败 → 不适配。",
    "性能与精度只有在给定阈值(SLO、基线或参考分数)时才判定达标;未给阈值时数据仅供参考。",
    "`modelverify run` 的退出码:完全适配 0,部分适配 1,不适配 2;输入有误或引擎未能启动(尚未评判模型)时为 1,并给出诊断。",
]
RULES_EN = [
    "Each section takes its stage's result: pass / warn / fail / skipped, with the reason.",
    "Overall: all pass → fully adapted; any warning or skipped stage → partially adapted; any "
    "failure → not adapted.",
    "Performance and accuracy are judged only against a given threshold (SLO, baseline or "
    "reference score); without one their figures are informative.",
    "Exit code of `modelverify run`: 0 fully, 1 partially, 2 not adapted; 1 also when the input "
    "was bad or the engine did not start (the model was not judged), with the diagnosis.",
]


def row_status(stages: dict[str, Any], names: tuple[str, ...]) -> tuple[str, str]:
    """Worst status of the named stages and the reason that decided it."""
    order = {"pass": 0, "skipped": 1, "warn": 2, "fail": 3}
    worst, reason = "skipped", "not run"
    found = [stages[n] for n in names if n in stages]
    if found:
        top = max(found, key=lambda s: order.get(s.get("status", "fail"), 3))
        worst, reason = top.get("status", "fail"), top.get("reason", "")
        if worst == "pass":
            reason = "; ".join(s.get("reason", "") for s in found)
    return worst, reason


def overall_verdict(stages: dict[str, Any]) -> tuple[str, list[str]]:
    statuses = {key: row_status(stages, names) for key, names in ROWS}
    fails = [f"{k}: {r}" for k, (s, r) in statuses.items() if s == "fail"]
    if fails:
        return NONE, fails
    partial = [f"{k}: {r}" for k, (s, r) in statuses.items() if s in ("warn", "skipped")]
    if partial:
        return PARTIAL, partial
    return FULL, []


__all__ = [
    "EXIT_CODES",
    "FULL",
    "NONE",
    "PARTIAL",
    "ROWS",
    "STAGE_EXIT_CODES",
    "overall_verdict",
    "row_status",
]
