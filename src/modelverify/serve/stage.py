"""The serve stage: what was launched (or attached to), how start-up went, what it holds."""

from __future__ import annotations

from typing import Any

from modelverify.results import Model, StageResult
from modelverify.serve import procs


class ProcessMemory(Model):
    pid: int
    name: str
    rss_bytes: int


class ServeResult(StageResult):
    stage: str = "serve"
    mode: str = "launch"  # or "attach"
    command: list[str] = []
    base_url: str = ""
    served_model: str = ""
    host_warning: str | None = None
    ready_after_s: float | None = None
    fell_back_to_module: bool = False
    env: dict[str, str] = {}
    log_path: str | None = None
    log_facts: dict[str, Any] | None = None
    diagnosis: dict[str, Any] | None = None
    memory: list[ProcessMemory] = []
    memory_total_bytes: int | None = None


def tree_memory(pid: int) -> list[ProcessMemory]:
    return [
        ProcessMemory(pid=p, name=procs.process_name(p), rss_bytes=rss)
        for p, rss in procs.tree_rss(pid).items()
    ]


def parse_log_facts(text: str) -> dict[str, Any] | None:
    """The start-up log parsed into facts, when the parser is available."""
    try:
        from modelverify.serve.logparse import parse_vllm_log
    except ImportError:
        return None
    facts: dict[str, Any] = parse_vllm_log(text).model_dump(mode="json")
    return facts


__all__ = ["ProcessMemory", "ServeResult", "parse_log_facts", "tree_memory"]
