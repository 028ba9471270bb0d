"""GSM8K-style data from the Hugging Face hub, through the ``datasets`` library.

``--dataset hf:REPO[:CONFIG][@SPLIT]`` (e.g. ``hf:openai/gsm8k:main@test``) loads the split with
``datasets.load_dataset`` — the hub when online, its local cache when ``HF_HUB_OFFLINE=1`` — and
writes it once into the run directory as ``dataset.jsonl`` with ``dataset.source.json`` beside
it. The stage then reads that file like any ``--dataset FILE``: a resumed run asks the same items
without touching the hub again, and the report can cite exactly what was asked. REPO may also be
a local folder of data files, which is how the tests exercise this path without a hub.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelverify.errors import ConfigError, DataError
from modelverify.rundir import atomic_write_text

PREFIX = "hf:"


@dataclass(frozen=True)
class HubSpec:
    repo: str
    config: str | None
    split: str

    @property
    def text(self) -> str:
        return (
            f"{PREFIX}{self.repo}" + (f":{self.config}" if self.config else "") + f"@{self.split}"
        )


def is_hub_spec(dataset: str | None) -> bool:
    return bool(dataset) and str(dataset).startswith(PREFIX)


def parse_hub_spec(dataset: str) -> HubSpec:
    """``hf:REPO[:CONFIG][@SPLIT]``; the split defaults to ``test``.

    Raises:
        ConfigError: no repository named.
    """
    body = dataset[len(PREFIX) :]
    body, _, split = body.partition("@")
    repo, _, config = body.partition(":")
    if not repo.strip():
        raise ConfigError(f"--dataset {dataset}: name a dataset, e.g. hf:openai/gsm8k:main@test")
    return HubSpec(repo.strip(), config.strip() or None, split.strip() or "test")


def _rows(spec: HubSpec) -> list[dict[str, Any]]:
    try:
        import datasets  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError as exc:
        raise DataError(
            f"--dataset {spec.text} needs the `datasets` package: pip install 'modelverify[hub]' "
            "(or datasets), or download the split and pass --dataset FILE.jsonl"
        ) from exc
    try:
        ds = datasets.load_dataset(spec.repo, spec.config, split=spec.split)
    except Exception as exc:  # the library raises many kinds: offline, no such split, auth
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise DataError(
            f"--dataset {spec.text}: cannot load it ({type(exc).__name__}: {first}); online, "
            "check the name, config and split; offline (HF_HUB_OFFLINE=1) it must be in the "
            "local cache, or pass --dataset FILE.jsonl"
        ) from exc
    return [dict(r) for r in ds]


def fetch_to_run_dir(dataset: str, run_dir: Path) -> Path:
    """The split as ``run_dir/dataset.jsonl`` (question, answer per line); loaded once.

    Raises:
        DataError: ``datasets`` missing, the split cannot be loaded, or its rows lack
            string ``question`` / ``answer`` fields (the row number is named).
    """
    spec = parse_hub_spec(dataset)
    out, meta = run_dir / "dataset.jsonl", run_dir / "dataset.source.json"
    if out.exists() and meta.exists():
        try:
            if json.loads(meta.read_text(encoding="utf-8")).get("spec") == spec.text:
                return out  # a resumed run asks exactly what it asked before
        except ValueError:
            pass
    rows = _rows(spec)
    lines = []
    for n, row in enumerate(rows):
        q, a = row.get("question"), row.get("answer")
        if not isinstance(q, str) or not isinstance(a, str):
            raise DataError(
                f"--dataset {spec.text} row {n}: needs string fields 'question' and 'answer' "
                f"(has {', '.join(sorted(row)) or 'none'})"
            )
        lines.append(json.dumps({"question": q, "answer": a}, ensure_ascii=False) + "\n")
    if not lines:
        raise DataError(f"--dataset {spec.text} has no rows")
    text = "".join(lines)
    atomic_write_text(out, text)
    atomic_write_text(
        meta,
        json.dumps(
            {
                "spec": spec.text,
                "repo": spec.repo,
                "config": spec.config,
                "split": spec.split,
                "rows": len(lines),
                "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            },
            indent=2,
        )
        + "\n",
    )
    return out


__all__ = ["HubSpec", "fetch_to_run_dir", "is_hub_spec", "parse_hub_spec"]
