"""The seed report's three endpoint checks: models list, completion, chat completion."""

from __future__ import annotations

from modelverify.api.checks import (
    NO_CHAT_TEMPLATE,
    SEED_PROMPT,
    SEED_QUESTION,
    CheckContext,
    CheckResult,
    check,
    evidence,
    no_chat_template,
    result,
    usage_consistent,
)
from modelverify.results import Status

MODELS = ("models.list", "GET /v1/models")
COMPLETION = ("completions.basic", "POST /v1/completions")
CHAT = ("chat.basic", "POST /v1/chat/completions")


@check(*MODELS)
async def models_list(ctx: CheckContext) -> CheckResult:
    reply = await ctx.client.get("/v1/models", retries=2)
    ev = [evidence(ctx.client, "GET", "/v1/models", None, reply)]
    if not reply.ok or not isinstance(reply.body, dict):
        return result(MODELS, Status.FAIL, f"HTTP {reply.status}, not a JSON object", ev)
    data = reply.body.get("data")
    if not isinstance(data, list) or not data:
        return result(MODELS, Status.FAIL, "no models listed in 'data'", ev)
    entry = next((m for m in data if isinstance(m, dict) and m.get("id") == ctx.model), None)
    if entry is None:
        return result(MODELS, Status.FAIL, f"model {ctx.model!r} not in the list", ev)
    mml = entry.get("max_model_len")
    ctx.facts["max_model_len"] = mml
    if ctx.expected_max_model_len is not None and mml != ctx.expected_max_model_len:
        return result(
            MODELS,
            Status.FAIL,
            f"max_model_len {mml} != configured {ctx.expected_max_model_len}",
            ev,
        )
    owner = entry.get("owned_by")
    if not isinstance(owner, str) or not owner:
        return result(
            MODELS, Status.FAIL, f"owned_by {owner!r}: missing or not a non-empty string", ev
        )
    reason = f"id {ctx.model}, max_model_len = {mml}, owned_by {owner}"
    if mml is None:
        return result(MODELS, Status.WARN, reason + " (server does not report max_model_len)", ev)
    return result(MODELS, Status.PASS, reason, ev)


@check(*COMPLETION)
async def completion_basic(ctx: CheckContext) -> CheckResult:
    body = {"model": ctx.model, "prompt": SEED_PROMPT, "max_tokens": 50, "temperature": 0.7}
    reply = await ctx.client.post("/v1/completions", body, retries=2)
    ev = [evidence(ctx.client, "POST", "/v1/completions", body, reply)]
    if not reply.ok or not isinstance(reply.body, dict):
        return result(COMPLETION, Status.FAIL, f"HTTP {reply.status}", ev)
    choices = reply.body.get("choices") or []
    if not choices or not isinstance(choices[0], dict):
        return result(COMPLETION, Status.FAIL, "no choices", ev)
    text, finish = choices[0].get("text"), choices[0].get("finish_reason")
    usage = reply.body.get("usage")
    if not isinstance(text, str) or not text.strip():
        return result(COMPLETION, Status.FAIL, "empty text", ev)
    if problem := usage_consistent(usage):
        return result(COMPLETION, Status.FAIL, problem, ev)
    assert isinstance(usage, dict)
    ct = usage["completion_tokens"]
    if finish == "length" and ct != 50:
        return result(COMPLETION, Status.FAIL, f"finish_reason length but {ct} tokens, not 50", ev)
    if finish not in ("length", "stop"):
        return result(COMPLETION, Status.FAIL, f"finish_reason {finish!r}", ev)
    reason = (
        f"{ct} tokens generated, finish_reason {finish}, usage "
        f"{usage['prompt_tokens']}+{ct}={usage['total_tokens']}"
    )
    return result(COMPLETION, Status.PASS, reason, ev)


@check(*CHAT)
async def chat_basic(ctx: CheckContext) -> CheckResult:
    body = {
        "model": ctx.model,
        "messages": [{"role": "user", "content": SEED_QUESTION}],
        "max_tokens": 50,
        "temperature": 0.7,
    }
    reply = await ctx.client.post("/v1/chat/completions", body, retries=2)
    ev = [evidence(ctx.client, "POST", "/v1/chat/completions", body, reply)]
    if no_chat_template(reply):
        # A base model served as it is: the endpoint works, the model cannot chat.
        ctx.facts["no_chat_template"] = True
        return result(CHAT, Status.WARN, NO_CHAT_TEMPLATE, ev)
    if not reply.ok or not isinstance(reply.body, dict):
        return result(CHAT, Status.FAIL, f"HTTP {reply.status}", ev)
    choices = reply.body.get("choices") or []
    if not choices or not isinstance(choices[0], dict):
        return result(CHAT, Status.FAIL, "no choices", ev)
    msg = choices[0].get("message") or {}
    content, finish = msg.get("content"), choices[0].get("finish_reason")
    if msg.get("role") != "assistant":
        return result(CHAT, Status.FAIL, f"role {msg.get('role')!r}, not 'assistant'", ev)
    if not isinstance(content, str) or not content.strip():
        return result(CHAT, Status.FAIL, "empty content", ev)
    if problem := usage_consistent(reply.body.get("usage")):
        return result(CHAT, Status.FAIL, problem, ev)
    if finish not in ("stop", "length"):
        return result(CHAT, Status.FAIL, f"finish_reason {finish!r}", ev)
    # The endpoint works; whether a (tiny) model says "Paris" or rambles to max_tokens is
    # model quality, an observation, never a deployment warning.
    said = "mentions Paris" if "paris" in content.lower() else "does not mention Paris"
    if finish == "length" or "paris" not in content.lower():
        cut = ", cut at max_tokens" if finish == "length" else ", finish_reason stop"
        return result(
            CHAT,
            Status.PASS,
            f"assistant answered{cut}; observation (model quality, not judged): the answer {said}",
            ev,
        )
    return result(CHAT, Status.PASS, "assistant answered, mentions Paris, finish_reason stop", ev)
