"""Shared fixtures: the development-only reference folder, and one real ``vllm serve`` (vLLM's
CPU build, demo model) shared by the tests that need an engine."""

from __future__ import annotations

import os
import sys
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


@pytest.fixture(scope="session")
def served(
    engine_python: str, demo_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    log = tmp_path_factory.mktemp("server") / "server.log"
    cfg = ServerConfig(
        model=str(demo_model),
        args=list(DEMO_ARGS),
        env=dict(DEMO_ENV),
        startup_timeout_s=600,
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
