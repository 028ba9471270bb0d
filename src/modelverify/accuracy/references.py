"""Published GSM8K scores for known models (package data, see ``data/SOURCES.md``): the
accuracy stage's reference when the user gives none."""

from __future__ import annotations

import json
from importlib import resources

from modelverify.results import Model


class ReferenceScore(Model):
    model: str
    accuracy: float
    stderr: float | None = None
    metric: str = ""
    settings: str = ""
    hardware: str = ""
    stack: str = ""
    source: str = ""

    def describe(self) -> str:
        return (
            f"{self.model} {self.accuracy:.2%} ({self.metric}; {self.settings}; {self.hardware}, "
            f"{self.stack}; {self.source})"
        )


def load_references() -> list[ReferenceScore]:
    text = (
        resources.files("modelverify")
        .joinpath("data/gsm8k_reference_scores.json")
        .read_text(encoding="utf-8")
    )
    return [ReferenceScore(**row) for row in json.loads(text)["scores"]]


def _base(name: str) -> str:
    return name.rstrip("/").split("/")[-1].lower()


def find_reference(*names: str | None) -> ReferenceScore | None:
    """The published score whose model is one of ``names`` (a hub id, a local folder or a
    served model name), compared by their last path component, case-insensitively. A local
    folder named like the hub model (``/models/Qwen3-8B``) matches; ``Qwen3-8B-W8A8`` does not
    match ``Qwen3-8B``."""
    wanted = {_base(n) for n in names if n}
    for ref in load_references():
        if _base(ref.model) in wanted:
            return ref
    return None


__all__ = ["ReferenceScore", "find_reference", "load_references"]
