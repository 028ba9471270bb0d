#!/usr/bin/env bash
# Set up everything (engine + modelverify in .venv) and run the whole test suite:
# ruff, mypy (strict on the package), unit, fault and e2e tests (a real vLLM server on CPU).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/setup-cpu-engine.sh
# Headless Chromium renders the HTML report in the e2e tests (Debian's package).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "[test] installing Debian's chromium for the HTML report test"
  apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null; }
fi
VENV=${MODELVERIFY_VENV:-$ROOT/.venv}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
"$VENV/bin/ruff" check src tests
"$VENV/bin/ruff" format --check src tests
"$VENV/bin/mypy" src/modelverify
"$VENV/bin/pytest" -q --durations=25 tests "$@"
