"""Progress for long stages: a live bar on a terminal, a line every 10% otherwise (CI logs)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from modelverify import events

Update = Callable[[int, int, int], None]


def acc_text(done: int, correct: int) -> str:
    return f"running accuracy {correct / max(done, 1):.1%}"


@contextmanager
def accuracy_progress(say: Callable[[str], None]) -> Iterator[Update]:
    """Yields ``update(done, total, correct)``; shows running accuracy and items per second."""
    t0 = time.monotonic()
    if sys.stderr.isatty():
        with Progress(
            TextColumn("[accuracy]"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[acc]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task("accuracy", total=None, acc="")

            def update(done: int, total: int, correct: int) -> None:
                events.progress("accuracy", done, total, "items", acc_text(done, correct))
                bar.update(
                    task, completed=done, total=total, acc=f"acc {correct / max(done, 1):.1%}"
                )

            yield update
        return
    last = [-1]

    def update_lines(done: int, total: int, correct: int) -> None:
        events.progress("accuracy", done, total, "items", acc_text(done, correct))
        step = done * 10 // max(total, 1)
        if step != last[0]:
            last[0] = step
            rate = done / max(time.monotonic() - t0, 1e-9)
            say(
                f"[accuracy] {done}/{total} items, running accuracy {correct / max(done, 1):.1%}, {rate:.2f} items/s"
            )

    yield update_lines


@contextmanager
def load_progress(say: Callable[[str], None], label: str = "perf") -> Iterator[Update]:
    """Yields ``update(done, total, output_tokens)``; shows live output tokens per second."""
    t0 = time.monotonic()

    def rate(tokens: int) -> str:
        return f"{tokens / max(time.monotonic() - t0, 1e-9):.1f} tok/s"

    if sys.stderr.isatty():
        with Progress(
            TextColumn(f"[{label}]"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} requests"),
            TextColumn("{task.fields[tput]}"),
            TimeElapsedColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task(label, total=None, tput="")

            def update(done: int, total: int, tokens: int) -> None:
                events.progress(label, done, total, "requests", rate(tokens))
                bar.update(task, completed=done, total=total, tput=rate(tokens))

            yield update
        return
    last = [-1]

    def update_lines(done: int, total: int, tokens: int) -> None:
        events.progress(label, done, total, "requests", rate(tokens))
        step = done * 10 // max(total, 1)
        if step != last[0]:
            last[0] = step
            say(f"[{label}] {done}/{total} requests, {rate(tokens)}")

    yield update_lines


__all__ = ["accuracy_progress", "load_progress"]
