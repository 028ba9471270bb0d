"""Commands for agents and pipelines: ``modelverify skill`` and ``modelverify summary``."""

from __future__ import annotations

from pathlib import Path

import click

SKILL = Path(__file__).resolve().parents[1] / "skills" / "modelverify" / "SKILL.md"


@click.command()
@click.option("--path", "show_path", is_flag=True, help="Print where SKILL.md is instead.")
def skill(show_path: bool) -> None:
    """Print the agent skill file (copy it into an agent's skills folder as modelverify/SKILL.md)."""
    click.echo(str(SKILL) if show_path else SKILL.read_text(encoding="utf-8"), nl=show_path)


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--json", "as_json", is_flag=True, help="Print it as JSON (schema: docs/summary.schema.json)."
)
def summary(run_dir: Path, as_json: bool) -> None:
    """The verdict of RUN_DIR, what failed and where to look, and the next command to run."""
    from modelverify.summary import render, summarise

    s = summarise(run_dir)
    click.echo(s.model_dump_json(indent=2) if as_json else render(s))
