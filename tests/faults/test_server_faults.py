"""Server faults a real vLLM won't produce on demand, from a scripted server on a real socket:
5xx bursts and 429 (retried with backoff for evaluation, counted and never retried in perf), a
stream cut before [DONE], malformed SSE JSON, a hung stream (read timeout), and a full disk."""

from __future__ import annotations

import errno
import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelverify.accuracy.stage import AccuracyConfig, run_accuracy
from modelverify.perf.stage import PerfConfig, run_perf
from modelverify.results import Status


class Scripted(http.server.BaseHTTPRequestHandler):
    """Answers by the request's number: ``script[n]`` names a fault, anything else is normal."""

    protocol_version = "HTTP/1.1"
    script: dict[int, str] = {}
    count = 0
    lock = threading.Lock()

    def log_message(self, *args: object) -> None:
        pass

    def _json(self, code: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._json(
            200,
            {"object": "list", "data": [{"id": "fake", "object": "model", "max_model_len": 4096}]},
        )

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        with self.lock:
            type(self).count += 1
            n = type(self).count
        fault = self.script.get(n, "ok")
        if fault == "503":
            return self._json(503, {"error": {"message": "overloaded"}})
        if fault == "429":
            return self._json(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
        if fault == "hang_first":  # no byte at all: the first-byte (read) timeout ends it
            time.sleep(3)
            return self._json(200, {})
        if not body.get("stream"):
            answer = "Natalia sold 48 + 24 = 72 clips. The answer is 72."
            return self._json(
                200,
                {
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": answer},
                        }
                    ],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 12, "total_tokens": 17},
                },
            )
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        chunks = [{"choices": [{"index": 0, "text": f" t{i}"}]} for i in range(4)]
        if fault == "garbage":
            self.wfile.write(b"data: {not json\n\n")
            return
        if fault == "hang":
            self.wfile.write(f"data: {json.dumps(chunks[0])}\n\n".encode())
            self.wfile.flush()
            time.sleep(3)
            return
        for i, c in enumerate(chunks):
            self.wfile.write(f"data: {json.dumps(c)}\n\n".encode())
            if fault == "cut" and i == 1:
                return  # connection closes: no [DONE]
        self.wfile.write(
            b'data: {"choices": [], "usage": {"prompt_tokens": 5, '
            b'"completion_tokens": 4, "total_tokens": 9}}\n\ndata: [DONE]\n\n'
        )


@pytest.fixture()
def scripted() -> Iterator[tuple[str, type[Scripted]]]:
    class H(Scripted):
        script: dict[int, str] = {}
        count = 0
        lock = threading.Lock()

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", H
    srv.shutdown()


def gsm8k(tmp_path: Path, n: int) -> Path:
    f = tmp_path / "items.jsonl"
    q = "Natalia sold clips to 48 of her friends in April, and then she sold half as many in May. How many clips did she sell altogether?"
    f.write_text(
        "".join(
            json.dumps({"question": q, "answer": "48 + 24 = 72\n#### 72"}) + "\n" for _ in range(n)
        )
    )
    return f


def test_eval_retries_5xx_and_429_with_backoff_and_counts_them(tmp_path: Path, scripted) -> None:
    url, h = scripted
    h.script = {1: "503", 2: "503", 3: "429"}
    res = run_accuracy(
        url,
        "fake",
        tmp_path / "acc.jsonl",
        config=AccuracyConfig(dataset=str(gsm8k(tmp_path, 3)), concurrency=1),
    )
    assert (res.answered, res.correct, res.errors) == (3, 3, 0)
    assert res.retried_requests == 3
    assert h.count == 6  # 3 items + 3 retries


def test_perf_counts_faults_and_never_retries(tmp_path: Path, scripted) -> None:
    url, h = scripted
    h.script = {2: "503", 3: "cut", 4: "garbage", 5: "hang", 6: "429", 7: "hang_first"}
    jsonl = tmp_path / "perf.jsonl"
    t0 = time.monotonic()
    res = run_perf(
        url,
        "fake",
        jsonl,
        config=PerfConfig(
            sequential_requests=8,
            concurrent_requests=0,
            warmup_requests=0,
            first_byte_timeout_s=1.0,
            read_timeout_s=1.0,
        ),
    )
    assert time.monotonic() - t0 < 60  # the hung stream ended by the read timeout, not by luck
    assert h.count == 8  # measured requests are samples: never retried
    assert res.sequential is not None and res.sequential.successes == 2
    assert res.status == Status.WARN and "sequential 2/8" in res.reason, res.reason
    errors = res.sequential.streaming.errors
    assert errors == {
        "HTTP 503": 1,
        "HTTP 429": 1,
        "stream cut before [DONE]": 1,
        "malformed SSE JSON": 1,
        "timeout": 2,
    }, errors
    lines = jsonl.read_text().splitlines()
    assert len(lines) == 8 and all(json.loads(x)["index"] in range(8) for x in lines)


@pytest.mark.parametrize(
    ("first_byte", "chunk", "timed_out"),
    [(0.5, 10.0, {0: "no first byte in 0.5 s"}), (10.0, 0.5, {1: "no next chunk in 0.5 s"})],
    ids=["first-byte", "between-chunks"],
)
def test_each_phase_of_a_stream_has_its_own_timeout(
    tmp_path: Path, scripted, first_byte: float, chunk: float, timed_out: dict[int, str]
) -> None:
    url, h = scripted
    h.script = {1: "hang_first", 2: "hang"}  # both stall 3 s: one before any byte, one mid-stream
    res = run_perf(
        url,
        "fake",
        tmp_path / "perf_requests.jsonl",
        config=PerfConfig(
            sequential_requests=2,
            concurrent_requests=0,
            warmup_requests=0,
            first_byte_timeout_s=first_byte,
            read_timeout_s=chunk,
        ),
    )
    recs = [json.loads(x) for x in (tmp_path / "perf_requests.jsonl").read_text().splitlines()]
    for r in recs:
        msg = timed_out.get(r["index"])
        if msg is not None:  # ended by its phase's limit, well before the 3 s stall was over
            assert msg in r["error"] and r["e2el_s"] is None, r
        else:  # the other phase's generous limit let the stall run its course
            assert "ReadTimeout" not in (r["error"] or ""), r
    assert res.sequential is not None and res.sequential.successes == 0


def test_an_eval_request_ends_within_a_second_of_the_engine_dying(tmp_path: Path, scripted) -> None:
    from modelverify.client import watch_engine
    from modelverify.errors import EngineError

    url, h = scripted
    h.script = {1: "hang_first"}  # the socket stays open, no byte comes: as when a child holds it
    t0 = time.monotonic()
    watch_engine(lambda: time.monotonic() - t0 < 0.5)  # the "engine" dies half a second in
    try:
        with pytest.raises(EngineError, match="the engine process exited during POST"):
            run_accuracy(
                url,
                "fake",
                tmp_path / "acc.jsonl",
                config=AccuracyConfig(dataset=str(gsm8k(tmp_path, 1)), concurrency=1),
            )
    finally:
        watch_engine(None)
    assert time.monotonic() - t0 < 2.5  # not the 3 s stall, let alone the 600 s read timeout


def test_api_checks_retry_a_503_and_count_it(tmp_path: Path, scripted) -> None:
    from modelverify.api.stage import run_api
    from modelverify.report.i18n import strings
    from modelverify.report.sections import api_section

    url, h = scripted
    h.script = {1: "503"}  # the first POST of the suite (the completions seed check)
    res = run_api(url, "fake")
    assert res.retried_requests == 1
    done = next(c for c in res.checks if c.id == "completions.basic")
    assert done.evidence[0].status_code == 200  # the check judged the answer after the retry
    md = api_section(res.model_dump(mode="json"), strings("en"), "en")
    assert "1 request(s) were sent again with backoff" in md


def test_disk_full_is_one_line_and_keeps_what_was_written(
    tmp_path: Path, scripted, monkeypatch, capsys
) -> None:
    from modelverify.cli.main import main
    from modelverify.rundir import JsonlWriter

    url, _ = scripted
    real_init = JsonlWriter.__init__

    class FillingDisk:
        """The writer's file: three records fit, then the device is full."""

        def __init__(self, f) -> None:  # type: ignore[no-untyped-def]
            self.f, self.lines = f, 0

        def write(self, text: str) -> int:
            if self.lines >= 3:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.lines += 1
            return self.f.write(text)

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(self.f, name)

    def init(self: JsonlWriter, path: Path, sync_every: int = 20) -> None:
        real_init(self, path, sync_every)
        self._f = FillingDisk(self._f)  # type: ignore[assignment]

    monkeypatch.setattr(JsonlWriter, "__init__", init)
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "perf",
                "--base-url",
                url,
                "--model",
                "fake",
                "--sequential",
                "6",
                "--requests",
                "0",
                "--out",
                str(out),
            ]
        )
    assert exit_info.value.code == 1
    err = [x for x in capsys.readouterr().err.splitlines() if x.strip() and not x.startswith("[")]
    assert len(err) == 1 and err[0].startswith("error: disk full while writing ")
    # `perf` has no run to resume: the advice is to run it again, not `run --resume`
    assert "perf_requests.jsonl" in err[0] and "run the command again" in err[0]
    assert "--resume" not in err[0]
    kept = (out / "perf_requests.jsonl").read_text().splitlines()
    assert len(kept) == 3 and all(json.loads(x)["ok"] for x in kept)


def test_disk_full_during_run_names_the_run_directory_to_resume(tmp_path: Path) -> None:
    import errno

    from modelverify.cli.main import _disk_full_message

    exc = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "r" / "accuracy.jsonl"))
    msg = _disk_full_message(exc, ["run", "demo", "--out", str(tmp_path / "r")])
    assert msg.endswith(f"`modelverify run --resume {tmp_path / 'r'}` (finished results are kept)")
