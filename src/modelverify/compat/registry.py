"""Which architectures the installed engine can serve, asked of the engine itself.

Importing vLLM takes seconds (8 s for the CPU build here, more with vllm-ascend's plugin), so:

* ``import``: the engine's Python imports vLLM's model registry, loads its plugins (vllm-ascend
  registers its own models that way) and prints every architecture — authoritative, slow; the
  answer is cached per interpreter and installed versions, so the next run reads it in
  milliseconds.
* ``static``: vLLM's ``registry.py`` is located without importing vLLM and its dictionaries are read
  with :mod:`ast` — fast, but blind to models registered by plugins.
* ``auto``: the cache when it is there, otherwise ``static``.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import subprocess
from pathlib import Path

from modelverify.results import Model

_QUERY = r"""
import json, sys
try:
    from vllm.plugins import load_general_plugins
    load_general_plugins()
except Exception as exc:  # a broken plugin must not hide the built-in registry
    print("plugin load failed: %s" % exc, file=sys.stderr)
import vllm.model_executor.models.registry as r
print("MODELVERIFY-REGISTRY " + json.dumps({
    "archs": sorted(r.ModelRegistry.get_supported_archs()),
    "previously": {k: str(v) for k, v in getattr(r, "_PREVIOUSLY_SUPPORTED_MODELS", {}).items()},
    "out_of_tree": {k: str(v) for k, v in getattr(r, "_OOT_SUPPORTED_MODELS", {}).items()},
}))
"""
_LOCATE = (
    "import importlib.util as u, json; s = u.find_spec('vllm'); "
    "print(json.dumps(list(s.submodule_search_locations or []) if s else []))"
)


class Registry(Model):
    method: str  # "import", "cache", "static", "unavailable"
    archs: list[str] = []
    previously: dict[str, str] = {}  # architecture -> last vLLM version that had it
    out_of_tree: dict[str, str] = {}  # architecture -> plugin that provides it
    note: str = ""
    seconds: float | None = None

    def verdict(self, arch: str) -> tuple[str, str]:
        """(supported / unsupported / unknown, why) for one architecture class."""
        if self.method == "unavailable":
            return "unknown", f"vLLM's model registry could not be read: {self.note}"
        if arch in self.archs:
            return "supported", f"{arch} is in vLLM's model registry ({self.method})"
        if arch in self.previously:
            return "unsupported", f"{arch} was removed from vLLM after {self.previously[arch]}"
        if arch in self.out_of_tree:
            return "unsupported", f"{arch} needs an out-of-tree plugin: {self.out_of_tree[arch]}"
        extra = (
            " (plugin-registered models are not visible to the static read)"
            if self.method == "static"
            else ""
        )
        return "unsupported", f"{arch} is not in vLLM's model registry{extra}"


def cache_dir() -> Path:
    base = os.environ.get("MODELVERIFY_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "modelverify"
    )
    return Path(base) / "registry"


def cache_key(python: str, distributions: dict[str, str]) -> str:
    blob = json.dumps([os.path.realpath(python), sorted(distributions.items())])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def parse_registry_source(text: str) -> Registry:
    """Architecture names from the dict literals of vLLM's ``registry.py``."""
    tree = ast.parse(text)
    dicts: dict[str, ast.Dict] = {}
    for node in tree.body:
        target = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and isinstance(value, ast.Dict):
            dicts[target.id] = value

    def keys(name: str, seen: frozenset[str] = frozenset()) -> dict[str, str]:
        d = dicts.get(name)
        if d is None or name in seen:
            return {}
        out: dict[str, str] = {}
        for k, v in zip(d.keys, d.values, strict=True):
            if k is None and isinstance(v, ast.Name):  # **_OTHER_MODELS
                out.update(keys(v.id, seen | {name}))
            elif isinstance(k, ast.Constant) and isinstance(k.value, str):
                out[k.value] = str(v.value) if isinstance(v, ast.Constant) else ""
        return out

    union = "_VLLM_MODELS" if "_VLLM_MODELS" in dicts else None
    archs = (
        keys(union)
        if union
        else {
            k: ""
            for n in dicts
            if n.endswith("_MODELS") and n.startswith("_")
            for k in keys(n)
            if not n.startswith(("_PREVIOUSLY", "_OOT"))
        }
    )
    return Registry(
        method="static",
        archs=sorted(archs),
        previously={k: str(v) for k, v in keys("_PREVIOUSLY_SUPPORTED_MODELS").items()},
        out_of_tree={k: str(v) for k, v in keys("_OOT_SUPPORTED_MODELS").items()},
        note="read from vllm/model_executor/models/registry.py without importing vLLM",
    )


def static_registry(python: str, timeout: float = 30.0) -> Registry:
    try:
        out = subprocess.run(
            [python, "-c", _LOCATE], capture_output=True, text=True, timeout=timeout, check=False
        )
        roots = json.loads(out.stdout or "[]") if out.returncode == 0 else []
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
        return Registry(method="unavailable", note=f"cannot run {python}: {exc}")
    for root in roots:
        src = Path(root) / "model_executor" / "models" / "registry.py"
        if src.is_file():
            try:
                return parse_registry_source(src.read_text(encoding="utf-8"))
            except (SyntaxError, OSError, UnicodeDecodeError) as exc:
                return Registry(method="unavailable", note=f"cannot read {src}: {exc}")
    return Registry(method="unavailable", note=f"{python} has no vllm package")


def import_registry(python: str, timeout: float = 180.0) -> Registry:
    import time

    t0 = time.monotonic()
    try:
        out = subprocess.run(
            [python, "-c", _QUERY], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return Registry(method="unavailable", note=f"importing vLLM took over {timeout:.0f} s")
    except OSError as exc:
        return Registry(method="unavailable", note=f"cannot run {python}: {exc}")
    for line in out.stdout.splitlines():
        if line.startswith("MODELVERIFY-REGISTRY "):
            data = json.loads(line.split(" ", 1)[1])
            return Registry(method="import", seconds=round(time.monotonic() - t0, 2), **data)
    tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
    return Registry(method="unavailable", note=f"importing vLLM failed: {tail}")


def engine_registry(
    python: str, distributions: dict[str, str], mode: str = "auto", timeout: float = 180.0
) -> Registry:
    """The registry by ``mode`` (auto / import / static), using and filling the cache."""
    path = cache_dir() / f"{cache_key(python, distributions)}.json"
    if mode in ("auto", "import") and path.is_file():
        try:
            reg = Registry.model_validate_json(path.read_text(encoding="utf-8"))
            reg.method, reg.note = "cache", f"cached answer of an earlier import ({path})"
            return reg
        except ValueError:
            path.unlink(missing_ok=True)
    if mode == "import":
        reg = import_registry(python, timeout)
        if reg.method == "import":
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(reg.model_dump_json(), encoding="utf-8")
            tmp.replace(path)
            return reg
        fallback = static_registry(python)
        fallback.note += f"; the import query failed: {reg.note}"
        return fallback
    return static_registry(python)


__all__ = [
    "Registry",
    "cache_dir",
    "engine_registry",
    "import_registry",
    "parse_registry_source",
    "static_registry",
]
