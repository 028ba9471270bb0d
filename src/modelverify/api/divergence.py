"""Where two greedy answers part, and whether the reference's own logprobs call it a tie.

Two identical greedy requests may honestly differ: when the top two candidates of a step are
(nearly) tied, the rounding of a different batch shape can flip the argmax. They must not
differ where the reference's top choice led clearly: then the second answer was computed from
different numbers, a batching or determinism bug. The reference's top-2 logprobs at the first
differing token tell the two apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# vLLM computes logits in the model dtype and only then takes float32 logprobs, so in bfloat16
# (8 significant bits) the gap between two candidates is a whole number of ulps: 0.125 nats at
# |logit| 16-32, 0.25 at 32-64. A different batch shape sums in another order and moves a logit
# by an ulp or two, which flips candidates one or two ulps apart: an honest tie (0.1 nats would
# count only exact ties there). A batching bug (wrong KV rows, a mixed-up request) moves the
# distribution by whole nats. 0.3 nats (a probability ratio of 1.35) separates the two.
TIE_MARGIN_NATS = 0.3


@dataclass(frozen=True)
class Step:
    """One generated token and its top candidates, best first."""

    token: str
    top: tuple[tuple[str, float], ...]


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def token_steps(choice: dict[str, Any], chat: bool) -> list[Step] | None:
    """The generated tokens with their top logprobs, or None when the answer has none.

    Completions (vLLM and OpenAI): ``logprobs.tokens`` and ``logprobs.top_logprobs`` (one dict
    token -> logprob per step). Chat: ``logprobs.content[i]`` with ``token`` and
    ``top_logprobs`` (a list of ``{token, logprob}``).
    """
    lp = choice.get("logprobs")
    if not isinstance(lp, dict):
        return None
    steps: list[Step] = []
    if chat:
        content = lp.get("content")
        if not isinstance(content, list):
            return None
        for item in content:
            if not isinstance(item, dict) or not isinstance(item.get("token"), str):
                return None
            cands = [
                (str(t["token"]), float(t["logprob"]))
                for t in item.get("top_logprobs") or []
                if isinstance(t, dict)
                and isinstance(t.get("token"), str)
                and _number(t.get("logprob"))
            ]
            steps.append(Step(item["token"], tuple(sorted(cands, key=lambda c: -c[1]))))
        return steps
    tokens, tops = lp.get("tokens"), lp.get("top_logprobs")
    if not isinstance(tokens, list) or not isinstance(tops, list) or len(tokens) != len(tops):
        return None
    for tok, top in zip(tokens, tops, strict=True):
        if not isinstance(tok, str):
            return None
        alts = top if isinstance(top, dict) else {}  # None at an echoed first prompt token
        cands = [(str(t), float(v)) for t, v in alts.items() if _number(v)]
        steps.append(Step(tok, tuple(sorted(cands, key=lambda c: -c[1]))))
    return steps


@dataclass(frozen=True)
class Divergence:
    """The first token where an answer parts from the reference, judged by the reference."""

    position: int
    ref_token: str | None  # None: that answer ended here
    other_token: str | None
    ref_top: tuple[tuple[str, float], ...]
    margin: float | None  # the reference's top-1 minus top-2 logprob here; None when unknown
    other_top: tuple[tuple[str, float], ...] = ()  # shown, not judged

    @property
    def tie(self) -> bool | None:
        """True: an honest near tie; False: a clear lead was overturned; None: no logprobs."""
        if self.margin is None:
            return None
        return self.margin <= TIE_MARGIN_NATS

    def shown(self) -> str:
        return f"{self.ref_token!r} vs {self.other_token!r}"

    def as_evidence(self) -> dict[str, Any]:
        return {
            "token_position": self.position,
            "reference_token": self.ref_token,
            "other_token": self.other_token,
            "reference_top_logprobs": [{"token": t, "logprob": v} for t, v in self.ref_top],
            "other_top_logprobs": [{"token": t, "logprob": v} for t, v in self.other_top],
            "margin_nats": self.margin,
            "tie_margin_nats": TIE_MARGIN_NATS,
            "verdict": {True: "near tie", False: "clear lead overturned", None: "no logprobs"}[
                self.tie
            ],
        }


def diverge(ref: list[Step], other: list[Step]) -> Divergence | None:
    """The first differing token of two answers, or None when their tokens are the same."""
    n = min(len(ref), len(other))
    k = next((i for i in range(n) if ref[i].token != other[i].token), n)
    if k == len(ref) == len(other):
        return None
    step = ref[k] if k < len(ref) else None
    top = step.top if step is not None else ()
    margin = top[0][1] - top[1][1] if len(top) >= 2 else None
    return Divergence(
        position=k,
        ref_token=step.token if step is not None else None,
        other_token=other[k].token if k < len(other) else None,
        ref_top=top[:2],
        margin=margin,
        other_top=other[k].top[:2] if k < len(other) else (),
    )


__all__ = ["TIE_MARGIN_NATS", "Divergence", "Step", "diverge", "token_steps"]
