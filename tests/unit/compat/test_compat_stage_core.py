"""The compat stage on a recorded Ascend host: the matrix decides, HBM sizes the cache."""

from __future__ import annotations

from pathlib import Path

from modelverify.compat.stage import check_kv, run_compat
from modelverify.env.npu_smi import parse_npu_smi
from modelverify.results import Status

DATA = Path(__file__).resolve().parents[2] / "data"


def test_qwen3_moe_on_recorded_910b2c(shared_dir: Path) -> None:
    # A 910B2C host (64 GiB HBM per chip, tab A2/A3), recorded in tests/data/npu_smi; the model
    # config is read from ../shared/samples (not copied, per its README).
    table = (DATA / "npu_smi" / "07_910b2c_16npu_two_digit_ids_24.1.0.txt").read_text()
    info = parse_npu_smi(table)
    env = {"platform": "npu", "npu": {"info": info.model_dump(mode="json")}}
    res = run_compat(
        shared_dir / "samples" / "models" / "qwen3-30b-a3b",
        env=env,
        engine_args=["--tensor-parallel-size", "2", "--max-model-len", "32768"],
    )
    assert res.platform == "npu" and res.matrix_decides
    assert res.device_name == info.chips[0].name
    assert res.device_memory_bytes == (info.chips[0].hbm_total_mb or 0) * 1024 * 1024
    assert res.matrix is not None and res.matrix.deciding is not None
    assert (res.matrix.deciding.model, res.matrix.deciding.support) == (
        "Qwen3-30B-A3B",
        "supported",
    )
    assert res.kv is not None and res.kv.per_token_bytes == 49_152  # 4 KV heads / TP 2
    assert res.memory is not None and res.memory.fits
    feats = {f.feature: f for f in res.features}
    assert feats["graph mode"].value == "PIECEWISE (ACL Graph)"
    assert feats["graph mode"].status == Status.PASS  # matrix column Piecewise AclGraph ✅
    assert feats["tensor parallel"].status == Status.PASS
    # the config-only folder has no tokenizer: an honest warning, not a pass
    assert res.status == Status.WARN and "tokenizer" in res.reason


def test_kv_check_error_percent() -> None:
    from modelverify.compat.kvcache import MemoryFit
    from modelverify.compat.stage import CompatResult

    res = CompatResult(
        memory=MemoryFit(
            platform="cpu",
            budget_bytes=1,
            budget_source="",
            block_size=128,
            max_model_len=1,
            predicted_kv_tokens=101_000,
        )
    )
    chk = check_kv(res, 100_000)
    assert chk is not None and chk.error_pct == 1.0
    assert check_kv(res, None) is None
