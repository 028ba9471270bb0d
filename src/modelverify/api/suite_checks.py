"""The conformance suite beyond the seed's three checks.

Each check sends a small, greedy (temperature 0) request where it can, so a difference means a
bug, not sampling. Greedy decoding is not bit-exact everywhere (bfloat16 ties on CPU, batch
shape on GPUs): ``determinism.greedy`` and ``concurrency.consistency`` (``greedy_checks.py``)
judge a mismatch by the reference's own top-2 logprobs, and the checks here that compare texts
report a mismatch as a warning with the first differing position.
"""

from __future__ import annotations

import re
from typing import Any

from modelverify.api.checks import (
    NO_CHAT_TEMPLATE,
    SEED_PROMPT,
    SEED_QUESTION,
    CheckContext,
    CheckResult,
    Evidence,
    check,
    evidence,
    no_chat_template,
    result,
    trim,
    usage_consistent,
)
from modelverify.client import Reply
from modelverify.errors import EndpointError
from modelverify.results import Status

GREEDY = {"temperature": 0.0, "seed": 0}
STREAM_PROMPT = "Here is a short story about a lighthouse keeper:"
STOP_PROMPT = "Count from 1 to 40: 1, 2, 3, 4,"


def _choice(reply: Reply) -> dict[str, Any]:
    if not isinstance(reply.body, dict):
        return {}
    ch = reply.body.get("choices") or []
    return ch[0] if ch and isinstance(ch[0], dict) else {}


def _text(reply: Reply, chat: bool = False) -> str | None:
    c = _choice(reply)
    if chat:
        msg = c.get("message") or {}
        v = msg.get("content") if isinstance(msg, dict) else None
    else:
        v = c.get("text")
    return v if isinstance(v, str) else None


def first_difference(a: str, b: str) -> int | None:
    """Index of the first differing character, or None when equal."""
    if a == b:
        return None
    n = min(len(a), len(b))
    return next((i for i in range(n) if a[i] != b[i]), n)


async def token_position(ctx: CheckContext, prefix: str) -> int | None:
    """How many tokens ``prefix`` is, by the server's own /tokenize (None without it)."""
    if not ctx.facts.get("has_tokenize"):
        return None
    r = await ctx.client.post(
        "/tokenize", {"model": ctx.model, "prompt": prefix, "add_special_tokens": False}
    )
    if r.ok and isinstance(r.body, dict) and isinstance(r.body.get("count"), int):
        return int(r.body["count"])
    return None


async def describe_mismatch(ctx: CheckContext, a: str, b: str) -> str:
    i = first_difference(a, b)
    assert i is not None
    tok = await token_position(ctx, a[:i])
    where = f"token {tok} (character {i})" if tok is not None else f"character {i}"
    rate = ctx.facts.get("greedy_mismatch_rate")
    base = f" (identical greedy requests differed {rate:.0%} of the time here)" if rate else ""
    return f"texts differ from {where}: {a[i : i + 20]!r} vs {b[i : i + 20]!r}{base}"


async def collect_stream(
    ctx: CheckContext, path: str, body: dict[str, Any]
) -> tuple[list[dict[str, Any]], str | None]:
    """All SSE payloads of one streamed request, and an error when the stream broke."""
    events: list[dict[str, Any]] = []
    try:
        async for ev in ctx.client.stream(path, body):
            events.append(ev.data)
    except EndpointError as exc:
        return events, str(exc)
    return events, None


def stream_text(events: list[dict[str, Any]], chat: bool) -> str:
    parts = []
    for e in events:
        for ch in e.get("choices") or []:
            if not isinstance(ch, dict) or ch.get("index", 0) != 0:
                continue
            if chat:
                delta = ch.get("delta") or {}
                parts.append(delta.get("content") or "" if isinstance(delta, dict) else "")
            else:
                parts.append(ch.get("text") or "")
    return "".join(parts)


def stream_evidence(
    ctx: CheckContext, path: str, body: Any, events: list[dict[str, Any]], err: str | None
) -> Evidence:
    shown = {
        "chunks": len(events),
        "first": trim(events[:2]),
        "last": trim(events[-2:]),
        "error": err,
    }
    return Evidence(
        method="POST",
        url=ctx.client.base_url + path,
        request=body,
        status_code=None,
        response=shown,
    )


# -- streaming --------------------------------------------------------------------------------------

STREAM_C = ("completions.stream", "streamed /v1/completions equals non-streamed")
STREAM_CHAT = ("chat.stream", "streamed /v1/chat/completions equals non-streamed")


async def _stream_check(ctx: CheckContext, chat: bool) -> CheckResult:
    ident = STREAM_CHAT if chat else STREAM_C
    path = "/v1/chat/completions" if chat else "/v1/completions"
    base: dict[str, Any] = {"model": ctx.model, "max_tokens": 40, **GREEDY}
    if chat:
        base["messages"] = [{"role": "user", "content": "Tell me about lighthouses."}]
    else:
        base["prompt"] = STREAM_PROMPT
    plain = await ctx.client.post(path, base)
    ev = [evidence(ctx.client, "POST", path, base, plain)]
    if chat and no_chat_template(plain):
        return result(ident, Status.SKIPPED, NO_CHAT_TEMPLATE, ev)
    if not plain.ok:
        return result(ident, Status.FAIL, f"non-streamed request: HTTP {plain.status}", ev)
    body = {**base, "stream": True, "stream_options": {"include_usage": True}}
    events, err = await collect_stream(ctx, path, body)
    ev.append(stream_evidence(ctx, path, body, events, err))
    if err:
        return result(ident, Status.FAIL, f"stream broken: {err}", ev)
    if not events:
        return result(ident, Status.FAIL, "stream had no data chunks", ev)
    last = events[-1]
    if problem := usage_consistent(last.get("usage")):
        return result(ident, Status.FAIL, f"include_usage: last chunk {problem}", ev)
    text = stream_text(events, chat)
    ref = _text(plain, chat) or ""
    usage = last["usage"]
    plain_usage = plain.body.get("usage") if isinstance(plain.body, dict) else None
    if isinstance(plain_usage, dict) and plain_usage.get("prompt_tokens") != usage.get(
        "prompt_tokens"
    ):
        return result(
            ident,
            Status.FAIL,
            f"prompt_tokens {usage.get('prompt_tokens')} streamed vs "
            f"{plain_usage.get('prompt_tokens')} non-streamed",
            ev,
        )
    if text != ref:
        return result(ident, Status.WARN, await describe_mismatch(ctx, ref, text), ev)
    return result(
        ident,
        Status.PASS,
        f"{len(events)} SSE chunks, [DONE], usage in the last chunk "
        f"({usage['completion_tokens']} tokens); text identical to the non-streamed answer",
        ev,
    )


@check(*STREAM_C)
async def completions_stream(ctx: CheckContext) -> CheckResult:
    return await _stream_check(ctx, chat=False)


@check(*STREAM_CHAT)
async def chat_stream(ctx: CheckContext) -> CheckResult:
    return await _stream_check(ctx, chat=True)


# -- parameters -------------------------------------------------------------------------------------

STOP = ("params.stop", "stop sequences end the text before the stop string")
MAXTOK = ("params.max_tokens", "max_tokens gives exactly that many tokens")
N = ("params.n", "n=2 returns two choices")
LOGPROBS = ("params.logprobs", "logprobs / top_logprobs have the right shape and values <= 0")
SEED = ("params.seed", "the same seed reproduces a sampled answer")
ECHO = ("params.echo", "echo=true returns the prompt before the completion")


@check(*STOP)
async def params_stop(ctx: CheckContext) -> CheckResult:
    base = {"model": ctx.model, "prompt": STOP_PROMPT, "max_tokens": 40, **GREEDY}
    free = await ctx.client.post("/v1/completions", base)
    ev = [evidence(ctx.client, "POST", "/v1/completions", base, free)]
    text = _text(free) or ""
    if not free.ok or len(text) < 8:
        return result(
            STOP,
            Status.SKIPPED if free.ok else Status.FAIL,
            f"no free-running text to pick a stop string from (HTTP {free.status})",
            ev,
        )
    # A stop string whose first occurrence is past the start of the free text, so the
    # expected answer (the text before it) is known exactly.
    stop = next(
        (
            text[i : i + k]
            for k in (3, 4, 6)
            for i in range(max(1, len(text) // 3), len(text) - k)
            if text[i : i + k].strip() and text.find(text[i : i + k]) == i
        ),
        None,
    )
    if stop is None:
        return result(
            STOP, Status.SKIPPED, "the free text repeats itself: no stop string to test", ev
        )
    body = {**base, "stop": [stop]}
    r = await ctx.client.post("/v1/completions", body)
    ev.append(evidence(ctx.client, "POST", "/v1/completions", body, r))
    if not r.ok:
        return result(STOP, Status.FAIL, f"HTTP {r.status} with stop", ev)
    got, finish = _text(r) or "", _choice(r).get("finish_reason")
    if stop in got:
        return result(STOP, Status.FAIL, f"stop string {stop!r} present in the text", ev)
    want = text[: text.index(stop)]
    if finish != "stop":
        return result(STOP, Status.FAIL, f"finish_reason {finish!r}, not 'stop'", ev)
    if got != want:
        return result(
            STOP,
            Status.WARN,
            "ends before the stop string, but " + await describe_mismatch(ctx, want, got),
            ev,
        )
    return result(STOP, Status.PASS, f"stopped right before {stop!r}, finish_reason stop", ev)


@check(*MAXTOK)
async def params_max_tokens(ctx: CheckContext) -> CheckResult:
    body = {
        "model": ctx.model,
        "prompt": STREAM_PROMPT,
        "max_tokens": 7,
        "ignore_eos": True,
        **GREEDY,
    }
    r = await ctx.client.post("/v1/completions", body)
    ev = [evidence(ctx.client, "POST", "/v1/completions", body, r)]
    if r.status == 400:  # servers without vLLM's ignore_eos
        body.pop("ignore_eos")
        r = await ctx.client.post("/v1/completions", body)
        ev.append(evidence(ctx.client, "POST", "/v1/completions", body, r))
    if not r.ok or not isinstance(r.body, dict):
        return result(MAXTOK, Status.FAIL, f"HTTP {r.status}", ev)
    usage = r.body.get("usage") or {}
    ct, finish = usage.get("completion_tokens"), _choice(r).get("finish_reason")
    if finish == "length" and ct == 7:
        return result(MAXTOK, Status.PASS, "7 completion tokens, finish_reason length", ev)
    if finish == "stop" and isinstance(ct, int) and ct <= 7:
        return result(MAXTOK, Status.PASS, f"stopped early at {ct} <= 7 tokens", ev)
    return result(
        MAXTOK, Status.FAIL, f"max_tokens 7 gave {ct} tokens, finish_reason {finish!r}", ev
    )


@check(*N)
async def params_n(ctx: CheckContext) -> CheckResult:
    body = {"model": ctx.model, "prompt": SEED_PROMPT, "max_tokens": 12, "n": 2, "temperature": 0.8}
    r = await ctx.client.post("/v1/completions", body)
    ev = [evidence(ctx.client, "POST", "/v1/completions", body, r)]
    if not r.ok or not isinstance(r.body, dict):
        return result(N, Status.FAIL, f"HTTP {r.status}", ev)
    choices = r.body.get("choices") or []
    idx = sorted(int(c.get("index", -1)) for c in choices if isinstance(c, dict))
    if idx != [0, 1]:
        return result(N, Status.FAIL, f"choice indices {idx}, expected [0, 1]", ev)
    if problem := usage_consistent(r.body.get("usage")):
        return result(N, Status.FAIL, problem, ev)
    return result(N, Status.PASS, "two choices with indices 0 and 1", ev)


@check(*LOGPROBS)
async def params_logprobs(ctx: CheckContext) -> CheckResult:
    body = {"model": ctx.model, "prompt": SEED_PROMPT, "max_tokens": 6, "logprobs": 2, **GREEDY}
    r = await ctx.client.post("/v1/completions", body)
    ev = [evidence(ctx.client, "POST", "/v1/completions", body, r)]
    if not r.ok or not isinstance(r.body, dict):
        return result(LOGPROBS, Status.FAIL, f"HTTP {r.status}", ev)
    lp = _choice(r).get("logprobs") or {}
    toks, vals, tops = lp.get("tokens"), lp.get("token_logprobs"), lp.get("top_logprobs")
    ct = (r.body.get("usage") or {}).get("completion_tokens")
    if not (isinstance(toks, list) and isinstance(vals, list) and isinstance(tops, list)):
        return result(
            LOGPROBS,
            Status.FAIL,
            "completions logprobs lack tokens / token_logprobs / top_logprobs",
            ev,
        )
    if not (len(toks) == len(vals) == len(tops) == ct):
        return result(
            LOGPROBS,
            Status.FAIL,
            f"lengths {len(toks)}/{len(vals)}/{len(tops)} vs {ct} completion tokens",
            ev,
        )
    bad = [v for v in vals if not isinstance(v, (int, float)) or v > 1e-6]
    if bad:
        return result(LOGPROBS, Status.FAIL, f"token_logprobs not <= 0: {bad[:3]}", ev)
    if any(not isinstance(t, dict) or not 2 <= len(t) <= 3 for t in tops):
        return result(LOGPROBS, Status.FAIL, "top_logprobs entries do not hold 2 alternatives", ev)
    cbody = {
        "model": ctx.model,
        "messages": [{"role": "user", "content": SEED_QUESTION}],
        "max_tokens": 6,
        "logprobs": True,
        "top_logprobs": 2,
        **GREEDY,
    }
    cr = await ctx.client.post("/v1/chat/completions", cbody)
    ev.append(evidence(ctx.client, "POST", "/v1/chat/completions", cbody, cr))
    if no_chat_template(cr):
        return result(
            LOGPROBS,
            Status.PASS,
            f"{ct} completion logprobs, all <= 0; chat logprobs not tested: {NO_CHAT_TEMPLATE}",
            ev,
        )
    if not cr.ok:
        return result(
            LOGPROBS, Status.WARN, f"completions fine; chat with logprobs: HTTP {cr.status}", ev
        )
    content = (_choice(cr).get("logprobs") or {}).get("content")
    if not isinstance(content, list) or not content:
        return result(LOGPROBS, Status.FAIL, "chat logprobs.content missing", ev)
    for item in content:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("logprob"), (int, float))
            or item["logprob"] > 1e-6
        ):
            return result(LOGPROBS, Status.FAIL, f"chat logprob entry invalid: {trim(item)}", ev)
        if len(item.get("top_logprobs") or []) != 2:
            return result(LOGPROBS, Status.FAIL, "chat top_logprobs does not hold 2 entries", ev)
    return result(
        LOGPROBS,
        Status.PASS,
        f"{ct} completion logprobs and {len(content)} chat logprobs, all <= 0",
        ev,
    )


@check(*SEED)
async def params_seed(ctx: CheckContext) -> CheckResult:
    body = {
        "model": ctx.model,
        "prompt": STREAM_PROMPT,
        "max_tokens": 24,
        "temperature": 1.0,
        "seed": 1234,
    }
    a = await ctx.client.post("/v1/completions", body)
    b = await ctx.client.post("/v1/completions", body)
    other = {**body, "seed": 4321}
    c = await ctx.client.post("/v1/completions", other)
    ev = [
        evidence(ctx.client, "POST", "/v1/completions", body, a),
        evidence(ctx.client, "POST", "/v1/completions", other, c),
    ]
    if not (a.ok and b.ok and c.ok):
        return result(SEED, Status.FAIL, f"HTTP {a.status}/{b.status}/{c.status}", ev)
    ta, tb, tc = _text(a) or "", _text(b) or "", _text(c) or ""
    if ta != tb:
        return result(
            SEED,
            Status.FAIL,
            "same seed, different text: " + await describe_mismatch(ctx, ta, tb),
            ev,
        )
    if ta == tc:
        return result(
            SEED,
            Status.WARN,
            "seeds 1234 and 4321 gave the same text (possible but unlikely at temperature 1)",
            ev,
        )
    return result(SEED, Status.PASS, "seed 1234 reproduced its text; seed 4321 gave another", ev)


@check(*ECHO)
async def params_echo(ctx: CheckContext) -> CheckResult:
    body = {"model": ctx.model, "prompt": SEED_PROMPT, "max_tokens": 5, "echo": True, **GREEDY}
    r = await ctx.client.post("/v1/completions", body)
    ev = [evidence(ctx.client, "POST", "/v1/completions", body, r)]
    if r.status in (400, 422):
        return result(ECHO, Status.SKIPPED, f"server rejects echo (HTTP {r.status})", ev)
    if not r.ok:
        return result(ECHO, Status.FAIL, f"HTTP {r.status}", ev)
    text = _text(r) or ""
    if not text.startswith(SEED_PROMPT):
        return result(ECHO, Status.FAIL, f"text does not start with the prompt: {text[:60]!r}", ev)
    if len(text) <= len(SEED_PROMPT):
        return result(ECHO, Status.FAIL, "echoed the prompt but generated nothing", ev)
    return result(ECHO, Status.PASS, "prompt echoed, completion follows", ev)


# -- chat template ----------------------------------------------------------------------------------

TEMPLATE = ("chat.template", "server counts the chat prompt as its template renders it")


@check(*TEMPLATE)
async def chat_template(ctx: CheckContext) -> CheckResult:
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": SEED_QUESTION},
    ]
    body = {"model": ctx.model, "messages": messages, "max_tokens": 4, **GREEDY}
    r = await ctx.client.post("/v1/chat/completions", body)
    ev = [evidence(ctx.client, "POST", "/v1/chat/completions", body, r)]
    if no_chat_template(r):
        ctx.facts["no_chat_template"] = True
        return result(TEMPLATE, Status.WARN, NO_CHAT_TEMPLATE, ev)
    if not r.ok or not isinstance(r.body, dict):
        return result(TEMPLATE, Status.FAIL, f"HTTP {r.status}", ev)
    served = (r.body.get("usage") or {}).get("prompt_tokens")
    tbody = {"model": ctx.model, "messages": messages, "add_generation_prompt": True}
    t = await ctx.client.post("/tokenize", tbody)
    ev.append(evidence(ctx.client, "POST", "/tokenize", tbody, t))
    if t.status == 404:
        return result(
            TEMPLATE, Status.SKIPPED, "server has no /tokenize to render the template", ev
        )
    if not t.ok or not isinstance(t.body, dict) or not isinstance(t.body.get("count"), int):
        return result(TEMPLATE, Status.FAIL, f"/tokenize with messages: HTTP {t.status}", ev)
    rendered = t.body["count"]
    if rendered != served:
        return result(
            TEMPLATE,
            Status.FAIL,
            f"chat request counted {served} prompt tokens, the rendered template is {rendered}",
            ev,
        )
    return result(TEMPLATE, Status.PASS, f"{served} prompt tokens = rendered template length", ev)


# -- errors ------------------------------------------------------------------------------------------

E_MODEL = ("errors.unknown_model", "unknown model -> 404 with an error object")
E_LONG = ("errors.too_long", "max_tokens beyond max_model_len -> 400 with an error object")
E_JSON = ("errors.malformed_json", "malformed JSON -> 4xx, and the server still answers")


def _error_object(reply: Reply) -> bool:
    b = reply.body
    return isinstance(b, dict) and (
        isinstance(b.get("error"), dict)
        or isinstance(b.get("message"), str)
        or isinstance(b.get("detail"), (str, list))
    )


@check(*E_MODEL)
async def errors_unknown_model(ctx: CheckContext) -> CheckResult:
    body = {"model": "modelverify-no-such-model", "prompt": "hi", "max_tokens": 2}
    r = await ctx.client.post("/v1/completions", body)
    ev = [evidence(ctx.client, "POST", "/v1/completions", body, r)]
    if r.status == 404 and _error_object(r):
        return result(E_MODEL, Status.PASS, "HTTP 404 with an error object", ev)
    if 400 <= r.status < 500:
        return result(E_MODEL, Status.WARN, f"HTTP {r.status} (OpenAI returns 404)", ev)
    return result(E_MODEL, Status.FAIL, f"HTTP {r.status} for an unknown model", ev)


@check(*E_LONG)
async def errors_too_long(ctx: CheckContext) -> CheckResult:
    # The configured length when known (a server may misreport it), else what it reports.
    mml = ctx.expected_max_model_len or ctx.facts.get("max_model_len")
    if not isinstance(mml, int):
        return result(E_LONG, Status.SKIPPED, "max_model_len unknown (models.list gave none)")
    body = {"model": ctx.model, "prompt": "hi", "max_tokens": mml + 1}
    r = await ctx.client.post("/v1/completions", body)
    ev = [evidence(ctx.client, "POST", "/v1/completions", body, r)]
    if r.status == 400 and _error_object(r):
        return result(
            E_LONG,
            Status.PASS,
            f"max_tokens {mml + 1} > max_model_len {mml}: HTTP 400 with an error object",
            ev,
        )
    if r.ok:
        return result(
            E_LONG, Status.FAIL, f"accepted max_tokens {mml + 1} > max_model_len {mml}", ev
        )
    if 400 <= r.status < 500:
        return result(E_LONG, Status.WARN, f"HTTP {r.status}, expected 400", ev)
    return result(E_LONG, Status.FAIL, f"HTTP {r.status}: a server error for bad input", ev)


@check(*E_JSON)
async def errors_malformed_json(ctx: CheckContext) -> CheckResult:
    raw = b'{"model": "x", "prompt": "unterminated'
    r = await ctx.client.request("POST", "/v1/completions", content=raw)
    ev = [
        Evidence(
            method="POST",
            url=ctx.client.base_url + "/v1/completions",
            request=raw.decode(),
            status_code=r.status,
            response=trim(r.body if r.body is not None else r.text),
        )
    ]
    after = await ctx.client.get("/v1/models")
    if not after.ok:
        return result(
            E_JSON,
            Status.FAIL,
            f"server stopped answering after malformed JSON (HTTP {after.status})",
            ev,
        )
    if 400 <= r.status < 500:
        return result(E_JSON, Status.PASS, f"HTTP {r.status}; /v1/models still answers", ev)
    return result(E_JSON, Status.FAIL, f"HTTP {r.status} for malformed JSON", ev)


# -- vLLM extras -------------------------------------------------------------------------------------

HEALTH = ("vllm.health", "GET /health")
VERSION = ("vllm.version", "GET /version")
METRICS = ("vllm.metrics", "GET /metrics is valid Prometheus text")
TOKENIZE = ("vllm.tokenize", "/tokenize then /detokenize gives the text back")
_PROM = re.compile(
    r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})?\s+"
    r"[-+]?(\d+(\.\d*)?([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|Inf|NaN)(\s+-?\d+)?$"
)


@check(*HEALTH)
async def vllm_health(ctx: CheckContext) -> CheckResult:
    r = await ctx.client.get("/health")
    ev = [evidence(ctx.client, "GET", "/health", None, r)]
    if r.status == 404:
        return result(HEALTH, Status.SKIPPED, "no /health (not a vLLM server?)", ev)
    if r.ok:
        return result(HEALTH, Status.PASS, f"HTTP {r.status}", ev)
    return result(HEALTH, Status.FAIL, f"HTTP {r.status}", ev)


@check(*VERSION)
async def vllm_version(ctx: CheckContext) -> CheckResult:
    r = await ctx.client.get("/version")
    ev = [evidence(ctx.client, "GET", "/version", None, r)]
    if r.status == 404:
        return result(VERSION, Status.SKIPPED, "no /version", ev)
    v = r.body.get("version") if isinstance(r.body, dict) else None
    if r.ok and isinstance(v, str) and v:
        ctx.facts["server_version"] = v
        return result(VERSION, Status.PASS, f"version {v}", ev)
    return result(VERSION, Status.FAIL, f"HTTP {r.status}, no version string", ev)


def parse_prometheus(text: str) -> tuple[int, list[str]]:
    """(samples, bad lines) of Prometheus exposition text."""
    samples, bad = 0, []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if _PROM.match(s):
            samples += 1
        else:
            bad.append(s[:100])
    return samples, bad


@check(*METRICS)
async def vllm_metrics(ctx: CheckContext) -> CheckResult:
    r = await ctx.client.get("/metrics")
    shown = Evidence(
        method="GET",
        url=ctx.client.base_url + "/metrics",
        status_code=r.status,
        response=trim(r.text, 400),
    )
    if r.status == 404:
        return result(METRICS, Status.SKIPPED, "no /metrics", [shown])
    if not r.ok:
        return result(METRICS, Status.FAIL, f"HTTP {r.status}", [shown])
    samples, bad = parse_prometheus(r.text)
    if bad:
        return result(
            METRICS,
            Status.FAIL,
            f"{len(bad)} lines are not Prometheus samples, e.g. {bad[0]!r}",
            [shown],
        )
    if samples == 0:
        return result(METRICS, Status.FAIL, "no samples", [shown])
    vllm = sum(1 for line in r.text.splitlines() if line.startswith("vllm:"))
    return result(METRICS, Status.PASS, f"{samples} samples parse ({vllm} vllm:* lines)", [shown])


@check(*TOKENIZE)
async def vllm_tokenize(ctx: CheckContext) -> CheckResult:
    text = "Hello, world! 你好 123"
    body = {"model": ctx.model, "prompt": text, "add_special_tokens": False}
    r = await ctx.client.post("/tokenize", body)
    ev = [evidence(ctx.client, "POST", "/tokenize", body, r)]
    if r.status == 404:
        return result(TOKENIZE, Status.SKIPPED, "no /tokenize", ev)
    toks = r.body.get("tokens") if isinstance(r.body, dict) else None
    if not r.ok or not isinstance(toks, list) or not toks:
        return result(TOKENIZE, Status.FAIL, f"/tokenize: HTTP {r.status}, no tokens", ev)
    ctx.facts["has_tokenize"] = True
    if r.body.get("count") not in (None, len(toks)):
        return result(
            TOKENIZE, Status.FAIL, f"count {r.body.get('count')} != {len(toks)} tokens", ev
        )
    dbody = {"model": ctx.model, "tokens": toks}
    d = await ctx.client.post("/detokenize", dbody)
    ev.append(evidence(ctx.client, "POST", "/detokenize", dbody, d))
    back = d.body.get("prompt") if isinstance(d.body, dict) else None
    if not d.ok or back != text:
        return result(TOKENIZE, Status.FAIL, f"/detokenize gave {back!r}, not {text!r}", ev)
    return result(TOKENIZE, Status.PASS, f"{len(toks)} tokens, round trip exact", ev)


ORDER = [
    "models.list",
    "completions.basic",
    "chat.basic",
    "vllm.health",
    "vllm.version",
    "vllm.metrics",
    "vllm.tokenize",
    "determinism.greedy",
    "completions.stream",
    "chat.stream",
    "params.stop",
    "params.max_tokens",
    "params.n",
    "params.logprobs",
    "params.seed",
    "params.echo",
    "chat.template",
    "errors.unknown_model",
    "errors.too_long",
    "errors.malformed_json",
    "concurrency.consistency",
]

__all__ = ["ORDER", "first_difference", "parse_prometheus", "stream_text"]
