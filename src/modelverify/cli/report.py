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
def schema() -> None:
    """Print the JSON Schema of results.json (generated from the result models)."""
    from modelverify.report.schema import schema_text

    click.echo(schema_text(), nl=False)
