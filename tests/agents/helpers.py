"""Shared by the agent-facing tests: the CLI's own parser, the event schema, command lines."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import jsonschema

ROOT = Path(__file__).resolve().parents[2]
EVENTS_SCHEMA = json.loads((ROOT / "docs" / "events.schema.json").read_text(encoding="utf-8"))


def mv(*args: str) -> list[str]:
    return [sys.executable, "-m", "modelverify", *args]


def parse_cli(argv: list[str]) -> click.Command:
    """Parse ``modelverify ARGV`` with the CLI's own click parser down to the leaf command,
    without running it; a bad option or argument raises click's usage error."""
    from modelverify.cli.main import _register, cli

    _register()
    cmd: click.Command = cli
    name = "modelverify"
    parent: click.Context | None = None
    args = list(argv)
    while True:
        try:
            ctx = cmd.make_context(name, args, parent=parent, resilient_parsing=False)
        except click.exceptions.Exit as exc:  # --help / --version: parsed, and they stop there
            assert exc.exit_code == 0
            return cmd
        if not isinstance(cmd, click.Group):
            return cmd
        rest = [*ctx._protected_args, *ctx.args]
        if not rest:
            return cmd
        name, sub, args = cmd.resolve_command(ctx, rest)
        assert sub is not None and name is not None, rest
        cmd, parent = sub, ctx


def validate_events(lines: list[str]) -> list[dict[str, Any]]:
    """Each line one event valid against docs/events.schema.json, seq 0, 1, 2… in order."""
    events = [json.loads(line) for line in lines if line.strip()]
    for i, e in enumerate(events):
        jsonschema.validate(e, EVENTS_SCHEMA)
        assert e["seq"] == i and e["v"] == 1, e
    return events


def commands_in(text: str) -> list[str]:
    """Every ``modelverify …`` command line of a text: the lines of its code blocks and its
    inline code spans, without trailing ``# comments``."""
    found: list[str] = []
    in_block = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_block = not in_block
            continue
        if in_block:
            cmd = line.split("  #", 1)[0].strip()
            if cmd.startswith("modelverify "):
                found.append(cmd)
        else:
            found += [m for m in re.findall(r"`(modelverify [^`]+)`", line)]
    return found


def split(cmd: str, values: dict[str, str]) -> list[str]:
    """A command line's words after ``modelverify``, placeholders replaced by real values."""
    for k, v in sorted(values.items(), key=lambda kv: -len(kv[0])):
        cmd = re.sub(rf"\b{re.escape(k)}\b", v, cmd)
    words = shlex.split(cmd)
    assert words[0] == "modelverify", cmd
    return words[1:]


def run(*args: str, timeout: float = 120, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(mv(*args), capture_output=True, text=True, timeout=timeout, **kw)
