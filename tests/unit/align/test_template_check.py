"""The served-template check's judgement, on what a real server cannot be made to answer on demand.

The healthy and the wrong-template cases run on the real engine (tests/e2e/test_align_template.py,
tests/faults/test_template_fault.py); here only the folder's side and protocol faults (a server
with no /tokenize, one that refuses or garbles its answer) use a scripted in-process server.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelverify.align.template import (
    CONVERSATIONS,
    LineDiff,
    TokenDiff,
    check_served_template,
    first_line_diff,
    first_token_diff,
)
from modelverify.results import Status

DATA = Path(__file__).resolve().parents[2] / "data"
SMOL = DATA / "chat_templates/smollm2"


class Scripted(http.server.BaseHTTPRequestHandler):
    # (status, body) per path; a str body is sent as it is (not JSON)
    answers: dict[str, tuple[int, Any]] = {}
    seen: list[tuple[str, dict[str, Any]]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        self.seen.append((self.path, body))
        code, answer = self.answers.get(self.path, (404, {"detail": "Not Found"}))
        if callable(answer):
            answer = answer(body)
        raw = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture()
def scripted() -> Iterator[tuple[str, type[Scripted]]]:
    class H(Scripted):
        answers = {}
        seen = []

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/v1", H
    finally:
        srv.shutdown()
        srv.server_close()


def test_first_line_diff() -> None:
    assert first_line_diff("a\nb\nc", "a\nb\nc") is None
    assert first_line_diff("a\nb\nc", "a\nX\nc") == LineDiff(line=2, local="b", served="X")
    assert first_line_diff("a\nb", "a\nb\nc") == LineDiff(line=3, local=None, served="c")
    # a trailing newline is a line of its own, so a lost one is still named
    assert first_line_diff("a\n", "a") == LineDiff(line=2, local="", served=None)


def test_first_token_diff() -> None:
    assert first_token_diff([1, 2, 3], [1, 2, 3]) is None
    assert first_token_diff([1, 2, 3], [1, 5, 3], ["a", "b", "c"], ["a", "e", "c"]) == TokenDiff(
        index=1, local_id=2, served_id=5, local_token="b", served_token="e"
    )
    # a doubled BOS: equal text, one more token at the front
    assert first_token_diff([1, 9], [1, 1, 9]) == TokenDiff(index=1, local_id=9, served_id=1)
    assert first_token_diff([1, 9], [1]) == TokenDiff(index=1, local_id=9, served_id=None)


def test_a_base_model_is_not_judged_without_asking_the_server() -> None:
    res = check_served_template(
        "http://127.0.0.1:9", "m", DATA / "model_configs/tokenizers/qwen-7b"
    )
    assert res.status == Status.NOT_JUDGED
    assert "no chat template" in res.reason and "base model" in res.reason
    assert res.conversations == []


def test_an_unreadable_template_is_a_fail(tmp_path: Path) -> None:
    (tmp_path / "tokenizer_config.json").write_text("{oops")
    res = check_served_template("http://127.0.0.1:9", "m", tmp_path)
    assert res.status == Status.FAIL
    assert "cannot be read" in res.reason and "tokenizer_config.json" in res.reason


def test_no_server_is_not_judged() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = check_served_template(f"http://127.0.0.1:{port}", "m", SMOL, timeout_s=5)
    assert res.status == Status.NOT_JUDGED
    assert "could not be asked" in res.reason


def test_a_server_without_tokenize_is_not_judged(scripted) -> None:  # type: ignore[no-untyped-def]
    url, h = scripted
    res = check_served_template(url, "m", SMOL)
    assert res.status == Status.NOT_JUDGED
    assert "HTTP 404: Not Found" in res.reason and "/tokenize" in res.reason
    # asked at the server root, not under /v1
    assert h.seen[0][0] == "/tokenize"


def test_garbled_answers_are_not_judged_never_a_crash(scripted) -> None:  # type: ignore[no-untyped-def]
    url, h = scripted
    for answer in ("<html>busy</html>", [1, 2], {"tokens": "12"}, {"tokens": [1, "x"]}):
        h.answers["/tokenize"] = (200, answer)
        res = check_served_template(url, "m", SMOL)
        assert res.status == Status.NOT_JUDGED, answer
        assert "no usable answer" in res.reason


def test_server_refusing_what_the_template_renders_is_a_fail(scripted) -> None:  # type: ignore[no-untyped-def]
    url, h = scripted
    msg = {
        "error": {"message": "As of transformers v4.44, default chat template is no longer allowed"}
    }
    h.answers["/tokenize"] = (400, msg)
    res = check_served_template(url, "m", SMOL)
    assert res.status == Status.FAIL
    assert [c.status for c in res.conversations] == [Status.FAIL] * len(CONVERSATIONS)
    assert "server refused it" in res.conversations[0].reason
    assert "default chat template is no longer allowed" in res.conversations[0].reason


def test_both_refusing_a_conversation_is_not_judged(scripted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, h = scripted
    (tmp_path / "chat_template.jinja").write_text(
        "{{ raise_exception('System role not supported') }}"
    )
    h.answers["/tokenize"] = (400, {"error": {"message": "System role not supported"}})
    res = check_served_template(url, "m", tmp_path)
    assert res.status == Status.NOT_JUDGED
    assert all(c.status == Status.NOT_JUDGED for c in res.conversations)
    assert "both refuse" in res.conversations[0].reason


def test_the_requests_ask_for_what_vllm_builds(scripted) -> None:  # type: ignore[no-untyped-def]
    url, h = scripted

    def tokenize(body: dict[str, Any]) -> dict[str, Any]:
        return {"tokens": [1, 2] if "messages" in body else [1, 3], "token_strs": ["<s>", "x"]}

    h.answers["/tokenize"] = (200, tokenize)
    h.answers["/detokenize"] = (200, {"prompt": "<s>x"})
    res = check_served_template(url, "m", SMOL, api_key="k")
    assert res.status == Status.FAIL
    chat, det, text = h.seen[0][1], h.seen[1][1], h.seen[2][1]
    assert chat["messages"] == CONVERSATIONS[0].messages and chat["add_generation_prompt"] is True
    assert det == {"model": "m", "tokens": [1, 2]}
    assert text["add_special_tokens"] is False and text["prompt"].startswith("<|im_start|>system\n")
    last_chat = [b for p, b in h.seen if p == "/tokenize" and "messages" in b][-1]
    assert last_chat["add_generation_prompt"] is False  # the no_generation_prompt conversation
    ev = res.conversations[0]
    assert ev.first_token == TokenDiff(
        index=1, local_id=3, served_id=2, local_token="x", served_token="x"
    )
