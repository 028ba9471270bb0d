"""The report's environment section: one conclusion line per judged device and one for the
packages, in Chinese and in English, on recorded real npu-smi / nvidia-smi tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelverify.env.npu_smi import parse_npu_smi
from modelverify.env.nvidia_smi import parse_nvidia_smi
from modelverify.env.stage import EnvResult, Finding, judge_gpu, judge_npu, judge_versions
from modelverify.env.versions import PackageVersion, Versions
from modelverify.report import conclusions as C
from modelverify.report.env_text import device_lines
from modelverify.report.i18n import strings
from modelverify.report.sections import env_section
from modelverify.results import Status

DATA = Path(__file__).resolve().parents[2] / "data"

VERSIONS = Versions(
    python="3.11.9",
    packages=[
        PackageVersion(name="vllm", version="0.18.0"),
        PackageVersion(name="vllm-ascend", version="0.18.0rc1"),
    ],
    cann_version="8.5.1",
    cann_env_sourced=True,
)


def _npu_env(table: str, visible: str | None, pids: set[int] | None = None) -> dict[str, Any]:
    info = parse_npu_smi((DATA / "npu_smi" / table).read_text(encoding="utf-8"))
    npu = {"info": info.model_dump(mode="json")}
    findings = judge_npu(npu["info"], visible, engine_pids=pids)
    res = EnvResult(platform="npu", npu=npu, versions=VERSIONS, findings=findings)
    return res.model_dump(mode="json")


def _gpu_env(table: str) -> dict[str, Any]:
    info = parse_nvidia_smi((DATA / "nvidia_smi" / table).read_text(encoding="utf-8"))
    gpu = info.model_dump(mode="json")
    res = EnvResult(platform="cuda", gpu=gpu, versions=VERSIONS, findings=judge_gpu(gpu, None))
    return res.model_dump(mode="json")


def _section(env: dict[str, Any], lang: str) -> str:
    return env_section(env, strings(lang), lang)


def test_a_healthy_device_reads_like_the_seed() -> None:
    env = _npu_env("15_910b3_npu3_misaligned_container_25.2.3.txt", None)
    assert device_lines(env, "zh") == [("pass", "NPU 3 (910B3): 健康 OK,HBM 3,198/65,536 MB")]
    assert device_lines(env, "en") == [("pass", "NPU 3 (910B3): Health OK, HBM 3,198/65,536 MB")]
    md = _section(env, "zh")
    # one device: its line is the conclusion, as in the seed's section 1
    assert "**结论:** ✅ Ascend NPU 设备状态正常 (NPU 3 (910B3): 健康 OK,HBM 3,198/65,536 MB)" in md
    assert "\n- " not in md
    assert "**结论:** ✅ vLLM 0.18.0 已正确安装, vLLM-Ascend 0.18.0rc1" in md


def test_memory_held_by_another_process_names_its_pid_on_the_right_chip() -> None:
    """A3, NPU 1 chip 1 = device 3 holds pid 990711 (python, 7,746 MB); NPU 0 has none."""
    env = _npu_env("13_a3_2npu_no_proc_in_npu0_25.2.0.txt", "3", pids=set())
    (zh,) = device_lines(env, "zh")
    assert zh == (
        "warn",
        "NPU 1 芯片 1 (Ascend910) = 设备 3: 健康 OK,已被其他进程占用 7,746 MB (pid 990711 python)",
    )
    (en,) = device_lines(env, "en")
    assert en[1] == (
        "NPU 1 chip 1 (Ascend910) = device 3: Health OK, 7,746 MB already held by other "
        "processes (pid 990711 python)"
    )
    md = _section(env, "zh")
    assert "**结论:** ⚠️ Ascend NPU 设备需要注意:NPU 1 芯片 1 (Ascend910) = 设备 3" in md
    # the engine's own pid is no stranger: the same chip is then fine
    ours = _npu_env("13_a3_2npu_no_proc_in_npu0_25.2.0.txt", "3", pids={990711})
    assert device_lines(ours, "zh") == [
        ("pass", "NPU 1 芯片 1 (Ascend910) = 设备 3: 健康 OK,HBM 10,568/65,536 MB")
    ]


def test_held_memory_is_read_from_the_findings_field_not_its_wording() -> None:
    """The report lists the pids the stage put in ``held_by``; rewording the reason changes
    nothing, and a reason that names a pid without ``held_by`` makes no one a stranger."""
    env = _npu_env("13_a3_2npu_no_proc_in_npu0_25.2.0.txt", "3", pids=set())
    want = device_lines(env, "en")
    assert env["findings"][0]["held_by"] == [990711]
    env["findings"][0]["reason"] = "reworded"
    assert device_lines(env, "en") == want
    ours = _npu_env("13_a3_2npu_no_proc_in_npu0_25.2.0.txt", "3", pids={990711})
    ours["findings"][0]["reason"] += " (pid 990711)"
    assert device_lines(ours, "en")[0][0] == "pass"
    assert "already held" not in device_lines(ours, "en")[0][1]


def test_several_strangers_on_one_chip_each_with_their_memory() -> None:
    """Two 300I Duo cards: device 3 (NPU 2 chip 1) holds a MindIE pid that is not ours."""
    env = _npu_env("14_310p3_duo_2cards_mindie_24.1.0.1.txt", None, pids=set())
    lines = dict((text.split(":")[0], (status, text)) for status, text in device_lines(env, "zh"))
    assert list(lines) == [
        f"NPU {n} 芯片 {c} (310P3) = 设备 {d}"
        for n, c, d in ((1, 0, 0), (1, 1, 1), (2, 0, 2), (2, 1, 3))
    ]
    assert all(s == "warn" for s, _ in lines.values())
    _, text = lines["NPU 2 芯片 1 (310P3) = 设备 3"]
    assert text.endswith(": 健康 OK,已被其他进程占用 33,740 MB (pid 3034989 mindie_llm_back)")
    md = _section(env, "zh")
    # several devices: the conclusion counts them and each has its own line below it
    assert "**结论:** ⚠️ Ascend NPU 设备需要注意:4 个设备中 4 个警告,0 个未通过\n\n- ⚠️ NPU 1" in md
    assert md.count("\n- ⚠️ NPU ") == 4
    assert "of 4 devices, 4 with a warning, 0 failed" in _section(env, "en")


def test_health_alarm_is_a_failed_device_with_npu_smis_meaning() -> None:
    env = _npu_env("10_310b4_alarm_bus_na_23.0.0.txt", None)
    assert device_lines(env, "zh") == [("fail", "NPU 0 (310B4): 健康 Alarm(重要告警)")]
    assert device_lines(env, "en") == [("fail", "NPU 0 (310B4): Health Alarm (major alarm)")]
    assert "**结论:** ❌ Ascend NPU 设备需要注意:NPU 0 (310B4): 健康 Alarm(重要告警)" in (
        _section(env, "zh")
    )


def test_warning_and_critical_words_on_a_real_table_with_that_cell_changed() -> None:
    # No real table with Health Critical was found (tests/data/npu_smi/SOURCES.md); the one real
    # Warning (fixture 17) is judged in tests/unit/env, here both words share one table.
    env = _npu_env("15_910b3_npu3_misaligned_container_25.2.3.txt", None)
    for word, status, zh in (("Warning", "warn", "一般告警"), ("Critical", "fail", "紧急告警")):
        env["npu"]["info"]["chips"][0]["health"] = word
        env["findings"] = [f.model_dump(mode="json") for f in judge_npu(env["npu"]["info"], None)]
        assert device_lines(env, "zh") == [(status, f"NPU 3 (910B3): 健康 {word}({zh})")]


def test_container_selection_line_explains_the_reading() -> None:
    env = _npu_env("15_910b3_npu3_misaligned_container_25.2.3.txt", "0")
    md = _section(env, "zh")
    assert "**结论:** ⚠️ Ascend NPU 设备需要注意:NPU 3 (910B3) = 设备 0: 健康 OK" in md
    assert md.count("设备选择需要注意") == 1
    assert "- ⚠️ 设备选择: 阶段原文:ASCEND_RT_VISIBLE_DEVICES=0" in md
    assert "- ⚠️ device selection: ASCEND_RT_VISIBLE_DEVICES=0" in _section(env, "en")


def test_gpu_lines_sum_the_strangers_memory_and_say_when_it_is_unknown() -> None:
    env = _gpu_env("01_r535_2gpu_gtx_truncated_name.txt")
    gpu0, gpu1 = device_lines(env, "zh")
    assert gpu0 == (
        "warn",
        "GPU 0 (NVIDIA GeForce GTX 1050 Ti): 已被其他进程占用 2,523 MiB (pid 2421 "
        "/usr/lib/xorg/Xorg 30 MiB, pid 2767 xfwm4 1 MiB, pid 190709 "
        "...unners/cuda_v12/ollama_llama_server 2,492 MiB)",
    )
    assert gpu1[1].startswith("GPU 1 (NVIDIA GeForce GTX 1060 6GB): 已被其他进程占用 5,222 MiB")
    wsl = _gpu_env("03_pre_r530_wsl_narrow_na_proc_memory.txt")
    ((_, text),) = device_lines(wsl, "en")
    assert text.startswith("GPU 0 (NVIDIA GeForce ...): held by other processes, memory use not")
    quiet = _gpu_env("05_r570_wsl_laptop_indented_no_processes.txt")
    assert device_lines(quiet, "zh") == [
        ("pass", "GPU 0 (NVIDIA RTX A2000 Laptop GPU): 已用显存 0/4,096 MiB")
    ]


def test_a_stack_warning_is_the_packages_concern_not_the_devices() -> None:
    env = _npu_env("15_910b3_npu3_misaligned_container_25.2.3.txt", None)
    stack = Finding(
        subject="vllm / vllm-ascend",
        status=Status.WARN,
        reason="vLLM-Ascend 0.18.0rc1 is released for vLLM 0.18.0, but vLLM 0.17.1 is installed",
    )
    env["findings"] += [
        f.model_dump(mode="json") for f in [*judge_versions("npu", VERSIONS), stack]
    ]
    assert C.env_device(env, "zh").startswith("Ascend NPU 设备状态正常")
    assert C.env_packages(env, "zh").endswith(";另有 1 项需要注意(见下)")
    md = _section(env, "zh")
    assert "**结论:** ⚠️ vLLM 0.18.0 已正确安装" in md
    assert "- ⚠️ vllm / vllm-ascend: 阶段原文:vLLM-Ascend 0.18.0rc1 is released" in md
    en = _section(env, "en")
    assert "- ⚠️ vllm / vllm-ascend: vLLM-Ascend 0.18.0rc1 is released" in en
    assert "; 1 more need attention (below)" in en


def test_a_hot_device_is_read_from_the_findings_field_not_its_wording() -> None:
    # no real table at or above 85 °C was found: a real one with only that cell changed
    env = _npu_env("15_910b3_npu3_misaligned_container_25.2.3.txt", None)
    env["npu"]["info"]["chips"][0]["temp_c"] = 91
    env["findings"] = [f.model_dump(mode="json") for f in judge_npu(env["npu"]["info"], None)]
    assert env["findings"][0]["hot_c"] == 91
    want = [("warn", "NPU 3 (910B3): Health OK, temperature 91 °C, at or above 85 °C")]
    assert device_lines(env, "en") == want
    env["findings"][0]["reason"] = "reworded"
    assert device_lines(env, "en") == want
    # an env.json from before the field: its reason is all there is, and it is still read
    del env["findings"][0]["hot_c"]
    env["findings"][0]["reason"] = "NPU 3: temperature 91 C"
    assert device_lines(env, "en") == want
    # a warning for another cause that mentions temperature is no temperature warning
    env["findings"][0]["hot_c"] = None
    assert "at or above 85" not in device_lines(env, "en")[0][1]
