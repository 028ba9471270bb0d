"""What one side of the comparison holds: token ids and the top-k logprobs at every position."""

from __future__ import annotations

from pydantic import Field

from modelverify.results import Model


class Position(Model):
    """The prediction for one token: the token that followed, its logprob, and the top-k."""

    token: int
    logprob: float | None = None
    top: list[tuple[int, float]] = Field(default_factory=list)


class Sequence(Model):
    """One prompt: ``ids`` is prompt + continuation; ``positions[j]`` predicts ``ids[j + 1]``."""

    id: str
    prompt_len: int
    ids: list[int]
    positions: list[Position]


class Side(Model):
    """Everything one side (the served engine, or its reference) said about the prompt set."""

    kind: str  # served | transformers | url | recorded
    source: str
    dtype: str | None = None
    sequences: list[Sequence] = Field(default_factory=list)

    def by_id(self) -> dict[str, Sequence]:
        return {s.id: s for s in self.sequences}


__all__ = ["Position", "Sequence", "Side"]
