"""Latency statistics: one summary for every report (flame-run, flame-eval).

docs/metric.md, "Latency": keep every sample, report mean, p50, p90, p99 and max.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from flame.core.errors import ConfigError, param

#: The statistics every summary carries, in display order.
STATS = ("mean", "p50", "p90", "p99", "max")



def summarize(samples_ms: Iterable[float]) -> dict[str, float | int | None]:
    """Summarise latency samples in milliseconds.

    Args:
        samples_ms: the samples (any iterable of numbers; NaNs are not allowed).

    Returns:
        ``{"count", "mean", "p50", "p90", "p99", "max", "min"}``; with no
        samples ``count`` is 0 and every statistic is None.

    Raises:
        ConfigError: when a sample is negative or not finite.
    """
    values = np.asarray(list(samples_ms) if not isinstance(samples_ms, np.ndarray) else samples_ms, dtype=np.float64)
    values = values.reshape(-1)
    if values.size == 0:
        return {"count": 0, **{k: None for k in STATS}, "min": None}
    if not np.all(np.isfinite(values)) or values.min() < 0:
        raise ConfigError(f"latency samples must be finite and >= 0 ms, found min {values.min()!r}")
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {
        "count": int(values.size),
        "mean": float(values.mean()),
        "p50": float(p50),
        "p90": float(p90),
        "p99": float(p99),
        "max": float(values.max()),
        "min": float(values.min()),
    }


def check_delay_ms(value: float, parameter: str) -> float:
    """``value`` as a float if it is a finite delay >= 0 ms (a fixed latency, a camera's extra delay).

    Raises:
        ConfigError: naming ``parameter``, on a negative or non-finite value.
    """
    if not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
        raise ConfigError(f"expected {param(parameter)} >= 0 ms, found {value!r}")
    return float(value)
