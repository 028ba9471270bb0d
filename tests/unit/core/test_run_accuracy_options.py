"""``modelverify run``'s accuracy options: a bad --dataset refused before launch, the eval's
concurrency sized to the served engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelverify.accuracy.concurrency import request_tokens
from modelverify.errors import ConfigError, DataError
from modelverify.run import RunOptions, _accuracy_config, check_dataset_arg, execute
from modelverify.serve.stage import ServeResult


def _no_launch(*_: object, **__: object) -> None:
    raise AssertionError("the engine was looked for: bad input must fail before")


@pytest.fixture
def no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    import modelverify.serve.engine as engine

    monkeypatch.setattr(engine, "find_engine", _no_launch)


def test_a_bad_dataset_line_fails_before_anything_is_launched(
    tmp_path: Path, no_engine: None
) -> None:
    f = tmp_path / "d.jsonl"
    f.write_text('{"question": "q", "answer": "#### 1"}\n{"question": "q2"}\n')
    opts = RunOptions(model="demo", runs_root=tmp_path / "runs", accuracy={"dataset": str(f)})
    with pytest.raises(DataError, match="line 2: needs string fields"):
        execute(opts, say=lambda _: None)
    assert not (tmp_path / "runs").exists()


def test_a_missing_dataset_fails_before_anything_is_launched(
    tmp_path: Path, no_engine: None
) -> None:
    opts = RunOptions(
        model="demo", runs_root=tmp_path / "runs", accuracy={"dataset": str(tmp_path / "no.jsonl")}
    )
    with pytest.raises(DataError, match="cannot read dataset"):
        execute(opts, say=lambda _: None)
    assert not (tmp_path / "runs").exists()


def test_the_dataset_is_not_read_when_accuracy_does_not_run(tmp_path: Path) -> None:
    check_dataset_arg(
        RunOptions(model="demo", stages=("env",), accuracy={"dataset": str(tmp_path / "no")})
    )


def test_eval_concurrency_sized_by_the_serve_stage_facts() -> None:
    per = request_tokens("chat", 512)
    serve = ServeResult(log_facts={"kv_cache_tokens": 24 * per})
    opts = RunOptions(model="/models/m", accuracy={"concurrency": None, "limit": 5})
    cfg = _accuracy_config(opts, "m", serve, None)
    assert cfg.concurrency == 24 and "KV cache holds 24" in cfg.concurrency_reason
    cfg = _accuracy_config(opts, "m", serve, 16)
    assert cfg.concurrency == 16 and "--max-num-seqs 16" in cfg.concurrency_reason
    # attached without --server-log: the perf stage's concurrency
    cfg = _accuracy_config(opts, "m", None, None)
    assert cfg.concurrency == 10 and "perf stage" in cfg.concurrency_reason
    given = RunOptions(model="/models/m", accuracy={"concurrency": 3})
    cfg = _accuracy_config(given, "m", serve, None)
    assert (cfg.concurrency, cfg.concurrency_reason) == (3, "given (--eval-concurrency)")


def test_a_bundled_reference_is_marked_as_another_protocol() -> None:
    cfg = _accuracy_config(RunOptions(model="/models/Qwen3-8B"), "Qwen3-8B")
    assert cfg.reference_accuracy is not None and cfg.reference_differences


def test_tolerance_and_concurrency_options_of_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import modelverify.cli.run as cli_run

    seen: list[RunOptions] = []

    def fake_execute(opts: RunOptions) -> None:
        seen.append(opts)
        raise SystemExit(0)

    monkeypatch.setattr(cli_run, "execute", fake_execute)
    r = CliRunner().invoke(cli_run.run, ["demo", "--tolerance", "2"])
    assert r.exit_code == 0, r.output
    assert seen[0].accuracy["tolerance"] == pytest.approx(0.02)
    assert seen[0].accuracy["concurrency"] is None  # sized to the engine later
    r = CliRunner().invoke(cli_run.run, ["demo", "--tolerance", "-1"])
    assert isinstance(r.exception, ConfigError) and "--tolerance" in str(r.exception)
    r = CliRunner().invoke(cli_run.run, ["demo", "--eval-concurrency", "0"])
    assert isinstance(r.exception, ConfigError)


def test_standalone_accuracy_has_tolerance_and_keeps_concurrency_8(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    import modelverify.accuracy.stage as acc_stage
    from modelverify.accuracy.stage import AccuracyConfig, AccuracyResult
    from modelverify.cli.stages import accuracy

    seen: list[AccuracyConfig] = []

    def fake_run(*_: object, config: AccuracyConfig, **__: object) -> AccuracyResult:
        seen.append(config)
        return AccuracyResult(config=config)

    monkeypatch.setattr(acc_stage, "run_accuracy", fake_run)
    args = ["--base-url", "http://127.0.0.1:9", "--model", "m", "--out", str(tmp_path / "o")]
    r = CliRunner().invoke(accuracy, [*args, "--tolerance", "1.5"])
    assert r.exit_code == 0, r.output
    assert seen[0].tolerance == pytest.approx(0.015)
    assert (seen[0].concurrency, seen[0].concurrency_reason) == (
        8,
        "the default (--concurrency 8)",
    )
    r = CliRunner().invoke(accuracy, [*args, "--concurrency", "4", "--out", str(tmp_path / "p")])
    assert r.exit_code == 0, r.output
    assert (seen[1].concurrency, seen[1].concurrency_reason) == (4, "given (--concurrency)")


DATA = Path(__file__).resolve().parents[2] / "data" / "model_configs"


def _compat(tmp_path: Path, with_template: bool) -> object:
    import shutil

    from modelverify.compat.stage import run_compat

    d = tmp_path / ("chat" if with_template else "base")
    d.mkdir()
    shutil.copy(DATA / "qwen3-8b" / "config.json", d / "config.json")
    if with_template:  # a real tokenizer_config.json that carries its chat template
        shutil.copy(DATA / "tokenizers" / "qwen3-30b" / "tokenizer_config.json", d)
    return run_compat(d, engine_args=[])


@pytest.mark.parametrize(
    ("given", "template", "args", "api", "why"),
    [
        ("auto", True, [], "chat", "has a chat template"),
        ("auto", False, [], "completions", "no chat template"),
        ("auto", False, ["--chat-template", "t.jinja"], "chat", "--chat-template"),
        ("chat", False, [], "chat", "given (--eval-api)"),
        ("completions", True, [], "completions", "given (--eval-api)"),
    ],
)
def test_eval_api_follows_the_models_chat_template(
    tmp_path: Path, given: str, template: bool, args: list[str], api: str, why: str
) -> None:
    compat = _compat(tmp_path, template)
    opts = RunOptions(model="m", accuracy={"api": given, "concurrency": 4}, engine_args=args)
    cfg = _accuracy_config(opts, "m", None, None, compat, args)  # type: ignore[arg-type]
    assert cfg.api == api and why in cfg.api_reason, cfg.api_reason


def _dataset(tmp_path: Path, n: int) -> Path:
    f = tmp_path / "d.jsonl"
    f.write_text("".join(f'{{"question": "q{i}", "answer": "#### {i}"}}\n' for i in range(n)))
    return f


def test_perf_times_the_evals_own_requests_when_the_eval_is_long(tmp_path: Path) -> None:
    from modelverify.accuracy.stage import AccuracyConfig
    from modelverify.run import _perf_config
    from modelverify.rundir import RunDir

    run_dir = RunDir.create(tmp_path / "runs", "x")
    acc = AccuracyConfig(dataset=str(_dataset(tmp_path, 300)), concurrency=4, seed=7)
    opts = RunOptions(model="m", perf={"eval_load": None})
    cfg, make = _perf_config(opts, "served", lambda: acc, run_dir, None)
    # 300 items ≥ 10 × (2 × 4): on by default, 8 requests at the eval's concurrency
    assert make is not None and (cfg.eval_load_requests, cfg.eval_load_concurrency) == (8, 4)
    req = make(0)
    # the dataset's last items, with the eval's own body (sampling, stop, seed per item)
    assert req.path == "/v1/chat/completions" and req.body["messages"][-1]["content"].count("q292")
    assert req.body["top_p"] == acc.top_p and req.body["seed"] == 7 + 292
    assert make(8).body == req.body
    # a short eval: off by default, on when asked for; 0 turns it off
    short = AccuracyConfig(dataset=str(_dataset(tmp_path, 300)), concurrency=4, limit=50)
    assert _perf_config(opts, "s", lambda: short, run_dir, None)[1] is None
    asked = RunOptions(model="m", perf={"eval_load": 5})
    cfg, make = _perf_config(asked, "s", lambda: short, run_dir, None)
    assert make is not None and cfg.eval_load_requests == 5
    assert (
        _perf_config(RunOptions(model="m", perf={"eval_load": 0}), "s", lambda: acc, run_dir, None)[
            1
        ]
        is None
    )
    # no eval in the run: nothing to time
    assert _perf_config(opts, "s", None, run_dir, None)[1] is None


@pytest.mark.parametrize(("status", "code"), [("pass", 0), ("warn", 1), ("fail", 2)])
def test_a_stage_run_alone_exits_by_its_status(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, status: str, code: int
) -> None:
    from click.testing import CliRunner

    import modelverify.accuracy.stage as acc_stage
    from modelverify.accuracy.stage import AccuracyConfig, AccuracyResult
    from modelverify.cli.stages import accuracy
    from modelverify.results import Status

    def fake_run(*_: object, config: AccuracyConfig, **__: object) -> AccuracyResult:
        return AccuracyResult(config=config, status=Status(status), reason="r")

    monkeypatch.setattr(acc_stage, "run_accuracy", fake_run)
    args = ["--base-url", "http://127.0.0.1:9", "--model", "m", "--out", str(tmp_path / "o")]
    r = CliRunner().invoke(accuracy, args)
    assert r.exit_code == code, r.output
    # the result is written before the exit, whatever the status
    assert json.loads((tmp_path / "o" / "accuracy.json").read_text())["status"] == status
