"""Shared fixtures: the development-only reference folder, and one real ``vllm serve`` (vLLM's
CPU build, demo model) shared by the tests that need an engine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from modelverify.demo import DEMO_ARGS, DEMO_ENV, ensure_demo_model
from modelverify.serve.engine import find_engine
from modelverify.serve.supervisor import Server, ServerConfig

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@dataclass
class Served:
    base_url: str
    model: str
    model_dir: Path
    log: Path
    pid: int


@pytest.fixture(scope="session")
def engine_python() -> str:
    try:
        return find_engine(sys.executable).python
    except Exception as exc:
        pytest.fail(f"the e2e tests need the CPU engine (run scripts/setup-cpu-engine.sh): {exc}")


@pytest.fixture(scope="session")
def demo_model(engine_python: str) -> Path:
    return ensure_demo_model(engine_python)


# module scope: the engine stops after the module that uses it (tests/e2e/test_stages.py, the
# only one), instead of idling through the rest of the suite
@pytest.fixture(scope="module")
def served(
    engine_python: str, demo_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    log = tmp_path_factory.mktemp("server") / "server.log"
    cfg = ServerConfig(
        model=str(demo_model),
        args=list(DEMO_ARGS),
        env=dict(DEMO_ENV),
        # under the 600 s per-test limit, which counts this set-up: our error, with the log, wins
        startup_timeout_s=400,
        log_path=log,
    )
    server = Server(find_engine(engine_python), cfg)
    with server:
        rec = server.start()
        server.wait_ready()
        yield Served(rec.base_url, str(demo_model), demo_model, log, rec.pid)
    assert not server.alive()


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "modelverify.cli", *args]


ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared (development reference data) is not present")
    return SHARED


# -- headless Chromium (Debian's package) for the HTML report ----------------------------------

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=3000",
]


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have chromium (scripts/test.sh installs Debian's package)")
        pytest.skip("no chromium on this machine")
    return exe


def open_page(html: Path, screenshot: Path, size: str = "1200,1100") -> tuple[str, str]:
    """(DOM after load, Chromium's log incl. console messages); writes the screenshot."""
    exe = _chromium()
    with tempfile.TemporaryDirectory() as profile:
        base = [exe, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0"]
        dom = subprocess.run(
            [*base, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120
        )
        shot = subprocess.run(
            [*base, f"--window-size={size}", f"--screenshot={screenshot}", html.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
        )
    return dom.stdout, dom.stderr + shot.stderr


def console_errors(log: str) -> list[str]:
    return [
        line
        for line in log.splitlines()
        if "CONSOLE" in line or "Content Security Policy" in line or "Uncaught" in line
    ]


class Browser:
    open_page = staticmethod(open_page)
    console_errors = staticmethod(console_errors)


@pytest.fixture
def browser() -> Browser:
    _chromium()
    return Browser()
