"""Read a ``vllm serve`` start-up log into facts, across vLLM versions and vLLM-Ascend.

Small pure functions; every pattern is linear (no nested quantifiers) so a pathological line
cannot hang the parser. Absent facts are None, never guessed. Lines are read in order and the
last statement of a setting wins (vLLM often logs a feature as enabled, then turns it off).
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from modelverify.results import Model

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|\[(?:\d{1,3};)*\d{1,3}m")
# "(APIServer pid=1)", "(VllmWorker TP0 pid=5)", "(VllmWorker rank=5 pid=3073)", Ray's
# "(RayWorkerWrapper pid=769, ip=7.242.96.68)" and nameless "(pid=776, ip=...)", nested when one
# process relays another's output; then torch.distributed's "[rank0]:" on every line it prints
_PREFIX = re.compile(
    r"^\s*(?:\((?:[\w.-]+ )?(?:(?:TP|PP|DP|EP)\d+ |rank=\d+ )?pid=\d+(?:, ip=[\w.:-]{1,64})?\)\s*)*"
    r"(?:\[rank\d+\]:\s?)?"
)
_LEVEL = re.compile(
    r"^(INFO|WARNING|ERROR|DEBUG|CRITICAL)\s+(\d\d-\d\d \d\d:\d\d:\d\d)(?:\.\d+)?\s+(?:\[[^\]]{1,80}\]\s*)?"
)
# "Initializing an LLM engine (v0.5.0) with config:", "a V0 LLM engine (v0.7.1)", "a V1 LLM
# engine (v0.8.3)", and before 0.4.1 no version at all: "an LLM engine with config:"
_ENGINE = re.compile(r"Initializing an? (V0 |V1 )?LLM engine(?: \(v([^)\s]+)\))? with config: (.*)")
_BANNER = re.compile(r"\bversion (\d+\.\d+[\w.+-]*)")
_APIVER = re.compile(r"vLLM API server version (\d+\.\d+[\w.+-]*)")
_KV = re.compile(r"(GPU|CPU|NPU|XPU)? ?KV cache size: ([\d,]+) tokens")
_CONC = re.compile(r"Maximum concurrency for ([\d,]+) tokens per request: ([\d.]+)x")
# V0's block counts: "# GPU blocks:" up to 0.6, then the platform's name: "# CUDA blocks:" (0.7),
# "# cuda blocks:" (0.7.3+), vLLM-Ascend's "# npu blocks:" (and "# CPU blocks:" twice in 0.7.1)
_BLOCKS = re.compile(
    r"# (?:GPU|CUDA|NPU|CPU|XPU|HPU) blocks: (\d[\d,]*), # CPU blocks: (\d[\d,]*)", re.I
)
_URL = re.compile(
    r"(?:Starting vLLM (?:API )?server(?: \d+)? on|Uvicorn running on) (https?://\S+)"
)
_CHUNKED_ON = re.compile(r"Chunked prefill is enabled with max_num_batched_tokens=(\d+)")
_FUSIONS = re.compile(r"Enabled custom fusions: (.+)$")
_WEIGHTS = re.compile(r"Loading weights took ([\d.]+) ?s")
_INIT = re.compile(r"init engine \(profile, create kv cache, warmup model\) took ([\d.]+) ?s")
_GRAPH = re.compile(r"Graph capturing finished in ([\d.]+) ?secs?")
_COMPILE = re.compile(r"torch\.compile takes ([\d.]+) s in total")
_MODE = re.compile(r"CompilationMode\.(\w+)")
_CUDAGRAPH = re.compile(r"CUDAGraphMode\.(\w+)")
_LEVEL_KEY = re.compile(
    r"""["']level["']:\s?(\d+)|compilation_level=(\d+)|CompilationMode\.\w+: (\d+)>"""
)
_NONDEFAULT_MNBT = re.compile(r"'max_num_batched_tokens': (\d+)")
_GRAPH_MEM = re.compile(r"Graph capturing finished in ([\d.]+) ?secs?, took ([\d.]+) GiB")
_EXC = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Exit)\b(?::.*)?$")
_RANK = re.compile(r"rank (\d+) in world size (\d+) is assigned as (.*)")
_GROUP = re.compile(r"\b([A-Z]+) rank (\d+|N/A)")
_WORKER_PREFIX = re.compile(
    r"^\s*\((\w*Worker\w*(?: (?:TP|PP|DP|EP)\d+| rank=\d+)?) pid=(\d+)(?:, ip=([\w.:-]{1,64}))?\)"
)
# torch's C++ (c10/glog) error line, "[E1201 06:31:02.635343200 compiler_depend.ts:444] msg", once
# the "[rankN]:" prefix is gone: a failure that never became a Python exception
_C10_ERROR = re.compile(r"^\[E\d{4} [\d:.]{8,24} [^\]\s]{1,120}\]\s*(\S.*)$")
_BACKEND = re.compile(r"distributed_executor_backend'?\s*[=:]\s*'?(\w+)'?")
_WRAPPERS = (
    "EOFError",
    "Engine core initialization failed",
    "KeyboardInterrupt",
    "CancelledError",
    # V1's EngineCore re-raises a worker's exception inside this text; the worker's own line
    # came first and is the cause
    "Worker failed with error",
)
# CANN error codes printed under a torch_npu exception ("EL0004: [PID: 5536] 2025-11-10-01:25:11
# .770.501 Failed to allocate memory."); EH9999 is CANN's "Inner Error", never the cause, and an
# "E?9999: Inner Error!" header of any module says nothing: the next code line says what failed
_CANN_CODE = re.compile(
    r"\b(E[A-GI-Z]\d{4}):\s*(?:\[PID: \d+\]\s*)?(?:\d{4}-\d\d-\d\d-[\d:.]{8,20}\s*)?(.*)"
)
_CANN_NOISE = ("Inner Error",)
# vLLM-Ascend's graph mode: "PIECEWISE compilation enabled on NPU", "FULL_DECODE_ONLY compilation
# enabled on NPU. use_inductor not supported - using only ACL Graph mode"
_ACL_GRAPH = re.compile(r"\b([A-Z][A-Z_]+) compilation enabled on NPU")


class GraphCapture(Model):
    captured: bool
    seconds: float | None = None
    memory_gib: float | None = None


class Timings(Model):
    weights_loaded_s: float | None = None
    init_engine_s: float | None = None
    graph_capture_s: float | None = None
    torch_compile_s: float | None = None
    ready_after_s: float | None = None


class Rank(Model):
    """One ``parallel_state`` line: a global rank and its rank in each parallel group, as the
    line names them (DP, PP, PCP, TP, DCP, ETP, EP, EPLB, …; ``N/A`` -> null)."""

    rank: int
    world_size: int
    groups: dict[str, int | None] = {}


class VllmLogFacts(Model):
    vllm_version: str | None = None
    engine: str | None = None
    platform: str | None = None
    model: str | None = None
    dtype: str | None = None
    max_seq_len: int | None = None
    tensor_parallel_size: int | None = None
    pipeline_parallel_size: int | None = None
    data_parallel_size: int | None = None
    quantization: str | None = None
    enforce_eager: bool | None = None
    device_config: str | None = None
    kv_cache_dtype: str | None = None
    kv_cache_tokens: int | None = None
    kv_cache_tokens_per_worker: list[int] = []
    # scale-out topology as the log shows it
    world_size: int | None = None
    ranks: list[Rank] = []
    worker_processes: list[str] = []  # "Worker_TP1 pid=5537", "RayWorkerVllm pid=309", ...
    distributed_executor_backend: str | None = None
    gpu_blocks: int | None = None
    cpu_blocks: int | None = None
    max_concurrency: float | None = None
    max_concurrency_tokens_per_request: int | None = None
    chunked_prefill_enabled: bool | None = None
    max_num_batched_tokens: int | None = None
    prefix_caching_enabled: bool | None = None
    compilation_level: int | None = None
    graph_capture: GraphCapture | None = None
    compilation_mode: str | None = None
    cudagraph_mode: str | None = None
    acl_graph: str | None = None
    custom_fusions: list[str] = []
    npugraph_ex_enabled: bool | None = None
    async_scheduling: bool | None = None
    startup_complete: bool = False
    api_server_url: str | None = None
    fatal_error: str | None = None
    post_startup_error: str | None = None
    timings: Timings = Timings()


def clean_line(raw: str) -> tuple[str, str | None, str | None]:
    """(message, level, timestamp) of one log line, without colour codes and process prefixes."""
    line = _ANSI.sub("", raw.rstrip("\r\n"))
    line = _PREFIX.sub("", line)
    m = _LEVEL.match(line)
    if m:
        return line[m.end() :], m.group(1), m.group(2)
    return line.strip(), None, None


def config_value(config: str, key: str) -> str | None:
    """``key=value`` from an engine config line ('quoted' or up to the next comma)."""
    # PosixPath('/models/x') as old engines print a path
    m = re.search(
        r"(?:^|[\s,])" + re.escape(key) + r"=(?:PosixPath\()?('([^']*)'|([^,\s]*))", config
    )
    if not m:
        return None
    return m.group(2) if m.group(2) is not None else m.group(3)


def _int(v: str | None) -> int | None:
    try:
        return int(v.replace(",", "")) if v not in (None, "None") else None
    except ValueError:
        return None


def _float(v: str | None) -> float | None:
    """A ``[\\d.]+`` capture as a finite float, or None ("1.2.3", a 400-digit run)."""
    if v is None or len(v) > 40:
        return None
    try:
        x = float(v)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _bool(v: str | None) -> bool | None:
    return {"True": True, "False": False}.get(v or "")


def _apply_config(f: VllmLogFacts, cfg: str) -> None:
    f.model = config_value(cfg, "model") or f.model
    dtype = config_value(cfg, "dtype")
    f.dtype = dtype.removeprefix("torch.") if dtype else f.dtype
    f.max_seq_len = _int(config_value(cfg, "max_seq_len")) or f.max_seq_len
    f.tensor_parallel_size = (
        _int(config_value(cfg, "tensor_parallel_size")) or f.tensor_parallel_size
    )
    f.pipeline_parallel_size = (
        _int(config_value(cfg, "pipeline_parallel_size")) or f.pipeline_parallel_size
    )
    f.data_parallel_size = _int(config_value(cfg, "data_parallel_size")) or f.data_parallel_size
    q = config_value(cfg, "quantization")
    f.quantization = None if q in (None, "None") else q
    f.enforce_eager = _bool(config_value(cfg, "enforce_eager"))
    f.device_config = config_value(cfg, "device_config") or f.device_config
    f.kv_cache_dtype = config_value(cfg, "kv_cache_dtype") or f.kv_cache_dtype
    chunked = _bool(
        config_value(cfg, "enable_chunked_prefill") or config_value(cfg, "chunked_prefill_enabled")
    )
    if chunked is not None:
        f.chunked_prefill_enabled = chunked
    prefix = _bool(config_value(cfg, "enable_prefix_caching"))
    if prefix is not None:
        f.prefix_caching_enabled = prefix
    if m := _MODE.search(cfg):
        f.compilation_mode = m.group(1)
    if m := _CUDAGRAPH.search(cfg):
        f.cudagraph_mode = m.group(1)
    if m := _LEVEL_KEY.search(cfg):
        f.compilation_level = _int(m.group(1) or m.group(2) or m.group(3))
    if mnbt := _int(config_value(cfg, "max_num_batched_tokens")):
        f.max_num_batched_tokens = mnbt


def _ts(stamp: str) -> datetime | None:
    try:
        return datetime.strptime(stamp, "%m-%d %H:%M:%S")
    except ValueError:
        return None


def parse_vllm_log(text: str) -> VllmLogFacts:
    f = VllmLogFacts()
    first_ts: datetime | None = None
    startup_at: int | None = None
    lines = text.splitlines()
    for i, raw in enumerate(lines):
        if m := _WORKER_PREFIX.match(_ANSI.sub("", raw[:300])):
            # the node's address names a worker on another host of a Ray cluster
            who = f"{m.group(1)} pid={m.group(2)}" + (f" ip={m.group(3)}" if m.group(3) else "")
            if who not in f.worker_processes:
                f.worker_processes.append(who)
        msg, _level, stamp = clean_line(raw[:20_000])
        if stamp and first_ts is None:
            first_ts = _ts(stamp)
        if m := _RANK.search(msg):
            r = Rank(
                rank=_int(m.group(1)) or 0,
                world_size=_int(m.group(2)) or 0,
                groups={g: _int(v) for g, v in _GROUP.findall(m.group(3))},
            )
            if all(x.rank != r.rank for x in f.ranks):
                f.ranks.append(r)
            f.world_size = r.world_size
        if m := _BACKEND.search(msg):
            f.distributed_executor_backend = m.group(1) if m.group(1) != "None" else None
        if m := _ENGINE.search(msg):
            f.engine = "V1" if m.group(1) == "V1 " else "V0"
            f.vllm_version = m.group(2) or f.vllm_version
            _apply_config(f, m.group(3))
        elif f.vllm_version is None and (m := _APIVER.search(msg) or _BANNER.search(msg)):
            f.vllm_version = m.group(1)
        if m := _KV.search(msg):
            tokens = _int(m.group(2))
            if tokens is not None:
                f.kv_cache_tokens_per_worker.append(tokens)
            if m.group(1):
                f.platform = {"GPU": f.platform or "cuda", "CPU": "cpu", "NPU": "npu"}.get(
                    m.group(1), f.platform
                )
        if m := _CONC.search(msg):
            f.max_concurrency = _float(m.group(2))
            f.max_concurrency_tokens_per_request = _int(m.group(1))
        if m := _BLOCKS.search(msg):
            f.gpu_blocks, f.cpu_blocks = _int(m.group(1)), _int(m.group(2))
        if "non-default args" in msg and (m := _NONDEFAULT_MNBT.search(msg)):
            f.max_num_batched_tokens = _int(m.group(1))
        if m := _CHUNKED_ON.search(msg):
            f.chunked_prefill_enabled, f.max_num_batched_tokens = True, _int(m.group(1))
        elif "chunked prefill" in msg.lower() and any(
            w in msg.lower() for w in ("disabl", "not supported", "turning off")
        ):
            f.chunked_prefill_enabled = False
        if m := _FUSIONS.search(msg):
            f.custom_fusions = [x.strip() for x in m.group(1).split(",") if x.strip()]
        if "enable_npugraph_ex is enabled" in msg:
            f.npugraph_ex_enabled = True
        if "Asynchronous scheduling is enabled" in msg:
            f.async_scheduling = True
        elif (
            "Asynchronous scheduling is disabled" in msg
            or "async scheduling is disabled" in msg.lower()
        ):
            f.async_scheduling = False
        if m := _ACL_GRAPH.search(msg):
            f.acl_graph, f.platform = f"{m.group(1)} (ACL Graph)", "npu"
        elif "npu not support graph capture" in msg.lower():
            f.acl_graph, f.platform = "disabled (eager)", "npu"
        if m := _WEIGHTS.search(msg):
            f.timings.weights_loaded_s = _float(m.group(1))
        if m := _INIT.search(msg):
            f.timings.init_engine_s = _float(m.group(1))
        if m := _GRAPH.search(msg):
            f.timings.graph_capture_s = _float(m.group(1))
            mem = _GRAPH_MEM.search(msg)
            f.graph_capture = GraphCapture(
                captured=True,
                seconds=_float(m.group(1)),
                memory_gib=_float(mem.group(2)) if mem else None,
            )
        if m := _COMPILE.search(msg):
            f.timings.torch_compile_s = _float(m.group(1))
        if m := _URL.search(msg):
            f.api_server_url = m.group(1).rstrip(".,")
        if "Application startup complete" in msg and not f.startup_complete:
            f.startup_complete, startup_at = True, i
            if stamp is None:
                # Uvicorn's line has no timestamp; use the last stamped line before it.
                for back in range(i - 1, max(-1, i - 50), -1):
                    _, _, s2 = clean_line(lines[back])
                    if s2:
                        stamp = s2
                        break
            t0, t1 = first_ts, _ts(stamp) if stamp else None
            if t0 and t1:
                f.timings.ready_after_s = (t1 - t0).total_seconds()
    if f.graph_capture is None and (
        f.enforce_eager or f.acl_graph == "disabled (eager)" or f.cudagraph_mode == "NONE"
    ):
        f.graph_capture = GraphCapture(captured=False)
    if f.kv_cache_tokens_per_worker:
        # Every worker must hold the cache; the smallest one bounds the engine.
        f.kv_cache_tokens = min(f.kv_cache_tokens_per_worker)
    # the engine's own device wins over the "GPU KV cache size" wording, which NPU logs share
    if f.device_config in ("cuda", "cpu", "npu", "xpu", "tpu", "hpu"):
        f.platform = f.device_config
    elif f.device_config and f.device_config.split(":")[0] in ("cuda", "npu"):
        f.platform = f.device_config.split(":")[0]
    if startup_at is None:
        f.fatal_error = root_cause_line(text)
    else:
        f.post_startup_error = root_cause_line("\n".join(lines[startup_at + 1 :]))
    return f


def _cann_code(following: list[str]) -> str | None:
    """The first informative CANN error code among the lines after a torch_npu exception."""
    for raw in following:
        m = _CANN_CODE.search(clean_line(raw[:2000])[0])
        if m and not m.group(2).startswith(_CANN_NOISE):
            return f"{m.group(1)}: {m.group(2).strip()[:200]}"
    return None


def root_cause_line(text: str) -> str | None:
    """The last raised-exception line, skipping the wrappers vLLM adds after the real cause; a
    C++ error of torch only when no Python exception was raised (it is then all there is)."""
    found: str | None = None
    c10_error: str | None = None
    lines = text.splitlines()
    for i, raw in enumerate(lines):
        msg, _, _ = clean_line(raw[:5000])
        msg = msg.strip()
        if c10 := _C10_ERROR.match(msg):
            c10_error = c10.group(1).strip()
        elif _EXC.match(msg) and not any(w in msg for w in _WRAPPERS):
            found = msg
            # torch_npu's message names the call; the CANN error code a few lines below says why
            if code := _cann_code(lines[i + 1 : i + 12]):
                found = f"{msg} ({code})"
            # pydantic puts the real message on the next line ("  Value error, ...").
            if "validation error" in msg and i + 1 < len(lines):
                detail = clean_line(lines[i + 1][:5000])[0].strip()
                if detail:
                    found = f"{msg}: {detail[:400]}"
    return found or c10_error


__all__ = [
    "GraphCapture",
    "Rank",
    "Timings",
    "VllmLogFacts",
    "clean_line",
    "config_value",
    "parse_vllm_log",
    "root_cause_line",
]
