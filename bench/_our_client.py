"""Drive a server with modelverify's perf client in this process and print JSON figures.

usage: python bench/_our_client.py URL MODEL N CONCURRENCY OUTPUT_LEN WORKLOAD [INPUT_LEN]
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time

from modelverify.client import OpenAIClient, make_timeout
from modelverify.perf.metrics import streaming_summary
from modelverify.perf.workload import calibrate_words_per_token, make_requests, run_requests


async def main() -> None:
    url, model, n, conc, out_len, workload = sys.argv[1:7]
    in_len = int(sys.argv[7]) if len(sys.argv) > 7 else 8
    async with OpenAIClient(
        url, timeout=make_timeout(600, read=300), max_connections=int(conc)
    ) as c:
        ratio = await calibrate_words_per_token(c, model) if workload == "synthetic" else 1.0
        make = make_requests(
            model,
            workload,
            prompt="The future of artificial intelligence is",
            max_tokens=int(out_len),
            temperature=0.0,
            input_len=in_len,
            output_len=int(out_len),
            words_per_token=ratio,
        )
        await run_requests(c, make, n=2, concurrency=1, test="warmup")
        t_cpu0, t0 = time.process_time(), time.perf_counter()
        recs, wall = await run_requests(c, make, n=int(n), concurrency=int(conc), test="bench")
        cpu = time.process_time() - t_cpu0
    s = streaming_summary(recs, wall)
    chunks = sum(r.output_chunks for r in recs)
    print(
        json.dumps(
            {
                "wall_s": wall,
                "cpu_s": cpu,
                "chunks": chunks,
                "ok": s.successes,
                "requests": s.requests,
                "chunks_per_s": chunks / wall,
                "cpu_s_per_1000_chunks": 1000 * cpu / max(chunks, 1),
                "median_ttft_ms": s.ttft_ms.median,
                "median_tpot_ms": s.tpot_ms.median,
                "median_itl_ms": s.itl_ms.median,
                "median_e2el_ms": s.e2el_ms.median,
                "mean_ttft_ms": s.ttft_ms.mean,
                "input_tokens_mean": statistics.fmean([r.prompt_tokens or 0 for r in recs]),
                "pid": os.getpid(),
                "elapsed_total_s": time.perf_counter() - t0,
            }
        )
    )


asyncio.run(main())
