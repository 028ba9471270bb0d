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
        "quoted": "阶段原文:",
        "pass": "通过",
        "warn": "警告",
        "fail": "不支持",
        "skipped": "跳过",
        "f_arch": "架构",
        "f_attn": "注意力机制",
        "f_quant": "数据类型 / 量化",
        "f_tok": "分词器 / 对话模板",
        "f_graph": "图模式",
        "f_tp": "张量并行",
        "f_moe": "MoE",
        "f_remote": "远程代码",
        "m_arch": "架构 / model_type",
        "m_layers": "层数 (full / sliding / linear)",
        "m_from": "来源",
        "m_dims": "hidden_size / 注意力头 / KV 头 / head_dim",
        "m_mla": "MLA (kv_lora_rank + rope)",
        "m_moe": "MoE 专家",
        "m_mtp": "MTP 层",
        "m_vocab": "词表 / max_position_embeddings",
        "m_dtype": "dtype / 量化",
        "m_none": "无",
        "m_params": "参数量 / 权重字节",
        "m_gen": "generation_config 默认值",
        "k_dtype": "KV 缓存 dtype",
        "k_bytes": "每 token KV 字节 (每个 rank)",
        "k_sliding": "滑动窗口层每 token 字节",
        "k_state": "每序列固定状态",
        "k_tp": "张量并行",
        "k_device": "设备",
        "k_budget": "KV 预算",
        "k_block": "块大小 (block size)",
        "k_pred": "预测 KV 缓存 tokens",
        "k_mml": "最大模型长度",
        "k_conc": "该长度下最大并发",
        "k_largest": "可容纳的最大模型长度",
        "k_fits": "是否放得下",
        "k_flags": "可行的参数",
        "k_engine": "引擎实测 KV tokens",
        "k_err": "预测误差",
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
        "quoted": "",
        "pass": "pass",
        "warn": "warn",
        "fail": "fail",
        "skipped": "skipped",
        "f_arch": "architecture",
        "f_attn": "attention",
        "f_quant": "dtype / quantization",
        "f_tok": "tokenizer / chat template",
        "f_graph": "graph mode",
        "f_tp": "tensor parallel",
        "f_moe": "MoE",
        "f_remote": "remote code",
        "m_arch": "architectures / model_type",
        "m_layers": "layers (full / sliding / linear)",
        "m_from": "from",
        "m_dims": "hidden / heads / KV heads / head_dim",
        "m_mla": "MLA (kv_lora_rank + rope)",
        "m_moe": "MoE experts",
        "m_mtp": "MTP layers",
        "m_vocab": "vocab / max_position_embeddings",
        "m_dtype": "dtype / quantization",
        "m_none": "none",
        "m_params": "parameters / weight bytes",
        "m_gen": "generation_config defaults",
        "k_dtype": "KV cache dtype",
        "k_bytes": "KV bytes / token (per rank)",
        "k_sliding": "sliding-window bytes / token",
        "k_state": "fixed state / sequence",
        "k_tp": "tensor parallel",
        "k_device": "device",
        "k_budget": "KV budget",
        "k_block": "block size",
        "k_pred": "predicted KV cache tokens",
        "k_mml": "max model length",
        "k_conc": "max concurrency at that length",
        "k_largest": "largest max model length that fits",
        "k_fits": "fits",
        "k_flags": "flags that would fit",
        "k_engine": "engine reported KV tokens",
        "k_err": "prediction error",
    },
}
SUBJECT_ZH = {
    "model folder": "模型目录",
    "vLLM model registry": "vLLM 模型注册表",
    "vLLM-Ascend matrix": "vLLM-Ascend 支持矩阵",
    "memory": "内存",
}
SUGGESTION_ZH = {
    "a quantized model": "改用量化模型",
    "a machine with more memory": "换内存更大的机器",
}
FEATURE_KEYS = {
    "architecture": "f_arch",
    "attention": "f_attn",
    "dtype / quantization": "f_quant",
    "tokenizer / chat template": "f_tok",
    "graph mode": "f_graph",
    "tensor parallel": "f_tp",
    "MoE": "f_moe",
    "remote code": "f_remote",
}
# The compat stage's fixed basis phrases (compat/stage.py build_features), in Chinese.
BASIS_ZH = [
    (r"vLLM registry \((.+)\)", r"vLLM 模型注册表 (\1)"),
    (r"matrix row '(.+)' \(line (\d+)\)", r"支持矩阵行 \1(第 \2 行)"),
    (r"matrix row \"(.+)\" \(line (\d+)\)", r"支持矩阵行 \1(第 \2 行)"),
    (r"served by the registry's model class", "由注册表中的模型类加载"),
    (r"matrix column (.+)", r"支持矩阵列 \1"),
    (
        r"(.+) on Ascend: check vLLM-Ascend's quantization guide",
        r"昇腾上的 \1:请查阅 vLLM-Ascend 量化指南",
    ),
    (r"float weights", "浮点权重"),
    (r"engine decides at load", "由引擎在加载时决定"),
    (r"chat template needed for /v1/chat/completions", "`/v1/chat/completions` 需要对话模板"),
    (r"not listed in the matrix", "支持矩阵未列出"),
    (r"vLLM default", "vLLM 默认"),
    (r"vLLM CPU backend", "vLLM CPU 后端"),
    (r"registry model class", "注册表中的模型类"),
    (r"--trust-remote-code given", "已给出 `--trust-remote-code`"),
    (r"add --trust-remote-code after reviewing the code", "审阅代码后加上 `--trust-remote-code`"),
]
VALUE_ZH = [
    (r"chat template yes \((.*)\)", r"对话模板 有 (\1)"),
    (r"chat template none", "对话模板 无"),
    (r"^unknown", "未知"),
    (r"(\d+) experts, (\d+) per token", r"\1 个专家,每 token 激活 \2 个"),
]


def _zh(text: str, table: list[tuple[str, str]], lang: str, whole: bool) -> str:
    """A compat-stage phrase in the report's language; unknown phrases are quoted as they are."""
    import re

    if lang == "en" or not text:
        return text
    out = text
    for pat, rep in table:
        new = re.sub(pat, rep, out) if not whole else re.sub(f"^{pat}$", rep, out)
        if new != out:
            out = new
            if whole:
                return out
    return out if (not whole or out != text) else S["zh"]["quoted"] + text


def suggestion_text(items: list[str], lang: str) -> str:
    """Flags as code, the other suggestions in the report's language."""
    words = {} if lang == "en" else SUGGESTION_ZH
    return ", ".join(words.get(x) or (f"`{x}`" if lang != "en" else x) for x in items)


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
    title = f"**{s['matrix']}** (`{c.get('matrix_source')}`, {m.get('hardware')})"
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
        [
            s.get(FEATURE_KEYS.get(f["feature"], ""), f["feature"]),
            _zh(str(f["value"]), VALUE_ZH, lang, whole=False),
            f"{ICON.get(f['status'], '⏭️')} {s.get(f['status'], f['status'])}",
            _zh(str(f.get("basis") or ""), BASIS_ZH, lang, whole=True),
        ]
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
            s["m_arch"],
            f"{', '.join(m.get('architectures') or [])} / {m.get('model_type')}",
        ],
        [
            s["m_layers"],
            f"{m.get('num_layers')} ({lay.get('full_attention')} / {lay.get('sliding_attention')} / "
            f"{lay.get('linear_attention')}; {s['m_from']} `{lay.get('source')}`)",
        ],
        [
            s["m_dims"],
            f"{m.get('hidden_size')} / {m.get('num_attention_heads')} / {m.get('num_kv_heads')} / "
            f"{m.get('head_dim')}{'' if m.get('head_dim_explicit') else ' (hidden/heads)'}",
        ],
        [
            s["m_mla"],
            f"{m.get('mla_kv_lora_rank')} + {m.get('mla_rope_head_dim')}"
            if m.get("mla_kv_lora_rank")
            else None,
        ],
        [s["m_moe"], moe],
        [s["m_mtp"], m.get("mtp_layers") or None],
        [
            s["m_vocab"],
            f"{_int(m.get('vocab_size'))} / {_int(m.get('max_position_embeddings'))}",
        ],
        ["rope_scaling", m.get("rope_scaling")],
        [s["m_dtype"], f"{m.get('dtype')} / {m.get('quantization') or s['m_none']}"],
        [
            s["m_params"],
            f"{_int(w.get('parameters'))} / {_gib(w.get('bytes'))} ({s['quoted']}{w.get('source')})",
        ],
        [s["m_gen"], m.get("generation_defaults") or None],
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
        [s["k_dtype"], f"{kv.get('kv_dtype')} ({kv.get('kv_dtype_bytes')} B)"],
        [s["k_bytes"], f"{_int(kv.get('per_token_bytes'))} = `{kv.get('formula')}`"],
        [
            s["k_sliding"],
            _int(kv.get("sliding_per_token_bytes")) if kv.get("sliding_per_token_bytes") else None,
        ],
        [
            s["k_state"],
            _gib(kv.get("per_sequence_state_bytes"))
            if kv.get("per_sequence_state_bytes")
            else None,
        ],
        [s["k_tp"], kv.get("tensor_parallel")],
        [
            s["k_device"],
            f"{c.get('platform')} {c.get('device_name') or ''} {_gib(c.get('device_memory_bytes')) or ''}".strip(),
        ],
        [
            s["k_budget"],
            f"{_gib(mem.get('budget_bytes'))} — {s['quoted']}{mem.get('budget_source')}",
        ],
        [s["k_block"], mem.get("block_size")],
        [s["k_pred"], _int(mem.get("predicted_kv_tokens"))],
        [s["k_mml"], _int(mem.get("max_model_len"))],
        [
            s["k_conc"],
            f"{mem.get('max_concurrency')}x" if mem.get("max_concurrency") else None,
        ],
        [s["k_largest"], _int(mem.get("largest_max_model_len"))],
        [
            s["k_fits"],
            {True: "✅", False: "❌"}.get(bool(mem["fits"]))
            if mem.get("fits") is not None
            else None,
        ],
        [s["k_flags"], suggestion_text(mem.get("suggestions") or [], lang) or None],
        [s["k_engine"], _int(chk.get("engine_tokens"))],
        [s["k_err"], f"{chk['error_pct']:+.2f}%" if chk else None],
    ]
    notes = kv.get("notes") or []
    text = f"**{s['memory']}**\n\n" + _table(
        [s["item"], s["value"]], [r for r in rows if r[1] is not None]
    )
    if notes:
        text += "\n\n" + "\n".join(f"- {s['quoted']}{n}" for n in notes)
    return text


VERDICT_ICON = {
    "supported": "✅",
    "supported with caveats": "⚠️",
    "unknown": "❔",
    "unsupported": "❌",
}


def verdict_text(c: D, lang: str) -> str:
    """The four-word support verdict, the source and matrix row that decided it, its caveats."""
    from modelverify.report.i18n import strings

    t = strings(lang)
    v = c.get("verdict") or {}
    if not v:
        return ""
    word = str(v.get("word"))
    head = f"**{t['compat_verdict'].format(word=t.get('verdict_' + word, word))}** {VERDICT_ICON.get(word, '')}"
    by = t["compat_verdict_by"].format(
        by=t.get("by_" + str(v.get("decided_by")), v.get("decided_by"))
    )
    row = v.get("row")
    if row:
        by += (", " if lang == "en" else ",") + t["compat_verdict_row"].format(
            line=row.get("line"), row=f"`{row.get('model')}`", hw=row.get("hardware")
        )
    lines = [f"{head} — {by}" if lang == "en" else f"{head}({by})"]
    for key, items in (
        ("compat_blockers", v.get("blockers")),
        ("compat_caveats", v.get("caveats")),
    ):
        if items:
            lines.append(f"{t[key]}:")
            lines += [f"- {S[lang]['quoted']}{x}" for x in items]
    return "\n".join(lines)


def findings_list(c: D, lang: str) -> str:
    s = S[lang]
    subjects = {} if lang == "en" else SUBJECT_ZH
    items = [
        f"- {ICON.get(f['status'], '⏭️')} {subjects.get(f['subject'], f['subject'])}: "
        f"{s['quoted']}{f['reason']}"
        for f in c.get("findings") or []
    ]
    verdict = verdict_text(c, lang)
    body = f"**{s['findings']}**\n\n" + "\n".join(items) if items else ""
    return "\n\n".join(p for p in (verdict, body) if p)


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
    "verdict_text",
]
