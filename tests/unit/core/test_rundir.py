import json
import os
from pathlib import Path

from modelverify.results import RESULTS_VERSION, StageResult, Status
from modelverify.rundir import JsonlWriter, RunDir, atomic_write_text, read_jsonl, safe_name


def test_atomic_write_replaces_whole_file_and_follows_umask(tmp_path: Path) -> None:
    p = tmp_path / "a.json"
    atomic_write_text(p, "old")
    atomic_write_text(p, "new")
    assert p.read_text() == "new"
    assert [x.name for x in tmp_path.iterdir()] == ["a.json"]  # no temp file left
    umask = os.umask(0)
    os.umask(umask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~umask


def test_jsonl_drops_torn_last_line(tmp_path: Path) -> None:
    p = tmp_path / "r.jsonl"
    with JsonlWriter(p) as w:
        w.write({"i": 1})
        w.write({"i": 2})
    with p.open("a") as f:
        f.write('{"i": 3, "trunc')  # a kill -9 in the middle of a write
    assert [r["i"] for r in read_jsonl(p)] == [1, 2]
    with JsonlWriter(p) as w:  # a resumed run appends after the torn line was cut
        w.write({"i": 4})
    assert [r["i"] for r in read_jsonl(p)] == [1, 2, 4]


def test_run_dir_roundtrip(tmp_path: Path) -> None:
    rd = RunDir.create(tmp_path, "/models/Qwen/Qwen3-8B")
    assert rd.path.name.endswith("-Qwen3-8B")
    res = StageResult(stage="env", status=Status.WARN, reason="x")
    rd.write_model("env.json", res)
    back = rd.read_model("env.json", StageResult)
    assert back is not None and back.status == Status.WARN
    assert json.loads(rd.file("env.json").read_text())["version"] == RESULTS_VERSION


def test_safe_name() -> None:
    assert safe_name("org/My Model:v1/") == "My_Model_v1"
    assert safe_name("/") == "model"
