"""Compare two sides position by position: pure functions, no I/O.

Semantics, and where each threshold comes from:

* top-k membership both ways, as vLLM's model tests (``tests/models/utils.py``,
  ``check_logprobs_close``): where the two greedy tokens differ, each side's token must be in the
  other's top-k;
* mean |Δ logprob| over the tokens both top-20s share, split prefill vs decode, against
  0.0689 nats (prefill) and 0.1378 nats (decode): the figures issue 20 gives for vLLM-Ascend's
  ``compare_logprobs``; the decode figure being twice the prefill one matches vLLM-Ascend
  PR #7455 (aclgraph accuracy test: ``decode_atol`` defaults to 2 × ``atol``). The figures
  themselves were not found in the stored copies of vLLM-Ascend, so the report says so;
* a greedy divergence is a failure only where the reference's top choice led clearly: its
  top-1 minus top-2 above ``TIE_MARGIN`` nats; below, it is a near tie, counted and shown.

"Prefill" is every prediction the prefill pass makes (the prompt positions and the first
generated token); "decode" the tokens after it, as in vLLM-Ascend's split.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelverify.align.model import Position, Sequence

PREFILL_TOL = 0.0689  # nats, mean |Δ logprob| over top-20 (vLLM-Ascend compare_logprobs)
DECODE_TOL = 0.1378  # nats, 2 × prefill (vLLM-Ascend PR #7455: decode_atol = 2 × atol)
TIE_MARGIN = 0.5  # nats: a reference top-1 that leads by less is a near tie
WINDOW = 128  # positions per window: a long prompt is judged window by window
TOL_SOURCE = (
    "vLLM-Ascend compare_logprobs figures as given in issue 20 (0.0689 prefill / 0.1378 decode "
    "nats, mean |Δ| over top-20; decode = 2 × prefill as in vLLM-Ascend PR #7455)"
)


@dataclass(frozen=True)
class PosDiff:
    """One position compared: ``delta`` is the mean |Δ| over the shared top-k (None: none shared)."""

    pos: int  # index of the predicted token in the sequence's ids
    phase: str  # prefill | decode
    a_top1: int | None
    b_top1: int | None
    delta: float | None
    max_delta: float | None
    a_in_b: bool
    b_in_a: bool
    b_margin: float | None


def _margin(p: Position) -> float | None:
    return p.top[0][1] - p.top[1][1] if len(p.top) >= 2 else None


def diff_position(pos: int, phase: str, a: Position, b: Position) -> PosDiff:
    at, bt = dict(a.top), dict(b.top)
    shared = at.keys() & bt.keys()
    deltas = [abs(at[t] - bt[t]) for t in shared]
    a1 = a.top[0][0] if a.top else None
    b1 = b.top[0][0] if b.top else None
    return PosDiff(
        pos=pos,
        phase=phase,
        a_top1=a1,
        b_top1=b1,
        delta=sum(deltas) / len(deltas) if deltas else None,
        max_delta=max(deltas) if deltas else None,
        a_in_b=a1 is None or a1 in bt,
        b_in_a=b1 is None or b1 in at,
        b_margin=_margin(b),
    )


def diff_sequences(a: Sequence, b: Sequence) -> list[PosDiff]:
    """Positions both sides predicted from the same ids: up to where their ids part."""
    out: list[PosDiff] = []
    n = min(len(a.positions), len(b.positions))
    for j in range(n):
        # the prediction at j is conditioned on ids[: j + 1]: both sides must have seen them
        if j >= len(a.ids) or j >= len(b.ids) or a.ids[j] != b.ids[j]:
            break
        phase = "prefill" if j < a.prompt_len else "decode"
        out.append(diff_position(j + 1, phase, a.positions[j], b.positions[j]))
    return out


@dataclass(frozen=True)
class Window:
    phase: str
    start: int
    end: int
    mean: float
    n: int


def windows(diffs: list[PosDiff], phase: str, size: int = WINDOW) -> list[Window]:
    """Mean |Δ| per window of ``size`` positions (by position in the sequence) of one phase."""
    groups: dict[int, list[PosDiff]] = {}
    for d in diffs:
        if d.phase == phase and d.delta is not None:
            groups.setdefault(d.pos // size, []).append(d)
    out = []
    for _, ds in sorted(groups.items()):
        vals = [d.delta for d in ds if d.delta is not None]
        out.append(Window(phase, ds[0].pos, ds[-1].pos, sum(vals) / len(vals), len(vals)))
    return out


def tolerances(served_dtype: str | None, reference_dtype: str | None) -> tuple[float, float]:
    """The published figures, scaled for the dtypes compared.

    The published comparison is within one dtype; a bfloat16 engine against a float32
    reference adds bfloat16's own rounding (8 bits of mantissa), so the figures are doubled
    there. The demo's measured margins against these are in the README.
    """
    low = {"bfloat16", "float16", "half"}
    scale = 2.0 if (served_dtype in low) != (reference_dtype in low) else 1.0
    return PREFILL_TOL * scale, DECODE_TOL * scale


__all__ = [
    "DECODE_TOL",
    "PREFILL_TOL",
    "TIE_MARGIN",
    "TOL_SOURCE",
    "WINDOW",
    "PosDiff",
    "Window",
    "diff_position",
    "diff_sequences",
    "tolerances",
    "windows",
]
