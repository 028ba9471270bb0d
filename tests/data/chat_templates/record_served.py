"""Records recorded_pass.json / recorded_fail.json: the check on the real demo engine, healthy
and served with llama2_style.jinja. Run under the engine lock:

    PYTHONPATH=src flock /tmp/mv-engine.lock /work/main/.venv/bin/python \\
        tests/data/chat_templates/record_served.py
"""

import tempfile
import time
from pathlib import Path

from modelverify.align.template import check_served_template
from modelverify.demo import DEMO_ARGS, DEMO_ENV
from modelverify.serve.engine import find_engine
from modelverify.serve.supervisor import Server, ServerConfig

md = Path.home() / ".cache/modelverify/models/SmolLM2-135M-Instruct-bf16"
out = Path(__file__).resolve().parent
for name, extra in (
    ("recorded_pass", []),
    ("recorded_fail", ["--chat-template", str(out / "llama2_style.jinja")]),
):
    cfg = ServerConfig(
        model=str(md),
        args=[*DEMO_ARGS, *extra],
        env=dict(DEMO_ENV),
        startup_timeout_s=600,
        log_path=Path(tempfile.gettempdir()) / f"{name}.log",
    )
    with Server(find_engine("/work/main/.venv/bin/python"), cfg) as s:
        rec = s.start()
        s.wait_ready()
        t0 = time.perf_counter()
        res = check_served_template(rec.base_url, str(md), md)
        print(name, res.status, f"{time.perf_counter() - t0:.2f}s", res.reason, flush=True)
        (out / f"{name}.json").write_text(res.model_dump_json(indent=1) + "\n", encoding="utf-8")
