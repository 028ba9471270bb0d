"""The accuracy stage: GSM8K 4-shot chain-of-thought, scored robustly, resumable per item.

Every answered item is appended to ``accuracy.jsonl`` the moment it arrives, keyed by the item
index and a hash of the prompt and sampling settings; a rerun with the same settings re-asks
nothing already answered. Transient HTTP failures are retried with backoff and never counted as
wrong answers; an item that keeps failing is reported as an error, separately.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelverify.accuracy.data import Item
from modelverify.accuracy.hub import fetch_to_run_dir, is_hub_spec
from modelverify.accuracy.prompt import (
    STOP_SEQUENCES,
    prompt_hash,
)
from modelverify.accuracy.stats import (
    sample_size_for_half_width,
    wilson_interval,
)
from modelverify.accuracy.tasks import get_task
from modelverify.client import OpenAIClient, make_timeout
from modelverify.degenerate import DegenerateSummary
from modelverify.degenerate import summarise as measure_degenerate
from modelverify.errors import EndpointError
from modelverify.results import Model, StageResult, Status
from modelverify.rundir import JsonlWriter, read_jsonl

if TYPE_CHECKING:
    from modelverify.accuracy.concurrency import PerfComparison
    from modelverify.accuracy.references import ReferenceScore

# Called after every answered item: (items done, items in total, correct so far).
Progress = Callable[[int, int, int], None]


class AccuracyConfig(Model):
    task: str = "gsm8k"  # see accuracy.tasks.TASKS
    dataset: str | None = None
    limit: int | None = None
    api: str = "chat"
    api_reason: str = ""  # why this API: the user's option, or the model's chat template
    max_tokens: int = 512
    temperature: float = 0.6
    top_p: float = 0.95
    seed: int | None = None
    concurrency: int = 8
    # why this concurrency: the user's option, or sized to the served engine
    concurrency_reason: str = ""
    retries: int = 3
    reference_accuracy: float | None = None
    reference_n: int | None = None  # items behind the reference (two-proportion test)
    # where the reference came from when it is a published score, not the user's number
    reference_source: str | None = None
    # how the published score's protocol differs from ours; any difference makes it informative
    reference_differences: list[str] = []
    tolerance: float = 0.0  # a fraction (0.02 = 2 points) the interval is widened by

    def sampling(self) -> dict[str, Any]:
        return {
            "api": self.api,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": self.seed,
            "stop": get_task(self.task).stop,
        }


class AccuracyResult(StageResult):
    stage: str = "accuracy"
    config: AccuracyConfig = AccuracyConfig()
    dataset_path: str = ""
    dataset_name: str = "GSM8K"
    base_url: str = ""
    model: str = ""
    items: int = 0
    answered: int = 0
    correct: int = 0
    errors: int = 0
    retried_requests: int = 0  # re-sent after 429 / 5xx / a transport error (backoff)
    accuracy: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    aisbench_correct: int = 0
    aisbench_accuracy: float | None = None
    extraction_failures: int = 0
    # answered, but the grader failed on the answer (a bug of ours, recorded with its reason);
    # left out of the accuracy like errors, and never asked again on resume
    ungradeable: int = 0
    rules: dict[str, int] = {}
    resumed_items: int = 0
    wall_time_s: float = 0.0
    output_tokens: int = 0
    output_throughput: float | None = None
    items_for_2pt: int | None = None
    stop_sequences: list[str] = STOP_SEQUENCES
    # output throughput against the perf stage's (target: at least 90% at the same concurrency)
    perf_concurrency: int | None = None
    perf_output_throughput: float | None = None
    perf_throughput_ratio: float | None = None  # None when perf ran at another concurrency
    perf_throughput_target_met: bool | None = None
    perf_comparison: str | None = None
    perf_reference_test: str | None = None  # eval_load: the eval's own requests, timed by perf
    degenerate: DegenerateSummary = DegenerateSummary()


def use_published_reference(cfg: AccuracyConfig, ref: ReferenceScore) -> None:
    """Judge against a published score of the same model, noting how its protocol differs."""
    cfg.reference_accuracy, cfg.reference_source = ref.accuracy, ref.describe()
    cfg.reference_differences = ref.protocol_differences(cfg.api, cfg.temperature)


def add_perf_comparison(res: AccuracyResult, perf: dict[str, Any] | None) -> None:
    """Record the eval's throughput against the perf stage's (``perf``: its JSON)."""
    from modelverify.accuracy.concurrency import compare_with_perf

    cmp: PerfComparison | None = compare_with_perf(
        res.output_throughput, res.config.concurrency, perf
    )
    if cmp is None:
        return
    res.perf_concurrency, res.perf_output_throughput = cmp.perf_concurrency, cmp.perf_throughput
    res.perf_throughput_ratio, res.perf_throughput_target_met = cmp.ratio, cmp.target_met
    res.perf_comparison, res.perf_reference_test = cmp.note, cmp.perf_test or None


def _key(item: Item, cfg: AccuracyConfig, payload: Any) -> str:
    return prompt_hash({"prompt": payload, "sampling": cfg.sampling()})


def _payload(item: Item, cfg: AccuracyConfig) -> Any:
    return get_task(cfg.task).payload(item, cfg.api)


def eval_request(model: str, item: Item, cfg: AccuracyConfig) -> tuple[str, dict[str, Any]]:
    """The endpoint path and body the eval sends for ``item``; the perf stage times the same
    requests (``eval_load``) so the eval's throughput has a like-for-like reference."""
    payload = _payload(item, cfg)
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": cfg.max_tokens,
        "temperature": cfg.temperature,
        "top_p": cfg.top_p,
        "stop": get_task(cfg.task).stop,
    }
    if cfg.seed is not None:
        body["seed"] = cfg.seed + item.index
    if cfg.api == "chat":
        return "/v1/chat/completions", {**body, "messages": payload}
    return "/v1/completions", {**body, "prompt": payload}


def dataset_path(cfg: AccuracyConfig, run_dir: Path, engine_python: str | None) -> Path:
    """Where the eval's items come from: a hub dataset (fetched once into the run directory),
    a local file, or the task's bundled copy."""
    if cfg.dataset and is_hub_spec(cfg.dataset):
        return fetch_to_run_dir(cfg.dataset, run_dir)
    if cfg.dataset:
        return Path(cfg.dataset)
    return get_task(cfg.task).bundled(engine_python)


async def _ask(client: OpenAIClient, model: str, item: Item, cfg: AccuracyConfig) -> dict[str, Any]:
    path, body = eval_request(model, item, cfg)
    reply = await client.post(path, body, retries=cfg.retries)
    if not reply.ok or not isinstance(reply.body, dict):
        raise EndpointError(f"HTTP {reply.status}: {reply.text[:200]}")
    choice = (reply.body.get("choices") or [{}])[0]
    text = choice.get("message", {}).get("content") if cfg.api == "chat" else choice.get("text")
    usage = reply.body.get("usage") or {}
    return {
        "completion": text or "",
        "finish_reason": choice.get("finish_reason"),
        "completion_tokens": usage.get("completion_tokens"),
    }


async def _run(
    base_url: str,
    model: str,
    api_key: str | None,
    cfg: AccuracyConfig,
    items: list[Item],
    jsonl: Path,
    progress: Progress | None = None,
) -> tuple[list[dict[str, Any]], set[int], float, int]:
    """Ask every item not answered before; returns all records by index, the indices asked in
    this session, its wall time and the number of retried requests."""
    task = get_task(cfg.task)
    done: dict[int, dict[str, Any]] = {}
    for rec in read_jsonl(jsonl):
        idx = rec.get("index")
        if (
            isinstance(idx, int)
            and "error" not in rec
            and idx < len(items)
            and rec.get("key") == _key(items[idx], cfg, _payload(items[idx], cfg))
        ):
            done[idx] = rec
    todo = [it for it in items if it.index not in done]
    queue: asyncio.Queue[Item] = asyncio.Queue()
    for it in todo:
        queue.put_nowait(it)
    records = dict(done)

    async with OpenAIClient(
        base_url,
        api_key=api_key,
        timeout=make_timeout(900, read=600),
        max_connections=max(cfg.concurrency, 1),
    ) as client:
        with JsonlWriter(jsonl) as out:

            async def worker() -> None:
                while True:
                    try:
                        it = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    rec: dict[str, Any] = {
                        "index": it.index,
                        "key": _key(it, cfg, _payload(it, cfg)),
                        "sampling": cfg.sampling(),
                    }
                    try:
                        ans = await _ask(client, model, it, cfg)
                    except EndpointError as exc:
                        rec["error"] = str(exc)
                    else:
                        rec.update(ans)
                        try:
                            rec.update(task.grade(it, ans["completion"]))
                        except Exception as exc:
                            # a grader bug must not end the eval, nor be asked again on resume:
                            # the answer is kept, marked ungradeable with the reason
                            rec["ungradeable"] = f"{type(exc).__name__}: {exc}"[:500]
                    out.write(rec)
                    records[it.index] = rec
                    if progress is not None:
                        graded = [r for r in records.values() if _graded(r)]
                        progress(
                            len(records), len(items), sum(bool(r.get("correct")) for r in graded)
                        )

            t0 = time.perf_counter()
            await asyncio.gather(
                *(worker() for _ in range(max(1, min(cfg.concurrency, len(todo) or 1))))
            )
            wall = time.perf_counter() - t0
        retried = client.retried
    return [records[i] for i in sorted(records)], {it.index for it in todo}, wall, retried


def _graded(rec: dict[str, Any]) -> bool:
    return "error" not in rec and "ungradeable" not in rec


def session_throughput(records: list[dict[str, Any]], asked: set[int], wall: float) -> float | None:
    """Output tokens per second of the items asked in this session (resumed ones took no time)."""
    new = [r for r in records if r.get("index") in asked]
    if wall <= 0 or not new:
        return None
    return sum(r.get("completion_tokens") or 0 for r in new if "error" not in r) / wall


def run_accuracy(
    base_url: str,
    model: str,
    jsonl: Path,
    *,
    api_key: str | None = None,
    config: AccuracyConfig | None = None,
    engine_python: str | None = None,
    progress: Progress | None = None,
) -> AccuracyResult:
    cfg = config or AccuracyConfig()
    task = get_task(cfg.task)
    t0 = time.monotonic()
    path = dataset_path(cfg, jsonl.parent, engine_python)
    items = task.load(path, cfg.limit)
    records, asked, wall, retried = asyncio.run(
        _run(base_url, model, api_key, cfg, items, jsonl, progress)
    )
    res = summarise(records, cfg)
    res.retried_requests = retried
    res.dataset_path, res.resumed_items, res.wall_time_s = (
        str(path),
        len(records) - len(asked),
        wall,
    )
    res.base_url, res.model = base_url, model
    res.output_throughput = session_throughput(records, asked, wall)
    res.duration_s = time.monotonic() - t0
    return res


def _judge_reference(res: AccuracyResult, cfg: AccuracyConfig) -> tuple[Status, str]:
    """Against a like-for-like reference only (see :mod:`modelverify.accuracy.judge`).

    A published score measured with another protocol (shots, CoT, chat or not, sampling) can
    differ for that reason alone: it is shown beside the result and the accuracy is not judged.
    """
    from modelverify.accuracy.judge import judge_reference

    ref = cfg.reference_accuracy or 0.0
    if cfg.reference_source and cfg.reference_differences:
        return Status.NOT_JUDGED, (
            f"accuracy {res.accuracy:.2%} ({res.correct}/{res.answered}, 95% CI "
            f"{res.ci_low:.2%}–{res.ci_high:.2%}); not judged: the published "
            f"{cfg.reference_source} uses another protocol "
            f"({'; '.join(cfg.reference_differences)}), so it is shown beside, never used"
        )
    source = (
        f"published {cfg.reference_source} — the same protocol as ours"
        if cfg.reference_source
        else "given (--reference-accuracy)"
    )
    return judge_reference(res.correct, res.answered, ref, cfg.reference_n, cfg.tolerance, source)


def summarise(records: list[dict[str, Any]], cfg: AccuracyConfig) -> AccuracyResult:
    graded = [r for r in records if _graded(r)]
    n, k = len(graded), sum(1 for r in graded if r.get("correct"))
    ungradeable = sum(1 for r in records if "error" not in r and "ungradeable" in r)
    task = get_task(cfg.task)
    res = AccuracyResult(
        config=cfg,
        items=len(records),
        answered=n,
        correct=k,
        ungradeable=ungradeable,
        errors=len(records) - n - ungradeable,
        dataset_name=task.title,
        stop_sequences=task.stop,
    )
    rules: dict[str, int] = {}
    for r in graded:
        rules[str(r.get("rule"))] = rules.get(str(r.get("rule")), 0) + 1
    res.rules = rules
    res.extraction_failures = sum(1 for r in graded if r.get("extracted") is None)
    res.output_tokens = sum(r.get("completion_tokens") or 0 for r in graded)
    if n:
        res.accuracy = k / n
        res.ci_low, res.ci_high = wilson_interval(k, n)
        res.aisbench_correct = sum(1 for r in graded if r.get("aisbench_correct"))
        res.aisbench_accuracy = res.aisbench_correct / n
        res.items_for_2pt = sample_size_for_half_width(res.accuracy, 0.02)
    res.degenerate = measure_degenerate(
        (r.get("completion"), r.get("finish_reason")) for r in graded
    )
    deg_status, deg_reason = res.degenerate.judge()
    if n == 0:
        res.status, res.reason = Status.FAIL, "no item was answered"
    elif deg_status == Status.FAIL:
        # empty or one-token answers are a deployment symptom, whatever the score says
        res.status, res.reason = Status.FAIL, deg_reason
    elif cfg.reference_accuracy is not None:
        res.status, res.reason = _judge_reference(res, cfg)
    else:
        res.status = Status.NOT_JUDGED
        res.reason = (
            f"accuracy {res.accuracy:.2%} (95% CI {res.ci_low:.2%}–{res.ci_high:.2%}) on {n} "
            "items; not judged: no like-for-like reference (--reference-accuracy)"
        )
    if res.errors and res.status in (Status.PASS, Status.NOT_JUDGED):
        res.status = Status.WARN
        res.reason += f"; {res.errors} items failed with errors"
    if ungradeable:
        if res.status in (Status.PASS, Status.NOT_JUDGED):
            res.status = Status.WARN
        res.reason += (
            f"; {ungradeable} answers could not be graded (see 'ungradeable' in accuracy.jsonl)"
        )
    if n and deg_status != Status.FAIL:
        res.reason += f"; output: {deg_reason}"
    return res


__all__ = [
    "AccuracyConfig",
    "AccuracyResult",
    "add_perf_comparison",
    "dataset_path",
    "eval_request",
    "run_accuracy",
    "session_throughput",
    "summarise",
    "use_published_reference",
]
