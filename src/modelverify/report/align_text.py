"""The report's 数值对齐 / Numerical alignment section, from align.json."""

from __future__ import annotations

from typing import Any

from modelverify.report.sections import skipped, table
from modelverify.report.template_text import template_lines

D = dict[str, Any]

WORDS: dict[str, dict[str, str]] = {
    "title": {"zh": "数值对齐", "en": "Numerical alignment"},
    "intro": {
        "zh": "服务端的 top-20 logprob（prompt_logprobs 与续写 logprobs）与参考（{ref}）逐位置比较；"
        "参考在相同的 token id 上 teacher-forcing 运行。",
        "en": "The server's top-20 logprobs (prompt_logprobs and continuation logprobs) compared "
        "position by position with the reference ({ref}), teacher-forced on the same token ids.",
    },
    "tol": {
        "zh": "阈值：prefill 平均 |Δ logprob| ≤ {p:.4f} nats，decode ≤ {d:.4f} nats（每 {w} 个位置一窗）；"
        "来源：{src}；{dt}。贪心分歧仅当参考 top-1 领先 top-2 超过 {tie} nats 时判为失败（{tsrc}）。",
        "en": "Thresholds: prefill mean |Δ logprob| ≤ {p:.4f} nats, decode ≤ {d:.4f} nats (per "
        "window of {w} positions); source: {src}; {dt}. A greedy divergence fails only where the "
        "reference's top-1 led its top-2 by more than {tie} nats ({tsrc}).",
    },
    "head": {
        "zh": "提示|结果|prompt/续写 token|贪心一致|prefill 平均/最大 Δ|decode 平均/最大 Δ|最差窗口|近似平局|首个分歧|说明",
        "en": "prompt|result|prompt/continuation tokens|greedy agreement|prefill mean/max Δ|decode mean/max Δ|worst window|near ties|first divergence|note",
    },
    "div": {
        "zh": "首个分歧（{id}）：位置 {pos}（{phase}），服务端 {st!r}，参考 {rt!r}，参考领先 {m} nats{clear}",
        "en": "First divergence ({id}): position {pos} ({phase}), served {st!r}, reference {rt!r}, "
        "reference margin {m} nats{clear}",
    },
    "clear": {"zh": "（明确领先：失败）", "en": " (clear lead: a failure)"},
    "cost": {
        "zh": "参考子进程用时 {t} s，峰值内存 {m}；服务端请求用时 {s} s。",
        "en": "Reference subprocess {t} s, peak memory {m}; served requests {s} s.",
    },
}


def _w(key: str, lang: str) -> str:
    return WORDS[key]["zh" if lang == "zh" else "en"]


def _f(v: Any, fmt: str = "{:.3f}") -> str:
    return fmt.format(v) if isinstance(v, int | float) else "—"


ICON = {"pass": "✅", "fail": "❌", "warn": "⚠️", "not_judged": "ℹ️", "skipped": "⏭️"}


def align_section(align: D | None, t: Any, lang: str) -> str:
    out = [f"## {_w('title', lang)}"]
    if align is None or align.get("status") in (None, "skipped"):
        return "\n\n".join([*out, skipped(align, t)])
    if align.get("status") == "not_judged":
        out.append(f"ℹ️ {align.get('reason', '')}")
        return "\n\n".join(out)
    out.append(_w("intro", lang).format(ref=align.get("reference_source") or "?"))
    tol = align.get("tolerances") or {}
    if tol:
        out.append(
            _w("tol", lang).format(
                p=tol.get("prefill_mean_abs", 0),
                d=tol.get("decode_mean_abs", 0),
                w=tol.get("window"),
                src=tol.get("source"),
                dt=tol.get("dtype_note"),
                tie=tol.get("tie_margin"),
                tsrc=tol.get("tie_source"),
            )
        )
    rows = []
    for p in align.get("prompts", []):
        w = p.get("worst_window") or {}
        d = p.get("first_divergence") or {}
        rows.append(
            [
                f"`{p['id']}`",
                ICON.get(p.get("status", ""), "?"),
                f"{p.get('prompt_tokens')}/{p.get('continuation_tokens')}",
                _f(p.get("greedy_agreement"), "{:.1%}"),
                f"{_f(p.get('prefill_mean'))} / {_f(p.get('prefill_max'))}",
                f"{_f(p.get('decode_mean'))} / {_f(p.get('decode_max'))}",
                f"{w.get('phase', '')} {w.get('start', '')}–{w.get('end', '')}: {_f(w.get('mean'))}"
                if w
                else "—",
                str(p.get("near_ties", 0)),
                f"{d.get('position')}: {d.get('served_text', '')!r} / {d.get('reference_text', '')!r}"
                if d
                else "—",
                (p.get("reason") or "").replace("|", "\\|")[:300],
            ]
        )
    out.append(table(_w("head", lang).split("|"), rows))
    for p in align.get("prompts", []):
        d = p.get("first_divergence")
        if d and (p.get("status") == "fail" or d.get("clear")):
            out.append(
                _w("div", lang).format(
                    id=p["id"],
                    pos=d.get("position"),
                    phase=d.get("phase"),
                    st=d.get("served_text"),
                    rt=d.get("reference_text"),
                    m=_f(d.get("reference_margin")),
                    clear=_w("clear", lang) if d.get("clear") else "",
                )
            )
    rss = align.get("reference_peak_rss_bytes")
    if align.get("reference_duration_s") is not None:
        out.append(
            _w("cost", lang).format(
                t=_f(align.get("reference_duration_s"), "{:.1f}"),
                m=f"{rss / 2**30:.2f} GiB" if isinstance(rss, int) else "—",
                s=_f(align.get("served_duration_s"), "{:.1f}"),
            )
        )
    template = template_lines(align.get("template"), lang)
    if template:
        out.append("\n".join(template))
    out.append(
        f"**{t['conclusion']}:** {ICON.get(align.get('status', ''), '?')} {align.get('reason', '')}"
    )
    return "\n\n".join(out)


def delta_series(align: D | None) -> dict[str, list[tuple[float, float]]]:
    """|Δ logprob| by position per prompt, for the HTML plot (long prompts thinned to 400 points)."""
    out: dict[str, list[tuple[float, float]]] = {}
    for p in (align or {}).get("prompts", []):
        vals = p.get("delta_by_position") or []
        step = max(1, len(vals) // 400)
        pts = [
            (float(i + 1), float(max(v for v in vals[i : i + step] if v is not None)))
            for i in range(0, len(vals), step)
            if any(v is not None for v in vals[i : i + step])
        ]
        if pts:
            out[p["id"]] = pts
    return out


__all__ = ["WORDS", "align_section", "delta_series"]
