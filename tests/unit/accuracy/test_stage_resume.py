"""A resumed GSM8K run: throughput counts only the items asked in this session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelverify.accuracy import stage
from modelverify.accuracy.data import Item, load_items
from modelverify.accuracy.stage import AccuracyConfig, run_accuracy, session_throughput


def _dataset(tmp_path: Path, n: int) -> Path:
    f = tmp_path / "d.jsonl"
    f.write_text(
        "".join(json.dumps({"question": f"q{i}", "answer": f"#### {i}"}) + "\n" for i in range(n))
    )
    return f


def test_throughput_of_new_items_when_earlier_answers_sit_at_high_indices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _dataset(tmp_path, 6)
    cfg = AccuracyConfig(dataset=str(data), concurrency=2)
    items = load_items(data)
    jsonl = tmp_path / "accuracy.jsonl"
    # an earlier session answered items 3, 4, 5 with long answers
    with jsonl.open("w") as f:
        for it in items[3:]:
            rec = {
                "index": it.index,
                "key": stage._key(it, cfg, stage._payload(it, cfg)),
                "completion": f"The answer is {it.index}",
                "completion_tokens": 1000,
                "correct": True,
            }
            f.write(json.dumps(rec) + "\n")

    async def fake_ask(client: Any, model: str, item: Item, c: AccuracyConfig) -> dict[str, Any]:
        return {
            "completion": f"The answer is {item.index}",
            "finish_reason": "stop",
            "completion_tokens": 10,
        }

    monkeypatch.setattr(stage, "_ask", fake_ask)
    res = run_accuracy("http://127.0.0.1:9", "m", jsonl, config=cfg)
    assert (res.items, res.correct, res.resumed_items) == (6, 6, 3)
    assert res.output_throughput is not None
    # 3 new items of 10 tokens each, not the resumed 1000-token answers
    assert res.output_throughput * res.wall_time_s == pytest.approx(30)


def test_session_throughput_by_asked_indices() -> None:
    recs = [{"index": i, "completion_tokens": 100 * (i + 1)} for i in range(4)]
    recs[2]["error"] = "HTTP 500"
    assert session_throughput(recs, {0, 2}, 2.0) == 50.0  # item 0's 100 tokens; 2 failed
    assert session_throughput(recs, set(), 2.0) is None
    assert session_throughput(recs, {1}, 0.0) is None


def test_a_hostile_answer_is_graded_and_a_grader_bug_is_recorded_not_asked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _dataset(tmp_path, 3)
    cfg = AccuracyConfig(dataset=str(data), concurrency=1)
    jsonl = tmp_path / "accuracy.jsonl"
    asked: list[int] = []
    # item 0: 310 ones in \boxed{} (OverflowError before); item 1: a fraction over zero
    answers = {0: "\\boxed{" + "1" * 310 + "}", 1: "\\boxed{\\frac{1}{0}}", 2: "The answer is 2"}

    async def fake_ask(client: Any, model: str, item: Item, c: AccuracyConfig) -> dict[str, Any]:
        asked.append(item.index)
        return {"completion": answers[item.index], "finish_reason": "stop", "completion_tokens": 5}

    monkeypatch.setattr(stage, "_ask", fake_ask)
    task = stage.get_task(cfg.task)
    real_grade = task.grade

    def grade(item: Item, completion: str) -> dict[str, Any]:
        if item.index == 2:  # a grader bug on a plain answer
            raise IndexError("list index out of range")
        return real_grade(item, completion)

    monkeypatch.setattr(type(task), "grade", lambda self, item, completion: grade(item, completion))
    res = run_accuracy("http://127.0.0.1:9", "m", jsonl, config=cfg)
    assert (res.items, res.answered, res.correct, res.ungradeable, res.errors) == (3, 2, 0, 1, 0)
    assert res.status.value == "warn" and "1 answers could not be graded" in res.reason
    recs = {r["index"]: r for r in map(json.loads, jsonl.read_text().splitlines())}
    assert recs[0]["correct"] is False and recs[1]["correct"] is False
    assert recs[2]["ungradeable"] == "IndexError: list index out of range"
    asked.clear()
    again = run_accuracy("http://127.0.0.1:9", "m", jsonl, config=cfg)
    assert asked == [] and again.resumed_items == 3 and again.ungradeable == 1
