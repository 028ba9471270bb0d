"""vLLM-Ascend's documented support matrix: parse it and find the rows that decide a model.

The matrix is vLLM-Ascend's ``supported_models.md`` (MkDocs tabs ``=== "A2/A3"`` holding indented
Markdown tables). A copy ships as package data; ``--support-matrix FILE`` reads a newer one.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from modelverify.errors import ConfigError
from modelverify.results import Model

PACKAGED = "vllm-ascend-supported_models.md"
# The quantization methods vLLM-Ascend's platform accepts (``supported_quantization`` in
# vllm_ascend/platform.py at 182b75ea84ff13ece27b57391331ef8935410aea, 2026-08-22); vLLM refuses
# any other ``quant_method`` on the NPU before loading a weight. AWQ and GPTQ are not among them.
ASCEND_QUANTIZATION = (
    "ascend",
    "compressed-tensors",
    "fp8",
    "deepseek_v4_fp8",
    "modelopt_mxfp8",
    "mxfp8",
)
# FP8 checkpoints need FP8 hardware: Ascend 950 (A5). On A2/A3 (910B/910C) vLLM-Ascend has no FP8
# path, so a fp8 checkpoint cannot load there:
# * vLLM-Ascend PR #12826 "Restrict FP8 quantization detection to A5 devices only" (release notes,
#   docs/source/user_guide/release_notes.md at 182b75ea84ff13ece27b57391331ef8935410aea: "restricted
#   FP8 quantization detection to A5 devices"; its commit message: "FP8 quantization is only
#   supported on Ascend A5 devices");
# * yiz-liu (vLLM-Ascend developer) in https://github.com/vllm-project/vllm-ascend/issues/1526 (2026-05-26):
#   "for FP8 you will need the A5, for A2/A3 it's a no go" (on Qwen3-235B-A22B-FP8);
# * vllm_ascend/quantization/fp8_config.py at 182b75ea: AscendFp8Config.get_quant_method raises
#   NotImplementedError (only DeepSeek V4's own fp8 format has kernels, on Ascend 950;
#   https://github.com/vllm-project/vllm-ascend/issues/14466).
# MXFP8 is an Ascend 950 format too (the tutorials' w8a8-mxfp8 weights need 950DT nodes).
FP8_QUANTIZATION = ("fp8", "deepseek_v4_fp8", "modelopt_mxfp8", "mxfp8")
SYMBOLS = {"✅": "supported", "🔵": "experimental", "🟡": "untested", "❌": "unsupported"}
# Family prefixes (normalised row names) for each Hugging Face model_type.
FAMILIES: dict[str, tuple[str, ...]] = {
    "qwen3_5": ("qwen3.5", "qwen3.6"),
    "qwen3_5_moe": ("qwen3.5", "qwen3.6"),
    "qwen3_next": ("qwen3next",),
    "qwen3": ("qwen3dense", "qwen3based"),
    "qwen3_moe": ("qwen330ba3b", "qwen3235ba22b", "qwen3coder30ba3b", "qwen3based"),
    "qwen2": ("qwen2.5", "qwen2", "qwq"),
    "qwen2_moe": ("qwen2based",),
    "qwen3_vl": ("qwen3vl",),
    "qwen3_vl_moe": ("qwen3vl30ba3b", "qwen3vl"),
    "qwen2_vl": ("qwen2vl",),
    "qwen2_5_vl": ("qwen2vl",),
    "llama": ("llama2", "llama3"),
    "mllama": ("mllama",),
    "llama4": ("llama4",),
    "deepseek_v3": ("deepseekv3", "deepseekr1"),
    "deepseek_v32": ("deepseekv3.2",),
    "deepseek_v2": ("deepseekv2.5",),
    "glm4_moe": ("glm4.x",),
    "gemma2": ("gemma2",),
    "gemma3": ("gemma3",),
    "gemma3_text": ("gemma3",),
    "gemma4": ("gemma4",),
    "mistral": ("mistral",),
    "mistral3": ("mistral3",),
    "phi3": ("phi3", "phi4"),
    "minicpm": ("minicpm",),
    "minicpm3": ("minicpm3",),
    "internlm2": ("internlm",),
    "baichuan": ("baichuan",),
    "ernie4_5": ("ernie4.5",),
    "ernie4_5_moe": ("ernie4.5moe",),
    "minimax_m2": ("minimaxm2",),
    "kimi_k2": ("kimik2",),
    "bert": ("bert",),
    "xlm-roberta": ("xlmroberta",),
}


class MatrixRow(Model):
    section: str  # e.g. "Text-Only Language Models / Generative Models / Core Supported Models"
    hardware: str  # the tab ("A2/A3", "Atlas 300I DUO", "Ascend 950 Products") or the row's own
    model: str
    support: str  # supported / experimental / untested / unsupported / unknown
    symbol: str
    note: str = ""
    features: dict[str, str] = {}
    line: int = 0


class Matrix(Model):
    source: str
    rows: list[MatrixRow]


def norm(name: str) -> str:
    return re.sub(r"[\s\-_*`]+", "", name).lower()


def row_names(model: str) -> list[str]:
    """``Llama2/3/3.1/3.2`` -> Llama2, Llama3, Llama3.1, Llama3.2; ``A<br>B`` -> A, B."""
    out: list[str] = []
    for chunk in re.split(r"<br\s*/?>", model):
        if "(" in chunk:  # "DeepSeek Distill (Qwen/Llama)" is one name
            out.append(chunk.strip())
            continue
        parts = [p.strip() for p in chunk.split("/") if p.strip()]
        if not parts:
            continue
        prefix = re.sub(r"[\d.]+$", "", parts[0])
        for p in parts:
            out.append(p if re.match(r"^[A-Za-z]", p) or not prefix else prefix + p)
    return out


def _cells(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|"):
        body = body[:-1]
    return [c.strip() for c in body.split("|")]


def parse_matrix(text: str, source: str = "") -> Matrix:
    heads: dict[int, str] = {}
    tab = ""
    header: list[str] | None = None
    rows: list[MatrixRow] = []
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        m = re.match(r"^(#{2,4})\s+(.*)$", line)
        if m:
            level = len(m.group(1))
            heads = {k: v for k, v in heads.items() if k < level}
            heads[level] = m.group(2).strip()
            tab, header = "", None
            continue
        m = re.match(r'^===\s+"(.*)"', line)
        if m:
            tab, header = m.group(1), None
            continue
        if not line.startswith("|"):
            header = None
            continue
        cells = _cells(line)
        if header is None:
            header = cells
            continue
        if all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
            continue
        rec = dict(zip(header, cells, strict=False))  # short rows leave columns empty
        model = rec.get("Model", "").strip()
        if not model:
            continue
        sym = rec.get("Support", "").strip()
        symbol = next((s for s in SYMBOLS if s in sym), "")
        hw = tab or rec.get("Supported Hardware", "").strip()
        skip = {"Model", "Support", "Note", "Doc", "Supported Hardware"}
        rows.append(
            MatrixRow(
                section=" / ".join(heads[k] for k in sorted(heads) if k >= 2),
                hardware=hw,
                model=model,
                support=SYMBOLS.get(symbol, "unknown"),
                symbol=symbol,
                note=rec.get("Note", "").strip(),
                features={k: v for k, v in rec.items() if k not in skip and v},
                line=no,
            )
        )
    if not rows:
        raise ConfigError(
            f"{source or 'support matrix'} holds no model table: pass vLLM-Ascend's "
            "supported_models.md"
        )
    return Matrix(source=source, rows=rows)


def load_matrix(path: Path | None = None) -> Matrix:
    if path is not None:
        if not path.is_file():
            raise ConfigError(
                f"support matrix {path} does not exist: pass vLLM-Ascend's "
                "docs/source/user_guide/support_matrix/supported_models.md"
            )
        return parse_matrix(path.read_text(encoding="utf-8"), str(path))
    text = resources.files("modelverify.data").joinpath(PACKAGED).read_text(encoding="utf-8")
    return parse_matrix(text, f"packaged {PACKAGED} (see modelverify/data/SOURCES.md)")


def hardware_tab(chip_name: str | None) -> str | None:
    """Which tab of the matrix an ``npu-smi`` chip name belongs to."""
    if not chip_name:
        return None
    n = chip_name.lower().replace(" ", "")
    if "310p" in n or "300i" in n:
        return "Atlas 300I DUO"
    if "950" in n:
        return "Ascend 950 Products"
    if "910" in n or "a2" in n or "a3" in n:
        return "A2/A3"
    return None


def _on_hardware(row: MatrixRow, tab: str) -> bool:
    hw = row.hardware.lower().replace(" ", "")
    t = tab.lower().replace(" ", "")
    if t == "a2/a3":
        return "a2" in hw or "a3" in hw
    return t in hw or hw in t


class MatrixMatch(Model):
    hardware: str
    deciding: MatrixRow | None = None
    how: str = ""  # "model name", "family", "none"
    family_rows: list[MatrixRow] = []


def _is_moe_row(row: MatrixRow) -> bool:
    return bool(re.search(r"-A\d+B", row.model)) or "moe" in row.model.lower()


def match_model(
    matrix: Matrix, name: str, model_type: str | None, tab: str = "A2/A3", moe: bool = False
) -> MatrixMatch:
    """The rows of the model's family on ``tab`` and the one that decides its status."""
    n = norm(name)
    mt = model_type or ""
    fam = FAMILIES.get(mt) or FAMILIES.get(mt.removesuffix("_text"), ())
    named: list[tuple[int, MatrixRow]] = []
    family: list[MatrixRow] = []
    for row in matrix.rows:
        names = [norm(x) for x in row_names(row.model)]
        hit = [x for x in names if x and n.startswith(x)]
        if hit:
            named.append((max(len(x) for x in hit), row))
        if hit or any(x.startswith(f) for x in names for f in fam):
            family.append(row)
    here = [r for r in family if _on_hardware(r, tab)]
    out = MatrixMatch(hardware=tab, family_rows=family)
    named_here = [(k, r) for k, r in named if _on_hardware(r, tab)]
    if named_here:
        # The most specific name wins; among equals, a core row (with feature columns) first.
        named_here.sort(key=lambda kr: (-kr[0], not kr[1].features))
        out.deciding, out.how = named_here[0][1], "model name"
    elif here:
        # Prefer a row of the same kind (dense or MoE), then the more specific family name
        # (FAMILIES lists them specific first: "Qwen3-Dense" before the generic "Qwen3-based"),
        # then the strongest status. The specific row must win even when it says ❌: falling
        # back to a generic 🔵 row would hide the matrix's own "no".
        rank = list(SYMBOLS.values())

        def specificity(r: MatrixRow) -> int:
            names = [norm(x) for x in row_names(r.model)]
            hits = [i for i, f in enumerate(fam) if any(x.startswith(f) for x in names)]
            return min(hits) if hits else len(fam)

        here.sort(
            key=lambda r: (
                _is_moe_row(r) != moe,
                specificity(r),
                rank.index(r.support) if r.support in rank else len(rank),
                not r.features,
            )
        )
        out.deciding, out.how = here[0], "family"
    else:
        out.how = "none"
    return out


__all__ = [
    "ASCEND_QUANTIZATION",
    "FAMILIES",
    "FP8_QUANTIZATION",
    "Matrix",
    "MatrixMatch",
    "MatrixRow",
    "hardware_tab",
    "load_matrix",
    "match_model",
    "norm",
    "parse_matrix",
    "row_names",
]
