"""The served-template check as report text, from results recorded on the real engine.

recorded_pass.json / recorded_fail.json: ``check_served_template`` against the demo model served
by vLLM CPU 0.32.0, healthy and with ``--chat-template tests/data/chat_templates/llama2_style.jinja``
(see tests/data/chat_templates/SOURCES.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from modelverify.align.template import TemplateCheck
from modelverify.report.template_text import T, template_lines

DATA = Path(__file__).resolve().parents[2] / "data/chat_templates"


def recorded(name: str) -> TemplateCheck:
    return TemplateCheck.model_validate_json((DATA / f"{name}.json").read_text(encoding="utf-8"))


def test_every_key_has_both_languages() -> None:
    assert set(T["zh"]) == set(T["en"])


def test_healthy_is_one_conclusion_and_a_table() -> None:
    md = "\n".join(template_lines(recorded("recorded_pass"), "en"))
    assert (
        "✅ the served prompt equals the model folder's chat template (chat_template.jinja)" in md
    )
    assert "| chinese | yes | ✅ | 49 | 49 | — |" in md
    assert "Folder template" not in md  # no side-by-side when nothing differs
    zh = "\n".join(template_lines(recorded("recorded_pass"), "zh"))
    assert "逐 token 一致 (5/5 个对话)" in zh


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_different_template_shows_both_renderings_side_by_side(lang: str) -> None:
    lines = template_lines(recorded("recorded_fail"), lang)
    md = "\n".join(lines)
    assert "❌" in md
    # the first differing line, as the real engine built it, next to the folder's
    assert (
        "| ▶ 1 | `<\\|im_start\\|>system` | `<\\|im_start\\|>[INST] What is 2 + 3? [/INST]` |" in md
    )
    assert "`[INST] <<SYS>>`" in md.replace("<\\|im_start\\|>", "")
    assert "(9690)" in md and "(75)" in md  # the first differing token ids
    assert md.count("▶ 1") == 2  # two conversations shown side by side, all five in the table
    assert md.count("\n| no_generation_prompt |") == 1


def test_the_json_form_and_the_model_give_the_same_text() -> None:
    res = recorded("recorded_fail")
    assert template_lines(res, "en") == template_lines(res.model_dump(mode="json"), "en")


def test_not_judged_and_missing_are_not_a_pass() -> None:
    nj = TemplateCheck(status="not_judged", reason="the model folder has no chat template")  # type: ignore[arg-type]
    md = "\n".join(template_lines(nj, "zh"))
    assert "ℹ️ 未判定:the model folder has no chat template" in md and "✅" not in md
    assert template_lines(None, "en") == []
