"""Hand-run fuzz of every parser and grader: recorded real texts (tests/data) mutated at random
(hostile numbers, ids, framing bytes, long runs), N examples per parser (default 10,000).

Reports, per parser: examples run, exceptions other than modelverify's own errors (with the
first input of each kind saved under /tmp/modelverify-fuzz/), and the slowest input as ms per
100 KB (target < 100 ms per 100 KB; inputs under 1 KB are timed as 1 KB so that fixed costs do
not dominate).

    PYTHONPATH=src .venv/bin/python bench/fuzz_parsers.py [-n 10000] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelverify.accuracy.scoring import aisbench_extract, extract_answer, grade_lines
from modelverify.env.npu_smi import parse_npu_smi, parse_npu_smi_mapping
from modelverify.env.nvidia_smi import parse_nvidia_smi, parse_query_apps_csv, parse_query_gpu_csv
from modelverify.errors import ModelVerifyError
from modelverify.perf.rawstream import RawStreamPool, _Conn, _Request
from modelverify.perf.sse import parse_json
from modelverify.serve.logparse import parse_vllm_log

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
OUT = Path("/tmp/modelverify-fuzz")

HOSTILE = [
    "inf",
    "-inf",
    "nan",
    "1e400",
    "9" * 400,
    "1" * 5000,
    "²",
    "٣",
    "-6",
    "+6",
    "0x6",
    "6_0",
    "1.2.3",
    "",
    " ",
    "|",
    "/",
    "\\frac{1}{0}",
    "\\boxed{",
    "</think>",
    "<think>",
    "####",
    "The answer is ",
    "\r\n",
    "\n\n",
    "data: ",
    "[" * 2000,
    "{" * 2000,
    "\x00",
    "\ufeff",
]
RUNS = ["x", " ", "1", "|", "/", "1,", "(", "a.", "npu-smi ", "\\boxed", "<think>", "e"]


def mutate(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(1, 6)):
        i = rng.randint(0, max(0, len(text) - 1))
        j = min(len(text), i + rng.randint(0, 60))
        op = rng.random()
        if op < 0.35:  # a hostile token at a number / cell boundary
            text = text[:i] + rng.choice(HOSTILE) + text[j:]
        elif op < 0.45:  # a long run: 20k-80k characters
            text = text[:i] + rng.choice(RUNS) * rng.randint(2_000, 40_000) + text[i:]
        elif op < 0.6:
            text = text[:i] + text[j:]
        elif op < 0.75:
            text = text[:j] + text[i:j] * rng.randint(1, 20) + text[j:]
        elif op < 0.9:  # replace a digit run with a hostile number
            k = next((p for p in range(i, min(len(text), i + 200)) if text[p].isdigit()), None)
            if k is not None:
                e = k
                while e < len(text) and text[e].isdigit():
                    e += 1
                text = text[:k] + rng.choice(HOSTILE[:13]) + text[e:]
        else:
            text = text[:i] + "".join(chr(rng.randint(0, 0x2FFF)) for _ in range(20)) + text[i:]
    return text


class _Transport(asyncio.Transport):
    def write(self, data: Any) -> None:
        pass

    def close(self) -> None:
        pass


_LOOP = asyncio.new_event_loop()


def feed_stream(text: str) -> None:
    wire = text.encode("utf-8", "surrogatepass")
    conn = _Conn(RawStreamPool("http://127.0.0.1:9"))
    conn.connection_made(_Transport())
    fut: asyncio.Future[float] = _LOOP.create_future()
    conn.req = _Request("/v1/completions", lambda d, t: None, fut)
    step = max(1, len(wire) // 7)
    for k in range(0, len(wire), step):
        conn.data_received(wire[k : k + step])
    # a broken response lands in the request's future: it must be our EndpointError
    if fut.done() and fut.exception() is not None:
        raise fut.exception()  # type: ignore[misc]


def sse_json(text: str) -> None:
    for ev in text.split("\n\n"):
        payload = ev.removeprefix("data: ").encode("utf-8", "surrogatepass")
        try:  # the reference reads the UTF-8 text (json.loads(bytes) would also take UTF-16)
            ref: Any = json.loads(payload.decode())
            ok = True
        except (ValueError, RecursionError):
            ok = False
        try:
            got = parse_json(payload)
        except ValueError:
            if ok and payload.strip() == payload:
                raise AssertionError("parse_json refused what json.loads accepts") from None
            continue
        if not ok or got != ref:
            if ok and isinstance(ref, float) and ref != ref:  # NaN != NaN
                continue
            raise AssertionError("parse_json differs from json.loads")


def grade(text: str) -> None:
    extract_answer(text)
    aisbench_extract(text)
    line = json.dumps({"completion": text, "reference": text[-20:] or "1"})
    list(grade_lines([line]))


def corpus(kind: str) -> list[str]:
    def read(glob: str) -> list[str]:
        return [p.read_text(encoding="utf-8", errors="replace") for p in sorted(DATA.glob(glob))]

    if kind == "npu":
        return read("npu_smi/*.txt") + read("npu_smi/info_m/*")
    if kind == "nvidia":
        return read("nvidia_smi/*.txt")
    if kind == "csv":
        return [
            "0, NVIDIA H100 80GB HBM3, GPU-5c1, 10, 81559, 0, 30, 70.52, 700.00, [N/A], "
            "00000000:01:00.0, P0\n1, NVIDIA H100, GPU-6d2, 1, 81559, 3, 31, 69.1, 700, 40, "
            "00000000:02:00.0, P0",
            "GPU-5c1, 12345, /usr/bin/python3, 24402\nGPU-6d2, 222, tritonserver, 3506",
        ]
    if kind == "log":
        return read("vllm_logs/*.log")
    if kind in ("sse", "stream"):
        ev = [
            json.dumps({"id": "c", "choices": [{"index": 0, "text": f" w{i}"}], "usage": None})
            for i in range(6)
        ]
        body = "".join(f"data: {e}\n\n" for e in ev) + "data: [DONE]\n\n"
        if kind == "sse":
            return [body]
        chunks = "".join(f"{len(p):x}\r\n{p}\r\n" for p in body.split("\n\n")) + "0\r\n\r\n"
        head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
        return [
            head + "transfer-encoding: chunked\r\n\r\n" + chunks,
            head + f"content-length: {len(body)}\r\n\r\n" + body,
        ]
    samples = ROOT.parent / "shared" / "samples" / "gsm8k" / "gsm8k_completions.jsonl"
    texts = [
        "Natalia sold 48 clips in April and half as many in May. 48 + 24 = 72. The answer is 72.",
        "<think>3+4 is 7</think>#### \\frac{3}{4}",
        "\\boxed{\\$65,960}. The answer is: 65,960",
    ]
    if samples.is_file():
        texts += [json.loads(x)["completion"] for x in samples.read_text().splitlines() if x]
    return texts


def npu(t: str) -> None:
    parse_npu_smi(t)


def npu_m(t: str) -> None:
    parse_npu_smi_mapping(t)


PARSERS: list[tuple[str, str, Callable[[str], None]]] = [
    ("npu-smi info", "npu", npu),
    ("npu-smi info -m", "npu", npu_m),
    ("nvidia-smi table", "nvidia", parse_nvidia_smi),  # type: ignore[list-item]
    ("nvidia-smi --query-gpu csv", "csv", parse_query_gpu_csv),  # type: ignore[list-item]
    ("nvidia-smi --query-compute-apps csv", "csv", parse_query_apps_csv),  # type: ignore[list-item]
    ("vLLM log", "log", parse_vllm_log),  # type: ignore[list-item]
    ("SSE JSON vs json.loads", "sse", sse_json),
    ("rawstream (chunked / length / status / headers)", "stream", feed_stream),
    ("GSM8K grading", "grade", grade),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    print(
        f"{'parser':48} {'examples':>8} {'foreign exc':>11} {'slowest ms/100KB (re-timed)':>28}  input KB"
    )
    for name, kind, fn in PARSERS:
        rng = random.Random(f"{args.seed}-{name}")
        pool = corpus(kind)
        bad: dict[str, int] = {}
        worst, worst_kb, worst_text = 0.0, 0.0, ""
        for _ in range(args.n):
            text = mutate(rng, rng.choice(pool))
            t0 = time.perf_counter()
            try:
                fn(text)
            except ModelVerifyError:
                pass
            except Exception as exc:  # what the parsers promise never to raise
                key = f"{type(exc).__name__}: {str(exc)[:80]}"
                if key not in bad:
                    (OUT / f"{kind}-{len(bad)}.txt").write_text(text, errors="surrogatepass")
                bad[key] = bad.get(key, 0) + 1
            dt = time.perf_counter() - t0
            kb = max(len(text.encode("utf-8", "surrogatepass")), 1024) / 1024
            rate = dt * 1000 / (kb / 100)
            if rate > worst:
                worst, worst_kb, worst_text = rate, kb, text
        # the slowest input timed again, best of 5: a pause of a loaded host is not the parser
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            with contextlib.suppress(Exception):
                fn(worst_text)
            best = min(best, time.perf_counter() - t0)
        again = best * 1000 / (worst_kb / 100)
        (OUT / f"{kind}-slowest.txt").write_text(worst_text, errors="surrogatepass")
        print(
            f"{name:48} {args.n:>8} {sum(bad.values()):>11} {worst:>10.1f} ({again:.1f} again)"
            f"  {worst_kb:.0f}"
        )
        for key, count in bad.items():
            print(f"    {count} x {key}")


if __name__ == "__main__":
    main()
