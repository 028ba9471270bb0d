"""Bad input: each a one-line error that says what to do, a non-zero exit, nothing half-written."""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest


def mv(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelverify", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [
        ln for ln in proc.stderr.strip().splitlines() if not ln.startswith(("[", "run directory"))
    ]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def model_dir(tmp_path: Path, config_text: str | None) -> Path:
    d = tmp_path / "model"
    d.mkdir()
    if config_text is not None:
        (d / "config.json").write_text(config_text)
    return d


@pytest.mark.parametrize(
    ("config", "expect"),
    [
        (None, "has no config.json"),
        ("", "is empty: re-download the model"),
        ('{"architectures": ["LlamaForCausalLM"], "hidden', "is not valid JSON (line 1)"),
        ("[1, 2]", "is not a JSON object"),
        ('{"model_type": "llama"}', "names no 'architectures'"),
    ],
)
def test_broken_model_folder(tmp_path: Path, config: str | None, expect: str) -> None:
    d = model_dir(tmp_path, config)
    proc = mv("run", str(d), "--out", str(tmp_path / "run"))
    assert proc.returncode == 1
    assert expect in one_error_line(proc)
    assert not (tmp_path / "run").exists()


def test_contradictory_flags(tmp_path: Path) -> None:
    proc = mv("run", "demo", "--base-url", "http://127.0.0.1:9", "--", "--max-model-len", "10")
    assert proc.returncode == 1 and "drop them or drop --base-url" in one_error_line(proc)
    proc = mv("run", "demo", "--stages", "env,bogus")
    assert proc.returncode == 1 and "unknown stage(s) bogus" in one_error_line(proc)
    proc = mv("run", "demo", "--limit", "0")
    assert proc.returncode == 1 and "--limit must be at least 1" in one_error_line(proc)
    key = tmp_path / "key"
    key.write_text("k")
    proc = mv("run", "demo", "--api-key", "a", "--api-key-file", str(key))
    assert proc.returncode == 1 and "not both" in one_error_line(proc)


def test_dataset_with_a_bad_line_names_the_line(tmp_path: Path) -> None:
    from modelverify.accuracy.data import load_items
    from modelverify.errors import DataError

    f = tmp_path / "d.jsonl"
    f.write_text('{"question": "q", "answer": "#### 1"}\n{"question": "q2"\n')
    with pytest.raises(DataError, match="line 2: not JSON"):
        load_items(f)
    f.write_text('{"question": "q", "answer": "#### 1"}\n{"question": "q2"}\n')
    with pytest.raises(DataError, match="line 2: needs string fields"):
        load_items(f)


class _Handler(http.server.BaseHTTPRequestHandler):
    mode = "html"

    def do_GET(self) -> None:
        if self.mode == "401":
            self.send_response(401)
            self.end_headers()
            self.wfile.write(b'{"error": "bad key"}')
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html>not an API</html>")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def http_server() -> Iterator[tuple[str, type[_Handler]]]:
    class H(_Handler):
        pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", H
    srv.shutdown()


def test_base_url_that_is_not_an_openai_server(
    tmp_path: Path, http_server: tuple[str, type[_Handler]]
) -> None:
    url, _ = http_server
    out = tmp_path / "run"
    proc = mv(
        "run", "some/model", "--base-url", url, "--stages", "env,serve,api", "--out", str(out)
    )
    assert proc.returncode == 1
    assert "is not an OpenAI model list" in one_error_line(proc)
    assert json.loads((out / "env.json").read_text())["status"] in ("pass", "warn")  # kept


def test_wrong_api_key(tmp_path: Path, http_server: tuple[str, type[_Handler]]) -> None:
    url, handler = http_server
    handler.mode = "401"
    proc = mv(
        "run",
        "some/model",
        "--base-url",
        url,
        "--stages",
        "api",
        "--api-key",
        "sk-wrong-key",
        "--out",
        str(tmp_path / "run"),
    )
    assert proc.returncode == 1
    line = one_error_line(proc)
    assert "refused the API key (HTTP 401)" in line
    assert "sk-wrong-key" not in proc.stderr + proc.stdout


def test_base_url_nobody_listens_on(tmp_path: Path) -> None:
    proc = mv(
        "run",
        "some/model",
        "--base-url",
        "http://127.0.0.1:9",
        "--stages",
        "api",
        "--out",
        str(tmp_path / "run"),
    )
    assert proc.returncode == 1 and "does not answer" in one_error_line(proc)


def test_unknown_architecture_is_refused_before_launch(tmp_path: Path, demo_model: Path) -> None:
    """A class the installed vLLM's registry lacks: one line, compat.json kept, nothing launched."""
    model = tmp_path / "model"
    model.mkdir()
    for f in demo_model.iterdir():
        (model / f.name).symlink_to(f)
    (model / "config.json").unlink()
    cfg = json.loads((demo_model / "config.json").read_text())
    cfg["architectures"] = ["NoSuchModelForCausalLM"]
    (model / "config.json").write_text(json.dumps(cfg))
    out = tmp_path / "run"
    proc = mv("run", str(model), "--stages", "env,compat,serve,api", "--out", str(out), timeout=300)
    assert proc.returncode == 1
    line = one_error_line(proc)
    assert "NoSuchModelForCausalLM cannot be served by the installed vLLM" in line
    assert "nothing was launched" in line
    compat = json.loads((out / "compat.json").read_text())
    assert compat["status"] == "fail" and compat["registry_verdict"] == "unsupported"
    assert not (out / "server.json").exists()


@pytest.mark.parametrize("visible", ["16", "0,3,99"], ids=["one-past-the-end", "one-of-three"])
def test_device_index_out_of_range_is_refused_before_launch(
    tmp_path: Path, demo_model: Path, visible: str
) -> None:
    """ASCEND_RT_VISIBLE_DEVICES naming a device the host lacks, on a recorded 16-NPU node.

    A stand-in `npu-smi` on PATH prints the real recorded table (and has no `-m` table), so the
    live code path runs exactly as on the node the table came from."""
    import os

    table = (
        Path(__file__).parents[1] / "data" / "npu_smi" / "07_910b2c_16npu_two_digit_ids_24.1.0.txt"
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "npu-smi"
    fake.write_text(f'#!/bin/sh\n[ "$2" = "-m" ] && exit 1\ncat "{table}"\n')
    fake.chmod(0o755)
    out = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelverify",
            "run",
            "demo",
            "--stages",
            "env,serve",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "ASCEND_RT_VISIBLE_DEVICES": visible,
        },
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    line = one_error_line(proc)
    assert "ASCEND_RT_VISIBLE_DEVICES" in line and "nothing was launched" in line, line
    env = json.loads((out / "env.json").read_text())  # the finished stage is kept
    assert env["platform"] == "npu" and env["status"] == "fail"
    assert not (out / "server.json").exists()
