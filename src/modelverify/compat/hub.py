"""Turn a hub id (``Qwen/Qwen3.5-2B``) into a local folder the way vLLM will find it.

Order: the Hugging Face cache (``HF_HUB_CACHE``, ``HF_HOME/hub``, ``~/.cache/huggingface/hub``),
the ModelScope cache (``MODELSCOPE_CACHE``, ``~/.cache/modelscope/hub``; vLLM-Ascend users often
set ``VLLM_USE_MODELSCOPE=True``), then — only when online and ``huggingface_hub`` is importable —
a download of the small files compat reads (configs and tokenizer, never weights).
"""

from __future__ import annotations

import os
from pathlib import Path

from modelverify.errors import ConfigError

SMALL_FILES = ["*.json", "*.jinja", "*.model", "*.tiktoken", "tokenizer*", "*.txt", "*.py"]


def hf_cache_roots() -> list[Path]:
    roots = []
    if os.environ.get("HF_HUB_CACHE"):
        roots.append(Path(os.environ["HF_HUB_CACHE"]))
    if os.environ.get("HF_HOME"):
        roots.append(Path(os.environ["HF_HOME"]) / "hub")
    roots.append(Path(os.path.expanduser("~/.cache/huggingface/hub")))
    return roots


def modelscope_roots() -> list[Path]:
    roots = []
    if os.environ.get("MODELSCOPE_CACHE"):
        roots += [
            Path(os.environ["MODELSCOPE_CACHE"]) / "models",
            Path(os.environ["MODELSCOPE_CACHE"]),
        ]
    base = Path(os.path.expanduser("~/.cache/modelscope/hub"))
    roots += [base / "models", base]
    return roots


def find_in_hf_cache(
    repo_id: str, revision: str = "main", roots: list[Path] | None = None
) -> Path | None:
    """The snapshot folder of ``repo_id`` at ``revision`` (a ref name or a commit) if cached."""
    for root in roots if roots is not None else hf_cache_roots():
        repo = root / ("models--" + repo_id.replace("/", "--"))
        if not repo.is_dir():
            continue
        ref = repo / "refs" / revision
        commit = ref.read_text(encoding="utf-8").strip() if ref.is_file() else revision
        snap = repo / "snapshots" / commit
        if (snap / "config.json").is_file():
            return snap
    return None


def find_in_modelscope_cache(repo_id: str, roots: list[Path] | None = None) -> Path | None:
    for root in roots if roots is not None else modelscope_roots():
        # ModelScope escapes dots in folder names in some versions ("Qwen3.5" -> "Qwen3___5").
        for name in (repo_id, repo_id.replace(".", "___")):
            cand = root / name
            if (cand / "config.json").is_file():
                return cand
    return None


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes") or os.environ.get(
        "TRANSFORMERS_OFFLINE", ""
    ).lower() in ("1", "true", "yes")


def resolve_model(model: str, revision: str = "main") -> Path:
    """A local folder for ``model`` (a path or a hub id), or a one-line ConfigError."""
    path = Path(model).expanduser()
    if path.exists():
        return path
    if model.startswith(("/", ".", "~")):
        raise ConfigError(f"model path {model} does not exist: pass a model folder or a hub id")
    if model.count("/") != 1:
        raise ConfigError(
            f"model {model!r} is neither an existing folder nor a hub id like org/name: "
            "pass a model folder or a hub id"
        )
    for found in (find_in_hf_cache(model, revision), find_in_modelscope_cache(model)):
        if found is not None:
            return found
    if offline():
        raise ConfigError(
            f"{model} is not in the local Hugging Face or ModelScope cache and the hub is offline "
            "(HF_HUB_OFFLINE): download it first or pass its folder"
        )
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise ConfigError(
            f"{model} is not in the local cache and huggingface_hub is not installed: "
            "pip install huggingface_hub, or download the model and pass its folder"
        ) from exc
    try:
        return Path(snapshot_download(model, revision=revision, allow_patterns=SMALL_FILES))
    except Exception as exc:  # the hub raises many types; all mean the same to the user
        raise ConfigError(
            f"cannot fetch {model} from the hub ({type(exc).__name__}): check the id, your "
            "network and HF_TOKEN, or pass a local folder"
        ) from exc


__all__ = ["find_in_hf_cache", "find_in_modelscope_cache", "resolve_model"]
