"""The ``modelverify`` command: a click group; each command lives in its own module."""

from __future__ import annotations

import errno
import signal
import sys
from pathlib import Path
from types import FrameType

import click

from modelverify import __version__, events
from modelverify.errors import ModelVerifyError


class Terminated(BaseException):
    """SIGTERM, turned into an exception so every ``finally`` (engine shutdown) still runs."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="modelverify")
def cli() -> None:
    """Prove, with evidence, that a model is fully adapted to a serving stack."""


def _register() -> None:
    from modelverify.cli import agents, align, parse, report, run, stages

    cli.add_command(run.run)
    cli.add_command(run.serve)
    for cmd in stages.COMMANDS:
        cli.add_command(cmd)
    cli.add_command(align.align)
    cli.add_command(parse.parse)
    cli.add_command(report.report)
    cli.add_command(report.schema)
    cli.add_command(report.compare)
    cli.add_command(agents.skill)
    cli.add_command(agents.summary)


def _disk_full_message(exc: OSError, argv: list[str] | None) -> str:
    """What to do after a full disk: `run` resumes its run directory; other commands rerun."""
    args = sys.argv[1:] if argv is None else argv
    where = f" while writing {exc.filename}" if exc.filename else ""
    if args[:1] == ["run"]:
        run_dir = Path(exc.filename).parent if exc.filename else None
        target = str(run_dir) if run_dir is not None else "RUN_DIR"
        return (
            f"disk full{where}: free some space, then continue with "
            f"`modelverify run --resume {target}` (finished results are kept)"
        )
    return (
        f"disk full{where}: free some space, then run the command again (what was written "
        "before the disk filled is kept)"
    )


def main(argv: list[str] | None = None) -> None:
    _register()
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        cli.main(args=argv, prog_name="modelverify", standalone_mode=False)
    except ModelVerifyError as exc:
        click.echo(f"error: {exc}", err=True)
        events.run_ended("error", 1, message=str(exc))
        sys.exit(1)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        click.echo(f"error: {_disk_full_message(exc, argv)}", err=True)
        events.run_ended("error", 1, message=_disk_full_message(exc, argv))
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        events.run_ended("killed", 130, "SIGINT")
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("interrupted: finished stage results are kept in the run directory", err=True)
        events.run_ended("killed", 130, "SIGINT")
        sys.exit(130)
    except Terminated:
        click.echo("terminated: finished stage results are kept in the run directory", err=True)
        events.run_ended("killed", 143, "SIGTERM")
        sys.exit(143)


__all__ = ["cli", "main"]
