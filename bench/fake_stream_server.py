"""A fast synthetic OpenAI streaming server for bench/client_ceiling: no model, N chunks per
request as fast as the event loop can write them. Run with the engine's Python (it has uvicorn):

    python bench/fake_stream_server.py --port 18100 --workers 2
"""

from __future__ import annotations

import argparse
import json
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

app = FastAPI()
MODEL = "fake"


@app.get("/v1/models")
async def models() -> JSONResponse:
    return JSONResponse(
        {"object": "list", "data": [{"id": MODEL, "object": "model", "max_model_len": 1 << 20}]}
    )


@app.get("/health")
async def health() -> JSONResponse:
    return JSONResponse({})


@app.post("/v1/completions")
async def completions(request: Request) -> StreamingResponse:
    body = await request.json()
    n = int(body.get("max_tokens") or 16)
    prompt_tokens = max(1, len(str(body.get("prompt", "")).split()))
    created = int(time.time())

    async def gen():  # type: ignore[no-untyped-def]
        for i in range(n):
            chunk = {
                "id": "x",
                "object": "text_completion",
                "created": created,
                "model": MODEL,
                "choices": [
                    {
                        "index": 0,
                        "text": " tok",
                        "logprobs": None,
                        "finish_reason": "length" if i == n - 1 else None,
                    }
                ],
            }
            yield f"data: {json.dumps(chunk)}\n\n"
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": n,
            "total_tokens": prompt_tokens + n,
        }
        yield f"data: {json.dumps({'id': 'x', 'object': 'text_completion', 'created': created, 'model': MODEL, 'choices': [], 'usage': usage})}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(gen(), media_type="text/event-stream")


if __name__ == "__main__":
    import uvicorn

    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=18100)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    uvicorn.run(
        "fake_stream_server:app",
        host="127.0.0.1",
        port=a.port,
        workers=a.workers,
        log_level="warning",
        app_dir=str(__import__("pathlib").Path(__file__).parent),
    )
