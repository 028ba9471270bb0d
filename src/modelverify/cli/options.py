"""Options shared by several commands."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from modelverify.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


def api_key_options(fn: F) -> F:
    fn = click.option(
        "--api-key-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Read the API key from this file.",
    )(fn)
    fn = click.option(
        "--api-key",
        envvar="VLLM_API_KEY",
        default=None,
        help="API key (or $VLLM_API_KEY); redacted from every output.",
    )(fn)
    return fn


def launch_options(fn: F) -> F:
    """How to start the engine: its interpreter and how long to wait for it."""
    fn = click.option(
        "--startup-timeout",
        type=float,
        default=600.0,
        show_default=True,
        help="Seconds to wait for the engine.",
    )(fn)
    fn = click.option(
        "--engine-python",
        help="Python of the engine's environment (default: this one or `vllm` on PATH).",
    )(fn)
    return fn


baseline_threshold_option = click.option(
    "--baseline-threshold",
    type=click.FloatRange(min=0),
    default=None,
    help="With --baseline: the regression threshold in % (default 25), passed with 95% "
    "confidence; two identical launches on a busy 2-core CPU host drifted up to 33%.",
)


def stream_timeout_options(fn: F) -> F:
    """A measured stream's limits, one per phase; a request past one is a failed sample."""
    for flag, default, what in (
        ("--chunk-timeout", 120.0, "between two chunks once the answer has begun"),
        ("--first-byte-timeout", 300.0, "from a request sent to its first byte"),
        ("--connect-timeout", 10.0, "to connect"),
    ):
        fn = click.option(
            flag,
            type=click.FloatRange(min=0, min_open=True),
            default=default,
            show_default=True,
            help=f"Perf: seconds allowed {what}.",
        )(fn)
    return fn


def stream_timeouts(connect: float, first_byte: float, chunk: float) -> dict[str, float]:
    """The timeout flags as PerfConfig fields."""
    return {
        "connect_timeout_s": connect,
        "first_byte_timeout_s": first_byte,
        "read_timeout_s": chunk,
    }


def resolve_api_key(api_key: str | None, api_key_file: Path | None) -> str | None:
    if api_key and api_key_file:
        raise ConfigError("give --api-key or --api-key-file, not both")
    if api_key_file:
        try:
            return api_key_file.read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise ConfigError(f"cannot read --api-key-file {api_key_file}: {exc.strerror}") from exc
    return api_key or os.environ.get("VLLM_API_KEY") or None


def tolerance_option(fn: F) -> F:
    return click.option(
        "--tolerance",
        type=float,
        default=0.0,
        show_default=True,
        help="Smallest accuracy drop (percentage points) that counts as a defect when the "
        "drop is also significant (default 0: vLLM's 8 points on a subset, TensorRT-LLM's 3.2 "
        "on the full set).",
    )(fn)


REFERENCE_HELP = (
    "Like-for-like GSM8K reference to judge against: a score (0.62 or 62%), a score with its "
    "n (0.62/1319), or a previous run directory whose accuracy.json is read. Without one (and "
    "no published score with our protocol) accuracy is not judged."
)


def reference_option(fn: F) -> F:
    return click.option("--reference-accuracy", default=None, help=REFERENCE_HELP)(fn)


def reference_fields(text: str | None) -> dict[str, object]:
    """The accuracy config's reference fields from ``--reference-accuracy``."""
    if text is None:
        return {"reference_accuracy": None, "reference_n": None}
    from modelverify.accuracy.judge import parse_reference

    ref = parse_reference(text)
    return {"reference_accuracy": ref.accuracy, "reference_n": ref.n}


def check_tolerance(points: float) -> None:
    if not 0 <= points < 100:
        raise ConfigError(f"--tolerance {points:g}: give percentage points from 0 to 100, e.g. 2")


def served_model(base_url: str, model: str | None, api_key: str | None) -> str:
    from modelverify.run import _served_model

    if model:
        return model
    found = _served_model(base_url, api_key)
    if found is None:
        raise ConfigError(f"{base_url} lists no model: pass --model NAME")
    return found


__all__ = [
    "api_key_options",
    "check_tolerance",
    "resolve_api_key",
    "served_model",
    "stream_timeout_options",
    "stream_timeouts",
    "tolerance_option",
]
