"""A fast synthetic OpenAI streaming server for bench/client_ceiling: no model, N chunks per
request (N = the request's ``max_tokens``), each sent as its own HTTP chunk.

Why not FastAPI/uvicorn (the first version): on this 2-core host the server shares the cores
with the client it serves, and uvicorn's ~10 µs of CPU per chunk (json.dumps, the ASGI
generator, its chunk framing) capped what any client could be measured at. This one is plain
asyncio on the standard library: every chunk is framed once per request from pre-encoded
bytes, then written with one ``transport.write`` (one ``send``) per chunk, yielding to the
event loop between chunks so concurrent streams interleave the way a real server's do. The
chunks look like vLLM's (``id``, ``object``, ``created``, ``model``, ``choices`` with ``text``,
``logprobs``, ``finish_reason``, ``stop_reason``) and carry a different token text in turn, so
no client can skip work by seeing byte-identical chunks; a closing chunk carries ``usage``.

    python bench/fake_stream_server.py --port 18100 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time

MODEL = "fake"
# token texts cycled through, so consecutive chunks differ as a model's do
TOKENS = [" the", " of", " and", " a", " to", " in", " is", " it", " that", " on"]


def _frame(payload: bytes) -> bytes:
    """One SSE event as one HTTP/1.1 chunk."""
    event = b"data: " + payload + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(event), event)


def _content_frames(rid: str, created: int) -> tuple[list[bytes], list[bytes]]:
    """The per-token frames (one per token text) and the same with finish_reason "length"."""

    def chunk(text: str, finish: str | None) -> bytes:
        return _frame(
            json.dumps(
                {
                    "id": rid,
                    "object": "text_completion",
                    "created": created,
                    "model": MODEL,
                    "choices": [
                        {
                            "index": 0,
                            "text": text,
                            "logprobs": None,
                            "finish_reason": finish,
                            "stop_reason": None,
                        }
                    ],
                },
                separators=(",", ":"),
            ).encode()
        )

    return [chunk(t, None) for t in TOKENS], [chunk(t, "length") for t in TOKENS]


STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)
END = _frame(b"[DONE]") + b"0\r\n\r\n"


def _json_response(obj: object, status: str = "200 OK") -> bytes:
    body = json.dumps(obj).encode()
    return b"HTTP/1.1 %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
        status.encode(),
        len(body),
        body,
    )


MODELS = _json_response(
    {"object": "list", "data": [{"id": MODEL, "object": "model", "max_model_len": 1 << 20}]}
)
HEALTH = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
NOT_FOUND = _json_response({"error": "not found"}, "404 Not Found")


class Conn(asyncio.Protocol):
    """One keep-alive connection: requests are answered in order, one stream at a time."""

    def __init__(self, frames: tuple[list[bytes], list[bytes]]):
        self.frames, self.last = frames
        self.buf = b""
        self.queue: asyncio.Queue[tuple[bytes, bytes]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        # without it, Nagle holds each chunk until the client ACKs the one before, and the
        # client's delayed ACK makes that ~40 ms (measured: every chunk of a keep-alive
        # request's stream arrived together, 43 ms late)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.task = asyncio.get_running_loop().create_task(self.serve())

    def connection_lost(self, exc: Exception | None) -> None:
        if self.task is not None:
            self.task.cancel()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4 : end + 4 + length]
            self.buf = self.buf[end + 4 + length :]
            self.queue.put_nowait((head.split(b"\r\n", 1)[0], body))

    async def serve(self) -> None:
        t = self.transport
        assert t is not None
        while True:
            line, body = await self.queue.get()
            method, path = line.split(b" ")[:2]
            if method == b"GET" and path == b"/v1/models":
                t.write(MODELS)
            elif method == b"GET" and path == b"/health":
                t.write(HEALTH)
            elif method == b"POST" and path == b"/v1/completions":
                await self.completion(t, json.loads(body or b"{}"))
            else:
                t.write(NOT_FOUND)

    async def completion(self, t: asyncio.Transport, req: dict) -> None:
        n = max(1, int(req.get("max_tokens") or 16))
        prompt_tokens = max(1, len(str(req.get("prompt", "")).split()))
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": n,
            "total_tokens": prompt_tokens + n,
        }
        if not req.get("stream"):
            t.write(
                _json_response(
                    {
                        "id": "cmpl-fake",
                        "object": "text_completion",
                        "created": int(time.time()),
                        "model": MODEL,
                        "choices": [
                            {
                                "index": 0,
                                "text": "".join(TOKENS[i % len(TOKENS)] for i in range(n)),
                                "finish_reason": "length",
                            }
                        ],
                        "usage": usage,
                    }
                )
            )
            return
        t.write(STREAM_HEAD)
        frames, k = self.frames, len(self.frames)
        for i in range(n - 1):
            t.write(frames[i % k])
            await asyncio.sleep(0)  # one chunk per loop turn: streams interleave
        t.write(self.last[(n - 1) % k])
        closing = {
            "id": "cmpl-fake",
            "object": "text_completion",
            "created": int(time.time()),
            "model": MODEL,
            "choices": [],
            "usage": usage,
        }
        t.write(_frame(json.dumps(closing).encode()) + END)


def worker(sock: socket.socket) -> None:
    async def main() -> None:
        frames = _content_frames(f"cmpl-{os.getpid()}", int(time.time()))
        server = await asyncio.get_running_loop().create_server(lambda: Conn(frames), sock=sock)
        async with server:
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=18100)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", a.port))
    sock.listen(1024)
    sock.setblocking(False)
    children = []
    for _ in range(a.workers):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            worker(sock)
            os._exit(0)
        children.append(pid)

    def stop(*_: object) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
    try:
        for pid in children:
            os.waitpid(pid, 0)
    except KeyboardInterrupt:
        stop()


if __name__ == "__main__":
    main()
