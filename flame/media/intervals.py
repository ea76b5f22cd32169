"""Measured frame intervals of footage, and the gaps in it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: An interval longer than this many times the median one is a gap (a dropped frame or more).
GAP_FACTOR = 1.5


@dataclass(frozen=True)
class IntervalStats:
    """The intervals between consecutive frame times.

    Attributes:
        count: intervals measured (frames - 1).
        mean_ms, p50_ms, p90_ms, max_ms: their statistics in milliseconds.
        gaps: ``(index of the frame after the gap, interval in ms)`` for every interval longer than
            :data:`GAP_FACTOR` times the median.
    """

    count: int
    mean_ms: float
    p50_ms: float
    p90_ms: float
    max_ms: float
    gaps: tuple[tuple[int, float], ...] = ()

    @property
    def fps(self) -> float:
        """The measured frame rate: one over the median interval (0 when unknown)."""
        return 1000.0 / self.p50_ms if self.p50_ms > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The ``intervals`` block of a report."""
        data = asdict(self)
        data["gaps"] = [{"frame": index, "ms": ms} for index, ms in self.gaps]
        data["fps"] = self.fps
        return data

    def describe(self) -> str:
        """One line: ``interval p50 33.3 ms (30.0 fps), p90 34.1, max 100.0; 1 gap``."""
        gaps = f"; {len(self.gaps)} gap{'s' if len(self.gaps) != 1 else ''}" if self.gaps else "; no gaps"
        if self.gaps:
            first = ", ".join(f"{ms:.0f} ms before frame {index}" for index, ms in self.gaps[:3])
            gaps += f" ({first}{', ...' if len(self.gaps) > 3 else ''})"
        return (f"frame interval p50 {self.p50_ms:.1f} ms ({self.fps:.2f} fps), p90 {self.p90_ms:.1f}, "
                f"max {self.max_ms:.1f}{gaps}")


def interval_stats(timestamps: np.ndarray) -> IntervalStats:
    """Statistics of the intervals between consecutive ``timestamps`` (seconds, non-decreasing)."""
    times = np.asarray(timestamps, dtype=np.float64).ravel()
    intervals = np.diff(times) * 1000.0
    if intervals.size == 0:
        return IntervalStats(0, 0.0, 0.0, 0.0, 0.0)
    median = float(np.median(intervals))
    gaps = tuple((int(i) + 1, float(intervals[i])) for i in np.flatnonzero(intervals > GAP_FACTOR * median))
    return IntervalStats(int(intervals.size), float(intervals.mean()), median,
                         float(np.percentile(intervals, 90)), float(intervals.max()), gaps)
