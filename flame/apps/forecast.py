"""Forecasting composed with a prediction source, for scoring (flame-eval, flame-bench, flame-demo).

``flame.evaluation`` knows predictions, ``flame.runtime`` knows forecasters;
neither imports the other, so they meet here. A :class:`ForecastSource` wraps
any prediction source (a predictor, an engine, prediction files): the labels
predicted from frame i are forecast from i's time to the time of the frame j
they are scored against (FLAME at k: j = i + k; streaming FLAME: the frame
that uses the output), with the flow between frame i and the source frame
before it. Its cost, measured here, is added to the latency k comes from
(:func:`forecast_cost_ms`), so FLAME charges for it.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Sequence as TypingSequence

import cv2
import numpy as np

from flame.core.errors import DataError
from flame.core.latency import summarize
from flame.evaluation.report import EvalReport
from flame.evaluation.datasets.base import Sequence, SequenceDataset
from flame.evaluation.predictions import PredictionFiles
from flame.evaluation.protocols import PredictionSource
from flame.evaluation.scoring import Latency, Progress, score
from flame.runtime.forecast import ForecastCalls, Forecaster, make_forecaster


class ForecastSource(PredictionSource):
    """A prediction source whose labels are forecast to the time they are scored at.

    Args:
        base: where the labels of each frame come from.
        forecaster: from :func:`flame.runtime.forecast.make_forecaster`.
        keep: base predictions kept for reuse (each is forecast to several targets).
    """

    per_target = True

    def __init__(self, base: PredictionSource, forecaster: Forecaster, keep: int = 16) -> None:
        self.base = base
        self.window = base.window
        self.forecaster = forecaster
        self._calls = ForecastCalls(forecaster)
        self._kept: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._keep = keep

    @property
    def fallbacks(self) -> int:
        """Forecasts made without an earlier frame (the first frame of a sequence)."""
        return self._calls.fallbacks

    @property
    def history(self) -> int:
        return self.base.history

    def check_available(self, needed: dict[str, tuple[Sequence, set[int]]]) -> None:
        self.base.check_available(needed)

    def predict(self, sequence: Sequence, index: int) -> np.ndarray:
        return self.predict_for(sequence, index, index)

    def _base(self, sequence: Sequence, index: int) -> np.ndarray:
        key = (sequence.name, index)
        if key in self._kept:
            self._kept.move_to_end(key)
            return self._kept[key]
        labels = self.base.predict(sequence, index)
        self._kept[key] = labels
        if len(self._kept) > self._keep:
            self._kept.popitem(last=False)
        return labels

    def predict_for(self, sequence: Sequence, index: int, target: int) -> np.ndarray:
        labels = self._base(sequence, index)
        if target == index:
            return labels
        times = sequence.timestamps()
        return self._calls(labels, *_frame_pair(sequence, index, labels), float(times[target] - times[index]))


def _frame_pair(sequence: Sequence, index: int, labels: np.ndarray) -> tuple[Any, float, Any, float]:
    """Frame ``index`` and the one before it (None for the first) with their times, at the labels' size
    (predictions are scored there): the frames a :class:`ForecastCalls` call takes."""
    times = sequence.timestamps()
    previous = _at(sequence.frame(index - 1), labels) if index >= 1 else None
    return (_at(sequence.frame(index), labels), float(times[index]), previous,
            float(times[index - 1]) if index >= 1 else 0.0)


def _at(image: np.ndarray | None, labels: np.ndarray) -> np.ndarray | None:
    """The frame at the labels' size (predictions are scored at the label size)."""
    if image is None or image.shape[:2] == labels.shape[:2]:
        return image
    return cv2.resize(image, (labels.shape[1], labels.shape[0]), interpolation=cv2.INTER_AREA)


def forecast_cost_ms(forecaster: Forecaster, dataset: SequenceDataset, samples: int = 20,
                     warmup: int = 2) -> np.ndarray:
    """Per-call time of ``forecaster`` on this machine, on the data set's annotated frames.

    Each call forecasts an annotated frame's ground truth (the stand-in for a
    prediction: same size, same objects) one frame interval ahead from that
    frame and the one before it.

    Raises:
        DataError: when no annotated frame has a frame before it.
    """
    pairs = [(seq, j) for seq in dataset.sequences for j in seq.annotated if j >= 1]
    if not pairs:
        raise DataError(f"data set {dataset.name} has no annotated frame after a first frame to time "
                        "the forecast on")
    times_ms = []
    calls = ForecastCalls(forecaster)
    for n in range(warmup + samples):
        seq, j = pairs[n % len(pairs)]
        labels = seq.label(j)
        image, image_s, previous, previous_s = _frame_pair(seq, j, labels)
        start = time.perf_counter_ns()
        calls(labels, image, image_s, previous, previous_s, image_s - previous_s)  # one frame interval ahead
        if n >= warmup:
            times_ms.append((time.perf_counter_ns() - start) / 1e6)
    return np.asarray(times_ms, np.float64)


@dataclass(frozen=True)
class Forecasting:
    """A forecast method ready for scoring: the forecaster and what it costs here.

    It holds no state of a scoring run: :meth:`wrap` makes a new source each time
    and :meth:`report` is told that source's fallbacks, so one plan serves many
    runs (the bench's rows) in any order.

    Attributes:
        method: the registry name (``none``, ``flow``).
        forecaster: the forecaster (None for ``none``).
        cost_ms: its per-call times on this machine (empty for ``none``).
    """

    method: str
    forecaster: Forecaster | None = None
    cost_ms: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def charge(self, latency: Latency) -> Latency:
        """``latency`` with the forecast's measured cost charged (:meth:`Latency.charged`)."""
        return latency.charged(self.cost_ms)

    def wrap(self, source: PredictionSource) -> PredictionSource:
        """``source`` with its predictions forecast to the frame they are scored at."""
        if self.forecaster is None:
            return source
        return ForecastSource(source, self.forecaster)

    def report(self, fallbacks: int = 0) -> dict[str, Any]:
        """The ``forecast`` block of a report: method, measured cost, and ``fallbacks`` (frames of the
        scoring run forecast without an earlier frame)."""
        return {"method": self.method, "cost_ms": summarize(self.cost_ms), "fallbacks": fallbacks}


def forecasting(method: str, class_names: TypingSequence[str], dataset: SequenceDataset) -> Forecasting:
    """Make the forecaster ``method`` names and time it on ``dataset`` (nothing to time for ``none``).

    Raises:
        ConfigError: on an unknown method.
        DataError: when the data set has no frame pair to time it on.
    """
    forecaster = make_forecaster(method, class_names)
    if method == "none":
        return Forecasting(method)
    return Forecasting(method, forecaster, forecast_cost_ms(forecaster, dataset))


def score_forecast(dataset: SequenceDataset, source: PredictionSource, latency: Latency, plan: Forecasting,
                   streaming: bool = True, offsets: list[int] | None = None, progress: Progress | None = None,
                   k: int | None = None) -> EvalReport:
    """:func:`flame.evaluation.scoring.score` with the forecast: its cost charged, its labels scored.

    The report gets ``forecast`` (:meth:`Forecasting.report`); its
    ``latency_ms`` shows the forecast's part (``forecast_ms``) beside the rest.
    """
    wrapped = plan.wrap(source)
    report = score(dataset, wrapped, plan.charge(latency), streaming, offsets, progress, k)
    report.forecast = plan.report(wrapped.fallbacks if isinstance(wrapped, ForecastSource) else 0)
    return report


def forecast_predictions(dataset: SequenceDataset, root: str | os.PathLike, latency: Latency, method: str,
                         streaming: bool = True, label_ids: bool = False,
                         progress: Progress | None = None) -> EvalReport:
    """``flame-eval --predictions --forecast``: prediction files forecast to when they are used."""
    plan = forecasting(method, dataset.class_names, dataset)
    report = score_forecast(dataset, PredictionFiles(root, label_ids=label_ids), latency, plan, streaming,
                            progress=progress)
    report.predictions = str(root)
    return report
