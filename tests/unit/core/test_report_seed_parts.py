"""The seed report's parts that report.md used to lack: the perf summary's device-memory row,
the accuracy 注 line, the flag explanations (user flags, short flags, environment, features the
engine turned on itself) and the reproduction commands — each in zh and en, from the figures
the stages recorded.

Stage results come from test_report_language's builder (recorded npu-smi table and vLLM log);
the NPU start-up lines below are the seed report's own log excerpt
(/work/shared/seed/verification-report-qwen3.5-2b-ascend.txt)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from modelverify.report.flags import engine_flags
from modelverify.report.markdown import render
from modelverify.serve.logparse import parse_vllm_log

_spec = importlib.util.spec_from_file_location(
    "report_language_builders", Path(__file__).with_name("test_report_language.py")
)
assert _spec and _spec.loader
L = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(L)

SEED_NPU_LOG = """\
INFO [vllm.py:754] Asynchronous scheduling is enabled.
INFO [core.py:103] Initializing a V1 LLM engine (v0.18.0) with config: model='/opt/atomgit/Qwen3.5-2B-Base', dtype=torch.bfloat16, max_seq_len=32768, tensor_parallel_size=1, device_config=npu
INFO [platform.py:354] PIECEWISE compilation enabled on NPU. use_inductor not supported - using only ACL Graph mode
INFO [compilation.py:289] Enabled custom fusions: norm_quant, act_quant
INFO [compiler_interface.py:162] enable_npugraph_ex is enabled, which will bring graph compilation optimization.
"""

SECRET = "sk-verysecret-1234"


def _npu_results(tmp_path: Path, *, ours: bool = True) -> dict[str, Any]:
    res = L._results(tmp_path, "npu", False)
    serve = res["stages"]["serve"]
    serve["command"] = [
        "vllm",
        "serve",
        "/models/Llama-3.3-70B-Instruct",
        "-tp",
        "2",
        "--max-model-len=8192",
        "--trust-remote-code",
        "--api-key",
        SECRET,
        "--my-new-flag",
        "7",
        "--port",
        "8000",
    ]
    serve["env"] = {"ASCEND_RT_VISIBLE_DEVICES": "2", "VLLM_FOO_BAR": "1", "HF_TOKEN": SECRET}
    serve["log_facts"] = {
        **serve["log_facts"],
        **{
            k: v
            for k, v in parse_vllm_log(SEED_NPU_LOG).model_dump(mode="json").items()
            if k in ("acl_graph", "custom_fusions", "npugraph_ex_enabled", "async_scheduling")
        },
    }
    serve["device_memory_source"] = "npu-smi"
    if ours:
        serve["device_memory"] = [
            {"device": "NPU 2 chip 0", "pid": 2756, "name": "VLLMEngineCor", "memory_mib": 14973}
            | {"ours": True}
        ]
    else:
        serve["device_memory"] = []
        serve["device_memory_note"] = "the device process table lists no process"
    res["run"]["engine_args"] = ["-tp", "2", "--max-model-len=8192", "--trust-remote-code"]
    res["run"]["engine_args"] += ["--api-key", SECRET, "--my-new-flag", "7"]
    return res


def _row(md: str, label: str) -> str:
    return next(ln for ln in md.splitlines() if ln.startswith(f"| {label} |"))


# -- 1. device memory row -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "label"), [("zh", "NPU 利用率 / HBM 占用"), ("en", "NPU utilisation / HBM in use")]
)
def test_npu_memory_row_from_npu_smi(tmp_path: Path, lang: str, label: str) -> None:
    md = render(_npu_results(tmp_path), tmp_path, lang)
    row = _row(md, label)
    # 14,973 MiB held by the engine on a 32,768 MB 910B4 (the recorded npu-smi table)
    assert "NPU 2 chip 0: 14,973 / 32,768 MiB (45.7%)" in row
    assert "npu-smi" in row


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_npu_memory_row_not_measured_says_why(tmp_path: Path, lang: str) -> None:
    md = render(_npu_results(tmp_path, ours=False), tmp_path, lang)
    row = _row(md, "NPU 利用率 / HBM 占用" if lang == "zh" else "NPU utilisation / HBM in use")
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "—"
    assert "the device process table lists no process" in cells[2]


@pytest.mark.parametrize(
    ("lang", "label"),
    [("zh", "内存占用 (引擎进程树 RSS)"), ("en", "Memory in use (engine process tree RSS)")],
)
def test_cpu_memory_row_is_the_engine_rss(tmp_path: Path, lang: str, label: str) -> None:
    md = render(L._results(tmp_path, "cpu", True), tmp_path, lang)
    # 900 MiB RSS of 1 process on an 8 GiB host
    assert "0.88 / 8.00 GiB (11.0%)" in _row(md, label)


def test_gpu_memory_row_is_labelled_for_cuda(tmp_path: Path) -> None:
    res = L._results(tmp_path, "cpu", False)
    res["stages"]["env"]["platform"] = "cuda"
    res["stages"]["env"]["gpu"] = {"gpus": [{"index": 1, "name": "L4", "memory_total_mib": 23034}]}
    res["stages"]["serve"]["device_memory_source"] = "nvidia-smi"
    res["stages"]["serve"]["device_memory"] = [
        {"device": "GPU 1", "pid": 7, "name": "python", "memory_mib": 20000, "ours": True}
    ]
    for lang, label in (("zh", "GPU 利用率 / 显存占用"), ("en", "GPU utilisation / memory in use")):
        md = render(res, tmp_path, lang)
        assert "GPU 1: 20,000 / 23,034 MiB (86.8%)" in _row(md, label)
        assert "nvidia-smi" in md and "lscpu" not in md


# -- 2. accuracy note -----------------------------------------------------------------------


def test_accuracy_note_from_recorded_settings(tmp_path: Path) -> None:
    res = _npu_results(tmp_path)
    acc = res["stages"]["accuracy"]
    lo, hi = acc["ci_low"], acc["ci_high"]
    zh = next(ln for ln in render(res, tmp_path, "zh").splitlines() if ln.startswith("注:"))
    en = next(ln for ln in render(res, tmp_path, "en").splitlines() if ln.startswith("Note: "))
    for line in (zh, en):
        assert "GSM8K" in line and "4-shot CoT" in line and "`max_tokens=512`" in line
        assert "`temperature=0.6`" in line and "`top_p=0.95`" in line
        assert "71.00%" in line  # ours: 142 / 200
        assert f"{acc['aisbench_accuracy']:.2%}" in line
        assert f"{lo:.2%}–{hi:.2%}" in line and "Wilson" in line
        assert "70.00%" in line  # the reference score
    assert "前 200 条" in zh and "+71.00 个百分点" in zh and "随机采样" in zh
    assert "first 200 items" in en and "+71.00 points apart" in en and "sampled" in en
    assert f"半宽约 {(hi - lo) * 50:.1f} 个百分点" in zh


def test_accuracy_note_without_reference_says_so(tmp_path: Path) -> None:
    md = render(L._results(tmp_path, "cpu", True), tmp_path, "zh")
    note = next(ln for ln in md.splitlines() if ln.startswith("注:"))
    assert "未给参考分数" in note


# -- 3. flag explanations -------------------------------------------------------------------


def test_engine_flags_reads_every_spelling() -> None:
    cmd = ["python", "-m", "vllm.entrypoints.openai.api_server", "--model", "/m", "-tp", "2"]
    cmd += ["--enforce-eager", "-O3", "--max-model-len=4096", "--api-key", SECRET]
    assert engine_flags(cmd) == [
        ("--model", "/m"),
        ("-tp", "2"),
        ("--enforce-eager", None),
        ("-O", "3"),
        ("--max-model-len", "4096"),
        ("--api-key", "***"),
    ]


def test_flag_table_zh(tmp_path: Path) -> None:
    md = render(_npu_results(tmp_path), tmp_path, "zh")
    section = md.split("### 关键参数说明", 1)[1].split("###", 1)[0]
    assert "| `-tp` (`--tensor-parallel-size`) | `2` | 用户参数 | 张量并行的设备数 |" in section
    assert "| `--max-model-len` | `8192` | 用户参数 |" in section
    assert "| `--trust-remote-code` | — | 用户参数 |" in section
    assert "| `--my-new-flag` | `7` | 用户参数 | — (见 vLLM 文档) |" in section
    assert "| `--port` | `8000` | modelverify 添加 | 监听端口 |" in section
    assert "| `--api-key` | `***` |" in section
    assert "| `ASCEND_RT_VISIBLE_DEVICES` | `2` | 环境变量 |" in section
    assert "| `VLLM_FOO_BAR` | `1` | 环境变量 | — (见 vLLM 文档) |" in section
    assert "| `HF_TOKEN` | `***` | 环境变量 |" in section
    assert "| `acl_graph` | `PIECEWISE (ACL Graph)` | 引擎自动(启动日志) |" in section
    assert "| `npugraph_ex_enabled` | `启用` | 引擎自动(启动日志) |" in section
    assert "| `async_scheduling` | `启用` | 引擎自动(启动日志) |" in section
    assert "| `custom_fusions` | `norm_quant, act_quant` |" in section
    assert SECRET not in md
    assert all(ln.split("|")[4].strip() for ln in section.splitlines() if ln.startswith("| `"))


def test_flag_table_en(tmp_path: Path) -> None:
    md = render(_npu_results(tmp_path), tmp_path, "en")
    section = md.split("### Flags explained", 1)[1].split("###", 1)[0]
    assert "| `-tp` (`--tensor-parallel-size`) | `2` | user flag |" in section
    assert "| `--my-new-flag` | `7` | user flag | — (see the vLLM docs) |" in section
    assert "| `async_scheduling` | `on` | engine default (start-up log) |" in section
    assert "| `--port` | `8000` | added by modelverify |" in section
    assert SECRET not in md


def test_eager_flag_is_named_as_what_decided_compilation(tmp_path: Path) -> None:
    md = render(L._results(tmp_path, "cpu", False), tmp_path, "en")
    assert "| `compilation_mode` | `NONE` | start-up log, set by `--enforce-eager` |" in md


# -- 4. reproduction ------------------------------------------------------------------------


def _steps(md: str, title: str) -> str:
    return md.split(f"### {title}", 1)[1].split("```bash", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize(
    ("lang", "title"), [("zh", "逐步复现命令"), ("en", "Step-by-step commands")]
)
def test_reproduction_commands(tmp_path: Path, lang: str, title: str) -> None:
    res = _npu_results(tmp_path)
    md = render(res, tmp_path, lang)
    steps = _steps(md, title)
    assert "npu-smi info\nnpu-smi info -m\n" in steps
    assert "import importlib.metadata as m" in steps
    # the recorded serve command with its environment, the key masked
    assert "ASCEND_RT_VISIBLE_DEVICES=2 VLLM_FOO_BAR=1 HF_TOKEN='***' vllm serve" in steps
    assert "--api-key '***'" in steps and SECRET not in md
    # the API stage's requests, exactly as recorded, with the key from the environment
    body = json.dumps(
        res["stages"]["api"]["checks"][1]["evidence"][0]["request"], ensure_ascii=False
    )
    assert f"-d '{body}'" in steps
    assert "curl -s http://127.0.0.1:8000/v1/models" in steps
    assert '-H "Authorization: Bearer $VLLM_API_KEY"' in steps
    # vllm bench serve with the perf workload: 10 sequential, 50 at concurrency 10, the sweep
    bench = [ln for ln in steps.splitlines() if ln.startswith("vllm bench serve")]
    assert any("--num-prompts 10 --max-concurrency 1" in b for b in bench)
    assert any("--num-prompts 50 --max-concurrency 10" in b for b in bench)
    assert all("--custom-output-len 50 --temperature 0.7" in b for b in bench)
    assert sum("--max-concurrency 4" in b for b in bench) == 1  # sweep c=4
    assert any("--request-rate 2.0 --burstiness 1.0" in b for b in bench)
    assert "The future of artificial intelligence is" in steps  # the seed prompt file
    assert "modelverify accuracy --base-url http://127.0.0.1:8000" in steps
    assert "--limit 200" in steps
    # AISBench's run of the same task, with the accuracy stage's server and sampling
    acc = res["stages"]["accuracy"]["config"]
    assert (
        "ais_bench --models vllm_api_general_chat --datasets gsm8k_gen_4_shot_cot_chat_prompt\n"
        in steps
    )
    assert 'host_ip="127.0.0.1", host_port=8000' in steps
    assert f"max_out_len={acc['max_tokens']}, batch_size={acc['concurrency']}" in steps
    assert f"generation_kwargs=dict(temperature={acc['temperature']}, top_p={acc['top_p']}" in steps
    assert "modelverify run /models/Llama-3.3-70B-Instruct" in steps
    assert f"modelverify report {tmp_path}" in steps
    scripts = md.split("### " + ("脚本与命令" if lang == "zh" else "Scripts and commands"))[1]
    assert "`npu-smi info`" in scripts and "`curl` × 2" in scripts  # two checks carry evidence


def test_reproduction_on_cpu_and_without_perf(tmp_path: Path) -> None:
    res = L._results(tmp_path, "cpu", True)
    del res["stages"]["perf"]
    steps = _steps(render(res, tmp_path, "en"), "Step-by-step commands")
    assert steps.lstrip().startswith("# 1. Environment\nlscpu\n")
    assert "npu-smi" not in steps
    assert "# the perf stage did not run" in steps and "vllm bench serve --" not in steps


# -- the Chinese report stays Chinese with every new part filled ----------------------------


@pytest.mark.parametrize("ours", [True, False])
def test_chinese_report_with_new_parts_has_no_english_sentences(tmp_path: Path, ours: bool) -> None:
    md = render(_npu_results(tmp_path, ours=ours), tmp_path, "zh")
    found = [(ln.strip(), m.group(0)) for ln in L._prose(md) for m in L.SENTENCE.finditer(ln)]
    assert found == [], "\n".join(f"{w!r} in: {ln}" for ln, w in found)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_npu_memory_row_adds_the_aicore_use_sampled_under_load(tmp_path: Path, lang: str) -> None:
    from modelverify.perf.usage import UsageSampler

    res = _npu_results(tmp_path)
    label = "NPU 利用率 / HBM 占用" if lang == "zh" else "NPU utilisation / HBM in use"
    assert ("未在负载期间采样" if lang == "zh" else "not sampled under load") in _row(
        render(res, tmp_path, lang), label
    )
    s = UsageSampler(None, "cpu")
    from modelverify.perf.usage import DeviceUsage

    s.devices = [  # two samples of NPU 2 under load, as the sampler records them
        [DeviceUsage(device="NPU 2 chip 0", util_pct=40.0, memory_used=17790, memory_total=32768)],
        [DeviceUsage(device="NPU 2 chip 0", util_pct=80.0, memory_used=17800, memory_total=32768)],
    ]
    s._reader = ("npu-smi", "MB", lambda: [])
    res["stages"]["perf"]["usage"] = s.summary().model_dump(mode="json")
    row = _row(render(res, tmp_path, lang), label)
    assert "NPU 2 chip 0 60% / 80%" in row
