"""The task interface: GSM8K through it grades like the scoring functions it wraps, and an
unknown task is bad input."""

from __future__ import annotations

import pytest

from modelverify.accuracy.data import Item
from modelverify.accuracy.prompt import STOP_SEQUENCES
from modelverify.accuracy.stage import AccuracyConfig
from modelverify.accuracy.tasks import TASKS, Task, get_task
from modelverify.errors import ConfigError


def test_gsm8k_is_a_task_and_grades_through_the_interface() -> None:
    task: Task = get_task("gsm8k")
    item = Item(index=0, question="What is 48 + 24?", answer="48 + 24 = 72\n#### 72")
    chat = task.payload(item, "chat")
    assert chat[-1]["role"] == "user" and "What is 48 + 24?" in chat[-1]["content"]
    text = task.payload(item, "completions")
    assert isinstance(text, str) and text.rstrip().endswith("Let's think step by step\nAnswer:")
    g = task.grade(item, "48 + 24 = 72. The answer is 72.")
    assert (g["reference"], g["extracted"], g["correct"]) == ("72", "72", True)
    assert g["rule"] == "the_answer_is"
    assert task.stop == STOP_SEQUENCES
    assert AccuracyConfig().sampling()["stop"] == STOP_SEQUENCES


def test_an_unknown_task_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown eval task 'math500': choose from gsm8k"):
        get_task("math500")
    assert list(TASKS) == ["gsm8k"]
