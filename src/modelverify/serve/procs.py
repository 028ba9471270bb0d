"""Process-tree helpers on Linux ``/proc``: find an engine's descendants, size them, stop them.

vLLM V1 starts an ``EngineCore`` child and, on CPU, worker children; some of them may leave the
parent's process group. Stopping the group alone can leak them, so we walk the tree by parent pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

PROC = Path("/proc")


def _stat_fields() -> dict[int, list[str]]:
    """pid -> the fields of /proc/PID/stat after the command name (state, ppid, pgrp, session…)."""
    out: dict[int, list[str]] = {}
    for entry in PROC.iterdir() if PROC.exists() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces or ')'; fields follow the last ')'.
        rest = stat[stat.rfind(")") + 2 :].split()
        if len(rest) >= 4:
            out[int(entry.name)] = rest
    return out


def _ppid_map() -> dict[int, int]:
    return {pid: int(f[1]) for pid, f in _stat_fields().items()}


def session_members(sid: int) -> list[int]:
    """Living processes of session ``sid`` (the engine is started as a session leader).

    An ``EngineCore`` whose parent died is re-parented to init and drops out of the parent's
    tree, but it keeps the session: this is how an orphan is still found.
    """
    return sorted(pid for pid, f in _stat_fields().items() if int(f[3]) == sid and f[0] != "Z")


def descendants(pid: int) -> list[int]:
    """All living descendants of ``pid`` (children first, breadth-first)."""
    children: dict[int, list[int]] = {}
    for child, parent in _ppid_map().items():
        children.setdefault(parent, []).append(child)
    out: list[int] = []
    queue = [pid]
    while queue:
        for c in children.get(queue.pop(0), []):
            out.append(c)
            queue.append(c)
    return out


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); it holds no memory and is only waiting to be reaped.
    try:
        state = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def process_name(pid: int) -> str:
    try:
        return (PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return ""


def rss_bytes(pid: int) -> int:
    """Resident set size of one process in bytes (0 if it is gone)."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def tree_rss(pid: int) -> dict[int, int]:
    """RSS in bytes of ``pid`` and each descendant."""
    return {p: rss_bytes(p) for p in [pid, *descendants(pid)]}


def _signal(pids: list[int], sig: int) -> None:
    for p in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(p, sig)


def stop_tree(pid: int, pgid: int | None, grace_s: float = 15.0) -> list[int]:
    """SIGTERM the group and every descendant, wait, then SIGKILL what is left.

    Returns the pids that were still alive after SIGKILL (should be empty).
    """

    def current() -> list[int]:
        # the tree, and (the engine leads its own session) orphans that left it
        return [pid, *descendants(pid), *(session_members(pgid) if pgid is not None else [])]

    targets = current()
    if pgid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
    _signal(targets, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        # Children can be spawned during shutdown; keep the list current.
        targets = list({*targets, *current()})
        if not any(alive(p) for p in targets):
            return []
        time.sleep(0.1)
    targets = list({*targets, *current()})
    if pgid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    _signal(targets, signal.SIGKILL)
    time.sleep(0.2)
    return [p for p in targets if alive(p)]


__all__ = [
    "alive",
    "descendants",
    "process_name",
    "rss_bytes",
    "session_members",
    "stop_tree",
    "tree_rss",
]
