"""The eval tasks behind one small interface: data, prompt, stop sequences and grading.

The stage knows only :class:`Task`; GSM8K is the one task today. Adding another (MATH-500,
C-Eval) is one module with a class like :class:`Gsm8k` and one line in :data:`TASKS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from modelverify.accuracy.data import Item, load_items, locate_gsm8k, verify_bundled
from modelverify.accuracy.prompt import STOP_SEQUENCES, chat_messages, completion_prompt
from modelverify.accuracy.scoring import aisbench_correct, extract_answer, gold_answer, is_correct
from modelverify.errors import ConfigError


class Task(Protocol):
    name: str  # the id users pass
    title: str  # how the report names it
    stop: list[str]

    def bundled(self, engine_python: str | None) -> Path:
        """The default data, checked to be the expected file."""
        ...

    def load(self, path: Path, limit: int | None) -> list[Item]:
        """Items from a data file; a bad line raises DataError naming it."""
        ...

    def payload(self, item: Item, api: str) -> Any:
        """Chat messages (``api == "chat"``) or the plain-text prompt."""
        ...

    def grade(self, item: Item, completion: str) -> dict[str, Any]:
        """``reference``, ``extracted`` (None when no answer), ``rule``, ``correct`` and any
        task-specific side scores."""
        ...


class Gsm8k:
    """GSM8K 4-shot chain-of-thought, AISBench/OpenCompass's prompt, numeric comparison."""

    name = "gsm8k"
    title = "GSM8K"
    stop = STOP_SEQUENCES

    def bundled(self, engine_python: str | None) -> Path:
        path = locate_gsm8k(engine_python)
        verify_bundled(path)
        return path

    def load(self, path: Path, limit: int | None) -> list[Item]:
        return load_items(path, limit)

    def payload(self, item: Item, api: str) -> Any:
        return chat_messages(item.question) if api == "chat" else completion_prompt(item.question)

    def grade(self, item: Item, completion: str) -> dict[str, Any]:
        reference = gold_answer(item.answer)
        ex = extract_answer(completion)
        return {
            "reference": reference,
            "extracted": ex.value,
            "rule": ex.rule,
            "correct": is_correct(ex.value, reference),
            "aisbench_correct": aisbench_correct(completion, reference),
        }


TASKS: dict[str, Task] = {"gsm8k": Gsm8k()}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown eval task {name!r}: choose from {', '.join(TASKS)}") from None


__all__ = ["TASKS", "Gsm8k", "Task", "get_task"]
