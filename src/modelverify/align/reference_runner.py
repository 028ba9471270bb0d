"""The transformers reference of the align stage, run as a script with the engine's Python.

modelverify never imports torch: ``modelverify.align.reference`` writes a request file, runs this
script in a subprocess and reads its answer file. The script loads the checkpoint with
``AutoModelForCausalLM`` (float32 on CPU unless asked otherwise), tokenizes each prompt text with
the checkpoint's own tokenizer (so the server's tokenization can be checked), and runs the model
teacher-forced on exactly the token ids the server saw (prompt + the server's continuation),
returning the top-k logprobs at every position and the logprob of the token that followed.

Usage: python reference_runner.py REQUEST.json ANSWER.json
"""

import json
import resource
import sys
import time


def main(request_path: str, answer_path: str) -> int:
    t0 = time.monotonic()
    with open(request_path, encoding="utf-8") as f:
        req = json.load(f)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(max(1, int(req.get("threads") or torch.get_num_threads())))
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[
        req.get("dtype", "float32")
    ]
    tok = AutoTokenizer.from_pretrained(req["model_dir"])
    tokenized = {
        key: tok(text, add_special_tokens=special)["input_ids"]
        for key, text, special in (
            (t["key"], t["text"], bool(t.get("add_special_tokens", True)))
            for t in req.get("texts", [])
        )
    }
    model = AutoModelForCausalLM.from_pretrained(req["model_dir"], dtype=dtype)
    # from_pretrained returns the model in eval mode already (no dropout)
    loaded_s = time.monotonic() - t0
    k = int(req.get("top_k", 20))
    out = []
    with torch.inference_mode():
        for item in req["sequences"]:
            ids = [int(i) for i in item["ids"]]
            logits = model(torch.tensor([ids])).logits[0].float()
            logp = torch.log_softmax(logits, dim=-1)
            top = torch.topk(logp, k, dim=-1)
            positions = []
            # logits at i predict the token at i + 1: position 0 has no prediction
            for i in range(1, len(ids)):
                row = logp[i - 1]
                positions.append(
                    {
                        "token": ids[i],
                        "logprob": float(row[ids[i]]),
                        "top": [
                            [int(t), float(v)]
                            for t, v in zip(
                                top.indices[i - 1].tolist(), top.values[i - 1].tolist(), strict=True
                            )
                        ],
                    }
                )
            out.append({"key": item["key"], "positions": positions})
    answer = {
        "tokenized": tokenized,
        "sequences": out,
        "load_s": loaded_s,
        "duration_s": time.monotonic() - t0,
        # Linux reports ru_maxrss in KiB
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "dtype": str(dtype).replace("torch.", ""),
    }
    with open(answer_path, "w", encoding="utf-8") as f:
        json.dump(answer, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
