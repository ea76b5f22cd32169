"""Streaming simulation: one engine on a real-time stream (docs/metric.md, "Streaming FLAME").

Frames arrive at their timestamps. The engine, whenever it becomes free,
takes the newest frame that has arrived (older unprocessed frames are
dropped) and runs for the next measured latency. For ground-truth frame j the
robot holds the newest output finished at or before t_j.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from flame.core.errors import ConfigError

# Timestamps and latencies are floats in seconds: an output finishing within
# a nanosecond of t_j is in time for it (l = d gives k = 1, as FLAME does).
EPS = 1e-9


@dataclass(frozen=True)
class Job:
    """One engine run: which frame, when it started and finished (seconds)."""

    frame: int
    start: float
    finish: float


class LatencyCycle:
    """Hands out measured latencies in order, cycling when they run out.

    Args:
        latencies_s: per-frame latencies in seconds (all >= 0).

    Raises:
        ConfigError: when empty or holding a negative or non-finite value.
    """

    def __init__(self, latencies_s: Sequence[float]) -> None:
        values = np.asarray(latencies_s, dtype=np.float64).ravel()
        if values.size == 0:
            raise ConfigError("streaming FLAME needs at least one latency sample")
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ConfigError(
                f"latency samples must be finite seconds >= 0, found min {values.min()!r}"
            )
        self.values = values
        self._next = 0

    def __iter__(self) -> Iterator[float]:
        return self

    def __next__(self) -> float:
        value = float(self.values[self._next % self.values.size])
        self._next += 1
        return value


def schedule(timestamps: np.ndarray, latencies: Iterator[float], first: int = 0,
             until: float | None = None) -> list[Job]:
    """Simulate one engine over a sequence.

    Args:
        timestamps: arrival time of each frame (seconds, non-decreasing).
        latencies: iterator of per-run latencies in seconds.
        first: the first frame with enough history for the model (T - 1
            for a window of T consecutive frames); the engine starts with it.
        until: stop once a run would start after this time.

    Returns:
        The runs in order.
    """
    times = np.asarray(timestamps, dtype=np.float64)
    jobs: list[Job] = []
    free = -np.inf
    last = -1
    while True:
        newest = bisect.bisect_right(times, free + EPS) - 1
        if newest > last and newest >= first:
            frame, start = newest, free
        else:
            frame = max(last + 1, first)
            if frame >= times.size:
                break
            start = float(times[frame])
        if until is not None and start > until + EPS:
            break
        finish = start + next(latencies)
        jobs.append(Job(frame, start, finish))
        last, free = frame, finish
    return jobs


def assign(timestamps: np.ndarray, jobs: Sequence[Job], targets: Sequence[int]) -> dict[int, int | None]:
    """For each ground-truth frame, the frame whose output the robot holds at t_j.

    Returns:
        ``{j: source frame index, or None when no output had finished}``.
    """
    finishes = [job.finish for job in jobs]
    out: dict[int, int | None] = {}
    for j in targets:
        done = bisect.bisect_right(finishes, float(timestamps[j]) + EPS) - 1
        out[j] = jobs[done].frame if done >= 0 else None
    return out
