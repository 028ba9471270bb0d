"""The served chat template check as Markdown lines, in the report's language.

For the align section (数值对齐 / Numerical alignment): a conclusion, one row per conversation,
and for each conversation that differs the two renderings side by side, line by line, with the
first differing line marked. Built from the check's JSON (or the model itself), so the Chinese
report says it in Chinese.
"""

from __future__ import annotations

from typing import Any

from modelverify.align.template import TemplateCheck
from modelverify.report.sections import table

D = dict[str, Any]

T: dict[str, dict[str, str]] = {
    "zh": {
        "title": "服务端对话模板",
        "conclusion": "结论",
        "pass": "服务端构建的提示词与模型目录的对话模板 ({source}) 逐 token 一致 ({n}/{m} 个对话)",
        "fail": "服务端构建的提示词与模型目录的对话模板 ({source}) 不一致:{k}/{m} 个对话不同 ({names})",
        "not_judged": "未判定:{reason}",
        "conv": "对话",
        "gen": "生成提示",
        "result": "结果",
        "served_n": "服务端 token 数",
        "local_n": "模板 token 数",
        "first": "首个差异",
        "at": "第 {line} 行,第 {tok} 个 token",
        "at_tok": "第 {tok} 个 token (文本相同)",
        "yes": "是",
        "no": "否",
        "side": "对话 {name}:左为模型目录模板渲染,右为服务端实际构建 (`/tokenize` + `/detokenize`),▶ 标出首个不同的行",
        "line": "行",
        "local": "模型目录模板",
        "served": "服务端",
        "empty": "(空行)",
        "none": "(无此行)",
        "more": "… 另有 {n} 行未列出",
        "tokens": "首个不同的 token:模板 {local},服务端 {served}",
    },
    "en": {
        "title": "Served chat template",
        "conclusion": "Conclusion",
        "pass": "the served prompt equals the model folder's chat template ({source}) token for token ({n}/{m} conversations)",
        "fail": "the served prompt differs from the model folder's chat template ({source}): {k}/{m} conversations differ ({names})",
        "not_judged": "not judged: {reason}",
        "conv": "Conversation",
        "gen": "Generation prompt",
        "result": "Result",
        "served_n": "Served tokens",
        "local_n": "Template tokens",
        "first": "First difference",
        "at": "line {line}, token {tok}",
        "at_tok": "token {tok} (same text)",
        "yes": "yes",
        "no": "no",
        "side": "Conversation {name}: left the model folder's template, right what the server built (`/tokenize` + `/detokenize`); ▶ marks the first differing line",
        "line": "Line",
        "local": "Folder template",
        "served": "Server",
        "empty": "(empty line)",
        "none": "(no such line)",
        "more": "… {n} more lines not shown",
        "tokens": "First differing token: template {local}, server {served}",
    },
}

ICON = {"pass": "✅", "fail": "❌", "not_judged": "ℹ️"}
SIDE_BY_SIDE_LINES = 12  # around the first difference; the JSON keeps both renderings whole
SHOWN_DIFFS = 2  # conversations shown side by side; the table lists them all


def _t(lang: str) -> dict[str, str]:
    return T["en" if lang == "en" else "zh"]


def _cell(line: str | None, t: dict[str, str]) -> str:
    if line is None:
        return t["none"]
    if line == "":
        return t["empty"]
    return "`" + line.replace("`", "'") + "`"


def _token(tok: Any, tid: Any, t: dict[str, str]) -> str:
    if tid is None:
        return t["none"]
    return f"`{tok}` ({tid})" if tok is not None else str(tid)


def side_by_side(ev: D, lang: str) -> list[str]:
    """Both renderings of one conversation, line by line, around the first difference."""
    t = _t(lang)
    local = (ev.get("local_text") or "").split("\n")
    served = (ev.get("served_text") or "").split("\n")
    first = (ev.get("first_line") or {}).get("line") or 1
    start = max(0, first - 1 - SIDE_BY_SIDE_LINES // 2)
    end = min(max(len(local), len(served)), start + SIDE_BY_SIDE_LINES)
    rows = []
    for i in range(start, end):
        mark = "▶ " if i + 1 == first else ""
        rows.append(
            [
                f"{mark}{i + 1}",
                _cell(local[i] if i < len(local) else None, t),
                _cell(served[i] if i < len(served) else None, t),
            ]
        )
    lines = [
        t["side"].format(name=ev.get("name")),
        "",
        table([t["line"], t["local"], t["served"]], rows),
    ]
    left = max(len(local), len(served)) - end
    if left > 0:
        lines += ["", t["more"].format(n=left)]
    tok = ev.get("first_token")
    if tok:
        lines += [
            "",
            t["tokens"].format(
                local=_token(tok.get("local_token"), tok.get("local_id"), t),
                served=_token(tok.get("served_token"), tok.get("served_id"), t),
            ),
        ]
    return lines


def _nth(index: Any) -> Any:
    # the JSON keeps a 0-based index; a reader counts tokens from 1, as lines
    return index + 1 if isinstance(index, int) else index


def _first(ev: D, t: dict[str, str]) -> str | None:
    tok = ev.get("first_token")
    if not tok:
        return None
    line = ev.get("first_line")
    if line:
        return t["at"].format(line=line.get("line"), tok=_nth(tok.get("index")))
    return t["at_tok"].format(tok=_nth(tok.get("index")))


def template_lines(check: TemplateCheck | D | None, lang: str = "zh") -> list[str]:
    """Markdown lines for the served chat template check (empty when it did not run)."""
    if check is None:
        return []
    d: D = check.model_dump(mode="json") if isinstance(check, TemplateCheck) else check
    t = _t(lang)
    status = str(d.get("status") or "not_judged")
    convs: list[D] = list(d.get("conversations") or [])
    failed = [c for c in convs if c.get("status") == "fail"]
    judged = [c for c in convs if c.get("status") == "pass"]
    source = d.get("template_source") or "—"
    if status == "pass":
        text = t["pass"].format(source=source, n=len(judged), m=len(convs))
    elif status == "fail" and failed:
        names = ", ".join(str(c.get("name")) for c in failed)
        text = t["fail"].format(source=source, k=len(failed), m=len(convs), names=names)
    elif status == "fail":
        text = str(d.get("reason") or "")
    else:
        text = t["not_judged"].format(reason=d.get("reason") or "")
    lines = [f"**{t['title']}**", "", f"**{t['conclusion']}:** {ICON.get(status, 'ℹ️')} {text}"]
    if convs:
        rows = [
            [
                c.get("name"),
                t["yes"] if c.get("add_generation_prompt") else t["no"],
                ICON.get(str(c.get("status")), "ℹ️"),
                len(c.get("served_ids") or []) or None,
                len(c.get("local_ids") or []) or None,
                _first(c, t) or (c.get("reason") if c.get("status") != "pass" else None),
            ]
            for c in convs
        ]
        heads = [t["conv"], t["gen"], t["result"], t["served_n"], t["local_n"], t["first"]]
        lines += ["", table(heads, rows)]
    for ev in failed[:SHOWN_DIFFS]:
        if ev.get("local_text") is not None and ev.get("served_text") is not None:
            lines += ["", *side_by_side(ev, lang)]
    return lines


__all__ = ["T", "side_by_side", "template_lines"]
