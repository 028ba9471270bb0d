"""SKILL.md and the CI workflow example: every command in them is accepted by the CLI's own
parser; the cheap ones run for real; the workflow is valid YAML and gates on exit 2."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml
from helpers import ROOT, commands_in, parse_cli, run, split

from modelverify.cli.agents import SKILL

CI = ROOT / "docs" / "ci" / "github-actions-modelverify.yml"
# commands of stages another branch adds; the lead empties this set when it lands
PENDING: set[str] = set()


def values(tmp_path: Path, demo_dir: Path) -> dict[str, str]:
    for d in ("run", "run_after"):
        (tmp_path / d).mkdir(exist_ok=True)
    (tmp_path / "server.log").write_text("")
    return {
        "MODEL_DIR": str(demo_dir),
        "URL": "http://127.0.0.1:8000",
        "RUN_DIR_AFTER": str(tmp_path / "run_after"),
        "RUN_DIR": str(tmp_path / "run"),
        "server.log": str(tmp_path / "server.log"),
        "FLAGS": "--max-model-len 4096",
    }


def test_skill_is_printed_and_shipped(tmp_path: Path) -> None:
    printed = run("skill")
    assert printed.returncode == 0 and printed.stdout == SKILL.read_text(encoding="utf-8")
    where = run("skill", "--path")
    assert Path(where.stdout.strip()) == SKILL and SKILL.is_file()
    assert '"skills/**/*"' in (ROOT / "pyproject.toml").read_text()  # package data


def test_every_command_in_the_skill_parses(tmp_path: Path) -> None:
    demo_dir = tmp_path / "model"
    demo_dir.mkdir()
    cmds = commands_in(SKILL.read_text(encoding="utf-8"))
    assert len(cmds) >= 15, cmds
    vals = values(tmp_path, demo_dir)
    parsed = set()
    for cmd in cmds:
        words = split(cmd, vals)
        if words[0] in PENDING:
            continue
        parse_cli(words)  # a usage error fails the test with click's message
        parsed.add(words[0])
    assert {"run", "compat", "summary", "env", "api", "perf", "accuracy", "skill"} <= parsed


def test_the_skills_offline_commands_run(tmp_path: Path, demo_model: Path) -> None:
    """Those that need no server: compat on the demo folder, env, schema, a real run of the
    quick loop's first stages, and summary on it."""
    out = tmp_path / "run"
    assert run("compat", str(demo_model), "--", "--max-model-len", "8192").returncode == 0
    env = run("env")  # exits by the host's status (this host's engine may lack a version)
    assert json.loads(env.stdout)["stage"] == "env", env.stderr
    schema = run("schema", "--events")
    assert schema.returncode == 0 and '"run_ended"' in schema.stdout
    # judged on what ran: env and compat pass on the demo model
    assert run("run", "demo", "--stages", "env,compat,report", "--out", str(out)).returncode == 0
    s = run("summary", str(out))
    assert s.returncode == 0 and s.stdout.startswith("verdict: full (fully adapted)")
    assert run("summary", str(out), "--json").returncode == 0
    assert run("report", str(out), "--lang", "en").returncode == 0


def test_ci_example_is_valid_and_its_commands_parse(tmp_path: Path) -> None:
    doc = yaml.safe_load(CI.read_text(encoding="utf-8"))
    steps = doc["jobs"]["verify"]["steps"]
    scripts = [s["run"] for s in steps if "run" in s]
    cmds = [
        line.strip()
        for script in scripts
        for line in script.splitlines()
        if line.strip().startswith("modelverify ")
    ]
    assert len(cmds) >= 4
    vals = values(tmp_path, tmp_path)
    vals.update({'"$MODEL_DIR"': str(tmp_path), '"$RUN_DIR"': vals["RUN_DIR"]})
    for cmd in cmds:
        cmd = cmd.split(" > ")[0].split(" >> ")[0]
        cmd = cmd.replace('"$MODEL_DIR"', str(tmp_path)).replace('"$RUN_DIR', '"' + vals["RUN_DIR"])
        parse_cli(split(cmd, vals))
    assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in steps)


def test_ci_gate_fails_the_job_on_not_adapted_only() -> None:
    doc = yaml.safe_load(CI.read_text(encoding="utf-8"))
    gate = next(s for s in doc["jobs"]["verify"]["steps"] if s.get("name") == "Gate on the verdict")
    for code, job in ((0, 0), (1, 0), (2, 2), (130, 1)):
        script = gate["run"].replace("${{ steps.verify.outputs.code }}", str(code))
        assert subprocess.run(["bash", "-c", script], capture_output=True).returncode == job, code
