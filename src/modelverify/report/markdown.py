"""The Markdown report, rendered only from the run directory's JSON files.

Every figure comes from ``<stage>.json`` (collected into ``results.json``), so a report can be
re-rendered from a run directory without re-running anything. All prose comes from the string
tables in :mod:`modelverify.report.i18n`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from modelverify import __version__
from modelverify.report import sections
from modelverify.report.align_text import align_section
from modelverify.report.i18n import strings
from modelverify.report.verdict import run_verdict
from modelverify.results import RESULTS_VERSION
from modelverify.rundir import RunDir

STAGE_FILES = ("env", "compat", "serve", "api", "align", "perf", "accuracy")


def load_results(run_dir: RunDir) -> dict[str, Any]:
    """run.json and every stage JSON of a run directory, as plain dicts."""
    out: dict[str, Any] = {"version": RESULTS_VERSION, "stages": {}}
    run = run_dir.file("run.json")
    out["run"] = json.loads(run.read_text(encoding="utf-8")) if run.exists() else {}
    for name in STAGE_FILES:
        p = run_dir.file(f"{name}.json")
        if p.exists():
            out["stages"][name] = json.loads(p.read_text(encoding="utf-8"))
    return out


def render(results: dict[str, Any], run_dir: Path, lang: str = "zh") -> str:
    t = strings(lang)
    st = results["stages"]
    parts = [
        sections.header(results, t, lang),
        sections.env_section(st.get("env"), t, lang),
        sections.serve_section(st.get("serve"), results.get("run", {}), run_dir, t, lang),
        sections.api_section(st.get("api"), t, lang),
        align_section(st.get("align"), t, lang),
        sections.perf_section(st.get("perf"), t, lang, st.get("serve"), st.get("env")),
        sections.accuracy_section(st.get("accuracy"), t, lang, st.get("perf")),
        sections.compat_section(st.get("compat"), st.get("serve"), t, lang),
        sections.summary_section(results, t, lang),
        sections.appendix_section(results, run_dir, t, lang),
        t["generated"].format(
            time=time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()), version=__version__
        ),
    ]
    return "\n\n".join(p for p in parts if p) + "\n"


def write_reports(run_dir: RunDir, lang: str = "zh") -> Path:
    """Write results.json, report.md (plus report.<other lang>.md) and the self-contained
    report.html into the run directory."""
    results = load_results(run_dir)
    verdict, reasons = run_verdict(results)
    results["verdict"] = {"overall": verdict, "reasons": reasons}
    run_dir.write_json("results.json", results)
    text = render(results, run_dir.path, lang)
    main = run_dir.write_text("report.md", text)
    from modelverify.report.html import render_html

    run_dir.write_text("report.html", render_html(results, text, run_dir.path, lang))
    other = "en" if lang != "en" else "zh"
    run_dir.write_text(f"report.{other}.md", render(results, run_dir.path, other))
    # a report re-written in the other language leaves report.<lang>.md behind from the first
    # writing: report.md now holds that language, and the old file would be stale
    run_dir.file(f"report.{lang}.md").unlink(missing_ok=True)
    return main


__all__ = ["load_results", "render", "write_reports"]
