"""The appendix's 关键参数说明: every flag and environment variable the engine was started with,
and the features the engine turned on by itself as its start-up log shows them.

Unknown flags get a row too ("—", see the vLLM docs) so the table never silently drops one.
"""

from __future__ import annotations

from typing import Any

from modelverify.redact import redact_args, redact_env

D = dict[str, Any]

# vLLM's short spellings (vllm/engine/arg_utils.py), explained under their long names
SHORT_FLAGS = {
    "-tp": "--tensor-parallel-size",
    "-pp": "--pipeline-parallel-size",
    "-dp": "--data-parallel-size",
    "-q": "--quantization",
    "-O": "--compilation-config",
}

FLAG_HELP: dict[str, dict[str, str]] = {
    "zh": {
        "--model": "模型路径或 ID",
        "--tensor-parallel-size": "张量并行的设备数",
        "--pipeline-parallel-size": "流水线并行的阶段数",
        "--data-parallel-size": "数据并行的副本数",
        "--enable-expert-parallel": "MoE 专家并行(专家分布在各设备上)",
        "--max-model-len": "最大上下文长度 (tokens)",
        "--gpu-memory-utilization": "可用于模型与 KV 缓存的设备内存比例",
        "--trust-remote-code": "允许执行模型仓库中的自定义代码(安全风险,需确认来源)",
        "--enforce-eager": "关闭图编译/图捕获,启动更快、吞吐略低",
        "--host": "监听地址(默认仅本机 127.0.0.1)",
        "--port": "监听端口",
        "--dtype": "权重与计算的数据类型",
        "--max-num-seqs": "同时调度的最大序列数",
        "--max-num-batched-tokens": "每步调度的最大 token 数(分块预填充的块大小)",
        "--api-key": "API 密钥(报告中已隐藏)",
        "--served-model-name": "接口中使用的模型名",
        "--quantization": "权重量化方法",
        "--kv-cache-dtype": "KV 缓存的数据类型",
        "--block-size": "KV 缓存块大小 (tokens)",
        "--enable-chunked-prefill": "开启分块预填充",
        "--no-enable-chunked-prefill": "关闭分块预填充",
        "--enable-prefix-caching": "开启前缀缓存",
        "--no-enable-prefix-caching": "关闭前缀缓存",
        "--async-scheduling": "开启异步调度",
        "--compilation-config": "编译与图捕获配置(torch.compile、CUDA 图、ACL 图)",
        "--additional-config": "平台插件的附加配置(如 vLLM-Ascend 的选项)",
        "--speculative-config": "投机解码配置(MTP、EAGLE、n-gram)",
        "--distributed-executor-backend": "多卡执行后端 (mp / ray)",
        "--seed": "随机种子",
        "--swap-space": "每张卡的 CPU 交换空间 (GiB)",
        "--cpu-offload-gb": "卸载到 CPU 内存的权重大小 (GiB)",
        "--load-format": "权重加载格式",
        "--tokenizer": "分词器路径或 ID",
        "--revision": "模型版本(分支 / 提交)",
        "--chat-template": "对话模板文件",
        "--generation-config": "默认采样参数的来源",
        "--hf-token": "访问模型仓库的令牌(报告中已隐藏)",
        "--reasoning-parser": "思考内容的解析器",
        "--enable-auto-tool-choice": "允许模型自动选择工具调用",
        "--tool-call-parser": "工具调用的解析器",
    },
    "en": {
        "--model": "model path or id",
        "--tensor-parallel-size": "number of devices for tensor parallelism",
        "--pipeline-parallel-size": "number of pipeline stages",
        "--data-parallel-size": "number of data-parallel replicas",
        "--enable-expert-parallel": "MoE expert parallelism (experts spread over the devices)",
        "--max-model-len": "maximum context length (tokens)",
        "--gpu-memory-utilization": "share of device memory for weights and KV cache",
        "--trust-remote-code": "runs custom code from the model repository (a security risk)",
        "--enforce-eager": "no graph compilation/capture: faster start, a little slower serving",
        "--host": "address to listen on (default: 127.0.0.1 only)",
        "--port": "port to listen on",
        "--dtype": "data type of weights and compute",
        "--max-num-seqs": "maximum sequences scheduled at once",
        "--max-num-batched-tokens": "maximum tokens per scheduler step (the chunked-prefill chunk)",
        "--api-key": "API key (hidden in this report)",
        "--served-model-name": "model name used in the API",
        "--quantization": "weight quantization method",
        "--kv-cache-dtype": "data type of the KV cache",
        "--block-size": "KV cache block size (tokens)",
        "--enable-chunked-prefill": "turns chunked prefill on",
        "--no-enable-chunked-prefill": "turns chunked prefill off",
        "--enable-prefix-caching": "turns prefix caching on",
        "--no-enable-prefix-caching": "turns prefix caching off",
        "--async-scheduling": "turns asynchronous scheduling on",
        "--compilation-config": "compilation and graph capture (torch.compile / CUDA / ACL Graph)",
        "--additional-config": "the platform plugin's extra options (e.g. vLLM-Ascend's)",
        "--speculative-config": "speculative decoding (MTP / EAGLE / n-gram)",
        "--distributed-executor-backend": "multi-device executor (mp / ray)",
        "--seed": "random seed",
        "--swap-space": "CPU swap space per device (GiB)",
        "--cpu-offload-gb": "weights offloaded to CPU memory (GiB)",
        "--load-format": "weight loading format",
        "--tokenizer": "tokenizer path or id",
        "--revision": "model revision (branch / commit)",
        "--chat-template": "chat template file",
        "--generation-config": "where default sampling parameters come from",
        "--hf-token": "token for the model hub (hidden in this report)",
        "--reasoning-parser": "parser of the reasoning content",
        "--enable-auto-tool-choice": "lets the model choose tool calls",
        "--tool-call-parser": "parser of tool calls",
    },
}

ENV_HELP: dict[str, dict[str, str]] = {
    "zh": {
        "VLLM_CPU_KVCACHE_SPACE": "CPU 后端 KV 缓存的大小 (GiB)",
        "VLLM_CPU_OMP_THREADS_BIND": "CPU 后端推理线程绑定的核",
        "VLLM_CPU_NUM_OF_RESERVED_CPU": "CPU 后端为服务进程预留的核数",
        "ASCEND_RT_VISIBLE_DEVICES": "引擎可见的昇腾设备(逻辑设备号)",
        "CUDA_VISIBLE_DEVICES": "引擎可见的 NVIDIA GPU",
        "VLLM_USE_V1": "选择 V1 引擎",
        "VLLM_ATTENTION_BACKEND": "指定注意力后端",
        "VLLM_LOGGING_LEVEL": "vLLM 日志级别",
        "VLLM_USE_MODELSCOPE": "从 ModelScope 下载模型",
        "VLLM_WORKER_MULTIPROC_METHOD": "工作进程的启动方式 (spawn / fork)",
        "HF_ENDPOINT": "模型仓库镜像地址",
        "HF_HUB_OFFLINE": "离线模式,不访问模型仓库",
        "OMP_NUM_THREADS": "每个进程的 OpenMP 线程数",
        "PYTORCH_NPU_ALLOC_CONF": "torch_npu 的内存分配器配置",
        "HCCL_BUFFSIZE": "HCCL 通信缓冲区大小 (MB)",
        "TASK_QUEUE_ENABLE": "torch_npu 的任务下发队列优化",
    },
    "en": {
        "VLLM_CPU_KVCACHE_SPACE": "KV cache size of the CPU backend (GiB)",
        "VLLM_CPU_OMP_THREADS_BIND": "cores the CPU backend's inference threads are bound to",
        "VLLM_CPU_NUM_OF_RESERVED_CPU": "cores the CPU backend leaves to the serving process",
        "ASCEND_RT_VISIBLE_DEVICES": "Ascend devices the engine sees (logical ids)",
        "CUDA_VISIBLE_DEVICES": "NVIDIA GPUs the engine sees",
        "VLLM_USE_V1": "selects the V1 engine",
        "VLLM_ATTENTION_BACKEND": "forces an attention backend",
        "VLLM_LOGGING_LEVEL": "vLLM's log level",
        "VLLM_USE_MODELSCOPE": "downloads models from ModelScope",
        "VLLM_WORKER_MULTIPROC_METHOD": "how worker processes start (spawn / fork)",
        "HF_ENDPOINT": "model hub mirror",
        "HF_HUB_OFFLINE": "offline: never contacts the model hub",
        "OMP_NUM_THREADS": "OpenMP threads per process",
        "PYTORCH_NPU_ALLOC_CONF": "torch_npu's memory allocator settings",
        "HCCL_BUFFSIZE": "HCCL communication buffer size (MB)",
        "TASK_QUEUE_ENABLE": "torch_npu's task-queue dispatch optimisation",
    },
}

# log fact -> (explanation, user flags that would decide it instead of the engine)
FEATURE_HELP: dict[str, dict[str, str]] = {
    "zh": {
        "compilation_mode": "编译模式:PIECEWISE 为分段编译,注意力之外的计算图编译后以图模式重放"
        "(NPU 上为 ACL Graph),降低逐算子下发开销;NONE 为不编译",
        "acl_graph": "ACL Graph:昇腾上的图捕获与重放(对应 GPU 的 CUDA Graph)",
        "cudagraph_mode": "图捕获模式(NONE、PIECEWISE、FULL):解码步骤以捕获的图重放",
        "npugraph_ex_enabled": "vLLM-Ascend 的 NPU 图编译优化 (npugraph_ex)",
        "custom_fusions": "自定义融合算子:编译时把 RMSNorm / 激活与其后的量化融合为一个算子",
        "async_scheduling": "异步调度:调度下一步与设备执行当前步重叠,减少设备空闲",
        "chunked_prefill_enabled": "分块预填充:长输入按每步 token 上限切块,与解码请求混合调度",
        "prefix_caching_enabled": "前缀缓存:相同前缀的请求复用已算好的 KV 缓存",
        "kv_cache_dtype": "KV 缓存的数据类型(auto 即与模型一致)",
    },
    "en": {
        "compilation_mode": "compilation: PIECEWISE compiles the graph outside attention and "
        "replays it as a graph (ACL Graph on NPU), cutting per-operator launch cost; NONE is eager",
        "acl_graph": "ACL Graph: graph capture and replay on Ascend (the CUDA Graph of NPUs)",
        "cudagraph_mode": "graph capture mode (NONE / PIECEWISE / FULL): decode steps replay "
        "captured graphs",
        "npugraph_ex_enabled": "vLLM-Ascend's NPU graph compilation optimisation (npugraph_ex)",
        "custom_fusions": "custom fusions: at compile time RMSNorm / activation and the "
        "quantization after it become one operator",
        "async_scheduling": "asynchronous scheduling: the next step is scheduled while the "
        "device runs this one, so the device idles less",
        "chunked_prefill_enabled": "chunked prefill: long inputs are split by the per-step token "
        "budget and scheduled together with decode requests",
        "prefix_caching_enabled": "prefix caching: requests sharing a prefix reuse its KV cache",
        "kv_cache_dtype": "data type of the KV cache (auto: the model's)",
    },
}
FEATURE_FLAGS: dict[str, tuple[str, ...]] = {
    "compilation_mode": ("--enforce-eager", "--compilation-config"),
    "acl_graph": ("--enforce-eager", "--compilation-config"),
    "cudagraph_mode": ("--enforce-eager", "--compilation-config"),
    "npugraph_ex_enabled": ("--additional-config", "--compilation-config"),
    "custom_fusions": ("--compilation-config",),
    "async_scheduling": ("--async-scheduling", "--no-async-scheduling"),
    "chunked_prefill_enabled": ("--enable-chunked-prefill", "--no-enable-chunked-prefill"),
    "prefix_caching_enabled": ("--enable-prefix-caching", "--no-enable-prefix-caching"),
    "kv_cache_dtype": ("--kv-cache-dtype",),
}

WORDS = {
    "zh": {
        "user": "用户参数",
        "tool": "modelverify 添加",
        "env": "环境变量",
        "auto": "引擎自动(启动日志)",
        "by_flag": "启动日志,由 {f} 决定",
        "unknown": "— (见 vLLM 文档)",
        "on": "启用",
        "off": "关闭",
        "source": "来源",
    },
    "en": {
        "user": "user flag",
        "tool": "added by modelverify",
        "env": "environment",
        "auto": "engine default (start-up log)",
        "by_flag": "start-up log, set by {f}",
        "unknown": "— (see the vLLM docs)",
        "on": "on",
        "off": "off",
        "source": "Source",
    },
}


def _is_flag(a: str) -> bool:
    # "-1" and "-.5" are values; "-tp", "-O3" and "--port" are flags
    return a.startswith("-") and len(a) > 1 and not (a[1].isdigit() or a[1] == ".")


def engine_flags(cmd: list[str]) -> list[tuple[str, str | None]]:
    """(flag, value) pairs of a recorded engine command, after the launcher and the model.

    ``python -m vllm.entrypoints.openai.api_server`` and ``vllm serve MODEL`` both lead the
    command; ``-m`` there is Python's, not a vLLM flag."""
    args = redact_args(cmd)
    start = 1
    for i, a in enumerate(args):
        if a.startswith("vllm.entrypoints"):
            start = i + 1
            break
        if a == "serve":
            start = i + 2 if i + 1 < len(args) and not args[i + 1].startswith("-") else i + 1
            break
    out: list[tuple[str, str | None]] = []
    i = start
    while i < len(args):
        a = args[i]
        if not a.startswith("-"):
            i += 1
            continue
        if a.startswith("-O") and len(a) > 2 and not a.startswith("--"):
            out.append(("-O", a[2:].lstrip("=")))  # -O3: the level is glued on
            i += 1
        elif a.startswith("--") and "=" in a:
            flag, value = a.split("=", 1)
            out.append((flag, value))
            i += 1
        elif i + 1 < len(args) and not _is_flag(args[i + 1]):
            out.append((a, args[i + 1]))
            i += 2
        else:
            out.append((a, None))
            i += 1
    return out


def _code(v: str | None) -> str | None:
    return None if v is None else f"`{v}`"


def _fact_value(v: Any, w: dict[str, str]) -> str | None:
    if v is None or v == [] or v == "":
        return None
    if isinstance(v, bool):
        return w["on"] if v else w["off"]
    if isinstance(v, list):
        return ", ".join(str(x) for x in v)
    return str(v)


def flag_rows(serve: D, env: D | None, run: D, lang: str) -> list[list[Any]]:
    """[parameter, value, source, explanation] for every flag, environment variable and
    engine-enabled feature of the serve stage."""
    key = "en" if lang == "en" else "zh"
    helps, env_help, feat, w = FLAG_HELP[key], ENV_HELP[key], FEATURE_HELP[key], WORDS[key]
    user = {SHORT_FLAGS.get(f, f) for f, _ in engine_flags(["vllm", *run.get("engine_args", [])])}
    flags = engine_flags(serve.get("command") or [])
    rows: list[list[Any]] = []
    seen: set[str] = set()
    for flag, value in flags:
        long = SHORT_FLAGS.get(flag, flag)
        shown = f"`{flag}`" if long == flag else f"`{flag}` (`{long}`)"
        if shown in seen:
            continue
        seen.add(shown)
        src = w["user"] if long in user or not run.get("engine_args") else w["tool"]
        if long in ("--port", "--host", "--model") and long not in user:
            src = w["tool"]
        rows.append([shown, _code(value), src, helps.get(long, w["unknown"])])
    envs = {**((env or {}).get("device_selection") or {}), **(serve.get("env") or {})}
    for name, value in redact_env(envs).items():
        rows.append([f"`{name}`", _code(value), w["env"], env_help.get(name, w["unknown"])])
    facts = serve.get("log_facts") or {}
    given = {SHORT_FLAGS.get(f, f) for f, _ in flags}
    for name, text in feat.items():
        value = _fact_value(facts.get(name), w)
        if value is None:
            continue
        decided = [f for f in FEATURE_FLAGS.get(name, ()) if f in given]
        src = w["by_flag"].format(f=", ".join(f"`{f}`" for f in decided)) if decided else w["auto"]
        rows.append([f"`{name}`", _code(value), src, text])
    return rows


__all__ = ["FLAG_HELP", "SHORT_FLAGS", "engine_flags", "flag_rows"]
