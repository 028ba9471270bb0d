"""The api stage: run the conformance checks against a served model."""

from __future__ import annotations

import asyncio
import time

from modelverify.api.checks import CheckContext, CheckResult, run_checks
from modelverify.client import OpenAIClient, make_timeout
from modelverify.results import StageResult, Status


class ApiResult(StageResult):
    stage: str = "api"
    base_url: str = ""
    model: str = ""
    checks: list[CheckResult] = []
    retried_requests: int = 0  # health/seed requests re-sent after 429 / 5xx / transport errors

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Status}
        for c in self.checks:
            out[c.status.value] += 1
        return out


def summarise(checks: list[CheckResult]) -> tuple[Status, str]:
    fails = [c for c in checks if c.status == Status.FAIL]
    warns = [c for c in checks if c.status == Status.WARN]
    if fails:
        return Status.FAIL, "; ".join(f"{c.id}: {c.reason}" for c in fails)
    if warns:
        return Status.WARN, "; ".join(f"{c.id}: {c.reason}" for c in warns)
    return Status.PASS, f"all {len(checks)} checks passed"


async def _run(
    base_url: str, model: str, api_key: str | None, expected_mml: int | None
) -> ApiResult:
    async with OpenAIClient(
        base_url, api_key=api_key, timeout=make_timeout(120, read=60)
    ) as client:
        ctx = CheckContext(client=client, model=model, expected_max_model_len=expected_mml)
        checks = await run_checks(ctx)
    status, reason = summarise(checks)
    return ApiResult(
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
