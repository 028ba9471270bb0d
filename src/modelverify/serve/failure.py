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


def explain_failure(log_path: Path) -> str:
    """One line: the advice of the matching rule with its root cause, or what the log lacks."""
    if not log_path.exists():
        return "no log was written"
    diag = diagnose_log(log_path)
    return diag.one_line() if diag is not None else "no exception in the log"


__all__ = ["diagnose_log", "explain_failure"]
