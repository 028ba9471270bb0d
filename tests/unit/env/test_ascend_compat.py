"""vLLM-Ascend's release compatibility matrix (packaged copy) and the stack check."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelverify.env.ascend_compat import ENV_VAR, check_stack, load_matrix, norm
from modelverify.env.versions import PackageVersion, Versions
from modelverify.results import Status


def _versions(cann: str | None = None, **pkgs: str) -> Versions:
    return Versions(
        packages=[PackageVersion(name=k.replace("_", "-"), version=v) for k, v in pkgs.items()],
        cann_version=cann,
    )


def test_rows_read_as_the_page_prints_them() -> None:
    rows, _ = load_matrix()
    by = {r.vllm_ascend: r for r in rows}
    assert len(rows) >= 36 and "main" not in by
    assert by["0.11.0"].vllm == ["0.11.0"] and by["0.11.0"].cann == "8.3.RC2"
    assert (by["0.11.0"].torch, by["0.11.0"].torch_npu) == ("2.7.1", "2.7.1.post1")
    assert by["0.10.1rc1"].vllm == ["0.10.1", "0.10.1.1"]
    assert by["0.11.0rc0"].vllm == ["0.11.0rc3"]
    assert by["0.18.0"].torch_npu == "2.9.0.post1" and by["0.18.0"].triton_ascend == (
        "3.2.0.dev20260322"
    )
    assert by["0.12.0rc1"].triton_ascend is None  # N/A


def test_the_seed_stack_is_the_documented_pair() -> None:
    # the seed report: vllm 0.18.0+empty (source build), vllm_ascend 0.18.0rc1, CANN 8.5.1,
    # triton-ascend 3.2.0.dev20260322 (a dev build of the documented 3.2.0)
    got = check_stack(
        _versions(
            "8.5.1", vllm="0.18.0+empty", vllm_ascend="0.18.0rc1", triton_ascend="3.2.0.dev20260322"
        )
    )
    assert [(s, st) for s, st, _ in got] == [("vllm / vllm-ascend", Status.PASS)]


def test_a_mismatched_pair_is_a_warning_with_the_fix() -> None:
    got = check_stack(
        _versions(
            "8.2.RC1", vllm="0.10.2", vllm_ascend="0.11.0", torch="2.7.1+cpu", torch_npu="2.5.1"
        )
    )
    by = {s: (st, r) for s, st, r in got}
    st, reason = by["vllm / vllm-ascend"]
    assert st == Status.WARN and "released for vLLM 0.11.0" in reason
    assert "install vllm==0.11.0" in reason
    assert by["torch_npu"][0] == Status.WARN and "2.7.1.post1" in by["torch_npu"][1]
    assert by["CANN"][0] == Status.WARN and "8.3.RC2" in by["CANN"][1]
    assert "torch" not in by  # 2.7.1+cpu is torch 2.7.1


def test_development_build_is_said_not_checked() -> None:
    # issue 3002's collect_env: vLLM Ascend 0.10.2rc2.dev13+g99210941a.d20250916
    ((_subject, status, reason),) = check_stack(
        _versions(vllm="0.10.2rc3.dev14+g72fc8aa41", vllm_ascend="0.10.2rc2.dev13+g99210941a")
    )
    assert status == Status.PASS and "not a release" in reason and ENV_VAR in reason


def test_a_newer_page_can_be_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "versioning_policy.md"
    page.write_text(
        "## Release compatibility matrix\n\n"
        "| vLLM Ascend | vLLM | Python | Stable CANN | PyTorch/torch_npu | Triton Ascend |\n"
        "|---|---|---|---|---|---|\n"
        "| v0.99.0 | v0.99.0 | >= 3.10 | 9.9.0 | 2.99.0 / 2.99.0 | N/A |\n"
    )
    monkeypatch.setenv(ENV_VAR, str(page))
    rows, where = load_matrix()
    assert [r.vllm_ascend for r in rows] == ["0.99.0"] and where == str(page)


def test_norm() -> None:
    assert norm("v0.13.0") == "0.13.0" and norm("0.18.0+empty") == "0.18.0"
