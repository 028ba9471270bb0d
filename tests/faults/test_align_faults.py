"""Faults injected into the real CPU engine (tests/faults/inject/sitecustomize.py patches vLLM's
Llama code in the engine's own processes; the checkpoint the reference reads is untouched):
align must fail on each, naming which prompts and from which position, and pass on the healthy
demo deployment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelverify.align.stage import AlignResult, run_align
from modelverify.demo import DEMO_ARGS, DEMO_ENV
from modelverify.results import Status
from modelverify.serve.engine import find_engine
from modelverify.serve.supervisor import Server, ServerConfig

pytestmark = pytest.mark.engine

INJECT = Path(__file__).with_name("inject")


def _faulty_engine(engine_python: str, model: Path, fault: str, log: Path) -> Iterator[str]:
    env = {
        **DEMO_ENV,
        "MV_FAULT": fault,
        "PYTHONPATH": os.pathsep.join([str(INJECT), os.environ.get("PYTHONPATH", "")]),
    }
    cfg = ServerConfig(model=str(model), args=list(DEMO_ARGS), env=env, log_path=log)
    with Server(find_engine(engine_python), cfg) as server:
        rec = server.start()
        server.wait_ready()
        assert f"[mv-fault] {fault} injected" in log.read_text(errors="replace")
        yield rec.base_url


def _align(url: str, model: Path, engine_python: str, long_tokens: int) -> AlignResult:
    return run_align(url, str(model), model, engine_python=engine_python, long_tokens=long_tokens)


def test_healthy_demo_passes(served, engine_python: str) -> None:  # type: ignore[no-untyped-def]
    res = _align(served.base_url, served.model_dir, engine_python, 1700)
    assert res.status == Status.PASS, res.reason
    assert all(p.status == Status.PASS for p in res.prompts)
    assert res.reference_peak_rss_bytes and res.reference_kind == "transformers"
    assert [p.prompt_tokens for p in res.prompts if p.long] == [1700]


def test_wrong_weights_in_layers_10_to_14_fail_every_prompt(
    engine_python: str, demo_model: Path, tmp_path: Path
) -> None:
    for url in _faulty_engine(engine_python, demo_model, "weights", tmp_path / "server.log"):
        res = _align(url, demo_model, engine_python, 0)
    assert res.status == Status.FAIL
    assert all(p.status == Status.FAIL for p in res.prompts), [p.reason for p in res.prompts]
    # wrong from the first predictions on
    assert all((p.fail_from_position or 99) <= 3 for p in res.prompts)
    assert "mean |Δ logprob|" in res.reason


def test_rotary_wrong_past_1536_fails_the_long_prompt_from_there(
    engine_python: str, demo_model: Path, tmp_path: Path
) -> None:
    for url in _faulty_engine(engine_python, demo_model, "rope", tmp_path / "server.log"):
        res = _align(url, demo_model, engine_python, 1700)
    assert res.status == Status.FAIL
    failed = [p for p in res.prompts if p.status == Status.FAIL]
    assert [p.id for p in failed] == ["long-needle"]
    assert failed[0].fail_from_position is not None
    assert 1536 <= failed[0].fail_from_position <= 1600
    assert "from position" in res.reason


def test_one_sequence_of_a_batch_corrupted_is_named_as_batching(
    engine_python: str, demo_model: Path, tmp_path: Path
) -> None:
    for url in _faulty_engine(engine_python, demo_model, "batch", tmp_path / "server.log"):
        res = _align(url, demo_model, engine_python, 0)
    assert res.status == Status.FAIL
    failed = [p for p in res.prompts if p.status == Status.FAIL]
    assert 0 < len(failed) < len(res.prompts)
    assert any(p.alone and p.alone.startswith("passes when sent alone") for p in failed)
