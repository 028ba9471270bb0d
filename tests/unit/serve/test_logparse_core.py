"""The start-up log parser against real logs: our CPU engine's and public ones (../shared)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelverify.serve.diagnose import diagnose
from modelverify.serve.logparse import clean_line, parse_vllm_log, root_cause_line

DATA = Path(__file__).resolve().parents[2] / "data" / "vllm_logs"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def agree(path: Path, expected: dict[str, object]) -> list[str]:
    got = parse_vllm_log(read(path)).model_dump(mode="json")
    diffs = []
    for key, want in expected.items():
        if key in ("source", "notes"):
            continue
        have = got.get(key)
        if isinstance(want, dict) and isinstance(have, dict):
            have = {k: have.get(k) for k in want}
        if have != want:
            diffs.append(f"{key}: want {want!r}, got {have!r}")
    return diffs


def test_our_cpu_engine_log_field_by_field() -> None:
    log = DATA / "cpu_v0.32.0_smollm2_eager_ok.log"
    assert (
        agree(log, json.loads((DATA / "cpu_v0.32.0_smollm2_eager_ok.expected.json").read_text()))
        == []
    )


@pytest.mark.parametrize(
    "log",
    sorted(p for p in DATA.glob("*.log") if p.with_suffix(".expected.json").is_file()),
    ids=lambda p: p.name,
)
def test_collected_logs_field_by_field(log: Path) -> None:
    assert agree(log, json.loads(log.with_suffix(".expected.json").read_text())) == []


def test_public_logs_field_by_field(shared_dir: Path) -> None:
    logs = sorted((shared_dir / "samples" / "vllm_logs").glob("*.log"))
    assert len(logs) >= 3
    for log in logs:
        expected = json.loads(log.with_suffix(".json").read_text())
        assert agree(log, expected) == [], log.name


@pytest.mark.parametrize(
    ("name", "rule", "cause"),
    [
        (
            "cpu_v0.32.0_max_model_len_999999_fail.log",
            "max_model_len_over_model_limit",
            "max_model_len (999999)",
        ),
        ("cpu_v0.32.0_kvcache_space_float_fail.log", "cpu_kvcache_space_invalid", "'0.001'"),
        (
            "cpu_v0.32.0_unknown_architecture_fail.log",
            "unsupported_architecture",
            "FooBarForCausalLM",
        ),
        (
            "cpu_v0.32.0_kv_cache_too_small_fail.log",
            "kv_cache_too_small",
            "estimated maximum model length is 46464",
        ),
    ],
)
def test_real_failures_are_diagnosed_by_their_root_cause(name: str, rule: str, cause: str) -> None:
    text = read(DATA / name)
    facts = parse_vllm_log(text)
    assert not facts.startup_complete and facts.fatal_error is not None
    assert "Engine core initialization failed" not in facts.fatal_error
    diag = diagnose(text, facts)
    assert diag is not None and diag.id == rule
    assert cause in (diag.root_cause or "")
    assert diag.excerpt


def test_a_healthy_log_has_no_diagnosis() -> None:
    assert diagnose(read(DATA / "cpu_v0.32.0_smollm2_eager_ok.log")) is None


def test_setting_enabled_then_disabled_keeps_the_final_state() -> None:
    text = (
        "INFO 01-01 00:00:00 [config.py:1] Chunked prefill is enabled with max_num_batched_tokens=2048.\n"
        "WARNING 01-01 00:00:01 [x.py:2] Chunked prefill is not supported for this model; disabling it.\n"
    )
    facts = parse_vllm_log(text)
    assert facts.chunked_prefill_enabled is False and facts.max_num_batched_tokens == 2048


def test_kv_lines_per_worker_are_all_kept() -> None:
    text = "\n".join(
        f"(Worker_TP{i} pid={100 + i}) INFO 01-01 00:00:0{i} [kv.py:1] GPU KV cache size: {n} tokens"
        for i, n in enumerate(["1,024", "1,040", "1,024", "1,032"])
    )
    facts = parse_vllm_log(text)
    assert facts.kv_cache_tokens_per_worker == [1024, 1040, 1024, 1032]
    assert facts.kv_cache_tokens == 1024
    assert root_cause_line("EOFError\nRuntimeError: Engine core initialization failed") is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=4000))
def test_any_text_parses_without_error(text: str) -> None:
    parse_vllm_log(text)
    diagnose(text)


def test_long_lines_do_not_backtrack() -> None:
    import time

    nasty = (
        "Initializing a V1 LLM engine (v1) with config: " + "model=" * 50_000 + "\n" + "(" * 100_000
    )
    t0 = time.perf_counter()
    parse_vllm_log(nasty)
    assert time.perf_counter() - t0 < 5


def test_v0_engine_line_of_0_7() -> None:
    # the start of the engine line quoted in https://github.com/vllm-project/vllm/issues/12664
    line = (
        "INFO 02-02 11:50:02 llm_engine.py:232] Initializing a V0 LLM engine (v0.7.1) with "
        "config: model='/home/bruce/Downloads/models/Qwen2.5-32B-Instruct', "
        "speculative_config=None, tokenizer='/home/bruce/Downloads/models/Qwen2.5-32B-Instruct', "
        "skip_tokenizer_init=False, tokenizer_mode=auto, revision=None, "
        "override_neuron_config=None, tokenizer_revision=None, trust_remote_code=False, "
        "dtype=torch.bfloat16, max_seq_len=12288, download_dir=None, "
        "load_format=LoadFormat.AUTO, tensor_parallel_size=2, pipeline_parallel_size=1, "
        "disable_custom_all_reduce=False, quantization=None, enforce_eager=True, "
        "kv_cache_dtype=auto, device_config=cuda,"
    )
    f = parse_vllm_log(line)
    assert (f.engine, f.vllm_version, f.tensor_parallel_size, f.max_seq_len) == (
        "V0",
        "0.7.1",
        2,
        12288,
    )
    assert (f.model, f.dtype, f.enforce_eager, f.device_config) == (
        "/home/bruce/Downloads/models/Qwen2.5-32B-Instruct",
        "bfloat16",
        True,
        "cuda",
    )


def test_ascend_tp2_failure_names_the_worker_error_and_its_cann_code() -> None:
    log = read(DATA / "ascend_v0.11.0rc3_310p_tp2_507013_EL0004_fail.excerpt.log")
    f = parse_vllm_log(log)
    assert f.platform == "npu"  # device_config=npu, though the KV line says "GPU"
    assert f.kv_cache_tokens_per_worker == [400640, 397312] and f.kv_cache_tokens == 397312
    assert (f.tensor_parallel_size, f.max_seq_len, f.dtype) == (2, 14000, "float16")
    cause = root_cause_line(log)
    assert cause is not None and cause.startswith("RuntimeError: npuSynchronizeDevice")
    assert cause.endswith("(EL0004: Failed to allocate memory.)")
    d = diagnose(log)
    assert d is not None and d.id == "device_oom"


def test_topology_from_rank_lines_and_worker_prefixes() -> None:
    from modelverify.report.sections import topology

    # the two parallel_state lines and the first worker lines of vllm-ascend issue 4074
    log = (
        "INFO 11-10 01:24:42 [parallel_state.py:1208] rank 1 in world size 2 is assigned as DP "
        "rank 0, PP rank 0, TP rank 1, EP rank 1\n"
        "INFO 11-10 01:24:42 [parallel_state.py:1208] rank 0 in world size 2 is assigned as DP "
        "rank 0, PP rank 0, TP rank 0, EP rank 0\n"
        "(Worker_TP0 pid=5536) INFO 11-10 01:24:44 [model_runner_v1.py:2627] Starting to load "
        "model /home/models/Qwen3-VL-8B-Instruct...\n"
        "(Worker_TP1 pid=5537) INFO 11-10 01:24:44 [model_runner_v1.py:2627] Starting to load "
        "model /home/models/Qwen3-VL-8B-Instruct...\n"
    )
    f = parse_vllm_log(log).model_dump(mode="json")
    assert f["world_size"] == 2
    assert [r["groups"] for r in f["ranks"]] == [
        {"DP": 0, "PP": 0, "TP": 1, "EP": 1},
        {"DP": 0, "PP": 0, "TP": 0, "EP": 0},
    ]
    assert f["worker_processes"] == ["Worker_TP0 pid=5536", "Worker_TP1 pid=5537"]
    text = topology(f)
    assert text is not None and text.startswith("world size 2; rank 1: DP 0, PP 0, TP 1, EP 1")
    assert "workers: Worker_TP0 pid=5536, Worker_TP1 pid=5537" in text
    # our CPU engine: one rank, the newer line with PCP/ETP/EPLB and N/A
    cpu = parse_vllm_log(read(DATA / "cpu_v0.32.0_smollm2_eager_ok.log"))
    assert cpu.world_size == 1 and cpu.ranks[0].groups["EP"] is None
    assert cpu.ranks[0].groups["PCP"] == 0
    assert (
        parse_vllm_log(
            "non-default args: {'model': 'x', 'distributed_executor_backend': 'ray'}"
        ).distributed_executor_backend
        == "ray"
    )


@pytest.mark.parametrize(
    ("name", "final"),
    [
        # enabled, then vLLM-Ascend's "Non-MLA LLMs forcibly disable the chunked prefill
        # feature", and the engine line confirms chunked_prefill_enabled=False
        ("ascend_issue3316_v0.10.2_V1_npu_chunked_prefill_forced_off.excerpt.log", False),
        # the same two lines for a multimodal model, which the hook exempts: the engine line
        # says chunked_prefill_enabled=True, and that is the final state
        ("ascend_v0.11.0rc3_310p_tp2_507013_EL0004_fail.excerpt.log", True),
    ],
)
def test_chunked_prefill_forced_off_in_real_logs_keeps_the_final_state(
    name: str, final: bool
) -> None:
    text = read(DATA / name)
    assert "forcibly disable the chunked prefill" in text
    f = parse_vllm_log(text)
    assert f.chunked_prefill_enabled is final and f.max_num_batched_tokens == 2048


def test_worker_prefixes_of_every_published_shape() -> None:
    # whole lines quoted from vllm issues 23256 (v0.10, "VllmWorker TP1") and 15182 (v0.8,
    # "VllmWorker rank=5"), and the Ray worker of another node in vllm-ascend issue 2146
    lines = [
        "(VllmWorker TP1 pid=59068) INFO 08-20 12:07:23 [monitor.py:34] torch.compile takes "
        "10.52 s in total",
        '(VllmWorker rank=5 pid=3073)   File "/opt/venv/lib/python3.12/site-packages/vllm/v1/'
        'worker/gpu_worker.py", line 136, in load_model',
        "(RayWorkerWrapper pid=769, ip=7.242.96.68) INFO 07-31 19:35:33 "
        "[model_runner_v1.py:1745] Starting to load model "
        "/share/model/Qwen/Qwen3-235B-A22B-Thinking-2507...",
    ]
    f = parse_vllm_log("\n".join(lines))
    assert f.worker_processes == [
        "VllmWorker TP1 pid=59068",
        "VllmWorker rank=5 pid=3073",
        "RayWorkerWrapper pid=769 ip=7.242.96.68",
    ]
    assert f.timings.torch_compile_s == 10.52
    assert clean_line(lines[1])[0].startswith('File "/opt/venv/')
    assert clean_line(lines[2])[1:] == ("INFO", "07-31 19:35:33")


def test_torch_cpp_error_after_start_up_is_the_post_startup_error() -> None:
    # before: null; the only error after "Application startup complete" is torch's C++ line
    name = "ascend_issue4594_v0.11.2_V1_npu_tp8_mp_aclgraph_ok_post_error.excerpt.log"
    f = parse_vllm_log(read(DATA / name))
    assert f.startup_complete and f.fatal_error is None
    assert f.post_startup_error == "SelfAttentionOperation setup failed!"
    # the "[rankN]:[W...]" warnings during graph capture are not errors
    assert root_cause_line("\n".join(read(DATA / name).splitlines()[:300])) is None


@pytest.mark.parametrize(
    "line",
    [
        "INFO 12-01 10:00:00 [default_loader.py:267] Loading weights took 1.2.3 s",
        "INFO 12-01 10:00:00 [gpu_model_runner.py:1] Graph capturing finished in 4.5.6 secs, took 0.1.2 GiB",
        "INFO 12-01 10:00:00 [x.py:1] Maximum concurrency for 2,048 tokens per request: 1.2.3x",
        "INFO 12-01 10:00:00 [x.py:1] init engine (profile, create kv cache, warmup model) took "
        + "9" * 400
        + " s",
        "INFO 12-01 10:00:00 [x.py:1] Chunked prefill is enabled with max_num_batched_tokens="
        + "7" * 5000,
    ],
)
def test_a_number_capture_that_is_no_number_is_absent_not_a_crash(line: str) -> None:
    # float("1.2.3") and int() of 5,000 digits raised ValueError before
    facts = parse_vllm_log(line)
    t = facts.timings
    assert t.weights_loaded_s is None and t.graph_capture_s is None and t.init_engine_s is None
    assert facts.max_concurrency is None and facts.max_num_batched_tokens is None
