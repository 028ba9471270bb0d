"""Fault: the demo model served with another chat template (``--chat-template``, Llama 2 style).

The served check must fail and name where the served prompt leaves the folder's template.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelverify.align.template import check_served_template
from modelverify.demo import DEMO_ARGS, DEMO_ENV
from modelverify.report.template_text import template_lines
from modelverify.results import Status
from modelverify.serve.engine import find_engine
from modelverify.serve.supervisor import Server, ServerConfig

pytestmark = pytest.mark.engine

WRONG = Path(__file__).resolve().parents[1] / "data/chat_templates/llama2_style.jinja"


@pytest.fixture(scope="module")
def wrong_template_server(
    engine_python: str, demo_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    cfg = ServerConfig(
        model=str(demo_model),
        args=[*DEMO_ARGS, "--chat-template", str(WRONG)],
        env=dict(DEMO_ENV),
        startup_timeout_s=600,
        log_path=tmp_path_factory.mktemp("wrong-template") / "server.log",
    )
    server = Server(find_engine(engine_python), cfg)
    with server:
        rec = server.start()
        server.wait_ready()
        yield rec.base_url
    assert not server.alive()


def test_another_served_template_fails_and_names_the_lines(
    wrong_template_server: str, demo_model: Path
) -> None:
    res = check_served_template(wrong_template_server, str(demo_model), demo_model)
    assert res.status == Status.FAIL, res.reason
    by_name = {c.name: c for c in res.conversations}
    assert all(c.status == Status.FAIL for c in res.conversations), res.reason
    user = by_name["user"]
    # The first line of each rendering, as the real engine and the folder's template build them.
    assert user.first_line is not None and user.first_line.line == 1
    assert user.first_line.local == "<|im_start|>system"
    assert user.first_line.served == "<|im_start|>[INST] What is 2 + 3? [/INST]"
    assert user.first_token is not None and user.first_token.index == 1
    assert user.served_ids != user.local_ids
    assert "line 1" in res.reason and "[INST]" in res.reason
    md = "\n".join(template_lines(res, "en"))
    # Markdown table cells escape the pipes of the special tokens
    assert (
        "| ▶ 1 | `<\\|im_start\\|>system` | `<\\|im_start\\|>[INST] What is 2 + 3? [/INST]` |" in md
    )
