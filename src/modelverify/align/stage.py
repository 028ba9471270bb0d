"""The align stage: does the served model compute what the checkpoint computes?

Served side over HTTP (``served.py``); reference: the checkpoint in transformers (default,
``reference.py``), a recorded file (``--reference FILE``) or another endpoint
(``--reference-url URL``); comparison (``compare.py``, ``judge.py``). A reference that cannot
run leaves the stage not judged, with the reason, never passed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from pydantic import Field

from modelverify.align.compare import TIE_MARGIN, TOL_SOURCE, WINDOW, tolerances
from modelverify.align.judge import PromptAlign, TokenizerDiff, first_token_diff, judge_prompt
from modelverify.align.model import Side
from modelverify.align.prompts import Prompt, build_prompts
from modelverify.align.record import (
    model_hashes,
    prompt_set_sha,
    read_record,
    write_record,
)
from modelverify.align.reference import ReferenceUnavailable, run_reference
from modelverify.align.served import ServedClient, run_served
from modelverify.errors import ModelVerifyError
from modelverify.results import StageResult, Status

DECODE_TOKENS = 16
ALONE_RERUNS = 4  # failing prompts re-sent on their own, to tell a batching fault apart


class AlignResult(StageResult):
    stage: str = "align"
    base_url: str = ""
    model: str = ""
    model_dir: str | None = None
    reference_kind: str | None = None  # transformers | recorded | url
    reference_source: str | None = None
    served_dtype: str | None = None
    reference_dtype: str | None = None
    max_model_len: int | None = None
    decode_tokens: int = DECODE_TOKENS
    tolerances: dict[str, Any] = Field(default_factory=dict)
    prompts: list[PromptAlign] = Field(default_factory=list)
    overall: dict[str, float | int | None] = Field(default_factory=dict)
    reference_duration_s: float | None = None
    reference_peak_rss_bytes: int | None = None
    served_duration_s: float | None = None
    recorded_to: str | None = None
    # issue 20 item 3 (the served chat template against the model folder's) is built in
    # align/template.py; its sub-result is wired in here at merge
    template: dict[str, Any] | None = None


def served_dtype_of(model_dir: Path | None, engine_args: list[str] | None) -> str | None:
    """The dtype the engine serves in: ``--dtype``, else config.json's (vLLM's ``auto``)."""
    from modelverify.serve.supervisor import flag_value

    given = flag_value(engine_args or [], "--dtype")
    if given and given != "auto":
        return {"half": "float16", "float": "float32"}.get(given, given)
    if model_dir is None:
        return None
    try:
        cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    dt = cfg.get("dtype") or cfg.get("torch_dtype")
    return str(dt) if dt else None


def _tokenizer_diffs(p: Prompt, ref_tok: dict[str, list[int]]) -> list[TokenizerDiff]:
    out = []
    for t in p.texts:
        theirs = ref_tok.get(t.key)
        if theirs is None or theirs == t.served_ids:
            continue
        i = first_token_diff(t.served_ids, theirs) or 0
        out.append(
            TokenizerDiff(
                piece=t.key, index=i, served=t.served_ids[i : i + 5], reference=theirs[i : i + 5]
            )
        )
    return out


def _not_judged(res: AlignResult, why: str) -> AlignResult:
    res.status, res.reason = Status.NOT_JUDGED, why
    return res


def run_align(
    base_url: str,
    model: str,
    model_dir: Path | None,
    *,
    engine_python: str | None,
    api_key: str | None = None,
    reference_file: Path | None = None,
    reference_url: str | None = None,
    record: Path | None = None,
    reference_dtype: str = "float32",
    engine_args: list[str] | None = None,
    decode_tokens: int = DECODE_TOKENS,
    long_tokens: int | None = None,
) -> AlignResult:
    res = AlignResult(
        base_url=base_url,
        model=model,
        model_dir=str(model_dir) if model_dir else None,
        decode_tokens=decode_tokens,
        served_dtype=served_dtype_of(model_dir, engine_args),
    )
    local = model_dir is not None and (model_dir / "config.json").is_file()
    hashes = model_hashes(model_dir) if local and model_dir is not None else None
    recorded = read_record(reference_file, hashes) if reference_file else None  # bad input: raise
    client = ServedClient(base_url, model, api_key)
    try:
        prompts, res.max_model_len = build_prompts(client, decode_tokens, long_tokens)
        t0 = time.monotonic()
        served = run_served(client, [(p.id, p.ids) for p in prompts], decode_tokens)
        res.served_duration_s = time.monotonic() - t0
        if record is not None:
            if hashes is None:
                raise ModelVerifyError(
                    "--record needs the local model folder (its hashes go into the record)"
                )
            write_record(record, hashes, prompt_set_sha([(p.id, p.ids) for p in prompts]), served)
            res.recorded_to = str(record)
        try:
            ref, ref_tok = _reference(
                res,
                served,
                prompts,
                model_dir if local else None,
                engine_python,
                recorded,
                reference_url,
                api_key,
                model,
                reference_dtype,
                decode_tokens,
            )
        except ReferenceUnavailable as exc:
            _not_judged(res, f"no reference: {exc}")
        else:
            _judge(res, client, served, ref, ref_tok, prompts, decode_tokens)
    finally:
        client.close()
    if local and model_dir is not None:
        _add_template(res, base_url, model, model_dir, api_key)
    return res


def _add_template(
    res: AlignResult, base_url: str, model: str, model_dir: Path, api_key: str | None
) -> None:
    """The prompt the server builds against the model folder's own chat template: a
    difference fails the stage; a template that cannot be judged (a base model) leaves the
    logprob verdict as it is, with the reason beside it."""
    from modelverify.align.template import check_served_template

    check = check_served_template(base_url, model, model_dir, api_key=api_key)
    res.template = check.model_dump(mode="json")
    if check.status == Status.FAIL:
        why = f"served chat template differs from the model folder's: {check.reason}"
        res.reason = why if res.status != Status.FAIL else f"{res.reason}; {why}"
        res.status = Status.FAIL


def _reference(
    res: AlignResult,
    served: Side,
    prompts: list[Prompt],
    model_dir: Path | None,
    engine_python: str | None,
    recorded: Any,
    reference_url: str | None,
    api_key: str | None,
    model: str,
    dtype: str,
    decode_tokens: int,
) -> tuple[Side, dict[str, list[int]]]:
    if recorded is not None:
        res.reference_kind, res.reference_source = "recorded", recorded.side.source
        res.reference_dtype = recorded.side.dtype
        return recorded.side, {}
    if reference_url is not None:
        other = ServedClient(reference_url, model, api_key)
        try:
            ref_tok = {
                t.key: other.tokenize(t.text, t.special)[0] for p in prompts for t in p.texts
            }
            side = run_served(other, [(p.id, p.ids) for p in prompts], decode_tokens, kind="url")
        finally:
            other.close()
        res.reference_kind, res.reference_source = "url", reference_url
        res.reference_dtype = res.served_dtype  # assumed: the same model served the same way
        return side, ref_tok
    if model_dir is None:
        raise ReferenceUnavailable(
            "the checkpoint is not a local folder: the transformers reference needs it "
            "(pass the model folder, --reference FILE or --reference-url URL)"
        )
    if engine_python is None:
        raise ReferenceUnavailable("no engine Python to run the transformers reference with")
    texts: list[dict[str, object]] = [
        {"key": t.key, "text": t.text, "add_special_tokens": t.special}
        for p in prompts
        for t in p.texts
    ]
    run = run_reference(engine_python, model_dir, served, texts, dtype=dtype)
    res.reference_kind, res.reference_source = "transformers", run.side.source
    res.reference_dtype = run.side.dtype
    res.reference_duration_s, res.reference_peak_rss_bytes = run.duration_s, run.peak_rss_bytes
    return run.side, run.tokenized


def _judge(
    res: AlignResult,
    client: ServedClient,
    served: Side,
    ref: Side,
    ref_tok: dict[str, list[int]],
    prompts: list[Prompt],
    decode_tokens: int,
) -> None:
    tol = tolerances(res.served_dtype, res.reference_dtype)
    res.tolerances = {
        "prefill_mean_abs": tol[0],
        "decode_mean_abs": tol[1],
        "tie_margin": TIE_MARGIN,
        "window": WINDOW,
        "source": TOL_SOURCE,
        "dtype_note": (
            f"{res.served_dtype} served vs {res.reference_dtype} reference: published figures "
            + ("× 2" if tol[0] != 0.0689 else "as published")
        ),
        "tie_source": "modelverify: below this reference top-1/top-2 margin a different greedy "
        "token is rounding, not a defect (ℹ️ near tie)",
    }
    refs = ref.by_id()
    by_id = {p.id: p for p in prompts}
    for s in served.sequences:
        p = by_id[s.id]
        r = refs.get(s.id)
        if r is None:
            res.prompts.append(
                PromptAlign(id=s.id, status=Status.NOT_JUDGED, reason="not in the reference")
            )
            continue
        pa, _ = judge_prompt(
            s.id, s, r, tol, lang=p.lang, long=p.long, tokenizer=_tokenizer_diffs(p, ref_tok)
        )
        if pa.first_divergence is not None:
            d = pa.first_divergence
            d.served_text = (
                client.detokenize([d.served_token]) if d.served_token is not None else ""
            )
            d.reference_text = (
                client.detokenize([d.reference_token]) if d.reference_token is not None else ""
            )
        res.prompts.append(pa)
    _rerun_alone(res, client, refs, by_id, tol, decode_tokens)
    _overall(res)


def _rerun_alone(
    res: AlignResult,
    client: ServedClient,
    refs: dict[str, Any],
    by_id: dict[str, Prompt],
    tol: tuple[float, float],
    decode_tokens: int,
) -> None:
    """A prompt that failed in the batch is sent again on its own: passing alone names a
    batching fault (the prompts ran together, the engine mixed their sequences)."""
    failed = [p for p in res.prompts if p.status == Status.FAIL and not p.tokenizer]
    if not failed or len(failed) == len(res.prompts):
        return  # every prompt failed: not a one-sequence-of-a-batch fault
    for pa in failed[:ALONE_RERUNS]:
        p = by_id[pa.id]
        try:
            seq = client.complete(p.id, p.ids, decode_tokens)
        except ModelVerifyError as exc:
            pa.alone = f"re-run alone failed: {exc}"
            continue
        alone, _ = judge_prompt(p.id, seq, refs[p.id], tol)
        if alone.status == Status.PASS:
            pa.alone = "passes when sent alone: the fault is in batching (sent with the others)"
            pa.reason += " — " + pa.alone
        else:
            pa.alone = "fails alone too"


def _overall(res: AlignResult) -> None:
    judged = [p for p in res.prompts if p.status in (Status.PASS, Status.FAIL)]

    def mean(attr: str) -> float | None:
        vals = [getattr(p, attr) for p in judged if getattr(p, attr) is not None]
        return sum(vals) / len(vals) if vals else None

    def worst(attr: str) -> float | None:
        vals = [getattr(p, attr) for p in judged if getattr(p, attr) is not None]
        return max(vals) if vals else None

    res.overall = {
        "prompts": len(res.prompts),
        "failed": sum(p.status == Status.FAIL for p in res.prompts),
        "greedy_agreement": mean("greedy_agreement"),
        "prefill_mean": mean("prefill_mean"),
        "prefill_max": worst("prefill_max"),
        "decode_mean": mean("decode_mean"),
        "decode_max": worst("decode_max"),
        "near_ties": sum(p.near_ties for p in judged),
        "clear_divergences": sum(p.clear_divergences for p in judged),
        "worst_window_ratio": max(
            (
                float(p.worst_window["mean"])
                / res.tolerances[
                    "prefill_mean_abs"
                    if p.worst_window["phase"] == "prefill"
                    else "decode_mean_abs"
                ]
                for p in judged
                if p.worst_window
            ),
            default=None,
        ),
    }
    fails = [p for p in res.prompts if p.status == Status.FAIL]
    if fails:
        res.status = Status.FAIL
        res.reason = (
            f"{len(fails)} of {len(res.prompts)} prompts part from the reference: "
            + "; ".join(f"{p.id}: {p.reason}" for p in fails[:4])
        )
    elif not judged:
        res.status, res.reason = Status.NOT_JUDGED, "no prompt could be compared"
    else:
        r = res.overall["worst_window_ratio"]
        res.status = Status.PASS
        res.reason = (
            f"{len(judged)} prompts match the {res.reference_kind} reference "
            f"(greedy agreement {res.overall['greedy_agreement']:.1%}, worst window at "
            f"{(r or 0):.0%} of its tolerance, {res.overall['near_ties']} near ties)"
        )


__all__ = ["DECODE_TOKENS", "AlignResult", "run_align", "served_dtype_of"]
