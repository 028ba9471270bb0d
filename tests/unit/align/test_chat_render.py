"""The model folder's chat template rendered in our own process, against transformers' rendering.

expected.json was written once by transformers 5.19.0 itself (tests/data/chat_templates/
make_expected.py, run with the engine's Python); see tests/data/chat_templates/SOURCES.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelverify.align.chat_render import (
    ChatTemplate,
    TemplateLoadError,
    TemplateRenderError,
    load_chat_template,
    render_chat,
)
from modelverify.align.template import CONVERSATIONS

DATA = Path(__file__).resolve().parents[2] / "data"
TEMPLATES = DATA / "chat_templates"
EXPECTED = json.loads((TEMPLATES / "expected.json").read_text(encoding="utf-8"))
FOLDERS = {
    "smollm2": TEMPLATES / "smollm2",
    "llama3.1": TEMPLATES / "llama3.1",
    "qwen3-30b": DATA / "model_configs/tokenizers/qwen3-30b",
    "medgemma-27b-it": DATA / "model_configs/medgemma-27b-it",
}


@pytest.mark.parametrize("folder", sorted(FOLDERS))
@pytest.mark.parametrize("conv", CONVERSATIONS, ids=lambda c: c.name)
def test_rendering_equals_transformers(folder: str, conv) -> None:  # type: ignore[no-untyped-def]
    template = load_chat_template(FOLDERS[folder])
    assert template is not None
    got = render_chat(
        template,
        conv.messages,
        add_generation_prompt=conv.add_generation_prompt,
        extra=EXPECTED["kwargs"],
    )
    assert got == EXPECTED[folder][conv.name]


def test_where_the_template_comes_from() -> None:
    assert load_chat_template(FOLDERS["smollm2"]).source == "chat_template.jinja"  # type: ignore[union-attr]
    assert load_chat_template(FOLDERS["qwen3-30b"]).source == "tokenizer_config.json"  # type: ignore[union-attr]
    # the base Qwen-7B has a tokenizer config without a template
    assert load_chat_template(DATA / "model_configs/tokenizers/qwen-7b") is None
    smol = load_chat_template(FOLDERS["smollm2"])
    assert smol is not None
    assert smol.special_tokens == {
        "bos_token": "<|im_start|>",
        "eos_token": "<|im_end|>",
        "unk_token": "<|endoftext|>",
        "pad_token": "<|im_end|>",
    }
    # Llama's tokens come from special_tokens_map.json (no tokenizer_config.json there)
    llama = load_chat_template(FOLDERS["llama3.1"])
    assert llama is not None and llama.special_tokens["bos_token"] == "<|begin_of_text|>"


def test_chat_template_jinja_wins_over_the_config(tmp_path: Path) -> None:
    (tmp_path / "tokenizer_config.json").write_text(
        json.dumps({"chat_template": "config", "bos_token": {"content": "<s>", "lstrip": False}})
    )
    (tmp_path / "chat_template.jinja").write_text("{{ bos_token }}file")
    t = load_chat_template(tmp_path)
    assert t is not None and t.source == "chat_template.jinja"
    assert render_chat(t, [], add_generation_prompt=False) == "<s>file"


def test_named_templates_use_default(tmp_path: Path) -> None:
    named = [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": named}))
    t = load_chat_template(tmp_path)
    assert t is not None and t.text == "D"
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": named[:1]}))
    with pytest.raises(TemplateLoadError, match="none named 'default'"):
        load_chat_template(tmp_path)


def test_legacy_chat_template_json(tmp_path: Path) -> None:
    (tmp_path / "chat_template.json").write_text(json.dumps({"chat_template": "P"}))
    t = load_chat_template(tmp_path)
    assert t is not None and (t.source, t.text) == ("chat_template.json", "P")


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", ""])
def test_unreadable_config_is_a_load_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "tokenizer_config.json").write_text(text)
    with pytest.raises(TemplateLoadError, match=r"tokenizer_config\.json"):
        load_chat_template(tmp_path)


def test_empty_folder_has_no_template(tmp_path: Path) -> None:
    assert load_chat_template(tmp_path) is None


def tpl(text: str) -> ChatTemplate:
    return ChatTemplate("chat_template.jinja", text)


def test_raise_exception_is_a_render_error() -> None:
    t = tpl(
        "{% if messages[0]['role'] == 'system' %}{{ raise_exception('no system role') }}{% endif %}"
    )
    with pytest.raises(TemplateRenderError, match="no system role"):
        render_chat(t, [{"role": "system", "content": "x"}], add_generation_prompt=True)


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(TemplateRenderError, match=r"does not compile \(line 2"):
        render_chat(tpl("ok\n{% if %}"), [], add_generation_prompt=True)


def test_any_error_inside_a_template_is_a_render_error() -> None:
    with pytest.raises(TemplateRenderError, match="ZeroDivisionError"):
        render_chat(tpl("{{ 1 / 0 }}"), [], add_generation_prompt=True)


def test_the_sandbox_refuses_attribute_tricks() -> None:
    with pytest.raises(TemplateRenderError):
        render_chat(
            tpl("{{ ''.__class__.__mro__[1].__subclasses__() }}"), [], add_generation_prompt=True
        )


def test_transformers_conventions() -> None:
    msgs = [{"role": "user", "content": "长城 <b>&"}]
    # tojson keeps non-ASCII and HTML as they are; trim_blocks eats the newline after a tag;
    # lstrip_blocks the indentation before it; {% generation %} renders its body; break works.
    text = (
        "{% for m in messages %}\n"
        "    {% generation %}{{ m | tojson }}{% endgeneration %}\n"
        "{% break %}{% endfor %}"
        "{{ strftime_now('%Y') | length }}"
    )
    assert render_chat(tpl(text), msgs, add_generation_prompt=False) == (
        '{"role": "user", "content": "长城 <b>&"}' + "4"
    )
