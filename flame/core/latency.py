"""Latency: one summary for every report (flame-run, flame-eval) and the :class:`Latency` k comes from.

docs/metric.md, "Latency": keep every sample, report mean, p50, p90, p99 and max.
Both layers use :class:`Latency` (the runtime for a run's k, the metric for
FLAME), so it lives in the core, which neither layer's import rule forbids.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable, Sequence

import numpy as np

from flame.core.choices import check_choice
from flame.core.errors import ConfigError, param
from flame.core.offsets import frame_offset

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


def check_stat(stat: str) -> str:
    """``stat`` if it is one of :data:`STATS`; raises ConfigError on any other name."""
    return check_choice(stat, STATS, "latency statistic", "stat")


def check_extra(extra_ms: float) -> float:
    """``extra_ms`` as a float if it is a finite delay >= 0 (raises ConfigError otherwise)."""
    return check_delay_ms(extra_ms, "extra_ms")


#: The statistic of a forecast's measured per-call times charged to the latency.
FORECAST_CHARGE_STAT = "p50"


@dataclass(frozen=True)
class Latency:
    """The latency a FLAME score and a run's k are computed with: the one place k is decided.

    It owns the samples and the statistic k comes from, the fixed extra delay
    (camera, transport, actuation) and the forecast's charge; :meth:`k` gives
    the frame offset at a frame rate, :meth:`k_after` at uneven timestamps.

    Attributes:
        samples_ms: per-frame samples (one value for a fixed latency).
        stat: the statistic k comes from (``p50``, ``mean``, ``p90``, ``p99``, ``max`` or ``fixed``).
        extra_ms: fixed camera/transport delay added to every sample.
        source: ``measured``, ``fixed`` or ``run report <path>``.
        forecast_ms: the measured cost of a forecast run on every output (its p50, :meth:`charged`),
            added to every sample: FLAME charges for the forecast.
    """

    samples_ms: np.ndarray
    stat: str
    extra_ms: float = 0.0
    source: str = "measured"
    forecast_ms: float = 0.0

    @classmethod
    def fixed(cls, latency_ms: float = 0.0, extra_ms: float = 0.0) -> Latency:
        """A constant latency (0 scores static accuracy: FLAME equals mIoU).

        Raises:
            ConfigError: on a negative or non-finite value.
        """
        return cls(np.array([check_delay_ms(latency_ms, "latency_ms")]), "fixed", check_extra(extra_ms), "fixed")

    @classmethod
    def of_samples(cls, samples_ms: Iterable[float], stat: str = "p50", extra_ms: float = 0.0,
                   source: str = "measured") -> Latency:
        """Per-frame samples (measured, or read from a run report), the statistic and extra delay checked.

        Raises:
            ConfigError: on an unknown statistic or a bad extra delay.
        """
        return cls(np.asarray(samples_ms, np.float64).reshape(-1), check_stat(stat), check_extra(extra_ms), source)

    @property
    def summary(self) -> dict[str, Any]:
        """mean/p50/p90/p99/max of the samples (without the extra delay)."""
        return summarize(self.samples_ms)

    @property
    def value_ms(self) -> float:
        """The latency k is computed from: the chosen statistic plus the extra delay and the forecast."""
        base = float(self.samples_ms[0]) if self.stat == "fixed" else float(self.summary[self.stat])
        return base + self.extra_ms + self.forecast_ms

    @property
    def streaming_samples_s(self) -> np.ndarray:
        """Every sample plus the extra delay and the forecast, in seconds, for streaming FLAME."""
        return (self.samples_ms + self.extra_ms + self.forecast_ms) / 1000.0

    def k(self, fps: float) -> int:
        """Frames the world has moved on at ``fps`` when the output is ready: ceil(value * fps).

        Raises:
            ConfigError: on a non-positive frame rate.
        """
        return frame_offset(self.value_ms / 1000.0, fps)

    def k_after(self, timestamps_s: Sequence[float], index: int) -> int:
        """The offset of the frame current when frame ``index``'s output is ready, at uneven timestamps.

        The first frame at or after ``timestamps_s[index] + value`` (the last frame when the
        output is ready after it); at evenly spaced timestamps this is :meth:`k`.
        """
        times = np.asarray(timestamps_s, np.float64)
        ready = times[index] + self.value_ms / 1000.0
        tolerance = 1e-9 * max(1.0, abs(ready))  # the same rounding allowance as frame_offset
        later = np.nonzero(times[index:] >= ready - tolerance)[0]
        return int(later[0]) if later.size else len(times) - 1 - index

    def charged(self, cost_ms: np.ndarray) -> Latency:
        """This latency with a forecast's cost charged: its :data:`FORECAST_CHARGE_STAT` of the per-call
        times (nothing for no times: no forecast)."""
        cost = np.asarray(cost_ms, np.float64)
        charge = float(summarize(cost)[FORECAST_CHARGE_STAT]) if cost.size else 0.0
        return replace(self, forecast_ms=charge)

    def scaled(self, scale: float) -> Latency:
        """Every sample multiplied by ``scale`` (what-if: a device X times as slow); the extra delay unchanged."""
        if scale == 1.0:
            return self
        return replace(self, samples_ms=self.samples_ms * scale, source=f"{self.source} x {scale:g}")

    def report(self) -> dict[str, Any]:
        """The ``latency_ms`` block of a report: mean/p50/p90/p99/max (of the samples), count, used,
        value (the statistic + extra_ms + forecast_ms), extra_ms, forecast_ms, source."""
        summary = self.summary
        return {**{k: summary[k] for k in STATS}, "count": summary["count"], "used": self.stat,
                "value": self.value_ms, "extra_ms": self.extra_ms, "forecast_ms": self.forecast_ms,
                "source": self.source}
