"""Time the align stage on the demo deployment (run by hand, one engine at a time):

    flock /tmp/mv-engine.lock python bench/align_stage.py [--long-tokens N]

Starts the demo engine, runs the align stage once, prints its wall time, the served requests'
time, the reference subprocess's time and peak RSS, and the margins against each tolerance.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from modelverify.align.stage import run_align
from modelverify.demo import DEMO_ARGS, DEMO_ENV, ensure_demo_model
from modelverify.serve.engine import find_engine
from modelverify.serve.supervisor import Server, ServerConfig


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--long-tokens", type=int, default=None)
    args = ap.parse_args()
    eng = find_engine(None)
    model = ensure_demo_model(eng.python)
    log = Path(tempfile.mkdtemp()) / "server.log"
    cfg = ServerConfig(model=str(model), args=list(DEMO_ARGS), env=dict(DEMO_ENV), log_path=log)
    with Server(eng, cfg) as server:
        rec = server.start()
        server.wait_ready()
        t0 = time.monotonic()
        res = run_align(
            rec.base_url, str(model), model, engine_python=eng.python, long_tokens=args.long_tokens
        )
        wall = time.monotonic() - t0
    tol = res.tolerances
    o = res.overall
    print(f"status {res.status.value}: {res.reason}")
    print(
        f"stage wall {wall:.1f} s; served {res.served_duration_s:.1f} s; reference "
        f"{res.reference_duration_s:.1f} s, peak RSS {(res.reference_peak_rss_bytes or 0) / 2**20:.0f} MiB"
    )
    print(
        f"prefill mean {o['prefill_mean']:.4f} vs {tol['prefill_mean_abs']:.4f}; decode mean "
        f"{o['decode_mean']:.4f} vs {tol['decode_mean_abs']:.4f}; worst window at "
        f"{(o['worst_window_ratio'] or 0):.0%} of its tolerance; greedy agreement "
        f"{o['greedy_agreement']:.1%}; near ties {o['near_ties']}"
    )


if __name__ == "__main__":
    main()
