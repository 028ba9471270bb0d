"""One line that says why the engine failed, from its log.

Uses the diagnosis rules when they are available and otherwise the last exception line.
"""

from __future__ import annotations

import re
from pathlib import Path

_EXC = re.compile(r"^\s*(?:\(\w[\w-]* pid=\d+\)\s*)?(?:[\w.]+(?:Error|Exception|Exit)\b.*)$")


def root_cause_line(text: str) -> str | None:
    """The last line that looks like a raised exception, skipping wrappers vLLM adds after it."""
    wrappers = ("EOFError", "Engine core initialization failed", "KeyboardInterrupt")
    found: str | None = None
    for line in text.splitlines():
        s = line.strip()
        if _EXC.match(s) and not any(w in s for w in wrappers):
            found = s
    return found


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
