"""Real completions where each explicit GSM8K rule decides the grade (tests/data/gsm8k).

In the hand-graded samples under ../shared the explicit answer is always also the last number,
so switching the explicit rules off changed nothing there. Every completion here comes from a
public evaluation log (address in ``source``, see SOURCES.md) and was picked because its explicit
answer and its last number give different grades. Each rule is switched off in turn; at least
one real completion must then be graded differently, otherwise the rule is untested.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from modelverify.accuracy import scoring
from modelverify.accuracy.scoring import aisbench_correct, extract_answer, is_correct

DATA = Path(__file__).resolve().parents[2] / "data" / "gsm8k" / "decisive_completions.jsonl"
RECORDS: list[dict[str, Any]] = [json.loads(x) for x in DATA.read_text().splitlines() if x.strip()]
NEVER = re.compile(r"(?!)")


def _without(rule: str) -> tuple[str, object]:
    """The scorer attribute to replace, and its replacement, that switch ``rule`` off."""
    return {
        "boxed": ("boxed_contents", lambda text: []),
        "hashes": ("_MARKERS", tuple(m for m in scoring._MARKERS if m[0] != "hashes")),
        "the_answer_is": (
            "_MARKERS",
            tuple(m for m in scoring._MARKERS if m[0] != "the_answer_is"),
        ),
        "answer_colon": ("_LAST_LINE", NEVER),
        "think": ("drop_think", lambda text: text),
        "thousands": ("_NUM", re.compile(r"-?\d+(?:\.\d+)?|-?\.\d+")),
        "hashes_equation": ("marker_value", scoring.first_number),
    }[rule]


def grade(record: dict[str, Any]) -> bool:
    return is_correct(extract_answer(record["completion"]).value, record["reference"])


def test_records_carry_a_verifiable_source() -> None:
    blob = re.compile(r"^https://github\.com/[\w.-]+/[\w.-]+/blob/[0-9a-f]{40}/\S+")
    for r in RECORDS:
        assert blob.match(r["source"]), r["source"]
        assert ("#L" in r["source"]) or ("outputs[" in r["source"]), r["source"]
        assert r["completion"] and r["reference"] and r["model"] and r["note"]


@pytest.mark.parametrize(
    "record", RECORDS, ids=lambda r: f"{r['decisive_rule']}-q{r['question_index']}"
)
def test_graded_as_a_human_did_and_by_the_expected_rule(record: dict[str, Any]) -> None:
    ex = extract_answer(record["completion"])
    assert ex.rule == record["matched_rule"]
    assert is_correct(ex.value, record["reference"]) is record["expected_correct"], ex


RULES = sorted({r["decisive_rule"] for r in RECORDS})


def test_every_explicit_rule_we_found_real_evidence_for_is_covered() -> None:
    assert set(RULES) == {
        "boxed",
        "hashes",
        "hashes_equation",
        "answer_colon",
        "think",
        "thousands",
    }


@pytest.mark.parametrize("rule", RULES)
def test_switching_a_rule_off_changes_a_real_grade(
    rule: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = [r for r in RECORDS if r["decisive_rule"] == rule]
    assert all(grade(r) is r["expected_correct"] for r in mine)
    name, replacement = _without(rule)
    assert hasattr(scoring, name)
    monkeypatch.setattr(scoring, name, replacement)
    changed = [r["question_index"] for r in mine if grade(r) is not r["expected_correct"]]
    assert changed, f"with {rule!r} off every real completion is still graded the same"


def test_aisbench_last_number_rule_misreads_thousands_separators() -> None:
    for r in (r for r in RECORDS if r["decisive_rule"] == "thousands"):
        assert grade(r) and not aisbench_correct(r["completion"], r["reference"])


def test_a_ratio_is_not_its_first_number_on_a_real_completion() -> None:
    path = Path(__file__).resolve().parents[2] / "data" / "gsm8k" / "own_run_completions.jsonl"
    recs = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    (rec,) = [r for r in recs if r["decisive_rule"] == "ratio"]
    ex = extract_answer(rec["completion"])
    assert (ex.value, ex.rule) == ("2:1", rec["matched_rule"])
    assert is_correct(ex.value, rec["reference"]) is rec["expected_correct"] is False
    # a clock time keeps its hour (the real "2:00 pm" records above), a ratio does not
    assert extract_answer("The answer is 2:00 pm.").value == "2"
    assert extract_answer("The answer is 3:2").value == "3:2"


def test_the_runon_cut_decides_real_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    path = Path(__file__).resolve().parents[2] / "data" / "gsm8k" / "own_run_completions.jsonl"
    recs = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    runon = [r for r in recs if r["decisive_rule"] == "runon_cut"]
    assert len(runon) == 4
    for r in runon:
        ex = extract_answer(r["completion"])
        assert ex.rule == r["matched_rule"]
        assert is_correct(ex.value, r["reference"]) is r["expected_correct"], r["note"]
    # switched off, every one of them is graded the other way
    monkeypatch.setattr(scoring, "cut_runon", lambda text: text)
    for r in runon:
        assert (
            is_correct(extract_answer(r["completion"]).value, r["reference"])
            is not (r["expected_correct"])
        ), r["question_index"]
