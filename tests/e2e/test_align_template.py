"""Served chat template on the real engine: the healthy demo server builds the folder's prompt."""

from __future__ import annotations

import pytest

from modelverify.align.template import CONVERSATIONS, check_served_template
from modelverify.results import Status

pytestmark = pytest.mark.engine


def test_healthy_demo_server_builds_the_folders_prompt(served) -> None:
    res = check_served_template(served.base_url, served.model, served.model_dir)
    assert res.status == Status.PASS, res.reason
    assert res.template_source == "chat_template.jinja"
    assert [c.name for c in res.conversations] == [c.name for c in CONVERSATIONS]
    for ev in res.conversations:
        assert ev.status == Status.PASS, (ev.name, ev.reason)
        assert ev.served_ids == ev.local_ids and ev.served_ids
        assert ev.served_text == ev.local_text
    chinese = next(c for c in res.conversations if c.name == "chinese")
    assert "请用一句话介绍长城。" in (chinese.served_text or "")


def test_a_wrong_model_id_is_not_judged_with_the_servers_words(served) -> None:
    res = check_served_template(served.base_url, "no-such-model", served.model_dir)
    assert res.status == Status.NOT_JUDGED
    assert "HTTP 404" in res.reason and "does not exist" in res.reason
