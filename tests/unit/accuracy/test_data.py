"""GSM8K data: a wrong bundled file is refused, a bad user file names its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelverify.accuracy.data import GSM8K_LINES, load_items, verify_bundled
from modelverify.errors import DataError


def test_a_bundled_file_with_the_wrong_sha256_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "test.jsonl"
    # the right number of lines, the wrong content
    f.write_text('{"question": "q", "answer": "#### 1"}\n' * GSM8K_LINES)
    with pytest.raises(DataError, match=r"is not the expected file \(sha256 .*reinstall textarena"):
        verify_bundled(f)


def test_a_missing_dataset_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"cannot read dataset .*pass an existing GSM8K-style"):
        load_items(tmp_path / "nope.jsonl")
