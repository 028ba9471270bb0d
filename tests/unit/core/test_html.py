"""The self-contained HTML report: the Markdown subset converts, plots are inline SVG, nothing
is fetched; and headless Chromium renders it with no console errors."""

from __future__ import annotations

import json
import random
from pathlib import Path

from modelverify.report.html import cdf, histogram, markdown_to_html, render_html

MD = """# Title

| a | b |
|---|---|
| 1 | x \\| y |

```text
<not html>
```

- **bold** and `code`
- second

A paragraph
on two lines.

## 7. Summary
"""


def test_markdown_subset() -> None:
    out = markdown_to_html(MD)
    assert '<h1 id="title">Title</h1>' in out
    assert "<td>x | y</td>" in out
    assert "<pre><code>&lt;not html&gt;</code></pre>" in out
    assert "<li><strong>bold</strong> and <code>code</code></li>" in out
    assert "<p>A paragraph<br>on two lines.</p>" in out


def fake_run(tmp_path: Path) -> tuple[dict, Path]:
    rng = random.Random(0)
    recs = []
    for test, n in (("sequential", 10), ("concurrent", 50)):
        for i in range(n):
            e = rng.uniform(1.5, 3.0)
            recs.append(
                {
                    "test": test,
                    "index": i,
                    "ok": True,
                    "e2el_s": e,
                    "ttft_s": rng.uniform(0.04, 0.2),
                    "itl_s": [rng.uniform(0.03, 0.06) for _ in range(20)],
                    "output_tokens": 21,
                }
            )
    (tmp_path / "perf_requests.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    results = {
        "stages": {
            "perf": {
                "sequential": {
                    "concurrency": 1,
                    "latency_ms": {"mean": 1900},
                    "streaming": {"output_throughput": 26},
                },
                "concurrent": {
                    "concurrency": 10,
                    "latency_ms": {"mean": 2300},
                    "streaming": {"output_throughput": 190},
                },
            },
            "accuracy": {
                "accuracy": 0.71,
                "ci_low": 0.643,
                "ci_high": 0.768,
                "aisbench_accuracy": 0.70,
            },
            "serve": {"memory": [{"pid": 1, "name": "python", "rss_bytes": 700 * 2**20}]},
        }
    }
    return results, tmp_path


def test_page_is_self_contained_with_every_plot(tmp_path: Path) -> None:
    results, run = fake_run(tmp_path)
    page = render_html(results, MD, run, "en")
    for pid in ("latency", "ttft", "itl", "sweep", "accuracy", "memory"):
        assert f'id="plot-{pid}"' in page
    assert page.count("<svg") == 6
    # nothing to fetch: no scripts, no external URLs outside the SVG namespace
    assert "<script" not in page
    assert "src=" not in page and "href=" not in page
    assert page.index('id="plots"') < page.index('id="7-summary"')


def test_plot_helpers_on_edge_cases() -> None:
    assert histogram([], "t", "ms") == ""
    assert "<rect" in histogram([5.0, 5.0, 5.0], "t", "ms")  # zero spread does not divide by 0
    assert cdf({"a": []}, "t", "ms") == ""


def test_chromium_renders_it(tmp_path: Path, browser) -> None:
    results, run = fake_run(tmp_path)
    html = tmp_path / "report.html"
    html.write_text(render_html(results, MD, run, "en"))
    shot = tmp_path / "shot.png"
    dom, log = browser.open_page(html, shot)
    assert dom.count("<svg") == 6 and "<polyline" in dom
    assert browser.console_errors(log) == []
    # a blank page is ~10 KB at this size; six drawn plots are several times that
    assert shot.stat().st_size > 30_000
