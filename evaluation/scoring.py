"""Score a prediction source at a latency: the one path every FLAME report comes from.

Prediction files (:func:`flame.evaluation.predictions.evaluate_predictions`; ``flame-eval
--predictions`` through ``flame.apps.forecast``) and an engine's deployed accuracy
(``flame.apps.assess``) all call :func:`score`;
they differ only in where predictions and latency samples come from.

A :class:`Latency` is what k and the streaming simulation use: a fixed value
(zero for static scoring), or per-frame samples measured on an engine or read
from a ``flame-run`` report. Its :meth:`Latency.report` is the ``latency_ms``
block of every report, whatever the latency's source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from flame.core.choices import check_choice
from flame.core.latency import STATS, check_delay_ms, summarize
from flame.core.offsets import frame_offset
from flame.evaluation.datasets.base import SequenceDataset
from flame.evaluation.protocols import PredictionSource, evaluate, require_history
from flame.evaluation.report import evaluation_report

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Latency:
    """The latency a FLAME score is computed with.

    Attributes:
        samples_ms: per-frame samples (one value for a fixed latency).
        stat: the statistic k comes from (``p50``, ``mean``, ``p90``, ``p99``, ``max`` or ``fixed``).
        extra_ms: fixed camera/transport delay added to every sample.
        source: ``measured``, ``fixed`` or ``run report <path>``.
        forecast_ms: the measured cost of a forecast run on every output (its p50), added
            to every sample: FLAME charges for the forecast.
    """

    samples_ms: np.ndarray
    stat: str
    extra_ms: float = 0.0
    source: str = "measured"
    forecast_ms: float = 0.0

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

    def report(self) -> dict[str, Any]:
        """The ``latency_ms`` block of a report: mean/p50/p90/p99/max (of the samples), count, used,
        value (the statistic + extra_ms + forecast_ms), extra_ms, forecast_ms, source."""
        summary = self.summary
        return {**{k: summary[k] for k in STATS}, "count": summary["count"], "used": self.stat,
                "value": self.value_ms, "extra_ms": self.extra_ms, "forecast_ms": self.forecast_ms,
                "source": self.source}


def check_stat(stat: str) -> str:
    """``stat`` if it is one of :data:`flame.core.latency.STATS`; raises ConfigError on any other name."""
    return check_choice(stat, STATS, "latency statistic", "stat")


def check_extra(extra_ms: float) -> float:
    """``extra_ms`` as a float if it is a finite delay >= 0 (raises ConfigError otherwise)."""
    return check_delay_ms(extra_ms, "extra_ms")


def fixed_latency(latency_ms: float = 0.0, extra_ms: float = 0.0) -> Latency:
    """A constant latency (0 scores static accuracy: FLAME equals mIoU).

    Raises:
        ConfigError: on a negative or non-finite value.
    """
    return Latency(np.array([check_delay_ms(latency_ms, "latency_ms")]), "fixed", check_extra(extra_ms), "fixed")


def score(dataset: SequenceDataset, source: PredictionSource, latency: Latency, streaming: bool = True,
          offsets: list[int] | None = None, progress: Progress | None = None, k: int | None = None) -> dict[str, Any]:
    """Static mIoU, FLAME at the latency's k and streaming FLAME of ``source`` on ``dataset``.

    Args:
        dataset: the data set, with annotated frames.
        source: the predictions (files, or a predictor run on the frames).
        latency: what k and the streaming simulation use.
        streaming: also score streaming FLAME (replaying every latency sample).
        offsets: extra offsets to score (for the FLAME-vs-latency plot).
        progress: ``(done, total)`` callback.
        k: score FLAME at this offset instead of the latency's own (to compare
            several models of one network at that network's k, as the paper's Table 1).

    Returns:
        The report of :func:`flame.evaluation.report.evaluation_report`, its
        ``latency_ms`` the latency's :meth:`Latency.report`.

    Raises:
        DataError: when no annotated frame has the history k needs, or on bad data.
    """
    if k is None:
        k = frame_offset(latency.value_ms / 1000.0, dataset.fps)
    require_history(dataset, k, source.history)
    result = evaluate(dataset, source, sorted({0, k, *(offsets or [])}),
                      latency.streaming_samples_s.tolist() if streaming else None, progress)
    return evaluation_report(result, dataset, k, latency.report(), dataset.fps)
