"""Degenerate output, measured wherever answers are seen (api, accuracy, perf).

Three kinds, kept apart because they mean different things:

- **cut at max_tokens** (``finish_reason == "length"``): a tiny model rambles to the limit; on
  its own this is model quality (or a low ``max_tokens``), reported with its rate (ℹ️).
- **empty** answers (no text, or no output tokens): a deployment symptom (a broken chat
  template, a stop sequence or EOS emitted at once, wrong weights).
- **one repeated unit**: the answer is mostly one token repeated (the same special token 50
  times, ``!!!!…``, ``0 0 0 …``): a deployment symptom (broken weights, a bad kernel, a wrong
  tokenizer). Loops of a longer n-gram (a small model repeating a sentence) are counted but,
  like truncation, are model quality on their own.

The text is split into units (special-token-like ``<…>`` / ``[…]`` markers, words, single
other characters); the scan is linear in the (bounded) length of the answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from modelverify.results import Model, Status

# At most this much of an answer is scanned: a degenerate answer shows itself long before.
SCAN_CHARS = 20_000
_UNIT = re.compile(r"<[^<>\s]{1,40}>|\[[^\[\]\s]{1,40}\]|\w{1,64}|[^\w\s]")
# one unit repeated at least this many times in a row, covering this share of the answer
REPEAT_MIN = 16
REPEAT_SHARE = 0.8
# an n-gram (2..8 units) repeated at least this many times, covering this share
LOOP_MIN = 4
LOOP_SHARE = 0.5
LOOP_MAX_N = 8
# a stage's answers are degenerate (a deployment symptom, FAIL) when at least this share of
# them is empty or one repeated unit, and at least DEGENERATE_MIN_COUNT answers are
DEGENERATE_RATE = 0.2
DEGENERATE_MIN_COUNT = 2
# a note (ℹ️) when at least this share of answers was cut at max_tokens or loops
HIGH_RATE = 0.5


def units(text: str) -> list[str]:
    return _UNIT.findall(text[:SCAN_CHARS])


def longest_run(seq: list[str], n: int) -> int:
    """The most consecutive repetitions of one ``n``-unit group in ``seq`` (1 when none)."""
    best = 1
    if len(seq) < 2 * n:
        return best
    for start in range(n):
        # compare each group with the next one at the same phase
        run = 1
        i = start
        while i + 2 * n <= len(seq):
            if seq[i : i + n] == seq[i + n : i + 2 * n]:
                run += 1
                best = max(best, run)
            else:
                run = 1
            i += n
    return best


def repeated_unit(text: str) -> str | None:
    """The unit an answer is mostly made of (``"'<|im_end|>' ×50"``), or None."""
    seq = units(text)
    if len(seq) < REPEAT_MIN:
        return None
    best, unit, run = 0, "", 0
    for i, u in enumerate(seq):
        run = run + 1 if i and u == seq[i - 1] else 1
        if run > best:
            best, unit = run, u
    if best >= REPEAT_MIN and best >= REPEAT_SHARE * len(seq):
        return f"{unit[:40]!r} ×{best}"
    return None


def loops(text: str) -> bool:
    """Whether the answer is mostly one n-gram (2..8 units) repeated."""
    seq = units(text)
    for n in range(2, LOOP_MAX_N + 1):
        if len(seq) < LOOP_MIN * n:
            break
        run = longest_run(seq, n)
        if run >= LOOP_MIN and run * n >= LOOP_SHARE * len(seq):
            return True
    return False


class DegenerateSummary(Model):
    """How many answers were cut, empty, one repeated unit, or looping, with examples."""

    answers: int = 0
    truncated: int = 0  # finish_reason "length"
    empty: int = 0
    repeated: int = 0  # mostly one unit repeated
    looping: int = 0  # mostly one longer n-gram repeated (model quality on its own)
    examples: list[str] = []  # a few degenerate answers, trimmed, with their index

    def rate(self, count: int) -> float:
        return count / self.answers if self.answers else 0.0

    @property
    def degenerate(self) -> int:
        return self.empty + self.repeated

    def judge(self) -> tuple[Status, str]:
        """FAIL when empty / one-unit answers are frequent (a deployment symptom); NOT_JUDGED
        with the rates otherwise (truncation and loops alone are model quality)."""
        if not self.answers:
            return Status.NOT_JUDGED, "no answers to measure"
        parts = [
            f"{self.truncated}/{self.answers} cut at max_tokens",
            f"{self.empty} empty",
            f"{self.repeated} one repeated token",
            f"{self.looping} looping",
        ]
        text = ", ".join(parts)
        if self.degenerate >= DEGENERATE_MIN_COUNT and self.rate(self.degenerate) >= (
            DEGENERATE_RATE
        ):
            ex = f"; e.g. {self.examples[0]}" if self.examples else ""
            return Status.FAIL, (
                f"degenerate output: {self.degenerate} of {self.answers} answers empty or one "
                f"repeated token (threshold {DEGENERATE_RATE:.0%}){ex} ({text})"
            )
        notes = []
        if self.rate(self.truncated) >= HIGH_RATE:
            notes.append(
                f"{self.rate(self.truncated):.0%} of answers cut at max_tokens (model quality "
                "on its own, or max_tokens too low)"
            )
        if self.rate(self.looping) >= HIGH_RATE:
            notes.append(f"{self.rate(self.looping):.0%} of answers loop")
        return Status.NOT_JUDGED, text + (f"; {'; '.join(notes)}" if notes else "")


def summarise(answers: Iterable[tuple[str | None, str | None]]) -> DegenerateSummary:
    """Measure ``(text, finish_reason)`` pairs (text None: not seen, e.g. perf's streams,
    where an empty answer is one with no output tokens and the caller passes "")."""
    out = DegenerateSummary()
    for i, (text, finish) in enumerate(answers):
        out.answers += 1
        out.truncated += finish == "length"
        if text is None:
            continue
        why = None
        if not text.strip():
            out.empty += 1
            why = "empty"
        else:
            rep = repeated_unit(text)
            if rep is not None:
                out.repeated += 1
                why = rep
            elif loops(text):
                out.looping += 1
        if why is not None and len(out.examples) < 3:
            out.examples.append(f"answer {i}: {why}")
    return out


__all__ = [
    "DEGENERATE_MIN_COUNT",
    "DEGENERATE_RATE",
    "DegenerateSummary",
    "longest_run",
    "loops",
    "repeated_unit",
    "summarise",
    "units",
]
