"""Every API check fails (or warns) for the right reason, against a fake in-process server.

The fake speaks the OpenAI protocol correctly by default (each check passes against it), and a
named fault breaks exactly one behaviour — the faults a real vLLM can't be made to show on
demand: a lying usage count, a stream cut before [DONE], ignored parameters, 5xx on bad input.
Faults a real engine shows honestly — a near tie flipped by batching, a base model without a
chat template, a server without vLLM's extra endpoints — must warn or skip, never fail.
It runs in-process as an httpx transport: no sockets, no engine.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from typing import Any

import httpx
import pytest

from modelverify.api.checks import CheckContext, CheckResult, run_checks
from modelverify.api.divergence import TIE_MARGIN_NATS, Step, diverge, token_steps
from modelverify.api.suite_checks import first_difference, parse_prometheus
from modelverify.client import OpenAIClient
from modelverify.results import Status

MODEL = "fake-model"
MML = 2048
STORY = "once upon a time the keeper lit the lamp and watched the ships pass in the night. "
TIE_AT = 5  # the greedy story's 'u' of "upon": a near tie with 'U' under the tie faults
NO_TEMPLATE = (  # vLLM's words for a tokenizer without a chat template (HTTP 400)
    "As of transformers v4.44, default chat template is no longer allowed, so you must "
    "provide a chat template if the tokenizer does not define one."
)
VLLM_EXTRAS = ("/health", "/version", "/metrics", "/tokenize", "/detokenize")


class FakeServer:
    """A tiny OpenAI-compatible server; one character is one token."""

    def __init__(self, faults: set[str]):
        self.faults = faults
        self.in_flight = 0
        self.calls = itertools.count()

    # -- model -----------------------------------------------------------------------------------
    def render(self, messages: list[dict[str, Any]], gen_prompt: bool = True) -> str:
        text = "".join(f"<|{m['role']}|>{m['content']}\n" for m in messages)
        return text + ("<|assistant|>" if gen_prompt else "")

    def generate(self, prompt: str, body: dict[str, Any], batched: bool) -> tuple[str, str]:
        temp = float(body.get("temperature", 1.0))
        n_max = int(body.get("max_tokens") or 16)
        if "max_tokens_off" in self.faults:
            n_max += 1
        if "capital of France" in prompt:
            full = "Paris is the capital of France."
        elif temp > 0:
            seed = body.get("seed")
            if seed is None or "seed_ignored" in self.faults:
                seed = next(self.calls)
            rng = random.Random(f"{seed}|{prompt}")
            words = [
                rng.choice(["sea", "lamp", "ship", "night", "stone", "gull"]) for _ in range(64)
            ]
            full = " " + " ".join(words)
        else:
            full = STORY * 4
            if "nondeterministic" in self.faults:
                full = f"{next(self.calls)}" + full
            if batched and "batch_differs" in self.faults:
                full = "X" + full
            flip = ("batch_tie" in self.faults and batched) or (
                "greedy_tie" in self.faults and next(self.calls) % 2 == 1
            )
            if flip:
                full = full[:TIE_AT] + full[TIE_AT].swapcase() + full[TIE_AT + 1 :]
        text, finish = full[:n_max], "length" if len(full) > n_max else "stop"
        stops = body.get("stop") or []
        if "stop_ignored" not in self.faults:
            for s in [stops] if isinstance(stops, str) else stops:
                if s in text:
                    text, finish = text[: text.index(s)], "stop"
        return text, finish

    # -- endpoints ---------------------------------------------------------------------------------
    def usage(self, p: int, c: int) -> dict[str, int]:
        total = p + c + (1 if "usage_lie" in self.faults else 0)
        return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": total}

    def err(self, code: int, msg: str) -> httpx.Response:
        return httpx.Response(
            code, json={"error": {"message": msg, "type": "BadRequestError", "code": code}}
        )

    def top(self, i: int, c: str, greedy: bool) -> list[tuple[str, float]]:
        """Token ``c`` at position ``i`` and its runner-up, best first."""
        if greedy and i == TIE_AT and {"greedy_tie", "batch_tie"} & self.faults:
            return [(c, -0.70), (c.swapcase(), -0.72)]  # 0.02 nats apart: an honest tie
        lp = 0.5 if "logprobs_positive" in self.faults else -0.25
        return [(c, lp), ("alt", -3.0)]  # a clear lead of 2.75 nats

    def completion(self, body: dict[str, Any], chat: bool, batched: bool) -> httpx.Response:
        if body.get("model") != MODEL and "unknown_model_200" not in self.faults:
            return self.err(404, f"The model `{body.get('model')}` does not exist.")
        if chat and "no_chat_template" in self.faults:
            return self.err(400, NO_TEMPLATE)
        if int(body.get("max_tokens") or 0) > MML:
            return (
                httpx.Response(500, text="Internal Server Error")
                if "too_long_500" in self.faults
                else self.err(400, "max_tokens is too large")
            )
        if chat:
            prompt = self.render(body["messages"])
            counted = len(prompt) + (3 if "template_mismatch" in self.faults else 0)
        else:
            prompt = str(body.get("prompt"))
            counted = len(prompt)
        n = 1 if "n_ignored" in self.faults else int(body.get("n") or 1)
        greedy = float(body.get("temperature", 1.0)) == 0
        choices, total_c = [], 0
        for i in range(n):
            text, finish = self.generate(prompt + ("" if i == 0 else f"#{i}"), body, batched)
            total_c += len(text)
            ch: dict[str, Any] = {"index": i, "finish_reason": finish}
            tops = [self.top(j, c, greedy) for j, c in enumerate(text)]
            logprobs = body.get("logprobs") and "no_logprobs" not in self.faults
            if chat:
                ch["message"] = {
                    "role": "user" if "chat_role" in self.faults else "assistant",
                    "content": text,
                }
                if logprobs:
                    k = int(body.get("top_logprobs") or 0)
                    ch["logprobs"] = {
                        "content": [
                            {
                                "token": c,
                                "logprob": top[0][1],
                                "top_logprobs": [{"token": t, "logprob": v} for t, v in top[:k]],
                            }
                            for c, top in zip(text, tops, strict=True)
                        ]
                    }
            else:
                shown = (
                    prompt + text
                    if body.get("echo") and "echo_ignored" not in self.faults
                    else text
                )
                ch["text"] = shown
                if logprobs:
                    k = int(body["logprobs"])
                    ch["logprobs"] = {
                        "tokens": list(text),
                        "token_logprobs": [top[0][1] for top in tops],
                        "top_logprobs": [dict(top[: max(k, 1)]) for top in tops],
                        "text_offset": [],
                    }
            choices.append(ch)
        out = {
            "id": "x",
            "object": "chat.completion" if chat else "text_completion",
            "model": MODEL,
            "choices": choices,
            "usage": self.usage(counted, total_c),
        }
        if not body.get("stream"):
            return httpx.Response(200, json=out)
        return self.sse(out, chat, body)

    def sse(self, out: dict[str, Any], chat: bool, body: dict[str, Any]) -> httpx.Response:
        ch = out["choices"][0]
        text = ch["message"]["content"] if chat else ch["text"]
        lines = []
        for i in range(0, len(text), 3):
            piece = text[i : i + 3]
            c = {"index": 0, "delta": {"content": piece}} if chat else {"index": 0, "text": piece}
            lines.append({"choices": [c]})
        lines.append(
            {
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": ch["finish_reason"],
                        **({"delta": {}} if chat else {"text": ""}),
                    }
                ]
            }
        )
        include = (body.get("stream_options") or {}).get("include_usage")
        if include and "stream_no_usage" not in self.faults:
            lines.append({"choices": [], "usage": out["usage"]})
        data = "".join(f"data: {json.dumps(x)}\n\n" for x in lines)
        cut = ("chat_stream_cut" if chat else "stream_cut") in self.faults
        if not cut:
            data += "data: [DONE]\n\n"
        return httpx.Response(
            200, content=data.encode(), headers={"content-type": "text/event-stream"}
        )

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        try:
            await asyncio.sleep(0.005)
            return self.route(request, batched=self.in_flight > 1)
        finally:
            self.in_flight -= 1

    def route(self, request: httpx.Request, batched: bool) -> httpx.Response:
        path = request.url.path
        if path in VLLM_EXTRAS and "no_vllm_extras" in self.faults:
            return httpx.Response(404, json={"detail": "Not Found"})
        if request.method == "GET":
            if path == "/v1/models":
                mml = 999 if "models_mml" in self.faults else MML
                entry = {"id": MODEL, "object": "model", "owned_by": "fake", "max_model_len": mml}
                if "owned_by_missing" in self.faults:
                    del entry["owned_by"]
                return httpx.Response(200, json={"object": "list", "data": [entry]})
            if path == "/health":
                return httpx.Response(500 if "no_health" in self.faults else 200)
            if path == "/version":
                return httpx.Response(
                    200, json={} if "version_empty" in self.faults else {"version": "0.0-fake"}
                )
            if path == "/metrics":
                text = (
                    "<html>oops</html>"
                    if "metrics_garbage" in self.faults
                    else (
                        "# HELP vllm:num_requests_running x\n# TYPE vllm:num_requests_running gauge\n"
                        'vllm:num_requests_running{model_name="fake-model"} 0.0\n'
                    )
                )
                return httpx.Response(200, text=text)
            return httpx.Response(404, json={"detail": "Not Found"})
        try:
            body = json.loads(request.content)
        except json.JSONDecodeError:
            if "malformed_500" in self.faults:
                return httpx.Response(500, text="Internal Server Error")
            return self.err(400, "JSON decode error")
        if path == "/v1/completions":
            return self.completion(body, chat=False, batched=batched)
        if path == "/v1/chat/completions":
            return self.completion(body, chat=True, batched=batched)
        if path == "/tokenize":
            if "messages" in body and "no_chat_template" in self.faults:
                return self.err(400, NO_TEMPLATE)
            text = (
                self.render(body["messages"], body.get("add_generation_prompt", True))
                if "messages" in body
                else body["prompt"]
            )
            toks = [ord(c) for c in text]
            return httpx.Response(
                200, json={"tokens": toks, "count": len(toks), "max_model_len": MML}
            )
        if path == "/detokenize":
            text = "".join(chr(t) for t in body["tokens"])
            return httpx.Response(
                200, json={"prompt": text + ("?" if "detok_wrong" in self.faults else "")}
            )
        return httpx.Response(404, json={"detail": "Not Found"})


def run_suite(faults: set[str], only: set[str] | None = None) -> dict[str, CheckResult]:
    async def go() -> list[CheckResult]:
        transport = httpx.MockTransport(FakeServer(faults))
        async with OpenAIClient("http://fake", transport=transport) as client:
            ctx = CheckContext(client=client, model=MODEL, expected_max_model_len=MML)
            return await run_checks(ctx, only)

    return {r.id: r for r in asyncio.run(go())}


def test_every_check_passes_against_a_compliant_server() -> None:
    res = run_suite(set())
    assert len(res) >= 21
    bad = {k: (v.status, v.reason) for k, v in res.items() if v.status != Status.PASS}
    assert bad == {}


FAULTS = [
    ("models_mml", "models.list", Status.FAIL, "max_model_len 999 != configured 2048"),
    ("owned_by_missing", "models.list", Status.FAIL, "owned_by None"),
    ("usage_lie", "completions.basic", Status.FAIL, "!= total_tokens"),
    ("chat_role", "chat.basic", Status.FAIL, "not 'assistant'"),
    ("no_chat_template", "chat.basic", Status.WARN, "the model has no chat template"),
    ("no_health", "vllm.health", Status.FAIL, "HTTP 500"),
    ("version_empty", "vllm.version", Status.FAIL, "no version string"),
    ("metrics_garbage", "vllm.metrics", Status.FAIL, "not Prometheus samples"),
    ("detok_wrong", "vllm.tokenize", Status.FAIL, "/detokenize gave"),
    ("no_vllm_extras", "vllm.health", Status.SKIPPED, "no /health"),
    (
        "nondeterministic",
        "determinism.greedy",
        Status.FAIL,
        "differs at token 0 where the reference's top choice led by 2.75 nats: "
        "a batching/determinism bug",
    ),
    (
        "greedy_tie",
        "determinism.greedy",
        Status.WARN,
        f"near tie; repeat 1: texts differ from token {TIE_AT}",
    ),
    ("stream_cut", "completions.stream", Status.FAIL, "stream ended before [DONE]"),
    ("stream_no_usage", "completions.stream", Status.FAIL, "include_usage"),
    ("chat_stream_cut", "chat.stream", Status.FAIL, "stream ended before [DONE]"),
    ("stop_ignored", "params.stop", Status.FAIL, "present in the text"),
    ("max_tokens_off", "params.max_tokens", Status.FAIL, "max_tokens 7 gave 8 tokens"),
    ("n_ignored", "params.n", Status.FAIL, "choice indices [0]"),
    ("logprobs_positive", "params.logprobs", Status.FAIL, "not <= 0"),
    ("seed_ignored", "params.seed", Status.FAIL, "same seed, different text"),
    ("echo_ignored", "params.echo", Status.FAIL, "does not start with the prompt"),
    ("template_mismatch", "chat.template", Status.FAIL, "rendered template is"),
    ("unknown_model_200", "errors.unknown_model", Status.FAIL, "HTTP 200"),
    ("too_long_500", "errors.too_long", Status.FAIL, "HTTP 500"),
    ("malformed_500", "errors.malformed_json", Status.FAIL, "HTTP 500"),
    (
        "batch_differs",
        "concurrency.consistency",
        Status.FAIL,
        "differs at token 0 where the reference's top choice led by 2.75 nats: "
        "a batching/determinism bug ('o' vs 'X')",
    ),
    ("batch_tie", "concurrency.consistency", Status.NOT_JUDGED, "each at a near tie"),
]


@pytest.mark.parametrize(("fault", "check_id", "status", "why"), FAULTS, ids=[f[0] for f in FAULTS])
def test_check_fails_for_the_right_reason(
    fault: str, check_id: str, status: Status, why: str
) -> None:
    res = run_suite({fault})
    r = res[check_id]
    assert r.status == status, (r.status, r.reason)
    assert why in r.reason
    assert r.evidence, "a failing check must keep its evidence"
    # The fault breaks only what it says; a few faults also show, honestly, in checks that
    # depend on the same behaviour.
    knock_on = {
        "stream_cut": {"chat.stream"},
        "stream_no_usage": {"chat.stream"},
        "usage_lie": {"chat.basic", "params.n", "completions.stream", "chat.stream"},
        "max_tokens_off": {"completions.basic", "params.stop"},
        # identical requests give different text: the batched ones too
        "nondeterministic": {
            "completions.stream",
            "chat.stream",
            "params.stop",
            "concurrency.consistency",
        },
        "greedy_tie": {
            "completions.stream",
            "chat.stream",
            "params.stop",
            "concurrency.consistency",
        },
        "no_chat_template": {"chat.template", "chat.stream"},
        "no_vllm_extras": {"vllm.version", "vllm.metrics", "vllm.tokenize", "chat.template"},
    }
    others = {k for k, v in res.items() if k != check_id and v.status != Status.PASS}
    assert others <= knock_on.get(fault, set()), {k: res[k].reason for k in others}
    if fault in ("nondeterministic", "greedy_tie"):
        # Texts compared without logprobs only warn; with them, only an overturned lead fails.
        fails = {k for k in others if res[k].status == Status.FAIL}
        assert fails == ({"concurrency.consistency"} if fault == "nondeterministic" else set())


def test_every_check_has_a_failing_test() -> None:
    from modelverify.api import greedy_checks, seed_checks, suite_checks  # noqa: F401 - register
    from modelverify.api.checks import REGISTRY

    registered = [c.id for c in REGISTRY]
    assert len(registered) == len(set(registered)), "duplicate check ids"
    assert set(registered) == {f[1] for f in FAULTS if f[2] == Status.FAIL}
    assert set(suite_checks.ORDER) == set(registered)


def test_greedy_mismatch_keeps_the_logprob_evidence() -> None:
    fail = run_suite({"batch_differs"}, {"concurrency.consistency"})["concurrency.consistency"]
    div = fail.evidence[0].response["divergence"]
    assert div["token_position"] == 0 and div["verdict"] == "clear lead overturned"
    assert div["reference_token"] == "o" and div["other_token"] == "X"
    assert div["margin_nats"] == pytest.approx(2.75)
    tie = run_suite({"greedy_tie"}, {"determinism.greedy"})["determinism.greedy"]
    assert tie.status == Status.WARN, tie.reason
    assert "0.020 nats apart" in tie.reason and "repeats differ" in tie.reason
    div = tie.evidence[-1].response["divergence"]
    assert div["verdict"] == "near tie" and div["token_position"] == TIE_AT
    assert div["margin_nats"] == pytest.approx(0.02)
    # the e2e test accepts a batched mismatch only when the reason says where the texts part
    batch = run_suite({"batch_tie"}, {"concurrency.consistency"})["concurrency.consistency"]
    assert f"differ from token {TIE_AT}" in batch.reason, batch.reason


@pytest.mark.parametrize("fault", ["nondeterministic", "batch_differs"])
def test_greedy_mismatch_without_logprobs_stays_a_warning(fault: str) -> None:
    res = run_suite({fault, "no_logprobs"}, {"determinism.greedy", "concurrency.consistency"})
    r = res["determinism.greedy" if fault == "nondeterministic" else "concurrency.consistency"]
    assert r.status == Status.WARN, r.reason
    assert "no logprobs" in r.reason or "texts differ from" in r.reason
    assert all(c.status != Status.FAIL for c in res.values()), {k: c.reason for k, c in res.items()}


def test_base_model_without_chat_template_warns_and_skips_never_fails() -> None:
    res = run_suite({"no_chat_template"})
    assert res["chat.basic"].status == Status.WARN
    assert res["chat.template"].status == Status.WARN
    assert "no chat template" in res["chat.template"].reason
    assert res["chat.template"].evidence[0].status_code == 400
    assert res["chat.stream"].status == Status.SKIPPED
    assert "no chat template" in res["chat.stream"].reason
    assert "chat logprobs not tested" in res["params.logprobs"].reason
    assert "completions only" in res["concurrency.consistency"].reason
    assert all(c.status != Status.FAIL for c in res.values()), {k: c.reason for k, c in res.items()}


def test_missing_vllm_extras_are_skipped_not_failed() -> None:
    res = run_suite({"no_vllm_extras"})
    for cid, why in [
        ("vllm.health", "no /health"),
        ("vllm.version", "no /version"),
        ("vllm.metrics", "no /metrics"),
        ("vllm.tokenize", "no /tokenize"),
        ("chat.template", "no /tokenize"),
    ]:
        assert res[cid].status == Status.SKIPPED, (cid, res[cid].reason)
        assert why in res[cid].reason and res[cid].evidence[-1].status_code == 404
    assert all(c.status != Status.FAIL for c in res.values()), {k: c.reason for k, c in res.items()}


def test_divergence_reads_both_vllm_logprobs_formats() -> None:
    # the shapes vLLM returns: completions' top_logprobs dicts, chat's content[].top_logprobs
    comp = {
        "logprobs": {
            "tokens": [" the", " sea"],
            "token_logprobs": [-0.1, -0.9],
            "top_logprobs": [{" the": -0.1, " a": -2.5}, {" sea": -0.9, " lamp": -0.95}],
        }
    }
    chat = {
        "logprobs": {
            "content": [
                {
                    "token": " the",
                    "logprob": -0.1,
                    "top_logprobs": [
                        {"token": " a", "logprob": -2.5},
                        {"token": " the", "logprob": -0.1},
                    ],
                },
                {"token": " sea", "logprob": -0.9, "top_logprobs": []},
            ]
        }
    }
    a, b = token_steps(comp, chat=False), token_steps(chat, chat=True)
    assert a is not None and b is not None
    assert a[0] == b[0] == Step(" the", ((" the", -0.1), (" a", -2.5)))
    assert token_steps({"text": "x"}, chat=False) is None
    assert token_steps({"logprobs": None}, chat=True) is None
    assert diverge(a, a) is None
    other = [a[0], Step(" lamp", ((" lamp", -0.9), (" sea", -0.95)))]
    d = diverge(a, other)
    assert d is not None and d.position == 1 and d.tie is True
    assert d.margin == pytest.approx(0.05) and d.margin <= TIE_MARGIN_NATS
    d = diverge(a, [Step(" a", ())])
    assert d is not None and d.position == 0 and d.tie is False
    d = diverge(a, a[:1])  # the other answer ended: judged by the reference's candidates
    assert d is not None and d.other_token is None and d.tie is True
    d = diverge(a[:1], a)  # the reference ended: nothing to judge it by
    assert d is not None and d.margin is None and d.tie is None
    assert diverge(b, b[:1]) is not None and diverge(b, b[:1]).tie is None  # type: ignore[union-attr]


def test_mismatch_position_and_prometheus_parser() -> None:
    assert first_difference("abc", "abc") is None
    assert first_difference("abcd", "abXd") == 2
    assert first_difference("ab", "abc") == 2
    ok = 'vllm:x{a="1"} 2.0\n# HELP y\ny_total 3 1700000000\nz +Inf\n'
    assert parse_prometheus(ok) == (3, [])
    assert parse_prometheus("<html>\n")[1] == ["<html>"]
