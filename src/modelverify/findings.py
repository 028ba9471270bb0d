"""The judgements inside a stage's JSON, read the same way for the event stream and the summary.

A finding is one check or finding of a stage that did not pass (passes are the stage's reason),
with the part of a port it points at: ``area``. The reader is total: any JSON, however odd,
gives a list (possibly empty), never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# serve's start-up diagnosis ids (serve/diagnose.py) -> the part of the port to look at
DIAGNOSIS_AREA = {
    "max_model_len_over_model_limit": "memory",
    "kv_cache_too_small": "memory",
    "no_cache_blocks": "memory",
    "cpu_kvcache_space_invalid": "memory",
    "device_oom": "memory",
    "unsupported_architecture": "model code",
    "trust_remote_code": "model code",
    "chat_template_missing": "template",
    "tokenizer_missing": "template",
    "port_in_use": "launch flags",
    "cann_not_sourced": "environment",
}
NOT_PASSED = ("warn", "fail", "skipped", "not_judged")


@dataclass(frozen=True)
class Found:
    stage: str
    id: str
    status: str
    reason: str
    area: str

    def as_event(self) -> dict[str, str]:
        return {"id": self.id, "status": self.status, "reason": self.reason, "area": self.area}


def _api_area(check_id: str) -> str:
    if check_id.startswith("chat.template"):
        return "template"
    if check_id.startswith(("determinism.", "concurrency.")):
        return "numerics"  # greedy output that changes with batching: kernels, not the API layer
    return "api server"


def _env_area(subject: str) -> str:
    if subject == "selection" or subject.startswith(("NPU ", "GPU ", "device")):
        return "device"
    return "packages"


def _compat_area(subject: str) -> str:
    if subject == "memory":
        return "memory"
    if subject == "model folder":
        return "weights"
    return "model code"  # registry, support matrix: does the stack know the architecture


def area_of(stage: str, item_id: str) -> str:
    """Which part of a port a finding of ``stage`` named ``item_id`` points at."""
    if stage == "api":
        return _api_area(item_id)
    if stage == "env":
        return _env_area(item_id)
    if stage == "compat":
        return _compat_area(item_id)
    if stage == "serve":
        return DIAGNOSIS_AREA.get(item_id, "launch flags")
    if stage == "align":
        return "template" if "template" in item_id else "weights"
    if stage == "perf":
        return "performance"
    if stage == "accuracy":
        return "accuracy"
    return stage


def _text(x: Any) -> str:
    return x if isinstance(x, str) else ("" if x is None else str(x))


def stage_findings(data: Any) -> list[Found]:
    """The not-passed checks / findings of one stage's JSON, and the stage itself when it
    failed or warned with none of its own (a dead engine, a skipped stage, a start-up failure)."""
    if not isinstance(data, dict):
        return []
    stage = _text(data.get("stage")) or "?"
    out: list[Found] = []
    for key, name in (("checks", "id"), ("findings", "subject")):
        items = data.get(key)
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            status = _text(item.get("status"))
            if status in NOT_PASSED:
                fid = _text(item.get(name) or item.get("id") or item.get("subject")) or key
                out.append(
                    Found(stage, fid, status, _text(item.get("reason")), area_of(stage, fid))
                )
    diag = data.get("diagnosis")
    if isinstance(diag, dict) and data.get("status") == "fail":
        did = _text(diag.get("id")) or "unknown"
        why = _text(diag.get("advice"))
        cause = _text(diag.get("root_cause"))
        out.append(
            Found(stage, did, "fail", f"{why}: {cause}" if cause else why, area_of(stage, did))
        )
    status = _text(data.get("status"))
    if not out and status in NOT_PASSED:
        out.append(Found(stage, stage, status, _text(data.get("reason")), area_of(stage, stage)))
    return out


__all__ = ["DIAGNOSIS_AREA", "Found", "area_of", "stage_findings"]
