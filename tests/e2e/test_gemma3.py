"""The second built-in model, Gemma-3-270M, on the real engine: one server for the module.

What only this model exercises: 15 sliding-window + 3 full-attention layers (the KV-cache
prediction by layer type must match the engine's own figure), a tokenizer whose ``<bos>`` the
GGUF conversion used to drop (the served tokenization must start with it), and a base model
with no chat template.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from modelverify.compat.stage import check_kv, run_compat
from modelverify.demo import GEMMA3, ensure_demo_model
from modelverify.serve.engine import find_engine
from modelverify.serve.logparse import parse_vllm_log
from modelverify.serve.supervisor import Server, ServerConfig

pytestmark = pytest.mark.engine


@dataclass
class Served:
    base_url: str
    model: str
    model_dir: Path
    log: Path


@pytest.fixture(scope="module")
def gemma(engine_python: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = ensure_demo_model(engine_python, model=GEMMA3.name)
    log = tmp_path_factory.mktemp("gemma") / "server.log"
    cfg = ServerConfig(
        model=str(folder),
        args=list(GEMMA3.args),
        env=dict(GEMMA3.env),
        startup_timeout_s=600,
        log_path=log,
    )
    server = Server(find_engine(engine_python), cfg)
    with server:
        rec = server.start()
        server.wait_ready()
        yield Served(rec.base_url, str(folder), folder, log)
    assert not server.alive()


def test_served_tokenization_starts_with_bos(gemma: Served) -> None:
    r = httpx.post(
        f"{gemma.base_url}/tokenize", json={"model": gemma.model, "prompt": "Hello world"}
    )
    r.raise_for_status()
    tokens = r.json()["tokens"]
    assert tokens[0] == 2  # <bos>, as the GGUF's tokenizer.ggml.add_bos_token asks
    assert tokens[1:] == [9259, 1902]


def test_kv_prediction_by_layer_type_matches_the_engine(gemma: Served) -> None:
    engine = parse_vllm_log(gemma.log.read_text(encoding="utf-8", errors="replace"))
    assert engine.kv_cache_tokens == 55_356
    res = run_compat(
        Path(gemma.model_dir),
        engine_args=list(GEMMA3.args),
        engine_env=dict(GEMMA3.env),
        env={"platform": "cpu", "cpu": {"model_name": "x", "memory_total_bytes": 16 * 1024**3}},
    )
    chk = check_kv(res, engine.kv_cache_tokens)
    assert chk is not None and chk.within and abs(chk.error_pct) <= 2.0


def test_base_model_completes_text(gemma: Served) -> None:
    r = httpx.post(
        f"{gemma.base_url}/v1/completions",
        json={
            "model": gemma.model,
            "prompt": "The capital of France is",
            "max_tokens": 4,
            "temperature": 0,
        },
        timeout=120,
    )
    r.raise_for_status()
    body = r.json()
    assert body["usage"]["completion_tokens"] >= 1
    assert isinstance(body["choices"][0]["text"], str)
