"""What the perf stage sends (workloads) and how (load shapes beyond fixed concurrency).

Workloads:
* ``seed``: the seed report's fixed prompt and parameters.
* ``synthetic``: prompts of a controlled input length and a fixed output length with
  ``ignore_eos``, so every request costs the same; the lengths are checked against the server's
  ``usage`` afterwards (we never count tokens with a client-side tokenizer).
* ``jsonl``: one request per line of a file: ``{"prompt": ...}`` or ``{"messages": [...]}``,
  optionally with ``max_tokens``.

Load shapes: a concurrency sweep (1, 2, 4, … giving the throughput–latency curve and its knee)
and request-rate mode with Poisson (burstiness 1) or gamma arrivals, as ``vllm bench serve``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelverify.client import OpenAIClient
from modelverify.errors import DataError
from modelverify.perf.metrics import RequestRecord
from modelverify.perf.runner import one_request

# Common English words that are one token each in the BPE vocabularies of the usual families;
# the server's usage says how close we got and the calibration corrects the ratio.
WORDS = [
    "time",
    "person",
    "year",
    "way",
    "day",
    "thing",
    "man",
    "world",
    "life",
    "hand",
    "part",
    "child",
    "eye",
    "woman",
    "place",
    "work",
    "week",
    "case",
    "point",
    "number",
    "group",
    "problem",
    "fact",
    "water",
    "room",
    "mother",
    "area",
    "money",
    "story",
    "month",
    "lot",
    "right",
    "study",
    "book",
    "job",
    "word",
    "business",
    "issue",
    "side",
    "kind",
    "head",
    "house",
    "service",
    "friend",
    "power",
    "hour",
    "game",
    "line",
    "end",
    "member",
    "law",
    "car",
    "city",
    "name",
    "team",
    "minute",
    "idea",
    "body",
    "back",
    "face",
    "level",
    "office",
    "door",
    "health",
    "art",
    "war",
    "history",
    "party",
    "result",
    "change",
    "morning",
    "reason",
    "research",
    "girl",
    "guy",
    "moment",
    "air",
    "teacher",
    "force",
    "education",
]


class Request:
    __slots__ = ("body", "path")

    def __init__(self, path: str, body: dict[str, Any]):
        self.path, self.body = path, body


def synthetic_prompt(index: int, words: int, seed: int = 0) -> str:
    """A prompt of ``words`` words, distinct per request and per run (``seed``): vLLM's prefix
    cache must not turn a repeated benchmark's prefill into a cache hit."""
    rng = random.Random(f"{seed}-{index}")
    return f"{seed % 9973}-{index}: " + " ".join(
        rng.choice(WORDS) for _ in range(max(1, words - 1))
    )


def load_prompts(path: Path) -> list[dict[str, Any]]:
    """Requests from a JSONL file; a bad line is a DataError naming its line number."""
    if not path.is_file():
        raise DataError(f"prompts file {path} does not exist")
    out = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{no}: not JSON ({exc.msg}): fix or remove the line") from exc
        if not isinstance(rec, dict) or not (
            isinstance(rec.get("prompt"), str) or isinstance(rec.get("messages"), list)
        ):
            raise DataError(f'{path}:{no}: needs "prompt" (a string) or "messages" (a list)')
        out.append(rec)
    if not out:
        raise DataError(f"{path} holds no prompts")
    return out


def make_requests(
    model: str,
    workload: str,
    *,
    prompt: str,
    max_tokens: int,
    temperature: float,
    input_len: int = 128,
    output_len: int = 128,
    words_per_token: float = 1.0,
    prompts: list[dict[str, Any]] | None = None,
    seed: int | None = None,
) -> Callable[[int], Request]:
    if workload == "seed":
        body = {
            "model": model,
            "prompt": prompt,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        return lambda i: Request("/v1/completions", body)
    if workload == "synthetic":
        words = max(1, round(input_len * words_per_token))
        # a fresh seed per run unless one is given: a benchmark repeated against the same server
        # would otherwise send the same prompts and measure prefix-cache hits, not prefill
        run_seed = seed if seed is not None else random.SystemRandom().randrange(1 << 30)

        def synth(i: int) -> Request:
            return Request(
                "/v1/completions",
                {
                    "model": model,
                    "prompt": synthetic_prompt(i, words, run_seed),
                    "max_tokens": output_len,
                    "min_tokens": output_len,
                    "ignore_eos": True,
                    "temperature": 0.0,
                },
            )

        return synth
    if workload == "jsonl":
        assert prompts
        items = prompts

        def from_file(i: int) -> Request:
            rec = items[i % len(items)]
            body = {
                "model": model,
                "max_tokens": int(rec.get("max_tokens") or max_tokens),
                "temperature": temperature,
            }
            if "messages" in rec:
                return Request("/v1/chat/completions", {**body, "messages": rec["messages"]})
            return Request("/v1/completions", {**body, "prompt": rec["prompt"]})

        return from_file
    raise DataError(f"unknown workload {workload!r}: choose seed, synthetic or jsonl")


async def calibrate_words_per_token(
    client: OpenAIClient, model: str, sample_words: int = 200
) -> float:
    """Words per token for the synthetic vocabulary, from the server's /tokenize (1.0 without)."""
    text = synthetic_prompt(0, sample_words)
    r = await client.post(
        "/tokenize", {"model": model, "prompt": text, "add_special_tokens": False}
    )
    count = r.body.get("count") if r.ok and isinstance(r.body, dict) else None
    if isinstance(count, int) and count > 0:
        return sample_words / count
    return 1.0


async def run_requests(
    client: OpenAIClient,
    make: Callable[[int], Request],
    *,
    n: int,
    concurrency: int,
    test: str,
    on_record: Callable[[RequestRecord], None] | None = None,
) -> tuple[list[RequestRecord], float]:
    """Closed loop: ``n`` requests, at most ``concurrency`` in flight."""
    next_i = iter(range(n))
    records: list[RequestRecord] = []

    async def worker() -> None:
        for i in next_i:
            req = make(i)
            rec = await one_request(client, req.path, req.body, test, i)
            records.append(rec)
            if on_record:
                on_record(rec)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, n)))))
    wall = time.perf_counter() - t0
    records.sort(key=lambda r: r.index)
    return records, wall


def arrival_gaps(n: int, rate: float, burstiness: float, seed: int = 0) -> list[float]:
    """Gaps between arrivals: gamma(shape=burstiness, scale=1/(rate×burstiness)); shape 1 is
    Poisson. Mean gap is 1/rate whatever the burstiness; lower burstiness = burstier."""
    rng = random.Random(seed)
    theta = 1.0 / (rate * burstiness)
    return [rng.gammavariate(burstiness, theta) for _ in range(n)]


async def run_rate(
    client: OpenAIClient,
    make: Callable[[int], Request],
    *,
    n: int,
    rate: float,
    burstiness: float = 1.0,
    max_concurrency: int | None = None,
    test: str = "rate",
    seed: int = 0,
    on_record: Callable[[RequestRecord], None] | None = None,
) -> tuple[list[RequestRecord], float]:
    """Open loop: requests arrive at ``rate`` per second whether or not earlier ones finished."""
    gaps = arrival_gaps(n, rate, burstiness, seed)
    sem = asyncio.Semaphore(max_concurrency) if max_concurrency else None
    records: list[RequestRecord] = []

    async def fire(i: int) -> None:
        req = make(i)
        if sem is None:
            rec = await one_request(client, req.path, req.body, test, i)
        else:
            async with sem:
                rec = await one_request(client, req.path, req.body, test, i)
        records.append(rec)
        if on_record:
            on_record(rec)

    t0 = time.perf_counter()
    tasks = []
    due = 0.0
    for i, gap in enumerate(gaps):
        due += gap if i else 0.0
        delay = t0 + due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fire(i)))
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - t0
    records.sort(key=lambda r: r.index)
    return records, wall


def knee(points: list[tuple[int, float]], gain: float = 0.10) -> int | None:
    """The concurrency after which doubling it adds less than ``gain`` throughput."""
    pts = sorted(points)
    for (c0, t0), (_c1, t1) in itertools.pairwise(pts):
        if t0 > 0 and (t1 - t0) / t0 < gain:
            return c0
    return None


__all__ = [
    "Request",
    "arrival_gaps",
    "calibrate_words_per_token",
    "knee",
    "load_prompts",
    "make_requests",
    "run_rate",
    "run_requests",
    "synthetic_prompt",
]
