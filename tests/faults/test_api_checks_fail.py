"""Every API check fails (or warns) for the right reason, against a fake in-process server.

The fake speaks the OpenAI protocol correctly by default (each check passes against it), and a
named fault breaks exactly one behaviour — the faults a real vLLM can't be made to show on
demand: a lying usage count, a stream cut before [DONE], ignored parameters, 5xx on bad input.
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
from modelverify.api.suite_checks import first_difference, parse_prometheus
from modelverify.client import OpenAIClient
from modelverify.results import Status

MODEL = "fake-model"
MML = 2048
STORY = "once upon a time the keeper lit the lamp and watched the ships pass in the night. "


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

    def completion(self, body: dict[str, Any], chat: bool, batched: bool) -> httpx.Response:
        if body.get("model") != MODEL and "unknown_model_200" not in self.faults:
            return self.err(404, f"The model `{body.get('model')}` does not exist.")
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
        choices, total_c = [], 0
        for i in range(n):
            text, finish = self.generate(prompt + ("" if i == 0 else f"#{i}"), body, batched)
            total_c += len(text)
            ch: dict[str, Any] = {"index": i, "finish_reason": finish}
            lp_val = 0.5 if "logprobs_positive" in self.faults else -0.25
            if chat:
                ch["message"] = {
                    "role": "user" if "chat_role" in self.faults else "assistant",
                    "content": text,
                }
                if body.get("logprobs"):
                    k = int(body.get("top_logprobs") or 0)
                    ch["logprobs"] = {
                        "content": [
                            {
                                "token": c,
                                "logprob": lp_val,
                                "top_logprobs": [{"token": c, "logprob": lp_val}] * k,
                            }
                            for c in text
                        ]
                    }
            else:
                shown = (
                    prompt + text
                    if body.get("echo") and "echo_ignored" not in self.faults
                    else text
                )
                ch["text"] = shown
                if body.get("logprobs"):
                    k = int(body["logprobs"])
                    ch["logprobs"] = {
                        "tokens": list(text),
                        "token_logprobs": [lp_val] * len(text),
                        "top_logprobs": [
                            {c: lp_val, "alt": -3.0} if k >= 2 else {c: lp_val} for c in text
                        ],
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
        if request.method == "GET":
            if path == "/v1/models":
                mml = 999 if "models_mml" in self.faults else MML
                return httpx.Response(
                    200,
                    json={
                        "object": "list",
                        "data": [
                            {
                                "id": MODEL,
                                "object": "model",
                                "owned_by": "fake",
                                "max_model_len": mml,
                            }
                        ],
                    },
                )
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
    ("usage_lie", "completions.basic", Status.FAIL, "!= total_tokens"),
    ("chat_role", "chat.basic", Status.FAIL, "not 'assistant'"),
    ("no_health", "vllm.health", Status.FAIL, "HTTP 500"),
    ("version_empty", "vllm.version", Status.FAIL, "no version string"),
    ("metrics_garbage", "vllm.metrics", Status.FAIL, "not Prometheus samples"),
    ("detok_wrong", "vllm.tokenize", Status.FAIL, "/detokenize gave"),
    ("nondeterministic", "determinism.greedy", Status.WARN, "repeats differ"),
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
    ("batch_differs", "concurrency.consistency", Status.WARN, "changed when batched"),
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
        "nondeterministic": {
            "completions.stream",
            "chat.stream",
            "params.stop",
            "concurrency.consistency",
        },
    }
    others = {k for k, v in res.items() if k != check_id and v.status != Status.PASS}
    assert others <= knock_on.get(fault, set()), {k: res[k].reason for k in others}
    if fault == "nondeterministic":  # greedy drift is reported as a warning, never a failure
        assert all(res[k].status == Status.WARN for k in others)


def test_every_check_has_a_failing_test() -> None:
    from modelverify.api.suite_checks import ORDER

    assert set(ORDER) == {f[1] for f in FAULTS}


def test_mismatch_position_and_prometheus_parser() -> None:
    assert first_difference("abc", "abc") is None
    assert first_difference("abcd", "abXd") == 2
    assert first_difference("ab", "abc") == 2
    ok = 'vllm:x{a="1"} 2.0\n# HELP y\ny_total 3 1700000000\nz +Inf\n'
    assert parse_prometheus(ok) == (3, [])
    assert parse_prometheus("<html>\n")[1] == ["<html>"]
