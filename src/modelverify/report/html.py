"""A self-contained HTML report: the Markdown report's sections plus inline SVG plots.

One file, no scripts, no fonts or images fetched: it opens offline, in a browser or a mail
attachment. The prose and tables are the Markdown report converted by a small converter that
knows exactly the subset our templates emit (headings, pipe tables, fenced code, lists, bold,
inline code); the plots are drawn here from the run directory's per-request records.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

W, H, PAD = 560, 300, 48
COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea"]


# -- Markdown subset -> HTML ------------------------------------------------------------------------


def _inline(text: str) -> str:
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)
    return out


def _cells(line: str) -> list[str]:
    body = line.strip()[1:]
    body = body[:-1] if body.endswith("|") else body
    cells = re.split(r"(?<!\\)\|", body)
    return [c.strip().replace("\\|", "|") for c in cells]


def markdown_to_html(md: str) -> str:
    out: list[str] = []
    lines = md.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.append("<pre><code>" + html.escape("\n".join(lines[i + 1 : j])) + "</code></pre>")
            i = j + 1
            continue
        m = re.match(r"^(#{1,4})\s+(.*)$", line)
        if m:
            n = len(m.group(1))
            text = m.group(2)
            anchor = re.sub(r"[^\w]+", "-", text).strip("-").lower()
            out.append(f'<h{n} id="{html.escape(anchor)}">{_inline(text)}</h{n}>')
            i += 1
            continue
        if line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            head, body = (
                rows[0],
                [r for r in rows[1:] if not all(re.fullmatch(r":?-+:?", c) for c in r)],
            )
            t = [
                "<table><thead><tr>"
                + "".join(f"<th>{_inline(c)}</th>" for c in head)
                + "</tr></thead><tbody>"
            ]
            t += ["<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in body]
            out.append("\n".join(t) + "</tbody></table>")
            continue
        if line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{_inline(lines[i][2:])}</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
            continue
        if line.strip():
            para = [line]
            i += 1
            while i < len(lines) and lines[i].strip() and not re.match(r"^(#|\||```|- )", lines[i]):
                para.append(lines[i])
                i += 1
            out.append("<p>" + "<br>".join(_inline(p) for p in para) + "</p>")
            continue
        i += 1
    return "\n".join(out)


# -- SVG plots ----------------------------------------------------------------------------------------


def _nice_max(v: float) -> float:
    if v <= 0 or math.isnan(v):
        return 1.0
    exp = 10.0 ** math.floor(math.log10(v))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if v <= m * exp:
            return float(m * exp)
    return float(10 * exp)


def _axes(
    title: str,
    xlabel: str,
    ylabel: str,
    xmax: float,
    ymax: float,
    xmin: float = 0.0,
    xticks: bool = True,
) -> list[str]:
    parts = [
        f'<text x="{W / 2}" y="18" text-anchor="middle" class="t">{html.escape(title)}</text>',
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - 12}" y2="{H - PAD}" class="ax"/>',
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{PAD}" y2="28" class="ax"/>',
        f'<text x="{W / 2}" y="{H - 8}" text-anchor="middle">{html.escape(xlabel)}</text>',
        f'<text x="12" y="{H / 2}" text-anchor="middle" transform="rotate(-90 12 {H / 2})">{html.escape(ylabel)}</text>',
    ]
    for k in range(5):
        fx = xmin + (xmax - xmin) * k / 4
        fy = ymax * k / 4
        x = PAD + (W - 12 - PAD) * k / 4
        y = H - PAD - (H - PAD - 28) * k / 4
        if xticks:
            parts.append(
                f'<text x="{x:.1f}" y="{H - PAD + 14}" text-anchor="middle" class="s">{fx:.4g}</text>'
            )
        parts.append(
            f'<text x="{PAD - 4}" y="{y + 4:.1f}" text-anchor="end" class="s">{fy:.4g}</text>'
        )
        parts.append(f'<line x1="{PAD}" y1="{y:.1f}" x2="{W - 12}" y2="{y:.1f}" class="grid"/>')
    return parts


def _sx(v: float, xmax: float, xmin: float = 0.0) -> float:
    return PAD + (W - 12 - PAD) * ((v - xmin) / (xmax - xmin) if xmax > xmin else 0)


def _sy(v: float, ymax: float) -> float:
    return H - PAD - (H - PAD - 28) * (v / ymax if ymax else 0)


def _svg(parts: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" '
        f'aria-label="{html.escape(label)}" class="plot">' + "".join(parts) + "</svg>"
    )


def histogram(values: Sequence[float], title: str, xlabel: str, bins: int = 20) -> str:
    if not values:
        return ""
    lo, hi = min(values), max(values)
    if hi == lo:
        hi = lo + 1
    width = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / width))] += 1
    ymax = _nice_max(max(counts))
    parts = _axes(title, xlabel, "requests", hi, ymax, lo)
    for k, c in enumerate(counts):
        x0, x1 = _sx(lo + k * width, hi, lo), _sx(lo + (k + 1) * width, hi, lo)
        parts.append(
            f'<rect x="{x0:.1f}" y="{_sy(c, ymax):.1f}" width="{max(0.5, x1 - x0 - 1):.1f}" '
            f'height="{_sy(0, ymax) - _sy(c, ymax):.1f}" fill="{COLORS[0]}"/>'
        )
    return _svg(parts, title)


def cdf(series: dict[str, Sequence[float]], title: str, xlabel: str) -> str:
    series = {k: sorted(v) for k, v in series.items() if v}
    if not series:
        return ""
    xmax = _nice_max(max(v[-1] for v in series.values()))
    parts = _axes(title, xlabel, "fraction ≤ x", xmax, 1.0)
    for n, (name, vals) in enumerate(series.items()):
        step = max(1, len(vals) // 400)
        pts = [(vals[k], (k + 1) / len(vals)) for k in range(0, len(vals), step)] + [
            (vals[-1], 1.0)
        ]
        d = " ".join(f"{_sx(x, xmax):.1f},{_sy(y, 1.0):.1f}" for x, y in pts)
        parts.append(
            f'<polyline points="{d}" fill="none" stroke="{COLORS[n % 4]}" stroke-width="2"/>'
        )
        parts.append(
            f'<text x="{W - 20}" y="{44 + 16 * n}" text-anchor="end" fill="{COLORS[n % 4]}">'
            f"{html.escape(name)} (n={len(vals)})</text>"
        )
    return _svg(parts, title)


def scatter(points: list[tuple[float, float, str]], title: str, xlabel: str, ylabel: str) -> str:
    if not points:
        return ""
    xmax = _nice_max(max(p[0] for p in points) * 1.1)
    ymax = _nice_max(max(p[1] for p in points) * 1.1)
    parts = _axes(title, xlabel, ylabel, xmax, ymax)
    pts = sorted(points)
    d = " ".join(f"{_sx(x, xmax):.1f},{_sy(y, ymax):.1f}" for x, y, _ in pts)
    parts.append(
        f'<polyline points="{d}" fill="none" stroke="{COLORS[0]}" stroke-dasharray="4 3"/>'
    )
    for x, y, label in pts:
        parts.append(
            f'<circle cx="{_sx(x, xmax):.1f}" cy="{_sy(y, ymax):.1f}" r="5" fill="{COLORS[1]}"/>'
        )
        right = _sx(x, xmax) > W * 0.6
        parts.append(
            f'<text x="{_sx(x, xmax) + (-8 if right else 8):.1f}" y="{_sy(y, ymax) - 8:.1f}" '
            f'text-anchor="{"end" if right else "start"}">{html.escape(label)}</text>'
        )
    return _svg(parts, title)


def bars(
    items: Sequence[tuple[str, float, float | None, float | None]],
    title: str,
    ylabel: str,
    ymax: float | None = None,
) -> str:
    """(label, value, interval low, interval high) bars; the interval is drawn as an error bar."""
    if not items:
        return ""
    top = ymax or _nice_max(max(max(v, hi or 0) for _, v, _, hi in items) * 1.1)
    parts = _axes(title, "", ylabel, len(items), top, xticks=False)
    slot = (W - 12 - PAD) / len(items)
    for k, (label, v, lo, hi) in enumerate(items):
        x = PAD + slot * k + slot * 0.2
        parts.append(
            f'<rect x="{x:.1f}" y="{_sy(v, top):.1f}" width="{slot * 0.6:.1f}" '
            f'height="{_sy(0, top) - _sy(v, top):.1f}" fill="{COLORS[k % 4]}"/>'
        )
        parts.append(
            f'<text x="{x + slot * 0.3:.1f}" y="{H - PAD + 28}" text-anchor="middle">{html.escape(label)}</text>'
        )
        parts.append(
            f'<text x="{x + slot * 0.3:.1f}" y="{_sy(v, top) - 6:.1f}" text-anchor="middle" class="s">{v:.4g}</text>'
        )
        if lo is not None and hi is not None:
            cx = x + slot * 0.3
            parts.append(
                f'<line x1="{cx:.1f}" y1="{_sy(lo, top):.1f}" x2="{cx:.1f}" y2="{_sy(hi, top):.1f}" class="err"/>'
            )
            for yv in (lo, hi):
                parts.append(
                    f'<line x1="{cx - 8:.1f}" y1="{_sy(yv, top):.1f}" x2="{cx + 8:.1f}" y2="{_sy(yv, top):.1f}" class="err"/>'
                )
    return _svg(parts, title)


# -- the page ---------------------------------------------------------------------------------------


def _records(run_dir: Path) -> list[dict[str, Any]]:
    p = run_dir / "perf_requests.jsonl"
    out = []
    if p.is_file():
        for line in p.read_text(encoding="utf-8").splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(r, dict) and r.get("ok"):
                out.append(r)
    return out


def plots(results: dict[str, Any], run_dir: Path, lang: str) -> list[tuple[str, str]]:
    zh = lang == "zh"
    st = results.get("stages") or {}
    recs = _records(run_dir)
    out: list[tuple[str, str]] = []
    by = {t: [r for r in recs if r.get("test") == t] for t in ("sequential", "concurrent")}
    main = by["concurrent"] or by["sequential"]
    if main:
        out.append(
            (
                "latency",
                histogram(
                    [r["e2el_s"] * 1000 for r in main if r.get("e2el_s")],
                    "端到端延迟分布 (E2EL)" if zh else "End-to-end latency (E2EL)",
                    "ms",
                ),
            )
        )
        out.append(
            (
                "ttft",
                cdf(
                    {
                        t: [r["ttft_s"] * 1000 for r in rs if r.get("ttft_s") is not None]
                        for t, rs in by.items()
                    },
                    "TTFT CDF",
                    "ms",
                ),
            )
        )
        out.append(
            (
                "itl",
                cdf(
                    {
                        t: [x * 1000 for r in rs for x in (r.get("itl_s") or [])]
                        for t, rs in by.items()
                    },
                    "ITL CDF",
                    "ms",
                ),
            )
        )
    perf = st.get("perf") or {}
    pts = []
    levels = perf.get("sweep") or [perf.get(t) or {} for t in ("sequential", "concurrent")]
    for lt in levels:
        s = lt.get("streaming") or {}
        lat = (lt.get("latency_ms") or {}).get("mean")
        thr = s.get("output_throughput")
        if lat and thr:
            pts.append((float(thr), float(lat), f"concurrency {lt.get('concurrency')}"))
    if pts:
        out.append(
            (
                "sweep",
                scatter(
                    pts,
                    "吞吐-延迟 (各并发度)" if zh else "Throughput vs latency by concurrency",
                    "output tokens/s",
                    "mean E2EL (ms)",
                ),
            )
        )
    acc = st.get("accuracy") or {}
    if acc.get("accuracy") is not None:
        items = [
            (
                "GSM8K",
                acc["accuracy"] * 100,
                (acc.get("ci_low") or 0) * 100,
                (acc.get("ci_high") or 0) * 100,
            )
        ]
        if acc.get("aisbench_accuracy") is not None:
            items.append(("AISBench rule", acc["aisbench_accuracy"] * 100, None, None))
        out.append(
            (
                "accuracy",
                bars(
                    items, "准确率与 95% 置信区间" if zh else "Accuracy with 95% interval", "%", 100
                ),
            )
        )
    serve = st.get("serve") or {}
    mem = serve.get("memory") or []
    if mem:
        items2 = [
            (f"{m.get('name')} {m.get('pid')}", m["rss_bytes"] / 2**20, None, None) for m in mem[:6]
        ]
        out.append(
            (
                "memory",
                bars(items2, "引擎进程内存 (RSS)" if zh else "Engine process memory (RSS)", "MiB"),
            )
        )
    out.append(("align", align_plot(st.get("align"), zh)))
    return [(k, v) for k, v in out if v]


def align_plot(align: dict[str, Any] | None, zh: bool) -> str:
    """|Δ logprob| by position, one line per prompt (the align stage's evidence)."""
    from modelverify.report.align_text import delta_series

    series = delta_series(align)
    if not series:
        return ""
    xmax = _nice_max(max(x for pts in series.values() for x, _ in pts))
    ymax = _nice_max(max(y for pts in series.values() for _, y in pts) * 1.1)
    title = (
        "逐位置 |Δ logprob|（服务端 vs 参考）"
        if zh
        else "|Δ logprob| by position (served vs reference)"
    )
    parts = _axes(title, "position" if not zh else "位置", "nats", xmax, ymax)
    for n, (name, pts) in enumerate(series.items()):
        d = " ".join(f"{_sx(x, xmax):.1f},{_sy(y, ymax):.1f}" for x, y in pts)
        parts.append(
            f'<polyline points="{d}" fill="none" stroke="{COLORS[n % 4]}" stroke-width="1">'
            f"<title>{html.escape(name)}</title></polyline>"
        )
    return _svg(parts, title)


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC",sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#111;line-height:1.5}
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f4f6}pre{background:#f6f8fa;padding:10px;overflow:auto;font-size:12px;max-height:420px}
code{font-family:ui-monospace,Menlo,Consolas,monospace}h2{border-bottom:2px solid #e5e7eb;padding-bottom:4px;margin-top:2em}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:16px}
svg.plot{width:100%;height:auto;border:1px solid #e5e7eb;background:#fff;font-size:11px}
svg .t{font-size:13px;font-weight:600}svg .s{font-size:10px;fill:#555}svg .ax{stroke:#333}
svg .grid{stroke:#eee}svg .err{stroke:#111;stroke-width:2}
"""


def render_html(results: dict[str, Any], markdown: str, run_dir: Path, lang: str = "zh") -> str:
    figs = plots(results, run_dir, lang)
    title = "图表" if lang == "zh" else "Plots"
    plot_html = ""
    if figs:
        plot_html = (
            f'<h2 id="plots">{title}</h2><div class="plots">'
            + "".join(f'<figure id="plot-{k}">{svg}</figure>' for k, svg in figs)
            + "</div>"
        )
    body = markdown_to_html(markdown)
    # plots go right before the summary section (the 7th ## heading), else at the end
    marker = re.search(r'<h2 id="7[^"]*">', body)
    body = (
        body[: marker.start()] + plot_html + body[marker.start() :] if marker else body + plot_html
    )
    doc_title = html.escape(
        markdown.splitlines()[0].lstrip("# ").strip() if markdown else "modelverify"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{doc_title}</title><style>{CSS}</style></head><body>\n{body}\n</body></html>\n"
    )


__all__ = ["bars", "cdf", "histogram", "markdown_to_html", "plots", "render_html", "scatter"]
