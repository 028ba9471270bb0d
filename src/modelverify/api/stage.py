"""The api stage: run the conformance checks against a served model."""

from __future__ import annotations

import asyncio
import re
import time

from modelverify.api.checks import CheckContext, CheckResult, run_checks
from modelverify.client import OpenAIClient, make_timeout
from modelverify.degenerate import DegenerateSummary
from modelverify.degenerate import summarise as measure_degenerate
from modelverify.results import StageResult, Status

_TRIMMED = re.compile(r"… \(\+\d+ chars\)$")


def seen_answers(checks: list[CheckResult]) -> list[tuple[str | None, str | None]]:
    """(text, finish_reason) of the first choice of every successful non-streamed reply the
    checks kept as evidence (a trimmed text loses only its tail)."""
    out: list[tuple[str | None, str | None]] = []
    for c in checks:
        for ev in c.evidence:
            body = ev.response
            if ev.status_code != 200 or not isinstance(body, dict):
                continue
            choices = body.get("choices")
            if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
                continue
            ch = choices[0]
            msg = ch.get("message")
            text = msg.get("content") if isinstance(msg, dict) else ch.get("text")
            if isinstance(text, str):
                fin = ch.get("finish_reason")
                out.append((_TRIMMED.sub("", text), fin if isinstance(fin, str) else None))
    return out


class ApiResult(StageResult):
    stage: str = "api"
    base_url: str = ""
    model: str = ""
    checks: list[CheckResult] = []
    retried_requests: int = 0  # health/seed requests re-sent after 429 / 5xx / transport errors
    # the answers shown in the checks' evidence (first choice of each 200 reply)
    degenerate: DegenerateSummary = DegenerateSummary()

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Status}
        for c in self.checks:
            out[c.status.value] += 1
        return out


def summarise(checks: list[CheckResult]) -> tuple[Status, str]:
    """The stage's status (the worst check) and a reason that counts every outcome."""
    fails = [c for c in checks if c.status == Status.FAIL]
    warns = [c for c in checks if c.status == Status.WARN]
    count = {s: sum(1 for c in checks if c.status == s) for s in Status}
    tally = f"{count[Status.PASS]} of {len(checks)} checks passed" + "".join(
        f", {count[s]} {label}"
        for s, label in (
            (Status.NOT_JUDGED, "not judged"),
            (Status.SKIPPED, "skipped"),
            (Status.WARN, "warned"),
            (Status.FAIL, "failed"),
        )
        if count[s]
    )
    if fails:
        return Status.FAIL, f"{tally}: " + "; ".join(f"{c.id}: {c.reason}" for c in fails)
    if warns:
        return Status.WARN, f"{tally}: " + "; ".join(f"{c.id}: {c.reason}" for c in warns)
    if count[Status.SKIPPED]:
        # a check that could not run leaves the API short of fully verified
        skipped = [c for c in checks if c.status == Status.SKIPPED]
        return Status.WARN, f"{tally}: " + "; ".join(f"{c.id}: {c.reason}" for c in skipped)
    if count[Status.PASS] == len(checks):
        return Status.PASS, f"all {len(checks)} checks passed"
    noted = [c for c in checks if c.status == Status.NOT_JUDGED]
    return Status.PASS, f"{tally} (ℹ️ " + "; ".join(f"{c.id}: {c.reason}" for c in noted) + ")"


async def _run(
    base_url: str, model: str, api_key: str | None, expected_mml: int | None
) -> ApiResult:
    async with OpenAIClient(
        base_url, api_key=api_key, timeout=make_timeout(120, read=60)
    ) as client:
        ctx = CheckContext(client=client, model=model, expected_max_model_len=expected_mml)
        checks = await run_checks(ctx)
    status, reason = summarise(checks)
    deg = measure_degenerate(seen_answers(checks))
    deg_status, deg_reason = deg.judge()
    if deg_status == Status.FAIL:
        # answers that are empty or one repeated token: broken, whatever the protocol says
        status, reason = Status.FAIL, f"{deg_reason}; {reason}"
    return ApiResult(
        degenerate=deg,
        base_url=base_url,
        model=model,
        checks=checks,
        retried_requests=client.retried,
        status=status,
        reason=reason,
    )


def run_api(
    base_url: str,
    model: str,
    *,
    api_key: str | None = None,
    expected_max_model_len: int | None = None,
) -> ApiResult:
    t0 = time.monotonic()
    res = asyncio.run(_run(base_url, model, api_key, expected_max_model_len))
    res.duration_s = time.monotonic() - t0
    return res


__all__ = ["ApiResult", "run_api"]
