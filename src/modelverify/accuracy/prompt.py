"""The GSM8K 4-shot chain-of-thought prompt, exactly as AISBench / OpenCompass send it."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import resources
from typing import Any

# A model that has answered often goes on to invent the next few-shot turn; cutting there keeps
# the scored text to its own answer. Recorded in the stage result.
STOP_SEQUENCES = ["Question:"]


@lru_cache(maxsize=1)
def _prompt_data() -> dict[str, Any]:
    text = (
        resources.files("modelverify.data")
        .joinpath("gsm8k_4shot_cot_chat_prompt.json")
        .read_text(encoding="utf-8")
    )
    data: dict[str, Any] = json.loads(text)
    return data


def chat_messages(question: str) -> list[dict[str, str]]:
    """The 8 few-shot messages (HUMAN→user, BOT→assistant), then the question turn."""
    data = _prompt_data()
    msgs = [{"role": m["role"], "content": m["content"]} for m in data["fewshot_messages"]]
    msgs.append({"role": "user", "content": data["question_template"].format(question=question)})
    return msgs


def completion_prompt(question: str) -> str:
    """The same shots as plain text, for base models served without a chat template."""
    parts = []
    for m in _prompt_data()["fewshot_messages"]:
        parts.append(
            m["content"] if m["role"] == "user" else " " + m["content"].rstrip("\n") + "\n\n"
        )
    parts.append(_prompt_data()["question_template"].format(question=question))
    return "".join(parts)


# A GSM8K test question is ~240 characters on average; English text runs ~4 characters a token,
# and a chat template adds a few tokens a turn.
_QUESTION_CHARS = 240
_CHARS_PER_TOKEN = 4
_TEMPLATE_TOKENS_PER_TURN = 5


def prompt_tokens_estimate(api: str = "chat") -> int:
    """Tokens of a typical GSM8K prompt (4 shots and one question), estimated without a
    tokenizer: enough to size the eval's concurrency by the engine's KV cache."""
    if api == "chat":
        msgs = chat_messages("x" * _QUESTION_CHARS)
        chars = sum(len(m["content"]) for m in msgs)
        return chars // _CHARS_PER_TOKEN + _TEMPLATE_TOKENS_PER_TURN * len(msgs)
    return len(completion_prompt("x" * _QUESTION_CHARS)) // _CHARS_PER_TOKEN


def prompt_hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


__all__ = [
    "STOP_SEQUENCES",
    "chat_messages",
    "completion_prompt",
    "prompt_hash",
    "prompt_tokens_estimate",
]
