"""Argument errors in the real engine's start-up output name the flag and say why (issue 22: an
unrecognized flag was diagnosed as "no exception in the log"). Logs: our own runs, see
tests/data/vllm_logs/cpu_v0.32.0_failures.source.md."""

from __future__ import annotations

from pathlib import Path

from modelverify.serve.diagnose import diagnose

LOGS = Path(__file__).resolve().parents[2] / "data" / "vllm_logs"


def test_unrecognized_flag_is_named() -> None:
    d = diagnose((LOGS / "cpu_v0.32.0_unrecognized_flag_fail.log").read_text())
    assert d is not None and d.id == "unrecognized_argument"
    assert d.advice.startswith("this vLLM does not know the flag(s) --no-such-flag:")


def test_invalid_value_names_flag_value_and_type() -> None:
    d = diagnose((LOGS / "cpu_v0.32.0_invalid_value_fail.log").read_text())
    assert d is not None and d.id == "invalid_argument_value"
    assert d.advice == (
        "--max-model-len got 'abc', which is not a valid human_readable_int_or_auto: "
        "fix that flag's value"
    )


def test_max_model_len_over_the_model_limit_says_the_limit() -> None:
    d = diagnose((LOGS / "cpu_v0.32.0_max_model_len_999999_fail.log").read_text())
    assert d is not None and d.id == "max_model_len_over_model_limit"
    assert d.advice.startswith(
        "--max-model-len 999999 is larger than the model supports (max_position_embeddings=8192.0 "
        "or model_max_length=None in model's config.json): lower it"
    )
