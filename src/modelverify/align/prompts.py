"""The bundled prompt set (``prompts.json``, provenance in its ``source``), tokenized by the server.

The long-context probe is sized to the served ``max_model_len``: a needle, filler text and a
question, as token ids, so its last prompt positions sit just below the longest context the
engine accepted (capped at ``LONG_MAX`` tokens to bound the cost on large models).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from modelverify.align.served import ServedClient
from modelverify.errors import DataError

LONG_MAX = 8192  # tokens: the long probe's ceiling, whatever the engine accepts


@dataclass
class Text:
    key: str
    text: str
    special: bool  # the tokenizer adds its special tokens (BOS…) to this piece
    served_ids: list[int]


@dataclass
class Prompt:
    id: str
    lang: str
    ids: list[int]
    texts: list[Text] = field(default_factory=list)
    long: bool = False


def load_prompt_set() -> dict[str, Any]:
    try:
        raw = resources.files("modelverify.align").joinpath("prompts.json").read_text("utf-8")
        data: dict[str, Any] = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise DataError(f"the bundled align prompt set is missing or corrupt: {exc}") from exc
    return data


def _filler(name: str) -> str:
    try:
        return resources.files("modelverify.data").joinpath(name).read_text("utf-8")
    except OSError as exc:
        raise DataError(f"the align filler text {name} is missing: {exc}") from exc


def build_prompts(
    client: ServedClient, decode_tokens: int, long_tokens: int | None = None
) -> tuple[list[Prompt], int | None]:
    """The prompt set as the server tokenizes it, and the max_model_len the server reports.

    ``long_tokens``: the long probe's prompt length (default: max_model_len − decode_tokens − 1,
    at most ``LONG_MAX``; 0 leaves the probe out).
    """
    data = load_prompt_set()
    out: list[Prompt] = []
    mml: int | None = None
    for p in data["prompts"]:
        ids, mml = client.tokenize(p["text"])
        out.append(Prompt(p["id"], p["lang"], ids, [Text(p["id"], p["text"], True, ids)]))
    spec = data.get("long")
    if spec and long_tokens != 0:
        if long_tokens is None:
            if mml is None:
                return out, mml
            long_tokens = min(mml - decode_tokens - 1, LONG_MAX)
        pid = spec["id"]
        head, _ = client.tokenize(spec["head"], True)
        tail, _ = client.tokenize(spec["tail"], False)
        text = _filler(spec["filler_file"])
        filler, _ = client.tokenize(text, False)
        need = long_tokens - len(head) - len(tail)
        if need > 0 and filler:
            body = (filler * (need // len(filler) + 1))[:need]
            out.append(
                Prompt(
                    pid,
                    spec["lang"],
                    [*head, *body, *tail],
                    [
                        Text(f"{pid}/head", spec["head"], True, head),
                        Text(f"{pid}/filler", text, False, filler),
                        Text(f"{pid}/tail", spec["tail"], False, tail),
                    ],
                    long=True,
                )
            )
    return out, mml


__all__ = ["LONG_MAX", "Prompt", "Text", "build_prompts", "load_prompt_set"]
