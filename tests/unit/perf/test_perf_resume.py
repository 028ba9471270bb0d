"""Resuming a perf stage from its files: finished load tests are kept whole, the one that was
cut short is set aside, and a new stage never appends to an old one's samples."""

from __future__ import annotations

import json
from pathlib import Path

from modelverify.perf.metrics import RequestRecord
from modelverify.perf.stage import _finished_tests, _start_afresh, _tests_file


def _rec(test: str, i: int) -> dict[str, object]:
    return RequestRecord(
        test=test, index=i, ok=True, send_time=100.0 + i, ttft_s=0.1, e2el_s=0.5, output_tokens=5
    ).model_dump(mode="json")


def _write(path: Path, rows: list[dict[str, object]], torn: str = "") -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + torn)


def test_finished_test_is_kept_and_the_cut_one_set_aside(tmp_path: Path) -> None:
    reqs = tmp_path / "perf_requests.jsonl"
    seq = [_rec("sequential", i) for i in range(3)]
    cut = [_rec("concurrent", i) for i in (0, 2)]
    _write(reqs, [seq[0], seq[1], seq[2], *cut], torn='{"test": "concurrent", "ind')
    _write(
        _tests_file(reqs), [{"test": "sequential", "requests": 3, "concurrency": 1, "wall_s": 1.5}]
    )
    done = _finished_tests(reqs)
    assert list(done) == ["sequential"]
    recs, wall = done["sequential"]
    assert [r.index for r in recs] == [0, 1, 2] and wall == 1.5
    # the requests file now holds exactly the kept samples; the cut test's are aside, whole
    assert [json.loads(x) for x in reqs.read_text().splitlines()] == seq
    aside = tmp_path / "perf_requests.partial.jsonl"
    assert [json.loads(x) for x in aside.read_text().splitlines()] == cut


def test_a_test_with_missing_samples_is_not_kept(tmp_path: Path) -> None:
    reqs = tmp_path / "perf_requests.jsonl"
    _write(reqs, [_rec("sequential", 0)])
    _write(
        _tests_file(reqs), [{"test": "sequential", "requests": 2, "concurrency": 1, "wall_s": 1.0}]
    )
    assert _finished_tests(reqs) == {}
    assert reqs.read_text() == "" and _tests_file(reqs).read_text() == ""


def test_a_new_stage_moves_old_files_aside(tmp_path: Path) -> None:
    reqs = tmp_path / "perf_requests.jsonl"
    for round_ in (1, 2):
        _write(reqs, [_rec("sequential", round_)])
        _write(_tests_file(reqs), [{"test": "sequential", "requests": 1, "wall_s": 1.0}])
        assert _start_afresh(reqs) == {}
        assert not reqs.exists() and not _tests_file(reqs).exists()
        moved = tmp_path / f"perf_requests.{round_}.jsonl"
        assert json.loads(moved.read_text())["index"] == round_
        assert (tmp_path / f"perf_tests.{round_}.jsonl").exists()


def test_the_tests_file_is_never_the_requests_file(tmp_path: Path) -> None:
    assert _tests_file(tmp_path / "perf_requests.jsonl").name == "perf_tests.jsonl"
    assert _tests_file(tmp_path / "perf.jsonl").name == "perf.tests.jsonl"
