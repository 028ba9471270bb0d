"""Per-prompt verdicts from the position-by-position comparison (pure functions)."""

from __future__ import annotations

from pydantic import Field

from modelverify.align.compare import (
    TIE_MARGIN,
    PosDiff,
    Window,
    diff_sequences,
    windows,
)
from modelverify.align.model import Sequence
from modelverify.results import Model, Status


class Divergence(Model):
    """Where the two sides' greedy (top-1) tokens first part."""

    position: int
    phase: str
    served_token: int | None
    reference_token: int | None
    served_text: str = ""
    reference_text: str = ""
    reference_margin: float | None = None  # reference top-1 minus top-2, nats
    clear: bool = False  # the margin is above the tie threshold


class TokenizerDiff(Model):
    piece: str
    index: int
    served: list[int]
    reference: list[int]


class PromptAlign(Model):
    id: str
    lang: str = ""
    long: bool = False
    status: Status = Status.PASS
    reason: str = ""
    prompt_tokens: int = 0
    continuation_tokens: int = 0
    compared: int = 0
    greedy_agreement: float | None = None
    membership_misses: int = 0
    prefill_mean: float | None = None
    prefill_max: float | None = None
    decode_mean: float | None = None
    decode_max: float | None = None
    worst_window: dict[str, float | int | str] | None = None
    clear_divergences: int = 0
    near_ties: int = 0
    near_tie_margins: list[float] = Field(default_factory=list)
    first_divergence: Divergence | None = None
    fail_from_position: int | None = None
    tokenizer: list[TokenizerDiff] = Field(default_factory=list)
    alone: str | None = None  # the re-run of a failing prompt on its own, when there was one
    delta_by_position: list[float | None] = Field(default_factory=list)


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def first_token_diff(a: list[int], b: list[int]) -> int | None:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def judge_prompt(
    pid: str,
    served: Sequence,
    ref: Sequence,
    tol: tuple[float, float],
    *,
    lang: str = "",
    long: bool = False,
    tie: float = TIE_MARGIN,
    tokenizer: list[TokenizerDiff] | None = None,
) -> tuple[PromptAlign, list[PosDiff]]:
    diffs = diff_sequences(served, ref)
    res = PromptAlign(
        id=pid,
        lang=lang,
        long=long,
        prompt_tokens=served.prompt_len,
        continuation_tokens=len(served.ids) - served.prompt_len,
        compared=len(diffs),
        tokenizer=tokenizer or [],
    )
    if served.ids[: served.prompt_len] != ref.ids[: ref.prompt_len]:
        i = first_token_diff(served.ids[: served.prompt_len], ref.ids[: ref.prompt_len]) or 0
        res.tokenizer.append(
            TokenizerDiff(
                piece="prompt ids",
                index=i,
                served=served.ids[i : i + 5],
                reference=ref.ids[i : i + 5],
            )
        )
    res.delta_by_position = [None if d.delta is None else round(d.delta, 5) for d in diffs]
    agree = [d for d in diffs if d.a_top1 == d.b_top1]
    res.greedy_agreement = len(agree) / len(diffs) if diffs else None
    for phase in ("prefill", "decode"):
        vals = [d.delta for d in diffs if d.phase == phase and d.delta is not None]
        mx = [d.max_delta for d in diffs if d.phase == phase and d.max_delta is not None]
        setattr(res, f"{phase}_mean", _mean(vals))
        setattr(res, f"{phase}_max", max(mx) if mx else None)
    limit = {"prefill": tol[0], "decode": tol[1]}
    wins: list[Window] = windows(diffs, "prefill") + windows(diffs, "decode")
    if wins:
        w = max(wins, key=lambda w: w.mean / limit[w.phase])
        res.worst_window = {"phase": w.phase, "start": w.start, "end": w.end, "mean": w.mean}
    bad_wins = [w for w in wins if w.mean > limit[w.phase]]
    misses = [d for d in diffs if not (d.a_in_b and d.b_in_a)]
    parted = [d for d in diffs if d.a_top1 != d.b_top1]
    clear = [d for d in parted if d.b_margin is not None and d.b_margin > tie]
    clear_at = {d.pos for d in clear}
    ties = [d for d in parted if d.pos not in clear_at]
    res.membership_misses, res.clear_divergences, res.near_ties = (
        len(misses),
        len(clear),
        len(ties),
    )
    res.near_tie_margins = [round(d.b_margin, 4) for d in ties if d.b_margin is not None][:20]
    if parted:
        d = parted[0]
        res.first_divergence = Divergence(
            position=d.pos,
            phase=d.phase,
            served_token=d.a_top1,
            reference_token=d.b_top1,
            reference_margin=d.b_margin,
            clear=d.pos in clear_at,
        )
    whys: list[str] = []
    starts: list[int] = []
    if res.tokenizer:
        t = res.tokenizer[0]
        whys.append(
            f"the server tokenizes {t.piece} differently from the checkpoint's tokenizer "
            f"(from token {t.index}: {t.served} vs {t.reference})"
        )
    if bad_wins:
        w = bad_wins[0]
        first = next(
            (
                d.pos
                for d in diffs
                if d.phase == w.phase and w.start <= d.pos and (d.delta or 0) > limit[w.phase]
            ),
            w.start,
        )
        starts.append(first)
        whys.append(
            f"mean |Δ logprob| {w.mean:.3f} nats over {w.phase} positions {w.start}–{w.end} "
            f"> {limit[w.phase]:.4f} ({len(bad_wins)} of {len(wins)} windows over)"
        )
    if clear:
        starts.append(clear[0].pos)
        m = clear[0].b_margin or 0.0
        whys.append(
            f"{len(clear)} greedy divergences where the reference led by > {tie} nats "
            f"(first at position {clear[0].pos}, margin {m:.2f})"
        )
    if misses:
        starts.append(misses[0].pos)
        whys.append(
            f"{len(misses)} positions where a greedy token is outside the other side's top-20 "
            f"(first at {misses[0].pos})"
        )
    if whys:
        res.status = Status.FAIL
        res.fail_from_position = min(starts) if starts else None
        frm = f"from position {res.fail_from_position}: " if starts else ""
        res.reason = frm + "; ".join(whys)
    else:
        res.reason = f"{len(diffs)} positions agree" + (
            f"; {len(ties)} near-tie divergences (reference margin ≤ {tie} nats)" if ties else ""
        )
    return res, diffs


__all__ = ["Divergence", "PromptAlign", "TokenizerDiff", "first_token_diff", "judge_prompt"]
