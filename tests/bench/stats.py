"""Small statistics for timings: medians, geometric means, ratios."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence


def median(values: Sequence[float]) -> float:
    """The median of ``values``; NaN when there are none."""
    return statistics.median(values) if values else math.nan


def geomean(values: Iterable[float]) -> float:
    """The geometric mean of positive ``values``; NaN when there are none or one is not positive."""
    items = list(values)
    if not items or any(not value > 0 for value in items):
        return math.nan
    return math.exp(sum(math.log(value) for value in items) / len(items))


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, NaN when either is missing or the denominator is 0."""
    if math.isnan(numerator) or math.isnan(denominator) or denominator == 0:
        return math.nan
    return numerator / denominator


def fmt(value: float | None, digits: int = 1) -> str:
    """A number for the table, ``-`` for a missing one."""
    if value is None or math.isnan(value):
        return "-"
    if math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}"
