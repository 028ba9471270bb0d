"""Every parser either parses or raises our own error — on mutated real samples and on
pathological long lines (regex backtracking) — never an IndexError, never a hang."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelverify.accuracy.scoring import aisbench_extract, extract_answer
from modelverify.env.npu_smi import parse_npu_smi, parse_npu_smi_mapping
from modelverify.env.nvidia_smi import parse_nvidia_smi, parse_query_apps_csv, parse_query_gpu_csv
from modelverify.errors import ParseError
from modelverify.serve.diagnose import diagnose
from modelverify.serve.logparse import parse_vllm_log

DATA = Path(__file__).resolve().parents[1] / "data"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "samples"
SAMPLES = sorted((DATA / "npu_smi").glob("*.txt")) + sorted((DATA / "nvidia_smi").glob("*.txt"))
SAMPLES += sorted((DATA / "vllm_logs").glob("*.log"))
SAMPLES += sorted(SHARED.glob("npu_smi/*.txt")) + sorted(SHARED.glob("vllm_logs/*.log"))
TEXTS = [p.read_text(encoding="utf-8", errors="replace") for p in SAMPLES]
NPU_TEXTS = [
    p.read_text(encoding="utf-8", errors="replace") for p in SAMPLES if p.parent.name == "npu_smi"
]


def every_parser(text: str) -> None:
    for fn in (
        parse_npu_smi,
        parse_npu_smi_mapping,
        parse_nvidia_smi,
        parse_query_gpu_csv,
        parse_query_apps_csv,
    ):
        with contextlib.suppress(ParseError):
            fn(text)
    parse_vllm_log(text)
    diagnose(text)
    extract_answer(text)
    aisbench_extract(text)


@st.composite
def mutated(draw: st.DrawFn, pool: list[str] = TEXTS) -> str:
    text = draw(st.sampled_from(pool))
    for _ in range(draw(st.integers(1, 8))):
        if not text:
            break
        i = draw(st.integers(0, len(text) - 1))
        j = min(len(text), i + draw(st.integers(0, 200)))
        op = draw(st.sampled_from(["cut", "dup", "junk", "swap"]))
        if op == "cut":
            text = text[:i] + text[j:]
        elif op == "dup":
            text = text[:j] + text[i:j] + text[j:]
        elif op == "junk":
            text = text[:i] + draw(st.text(max_size=40)) + text[i:]
        else:
            text = text[i:j] + text[:i] + text[j:]
    return text


def test_the_in_project_npu_smi_tables_are_fuzzed() -> None:
    # they are the only npu-smi text on a fresh clone (../shared is development-only)
    assert len([p for p in SAMPLES if p.parent == DATA / "npu_smi"]) >= 10


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(NPU_TEXTS))
def test_mutated_npu_smi_tables(text: str) -> None:
    """The npu-smi parsers on their own tables, cut and spliced: parse or ParseError."""
    for fn in (parse_npu_smi, parse_npu_smi_mapping):
        with contextlib.suppress(ParseError):
            fn(text)


@pytest.mark.skipif(not TEXTS, reason="no recorded samples")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_real_samples(text: str) -> None:
    every_parser(text)


LONG = [
    "|" * 200_000,
    "| " * 100_000 + "\n",
    "Health OK " * 50_000,
    "1 / 2 " * 100_000,
    "INFO " + "x" * 300_000,
    "(EngineCore_DP0 pid=1) " * 20_000,
    "#### " + "9" * 100_000,
    "The answer is " + "1," * 100_000,
    "\\boxed{" * 50_000,
    "KV cache size: " + "1," * 100_000 + " tokens",
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("text", LONG, ids=[f"long{i}" for i in range(len(LONG))])
def test_long_lines_never_hang(text: str) -> None:
    every_parser(text)
