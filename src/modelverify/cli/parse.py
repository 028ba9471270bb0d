"""``modelverify parse``: read recorded npu-smi, nvidia-smi or vLLM log text into JSON."""

from __future__ import annotations

import json
import sys

import click


def _read(file: str) -> str:
    if file == "-":
        return sys.stdin.read()
    with open(file, encoding="utf-8", errors="replace", newline="") as f:
        return f.read()


@click.group()
def parse() -> None:
    """Parse text recorded on machines you can't run on; prints JSON."""


@parse.command("npu-smi")
@click.argument("file")
def npu_smi(file: str) -> None:
    """`npu-smi info` output (FILE or - for stdin)."""
    from modelverify.env.npu_smi import parse_npu_smi

    click.echo(
        json.dumps(parse_npu_smi(_read(file)).model_dump(mode="json"), indent=2, ensure_ascii=False)
    )


@parse.command("nvidia-smi")
@click.argument("file")
def nvidia_smi(file: str) -> None:
    """`nvidia-smi` table output (FILE or - for stdin)."""
    from modelverify.env.nvidia_smi import parse_nvidia_smi

    click.echo(
        json.dumps(
            parse_nvidia_smi(_read(file)).model_dump(mode="json"), indent=2, ensure_ascii=False
        )
    )


@parse.command("vllm-log")
@click.argument("file")
def vllm_log(file: str) -> None:
    """A `vllm serve` start-up log (FILE or - for stdin)."""
    from modelverify.serve.logparse import parse_vllm_log

    click.echo(
        json.dumps(
            parse_vllm_log(_read(file)).model_dump(mode="json"), indent=2, ensure_ascii=False
        )
    )
