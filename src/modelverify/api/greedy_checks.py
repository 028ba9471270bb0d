"""The two checks that send identical greedy requests: one after another, and batched.

Both ask for top-2 logprobs and judge a mismatch by the reference's own candidates at the first
differing token (``divergence.py``): a near tie is a warning (bfloat16 rounding can flip it), a
clear lead overturned is a failure. Without logprobs a mismatch stays a warning.
"""

from __future__ import annotations

import asyncio
from typing import Any

from modelverify.api.checks import (
    CheckContext,
    CheckResult,
    Evidence,
    check,
    evidence,
    no_chat_template,
    result,
    trim,
)
from modelverify.api.divergence import TIE_MARGIN_NATS, Divergence, diverge, token_steps
from modelverify.api.suite_checks import (
    GREEDY,
    STREAM_PROMPT,
    _choice,
    _text,
    describe_mismatch,
)
from modelverify.client import Reply
from modelverify.degenerate import DEGENERATE_MIN_COUNT
from modelverify.results import Status

REPEATS = 5

# -- determinism ----------------------------------------------------------------------------------

DET = ("determinism.greedy", "identical greedy requests give identical text")


def _with_logprobs(body: dict[str, Any], chat: bool) -> dict[str, Any]:
    extra: dict[str, Any] = {"logprobs": True, "top_logprobs": 2} if chat else {"logprobs": 2}
    return {**body, **extra}


async def post_greedy(
    ctx: CheckContext, path: str, body: dict[str, Any], chat: bool
) -> tuple[dict[str, Any], Reply]:
    """Send a greedy request asking for top-2 logprobs (without, if the server refuses them).

    Returns the body actually sent, so a repeat can be the identical request.
    """
    asked = _with_logprobs(body, chat)
    r = await ctx.client.post(path, asked)
    if r.status in (400, 422) and not (chat and no_chat_template(r)):
        return body, await ctx.client.post(path, body)
    return asked, r


def judge(ref: Reply, other: Reply, chat: bool) -> Divergence | None:
    """Where ``other`` parts from ``ref`` by their tokens; None if either has no logprobs."""
    a, b = token_steps(_choice(ref), chat), token_steps(_choice(other), chat)
    if a is None or b is None:
        return None
    return diverge(a, b)


def divergence_evidence(
    ctx: CheckContext,
    path: str,
    body: Any,
    ref: str,
    other: Reply,
    chat: bool,
    d: Divergence | None,
) -> Evidence:
    return Evidence(
        method="POST",
        url=ctx.client.base_url + path,
        request=body,
        status_code=other.status,
        response={
            "reference_text": trim(ref),
            "other_text": trim(_text(other, chat)),
            "divergence": d.as_evidence() if d is not None else None,
        },
    )


def overturned(d: Divergence) -> str:
    """The failure: a token the reference chose clearly was not chosen the second time."""
    assert d.margin is not None
    return (
        f"differs at token {d.position} where the reference's top choice led by "
        f"{d.margin:.2f} nats: a batching/determinism bug ({d.shown()})"
    )


def near_tie(d: Divergence) -> str:
    """The honest warning: the reference's top two candidates were within the tie margin."""
    assert d.margin is not None
    return (
        f"texts differ from token {d.position} ({d.shown()}), where the reference's top two "
        f"candidates are {d.margin:.3f} nats apart (a near tie: <= {TIE_MARGIN_NATS} nats, "
        "which bfloat16 rounding of another batch shape can flip)"
    )


@check(*DET)
async def determinism_greedy(ctx: CheckContext) -> CheckResult:
    path = "/v1/completions"
    base = {"model": ctx.model, "prompt": STREAM_PROMPT, "max_tokens": 48, **GREEDY}
    body, first = await post_greedy(ctx, path, base, chat=False)
    replies = [first]
    for _ in range(REPEATS - 1):
        if not replies[-1].ok:
            break
        replies.append(await ctx.client.post(path, body))
    ev = [evidence(ctx.client, "POST", path, body, first)]
    if not replies[-1].ok:
        r = replies[-1]
        return result(
            DET, Status.FAIL, f"HTTP {r.status}", [evidence(ctx.client, "POST", path, body, r)]
        )
    texts = [_text(r) or "" for r in replies]
    if not texts[0].strip():
        # two empty answers agree and prove nothing: an empty greedy answer is the symptom
        return result(
            DET, Status.FAIL, "the greedy answer is empty: nothing to compare (no agreement)", ev
        )
    differ = [j for j in range(1, REPEATS) if texts[j] != texts[0]]
    ctx.facts["greedy_mismatch_rate"] = len(differ) / (REPEATS - 1)
    ctx.facts["greedy_reference"] = texts[0]
    if not differ:
        return result(
            DET, Status.PASS, f"{REPEATS} identical greedy requests gave identical text", ev
        )
    judged = [(j, judge(first, replies[j], chat=False)) for j in differ]
    head = f"{len(differ)} of {REPEATS - 1} repeats differ from the first"
    clear = [(j, d) for j, d in judged if d is not None and d.tie is False]
    ties = [(j, d) for j, d in judged if d is not None and d.tie is True]
    if clear:
        j, dc = clear[0]
        ev.append(divergence_evidence(ctx, path, body, texts[0], replies[j], False, dc))
        return result(DET, Status.FAIL, f"{head}; repeat {j} {overturned(dc)}", ev)
    j, d = (ties or judged)[0]
    ev.append(divergence_evidence(ctx, path, body, texts[0], replies[j], False, d))
    if ties and len(ties) == len(judged):
        return result(
            DET, Status.WARN, f"{head}, each at a near tie; repeat {j}: {near_tie(ties[0][1])}", ev
        )
    return result(
        DET,
        Status.WARN,
        f"{head}: greedy decoding is not bit-exact on this backend "
        "(no logprobs to tell a tie from a bug)",
        ev,
    )


# -- concurrency -------------------------------------------------------------------------------------

CONC = (
    "concurrency.consistency",
    "16 concurrent greedy requests equal the same requests sent alone",
)
CONC_N = 16


def _mixed(ctx: CheckContext, i: int) -> tuple[str, dict[str, Any], bool]:
    topics = ["rivers", "mountains", "bread", "trains", "owls", "chess", "rain", "bees"]
    topic = topics[i % len(topics)]
    if i % 2 and not ctx.facts.get("no_chat_template"):
        return (
            "/v1/chat/completions",
            {
                "model": ctx.model,
                "messages": [{"role": "user", "content": f"Write one sentence about {topic}."}],
                "max_tokens": 24,
                **GREEDY,
            },
            True,
        )
    return (
        "/v1/completions",
        {"model": ctx.model, "prompt": f"A few facts about {topic}:", "max_tokens": 24, **GREEDY},
        False,
    )


@check(*CONC)
async def concurrency_consistency(ctx: CheckContext) -> CheckResult:
    reqs = [_mixed(ctx, i) for i in range(CONC_N)]
    alone: list[Reply] = []
    for i in range(CONC_N):
        path, body, chat = reqs[i]
        sent, r = await post_greedy(ctx, path, body, chat)
        if chat and no_chat_template(r):  # a base model: batch completions only
            ctx.facts["no_chat_template"] = True
            path, body, chat = _mixed(ctx, i)
            sent, r = await post_greedy(ctx, path, body, chat)
        reqs[i] = (path, sent, chat)
        alone.append(r)
    together = await asyncio.gather(
        *(ctx.client.post(p, b) for p, b, _ in reqs), return_exceptions=True
    )
    failed = [i for i, r in enumerate(together) if isinstance(r, BaseException) or not r.ok]
    failed_alone = [i for i, r in enumerate(alone) if not r.ok]
    if failed or failed_alone:
        i = (failed_alone or failed)[0]
        shown = together[i]
        ev = [
            Evidence(
                method="POST",
                url=ctx.client.base_url + reqs[i][0],
                request=reqs[i][1],
                status_code=alone[i].status,
                response={
                    "alone": trim(alone[i].body if alone[i].body is not None else alone[i].text),
                    "concurrent": trim(
                        shown.body
                        if isinstance(shown, Reply)
                        else f"{type(shown).__name__}: {shown}"
                    ),
                },
            )
        ]
        return result(
            CONC,
            Status.FAIL,
            f"{len(failed)} of {CONC_N} concurrent requests failed"
            + (f", {len(failed_alone)} sent alone failed" if failed_alone else ""),
            ev,
        )
    batched = [r for r in together if isinstance(r, Reply)]
    empty = [
        i
        for i, rr in enumerate(batched)
        if not (_text(alone[i], reqs[i][2]) or "").strip()
        or not (_text(rr, reqs[i][2]) or "").strip()
    ]
    if empty:
        # two empty answers are no agreement: an empty greedy answer is a deployment symptom
        i = empty[0]
        ref = _text(alone[i], reqs[i][2]) or ""
        ev = [divergence_evidence(ctx, reqs[i][0], reqs[i][1], ref, batched[i], reqs[i][2], None)]
        return result(
            CONC,
            Status.FAIL if len(empty) >= DEGENERATE_MIN_COUNT else Status.WARN,
            f"{len(empty)} of {CONC_N} requests got an empty answer (alone or batched): "
            "empty answers are never counted as agreement",
            ev,
        )
    diffs: list[tuple[int, str, Reply]] = []
    for i, rr in enumerate(batched):
        ref = _text(alone[i], reqs[i][2]) or ""
        if (_text(rr, reqs[i][2]) or "") != ref:
            diffs.append((i, ref, rr))
    scope = "" if not ctx.facts.get("no_chat_template") else " (completions only: no chat template)"
    if not diffs:
        path, body, chat = reqs[0]
        ref = _text(alone[0], chat) or ""
        ev = [divergence_evidence(ctx, path, body, ref, batched[0], chat, None)]
        return result(
            CONC,
            Status.PASS,
            f"all {CONC_N} concurrent answers equal the answers sent alone{scope}",
            ev,
        )
    judged = [(i, ref, rr, judge(alone[i], rr, reqs[i][2])) for i, ref, rr in diffs]
    head = f"{len(diffs)} of {CONC_N} answers changed when batched{scope}"
    clear = [(i, ref, rr, d) for i, ref, rr, d in judged if d is not None and d.tie is False]
    ties = [(i, ref, rr, d) for i, ref, rr, d in judged if d is not None and d.tie is True]
    if clear:
        i, ref, rr, dc = clear[0]
        ev = [divergence_evidence(ctx, reqs[i][0], reqs[i][1], ref, rr, reqs[i][2], dc)]
        return result(CONC, Status.FAIL, f"{head}; request {i} {overturned(dc)}", ev)
    i, ref, rr, d = (ties or judged)[0]
    ev = [divergence_evidence(ctx, reqs[i][0], reqs[i][1], ref, rr, reqs[i][2], d)]
    if ties and len(ties) == len(judged):
        # vLLM is not batch-invariant by default: a flip between two near-equal choices is
        # honest arithmetic, not a defect; only a clear leader overturned is (above)
        return result(
            CONC,
            Status.NOT_JUDGED,
            f"{head}, each at a near tie (not a defect: the top two choices were within the "
            f"tie margin); request {i}: {near_tie(ties[0][3])}",
            ev,
        )
    got = _text(rr, reqs[i][2]) or ""
    return result(
        CONC, Status.WARN, f"{head}; request {i}: " + await describe_mismatch(ctx, ref, got), ev
    )


__all__ = ["TIE_MARGIN_NATS", "judge", "post_greedy"]
