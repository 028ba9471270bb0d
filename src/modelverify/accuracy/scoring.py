"""GSM8K answer extraction and scoring, as small pure functions.

Our rule, in order: drop stray special tokens; keep only what follows the last ``</think>`` (an
unclosed ``<think>`` means the visible answer never came); cut a run-on continuation where the
model invents the next few-shot turn (``Question:`` at the start of a line); then take the *last*
explicit final-answer marker that carries a number (``\\boxed{}``, "The answer is", ``####``,
"Final answer:", "Answer:"/"A:" on the last line; for a marker followed by an equation such as
``#### 26 × 5 × 1000 = 130,000``, the result after its last ``=``) and only without one the last
number in the text. Values are normalised ($, thousands separators, units, trailing period, ``.00``, LaTeX
fractions) and compared numerically.

``aisbench_extract`` / ``aisbench_correct`` reproduce AISBench's (OpenCompass's) GSM8K rule so
users can compare with the numbers they already have: ``opencompass/datasets/gsm8k.py``
``gsm8k_postprocess`` keeps the text before the first "Question:", takes the last match of
``-?\\d+\\.\\d+|-?\\d+`` ("NULL" when none), and ``Gsm8kEvaluator.is_equal`` accepts
``pred == refer or abs(float(pred) - int(refer)) < 1e-6``. It does not strip thousands
separators, so "1,200" scores as 200. Before that postprocess, AISBench's shipped vLLM API model
configs (``ais_bench/benchmark/configs/models/vllm_api/*.py``) set
``pred_postprocessor=dict(type=extract_non_reasoning_content)``, which drops reasoning: with only
a ``</think>`` the text after the last one, otherwise every ``<think>…</think>`` pair removed (an
unclosed ``<think>`` stays); ``aisbench_extract`` does the same, so
``"<think>…7</think>The answer is 12"`` scores 12 in both.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from modelverify.errors import DataError

# Inputs can be long model outputs: every pattern below is linear (no nested quantifiers) and the
# text is capped before matching.
MAX_CHARS = 50_000

_SPECIAL = re.compile(r"<\|[a-z_]{2,30}\|>|</s>|<s>|<eos>|<pad>|<end_of_turn>")
_RUNON = re.compile(r"(?m)^[ \t]*(?:Question|Q|Problem)[ \t]*:")
_NUM = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?|-?\.\d+")
_FRAC = re.compile(r"\\d?frac\{(-?\d+)\}\{(\d+)\}")
_MARKERS = (
    ("the_answer_is", re.compile(r"(?i)\b(?:the\s+)?(?:final\s+)?answer\s+is\s*:?")),
    ("final_answer", re.compile(r"(?i)\bfinal\s+answer\s*:")),
    ("hashes", re.compile(r"####")),
)
_LAST_LINE = re.compile(r"(?i)^\s*(?:\*\*)?(?:answer|a|ans)(?:\*\*)?\s*:")
_AIS_NUM = re.compile(r"\-?\d+\.\d+|\-?\d+")
# A marker's clause ends at a sentence-ending period or a line break ("#### 290. (50 x 3/5 = 30").
_CLAUSE_END = re.compile(r"\.(?=\s|$)|\n")


@dataclass(frozen=True)
class Extraction:
    """The extracted value (a normalised number as text, or None) and the rule that found it."""

    value: str | None
    rule: str


def gold_answer(answer_field: str) -> str:
    """GSM8K's gold answer: the text after ``####``, commas removed."""
    return answer_field.split("####")[-1].strip().replace(",", "")


# Numbers longer than this are no answer to a grade-school problem: they are read as no number
# (Python refuses int() of more than 4,300 digits, and a float overflows past ~309)
_MAX_DIGITS = 100


def _canonical(x: Fraction) -> str:
    if x.denominator == 1:
        return str(x.numerator)
    try:
        return repr(float(x))
    except OverflowError:  # only reachable below _MAX_DIGITS by a huge numerator over 1/10^k
        return f"{x.numerator}/{x.denominator}"


def _to_fraction(token: str) -> Fraction | None:
    token = token.replace(",", "")
    if len(token) > _MAX_DIGITS:
        return None
    try:
        return Fraction(token)
    except (ValueError, ZeroDivisionError):
        return None


def _small_int(digits: str) -> int | None:
    return int(digits) if len(digits) <= _MAX_DIGITS else None


def _clean(text: str) -> str:
    text = text.replace("\\$", "$").replace("\\!", "").replace("\\,", "").replace("\\%", "%")
    text = re.sub(r"\\text\{([^{}]*)\}", r" \1 ", text)
    return text.replace("**", "").replace("$", " ")


def first_number(segment: str) -> str | None:
    """The first number in a short answer segment (fractions and mixed numbers included)."""
    seg = _clean(segment)
    frac = _FRAC.search(seg)
    num = _NUM.search(seg)
    if frac and (num is None or frac.start() <= num.end()):
        top, bottom = _small_int(frac.group(1)), _small_int(frac.group(2))
        if top is None or not bottom:  # \frac{1}{0} or a 400-digit numerator: no number
            return None
        value = Fraction(top, bottom)
        if num and num.end() <= frac.start() and seg[num.end() : frac.start()].strip() == "":
            whole = _to_fraction(num.group())  # a mixed number like 33\frac{1}{3}
            if whole is not None:
                value = whole + value if whole >= 0 else whole - value
        return _canonical(value)
    if num is None:
        return None
    # "2:1" is a ratio, not the number 2 (a real SmolLM2 answer to "how much longer": gold 2,
    # "The answer is 2:1."); a clock time "2:00 pm" keeps its hour, as GSM8K's golds do
    ratio = re.match(r":(\d+)(?!\d)", seg[num.end() : num.end() + 12])
    if ratio and len(ratio.group(1)) != 2 and "." not in num.group():
        return f"{num.group()}:{ratio.group(1)}"
    # "3/4" written inline
    slash = re.match(r"\s*/\s*(\d+)", seg[num.end() : num.end() + 12])
    parsed = _to_fraction(num.group())
    if parsed is None:
        return None
    if slash and int(slash.group(1)[:12]) != 0 and "." not in num.group():
        parsed = parsed / int(slash.group(1)[:12])
    value = parsed
    return _canonical(value)


def marker_value(segment: str) -> str | None:
    """The number a final-answer marker gives: the first one, or an equation's result.

    Real completions write ``#### 26 × 5 × 1000 = 130,000`` or ``#### $19.50 / 0.75 = 26.00``:
    the answer is what follows the last ``=`` of that first clause, not the first operand.
    """
    clause = _CLAUSE_END.split(segment, 1)[0]
    if "=" in clause:
        result = first_number(clause.rsplit("=", 1)[1])
        if result is not None:
            return result
    return first_number(segment)


def last_number(text: str) -> str | None:
    nums = _NUM.findall(_clean(text))
    for tok in reversed(nums):
        value = _to_fraction(tok)
        if value is not None:
            return _canonical(value)
    return None


def boxed_contents(text: str) -> list[tuple[int, str]]:
    """(position, content) of every ``\\boxed{...}`` with balanced, possibly nested braces."""
    out: list[tuple[int, str]] = []
    start = 0
    while True:
        i = text.find("\\boxed", start)
        if i < 0:
            return out
        j = text.find("{", i, i + 9)  # bounded: "\\boxed" a thousand times must stay linear
        if j < 0:
            start = i + 6
            continue
        depth, k = 0, j
        while k < len(text):
            if text[k] == "{":
                depth += 1
            elif text[k] == "}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        out.append((i, text[j + 1 : k]))
        start = k + 1


def drop_think(text: str) -> str | None:
    """What follows the last ``</think>``; None for an unclosed ``<think>`` with nothing before."""
    if "</think>" in text:
        return text.rsplit("</think>", 1)[1]
    if "<think>" in text:
        before = text.split("<think>", 1)[0]
        return before if before.strip() else None
    return text


def cut_runon(text: str) -> str:
    """Cut the model's invented next few-shot turn (``Question:`` at the start of a line)."""
    m = _RUNON.search(text, 1)
    # Only a continuation after an answer is cut: the prompt's own "Question:" is not in the reply.
    if m and text[: m.start()].strip():
        return text[: m.start()]
    return text


def visible_answer(completion: str) -> str | None:
    """The part of a completion that holds its answer, or None when it never got there."""
    text = drop_think(_SPECIAL.sub("", completion[:MAX_CHARS]))
    return None if text is None else cut_runon(text)


def extract_answer(completion: str) -> Extraction:
    text = visible_answer(completion)
    if text is None:
        return Extraction(None, "none_think_unfinished")
    found: list[tuple[int, str, str]] = []  # (position, rule, value)
    for pos, content in boxed_contents(text):
        value = first_number(content)
        if value is not None:
            found.append((pos, "boxed", value))
    for rule, pattern in _MARKERS:
        for m in pattern.finditer(text):
            segment = text[m.end() : m.end() + 120].split("\n\n", 1)[0]
            segment = re.sub(r"</?answer>", " ", segment)
            if not segment.strip() and rule == "hashes":
                continue
            # The number must come first in the segment, not after a sentence of words.
            head = segment.lstrip(" \t:*$\\")
            if head.startswith(("frac{", "dfrac{", "boxed{")):
                head = "\\" + head  # the backslash stripped above belongs to the LaTeX command
            if (
                head[:1].isdigit()
                or head[:1] in "-."
                or head.startswith(("\\frac", "\\dfrac", "\\boxed", "{"))
            ):
                value = marker_value(head)
                if value is not None:
                    found.append((m.start(), rule, value))
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    if lines and (lm := _LAST_LINE.match(lines[-1])):
        value = marker_value(lines[-1][lm.end() :])
        if value is not None:
            found.append((len(text), "answer_colon", value))
    if found:
        pos, rule, value = max(found, key=lambda f: f[0])
        return Extraction(value, rule)
    value = last_number(text)
    return Extraction(value, "last_number" if value is not None else "none")


def check_reference(reference: str) -> str:
    """The reference answer as given, if it can be compared with an answer.

    Raises:
        DataError: a number too large to compare (``1e999``, a 400-digit integer).
    """
    text = reference.replace(",", "").strip()
    try:
        value = float(text)  # float() has no digit limit: "1"*5000 is inf, never an error
    except ValueError:
        return reference  # not a number: compared as text
    if not math.isfinite(value) or (len(text) > _MAX_DIGITS and value != 0):
        raise DataError(
            f"reference {reference[:40]!r} is not a number an answer can be compared with: "
            "fix the dataset's reference answer"
        )
    return reference


def is_correct(extracted: str | None, reference: str) -> bool:
    """Numeric comparison with a relative tolerance of 1e-6 (``4.00`` equals ``4``), exact in
    fractions so that no answer, however long, overflows a float."""
    if extracted is None:
        return False
    a, b = _to_fraction(extracted), _to_fraction(reference.replace(",", "").strip())
    if a is None or b is None:
        return extracted.strip() == reference.strip()
    return abs(a - b) <= max(Fraction(1, 10**6) * max(abs(a), abs(b)), Fraction(1, 10**9))


def aisbench_non_reasoning(text: str) -> str:
    """AISBench's ``extract_non_reasoning_content``: the text after the last ``</think>`` when
    there is no ``<think>``, otherwise the text with every ``<think>…</think>`` pair (shortest
    match) removed, stripped. Written with ``find`` instead of its ``<think>(.*?)</think>``
    regex, which goes quadratic on many unclosed ``<think>``; the result is the same."""
    if "<think>" not in text and "</think>" in text:
        return text.split("</think>")[-1].strip()
    parts: list[str] = []
    pos = 0
    while (i := text.find("<think>", pos)) >= 0:
        j = text.find("</think>", i + 7)
        if j < 0:
            break  # no later "</think>" closes this or any later "<think>"
        parts.append(text[pos:i])
        pos = j + 8
    parts.append(text[pos:])
    return "".join(parts).strip()


def aisbench_extract(completion: str) -> str | None:
    """AISBench's pipeline for GSM8K: ``extract_non_reasoning_content``, then OpenCompass's
    ``gsm8k_postprocess`` (None where it returns "NULL")."""
    text = aisbench_non_reasoning(completion[:MAX_CHARS])
    nums = _AIS_NUM.findall(text.split("Question:")[0])
    return nums[-1] if nums else None


def aisbench_correct(completion: str, reference: str) -> bool:
    """AISBench / OpenCompass ``Gsm8kEvaluator.is_equal`` on ``aisbench_extract``."""
    pred = aisbench_extract(completion)
    if pred is None:
        return False
    try:
        return pred == reference or abs(float(pred) - int(reference)) < 1e-6
    except ValueError:
        return False


def failure_rate(extractions: Iterable[Extraction]) -> float:
    items = list(extractions)
    return sum(1 for e in items if e.value is None) / len(items) if items else 0.0


def grade_record(record: dict[str, Any]) -> dict[str, Any]:
    """Raises DataError for a reference no answer can be compared with."""
    reference = check_reference(str(record["reference"]))
    ex = extract_answer(str(record["completion"]))
    return {
        **record,
        "extracted": ex.value,
        "correct": is_correct(ex.value, reference),
    }


def grade_lines(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Grade JSONL lines with ``completion`` and ``reference``; bad lines raise DataError."""
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"line {n}: not JSON ({exc.msg})") from exc
        if not isinstance(rec, dict):
            raise DataError(f"line {n}: not a JSON object")
        for key in ("completion", "reference"):
            if key not in rec:
                raise DataError(f"line {n}: missing {key!r}")
        try:
            yield n, grade_record(rec)
        except DataError as exc:
            raise DataError(f"line {n}: {exc}") from exc


__all__ = [
    "Extraction",
    "aisbench_correct",
    "aisbench_extract",
    "aisbench_non_reasoning",
    "boxed_contents",
    "check_reference",
    "cut_runon",
    "drop_think",
    "extract_answer",
    "failure_rate",
    "gold_answer",
    "grade_lines",
    "grade_record",
    "is_correct",
    "marker_value",
]
