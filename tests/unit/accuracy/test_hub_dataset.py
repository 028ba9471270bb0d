"""--dataset hf:REPO[:CONFIG][@SPLIT]: the real ``datasets`` loading code, run on local files
(a folder of data files is a dataset repo to ``load_dataset``); the hub is never touched."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from modelverify.accuracy import hub
from modelverify.accuracy.data import load_items
from modelverify.accuracy.hub import fetch_to_run_dir, parse_hub_spec
from modelverify.errors import ConfigError, DataError

Q = "Natalia sold clips to 48 of her friends in April, and then she sold half as many in May. How many clips did she sell altogether in April and May?"


def _repo(tmp_path: Path, rows: list[dict[str, object]], name: str = "test.jsonl") -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    return repo


@pytest.mark.parametrize(
    ("text", "repo", "config", "split"),
    [
        ("hf:openai/gsm8k:main@test", "openai/gsm8k", "main", "test"),
        ("hf:openai/gsm8k:main", "openai/gsm8k", "main", "test"),
        ("hf:openai/gsm8k@train", "openai/gsm8k", None, "train"),
    ],
)
def test_spec(text: str, repo: str, config: str | None, split: str) -> None:
    spec = parse_hub_spec(text)
    assert (spec.repo, spec.config, spec.split) == (repo, config, split)


def test_spec_without_a_name_is_bad_input() -> None:
    with pytest.raises(ConfigError, match="name a dataset"):
        parse_hub_spec("hf:@test")


def test_split_is_written_once_into_the_run_directory(tmp_path: Path, monkeypatch) -> None:
    rows = [{"question": Q, "answer": "48 + 24 = 72\n#### 72", "idx": i} for i in range(3)]
    repo = _repo(tmp_path, rows)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    path = fetch_to_run_dir(f"hf:{repo}@test", run_dir)
    items = load_items(path)
    assert [it.answer for it in items] == ["48 + 24 = 72\n#### 72"] * 3
    meta = json.loads((run_dir / "dataset.source.json").read_text())
    assert meta["rows"] == 3 and meta["split"] == "test" and meta["repo"] == str(repo)

    # a resumed run reads its own copy: the library (or the hub) is not asked again
    def no_hub(spec: object) -> list[dict[str, object]]:
        raise AssertionError("loaded twice")

    monkeypatch.setattr(hub, "_rows", no_hub)
    assert fetch_to_run_dir(f"hf:{repo}@test", run_dir) == path


def test_rows_without_question_and_answer_name_the_row(tmp_path: Path) -> None:
    repo = _repo(tmp_path, [{"question": Q, "answer": "#### 72"}, {"problem": Q, "solution": "72"}])
    with pytest.raises(DataError, match=r"row 1: needs string fields 'question' and 'answer'"):
        fetch_to_run_dir(f"hf:{repo}@test", tmp_path)


def test_a_split_that_does_not_exist_says_what_to_do(tmp_path: Path) -> None:
    repo = _repo(tmp_path, [{"question": Q, "answer": "#### 72"}])
    with pytest.raises(DataError, match=r"cannot load it .*check the name, config and split"):
        fetch_to_run_dir(f"hf:{repo}@validation", tmp_path)


def test_without_the_datasets_package_the_message_says_what_to_install(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # import fails as if not installed
    with pytest.raises(DataError, match=r"needs the `datasets` package: pip install"):
        fetch_to_run_dir("hf:openai/gsm8k:main@test", tmp_path)
