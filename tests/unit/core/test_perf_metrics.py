import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelverify.perf.metrics import RequestRecord, percentile, streaming_summary, summarise_ms


def test_percentile_matches_linear_interpolation() -> None:
    v = [1.0, 2.0, 3.0, 4.0]
    assert percentile(v, 50) == 2.5
    assert percentile(v, 0) == 1.0 and percentile(v, 100) == 4.0
    assert percentile(v, 90) == pytest.approx(3.7)


def test_tpot_uses_server_token_count() -> None:
    r = RequestRecord(
        test="t", index=0, ok=True, send_time=0, ttft_s=0.1, e2el_s=1.1, output_tokens=51
    )
    assert r.tpot_s == pytest.approx(0.02)
    assert (
        RequestRecord(
            test="t", index=0, ok=True, send_time=0, ttft_s=0.1, e2el_s=1.1, output_tokens=1
        ).tpot_s
        is None
    )


def test_streaming_summary_counts_errors_and_throughput() -> None:
    ok = RequestRecord(
        test="t",
        index=0,
        ok=True,
        send_time=0,
        ttft_s=0.1,
        e2el_s=1.0,
        output_tokens=10,
        prompt_tokens=5,
        itl_s=[0.1, 0.2],
    )
    bad = RequestRecord(
        test="t", index=1, ok=False, send_time=0, error="EndpointError: stream ended before [DONE]"
    )
    s = streaming_summary([ok, bad], wall_time_s=2.0)
    assert s.successes == 1 and s.errors == {"stream cut before [DONE]": 1}
    assert s.output_throughput == 5.0 and s.total_token_throughput == 7.5
    assert s.itl_ms.count == 2 and s.itl_ms.mean == pytest.approx(150.0)


@given(st.lists(st.floats(min_value=0, max_value=1e4, allow_nan=False), min_size=1, max_size=50))
def test_summary_is_ordered(values: list[float]) -> None:
    s = summarise_ms(values)
    assert s.min is not None and s.max is not None and s.median is not None and s.p90 is not None
    assert s.min <= s.median <= s.max
    assert s.min <= s.p90 <= s.max + 1e-9


def test_busy_throughput_counts_chunks_from_the_first_send_to_the_last() -> None:
    from modelverify.perf.metrics import RequestRecord, busy_output_throughput

    def rec(i: int, send: float, ttft: float, itl: list[float], tokens: int) -> RequestRecord:
        return RequestRecord(
            test="t",
            index=i,
            ok=True,
            send_time=send,
            ttft_s=ttft,
            e2el_s=ttft + sum(itl),
            itl_s=itl,
            output_tokens=tokens,
            output_chunks=len(itl) + 1,
        )

    # two slots: r0 arrives at 1, 2, 3 (two tokens a chunk); r1 at 0.5, 1.5; r2 is sent when
    # r1 ends (1.5) and arrives at 2.5, 3.5; r3 is sent when r0 ends (3) and arrives at 4.
    recs = [
        rec(0, 100.0, 1.0, [1.0, 1.0], 6),
        rec(1, 100.0, 0.5, [1.0], 2),
        rec(2, 101.5, 1.0, [1.0], 2),
        rec(3, 103.0, 1.0, [], 1),
    ]
    # window 100..103: r0 6 tokens + r1 2 + r2 1 (2.5; 3.5 is past the last send) = 9 in 3 s
    assert busy_output_throughput(recs) == pytest.approx(3.0)
    # one wave (every request sent at once) has no busy window to measure
    assert busy_output_throughput(recs[:2]) is None
    failed = RequestRecord(test="t", index=9, ok=False, send_time=104.0, error="HTTP 500")
    # a failed request's send still ends the window; it adds no tokens
    assert busy_output_throughput([*recs, failed]) == pytest.approx((9 + 1 + 1) / 4)
