"""Why the engine failed to start, from its log: the diagnosis rules, else the root-cause line."""

from __future__ import annotations

from pathlib import Path

from modelverify.serve.diagnose import Diagnosis, diagnose


def diagnose_log(log_path: Path) -> Diagnosis | None:
    """The diagnosis of a start-up log on disk; None when there is no log or no failure in it."""
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return diagnose(text)


def failure_of(log_path: Path) -> tuple[str, Diagnosis | None]:
    """The one-line explanation and the diagnosis behind it, from one read of the log."""
    diag = diagnose_log(log_path)
    if diag is not None:
        return diag.one_line(), diag
    return ("no exception in the log" if log_path.exists() else "no log was written"), None


def explain_failure(log_path: Path) -> str:
    """One line: the advice of the matching rule with its root cause, or what the log lacks."""
    return failure_of(log_path)[0]


__all__ = ["diagnose_log", "explain_failure", "failure_of"]
