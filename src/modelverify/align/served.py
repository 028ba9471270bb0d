"""The served side, over HTTP only: ``/tokenize``, then ``/v1/completions`` on the token ids with
vLLM's ``prompt_logprobs`` and ``logprobs`` (top-20 at every prompt and continuation position).

All prompts are sent at once so the engine batches them: a fault that only hits one sequence of
a batch shows up in the prompts it hit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence as Seq
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from modelverify.align.model import Position, Sequence, Side
from modelverify.errors import EndpointError

TOP_K = 20  # vLLM's default --max-logprobs; both references in the issue use top-20


class ServedClient:
    """The few vLLM endpoints align needs; every answer is checked before it is used."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 300):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_connections=16),
        )

    def close(self) -> None:
        self.http.close()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            r = self.http.post(path, json=body)
        except httpx.HTTPError as exc:
            raise EndpointError(f"{path} did not answer ({type(exc).__name__}: {exc})") from exc
        if r.status_code != 200:
            raise EndpointError(f"{path} answered HTTP {r.status_code}: {r.text[:300]}")
        try:
            data = r.json()
        except ValueError as exc:
            raise EndpointError(f"{path} answered something that is not JSON") from exc
        if not isinstance(data, dict):
            raise EndpointError(f"{path} answered {type(data).__name__}, not a JSON object")
        return data

    def tokenize(self, text: str, special: bool = True) -> tuple[list[int], int | None]:
        """The server's token ids for ``text`` and the max_model_len it reports."""
        data = self._post(
            "/tokenize", {"model": self.model, "prompt": text, "add_special_tokens": special}
        )
        ids = data.get("tokens")
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            raise EndpointError("/tokenize answered without a list of token ids (is this vLLM?)")
        mml = data.get("max_model_len")
        return ids, mml if isinstance(mml, int) else None

    def detokenize(self, ids: list[int]) -> str:
        try:
            data = self._post("/detokenize", {"model": self.model, "tokens": ids})
        except EndpointError:
            return "?"
        text = data.get("prompt")
        return text if isinstance(text, str) else "?"

    def complete(self, key: str, ids: list[int], max_tokens: int) -> Sequence:
        """Greedy continuation of ``ids`` with top-k logprobs at every position."""
        body = {
            "model": self.model,
            "prompt": ids,
            "max_tokens": max_tokens,
            "temperature": 0,
            "logprobs": TOP_K,
            "prompt_logprobs": TOP_K,
            "return_tokens_as_token_ids": True,
        }
        return parse_completion(key, ids, self._post("/v1/completions", body))


def _token_id(s: Any) -> int | None:
    """``token_id:123`` (vLLM's return_tokens_as_token_ids) or a bare ``123``."""
    if isinstance(s, int):
        return s
    if not isinstance(s, str):
        return None
    s = s.removeprefix("token_id:")
    digits = s.removeprefix("-")
    return int(s) if digits.isascii() and digits.isdigit() and len(digits) <= 18 else None


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    f = float(v)
    return f if not math.isnan(f) else None


def _top(entries: Any, get: Any) -> list[tuple[int, float]]:
    out: list[tuple[int, float]] = []
    if isinstance(entries, dict):
        for k, v in entries.items():
            tid, lp = _token_id(k), _num(get(v))
            if tid is not None and lp is not None:
                out.append((tid, lp))
    out.sort(key=lambda t: -t[1])
    return out


def parse_completion(key: str, prompt_ids: list[int], data: dict[str, Any]) -> Sequence:
    """A ``/v1/completions`` answer as one :class:`Sequence`; anything malformed is an
    :class:`EndpointError` naming what was missing, never a crash."""
    try:
        choice = data["choices"][0]
    except (KeyError, IndexError, TypeError) as exc:
        raise EndpointError(f"{key}: the completion has no choices") from exc
    if not isinstance(choice, dict):
        raise EndpointError(f"{key}: the completion's choice is not an object")
    plp = choice.get("prompt_logprobs") or data.get("prompt_logprobs")
    if not isinstance(plp, list) or len(plp) != len(prompt_ids):
        raise EndpointError(
            f"{key}: the server returned no prompt_logprobs for the {len(prompt_ids)} prompt "
            "tokens (vLLM's prompt_logprobs extension is needed)"
        )
    positions: list[Position] = []
    for i in range(1, len(prompt_ids)):
        entry = plp[i] if isinstance(plp[i], dict) else {}
        top = _top(entry, lambda v: v.get("logprob") if isinstance(v, dict) else None)
        own = entry.get(str(prompt_ids[i]))
        lp = _num(own.get("logprob")) if isinstance(own, dict) else None
        # the prompt token is always listed, top-k or not; the top-k are the best-ranked
        top = top[:TOP_K] if len(top) <= TOP_K else _rank_top(entry)
        positions.append(Position(token=prompt_ids[i], logprob=lp, top=top))
    lps = choice.get("logprobs")
    cont: list[int] = []
    if isinstance(lps, dict):
        toks = lps.get("tokens") or []
        tlps = lps.get("token_logprobs") or []
        tops = lps.get("top_logprobs") or []
        for j, tok in enumerate(toks if isinstance(toks, list) else []):
            tid = _token_id(tok)
            if tid is None:
                raise EndpointError(f"{key}: continuation token {tok!r} is not a token id")
            cont.append(tid)
            lp = _num(tlps[j]) if isinstance(tlps, list) and j < len(tlps) else None
            top = _top(tops[j] if isinstance(tops, list) and j < len(tops) else None, lambda v: v)
            positions.append(Position(token=tid, logprob=lp, top=top[:TOP_K]))
    return Sequence(
        id=key, prompt_len=len(prompt_ids), ids=[*prompt_ids, *cont], positions=positions
    )


def _rank_top(entry: dict[str, Any]) -> list[tuple[int, float]]:
    """The top-k of a prompt position by vLLM's rank (the prompt token is added when outside)."""
    ranked = []
    for k, v in entry.items():
        tid = _token_id(k)
        if tid is None or not isinstance(v, dict):
            continue
        lp, rank = _num(v.get("logprob")), v.get("rank")
        if lp is not None and isinstance(rank, int) and rank <= TOP_K:
            ranked.append((tid, lp))
    ranked.sort(key=lambda t: -t[1])
    return ranked[:TOP_K]


def run_served(
    client: ServedClient, prompts: Seq[tuple[str, list[int]]], max_tokens: int, kind: str = "served"
) -> Side:
    """Every prompt at once (so they share batches), answers in prompt order."""
    with ThreadPoolExecutor(max_workers=max(1, len(prompts))) as pool:
        seqs = list(pool.map(lambda p: client.complete(p[0], p[1], max_tokens), prompts))
    return Side(kind=kind, source=client.base_url, sequences=seqs)


__all__ = ["TOP_K", "ServedClient", "parse_completion", "run_served"]
