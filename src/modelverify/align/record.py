"""``--record FILE`` / ``--reference FILE``: one side saved with the model's fingerprint, so a
reference recorded on a trusted deployment is only ever compared with the same checkpoint."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

from pydantic import ValidationError

from modelverify.align.model import Side
from modelverify.errors import ConfigError
from modelverify.results import Model

RECORD_KIND = "modelverify-align-record"
RECORD_VERSION = 1


class WeightFile(Model):
    name: str
    size: int
    header_sha256: str  # sha256 of the safetensors header (names, dtypes, shapes, offsets)


class ModelHashes(Model):
    config_sha256: str | None
    weights: list[WeightFile]


class Record(Model):
    kind: str = RECORD_KIND
    version: int = RECORD_VERSION
    model: ModelHashes
    prompt_set_sha256: str
    side: Side


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def model_hashes(model_dir: Path) -> ModelHashes:
    """config.json's sha256, and each safetensors file's size and header sha256 (cheap for any
    model size: the weights themselves are not read)."""
    cfg = model_dir / "config.json"
    weights = []
    for f in sorted(model_dir.glob("*.safetensors")):
        with f.open("rb") as fh:
            head = fh.read(8)
            n = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
            header = fh.read(min(n, 100_000_000))
        weights.append(WeightFile(name=f.name, size=f.stat().st_size, header_sha256=_sha(header)))
    return ModelHashes(
        config_sha256=_sha(cfg.read_bytes()) if cfg.is_file() else None, weights=weights
    )


def prompt_set_sha(prompts: list[tuple[str, list[int]]]) -> str:
    return _sha(json.dumps(prompts, sort_keys=True).encode())


def write_record(path: Path, hashes: ModelHashes, prompt_sha: str, side: Side) -> None:
    rec = Record(model=hashes, prompt_set_sha256=prompt_sha, side=side)
    try:
        path.write_text(rec.model_dump_json(), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--record {path}: {exc.strerror}") from exc


def read_record(path: Path, hashes: ModelHashes | None) -> Record:
    """The recorded side; refused (ConfigError) when it is not a record or not this model."""
    try:
        rec = Record.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"--reference {path}: {exc.strerror}") from exc
    except (ValidationError, ValueError) as exc:
        raise ConfigError(
            f"--reference {path} is not a modelverify align record (write one with "
            "`modelverify align … --record FILE`)"
        ) from exc
    if rec.kind != RECORD_KIND:
        raise ConfigError(f"--reference {path} is not a modelverify align record")
    if hashes is not None and rec.model != hashes:
        raise ConfigError(
            f"--reference {path} was recorded from another model (config.json or safetensors "
            "headers differ from the local checkpoint's): record it again from this model"
        )
    return rec


__all__ = ["ModelHashes", "Record", "model_hashes", "prompt_set_sha", "read_record", "write_record"]
