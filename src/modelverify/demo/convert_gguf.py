"""Convert a built-in model's GGUF (SmolLM2, Gemma-3) to a safetensors folder vLLM can serve.

This file is run as a script with the *engine's* Python (it needs torch and transformers); the
modelverify package never imports it. Usage::

    ENGINE_PYTHON convert_gguf.py GGUF_FILE OUT_DIR

It writes into ``OUT_DIR.partial`` and renames at the end, so an interrupted conversion never
leaves a folder that looks complete.

transformers' GGUF tokenizer conversion drops the "add <bos>" rule (the saved ``tokenizer.json``
has an empty post-processor), although the GGUF says ``tokenizer.ggml.add_bos_token = true``.
Gemma answers garbage without its ``<bos>``, so the rule is written back from the GGUF's own
metadata.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path


def convert(gguf_file: Path, out_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    src_dir, name = str(gguf_file.parent), gguf_file.name
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(src_dir, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(
        src_dir,
        gguf_file=name,
        dtype=torch.bfloat16,
        quantization_config=GgufConfig(gguf_file=name, dequantize=True),
    )
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    if _gguf_adds_bos(gguf_file):
        keep_bos(tmp)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)


def _gguf_adds_bos(gguf_file: Path) -> bool:
    from gguf import GGUFReader

    field = GGUFReader(str(gguf_file)).fields.get("tokenizer.ggml.add_bos_token")
    return bool(field is not None and field.data and bool(field.parts[field.data[0]][0]))


def keep_bos(folder: Path) -> None:
    """Make the saved tokenizer prepend its ``bos_token`` (fast tokenizer and config agree)."""
    cfg_path, tok_path = folder / "tokenizer_config.json", folder / "tokenizer.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    tok = json.loads(tok_path.read_text(encoding="utf-8"))
    bos = cfg.get("bos_token")
    if isinstance(bos, dict):
        bos = bos.get("content")
    ids = [t["id"] for t in tok.get("added_tokens", []) if t.get("content") == bos]
    if not bos or not ids:
        raise SystemExit(f"the GGUF asks for <bos> but the tokenizer has no bos token ({bos!r})")
    seq = {"Sequence": {"id": "A", "type_id": 0}}
    seq_b = {"Sequence": {"id": "B", "type_id": 1}}
    mark = {"SpecialToken": {"id": bos, "type_id": 0}}
    tok["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [mark, seq],
        "pair": [mark, seq, {"SpecialToken": {"id": bos, "type_id": 1}}, seq_b],
        "special_tokens": {bos: {"id": bos, "ids": ids[:1], "tokens": [bos]}},
    }
    cfg["add_bos_token"] = True
    tok_path.write_text(json.dumps(tok, ensure_ascii=False), encoding="utf-8")
    cfg_path.write_text(json.dumps(cfg, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: convert_gguf.py GGUF_FILE OUT_DIR")
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
