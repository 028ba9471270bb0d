"""One line that says why the engine failed, from its log.

Uses the diagnosis rules when they are available and otherwise the last exception line.
"""

from __future__ import annotations

from pathlib import Path


def root_cause_line(text: str) -> str | None:
    from modelverify.serve.logparse import root_cause_line as find

    return find(text)


def explain_failure(log_path: Path) -> str:
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "no log was written"
    try:
        from modelverify.serve.diagnose import diagnose

        diag = diagnose(text)
        if diag is not None:
            return str(diag.one_line())
    except Exception:
        pass
    return root_cause_line(text) or "no exception in the log"


__all__ = ["explain_failure", "root_cause_line"]
