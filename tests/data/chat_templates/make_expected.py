"""Writes expected.json: transformers' own rendering of each fixture folder's chat template.

Run once with the engine's Python (it has transformers; modelverify never imports it):

    PYTHONPATH=src /work/main/.venv/bin/python tests/data/chat_templates/make_expected.py

Each folder is loaded with ``AutoTokenizer.from_pretrained`` (so transformers itself finds the
template and the special tokens), borrowing the demo model's ``tokenizer.json`` for the
vocabulary, which the template text does not depend on. ``date_string`` is fixed because the
Llama 3.1 template otherwise prints today's date.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import transformers
from transformers import AutoTokenizer

from modelverify.align.template import CONVERSATIONS

HERE = Path(__file__).resolve().parent
DATA = HERE.parent
VOCAB = Path.home() / ".cache/modelverify/models/SmolLM2-135M-Instruct-bf16/tokenizer.json"
FOLDERS = {
    "smollm2": HERE / "smollm2",
    "llama3.1": HERE / "llama3.1",
    "qwen3-30b": DATA / "model_configs/tokenizers/qwen3-30b",
    "medgemma-27b-it": DATA / "model_configs/medgemma-27b-it",
}
KWARGS = {"date_string": "26 Jul 2024"}


def main() -> None:
    out: dict[str, object] = {"transformers": transformers.__version__, "kwargs": KWARGS}
    for name, folder in FOLDERS.items():
        with tempfile.TemporaryDirectory() as tmp:
            for f in ("tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"):
                if (folder / f).is_file():
                    shutil.copy(folder / f, tmp)
            shutil.copy(VOCAB, tmp)
            tok = AutoTokenizer.from_pretrained(tmp)
            out[name] = {
                c.name: tok.apply_chat_template(
                    c.messages,
                    tokenize=False,
                    add_generation_prompt=c.add_generation_prompt,
                    **KWARGS,
                )
                for c in CONVERSATIONS
            }
    (HERE / "expected.json").write_text(
        json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    print("wrote", HERE / "expected.json", file=sys.stderr)


if __name__ == "__main__":
    main()
