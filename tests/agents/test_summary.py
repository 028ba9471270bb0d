"""``modelverify summary`` on run directories of failing runs made without an engine: an
OpenAI server that lists its model but rejects every generation (a scripted server on a real
socket: a real vLLM does not do this on demand), and directories that are not runs."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from helpers import ROOT, run, validate_events

SUMMARY_SCHEMA = json.loads((ROOT / "docs" / "summary.schema.json").read_text(encoding="utf-8"))


class Rejecting(http.server.BaseHTTPRequestHandler):
    """/v1/models answers; every POST gets HTTP 400 (not retried, so the checks end fast)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _json(self, code: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.startswith("/v1/models"):
            self._json(200, {"object": "list", "data": [{"id": "m", "object": "model"}]})
        else:
            self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._json(400, {"error": {"message": "rejected", "type": "BadRequestError"}})


@pytest.fixture()
def rejecting() -> Iterator[str]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Rejecting)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_failing_api_run_names_the_checks_and_the_recheck_command(
    tmp_path: Path, rejecting: str
) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
    out, ev = tmp_path / "run", tmp_path / "events.jsonl"
    proc = run(
        "run", str(model), "--base-url", rejecting, "--stages", "serve,api,report",
        "--out", str(out), "--events", str(ev), timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    events = validate_events(ev.read_text().splitlines())
    api_findings = {e["id"]: e for e in events if e["event"] == "finding" and e["stage"] == "api"}
    assert api_findings["completions.basic"]["status"] == "fail"
    assert "400" in api_findings["completions.basic"]["reason"]
    assert events[-2]["event"] == "verdict" and events[-2]["overall"] == "none"
    assert events[-2]["exit_code"] == 2

    text = run("summary", str(out))
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("verdict: none (not adapted), exit code 2")
    assert "✗ api completions.basic [api server]:" in text.stdout
    assert f"look at: {out / 'api.json'}; report § 3. API tests" in text.stdout
    assert f"modelverify api --base-url {rejecting}" in text.stdout

    js = run("summary", str(out), "--json")
    data = json.loads(js.stdout)
    jsonschema.validate(data, SUMMARY_SCHEMA)
    assert data["verdict"] == "none" and data["exit_code"] == 2 and data["finished"]
    failed = {f["id"] for f in data["findings"] if f["status"] == "fail"}
    assert {"completions.basic", "chat.basic"} <= failed
    assert data["next"][0]["command"] == f"modelverify api --base-url {rejecting}"
    # every finding is one the api stage wrote, none invented
    api = json.loads((out / "api.json").read_text())
    written = {c["id"] for c in api["checks"] if c["status"] != "pass"}
    assert {f["id"] for f in data["findings"] if f["stage"] == "api"} == written


def test_summary_of_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    proc = run("summary", str(tmp_path))
    assert proc.returncode == 1
    assert (
        proc.stderr.strip() == f"error: {tmp_path} is not a modelverify run directory (no run.json)"
    )


def test_summary_of_a_run_with_a_corrupt_stage_file(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text(json.dumps({"stages": ["env"]}))
    (tmp_path / "env.json").write_text("{not json")
    proc = run("summary", str(tmp_path))
    assert proc.returncode == 1
    line = proc.stderr.strip()
    assert line.startswith(f"error: {tmp_path}: a stage file is not readable JSON")
    assert f"modelverify run --resume {tmp_path}" in line
