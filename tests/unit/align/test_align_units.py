"""Pure parts of the align stage, on a served side recorded from the real demo engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelverify.align.compare import tolerances
from modelverify.align.judge import judge_prompt
from modelverify.align.record import ModelHashes, Record, read_record
from modelverify.align.served import parse_completion
from modelverify.errors import ConfigError, EndpointError
from modelverify.results import Status

REC = Path(__file__).parents[2] / "data" / "align" / "served-demo-short.json"


def test_a_recorded_side_against_itself_passes_with_zero_delta() -> None:
    rec = Record.model_validate_json(REC.read_text(encoding="utf-8"))
    seq = rec.side.by_id()["en-fact"]
    res, _ = judge_prompt("en-fact", seq, seq, tolerances("bfloat16", "float32"))
    assert res.status == Status.PASS
    assert res.prefill_mean == 0.0 and res.greedy_agreement == 1.0
    assert res.prompt_tokens == 19 and res.continuation_tokens == 16


def test_a_record_of_another_model_is_refused() -> None:
    rec = Record.model_validate_json(REC.read_text(encoding="utf-8"))
    other = ModelHashes(config_sha256="0" * 64, weights=rec.model.weights)
    with pytest.raises(ConfigError, match="another model"):
        read_record(REC, other)
    assert read_record(REC, rec.model).side.kind == "served"


def test_a_file_that_is_not_a_record_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(ConfigError, match="not a modelverify align record"):
        read_record(bad, None)


@pytest.mark.parametrize(
    "answer",
    [{}, {"choices": []}, {"choices": ["x"]}, {"choices": [{"prompt_logprobs": None}]}],
)
def test_a_completion_without_prompt_logprobs_is_an_endpoint_error(answer: object) -> None:
    with pytest.raises(EndpointError):
        parse_completion("p", [1, 2, 3], answer)  # type: ignore[arg-type]
