"""Property tests that reach the rows: npu-smi tables and vLLM log lines generated from the
layout of recorded real ones (tests/data/npu_smi/06_910b4_npu2_no_version.txt, the weights /
KV-cache lines of tests/data/vllm_logs), parsed back to the values they were built from, then
mutated with hostile numbers and ids: a value or our ParseError, nothing else."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from modelverify.env.npu_smi import parse_npu_smi
from modelverify.errors import ParseError
from modelverify.serve.logparse import parse_vllm_log

# the borders and header rows of the recorded 910B4 table, verbatim
BORDER = "+---------------------------+---------------+----------------------------------------------------+"
HEAD = (
    "| NPU   Name                | Health        | Power(W)    Temp(C)           Hugepages-Usage(page)|\n"
    "| Chip                      | Bus-Id        | AICore(%)   Memory-Usage(MB)  HBM-Usage(MB)        |\n"
    "+===========================+===============+====================================================+"
)
RULE = "+===========================+===============+====================================================+"

power = st.decimals(0, 999, places=1, allow_nan=False).map(str)
small = st.integers(0, 10**6)


@st.composite
def device(draw: st.DrawFn) -> tuple[dict[str, object], str]:
    npu, chip = draw(st.integers(0, 63)), draw(st.integers(0, 7))
    pw, temp, aic = draw(power), draw(st.integers(0, 120)), draw(st.integers(0, 100))
    hu, ht, mu, mt, bu, bt = (draw(small) for _ in range(6))
    health = draw(st.sampled_from(["OK", "Warning", "Alarm"]))
    bus = f"0000:{draw(st.integers(0, 255)):02X}:00.0"
    row1 = f"| {npu:<5} 910B4               | {health:<13} | {pw:<11} {temp:<17} {hu} / {ht}"
    row2 = f"| {chip:<25} | {bus:<13} | {aic:<11} {mu} / {mt}  {bu} / {bt}"
    want = {
        "npu_id": npu,
        "chip_id": chip,
        "health": health,
        "power_w": float(pw),
        "temp_c": temp,
        "aicore_pct": aic,
        "hugepages_used_pages": hu,
        "hugepages_total_pages": ht,
        "memory_used_mb": mu,
        "memory_total_mb": mt,
        "hbm_used_mb": bu,
        "hbm_total_mb": bt,
        "bus_id": bus,
    }
    return want, f"{row1.ljust(98)}|\n{row2.ljust(98)}|\n{RULE}"


tables = st.lists(device(), min_size=1, max_size=6).map(
    lambda ds: ([w for w, _ in ds], "\n".join([BORDER, HEAD, *(t for _, t in ds)]) + "\n")
)


@settings(max_examples=150, deadline=None)
@given(tables)
def test_generated_npu_smi_tables_parse_back_to_their_values(
    table: tuple[list[dict[str, object]], str],
) -> None:
    want, text = table
    chips = parse_npu_smi(text).chips
    assert [c.model_dump(include=set(want[0])) for c in chips] == want


HOSTILE = ["inf", "1e400", "9" * 400, "²", "-", "NA", "1.2.3", "nan", "-6", "x" * 2000]


@settings(max_examples=150, deadline=None)
@given(tables, st.data())
def test_mutated_npu_smi_tables_give_values_or_our_error(
    table: tuple[list[dict[str, object]], str], data: st.DataObject
) -> None:
    _, text = table
    rows = text.split("\n")
    i = data.draw(st.integers(3, len(rows) - 2))  # a device row, never the header
    toks = rows[i].split()
    j = data.draw(st.integers(0, len(toks) - 1))
    toks[j] = data.draw(st.sampled_from(HOSTILE))
    rows[i] = " ".join(toks)
    with contextlib.suppress(ParseError):
        parse_npu_smi("\n".join(rows))


# real line shapes (tests/data/vllm_logs/cpu_v0.32.0_*.log and the Ascend excerpts)
@settings(max_examples=200, deadline=None)
@given(
    st.decimals(0, 10**4, places=2, allow_nan=False),
    st.integers(0, 10**9),
    st.sampled_from(["", "(EngineCore_DP0 pid=2716) ", "(VllmWorker TP1 pid=5537) "]),
)
def test_generated_log_lines_parse_back_to_their_values(
    secs: object, tokens: int, prefix: str
) -> None:
    text = (
        f"{prefix}INFO 12-01 10:00:00 [default_loader.py:267] Loading weights took {secs} seconds\n"
        f"{prefix}INFO 12-01 10:00:01 [kv_cache_utils.py:1087] GPU KV cache size: {tokens:,} tokens\n"
    )
    f = parse_vllm_log(text)
    assert f.timings.weights_loaded_s == float(str(secs))
    assert f.kv_cache_tokens == tokens
