"""The statistics a comparison needs: Wilson intervals, the exact McNemar test, percentiles."""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

Z95 = 1.959963984540054


def wilson(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion (sound at 0, n and small n)."""
    if n == 0:
        return (0.0, 1.0)
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def mcnemar_p(fixed: int, broke: int) -> float:
    """Exact two-sided McNemar p-value: the discordant pairs against Binomial(b + c, 1/2)."""
    n = fixed + broke
    if n == 0:
        return 1.0
    k = min(fixed, broke)
    # Exact in integers, then one division: floats would overflow past ~1000 pairs.
    tail = float(Fraction(sum(math.comb(n, i) for i in range(k + 1)), 1 << n))
    return min(1.0, 2 * tail)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100), linear between closest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def paired_difference(a: Sequence[bool], b: Sequence[bool]) -> tuple[float, float, float]:
    """Mean of a - b over paired items with a 95% normal interval (points as fractions)."""
    n = len(a)
    if n == 0:
        return (0.0, 0.0, 0.0)
    diffs = [int(x) - int(y) for x, y in zip(a, b, strict=True)]
    mean = sum(diffs) / n
    var = sum((d - mean) ** 2 for d in diffs) / (n - 1) if n > 1 else 0.0
    half = Z95 * math.sqrt(var / n)
    # A difference of two proportions lies in [-1, 1]; the normal interval can overshoot.
    return (mean, max(-1.0, mean - half), min(1.0, mean + half))
