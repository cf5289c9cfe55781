"""Medians and paired ratios of interleaved measurements.

Every section measures its contenders in rounds, one after the other
(A B C ... A B C ...), so that a burst of load from elsewhere on the machine
falls on all of them alike. A *paired ratio* divides two measurements of
the same round; its median over the rounds is much steadier than the ratio
of two medians when the machine is busy. :func:`percentile` is for the many
samples of a single measurement, such as the lag of each webhook delivery.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Ratio:
    """The paired ratios of one series to another: median, range and each round."""

    median: float
    low: float
    high: float
    rounds: list[float]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def median(samples: Sequence[float]) -> float:
    """Return the median of ``samples``."""
    return statistics.median(samples)


def paired_ratio(samples: Sequence[float], baseline: Sequence[float]) -> Ratio:
    """Return the per-round ratios ``samples[i] / baseline[i]`` and their median."""
    if len(samples) != len(baseline):
        raise ValueError("paired series must have one sample per round each")
    ratios = [value / base for value, base in zip(samples, baseline, strict=True)]
    return Ratio(statistics.median(ratios), min(ratios), max(ratios), ratios)


def percentile(samples: Sequence[float], percent: int) -> float:
    """Return the ``percent``-th percentile of ``samples``, between ranks linearly."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[percent - 1]
