"""Confidence intervals for accuracy, with the standard library only."""

from __future__ import annotations

import math
from statistics import NormalDist


def z_value(confidence: float = 0.95) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (stays inside [0, 1], sane at 0 and n)."""
    if n <= 0:
        return 0.0, 1.0
    z = z_value(confidence)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def sample_size_for_half_width(p: float, half_width: float = 0.02, confidence: float = 0.95) -> int:
    """Items needed for a ±``half_width`` interval at accuracy ``p`` (normal approximation)."""
    z = z_value(confidence)
    p = min(max(p, 0.0), 1.0)
    var = max(p * (1 - p), 1e-4)
    return math.ceil(z * z * var / (half_width * half_width))


def reference_within(low: float, high: float, reference: float, tolerance: float = 0.0) -> bool:
    return low - tolerance <= reference <= high + tolerance


__all__ = ["reference_within", "sample_size_for_half_width", "wilson_interval", "z_value"]
