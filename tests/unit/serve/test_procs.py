"""An engine child orphaned to init leaves the parent's tree but not its session: it is found
and stopped by the session (a real process tree, no engine needed)."""

from __future__ import annotations

import subprocess
import time

from modelverify.serve.procs import alive, descendants, session_members, stop_tree


def test_an_orphaned_child_is_found_by_its_session_and_stopped() -> None:
    # sh starts a sleep in the background and exits: the sleep is re-parented to init, like an
    # EngineCore whose API server was killed with -9
    leader = subprocess.Popen(
        ["sh", "-c", "sleep 60 & echo $!"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert leader.stdout is not None
    orphan = int(leader.stdout.readline())
    leader.wait(10)
    assert alive(orphan) and not alive(leader.pid)
    assert orphan not in descendants(leader.pid)  # the tree walk alone would miss it ...
    assert session_members(leader.pid) == [orphan]  # ... the session does not
    t0 = time.monotonic()
    assert stop_tree(leader.pid, leader.pid, grace_s=5) == []
    assert time.monotonic() - t0 < 5 and not alive(orphan)
    assert session_members(leader.pid) == []
