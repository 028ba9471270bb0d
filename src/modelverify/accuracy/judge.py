"""Accuracy judged against a like-for-like reference only.

Sources, in order: ``--reference-accuracy`` (a score, a score with its n such as ``0.62/1319``,
or a previous run directory whose ``accuracy.json`` is read); a published score whose protocol
matches ours (``data/gsm8k_reference_scores.json``; a mismatching one is shown beside the
result and never used to pass). Without one, accuracy is not judged (ℹ️).

A gap is a deployment defect only when it is both statistically significant and at least the
floor: with the reference's n, a two-proportion z-test (p < 0.05) between the two scores, both
Wilson intervals shown; with a bare score, the score outside our Wilson interval. The floor is
what two correct stacks are known to differ by:

- vLLM's own GSM8K correctness test allows 0.08 (``RTOL = 0.08`` in
  ``tests/evals/gsm8k/test_gsm8k_correctness.py``) — used for subsets (fewer than 1,319 items);
- TensorRT-LLM's accuracy suite (``tests/integration/defs/accuracy/README.md``) sets the
  smallest regression by a hypothesis test (α 0.05, β 0.2, θ about 3 points; 3.2 points for
  GSM8K's full 1,319 items) — used on the full set.

``--tolerance`` (points), when given, replaces the floor.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from statistics import NormalDist

from modelverify.accuracy.stats import wilson_interval
from modelverify.errors import ConfigError
from modelverify.results import Model, Status

GSM8K_FULL = 1319
FLOOR_SUBSET = 0.08  # vLLM tests/evals/gsm8k/test_gsm8k_correctness.py RTOL
FLOOR_FULL = 0.032  # TensorRT-LLM accuracy suite, GSM8K on its full set
ALPHA = 0.05


class GivenReference(Model):
    accuracy: float
    n: int | None = None
    source: str = ""


_SCORE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(%?)\s*(?:/\s*([0-9]+))?\s*$")


def parse_reference(text: str) -> GivenReference:
    """``0.62``, ``62%``, ``0.62/1319`` or a run directory with an ``accuracy.json``."""
    m = _SCORE.match(text)
    if m is not None:
        value = float(m.group(1)) / (100 if m.group(2) else 1)
        n = int(m.group(3)) if m.group(3) else None
        if not 0 <= value <= 1:
            raise ConfigError(
                f"--reference-accuracy {text}: a score between 0 and 1 (or a percentage)"
            )
        if n is not None and n < 1:
            raise ConfigError(f"--reference-accuracy {text}: n must be at least 1")
        return GivenReference(accuracy=value, n=n, source=f"given: {text.strip()}")
    path = Path(text)
    acc = path / "accuracy.json" if path.is_dir() else path
    if not acc.is_file():
        raise ConfigError(
            f"--reference-accuracy {text}: neither a score (0.62, 62%, 0.62/1319) nor a run "
            "directory with an accuracy.json"
        )
    try:
        data = json.loads(acc.read_text(encoding="utf-8"))
        k, n = int(data["correct"]), int(data["answered"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"--reference-accuracy {text}: unreadable accuracy.json ({exc})") from exc
    if n < 1:
        raise ConfigError(f"--reference-accuracy {text}: that run answered no item")
    return GivenReference(accuracy=k / n, n=n, source=f"run {acc.parent} ({k}/{n})")


def two_proportion_p(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test (1.0 when it cannot tell)."""
    if n1 < 1 or n2 < 1:
        return 1.0
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0 if k1 / n1 == k2 / n2 else 0.0
    z = abs(k1 / n1 - k2 / n2) / se
    return 2 * (1 - NormalDist().cdf(z))


def floor_for(n: int, ref_n: int | None, tolerance: float) -> tuple[float, str]:
    if tolerance > 0:
        return tolerance, f"--tolerance {tolerance * 100:g} points"
    smallest = min(n, ref_n) if ref_n else n
    if smallest >= GSM8K_FULL:
        return FLOOR_FULL, "TensorRT-LLM's 3.2 points on the full set"
    return FLOOR_SUBSET, "vLLM's GSM8K tolerance 0.08 (subset)"


def judge_reference(
    k: int,
    n: int,
    reference: float,
    ref_n: int | None,
    tolerance: float,
    source: str,
) -> tuple[Status, str]:
    """PASS or FAIL of ``k``/``n`` against a like-for-like reference."""
    ours = k / n
    lo, hi = wilson_interval(k, n)
    floor, why = floor_for(n, ref_n, tolerance)
    gap = ours - reference
    head = f"accuracy {ours:.2%} ({k}/{n}, 95% CI {lo:.2%}–{hi:.2%}) vs reference {reference:.2%}"
    if ref_n:
        rk = round(reference * ref_n)
        rlo, rhi = wilson_interval(rk, ref_n)
        p = two_proportion_p(k, n, rk, ref_n)
        significant = p < ALPHA
        head += f" ({rk}/{ref_n}, 95% CI {rlo:.2%}–{rhi:.2%}); two-proportion test p = {p:.3f}"
    else:
        significant = not lo <= reference <= hi
        head += " (no n given: a fixed point against our interval)"
    head += f"; floor {floor * 100:g} points ({why}); reference: {source}"
    # only a drop is a defect: a serving stack does not make a model cleverer
    if significant and gap <= -floor:
        return Status.FAIL, f"{head} — {gap * 100:+.1f} points, beyond chance and the floor"
    return Status.PASS, f"{head} — agrees (gap {gap * 100:+.1f} points)"


__all__ = [
    "FLOOR_FULL",
    "FLOOR_SUBSET",
    "GivenReference",
    "floor_for",
    "judge_reference",
    "parse_reference",
    "two_proportion_p",
]
