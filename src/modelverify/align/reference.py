"""The default reference: the checkpoint run with transformers in a subprocess of the engine's
Python (``reference_runner.py``), teacher-forced on the served token ids. modelverify itself never
imports torch; the subprocess has exited, its memory released, before the next stage starts."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from modelverify.align.model import Position, Sequence, Side
from modelverify.align.served import TOP_K
from modelverify.errors import ModelVerifyError

RUNNER = Path(__file__).with_name("reference_runner.py")


class ReferenceUnavailable(ModelVerifyError):
    """The reference could not run (no transformers, no local checkpoint…): align is not judged."""


@dataclass
class ReferenceRun:
    side: Side
    tokenized: dict[str, list[int]]
    duration_s: float
    peak_rss_bytes: int | None
    versions: dict[str, str] = field(default_factory=dict)


def check_reference_python(python: str) -> None:
    """Fail early, with the reason, when the engine's Python has no transformers or torch."""
    try:
        proc = subprocess.run(
            [python, "-c", "import torch, transformers"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ReferenceUnavailable(f"cannot run {python}: {exc}") from exc
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ReferenceUnavailable(
            f"the engine's Python ({python}) cannot import torch and transformers ({last}): "
            "install transformers there, or pass --reference FILE / --reference-url URL"
        )


def run_reference(
    python: str,
    model_dir: Path,
    served: Side,
    texts: list[dict[str, object]],
    *,
    dtype: str = "float32",
    timeout_s: float = 1800,
) -> ReferenceRun:
    """Teacher-force the checkpoint on every served sequence; tokenize ``texts``
    ({key, text, add_special_tokens})."""
    if not (model_dir / "config.json").is_file():
        raise ReferenceUnavailable(
            f"no local checkpoint at {model_dir} (config.json missing): the reference needs the "
            "model folder; pass --reference FILE or --reference-url URL"
        )
    check_reference_python(python)
    with tempfile.TemporaryDirectory(prefix="mv-align-") as tmp:
        req, ans = Path(tmp) / "request.json", Path(tmp) / "answer.json"
        req.write_text(
            json.dumps(
                {
                    "model_dir": str(model_dir),
                    "dtype": dtype,
                    "top_k": TOP_K,
                    "texts": texts,
                    "sequences": [{"key": s.id, "ids": s.ids} for s in served.sequences],
                }
            ),
            encoding="utf-8",
        )
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        t0 = time.monotonic()
        try:
            proc = subprocess.run(
                [python, str(RUNNER), str(req), str(ans)],
                capture_output=True,
                text=True,
                env=env,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ReferenceUnavailable(
                f"the transformers reference did not finish in {timeout_s:.0f} s"
            ) from exc
        took = time.monotonic() - t0
        if proc.returncode != 0 or not ans.exists():
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise ReferenceUnavailable(f"the transformers reference failed: {last}")
        data = json.loads(ans.read_text(encoding="utf-8"))
    prompt_len = {s.id: s.prompt_len for s in served.sequences}
    ids = {s.id: s.ids for s in served.sequences}
    seqs = [
        Sequence(
            id=item["key"],
            prompt_len=prompt_len[item["key"]],
            ids=ids[item["key"]],
            positions=[
                Position(token=p["token"], logprob=p["logprob"], top=[(t, v) for t, v in p["top"]])
                for p in item["positions"]
            ],
        )
        for item in data["sequences"]
    ]
    return ReferenceRun(
        side=Side(
            kind="transformers",
            source=f"transformers {data.get('transformers')} on CPU, {data.get('dtype')}",
            dtype=str(data.get("dtype")),
            sequences=seqs,
        ),
        tokenized={k: list(v) for k, v in data.get("tokenized", {}).items()},
        duration_s=took,
        peak_rss_bytes=data.get("peak_rss_bytes"),
        versions={"torch": str(data.get("torch")), "transformers": str(data.get("transformers"))},
    )


__all__ = ["ReferenceRun", "ReferenceUnavailable", "check_reference_python", "run_reference"]
