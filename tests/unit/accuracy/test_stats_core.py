import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelverify.accuracy.stats import sample_size_for_half_width, wilson_interval


def test_wilson_matches_hand_computation_for_the_seed() -> None:
    # 142/200 = 71%: z = 1.959964, z² = 3.841459, denom = 1 + z²/200 = 1.0192073;
    # centre = (0.71 + z²/400) / denom = 0.7196036 / 1.0192073 = 0.706042;
    # half = z·sqrt(0.71·0.29/200 + z²/160000) / denom = 1.959964·0.0324578 / 1.0192073 = 0.062417
    low, high = wilson_interval(142, 200)
    assert low == pytest.approx(0.643625, abs=2e-6) and high == pytest.approx(0.768459, abs=2e-6)
    # The "±6.3 points" is the normal (Wald) interval: 1.96·sqrt(.71·.29/200) = 0.0629.
    assert (high - low) / 2 == pytest.approx(0.062417, abs=2e-6)


def test_sample_size_for_two_points() -> None:
    # z²·p(1−p)/0.02² = 3.8415·0.2059/0.0004 = 1977.4 -> 1978
    assert sample_size_for_half_width(0.71, 0.02) == 1978


@given(st.integers(0, 2000), st.integers(1, 2000))
def test_interval_is_inside_unit_and_contains_p(k: int, n: int) -> None:
    k = min(k, n)
    low, high = wilson_interval(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0
