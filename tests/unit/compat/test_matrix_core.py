"""vLLM-Ascend's support matrix (the packaged copy of its supported_models.md) parsed and matched."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelverify.compat.matrix import (
    hardware_tab,
    load_matrix,
    match_model,
    parse_matrix,
    row_names,
)
from modelverify.errors import ConfigError


@pytest.fixture(scope="module")
def matrix():
    return load_matrix()


def test_packaged_matrix_has_every_table(matrix) -> None:
    sections = {r.section for r in matrix.rows}
    assert any("Pooling" in s for s in sections)
    assert any("Multimodal" in s for s in sections)
    tabs = {r.hardware for r in matrix.rows}
    assert {"A2/A3", "Atlas 300I DUO", "Ascend 950 Products"} <= tabs
    qwen3_moe = next(r for r in matrix.rows if r.model == "Qwen3-30B-A3B" and r.hardware == "A2/A3")
    assert qwen3_moe.support == "supported" and qwen3_moe.features["W8A8"] == "✅"
    assert qwen3_moe.features["Piecewise AclGraph"] == "✅"


def test_same_as_shared_reference(shared_dir: Path, matrix) -> None:
    ref = load_matrix(shared_dir / "reference" / "vllm-ascend-supported_models.md")
    assert [r.model for r in ref.rows] == [r.model for r in matrix.rows]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Llama2/3/3.1/3.2", ["Llama2", "Llama3", "Llama3.1", "Llama3.2"]),
        ("DeepSeek V3/3.1", ["DeepSeek V3", "DeepSeek V3.1"]),
        ("Qwen3.5-27B / Qwen3.6-27B", ["Qwen3.5-27B", "Qwen3.6-27B"]),
        ("DeepSeek Distill (Qwen/Llama)", ["DeepSeek Distill (Qwen/Llama)"]),
        (
            "InternVL2.0/2.5/3.0<br>InternVideo2.5/Mono-InternVL",
            ["InternVL2.0", "InternVL2.5", "InternVL3.0", "InternVideo2.5", "Mono-InternVL"],
        ),
    ],
)
def test_row_names(text: str, names: list[str]) -> None:
    assert row_names(text) == names


@pytest.mark.parametrize(
    ("name", "model_type", "tab", "how", "row", "support"),
    [
        (
            "Qwen3-30B-A3B-Instruct-2507",
            "qwen3_moe",
            "A2/A3",
            "model name",
            "Qwen3-30B-A3B",
            "supported",
        ),
        ("DeepSeek-V3", "deepseek_v3", "A2/A3", "model name", "DeepSeek V3/3.1", "supported"),
        ("Qwen2.5-7B-Instruct", "qwen2", "A2/A3", "model name", "Qwen2.5", "experimental"),
        # The seed's model: the Qwen3.5 family is listed, but only as experimental on A2/A3 …
        (
            "Qwen3.5-2B-Base",
            "qwen3_5",
            "A2/A3",
            "family",
            "Qwen3.5-27B / Qwen3.6-27B",
            "experimental",
        ),
        # … and as a supported dense family on the Atlas 300I DUO.
        ("Qwen3.5-2B-Base", "qwen3_5", "Atlas 300I DUO", "family", "Qwen3.5-Dense", "supported"),
        (
            "Meta-Llama-3.1-8B-Instruct",
            "llama",
            "A2/A3",
            "family",
            "Llama2/3/3.1/3.2",
            "experimental",
        ),
        (
            "Qwen3-Next-80B-A3B-Thinking",
            "qwen3_next",
            "A2/A3",
            "model name",
            "Qwen3-Next",
            "experimental",
        ),
    ],
)
def test_deciding_row(matrix, name, model_type, tab, how, row, support) -> None:
    m = match_model(matrix, name, model_type, tab, moe="A3B" in name)
    assert m.deciding is not None, m
    assert (m.how, m.deciding.model, m.deciding.support) == (how, row, support)
    assert m.deciding.line > 0


def test_unlisted_model_is_unknown(matrix) -> None:
    m = match_model(matrix, "gpt-oss-20b", "gpt_oss", "A2/A3")
    assert m.deciding is None and m.how == "none"


def test_unsupported_row(matrix) -> None:
    m = match_model(matrix, "Whisper-large-v3", "whisper", "A2/A3")
    # Whisper rows have no hardware: not on A2/A3, but the family row is shown
    assert any(r.support == "unsupported" for r in m.family_rows)


@pytest.mark.parametrize(
    ("chip", "tab"),
    [
        ("910B4", "A2/A3"),
        ("910B3", "A2/A3"),
        ("Ascend910", "A2/A3"),
        ("310P3", "Atlas 300I DUO"),
        ("Ascend 950PR", "Ascend 950 Products"),
        (None, None),
        ("Tesla T4", None),
    ],
)
def test_hardware_tab(chip, tab) -> None:
    assert hardware_tab(chip) == tab


def test_not_a_matrix_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no model table"):
        parse_matrix("# just a title\n", "x.md")
    with pytest.raises(ConfigError, match="does not exist"):
        load_matrix(tmp_path / "missing.md")
