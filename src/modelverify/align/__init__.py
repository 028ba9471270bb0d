"""The align stage: served logprobs against a reference of the same checkpoint."""

from modelverify.align.stage import AlignResult, run_align

__all__ = ["AlignResult", "run_align"]
