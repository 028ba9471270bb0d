"""The model folder's chat template, found and rendered the way transformers does it.

modelverify never imports transformers, so this is a small re-statement of the conventions its
``apply_chat_template`` uses (transformers 5.x, ``utils/chat_template_utils.py`` and
``tokenization_utils_base.py``): an immutable sandboxed jinja2 environment with ``trim_blocks``
and ``lstrip_blocks``, the ``loopcontrols`` extension, a ``{% generation %}`` block that only
renders its body, ``raise_exception``, a ``tojson`` filter that does not escape HTML or non-ASCII,
``strftime_now``, and the named special tokens (``bos_token`` …) as template variables.

Where the template lives, in the order transformers' tokenizer reads it: ``chat_template.jinja``
(which wins over the config), then ``tokenizer_config.json``'s ``chat_template`` (a string, or a
list of ``{"name", "template"}`` of which ``default`` is used), then the processor's legacy
``chat_template.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import jinja2.ext
import jinja2.nodes
import jinja2.parser
import jinja2.runtime
from jinja2.sandbox import ImmutableSandboxedEnvironment

# transformers' PreTrainedTokenizerBase.SPECIAL_TOKENS_ATTRIBUTES
SPECIAL_TOKENS = (
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
)


class TemplateLoadError(Exception):
    """The model folder's template files exist but cannot be read as a template."""


class TemplateRenderError(Exception):
    """The template did not compile, raised on purpose (``raise_exception``) or failed to render."""


@dataclass(frozen=True)
class ChatTemplate:
    """A chat template with the file it came from and the special tokens it may refer to."""

    source: str
    text: str
    special_tokens: dict[str, str] = field(default_factory=dict)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TemplateLoadError(f"{path.name} is not readable JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise TemplateLoadError(f"{path.name} is not a JSON object")
    return data


def _token_text(value: Any) -> str | None:
    # A token is a string or a serialised AddedToken ({"content": "<s>", ...}).
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return str(value["content"])
    return None


def _pick(value: Any, where: str) -> str | None:
    """The template text from a config value: a string, or a list/dict of named templates."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    named: dict[str, Any] = {}
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                named[item["name"]] = item.get("template")
    elif isinstance(value, dict):
        named = dict(value)
    else:
        raise TemplateLoadError(f"{where}: chat_template is neither a string nor a list")
    if "default" not in named:
        raise TemplateLoadError(
            f"{where} has named chat templates ({', '.join(sorted(named))}) but none named "
            "'default', so no template applies to a plain chat request"
        )
    if not isinstance(named["default"], str):
        raise TemplateLoadError(f"{where}: the 'default' chat template is not a string")
    return str(named["default"])


def load_chat_template(model_dir: Path) -> ChatTemplate | None:
    """The folder's chat template, or None when it has none (a base model).

    Raises:
        TemplateLoadError: a template file exists but cannot be read.
    """
    config: dict[str, Any] = {}
    cfg_path = model_dir / "tokenizer_config.json"
    if cfg_path.is_file():
        config = _read_json(cfg_path)
    tokens: dict[str, str] = {}
    for name in SPECIAL_TOKENS:
        text = _token_text(config.get(name))
        if text is not None:
            tokens[name] = text
    legacy_map = model_dir / "special_tokens_map.json"
    if legacy_map.is_file():
        for name, value in _read_json(legacy_map).items():
            text = _token_text(value)
            if name in SPECIAL_TOKENS and text is not None:
                tokens[name] = text

    jinja_file = model_dir / "chat_template.jinja"
    if jinja_file.is_file():
        try:
            text = jinja_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TemplateLoadError(f"chat_template.jinja is not readable text: {exc}") from exc
        return ChatTemplate("chat_template.jinja", text, tokens)
    picked = _pick(config.get("chat_template"), "tokenizer_config.json")
    if picked is not None:
        return ChatTemplate("tokenizer_config.json", picked, tokens)
    legacy = model_dir / "chat_template.json"
    if legacy.is_file():
        picked = _pick(_read_json(legacy).get("chat_template"), "chat_template.json")
        if picked is not None:
            return ChatTemplate("chat_template.json", picked, tokens)
    return None


class _Generation(jinja2.ext.Extension):
    """``{% generation %}…{% endgeneration %}`` marks assistant text for training masks; the
    prompt is only its body."""

    tags = {"generation"}

    def parse(self, parser: jinja2.parser.Parser) -> jinja2.nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        call = self.call_method("_body", [], [], None, None)
        return jinja2.nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _body(self, caller: jinja2.runtime.Macro) -> str:
        return str(caller())


def _raise_exception(message: str) -> None:
    raise jinja2.exceptions.TemplateError(message)


def _tojson(
    x: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
) -> str:
    return json.dumps(
        x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[_Generation, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env


def render_chat(
    template: ChatTemplate,
    messages: list[dict[str, Any]],
    *,
    add_generation_prompt: bool,
    extra: dict[str, Any] | None = None,
) -> str:
    """The prompt text the template builds for ``messages``.

    ``extra`` are further template variables (vLLM's ``chat_template_kwargs``); like
    transformers, they win over the special tokens of the same name.

    Raises:
        TemplateRenderError: with jinja's message (and line, for a syntax error).
    """
    try:
        compiled = _environment().from_string(template.text)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateRenderError(
            f"{template.source} does not compile (line {exc.lineno}: {exc.message})"
        ) from exc
    try:
        return compiled.render(
            messages=messages,
            tools=None,
            documents=None,
            add_generation_prompt=add_generation_prompt,
            **{**template.special_tokens, **(extra or {})},
        )
    except jinja2.TemplateError as exc:
        raise TemplateRenderError(f"{template.source}: {exc}") from exc
    except Exception as exc:  # a template is code: any error in it is the template's
        raise TemplateRenderError(f"{template.source}: {type(exc).__name__}: {exc}") from exc


__all__ = [
    "SPECIAL_TOKENS",
    "ChatTemplate",
    "TemplateLoadError",
    "TemplateRenderError",
    "load_chat_template",
    "render_chat",
]
