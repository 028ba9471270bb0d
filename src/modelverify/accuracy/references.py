"""Published GSM8K scores for known models (package data, see ``data/SOURCES.md``): the
accuracy stage's reference when the user gives none."""

from __future__ import annotations

import json
import re
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

    def protocol_differences(self, api: str, temperature: float) -> list[str]:
        """How the published protocol differs from ours (4-shot CoT, ``api``, sampling at
        ``temperature``); a point its settings leave unstated counts as a difference, since a
        score is only a like-for-like reference when every point is known to match."""
        text = f"{self.settings}; {self.metric}".lower()
        diffs: list[str] = []
        shots = re.search(r"(\d+)[- ]shots?", text)
        if shots is None:
            diffs.append("number of shots not stated (ours: 4)")
        elif int(shots.group(1)) != 4:
            diffs.append(f"{shots.group(1)}-shot (ours: 4-shot)")
        if "cot" not in re.split(r"[^a-z]+", text) and "chain-of-thought" not in text:
            diffs.append("no chain-of-thought prompt (ours: CoT)")
        ours = "chat" if api == "chat" else "completion"
        theirs = (
            "completion"
            if "no chat template" in text
            else "chat"
            if "chat template" in text
            else None
        )
        if theirs is None:
            diffs.append(f"chat template use not stated (ours: {ours})")
        elif theirs != ours:
            diffs.append(f"{theirs} prompt (ours: {ours})")
        temp = re.search(r"temperature\s*[=:]?\s*([\d.]+)", text)
        # lm-eval's gsm8k task decodes greedily unless told otherwise
        greedy = "greedy" in text or (temp is None and "lm-eval" in text)
        their_t = 0.0 if greedy else float(temp.group(1)) if temp else None
        if their_t is None:
            diffs.append(f"sampling not stated (ours: temperature {temperature})")
        elif their_t != temperature:
            mode = "greedy decoding" if their_t == 0 else f"temperature {their_t}"
            diffs.append(f"{mode} (ours: temperature {temperature})")
        return diffs

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
