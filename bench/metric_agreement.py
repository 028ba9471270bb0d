"""bench/metric_agreement: do our TTFT / TPOT / ITL / E2EL agree with `vllm bench serve`?
(issue 8 target: medians within 5%.)

The real CPU vLLM server with the demo model; the same workload (fixed input/output lengths,
ignore_eos, same concurrency) measured by modelverify's perf client and by `vllm bench serve`,
alternating, REPEATS times.

    .venv/bin/python bench/metric_agreement.py [--requests 32] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

from _common import PY, ROOT, free_port, vllm_alias, vllm_bench, wait_ready

KEYS = ("median_ttft_ms", "median_tpot_ms", "median_itl_ms", "median_e2el_ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=32)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--input-len", type=int, default=128)
    ap.add_argument("--output-len", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    model = str(Path.home() / ".cache/modelverify/models/SmolLM2-135M-Instruct-bf16")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "1"}
    server = subprocess.Popen(
        [
            PY,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            model,
            "--served-model-name",
            "smol",
            "--max-model-len",
            "2048",
            "--enforce-eager",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    reps = []
    try:
        wait_ready(url)
        with vllm_alias(), tempfile.TemporaryDirectory() as tmp:
            for rep in range(a.repeats):
                out = subprocess.run(
                    [
                        PY,
                        str(ROOT / "bench" / "_our_client.py"),
                        url,
                        "smol",
                        str(a.requests),
                        str(a.concurrency),
                        str(a.output_len),
                        "synthetic",
                        str(a.input_len),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                m = json.loads(out.stdout)
                v = vllm_bench(
                    url,
                    "smol",
                    model,
                    input_len=a.input_len,
                    output_len=a.output_len,
                    prompts=a.requests,
                    concurrency=a.concurrency,
                    out_dir=Path(tmp),
                    tag=f"r{rep}",
                )
                reps.append(
                    {
                        "ours": {k: m[k] for k in KEYS}
                        | {"input_tokens_mean": m["input_tokens_mean"]},
                        "vllm": {k: v[k] for k in KEYS},
                    }
                )
                cmd = v["_command"]
    finally:
        server.terminate()
        server.wait(60)
    med = {
        side: {k: statistics.median(r[side][k] for r in reps) for k in KEYS}
        for side in ("ours", "vllm")
    }
    diff = {k: 100 * (med["ours"][k] / med["vllm"][k] - 1) for k in KEYS}
    print(
        json.dumps(
            {
                "repeats": reps,
                "median_of_repeats": med,
                "diff_pct": diff,
                "within_5pct": all(abs(d) <= 5 for d in diff.values()),
                "vllm_command": cmd,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
