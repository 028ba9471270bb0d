"""How many GSM8K requests to keep in flight, and whether the eval kept the server as busy as
the perf stage did.

The eval is only as fast as the server lets it be when it offers the server about as many
sequences as the engine can hold at once: fewer leaves capacity idle, more only queues. The
engine's start-up log says how much KV cache it has; a GSM8K request needs its prompt plus its
answer of that cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelverify.accuracy.prompt import prompt_tokens_estimate

# More in flight than this rarely adds throughput on one engine and makes a slow server time out
# many requests at once.
MAX_EVAL_CONCURRENCY = 64
# The perf stage's ``concurrency`` default: with no facts to size by, the same load as perf,
# which also makes the two throughputs comparable.
FALLBACK_CONCURRENCY = 10
# The eval's throughput must be at least this share of perf's at the same concurrency: then the
# server, not our client, sets the pace.
THROUGHPUT_TARGET = 0.9


def request_tokens(api: str, max_tokens: int) -> int:
    """KV-cache tokens one GSM8K request may hold: its prompt plus a full-length answer."""
    return prompt_tokens_estimate(api) + max_tokens


def kv_capacity(log_facts: dict[str, Any] | None, tokens_per_request: int) -> int | None:
    """Requests of ``tokens_per_request`` the engine's KV cache holds at once, from its log."""
    if not log_facts or tokens_per_request <= 0:
        return None
    kv = log_facts.get("kv_cache_tokens")
    if not isinstance(kv, int) or kv <= 0:
        # vLLM's own figure is at --max-model-len; the cache it implies is the same.
        conc, per = (
            log_facts.get("max_concurrency"),
            log_facts.get("max_concurrency_tokens_per_request"),
        )
        if not isinstance(conc, (int, float)) or not isinstance(per, int) or conc <= 0:
            return None
        kv = int(conc * per)
    return kv // tokens_per_request


def choose_concurrency(
    log_facts: dict[str, Any] | None,
    max_num_seqs: int | None,
    *,
    api: str = "chat",
    max_tokens: int = 512,
    fallback: int = FALLBACK_CONCURRENCY,
    cap: int = MAX_EVAL_CONCURRENCY,
) -> tuple[int, str]:
    """The eval's concurrency sized to the served engine, and why.

    The engine schedules at most ``--max-num-seqs`` sequences and holds at most what its KV
    cache fits; the smaller of the two that is known, capped at ``cap`` and at least 1.
    """
    per = request_tokens(api, max_tokens)
    cache = kv_capacity(log_facts, per)
    known: list[tuple[int, str]] = []
    if cache is not None:
        known.append((cache, f"KV cache holds {cache} GSM8K requests of ~{per} tokens"))
    if max_num_seqs is not None and max_num_seqs > 0:
        known.append((max_num_seqs, f"--max-num-seqs {max_num_seqs}"))
    if not known:
        n = max(1, min(fallback, cap))
        return n, f"the perf stage's concurrency ({n}): the engine's capacity is unknown"
    n, why = min(known, key=lambda k: k[0])
    chosen = max(1, min(n, cap))
    if chosen < n:
        why += f", capped at {cap}"
    elif chosen > n:
        why += ", raised to 1"
    return chosen, f"sized to the engine: {why}"


@dataclass(frozen=True)
class PerfComparison:
    """The eval's output throughput against the perf stage's."""

    perf_concurrency: int | None  # the perf test at the eval's concurrency, else the nearest
    perf_throughput: float | None
    ratio: float | None  # None when not comparable
    target_met: bool | None  # None when not comparable
    note: str
    perf_test: str = ""  # which perf test: eval_load (the eval's own requests) or another


def _measured(perf: dict[str, Any]) -> list[tuple[str, int, float]]:
    """(test, concurrency, output tokens/s) of each perf test that streamed output; the eval's
    own requests (``eval_load``) first."""
    out: list[tuple[str, int, float]] = []
    for test in (
        perf.get("eval_load"),
        perf.get("concurrent"),
        perf.get("sequential"),
        *(perf.get("sweep") or []),
    ):
        if isinstance(test, dict) and (test.get("streaming") or {}).get("output_throughput"):
            name = str(test.get("name") or "")
            # the eval's own requests are judged at the server's pace while every slot was
            # busy: a short test's tail would lower the reference, and flatter the eval
            busy = test.get("busy_output_throughput") if name == "eval_load" else None
            out.append(
                (
                    name,
                    int(test.get("concurrency") or 1),
                    float(busy or test["streaming"]["output_throughput"]),
                )
            )
    return out


def compare_with_perf(
    throughput: float | None, concurrency: int | None, perf: dict[str, Any] | None
) -> PerfComparison | None:
    """Judge the eval's throughput against perf's (target ≥ 90%) when perf ran at the same
    concurrency; at another concurrency the two are not comparable (batching changes both).

    The reference is perf's ``eval_load`` test (the eval's own requests at its concurrency)
    when it ran; else a test of perf's own workload at the same concurrency, which differs
    from the eval's in prompt and answer lengths, as the note says.
    """
    if not isinstance(throughput, (int, float)) or perf is None or not concurrency:
        return None
    cands = _measured(perf)
    if not cands:
        return None
    name, c, ref = min(cands, key=lambda x: abs(x[1] - int(concurrency)))
    if c != concurrency:
        return PerfComparison(
            c,
            ref,
            None,
            None,
            f"not comparable: the eval ran at concurrency {concurrency}, the perf stage at "
            f"{', '.join(str(k) for k in sorted({k for _, k, _ in cands}))} (nearest {c}: "
            f"{ref:.1f} tok/s; the eval's {throughput:.1f} tok/s is {throughput / ref:.0%} of it)",
            name,
        )
    ratio = throughput / ref
    met = ratio >= THROUGHPUT_TARGET
    what = (
        "its own requests, while every slot was busy" if name == "eval_load" else "perf's workload"
    )
    return PerfComparison(
        c,
        ref,
        ratio,
        met,
        f"{throughput:.1f} tok/s at concurrency {concurrency} = {ratio:.0%} of the perf stage's "
        f"{ref:.1f} tok/s (same concurrency, {what}; target ≥ {THROUGHPUT_TARGET:.0%}: "
        f"{'met' if met else 'missed'})",
        name,
    )


__all__ = [
    "FALLBACK_CONCURRENCY",
    "MAX_EVAL_CONCURRENCY",
    "THROUGHPUT_TARGET",
    "PerfComparison",
    "choose_concurrency",
    "compare_with_perf",
    "kv_capacity",
    "request_tokens",
]
