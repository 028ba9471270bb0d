"""The verdict rules of report/verdict.py, one test per rule, and the exit code of each."""

from __future__ import annotations

from typing import Any

from modelverify.report.verdict import (
    EXIT_CODES,
    STAGE_EXIT_CODES,
    overall_verdict,
    required_stages,
    rows_for,
    run_verdict,
)
from modelverify.results import Status, worst

ALL = ("env", "compat", "serve", "api", "perf", "accuracy")


def st(**statuses: str) -> dict[str, Any]:
    return {k: {"status": v, "reason": f"{k} {v}"} for k, v in statuses.items()}


def healthy() -> dict[str, Any]:
    out = st(env="pass", compat="pass", serve="pass", api="pass")
    out.update(st(perf="not_judged", accuracy="not_judged"))
    out["serve"].update(mode="launch", ready_after_s=42.3)
    return out


def test_every_stage_passed_or_not_judged_is_fully_adapted_exit_0() -> None:
    verdict, reasons = overall_verdict(healthy(), ALL)
    assert (verdict, reasons, EXIT_CODES[verdict]) == ("full", [], 0)


def test_a_failed_stage_is_not_adapted_exit_2() -> None:
    stages = healthy()
    stages["accuracy"] = {"status": "fail", "reason": "degenerate output"}
    verdict, reasons = overall_verdict(stages, ALL)
    assert (verdict, EXIT_CODES[verdict]) == ("none", 2)
    assert reasons == ["accuracy: degenerate output"]


def test_a_warning_or_a_skipped_stage_is_partial_exit_1_with_each_reason() -> None:
    stages = healthy()
    stages["api"] = {"status": "warn", "reason": "chat template"}
    stages["perf"] = {"status": "skipped", "reason": "no server"}
    verdict, reasons = overall_verdict(stages, ALL)
    assert (verdict, EXIT_CODES[verdict]) == ("partial", 1)
    assert reasons == ["runtime: chat template", "perf: no server"]


def test_a_required_stage_that_never_ran_is_partial() -> None:
    stages = healthy()
    del stages["accuracy"]
    assert overall_verdict(stages, ALL) == ("partial", ["accuracy: accuracy: not run"])


def test_engine_never_started_is_could_not_judge_exit_1() -> None:
    stages = st(env="pass", compat="pass", serve="fail")
    stages["serve"].update(mode="launch", ready_after_s=None)
    stages.update(st(api="skipped", perf="skipped", accuracy="skipped"))
    verdict, _ = overall_verdict(stages, ALL)
    assert (verdict, EXIT_CODES[verdict]) == ("unjudged", 1)
    # a defect found before the launch still decides
    stages["compat"]["status"] = "fail"
    assert overall_verdict(stages, ALL)[0] == "none"


def test_an_attached_server_that_fails_is_a_defect_not_unjudged() -> None:
    stages = healthy()
    stages["serve"] = {"status": "fail", "reason": "no /health", "mode": "attach"}
    assert overall_verdict(stages, ALL)[0] == "none"


def test_stages_env_compat_alone_give_a_verdict_for_what_ran() -> None:
    stages = st(env="pass", compat="pass")
    assert overall_verdict(stages, ("env", "compat")) == ("full", [])
    assert [k for k, _ in rows_for(("env", "compat"))] == ["env", "compat"]


def test_a_stage_run_alone_gets_a_verdict_for_itself() -> None:
    assert overall_verdict(st(api="pass"), ("api",)) == ("full", [])
    assert overall_verdict(st(api="fail"), ("api",))[0] == "none"


def test_align_is_a_row_like_any_stage_only_when_listed() -> None:
    stages = healthy()
    with_align = (*ALL[:4], "align", *ALL[4:])
    assert overall_verdict(stages, with_align)[0] == "partial"  # listed, not run
    stages["align"] = {"status": "fail", "reason": "layer 3 diverges"}
    assert overall_verdict(stages, with_align) == ("none", ["align: layer 3 diverges"])
    assert overall_verdict(stages, ALL)[0] == "full"  # not listed: not a row


def test_required_stages_come_from_run_json_without_report() -> None:
    run = {"stages": ["env", "compat", "serve", "api", "perf", "accuracy", "report"]}
    assert required_stages(run, {}) == ALL
    assert required_stages(None, st(env="pass")) == ("env",)
    results = {"run": {"stages": ["env", "compat"]}, "stages": st(env="pass", compat="warn")}
    assert run_verdict(results) == ("partial", ["compat: compat warn"])


def test_one_severity_order_and_unknown_status_counts_as_fail() -> None:
    assert worst(["pass", "not_judged"]) == Status.NOT_JUDGED
    assert worst(["not_judged", "skipped", "pass"]) == Status.SKIPPED
    assert worst(["skipped", "warn"]) == Status.WARN
    assert worst(["warn", "fail", "pass"]) == Status.FAIL
    assert worst(["error"]) == Status.FAIL  # a status nobody can read never passes
    assert overall_verdict(st(env="pass", compat="bogus"), ("env", "compat"))[0] == "none"


def test_stage_exit_codes_use_the_statuses_stages_write() -> None:
    assert {s.value for s in Status} == set(STAGE_EXIT_CODES)
    assert STAGE_EXIT_CODES == {"pass": 0, "not_judged": 0, "skipped": 1, "warn": 1, "fail": 2}


def test_align_not_judged_holds_the_run_at_partial_but_perf_not_judged_does_not() -> None:
    stages = healthy()
    stages["align"] = {"status": "not_judged", "reason": "no reference: no transformers"}
    verdict, reasons = overall_verdict(stages, (*ALL, "align"))
    assert (verdict, EXIT_CODES[verdict]) == ("partial", 1)
    assert reasons == ["align: no reference: no transformers"]
    stages["align"] = {"status": "pass", "reason": "9 prompts match"}
    assert overall_verdict(stages, (*ALL, "align")) == ("full", [])
    stages["align"] = {"status": "fail", "reason": "long: from position 1537"}
    assert overall_verdict(stages, (*ALL, "align"))[0] == "none"
