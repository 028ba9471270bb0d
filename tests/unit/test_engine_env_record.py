"""The repro block's environment: every variable the engine got, not only the ones the run set
(issue 22: a Gemma run depended on VLLM_CPU_KVCACHE_SPACE from the shell and its repro block
did not say so)."""

from __future__ import annotations

from modelverify.redact import redact_env
from modelverify.report.repro import serve_command
from modelverify.serve.stage import engine_env_record


def test_inherited_engine_variables_are_recorded_and_secrets_masked() -> None:
    shell = {
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "HF_TOKEN": "hf_secretvalue",
        "OMP_NUM_THREADS": "2",
        "HOME": "/root",
        "PATH": "/usr/bin",
    }
    env = redact_env(engine_env_record({"VLLM_CPU_OMP_THREADS_BIND": "0-1"}, shell))
    assert env == {
        "HF_TOKEN": "***",
        "OMP_NUM_THREADS": "2",
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "VLLM_CPU_OMP_THREADS_BIND": "0-1",
    }
    cmd = serve_command({"command": ["python", "-m", "vllm", "--model", "m"], "env": env})
    assert cmd is not None and "VLLM_CPU_KVCACHE_SPACE=1" in cmd and "hf_secret" not in cmd


def test_the_run_s_own_setting_wins_over_the_shell() -> None:
    env = engine_env_record({"VLLM_CPU_KVCACHE_SPACE": "4"}, {"VLLM_CPU_KVCACHE_SPACE": "1"})
    assert env == {"VLLM_CPU_KVCACHE_SPACE": "4"}
