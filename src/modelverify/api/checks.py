"""The API conformance checks: a table of named checks, each with a stable id.

A check gets a :class:`CheckContext` (client, model id, expected settings) and returns a
:class:`CheckResult` with pass / warn / fail / skipped, a one-line reason and the evidence
(request and trimmed response). Add a check by writing one async function and registering it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from modelverify.client import OpenAIClient, Reply
from modelverify.results import Model, Status

SEED_PROMPT = "The future of artificial intelligence is"
SEED_QUESTION = "What is the capital of France?"


class Evidence(Model):
    method: str
    url: str
    request: Any = None
    status_code: int | None = None
    response: Any = None


class CheckResult(Model):
    id: str
    title: str
    status: Status
    reason: str
    evidence: list[Evidence] = []
    duration_s: float | None = None


@dataclass
class CheckContext:
    client: OpenAIClient
    model: str
    expected_max_model_len: int | None = None
    facts: dict[str, Any] = field(default_factory=dict)


CheckFn = Callable[[CheckContext], Awaitable[CheckResult]]


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    fn: CheckFn


REGISTRY: list[Check] = []


def check(id: str, title: str) -> Callable[[CheckFn], CheckFn]:
    def deco(fn: CheckFn) -> CheckFn:
        REGISTRY.append(Check(id, title, fn))
        return fn

    return deco


def trim(obj: Any, max_str: int = 600, max_items: int = 8) -> Any:
    """A copy of a JSON value small enough to show in a report."""
    if isinstance(obj, str):
        return obj if len(obj) <= max_str else obj[:max_str] + f"… (+{len(obj) - max_str} chars)"
    if isinstance(obj, list):
        out = [trim(x, max_str, max_items) for x in obj[:max_items]]
        if len(obj) > max_items:
            out.append(f"… (+{len(obj) - max_items} items)")
        return out
    if isinstance(obj, dict):
        return {k: trim(v, max_str, max_items) for k, v in obj.items()}
    return obj


def evidence(client: OpenAIClient, method: str, path: str, body: Any, reply: Reply) -> Evidence:
    shown = reply.body if reply.body is not None else reply.text
    return Evidence(
        method=method,
        url=client.base_url + path,
        request=body,
        status_code=reply.status,
        response=trim(shown),
    )


def result(
    c: Check | tuple[str, str], status: Status, reason: str, ev: list[Evidence] | None = None
) -> CheckResult:
    cid, title = (c.id, c.title) if isinstance(c, Check) else c
    return CheckResult(id=cid, title=title, status=status, reason=reason, evidence=ev or [])


_CHAT_TEMPLATE = re.compile(r"chat[ _-]?template", re.I)
NO_CHAT_TEMPLATE = (
    "the model has no chat template: chat requests are rejected with HTTP 400 "
    "(pass --chat-template to the engine, or use /v1/completions)"
)


def no_chat_template(reply: Reply) -> bool:
    """Whether a chat request was refused because the model has no chat template.

    vLLM answers a base model's chat request with HTTP 400 whose message names the chat
    template ("... you must provide a chat template if the tokenizer does not define one").
    """
    return reply.status == 400 and bool(_CHAT_TEMPLATE.search(reply.text))


def usage_consistent(usage: Any) -> str | None:
    """None when ``usage`` adds up, else what is wrong."""
    if not isinstance(usage, dict):
        return "no usage object"
    p, c, t = usage.get("prompt_tokens"), usage.get("completion_tokens"), usage.get("total_tokens")
    if not all(isinstance(x, int) for x in (p, c, t)):
        return f"usage fields missing or not integers: {json.dumps(usage)}"
    assert isinstance(p, int) and isinstance(c, int) and isinstance(t, int)
    if p + c != t:
        return f"prompt_tokens {p} + completion_tokens {c} != total_tokens {t}"
    return None


async def run_checks(ctx: CheckContext, only: set[str] | None = None) -> list[CheckResult]:
    """Run the registered checks in order; a check that raises is a fail, never a crash."""
    from modelverify.api import greedy_checks, seed_checks  # noqa: F401 - register the checks
    from modelverify.api.suite_checks import ORDER

    rank = {cid: i for i, cid in enumerate(ORDER)}
    out: list[CheckResult] = []
    # Facts flow forward: models.list gives max_model_len, vllm.tokenize enables token positions.
    for c in sorted(REGISTRY, key=lambda c: rank.get(c.id, len(rank))):
        if only is not None and c.id not in only:
            continue
        t0 = time.perf_counter()
        try:
            r = await c.fn(ctx)
        except Exception as exc:
            r = result(c, Status.FAIL, f"check raised {type(exc).__name__}: {exc}")
        r.duration_s = time.perf_counter() - t0
        out.append(r)
    return out


__all__ = [
    "NO_CHAT_TEMPLATE",
    "REGISTRY",
    "Check",
    "CheckContext",
    "CheckResult",
    "Evidence",
    "check",
    "evidence",
    "no_chat_template",
    "result",
    "run_checks",
    "trim",
    "usage_consistent",
]
