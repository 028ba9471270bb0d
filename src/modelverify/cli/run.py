"""``modelverify run``: every stage against one model, one run directory, one report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from modelverify import events
from modelverify.cli.options import (
    F,
    api_key_options,
    baseline_threshold_option,
    check_tolerance,
    launch_options,
    reference_fields,
    reference_option,
    resolve_api_key,
    stream_timeout_options,
    stream_timeouts,
    tolerance_option,
)
from modelverify.errors import ConfigError
from modelverify.run import STAGES, RunOptions, RunOutcome, execute


def events_option(fn: F) -> F:
    return click.option(
        "--events",
        "events_to",
        metavar="FILE|-",
        help="Write the run as JSON lines as it goes (- for stdout; schema: "
        "`modelverify schema --events`).",
    )(fn)


def parse_levels(text: str | None) -> list[int]:
    """``"1,2,4,8"`` -> [1, 2, 4, 8]; a one-line error otherwise."""
    if not text:
        return []
    try:
        levels = [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise ConfigError(f"--sweep {text!r}: give concurrency levels like 1,2,4,8") from exc
    if not levels or any(c < 1 for c in levels):
        raise ConfigError(f"--sweep {text!r}: levels must be positive integers, e.g. 1,2,4,8")
    return sorted(set(levels))


def perf_options(
    slo: str | None,
    attainment: float,
    baseline: Path | None,
    baseline_threshold: float | None = None,
) -> dict[str, Any]:
    """Perf settings from the command line, checked before anything is launched."""
    from modelverify.perf.slo import parse_slo

    if not 0 < attainment <= 1:
        raise ConfigError("--slo-attainment must be in (0, 1], e.g. 0.9")
    out: dict[str, Any] = {}
    if slo:
        out["slo"] = parse_slo(slo)
        out["slo_attainment"] = attainment
    if baseline is not None:
        if not (baseline / "perf_requests.jsonl").is_file():
            raise ConfigError(
                f"--baseline {baseline} has no perf_requests.jsonl: pass a run "
                "directory whose perf stage ran"
            )
        out["baseline"] = str(baseline.resolve())
        if baseline_threshold is not None:
            out["baseline_threshold_pct"] = baseline_threshold
    elif baseline_threshold is not None:
        raise ConfigError("--baseline-threshold goes with --baseline RUN_DIR: add it, or drop it")
    return out


@click.command(context_settings={"ignore_unknown_options": False})
@click.argument("model", required=False, default="demo")
@click.argument("engine_args", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "--stages", default=",".join(STAGES), show_default=True, help="Comma-separated subset to run."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run directory (default: runs/<time>-<model>).",
)
@click.option(
    "--base-url", help="Attach to a running OpenAI-compatible server instead of launching one."
)
@click.option(
    "--served-model-name", help="Model id to use in requests (default: the first in /v1/models)."
)
@api_key_options
@launch_options
@click.option("--limit", type=int, default=None, help="GSM8K items (default: all 1319).")
@click.option(
    "--eval-api",
    type=click.Choice(["auto", "chat", "completions"]),
    default="auto",
    show_default=True,
    help="GSM8K through /v1/chat/completions or plain-text /v1/completions; auto: chat unless "
    "the model has no chat template.",
)
@click.option(
    "--dataset",
    type=click.Path(dir_okay=False),
    help="A GSM8K-style JSONL instead of the bundled test split, or a hub dataset as "
    "hf:REPO[:CONFIG][@SPLIT], e.g. hf:openai/gsm8k:main@test (needs `datasets`).",
)
@click.option(
    "--eval-concurrency",
    type=int,
    default=None,
    help="GSM8K requests in flight (default: what the served engine holds at once, from its "
    "start-up log and --max-num-seqs, at most 64; else the perf stage's 10).",
)
@click.option(
    "--temperature", type=float, default=0.6, show_default=True, help="GSM8K sampling temperature."
)
@click.option("--top-p", type=float, default=0.95, show_default=True)
@click.option(
    "--max-tokens", type=int, default=512, show_default=True, help="GSM8K max output tokens."
)
@click.option("--seed", type=int, default=None)
@reference_option
@tolerance_option
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option(
    "--slo",
    help="Performance objectives per request, e.g. ttft_ms=500,tpot_ms=50,e2el_ms=3000 "
    "(perf passes when --slo-attainment of requests meet all of them; goodput is reported).",
)
@click.option("--slo-attainment", type=float, default=0.9, show_default=True)
@click.option(
    "--sweep", help="Also run a concurrency sweep, e.g. 1,2,4,8 (throughput–latency curve)."
)
@click.option(
    "--eval-load",
    type=click.IntRange(min=0),
    help="Perf also times this many of GSM8K's own requests at the eval's concurrency, the "
    "like-for-like reference for the eval's throughput (target: the eval reaches 90% of it). "
    "Default: 2 × the eval's concurrency when the eval asks at least ten times that many "
    "items, else 0 (off).",
)
@click.option(
    "--baseline",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="An earlier run directory: perf fails on a significant regression against it.",
)
@baseline_threshold_option
@click.option(
    "--support-matrix",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A newer vLLM-Ascend supported_models.md than the packaged copy.",
)
@click.option(
    "--server-log",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="With --base-url: the running server's start-up log, read into the service section "
    "(configuration, topology, KV cache per worker).",
)
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Continue an interrupted run directory: finished stages are kept, GSM8K resumes per item.",
)
@stream_timeout_options
@events_option
def run(
    model: str,
    engine_args: tuple[str, ...],
    stages: str,
    out: Path | None,
    base_url: str | None,
    served_model_name: str | None,
    api_key: str | None,
    api_key_file: Path | None,
    engine_python: str | None,
    startup_timeout: float,
    limit: int | None,
    eval_api: str,
    dataset: str | None,
    eval_concurrency: int,
    temperature: float,
    top_p: float,
    max_tokens: int,
    seed: int | None,
    reference_accuracy: str | None,
    tolerance: float,
    lang: str,
    slo: str | None,
    slo_attainment: float,
    sweep: str | None,
    eval_load: int | None,
    baseline: Path | None,
    baseline_threshold: float | None,
    support_matrix: Path | None,
    server_log: Path | None,
    resume_dir: Path | None,
    connect_timeout: float,
    first_byte_timeout: float,
    chunk_timeout: float,
    events_to: str | None,
) -> None:
    """Verify MODEL (a folder, a hub id, or 'demo') end to end; flags after `--` go to vLLM.

    Example: modelverify run /models/Qwen3-8B -- --max-model-len 8192 --dtype bfloat16
    """
    if events_to:
        events.open_stream(events_to)
    if resume_dir is not None:
        from modelverify.run import options_for_resume

        key = resolve_api_key(api_key, api_key_file)
        _finish(execute(options_for_resume(resume_dir, key, ["modelverify", *sys.argv[1:]])))
        return
    if model.startswith("-"):
        # `modelverify run -- --flag ...`: no model given, the flags are the engine's.
        engine_args, model = (model, *engine_args), "demo"
    chosen = tuple(s.strip() for s in stages.split(",") if s.strip())
    unknown = [s for s in chosen if s not in STAGES]
    if unknown:
        raise ConfigError(f"unknown stage(s) {', '.join(unknown)}: choose from {', '.join(STAGES)}")
    if base_url and engine_args:
        raise ConfigError(
            "engine flags after `--` need a launched engine: drop them or drop --base-url"
        )
    if server_log and not base_url:
        raise ConfigError(
            "--server-log is the log of a server you attach to: add --base-url, or drop it "
            "(a launched engine's log is read anyway)"
        )
    if limit is not None and limit < 1:
        raise ConfigError("--limit must be at least 1")
    if eval_concurrency is not None and eval_concurrency < 1:
        raise ConfigError("--eval-concurrency must be at least 1 (or leave it out to size it)")
    check_tolerance(tolerance)
    outcome = execute(
        RunOptions(
            model=model,
            engine_args=list(engine_args),
            stages=chosen,
            out=out,
            base_url=base_url,
            served_model_name=served_model_name,
            api_key=resolve_api_key(api_key, api_key_file),
            engine_python=engine_python,
            startup_timeout_s=startup_timeout,
            support_matrix=str(support_matrix) if support_matrix else None,
            server_log=str(server_log) if server_log else None,
            perf={
                **perf_options(slo, slo_attainment, baseline, baseline_threshold),
                **stream_timeouts(connect_timeout, first_byte_timeout, chunk_timeout),
                "sweep": parse_levels(sweep),
                "eval_load": eval_load,
            },
            accuracy={
                "limit": limit,
                "dataset": dataset,
                "api": eval_api,
                "concurrency": eval_concurrency,
                "temperature": temperature,
                "top_p": top_p,
                "max_tokens": max_tokens,
                "seed": seed,
                **reference_fields(reference_accuracy),
                "tolerance": tolerance / 100,
            },
            lang=lang,
            argv=["modelverify", *sys.argv[1:]],
        )
    )
    _finish(outcome)


def _finish(outcome: RunOutcome) -> None:
    """Print where the report is and exit with the verdict's code (0 / 1 / 2)."""
    import json

    from modelverify.report.verdict import EXIT_CODES, overall_verdict, required_stages

    err = events.on_stdout()  # stdout carries the event stream: these lines go to stderr
    if outcome.report_path is not None:
        results = json.loads(outcome.run_dir.file("results.json").read_text(encoding="utf-8"))
        verdict, reasons = results["verdict"]["overall"], results["verdict"].get("reasons", [])
        click.echo(f"report: {outcome.report_path}", err=err)
    else:
        stages = {k: v.model_dump(mode="json") for k, v in outcome.results.items()}
        run_json = outcome.run_dir.file("run.json")
        run = json.loads(run_json.read_text(encoding="utf-8")) if run_json.exists() else None
        verdict, reasons = overall_verdict(stages, required_stages(run, stages))
    words = {"full": "fully adapted", "partial": "partially adapted", "none": "not adapted"}
    word = words.get(verdict, "could not judge")
    click.echo(f"verdict: {verdict} ({word}); run directory: {outcome.run_dir.path}", err=err)
    failed_start = startup_failure(outcome)
    code = 1 if failed_start is not None else EXIT_CODES.get(verdict, 1)
    events.verdict(
        verdict,
        list(reasons),
        code,
        report_files(outcome.run_dir.path),
        error=f"the engine did not start: {failed_start}" if failed_start else None,
    )
    events.run_ended("finished", code)
    if failed_start is not None:
        # nothing about the model was judged: like bad input, the fix is in the launch settings
        click.echo(f"error: the engine did not start: {failed_start}", err=True)
    sys.exit(code)


def report_files(run_dir: Path) -> list[str]:
    names = ("report.md", "report.en.md", "report.html", "results.json")
    return [str(run_dir / n) for n in names if (run_dir / n).is_file()]


def startup_failure(outcome: RunOutcome) -> str | None:
    """The diagnosis line when this run launched an engine that never became ready."""
    res = outcome.results.get("serve")
    if (
        res is None
        or res.status.value != "fail"
        or getattr(res, "mode", None) != "launch"
        or getattr(res, "ready_after_s", None) is not None
    ):
        return None
    from modelverify.serve.diagnose import Diagnosis

    diag = getattr(res, "diagnosis", None)
    return Diagnosis(**diag).one_line() if diag else res.reason


@click.command()
@click.argument("model", required=False, default="demo")
@click.argument("engine_args", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run directory (default: runs/<time>-<model>).",
)
@api_key_options
@launch_options
@events_option
def serve(
    model: str,
    engine_args: tuple[str, ...],
    out: Path | None,
    api_key: str | None,
    api_key_file: Path | None,
    engine_python: str | None,
    startup_timeout: float,
    events_to: str | None,
) -> None:
    """The serve stage alone: launch `vllm serve` for MODEL, wait until it is ready, read its
    start-up log and memory into serve.json, stop every engine process; flags after `--` go
    to vLLM. Exit 0 when it served, 1 on a warning, bad input or an engine that did not start
    (the diagnosis says what to change), 2 when it started and then failed.

    Example: modelverify serve /models/Qwen3-8B -- --max-model-len 8192
    """
    if events_to:
        events.open_stream(events_to)
    if model.startswith("-"):
        engine_args, model = (model, *engine_args), "demo"
    outcome = execute(
        RunOptions(
            model=model,
            engine_args=list(engine_args),
            stages=("serve",),
            out=out,
            api_key=resolve_api_key(api_key, api_key_file),
            engine_python=engine_python,
            startup_timeout_s=startup_timeout,
            argv=["modelverify", *sys.argv[1:]],
        )
    )
    # one stage: its own status is the verdict (run's would count the others as skipped)
    res = outcome.results.get("serve")
    status = res.status.value if res is not None else "fail"
    err = events.on_stdout()
    click.echo(f"serve: {status}; run directory: {outcome.run_dir.path}", err=err)
    failed_start = startup_failure(outcome)
    if failed_start is not None:
        click.echo(f"error: the engine did not start: {failed_start}", err=True)
    from modelverify.report.verdict import STAGE_EXIT_CODES

    code = 1 if failed_start else STAGE_EXIT_CODES.get(status, 2)
    events.run_ended("finished", code)
    sys.exit(code)
