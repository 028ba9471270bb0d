#!/usr/bin/env bash
# Set up everything (engine + modelverify in .venv) and run the whole test suite:
# ruff, mypy (strict on the package), unit, integration and e2e tests (a real vLLM server on CPU).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/setup-cpu-engine.sh
VENV=${MODELVERIFY_VENV:-$ROOT/.venv}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
"$VENV/bin/ruff" check src tests
"$VENV/bin/ruff" format --check src tests
"$VENV/bin/mypy" src/modelverify
"$VENV/bin/pytest" -q tests "$@"
