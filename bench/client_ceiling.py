"""bench/client_ceiling: how fast can each client consume a stream? (issue 8 target: ≥ 1.5× the
chunk rate of `vllm bench serve` with one client process, < 1 ms added TTFT at concurrency 1.)

A synthetic OpenAI streaming server (plain asyncio, several worker processes, no model) emits
OUTPUT_LEN chunks per request; modelverify's perf client and `vllm bench serve` drive it with the
same request count and concurrency, one after the other, REPEATS times each.

Client CPU per 1,000 chunks: ours is the process CPU around the measured run; for vLLM,
`process_cpu` is its whole process (its ~10 s start included) and `run_cpu` the CPU between its
"Starting main benchmark run" and its result table — the comparable figure.

    .venv/bin/python bench/client_ceiling.py [--requests 400] [--concurrency 32] [--chunks 256]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
from pathlib import Path

from _common import PY, ROOT, free_port, tree_cpu_s, vllm_alias, vllm_bench, wait_ready


def ours(url: str, n: int, conc: int, chunks: int) -> dict:
    out = subprocess.run(
        [
            PY,
            str(ROOT / "bench" / "_our_client.py"),
            url,
            "fake",
            str(n),
            str(conc),
            str(chunks),
            "seed",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--chunks", type=int, default=256)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    tokenizer = str(Path.home() / ".cache/modelverify/models/SmolLM2-135M-Instruct-bf16")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            PY,
            str(ROOT / "bench" / "fake_stream_server.py"),
            "--port",
            str(port),
            "--workers",
            str(a.workers),
        ]
    )
    rows = []
    try:
        wait_ready(url, 60)
        with vllm_alias(), tempfile.TemporaryDirectory() as tmp:
            for rep in range(a.repeats):
                s0 = tree_cpu_s(server.pid)
                m = ours(url, a.requests, a.concurrency, a.chunks)
                s1 = tree_cpu_s(server.pid)
                v = vllm_bench(
                    url,
                    "fake",
                    tokenizer,
                    input_len=8,
                    output_len=a.chunks,
                    prompts=a.requests,
                    concurrency=a.concurrency,
                    out_dir=Path(tmp),
                    tag=f"c{rep}",
                )
                s2 = tree_cpu_s(server.pid)
                # a chunk rate is only comparable when every request was answered in full
                assert m["ok"] == a.requests, m
                assert v.get("completed") == a.requests, v.get("completed")
                assert v.get("total_output_tokens") in (None, a.requests * a.chunks), v
                v_chunks = a.requests * a.chunks
                rows.append(
                    {
                        "ours_chunks_per_s": m["chunks_per_s"],
                        "ours_cpu_per_1k": m["cpu_s_per_1000_chunks"],
                        "vllm_chunks_per_s": v_chunks / v["duration"],
                        "vllm_process_cpu_per_1k": 1000 * v["_cpu_s"] / v_chunks,
                        "vllm_run_cpu_per_1k": 1000 * v["_run_cpu_s"] / v_chunks,
                        # the server's CPU per 1,000 chunks while each client ran (vLLM's
                        # includes its start, when the server is idle, so it is a bound)
                        "server_cpu_per_1k_ours": 1000 * (s1 - s0) / max(m["chunks"], 1),
                        "server_cpu_per_1k_vllm": 1000 * (s2 - s1) / v_chunks,
                    }
                )
            # TTFT at concurrency 1
            m1 = ours(url, 50, 1, 16)
            v1 = vllm_bench(
                url,
                "fake",
                tokenizer,
                input_len=8,
                output_len=16,
                prompts=50,
                concurrency=1,
                out_dir=Path(tmp),
                tag="c1",
            )
            cmd = v["_command"]
    finally:
        server.terminate()
        server.wait(10)
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    print(
        json.dumps(
            {
                "repeats": rows,
                "median": med,
                "ratio_chunks_per_s": med["ours_chunks_per_s"] / med["vllm_chunks_per_s"],
                "ttft_c1_ms": {
                    "ours_median": m1["median_ttft_ms"],
                    "vllm_median": v1["median_ttft_ms"],
                },
                "vllm_command": cmd,
                "our_command": f"{PY} bench/_our_client.py {url} fake {a.requests} {a.concurrency} {a.chunks} seed",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
