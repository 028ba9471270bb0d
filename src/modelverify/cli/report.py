"""``modelverify report RUN_DIR``: re-render the report from a run directory alone."""

from __future__ import annotations

from pathlib import Path

import click

from modelverify.errors import ConfigError
from modelverify.rundir import RunDir


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
def report(run_dir: Path, lang: str) -> None:
    """Write results.json and report.md from the stage files in RUN_DIR."""
    from modelverify.report.markdown import write_reports

    if not (run_dir / "run.json").is_file():
        raise ConfigError(f"{run_dir} is not a modelverify run directory (no run.json)")
    click.echo(str(write_reports(RunDir(run_dir), lang=lang)))


@click.command()
@click.option("--events", "which", flag_value="events", help="The --events stream's instead.")
@click.option("--summary", "which", flag_value="summary", help="`summary --json`'s instead.")
def schema(which: str | None) -> None:
    """Print the JSON Schema of results.json (generated from the result models)."""
    if which == "events":
        from modelverify.events import events_schema_text as text
    elif which == "summary":
        from modelverify.summary import summary_schema_text as text
    else:
        from modelverify.report.schema import schema_text as text
    click.echo(text(), nl=False)


@click.command()
@click.argument("run_a", type=click.Path(file_okay=False, path_type=Path))
@click.argument("run_b", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--threshold",
    "threshold_pct",
    type=float,
    default=25.0,
    show_default=True,
    help="Smallest latency/throughput change (%) that counts as a regression (25 absorbs the "
    "drift between two launches on a shared CPU host; tighten it on dedicated devices).",
)
@click.option(
    "--accuracy-threshold",
    type=float,
    default=2.0,
    show_default=True,
    help="Smallest accuracy drop (points) that counts as a regression.",
)
@click.option("--alpha", type=float, default=0.05, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare(
    run_a: Path,
    run_b: Path,
    threshold_pct: float,
    accuracy_threshold: float,
    alpha: float,
    as_json: bool,
) -> None:
    """Compare RUN_B against RUN_A; exit 3 on a significant regression beyond the thresholds."""
    from modelverify.report.compare import compare_runs, render_comparison

    if not 0 < alpha < 1:
        raise ConfigError("--alpha must be between 0 and 1")
    res = compare_runs(
        run_a,
        run_b,
        threshold_pct=threshold_pct,
        accuracy_threshold_pts=accuracy_threshold,
        alpha=alpha,
    )
    click.echo(res.model_dump_json(indent=2) if as_json else render_comparison(res))
    if res.regressions:
        raise SystemExit(3)
