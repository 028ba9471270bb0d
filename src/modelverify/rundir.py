"""The run directory: one folder per run, every file written atomically.

Layout::

    runs/<UTC time>-<model>/
        run.json          command line, config, versions
        <stage>.json      one per stage, written the moment the stage ends
        server.log        the engine's output
        *.jsonl           per-request records (perf, accuracy), appended line by line
        report.md
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from modelverify.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see either the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates 0600; follow the umask like any other file the user creates.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def safe_name(text: str) -> str:
    """A file-name-safe slug of a model name or path (last path component)."""
    base = text.rstrip("/").split("/")[-1] or "model"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", base)[:80]


class RunDir:
    """A run directory and the typed files in it."""

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def create(cls, root: Path | None, model: str, out: Path | None = None) -> RunDir:
        """Make a new run directory: ``out`` exactly, or ``root/<UTC time>-<model>``."""
        if out is None:
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            out = (root or Path("runs")) / f"{stamp}-{safe_name(model)}"
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create run directory {out}: {exc.strerror}") from exc
        return cls(out)

    def file(self, name: str) -> Path:
        return self.path / name

    def write_json(self, name: str, data: Any) -> Path:
        path = self.file(name)
        atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
        return path

    def write_model(self, name: str, model: BaseModel) -> Path:
        path = self.file(name)
        atomic_write_text(path, model.model_dump_json(indent=2) + "\n")
        return path

    def read_model(self, name: str, cls: type[M]) -> M | None:
        path = self.file(name)
        if not path.exists():
            return None
        return cls.model_validate_json(path.read_text(encoding="utf-8"))

    def write_text(self, name: str, text: str) -> Path:
        path = self.file(name)
        atomic_write_text(path, text)
        return path


class JsonlWriter:
    """Append-only JSONL: each record is one line, flushed at once, fsynced every ``sync_every``."""

    def __init__(self, path: Path, sync_every: int = 20):
        path.parent.mkdir(parents=True, exist_ok=True)
        _drop_torn_tail(path)
        self.path = path
        self._f = path.open("a", encoding="utf-8")
        self._sync_every = sync_every
        self._pending = 0

    def write(self, record: dict[str, Any]) -> None:
        try:
            self._f.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            self._f.flush()
            self._pending += 1
            if self._pending >= self._sync_every:
                os.fsync(self._f.fileno())
                self._pending = 0
        except OSError as exc:  # name the file: "disk full" alone does not say where
            raise OSError(exc.errno, exc.strerror, str(self.path)) from exc

    def close(self) -> None:
        if self._f.closed:
            return
        try:
            self._f.flush()
            os.fsync(self._f.fileno())
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(self.path)) from exc
        finally:
            with contextlib.suppress(OSError):
                self._f.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        try:
            self.close()
        except OSError:
            if exc_type is None:
                raise  # otherwise the error already in flight is the one to report


def _drop_torn_tail(path: Path) -> None:
    """Cut a final line that a kill interrupted, so the next append starts on a fresh line."""
    if not path.exists():
        return
    with path.open("rb+") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        block = min(size, 1 << 20)
        f.seek(size - block)
        tail = f.read(block)
        cut = tail.rfind(b"\n")
        f.truncate(size - block + cut + 1 if cut >= 0 else 0)


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Records of a JSONL file we wrote; a truncated last line (a kill mid-write) is dropped."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.endswith("\n"):
                break  # torn final write
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                yield obj


__all__ = ["JsonlWriter", "RunDir", "atomic_write_text", "read_jsonl", "safe_name"]
