"""The Chinese report is Chinese: no English sentence outside code, identifiers and the places
that quote a stage's English text on purpose (marked with the "原文" prefix).

The results are built the way the stages build them (recorded npu-smi table and vLLM log from
``tests/data``, the compat stage on a recorded config, perf and accuracy summaries from
generated records), so the report sees real shapes, including the SLO, baseline, sweep and
failure branches."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest

from modelverify.accuracy.stage import AccuracyConfig, summarise
from modelverify.api.checks import CheckResult, Evidence
from modelverify.api.stage import ApiResult
from modelverify.api.stage import summarise as api_summarise
from modelverify.compat.stage import check_kv, run_compat
from modelverify.env.cpu import CpuInfo
from modelverify.env.npu_smi import parse_npu_smi
from modelverify.env.stage import EnvResult, judge_npu, judge_versions
from modelverify.env.versions import PackageVersion, Versions
from modelverify.perf.metrics import RequestRecord
from modelverify.perf.slo import judge
from modelverify.perf.stage import PerfConfig, PerfResult, _judged, _load_test
from modelverify.report.i18n import strings
from modelverify.report.markdown import render
from modelverify.results import Status
from modelverify.serve.logparse import parse_vllm_log
from modelverify.serve.stage import ProcessMemory, ServeResult

DATA = Path(__file__).resolve().parents[2] / "data"


def _env(platform: str) -> dict[str, Any]:
    versions = Versions(
        python="3.11.9",
        packages=[
            PackageVersion(name="vllm", version="0.18.0"),
            PackageVersion(name="vllm-ascend", version="0.18.0rc1"),
            PackageVersion(name="torch", version="2.9.0"),
            PackageVersion(name="transformers", version="4.57.1"),
        ],
        cann_version="8.5.1" if platform == "npu" else None,
        cann_env_sourced=True if platform == "npu" else None,
    )
    cpu = CpuInfo(
        model_name="Intel(R) Xeon(R) Platinum 8480+",
        architecture="x86_64",
        logical_cores=2,
        physical_cores=1,
        sockets=1,
        numa_nodes=1,
        isa=["avx512f", "amx_bf16"],
        isa_class="AVX512",
        memory_total_bytes=8 * 2**30,
        memory_available_bytes=6 * 2**30,
    )
    npu = None
    findings = []
    if platform == "npu":
        info = parse_npu_smi((DATA / "npu_smi" / "06_910b4_npu2_no_version.txt").read_text())
        npu = {"info": info.model_dump(mode="json"), "raw": "npu-smi info"}
        findings += judge_npu(npu["info"], None)
    findings += judge_versions(platform, versions)
    res = EnvResult(platform=platform, cpu=cpu, versions=versions, npu=npu, findings=findings)
    worst = max(
        (f.status for f in findings), key=["pass", "warn", "fail"].index, default=Status.PASS
    )
    res.status, res.reason = worst, "; ".join(f.reason for f in findings if f.status == worst)
    return res.model_dump(mode="json")


def _records(test: str, n: int, rng: random.Random, fail: int = 0) -> list[RequestRecord]:
    out = []
    for i in range(n):
        ttft = rng.uniform(0.04, 0.2)
        itl = [rng.uniform(0.03, 0.06) for _ in range(49)]
        ok = i >= fail
        out.append(
            RequestRecord(
                test=test,
                index=i,
                ok=ok,
                error=None if ok else "HTTP 503: Service Unavailable",
                status_code=200 if ok else 503,
                send_time=float(i),
                ttft_s=ttft if ok else None,
                e2el_s=ttft + sum(itl) if ok else None,
                itl_s=itl if ok else [],
                prompt_tokens=6,
                output_tokens=50 if ok else None,
                output_chunks=50,
                finish_reason="length",
            )
        )
    return out


def _perf(slo: bool, fail: int) -> dict[str, Any]:
    rng = random.Random(1)
    cfg = PerfConfig(
        slo={"ttft_ms": 150.0, "tpot_ms": 60.0} if slo else {},
        sweep=[1, 2, 4],
        rate=2.0,
        baseline="runs/earlier" if slo else None,
    )
    res = PerfResult(config=cfg)
    seq = _records("sequential", 10, rng)
    conc = _records("concurrent", 50, rng, fail=fail)
    res.sequential = _load_test("sequential", seq, 19.0, 1)
    res.concurrent = _load_test("concurrent", conc, 14.4, 10)
    res.sweep = [
        _load_test(f"sweep c={c}", _records(f"sweep-{c}", 16, rng), 16 / c * 1.9, c)
        for c in (1, 2, 4)
    ]
    res.sweep_knee = 2
    res.rate_test = _load_test("rate", _records("rate", 20, rng), 10.0, 0)
    if slo:
        res.slo_tests = [
            judge("sequential", seq, 19.0, cfg.slo, cfg.slo_attainment),
            judge("concurrent", conc, 14.4, cfg.slo, cfg.slo_attainment),
        ]
        res.baseline_regressions = ["concurrent TTFT p50"]
    if fail:
        res.status, res.reason = Status.WARN, f"some requests failed: concurrent {50 - fail}/50"
    else:
        res.status, res.reason = _judged(res, cfg)
    return res.model_dump(mode="json")


def _api(bad: bool) -> dict[str, Any]:
    ev = Evidence(
        method="GET",
        url="http://127.0.0.1:8000/v1/models",
        status_code=200,
        response={"data": [{"id": "m", "max_model_len": 2048}]},
    )
    checks = [
        CheckResult(
            id="models.list",
            title="GET /v1/models",
            status=Status.PASS,
            reason="1 model",
            evidence=[ev],
        ),
        CheckResult(
            id="completions.basic",
            title="POST /v1/completions",
            status=Status.FAIL if bad else Status.PASS,
            reason="finish_reason is stop but the text is empty" if bad else "50 tokens",
            evidence=[
                Evidence(
                    method="POST",
                    url="http://127.0.0.1:8000/v1/completions",
                    request={"prompt": "The future of artificial intelligence is"},
                    status_code=200,
                    response={
                        "choices": [{"text": "" if bad else " bright", "finish_reason": "length"}],
                        "usage": {"prompt_tokens": 6, "completion_tokens": 50},
                    },
                )
            ],
        ),
        CheckResult(
            id="chat.basic",
            title="POST /v1/chat/completions",
            status=Status.WARN if bad else Status.PASS,
            reason="the answer does not mention Paris" if bad else "Paris",
        ),
    ]
    status, reason = api_summarise(checks)
    return ApiResult(checks=checks, status=status, reason=reason).model_dump(mode="json")


def _accuracy(reference: float | None) -> dict[str, Any]:
    cfg = AccuracyConfig(
        limit=200,
        reference_accuracy=reference,
        reference_source="Qwen/Qwen3-8B (vLLM-Ascend accuracy report)" if reference else None,
        concurrency=10,
    )
    recs: list[dict[str, Any]] = [
        {"correct": i < 142, "extracted": "1" if i < 195 else None, "rule": "answer_is"}
        for i in range(200)
    ]
    res = summarise(recs, cfg)
    res.output_throughput, res.retried_requests = 180.0, 2
    res.dataset_path = "/data/gsm8k/test.jsonl"
    return res.model_dump(mode="json")


def _results(tmp_path: Path, platform: str, bad: bool) -> dict[str, Any]:
    log = (DATA / "vllm_logs" / "cpu_v0.32.0_smollm2_eager_ok.log").read_text()
    (tmp_path / "server.log").write_text(log)
    facts = parse_vllm_log(log).model_dump(mode="json")
    serve = ServeResult(
        command=["vllm", "serve", "/models/m", "--max-model-len", "2048", "--enforce-eager"],
        base_url="http://127.0.0.1:8000",
        ready_after_s=38.2,
        log_facts=facts,
        memory=[ProcessMemory(pid=11, name="python", rss_bytes=900 * 2**20)],
        memory_total_bytes=900 * 2**20,
    )
    env = _env(platform)
    compat = run_compat(
        DATA / "model_configs" / "llama-3.3-70b-instruct",
        env=env,
        engine_args=["--max-model-len", "8192", "--tensor-parallel-size", "2"],
    )
    compat.kv_check = check_kv(compat, facts.get("kv_cache_tokens"))
    return {
        "run": {
            "model": "/models/Llama-3.3-70B-Instruct",
            "model_path": "/models/Llama-3.3-70B-Instruct",
            "started_at": "2026-05-12T08:00:00Z",
            "tool_version": "0.1.0",
            "argv": ["modelverify", "run", "/models/Llama-3.3-70B-Instruct"],
        },
        "stages": {
            "env": env,
            "compat": compat.model_dump(mode="json"),
            "serve": serve.model_dump(mode="json"),
            "api": _api(bad),
            "perf": _perf(slo=not bad, fail=3 if bad else 0),
            "accuracy": _accuracy(None if bad else 0.70),
        },
    }


# Three or more words of Latin letters in a row ("KV cache size" counts, "HBM 17790" does not).
SENTENCE = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[ ,/;:()=-]+[A-Za-z][A-Za-z'’-]*){2,}")
# Names that legitimately run together in Chinese text: products, metrics, model names.
ALLOWED = [
    r"Chat Completions",
    r"Chain-of-Thought",
    r"Chat Prompt \(role=HUMAN/BOT\)",
    r"4-shot CoT",
    r"Ascend NPU",
    r"NVIDIA GPU",
    r"Intel\(R\) Xeon\(R\) Platinum",
    r"LLM engine",
    r"TTFT / TPOT / ITL / E2EL",
    r"vLLM bench \| GuideLLM \| AISBench",
    r"vLLM-Ascend",
    r"vLLM CPU",
    r"Llama-3\.3-70B-Instruct",
    r"LlamaForCausalLM",
    r"PIECEWISE \(ACL Graph\)",
    r"full / sliding / linear",
    r"npu-smi / nvidia-smi",
    r"goodput",
    r"burstiness",
    r"req/s",
    r"tok/s",
    # load-test and figure ids
    r"\b(?:sequential|concurrent|rate|sweep c=\d+)\b",
    r"(?:TTFT|TPOT|ITL|E2EL) p\d+",
]


def _prose(md: str) -> list[str]:
    """The report's lines with code blocks, code spans and quoted stage text removed."""
    out, in_code = [], False
    quote = strings("zh")["quoted"]
    for line in md.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        # the API check table quotes each check's English reason (api_section, not ours to change)
        if line.startswith("| `") and line.count("|") == 4:
            continue
        line = re.sub(r"`[^`]*`", " ", line)
        line = re.sub(r'"[^"]*"', " ", line)  # quoted user data (the prompt)
        # stage text quoted on purpose, after its prefix, up to the end of the cell / line
        line = re.sub(re.escape(quote) + r"[^|]*", " ", line)
        for a in ALLOWED:
            line = re.sub(a, " ", line)
        out.append(line)
    return out


@pytest.mark.parametrize(("platform", "bad"), [("npu", False), ("cpu", True)])
def test_chinese_report_has_no_english_sentences(tmp_path: Path, platform: str, bad: bool) -> None:
    md = render(_results(tmp_path, platform, bad), tmp_path, "zh")
    found = [(line.strip(), m.group(0)) for line in _prose(md) for m in SENTENCE.finditer(line)]
    assert found == [], "\n".join(f"{w!r} in: {ln}" for ln, w in found)


def test_streaming_table_has_min_max_and_throughputs(tmp_path: Path) -> None:
    res = _results(tmp_path, "npu", False)
    s = res["stages"]["perf"]["concurrent"]["streaming"]
    for lang in ("zh", "en"):
        md = render(res, tmp_path, lang)
        t = strings(lang)
        head = next(ln for ln in md.splitlines() if "| p90 | p99 |" in ln)
        assert f"| {t['st_min']} | {t['st_max']} | std |" in head
        assert t["st_req_tput"] in md and t["st_total_tput"] in md
        assert f"{s['ttft_ms']['min']:.1f}" in md and f"{s['ttft_ms']['max']:.1f}" in md
        assert f"{s['request_throughput']:.2f}" in md
        assert f"{s['total_token_throughput']:.1f}" in md


def test_english_report_keeps_english(tmp_path: Path) -> None:
    md = render(_results(tmp_path, "npu", False), tmp_path, "en")
    assert "retried requests" in md and "throughput vs perf stage" in md
    assert "重试" not in md and "依据" not in md


def test_failed_start_shows_the_diagnosis_in_both_languages(tmp_path: Path) -> None:
    from modelverify.serve.diagnose import diagnose

    log = (DATA / "vllm_logs" / "cpu_v0.32.0_kv_cache_too_small_fail.log").read_text()
    diag = diagnose(log)
    assert diag is not None and diag.id == "kv_cache_too_small"
    res = _results(tmp_path, "cpu", False)
    (tmp_path / "server.log").write_text(log)
    res["stages"]["serve"].update(
        status="fail",
        reason="engine exited with code 1",
        ready_after_s=None,
        log_facts=parse_vllm_log(log).model_dump(mode="json"),
        diagnosis=diag.model_dump(mode="json"),
    )
    zh = render(res, tmp_path, "zh")
    assert "规则 `kv_cache_too_small`" in zh and diag.excerpt[0] in zh
    found = [(ln, m.group(0)) for ln in _prose(zh) for m in SENTENCE.finditer(ln)]
    assert found == [], found
    en = render(res, tmp_path, "en")
    assert diag.advice in en and "rule `kv_cache_too_small`" in en


def test_remote_code_and_an_open_host_are_named_as_risks(tmp_path: Path) -> None:
    res = _results(tmp_path, "npu", False)
    md = render(res, tmp_path, "zh")
    assert "**风险**" not in md  # nothing to sign off on: no risk section
    serve = res["stages"]["serve"]
    serve["command"] = [*serve["command"], "--trust-remote-code", "--host", "0.0.0.0"]
    serve["host_warning"] = "--host 0.0.0.0: the server was reachable from other machines"
    zh = render(res, tmp_path, "zh")
    assert "**风险**" in zh and "`--trust-remote-code` 启动" in zh and "0.0.0.0" in zh
    assert [m.group(0) for ln in _prose(zh) for m in SENTENCE.finditer(ln)] == []
    en = render(res, tmp_path, "en")
    assert "**Risks**" in en and "custom Python code from the model repository" in en


def test_rewriting_in_the_other_language_leaves_no_stale_report(tmp_path: Path) -> None:
    from modelverify.report.markdown import write_reports
    from modelverify.rundir import RunDir

    run_dir = RunDir.create(tmp_path, "x")
    write_reports(run_dir, lang="zh")
    names = {p.name for p in run_dir.path.glob("report*.md")}
    assert names == {"report.md", "report.en.md"}
    write_reports(run_dir, lang="en")
    # report.md is English now; the Chinese one beside it; the first report.en.md is gone
    assert {p.name for p in run_dir.path.glob("report*.md")} == {"report.md", "report.zh.md"}
    en, zh = (run_dir.path / "report.md").read_text(), (run_dir.path / "report.zh.md").read_text()
    assert en != zh and re.search(r"[\u4e00-\u9fff]", zh) and not re.search(r"[\u4e00-\u9fff]", en)
