"""``modelverify compat DIR --support-matrix FILE``: a newer matrix file changes the verdict.

The command runs in-process through click's CliRunner on the real Qwen3-8B config. Two things
are pinned so that only the matrix file varies: the host is the recorded 910B2C (so the matrix
decides; the probe would find this CPU), and no engine is found (no registry read).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelverify.cli.stages import compat
from modelverify.env.npu_smi import parse_npu_smi
from modelverify.errors import EngineError

DATA = Path(__file__).resolve().parents[2] / "data"
ROW = "| Qwen3-Dense         |   ✅    |"


@pytest.fixture
def on_910b(monkeypatch: pytest.MonkeyPatch) -> None:
    table = (DATA / "npu_smi" / "07_910b2c_16npu_two_digit_ids_24.1.0.txt").read_text()
    chip = parse_npu_smi(table).chips[0]
    facts = ("npu", chip.name, (chip.hbm_total_mb or 0) * 1024 * 1024)
    monkeypatch.setattr("modelverify.compat.stage.device_facts", lambda env: facts)

    def no_engine(engine_python: str | None = None) -> None:
        raise EngineError("no engine in this test")

    monkeypatch.setattr("modelverify.serve.engine.find_engine", no_engine)


def _compat(args: list[str]) -> dict:
    res = CliRunner().invoke(compat, args, catch_exceptions=False)
    out = json.loads(res.stdout)
    # the command exits by the stage's status: 0 pass, 1 warn, 2 fail
    assert res.exit_code == {"pass": 0, "warn": 1, "fail": 2}[out["status"]], res.output
    return out


@pytest.mark.parametrize(
    ("symbol", "word"),
    [("🔵", "supported with caveats"), ("❌", "unsupported")],
)
def test_a_newer_matrix_file_changes_the_verdict(
    on_910b: None, tmp_path: Path, symbol: str, word: str
) -> None:
    model = str(DATA / "model_configs" / "qwen3-8b")
    engine = ["--", "--chat-template", "template.jinja"]
    packaged = _compat([model, "--json", *engine])
    assert packaged["verdict"]["word"] == "supported"
    assert packaged["verdict"]["row"]["model"] == "Qwen3-Dense"
    assert packaged["matrix_source"].startswith("packaged ")

    text = (
        resources.files("modelverify.data")
        .joinpath("vllm-ascend-supported_models.md")
        .read_text(encoding="utf-8")
    )
    assert text.count(ROW) == 1
    newer = tmp_path / "supported_models.md"
    newer.write_text(text.replace(ROW, ROW.replace("✅", symbol)), encoding="utf-8")
    out = _compat([model, "--json", "--support-matrix", str(newer), *engine])
    assert out["matrix_source"] == str(newer)
    assert out["verdict"]["word"] == word
    row = out["verdict"]["row"]
    assert (row["model"], row["symbol"]) == ("Qwen3-Dense", symbol)
    assert row["line"] == packaged["verdict"]["row"]["line"]


def test_the_table_output_names_the_file_and_the_verdict(on_910b: None, tmp_path: Path) -> None:
    text = (
        resources.files("modelverify.data")
        .joinpath("vllm-ascend-supported_models.md")
        .read_text(encoding="utf-8")
    )
    newer = tmp_path / "supported_models.md"
    newer.write_text(text.replace(ROW, ROW.replace("✅", "❌")), encoding="utf-8")
    res = CliRunner().invoke(
        compat,
        [str(DATA / "model_configs" / "qwen3-8b"), "--support-matrix", str(newer)],
        catch_exceptions=False,
    )
    assert res.exit_code == 2, res.output  # unsupported: the stage fails
    assert f"(`{newer}`, A2/A3)" in res.stdout
    assert "**Support verdict: unsupported** ❌" in res.stdout


def test_a_missing_matrix_file_is_refused_by_click(tmp_path: Path) -> None:
    res = CliRunner().invoke(compat, [str(tmp_path), "--support-matrix", str(tmp_path / "nope.md")])
    assert res.exit_code == 2 and "does not exist" in res.output
