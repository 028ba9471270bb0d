"""The compatibility tables: support-matrix rows, architecture features, model facts, memory.

Used by the report's section 6 and by ``modelverify compat`` on the terminal.
"""

from __future__ import annotations

from typing import Any

D = dict[str, Any]

S = {
    "zh": {
        "matrix": "根据 vLLM-Ascend 支持矩阵",
        "matrix_ref": "(本机不是昇腾设备:仅供参考,不参与判定)",
        "family": "模型系列",
        "support": "支持状态",
        "note": "说明",
        "hw": "硬件",
        "row": "行号",
        "deciding": "← 判定依据",
        "no_rows": "支持矩阵中没有该模型系列的条目(状态未知)。",
        "features": "架构特点",
        "feature": "特性",
        "value": "说明",
        "compat": "兼容性",
        "basis": "依据",
        "facts": "模型参数",
        "item": "项目",
        "memory": "显存/内存估算(启动前预测)",
        "findings": "判定理由",
        "supported": "支持",
        "experimental": "实验性支持",
        "untested": "未验证",
        "unsupported": "不支持",
        "unknown": "未知",
    },
    "en": {
        "matrix": "vLLM-Ascend support matrix",
        "matrix_ref": "(this host is not Ascend: for reference only, not part of the verdict)",
        "family": "Model family",
        "support": "Support",
        "note": "Note",
        "hw": "Hardware",
        "row": "Line",
        "deciding": "← decides",
        "no_rows": "The matrix has no row for this model family (status unknown).",
        "features": "Architecture features",
        "feature": "Feature",
        "value": "Value",
        "compat": "Compatibility",
        "basis": "Basis",
        "facts": "Model facts",
        "item": "Item",
        "memory": "Memory fit (predicted before launch)",
        "findings": "Reasons",
        "supported": "supported",
        "experimental": "experimental",
        "untested": "untested",
        "unsupported": "unsupported",
        "unknown": "unknown",
    },
}
ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌"}


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        return "—" if v is None or v == "" else str(v).replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(out)


def _gib(b: float | None) -> str | None:
    return None if b is None else f"{b / 2**30:.2f} GiB"


def _int(v: Any) -> str | None:
    return None if v is None else f"{v:,}"


def matrix_table(c: D, lang: str) -> str:
    s = S[lang]
    m = c.get("matrix") or {}
    title = f"**{s['matrix']}** ({c.get('matrix_source')}, {m.get('hardware')})"
    if not c.get("matrix_decides"):
        title += " " + s["matrix_ref"]
    rows = m.get("family_rows") or []
    if not rows:
        return title + "\n\n" + s["no_rows"]
    deciding = (m.get("deciding") or {}).get("line")
    seen: set[tuple[str, str]] = set()
    body = []
    for r in rows:
        key = (r["model"], r["hardware"])
        if key in seen:
            continue
        seen.add(key)
        word = s.get(r["support"], r["support"])
        note = r.get("note") or ""
        if r.get("line") == deciding:
            note = (note + " " + s["deciding"]).strip()
        body.append(
            [
                r["model"],
                f"{r.get('symbol') or ''} {word}".strip(),
                r["hardware"],
                note,
                r.get("line"),
            ]
        )
    return title + "\n\n" + _table([s["family"], s["support"], s["hw"], s["note"], s["row"]], body)


def features_table(c: D, lang: str) -> str:
    s = S[lang]
    rows = [
        [f["feature"], f["value"], f"{ICON.get(f['status'], '⏭️')} {f['status']}", f.get("basis")]
        for f in c.get("features") or []
    ]
    return f"**{s['features']}**\n\n" + _table(
        [s["feature"], s["value"], s["compat"], s["basis"]], rows
    )


def facts_table(c: D, lang: str) -> str:
    s = S[lang]
    m = c.get("model") or {}
    lay = m.get("layers") or {}
    w = m.get("weights") or {}
    moe = (
        f"{m.get('moe_experts')} × top-{m.get('moe_experts_per_token')}"
        if m.get("moe_experts")
        else None
    )
    rows: list[list[Any]] = [
        [
            "architectures / model_type",
            f"{', '.join(m.get('architectures') or [])} / {m.get('model_type')}",
        ],
        [
            "layers (full / sliding / linear)",
            f"{m.get('num_layers')} ({lay.get('full_attention')} / {lay.get('sliding_attention')} / "
            f"{lay.get('linear_attention')}; from {lay.get('source')})",
        ],
        [
            "hidden / heads / KV heads / head_dim",
            f"{m.get('hidden_size')} / {m.get('num_attention_heads')} / {m.get('num_kv_heads')} / "
            f"{m.get('head_dim')}{'' if m.get('head_dim_explicit') else ' (hidden/heads)'}",
        ],
        [
            "MLA (kv_lora_rank + rope)",
            f"{m.get('mla_kv_lora_rank')} + {m.get('mla_rope_head_dim')}"
            if m.get("mla_kv_lora_rank")
            else None,
        ],
        ["MoE experts", moe],
        ["MTP layers", m.get("mtp_layers") or None],
        [
            "vocab / max_position_embeddings",
            f"{_int(m.get('vocab_size'))} / {_int(m.get('max_position_embeddings'))}",
        ],
        ["rope_scaling", m.get("rope_scaling")],
        ["dtype / quantization", f"{m.get('dtype')} / {m.get('quantization') or 'none'}"],
        [
            "parameters / weight bytes",
            f"{_int(w.get('parameters'))} / {_gib(w.get('bytes'))} ({w.get('source')})",
        ],
        ["generation_config defaults", m.get("generation_defaults") or None],
    ]
    return f"**{s['facts']}**\n\n" + _table(
        [s["item"], s["value"]], [r for r in rows if r[1] is not None]
    )


def memory_table(c: D, lang: str) -> str:
    s = S[lang]
    kv = c.get("kv") or {}
    mem = c.get("memory") or {}
    chk = c.get("kv_check") or {}
    rows: list[list[Any]] = [
        ["KV cache dtype", f"{kv.get('kv_dtype')} ({kv.get('kv_dtype_bytes')} B)"],
        ["KV bytes / token (per rank)", f"{_int(kv.get('per_token_bytes'))} = {kv.get('formula')}"],
        [
            "sliding-window bytes / token",
            _int(kv.get("sliding_per_token_bytes")) if kv.get("sliding_per_token_bytes") else None,
        ],
        [
            "fixed state / sequence",
            _gib(kv.get("per_sequence_state_bytes"))
            if kv.get("per_sequence_state_bytes")
            else None,
        ],
        ["tensor parallel", kv.get("tensor_parallel")],
        [
            "device",
            f"{c.get('platform')} {c.get('device_name') or ''} {_gib(c.get('device_memory_bytes')) or ''}".strip(),
        ],
        ["KV budget", f"{_gib(mem.get('budget_bytes'))} — {mem.get('budget_source')}"],
        ["block size", mem.get("block_size")],
        ["predicted KV cache tokens", _int(mem.get("predicted_kv_tokens"))],
        ["max model length", _int(mem.get("max_model_len"))],
        [
            "max concurrency at that length",
            f"{mem.get('max_concurrency')}x" if mem.get("max_concurrency") else None,
        ],
        ["largest max model length that fits", _int(mem.get("largest_max_model_len"))],
        [
            "fits",
            {True: "✅", False: "❌"}.get(bool(mem["fits"]))
            if mem.get("fits") is not None
            else None,
        ],
        ["flags that would fit", ", ".join(mem.get("suggestions") or []) or None],
        ["engine reported KV tokens", _int(chk.get("engine_tokens"))],
        ["prediction error", f"{chk['error_pct']:+.2f}%" if chk else None],
    ]
    notes = kv.get("notes") or []
    text = f"**{s['memory']}**\n\n" + _table(
        [s["item"], s["value"]], [r for r in rows if r[1] is not None]
    )
    if notes:
        text += "\n\n" + "\n".join(f"- {n}" for n in notes)
    return text


def findings_list(c: D, lang: str) -> str:
    s = S[lang]
    items = [
        f"- {ICON.get(f['status'], '⏭️')} {f['subject']}: {f['reason']}"
        for f in c.get("findings") or []
    ]
    return f"**{s['findings']}**\n\n" + "\n".join(items) if items else ""


def render_compat(c: D, lang: str = "en") -> str:
    parts = [
        matrix_table(c, lang),
        features_table(c, lang),
        facts_table(c, lang),
        memory_table(c, lang),
        findings_list(c, lang),
        f"{ICON.get(str(c.get('status')), '⏭️')} {c.get('status')}: {c.get('reason')}",
    ]
    return "\n\n".join(p for p in parts if p)


__all__ = [
    "facts_table",
    "features_table",
    "findings_list",
    "matrix_table",
    "memory_table",
    "render_compat",
]
