"""Degenerate-output measurement: quiet on the healthy demo's real answers, firing on
answers made of one repeated token or nothing."""

from __future__ import annotations

import json
from pathlib import Path

from modelverify.degenerate import loops, repeated_unit, summarise
from modelverify.results import Status

DATA = Path(__file__).parents[2] / "data" / "gsm8k" / "demo_answers_10.json"
API = Path(__file__).parents[2] / "data" / "api" / "demo_api.json"


def test_quiet_on_the_healthy_demo_answers() -> None:
    answers = json.loads(DATA.read_text(encoding="utf-8"))["answers"]
    s = summarise((a["completion"], a["finish_reason"]) for a in answers)
    status, reason = s.judge()
    assert status == Status.NOT_JUDGED, reason
    assert (s.answers, s.empty, s.repeated) == (10, 0, 0)
    assert s.truncated == 1  # one of the ten rambled to max_tokens 512 in that run


def test_one_special_token_repeated_fails_the_stage() -> None:
    s = summarise([("<|im_end|>" * 50, "length")] * 3 + [("The answer is 4", "stop")] * 7)
    status, reason = s.judge()
    assert status == Status.FAIL and "'<|im_end|>' ×50" in reason and "3 of 10" in reason


def test_empty_answers_fail_and_one_alone_is_below_the_threshold() -> None:
    assert summarise([("", "stop")] * 2 + [("ok answer", "stop")] * 8).judge()[0] == Status.FAIL
    assert summarise([("", "stop")] + [("ok answer", "stop")] * 9).judge()[0] == Status.NOT_JUDGED


def test_truncation_and_loops_alone_are_model_quality() -> None:
    loop = "The answer is 5. " * 12
    assert loops(loop) and repeated_unit(loop) is None
    s = summarise([(loop, "length")] * 10)
    status, reason = s.judge()
    assert status == Status.NOT_JUDGED and "100% of answers cut at max_tokens" in reason
    assert "100% of answers loop" in reason


def test_single_characters_and_digits() -> None:
    assert repeated_unit("!" * 60) == "'!' ×60"
    assert repeated_unit("So we get " + "9" * 400) is None  # one long number: not degenerate
    assert repeated_unit("0 " * 40) == "'0' ×40"


def test_api_answers_of_the_healthy_demo_are_quiet() -> None:
    from modelverify.api.stage import ApiResult, seen_answers

    res = ApiResult(**json.loads(API.read_text(encoding="utf-8")))
    s = summarise(seen_answers(res.checks))
    status, reason = s.judge()
    # 15 answers in the evidence, 14 cut at max_tokens (short limits), none empty or one token
    assert (s.answers, s.truncated, s.empty, s.repeated) == (15, 14, 0, 0)
    assert status == Status.NOT_JUDGED, reason
