"""One command per stage, each usable alone against a model folder or a running server."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

import click

from modelverify.cli.options import (
    F,
    api_key_options,
    baseline_threshold_option,
    check_tolerance,
    reference_fields,
    reference_option,
    resolve_api_key,
    served_model,
    stream_timeout_options,
    stream_timeouts,
    tolerance_option,
)
from modelverify.errors import ConfigError, ModelVerifyError
from modelverify.rundir import RunDir


def _exit_by(status: str) -> None:
    """Exit by a stage's status: 0 pass, 1 warn, 2 fail, as ``run`` exits by its verdict, so
    scripts can gate on a stage run alone."""
    from modelverify.report.verdict import STAGE_EXIT_CODES

    code = STAGE_EXIT_CODES.get(status, 2)
    if code:
        sys.exit(code)


def _emit(result_json: str, out: Path | None, name: str, status: str = "pass") -> None:
    """Print (and with ``out`` save) a stage's result, then exit by its status."""
    if out is not None:
        RunDir.create(None, name, out).write_text(f"{name}.json", result_json + "\n")
    click.echo(result_json)
    _exit_by(status)


@click.command()
@click.option("--engine-python", help="Python of the engine's environment.")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), help="Also write env.json here."
)
def env(engine_python: str | None, out: Path | None) -> None:
    """Probe the accelerator, CPU and package versions.

    Exit code: 0 pass, 1 warning, 2 fail.
    """
    from modelverify.env.stage import run_env

    res = run_env(engine_python)
    _emit(res.model_dump_json(indent=2), out, "env", res.status.value)


@click.command()
@click.argument("model")
@click.argument("engine_args", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "--engine-python", help="Python of the engine's environment (for its model registry)."
)
@click.option(
    "--registry",
    type=click.Choice(["auto", "static", "import"]),
    default="auto",
    show_default=True,
    help="How to read vLLM's model registry: auto = cached import answer, else a static read.",
)
@click.option(
    "--support-matrix",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A newer vLLM-Ascend supported_models.md than the packaged copy.",
)
@click.option("--json", "as_json", is_flag=True, help="Print compat.json instead of the tables.")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), help="Also write compat.json here."
)
def compat(
    model: str,
    engine_args: tuple[str, ...],
    engine_python: str | None,
    registry: str,
    support_matrix: Path | None,
    as_json: bool,
    out: Path | None,
) -> None:
    """Judge MODEL (a folder, a cached hub id, or 'demo') before launching anything; flags after `--`
    are the engine flags you will serve with (they change the memory arithmetic).

    Example: modelverify compat /models/Qwen3-8B -- --max-model-len 32768 -tp 2

    Exit code: 0 pass, 1 warning (supported with caveats, unknown, a tight fit), 2 fail.
    """
    from modelverify.compat.hub import resolve_model
    from modelverify.compat.stage import run_compat
    from modelverify.demo import is_demo
    from modelverify.serve.engine import find_engine

    python, dists = None, {}
    env: dict[str, str] = {}
    args = list(engine_args)
    try:
        spec = find_engine(engine_python)
        python, dists = spec.python, dict(spec.distributions)
    except ModelVerifyError as exc:
        if engine_python or is_demo(model):
            raise
        click.echo(f"note: no engine found ({exc}); registry not checked", err=True)
    if is_demo(model):  # the model and settings `run demo` serves
        from modelverify.demo import demo_launch

        assert python is not None
        folder, args, env = demo_launch(python, args, model)
    else:
        folder = resolve_model(model)
    res = run_compat(
        folder,
        engine_env=env,
        engine_args=args,
        engine_python=python,
        distributions=dists,
        registry_mode=registry,
        matrix_path=support_matrix,
    )
    text = res.model_dump_json(indent=2)
    if out is not None:
        RunDir.create(None, "compat", out).write_text("compat.json", text + "\n")
    if as_json:
        click.echo(text)
    else:
        from modelverify.report.compat_text import render_compat

        click.echo(render_compat(res.model_dump(mode="json"), "en"))
    _exit_by(res.status.value)


def _server_options(fn: F) -> F:
    fn = click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        help="Run directory for the stage's files.",
    )(fn)
    fn = click.option("--model", "model", help="Model id (default: the first in /v1/models).")(fn)
    fn = click.option("--base-url", required=True, help="The server, e.g. http://127.0.0.1:8000")(
        fn
    )
    return api_key_options(fn)


@click.command()
@_server_options
@click.option(
    "--max-model-len",
    type=click.IntRange(min=1),
    default=None,
    help="The max model length the server was started with: models.list fails when "
    "/v1/models reports another.",
)
def api(
    base_url: str,
    model: str | None,
    out: Path | None,
    api_key: str | None,
    api_key_file: Path | None,
    max_model_len: int | None,
) -> None:
    """Run the OpenAI-API conformance checks against a server.

    Exit code: 0 pass, 1 warning, 2 fail.
    """
    from modelverify.api.stage import run_api

    key = resolve_api_key(api_key, api_key_file)
    res = run_api(
        base_url,
        served_model(base_url, model, key),
        api_key=key,
        expected_max_model_len=max_model_len,
    )
    _emit(res.model_dump_json(indent=2), out, "api", res.status.value)


@click.command()
@_server_options
@click.option("--requests", "n", type=int, default=50, show_default=True)
@click.option("--concurrency", type=int, default=10, show_default=True)
@click.option("--max-tokens", type=int, default=50, show_default=True)
@click.option(
    "--sequential",
    "n_seq",
    type=int,
    default=10,
    show_default=True,
    help="Requests of the sequential test (0 skips it).",
)
@click.option(
    "--workload",
    type=click.Choice(["seed", "synthetic", "jsonl"]),
    default="seed",
    show_default=True,
)
@click.option("--input-len", type=int, default=128, show_default=True, help="synthetic workload")
@click.option("--output-len", type=int, default=128, show_default=True, help="synthetic workload")
@click.option(
    "--prompts",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="JSONL of {prompt} or {messages} (workload jsonl).",
)
@click.option("--sweep", help="Concurrency levels for the throughput–latency curve, e.g. 1,2,4,8.")
@click.option(
    "--sweep-requests", type=int, default=0, help="Requests per sweep level (default 4×c, ≥16)."
)
@click.option("--rate", type=float, help="Request-rate mode: requests per second (open loop).")
@click.option(
    "--burstiness",
    type=float,
    default=1.0,
    show_default=True,
    help="Gamma shape of arrivals; 1 = Poisson, < 1 burstier.",
)
@click.option("--rate-requests", type=int, default=100, show_default=True)
@click.option("--rate-max-concurrency", type=int)
@click.option("--slo", help="e.g. ttft_ms=500,tpot_ms=50,e2el_ms=3000")
@click.option("--slo-attainment", type=float, default=0.9, show_default=True)
@click.option(
    "--baseline",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="An earlier run directory to judge against.",
)
@baseline_threshold_option
@stream_timeout_options
def perf(
    base_url: str,
    model: str | None,
    out: Path | None,
    api_key: str | None,
    api_key_file: Path | None,
    n: int,
    concurrency: int,
    max_tokens: int,
    n_seq: int,
    workload: str,
    input_len: int,
    output_len: int,
    prompts: Path | None,
    sweep: str | None,
    sweep_requests: int,
    rate: float | None,
    burstiness: float,
    rate_requests: int,
    rate_max_concurrency: int | None,
    slo: str | None,
    slo_attainment: float,
    baseline: Path | None,
    baseline_threshold: float | None,
    connect_timeout: float,
    first_byte_timeout: float,
    chunk_timeout: float,
) -> None:
    """Latency and throughput, streamed (TTFT/TPOT/ITL/E2EL): the seed's two tests, plus a
    concurrency sweep, request-rate mode, synthetic or file workloads, SLO goodput.

    Exit code: 0 pass, 1 warning (some requests failed), 2 fail (an SLO, a regression, or
    a test with no request answered).
    """
    from modelverify.perf.stage import PerfConfig, run_perf

    key = resolve_api_key(api_key, api_key_file)
    run_dir = RunDir.create(None, "perf", out)
    from modelverify.cli.run import parse_levels, perf_options

    if workload == "jsonl" and prompts is None:
        raise ConfigError("--workload jsonl needs --prompts FILE")
    if rate is not None and (rate <= 0 or burstiness <= 0):
        raise ConfigError("--rate and --burstiness must be positive")
    cfg = PerfConfig(
        sequential_requests=n_seq,
        concurrent_requests=n,
        concurrency=concurrency,
        max_tokens=max_tokens,
        workload=workload,
        input_len=input_len,
        output_len=output_len,
        prompts_file=str(prompts) if prompts else None,
        sweep=parse_levels(sweep),
        sweep_requests=sweep_requests,
        rate=rate,
        burstiness=burstiness,
        rate_requests=rate_requests,
        rate_max_concurrency=rate_max_concurrency,
        **perf_options(slo, slo_attainment, baseline, baseline_threshold),
        **stream_timeouts(connect_timeout, first_byte_timeout, chunk_timeout),
    )
    from modelverify.progress import load_progress

    with load_progress(lambda m: click.echo(m, err=True)) as progress:
        res = run_perf(
            base_url,
            served_model(base_url, model, key),
            run_dir.file("perf_requests.jsonl"),
            api_key=key,
            config=cfg,
            progress=progress,
        )
    _emit(res.model_dump_json(indent=2), run_dir.path, "perf", res.status.value)


@click.group(invoke_without_command=True)
@click.pass_context
@click.option("--base-url", help="The server, e.g. http://127.0.0.1:8000")
@click.option("--model", "model", help="Model id (default: the first in /v1/models).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run directory (resumes accuracy.jsonl there).",
)
@api_key_options
@click.option("--limit", type=int, default=None)
@click.option(
    "--dataset",
    type=click.Path(dir_okay=False),
    help="GSM8K-style JSONL, or hf:REPO[:CONFIG][@SPLIT] (default: the bundled test split).",
)
@click.option(
    "--api",
    "api_kind",
    type=click.Choice(["chat", "completions"]),
    default="chat",
    show_default=True,
)
@click.option("--concurrency", type=int, default=8, show_default=True)
@click.option("--temperature", type=float, default=0.6, show_default=True)
@click.option("--top-p", type=float, default=0.95, show_default=True)
@click.option("--max-tokens", type=int, default=512, show_default=True)
@click.option("--seed", type=int, default=None)
@reference_option
@tolerance_option
def accuracy(
    ctx: click.Context,
    base_url: str | None,
    model: str | None,
    out: Path | None,
    api_key: str | None,
    api_key_file: Path | None,
    limit: int | None,
    dataset: str | None,
    api_kind: str,
    concurrency: int,
    temperature: float,
    top_p: float,
    max_tokens: int,
    seed: int | None,
    reference_accuracy: str | None,
    tolerance: float,
) -> None:
    """GSM8K 4-shot CoT against a server (resumable); `accuracy grade FILE` grades offline.

    Exit code: 0 pass, 1 warning, 2 fail.
    """
    if ctx.invoked_subcommand is not None:
        return
    if not base_url:
        raise click.UsageError("--base-url is required (or use `modelverify accuracy grade FILE`)")
    from modelverify.accuracy.stage import AccuracyConfig, run_accuracy, use_published_reference

    if concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    check_tolerance(tolerance)
    key = resolve_api_key(api_key, api_key_file)
    run_dir = RunDir.create(None, "accuracy", out)
    cfg = AccuracyConfig(
        limit=limit,
        dataset=dataset,
        api=api_kind,
        concurrency=concurrency,
        concurrency_reason=(
            "the default (--concurrency 8)"
            if ctx.get_parameter_source("concurrency") == click.core.ParameterSource.DEFAULT
            else "given (--concurrency)"
        ),
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        seed=seed,
        **reference_fields(reference_accuracy),
        tolerance=tolerance / 100,
    )
    served = served_model(base_url, model, key)
    if cfg.reference_accuracy is None:
        from modelverify.accuracy.references import find_reference

        ref = find_reference(served)
        if ref is not None:
            use_published_reference(cfg, ref)
    from modelverify.progress import accuracy_progress

    with accuracy_progress(lambda m: click.echo(m, err=True)) as progress:
        res = run_accuracy(
            base_url,
            served,
            run_dir.file("accuracy.jsonl"),
            api_key=key,
            config=cfg,
            progress=progress,
        )
    _emit(res.model_dump_json(indent=2), run_dir.path, "accuracy", res.status.value)


@accuracy.command()
@click.argument("file", type=click.File("r", encoding="utf-8"))
def grade(file: TextIO) -> None:
    """Grade JSONL lines with `completion` and `reference`; adds `extracted` and `correct`."""
    from modelverify.accuracy.scoring import grade_lines

    n = k = missing = 0
    for _, rec in grade_lines(file):
        click.echo(json.dumps(rec, ensure_ascii=False))
        n += 1
        k += bool(rec["correct"])
        missing += rec["extracted"] is None
    click.echo(
        f"graded {n} lines: {k} correct ({k / max(n, 1):.2%}), {missing} without an answer",
        err=True,
    )


COMMANDS = [env, compat, api, perf, accuracy]
