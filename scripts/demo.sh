#!/usr/bin/env bash
# Set up everything and verify the built-in demo model (SmolLM2-135M-Instruct on vLLM's CPU
# build) end to end, with a concurrency sweep and goodput under CPU-sized objectives; GSM8K is
# limited to a few items so it ends in minutes. Extra arguments go to
# `modelverify run` (e.g. --limit 50 --lang en).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/setup-cpu-engine.sh
VENV=${MODELVERIFY_VENV:-$ROOT/.venv}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
status=0
# The sweep gives the throughput–latency curve and its knee; the objectives give goodput; both
# are in the report's performance section. The objectives must hold on any healthy 2-core host,
# or the demo's verdict would depend on the CPU: an engine pinned to one AVX2 core (no native
# bf16) measured TTFT 1.1 s and TPOT 349 ms (means) at concurrency 10, a faster host 45 ms / 55 ms.
"$VENV/bin/modelverify" run demo --limit 10 --sweep 1,2,4,8,16 --slo ttft_ms=10000,tpot_ms=1000 "$@" || status=$?
# Exit codes 0/1/2 are verdicts (fully / partially / not adapted); the report is written either way.
[ "$status" -le 2 ] || exit "$status"
