"""The four-word support verdict on a recorded Ascend host, with the matrix row that decided it.

Host: a 910B2C (tab A2/A3) recorded in tests/data/npu_smi; models: the real configs in
tests/data/model_configs; matrix: the packaged vLLM-Ascend supported_models.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from modelverify.compat.stage import run_compat
from modelverify.env.npu_smi import parse_npu_smi
from modelverify.report.compat_text import render_compat, verdict_text
from modelverify.report.conclusions import compat as compat_conclusion
from modelverify.results import Status

DATA = Path(__file__).resolve().parents[2] / "data"
MODELS = DATA / "model_configs"
TEMPLATE = ["--chat-template", "template.jinja"]  # the config-only folders have no template


@pytest.fixture(scope="module")
def npu_env() -> dict:
    table = (DATA / "npu_smi" / "07_910b2c_16npu_two_digit_ids_24.1.0.txt").read_text()
    return {"platform": "npu", "npu": {"info": parse_npu_smi(table).model_dump(mode="json")}}


def test_supported_row_and_nothing_else_is_supported(npu_env) -> None:
    res = run_compat(MODELS / "qwen3-8b", env=npu_env, engine_args=TEMPLATE)
    v = res.verdict
    assert v is not None and v.word == "supported" and v.decided_by == "vLLM-Ascend matrix"
    assert v.row is not None and (v.row.model, v.row.support) == ("Qwen3-Dense", "supported")
    assert f"line {v.row.line}" in v.reason and not v.caveats and not v.blockers


def test_missing_chat_template_is_a_caveat(npu_env) -> None:
    v = run_compat(MODELS / "qwen3-8b", env=npu_env).verdict
    assert v is not None and v.word == "supported with caveats"
    assert any("chat template" in c for c in v.caveats)


def test_experimental_row_gives_caveats(npu_env) -> None:
    res = run_compat(MODELS / "qwen2.5-7b-instruct", env=npu_env, engine_args=TEMPLATE)
    v = res.verdict
    assert v is not None and v.word == "supported with caveats"
    assert v.row is not None and (v.row.model, v.row.symbol) == ("Qwen2.5", "🔵")
    assert "matrix row 'Qwen2.5' is experimental" in v.caveats
    assert res.status == Status.WARN and "supported with caveats" in res.reason


def test_awq_on_ascend_is_unsupported_with_the_row_named(npu_env) -> None:
    # vLLM-Ascend's platform accepts ascend / compressed-tensors / fp8 / mxfp8 ... not awq
    res = run_compat(MODELS / "qwen2.5-72b-instruct-ko-awq", env=npu_env, engine_args=TEMPLATE)
    v = res.verdict
    assert v is not None and v.word == "unsupported"
    assert v.row is not None and v.row.model == "Qwen2.5"
    assert v.blockers == ["dtype / quantization awq: awq is not a vLLM-Ascend quantization method"]
    assert res.status == Status.FAIL
    feats = {f.feature: f for f in res.features}
    assert feats["dtype / quantization"].status == Status.FAIL


def test_remote_code_is_a_caveat_even_when_allowed(npu_env) -> None:
    args = [*TEMPLATE, "--trust-remote-code"]
    v = run_compat(MODELS / "kimi-k2.5", env=npu_env, engine_args=args).verdict
    assert v is not None and v.word == "supported with caveats"
    assert any(c.startswith("remote code") for c in v.caveats)


def test_no_engine_off_ascend_is_unknown() -> None:
    env = {"platform": "cpu", "cpu": {"model_name": "x", "memory_total_bytes": 64 * 1024**3}}
    res = run_compat(MODELS / "qwen3-8b", env=env, engine_args=TEMPLATE)
    assert res.verdict is not None and res.verdict.word == "unknown"
    assert res.verdict.decided_by == "nothing" and res.verdict.row is None
    assert res.status == Status.WARN


def test_report_shows_the_verdict_in_both_languages(npu_env) -> None:
    res = run_compat(MODELS / "qwen2.5-7b-instruct", env=npu_env, engine_args=TEMPLATE)
    c = res.model_dump(mode="json")
    line = c["verdict"]["row"]["line"]
    en = verdict_text(c, "en")
    assert en.startswith("**Support verdict: supported with caveats** ⚠️")
    assert f"matrix line {line} `Qwen2.5` (A2/A3)" in en and "Caveats:" in en
    zh = verdict_text(c, "zh")
    assert zh.startswith("**支持判定:有条件支持** ⚠️")
    assert f"支持矩阵第 {line} 行 `Qwen2.5`" in zh and "注意事项:" in zh
    assert "Support verdict: supported with caveats" in render_compat(c, "en")
    assert compat_conclusion(c, "zh").startswith("支持判定:有条件支持;")
    assert compat_conclusion(c, "en").startswith("Support verdict: supported with caveats; ")
    awq = run_compat(MODELS / "qwen2.5-72b-instruct-ko-awq", env=npu_env).model_dump(mode="json")
    assert "不支持的原因:" in verdict_text(awq, "zh")
    assert "Why unsupported:" in verdict_text(awq, "en")


def test_fp8_checkpoint_on_a2_a3_is_unsupported(npu_env) -> None:
    # Qwen3-32B-FP8 (quant_method fp8) on a 910B2C: vLLM-Ascend detects and runs FP8 only on
    # Ascend 950 (vllm-ascend PR #12826; a developer's answer in issue #1526), so the row's ✅ for
    # Qwen3-Dense does not carry over to these weights
    res = run_compat(MODELS / "qwen3-32b-fp8", env=npu_env, engine_args=TEMPLATE)
    v = res.verdict
    assert v is not None and v.word == "unsupported"
    assert v.row is not None and v.row.model == "Qwen3-Dense"
    assert len(v.blockers) == 1 and v.blockers[0].startswith(
        "dtype / quantization fp8: fp8 weights need Ascend 950 (A5)"
    )
    assert "on A2/A3" in v.blockers[0] and "#12826" in v.blockers[0]
    assert res.status == Status.FAIL


def test_fp8_on_ascend_950_stays_a_caveat(npu_env) -> None:
    import copy

    env = copy.deepcopy(npu_env)
    for chip in env["npu"]["info"]["chips"]:
        chip["name"] = "Ascend950PR"
    res = run_compat(MODELS / "qwen3-32b-fp8", env=env, engine_args=TEMPLATE)
    feat = {f.feature: f for f in res.features}["dtype / quantization"]
    assert res.matrix is not None and res.matrix.hardware == "Ascend 950 Products"
    assert feat.status == Status.WARN


def test_msmodelslim_with_another_quantization_flag_is_unsupported(npu_env, tmp_path) -> None:
    import json
    import shutil

    d = tmp_path / "Qwen3-8B-W8A8"
    d.mkdir()
    shutil.copy(MODELS / "qwen3-8b" / "config.json", d)
    # a synthetic one-entry description (no real export was found; see SOURCES.md)
    (d / "quant_model_description.json").write_text(json.dumps({"model_quant_type": "W8A8"}))
    ok = run_compat(d, env=npu_env, engine_args=[*TEMPLATE, "--quantization", "ascend"])
    feat = {f.feature: f for f in ok.features}["dtype / quantization"]
    assert feat.basis == "matrix column W8A8" and feat.status == Status.PASS
    bad = run_compat(d, env=npu_env, engine_args=[*TEMPLATE, "--quantization", "fp8"]).verdict
    assert bad is not None and bad.word == "unsupported"
    assert any(
        "--quantization fp8 overrides the msModelSlim description" in b for b in bad.blockers
    )
