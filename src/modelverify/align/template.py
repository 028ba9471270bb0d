"""Served chat template: the prompt the server builds against the one the model folder defines.

For a handful of conversations the server is asked for the token ids it would feed the model
(vLLM's ``/tokenize`` with ``messages``) and for their text (``/detokenize``). The model folder's
own template is rendered here (:mod:`modelverify.align.chat_render`) and tokenized by the same
server with ``add_special_tokens: false``, as vLLM does for a chat prompt. The two id lists must
be equal: comparing ids rather than text also catches a doubled or missing special token (BOS)
that a text comparison would miss. Any difference is a finding with both renderings.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from pydantic import Field

from modelverify.align.chat_render import (
    ChatTemplate,
    TemplateLoadError,
    TemplateRenderError,
    load_chat_template,
    render_chat,
)
from modelverify.results import Model, Status


class Conversation(Model):
    """One conversation sent through both templates."""

    name: str
    messages: list[dict[str, str]]
    add_generation_prompt: bool = True


# Short on purpose: each conversation costs four small requests and no generation.
CONVERSATIONS: tuple[Conversation, ...] = (
    Conversation(name="user", messages=[{"role": "user", "content": "What is 2 + 3?"}]),
    Conversation(
        name="system_user",
        messages=[
            {"role": "system", "content": "You answer in one word."},
            {"role": "user", "content": "Name a colour."},
        ],
    ),
    Conversation(
        name="multi_turn",
        messages=[
            {"role": "user", "content": "Hi!"},
            {"role": "assistant", "content": "Hello! How can I help?"},
            {"role": "user", "content": "Tell me a fact."},
        ],
    ),
    Conversation(
        name="chinese",
        messages=[{"role": "user", "content": "请用一句话介绍长城。"}],
    ),
    Conversation(
        name="no_generation_prompt",
        messages=[
            {"role": "user", "content": "Hi!"},
            {"role": "assistant", "content": "Hello!"},
        ],
        add_generation_prompt=False,
    ),
)


class LineDiff(Model):
    """The first line where the two renderings part (1-based; None: that side has ended)."""

    line: int
    local: str | None
    served: str | None


class TokenDiff(Model):
    """The first token position where the two id lists part (0-based ``index``; None: that side
    has ended)."""

    index: int
    local_id: int | None
    served_id: int | None
    local_token: str | None = None
    served_token: str | None = None


class ConversationEvidence(Model):
    """Both renderings of one conversation and where they differ."""

    name: str
    add_generation_prompt: bool
    messages: list[dict[str, str]]
    status: Status
    reason: str = ""
    local_text: str | None = None
    served_text: str | None = None
    local_ids: list[int] = Field(default_factory=list)
    served_ids: list[int] = Field(default_factory=list)
    first_line: LineDiff | None = None
    first_token: TokenDiff | None = None


class TemplateCheck(Model):
    """Outcome of the served chat template check."""

    status: Status
    reason: str
    template_source: str | None = None
    conversations: list[ConversationEvidence] = Field(default_factory=list)


def first_line_diff(local: str, served: str) -> LineDiff | None:
    """The first differing line of two texts, or None when they are equal."""
    if local == served:
        return None
    a, b = local.split("\n"), served.split("\n")
    for i in range(max(len(a), len(b))):
        la = a[i] if i < len(a) else None
        lb = b[i] if i < len(b) else None
        if la != lb:
            return LineDiff(line=i + 1, local=la, served=lb)
    return None  # unreachable: unequal texts differ on some line


def first_token_diff(
    local: list[int],
    served: list[int],
    local_strs: list[str] | None = None,
    served_strs: list[str] | None = None,
) -> TokenDiff | None:
    """The first differing position of two id lists, or None when they are equal."""
    if local == served:
        return None
    n = min(len(local), len(served))
    i = next((k for k in range(n) if local[k] != served[k]), n)

    def at(xs: list[Any] | None, k: int) -> Any:
        return xs[k] if xs is not None and k < len(xs) else None

    return TokenDiff(
        index=i,
        local_id=at(local, i),
        served_id=at(served, i),
        local_token=at(local_strs, i),
        served_token=at(served_strs, i),
    )


class _NoTokenize(Exception):
    """The server has no /tokenize or /detokenize endpoint."""


class _ServerRefused(Exception):
    """The server answered a request with an error status."""


class _BadAnswer(Exception):
    """The server answered 200 with something that is not a tokenizer answer."""


def _root(base_url: str) -> str:
    # /tokenize sits at the server root, next to /v1, not under it.
    return re.sub(r"/v1/?$", "", base_url.rstrip("/"))


def _error_text(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:300]
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and "message" in err:
            return str(err["message"])[:300]
        if "detail" in body:
            return str(body["detail"])[:300]
    return str(body)[:300]


def _post(http: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = http.post(path, json=body)
    if resp.status_code in (404, 405):
        # A missing route (FastAPI's "Not Found") and vLLM's unknown model id are both a 404:
        # neither lets the check see a prompt, and the server's own words say which it was.
        raise _NoTokenize(f"POST {path} answered HTTP {resp.status_code}: {_error_text(resp)}")
    if resp.status_code >= 400:
        raise _ServerRefused(f"POST {path} answered HTTP {resp.status_code}: {_error_text(resp)}")
    try:
        data = resp.json()
    except ValueError as exc:
        raise _BadAnswer(f"POST {path} answered with non-JSON: {resp.text[:200]!r}") from exc
    if not isinstance(data, dict):
        raise _BadAnswer(f"POST {path} answered with a JSON {type(data).__name__}")
    return data


def _ids(data: dict[str, Any], path: str) -> tuple[list[int], list[str] | None]:
    tokens = data.get("tokens")
    if not isinstance(tokens, list) or not all(isinstance(t, int) for t in tokens):
        raise _BadAnswer(f"POST {path} answered without a list of token ids")
    strs = data.get("token_strs")
    if not (isinstance(strs, list) and all(isinstance(s, str) for s in strs)):
        strs = None
    return list(tokens), strs


def _tokenize(http: httpx.Client, body: dict[str, Any]) -> tuple[list[int], list[str] | None]:
    return _ids(_post(http, "/tokenize", {**body, "return_token_strs": True}), "/tokenize")


def _detokenize(http: httpx.Client, model_id: str, ids: list[int]) -> str:
    data = _post(http, "/detokenize", {"model": model_id, "tokens": ids})
    prompt = data.get("prompt")
    if not isinstance(prompt, str):
        raise _BadAnswer("POST /detokenize answered without a prompt text")
    return prompt


def _one(
    http: httpx.Client, model_id: str, template: ChatTemplate, conv: Conversation
) -> ConversationEvidence:
    ev = ConversationEvidence(
        name=conv.name,
        add_generation_prompt=conv.add_generation_prompt,
        messages=conv.messages,
        status=Status.PASS,
    )
    local_error: str | None = None
    try:
        ev.local_text = render_chat(
            template, conv.messages, add_generation_prompt=conv.add_generation_prompt
        )
    except TemplateRenderError as exc:
        local_error = str(exc)
    try:
        ev.served_ids, served_strs = _tokenize(
            http,
            {
                "model": model_id,
                "messages": conv.messages,
                "add_generation_prompt": conv.add_generation_prompt,
            },
        )
    except _ServerRefused as exc:
        if local_error is not None:
            # Both sides refuse the conversation (e.g. a template that rejects a system turn):
            # they agree, but there is nothing to compare.
            ev.status = Status.NOT_JUDGED
            ev.reason = f"both refuse this conversation: the folder's template ({local_error}); the server ({exc})"
        else:
            ev.status = Status.FAIL
            ev.reason = (
                f"the folder's template renders this conversation but the server refused it: {exc}"
            )
        return ev
    ev.served_text = _detokenize(http, model_id, ev.served_ids)
    if local_error is not None:
        ev.status = Status.FAIL
        ev.reason = f"the server built a prompt but the folder's template refuses this conversation: {local_error}"
        return ev
    assert ev.local_text is not None
    ev.local_ids, local_strs = _tokenize(
        http, {"model": model_id, "prompt": ev.local_text, "add_special_tokens": False}
    )
    ev.first_line = first_line_diff(ev.local_text, ev.served_text)
    ev.first_token = first_token_diff(ev.local_ids, ev.served_ids, local_strs, served_strs)
    if ev.first_token is None:
        ev.reason = f"same {len(ev.served_ids)} prompt tokens"
        return ev
    ev.status = Status.FAIL
    where = f"token {ev.first_token.index + 1}"  # 1-based, like the line
    if ev.first_line is not None:
        where = f"line {ev.first_line.line}, {where}"
    ev.reason = (
        f"the served prompt differs from the folder's template at {where} "
        f"({len(ev.served_ids)} served tokens, {len(ev.local_ids)} from the folder's template)"
    )
    return ev


def _overall(template: ChatTemplate, evidence: list[ConversationEvidence]) -> TemplateCheck:
    failed = [e for e in evidence if e.status is Status.FAIL]
    judged = [e for e in evidence if e.status is Status.PASS]
    if failed:
        first = failed[0]
        where = ""
        if first.first_line is not None:
            where = (
                f"; first difference at line {first.first_line.line}: "
                f"folder {first.first_line.local!r} vs served {first.first_line.served!r}"
            )
        reason = (
            f"the server does not build prompts with the model folder's chat template "
            f"({template.source}): {len(failed)} of {len(evidence)} conversations differ "
            f"({', '.join(e.name for e in failed)}){where}"
        )
        return TemplateCheck(
            status=Status.FAIL,
            reason=reason,
            template_source=template.source,
            conversations=evidence,
        )
    if not judged:
        return TemplateCheck(
            status=Status.NOT_JUDGED,
            reason="no conversation could be compared: " + "; ".join(e.reason for e in evidence),
            template_source=template.source,
            conversations=evidence,
        )
    return TemplateCheck(
        status=Status.PASS,
        reason=(
            f"the served prompt equals the model folder's chat template ({template.source}) "
            f"token for token on {len(judged)} of {len(evidence)} conversations"
        ),
        template_source=template.source,
        conversations=evidence,
    )


def check_served_template(
    base_url: str,
    model_id: str,
    model_dir: Path,
    *,
    api_key: str | None = None,
    timeout_s: float = 30.0,
    conversations: tuple[Conversation, ...] = CONVERSATIONS,
) -> TemplateCheck:
    """Compare the prompt the server builds with the model folder's own chat template.

    Never raises on what the server or the folder holds: every outcome is a
    :class:`TemplateCheck` (pass, fail with evidence, or not_judged with the reason).
    """
    try:
        template = load_chat_template(model_dir)
    except TemplateLoadError as exc:
        return TemplateCheck(
            status=Status.FAIL,
            reason=f"the model folder's chat template cannot be read, so no chat prompt can be built from it: {exc}",
        )
    if template is None:
        return TemplateCheck(
            status=Status.NOT_JUDGED,
            reason=(
                f"{model_dir} has no chat template (no chat_template.jinja, no chat_template in "
                "tokenizer_config.json): a base model, so there is no template to compare"
            ),
        )
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    evidence: list[ConversationEvidence] = []
    try:
        with httpx.Client(base_url=_root(base_url), headers=headers, timeout=timeout_s) as http:
            for conv in conversations:
                evidence.append(_one(http, model_id, template, conv))
    except _NoTokenize as exc:
        return TemplateCheck(
            status=Status.NOT_JUDGED,
            reason=(
                f"the server's tokenizer endpoint is not there for this model ({exc}), so the "
                "prompt it builds cannot be seen from outside (vLLM serves /tokenize and "
                "/detokenize by default; check the model id)"
            ),
            template_source=template.source,
        )
    except (_ServerRefused, _BadAnswer) as exc:
        return TemplateCheck(
            status=Status.NOT_JUDGED,
            reason=f"the server's tokenizer endpoint gave no usable answer: {exc}",
            template_source=template.source,
            conversations=evidence,
        )
    except httpx.HTTPError as exc:
        return TemplateCheck(
            status=Status.NOT_JUDGED,
            reason=f"the server could not be asked ({type(exc).__name__}: {exc})",
            template_source=template.source,
            conversations=evidence,
        )
    return _overall(template, evidence)


__all__ = [
    "CONVERSATIONS",
    "Conversation",
    "ConversationEvidence",
    "LineDiff",
    "TemplateCheck",
    "TokenDiff",
    "check_served_template",
    "first_line_diff",
    "first_token_diff",
]
