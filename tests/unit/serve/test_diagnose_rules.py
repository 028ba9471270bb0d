"""Each diagnosis rule on a real error line (fires) and on a real near-miss log (does not fire);
and V0's KV-cache block line in every spelling real logs use. Sources: tests/data/vllm_logs/*.source.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from modelverify.serve.diagnose import diagnose
from modelverify.serve.logparse import parse_vllm_log

DATA = Path(__file__).resolve().parents[2] / "data" / "vllm_logs"


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8", errors="replace")


def rule_of(text: str) -> str | None:
    d = diagnose(text)
    return d.id if d else None


@pytest.mark.parametrize(
    ("name", "blocks"),
    [
        ("vllm_pr12676_v0.7_V0_cuda_upper_blocks.excerpt.log", (30218, 3819)),
        ("vllm_pr14842_v0.8_V0_cuda_lower_blocks.excerpt.log", (4739, 859)),
        ("ascend_issue397_v0.7.3rc1_V0_npu_blocks_hccl_fail.excerpt.log", (3915, 910)),
        ("ascend_issue1425_v0.9.1_V0_npu_blocks.excerpt.log", (466, 1820)),
        ("v0.4-era_V0_cuda_tp2_ray_gpu_blocks_ok.log", (11351, 4096)),
    ],
)
def test_v0_block_line_in_every_published_spelling(name: str, blocks: tuple[int, int]) -> None:
    f = parse_vllm_log(read(name))
    assert (f.gpu_blocks, f.cpu_blocks) == blocks


@pytest.mark.parametrize(
    ("name", "rule", "cause"),
    [
        (
            "vllm_issue5244_v0.4.3_trust_remote_code_fail.excerpt.log",
            "trust_remote_code",
            "requires you to execute the configuration file",
        ),
        (
            "vllm_issue29849_v0.11.2_chat_template_error.excerpt.log",
            "chat_template_missing",
            "default chat template is no longer allowed",
        ),
        (
            "transformers_tokenizer_missing_fail.excerpt.log",
            "tokenizer_missing",
            "Can't load tokenizer for '/qwen2llama'",
        ),
        (
            "vllm_issue7514_v0.6.1_port_in_use_fail.excerpt.log",
            "port_in_use",
            "[Errno 98] Address already in use",
        ),
        (
            "ascend_issue1440_libascend_hal_fail.excerpt.log",
            "cann_not_sourced",
            "Failed to load the backend extension: torch_npu",
        ),
        (
            "ascend_issue5707_no_cache_blocks_fail.excerpt.log",
            "no_cache_blocks",
            "No available memory for the cache blocks",
        ),
        (
            "vllm_issue14095_cuda_oom_fail.excerpt.log",
            "device_oom",
            "torch.OutOfMemoryError: CUDA out of memory",
        ),
        # 507013 with the CANN code EL0004 under it: memory, so device_oom (the only published
        # 507013 start-up failures found all carry EL0004)
        (
            "ascend_v0.11.0rc3_310p_tp2_507013_EL0004_fail.excerpt.log",
            "device_oom",
            "error code is 507013",
        ),
        # 507013 whose CANN codes are only EI9999/EH9999: the 507013 rule itself
        (
            "ascend_pytorch_issue49_507013_no_EL0004_fail.excerpt.log",
            "ascend_507013",
            "error code is 507013 (EI9999: Memory async copy failed",
        ),
    ],
)
def test_rule_fires_on_the_real_error(name: str, rule: str, cause: str) -> None:
    d = diagnose(read(name))
    assert d is not None and d.id == rule
    assert cause in (d.root_cause or "")
    assert d.excerpt


@pytest.mark.parametrize(
    ("name", "not_rule"),
    [
        # trust_remote_code=True already in the config; the cause is a pickling error
        ("vllm_pr14921_v0.7.4_V0_tp_remote_config_pickle_fail.excerpt.log", "trust_remote_code"),
        ("vllm_pr14921_v0.7.4_V0_tp_remote_config_pickle_fail.excerpt.log", "tokenizer_missing"),
        (
            "vllm_pr14921_v0.7.4_V0_tp_remote_config_pickle_fail.excerpt.log",
            "chat_template_missing",
        ),
        # ASCEND_HOME_PATH in the environment dump; the cause is an HCCL init failure
        ("ascend_issue397_v0.7.3rc1_V0_npu_blocks_hccl_fail.excerpt.log", "cann_not_sourced"),
        # 507013 in the log, but the CANN code says memory
        ("ascend_v0.11.0rc3_310p_tp2_507013_EL0004_fail.excerpt.log", "ascend_507013"),
        # a KV-cache failure of another kind: the cache exists but is too small
        ("cpu_v0.32.0_kv_cache_too_small_fail.log", "no_cache_blocks"),
        ("cpu_v0.32.0_kv_cache_too_small_fail.log", "device_oom"),
        ("cpu_v0.32.0_kv_cache_too_small_fail.log", "port_in_use"),
        # no cache blocks is not the device running out of memory
        ("ascend_issue5707_no_cache_blocks_fail.excerpt.log", "device_oom"),
        # a DMA copy error (507013) with no EL0004 is not a memory failure
        ("ascend_pytorch_issue49_507013_no_EL0004_fail.excerpt.log", "device_oom"),
    ],
)
def test_rule_does_not_fire_on_a_near_miss(name: str, not_rule: str) -> None:
    text = read(name)
    assert not parse_vllm_log(text).startup_complete
    assert rule_of(text) != not_rule


def test_a_remote_code_config_that_fails_otherwise_gets_no_advice() -> None:
    # before the fix: "add --trust-remote-code" to a run that already had it
    assert rule_of(read("vllm_pr14921_v0.7.4_V0_tp_remote_config_pickle_fail.excerpt.log")) is None


def test_chat_template_mentions_in_an_unfinished_start_up_get_no_advice(shared_dir: Path) -> None:
    # a real vllm-ascend start-up log cut before "Application startup complete" (as a launch that
    # timed out would leave it): its args line says chat_template=None, chat_template_content_format
    log = shared_dir / "samples" / "vllm_logs" / "10_v0.7.4.dev360_V1_npu_qwen2.5-7b_ok.log"
    lines = log.read_text(encoding="utf-8").splitlines()
    cut = next(i for i, x in enumerate(lines) if "Application startup complete" in x)
    text = "\n".join(lines[:cut])
    assert "chat_template=None" in text
    assert rule_of(text) != "chat_template_missing"


def test_an_inner_error_header_is_not_the_cann_reason() -> None:
    # before: "... error code is 507013 (EI9999: Inner Error!)", which says nothing
    d = diagnose(read("ascend_pytorch_issue49_507013_no_EL0004_fail.excerpt.log"))
    assert d is not None and d.root_cause is not None
    assert "Inner Error" not in d.root_cause
    assert "2024-09-04" not in d.root_cause  # CANN's timestamp is not part of the reason


def test_a_rank_prefixed_traceback_names_its_exception() -> None:
    # every line "[rank0]: ...", a Ray raylet line in the middle; before: no root cause at all
    text = read("ascend_issue1713_V0_ray_tp8_pp2_rank0_keyerror_fail.excerpt.log")
    f = parse_vllm_log(text)
    assert f.fatal_error == "KeyError: 'model.layers.0.self_attn.q_a_proj.weight'"
    d = diagnose(text, f)
    assert d is not None and d.id == "unknown" and d.root_cause == f.fatal_error
