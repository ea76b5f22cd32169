"""Deployed accuracy: an engine's real delay, scored with FLAME.

This module composes the layers (``flame.runtime`` measures, ``flame.evaluation``
scores), which is why it sits at the top of the package rather than in
either: the two layers never import each other (docs/architecture.md).

Latency comes from one of three places:

* measured here (default): warm-up, then per-frame latency of the engine on
  the data set's own frames through :class:`flame.runtime.stream.Stream`, the
  loop ``flame-run`` uses (resize, engine, labels in host memory);
* a fixed value (``--latency MS``), to reproduce a figure from other hardware;
* a ``flame-run`` report (``--latency-from RUN.json``), e.g. made on the robot.

k = ceil(latency * fps) from the chosen statistic (p50 by default) plus an
optional fixed camera/transport delay; streaming FLAME replays every sample.
Scoring itself is :func:`flame.evaluation.scoring.score`, the path
``flame-eval --predictions`` takes too; this module adds the engine.
"""

from __future__ import annotations

import itertools
import os
from typing import Any, Callable, Iterator

import numpy as np

from flame.core.card import ModelCard, card_differences
from flame.core.errors import ConfigError, DataError, param
from flame.evaluation.report import EvalReport
from flame.evaluation.datasets import SequenceDataset
from flame.evaluation.protocols import PredictorSource
from flame.apps.forecast import Forecasting, forecasting, score_forecast
from flame.core.latency import Latency, check_stat
from flame.evaluation.scoring import Progress, fixed_latency
from flame.runtime.engines import Engine
from flame.runtime.file_sources import ArraySource
from flame.runtime.machine import machine_info
from flame.runtime.run_report import RunReport
from flame.runtime.stream import Stream

def latency_from_report(path: str | os.PathLike, stat: str = "p50", extra_ms: float = 0.0,
                        card: ModelCard | None = None, force: bool = False) -> Latency:
    """The per-frame latencies of a ``flame-run`` report.

    Args:
        path: the report.
        stat, extra_ms: as for :class:`Latency`.
        card: the card of the model to be scored; a report measured on a model that
            computes something else (architecture, window, input size, classes: another
            latency) is refused unless ``force``.
        force: use the report's latencies whatever model they were measured on.

    Raises:
        DataError: when the file is not a run report or holds no frame.
        ConfigError: on an unknown statistic, a negative extra delay, or a report
            made with another model (without ``force``).
    """
    report = RunReport.read(path)
    if card is not None and isinstance(report.card, dict) and not force:
        differences = card_differences(report.card, card)
        if differences:
            said = "; ".join(f"{key.replace('_', ' ')} {theirs} there, {ours} here" for key, theirs, ours in differences)
            raise ConfigError(f"run report {path} was measured on another model ({said}), so its latencies "
                              f"are not this engine's; pass {param('force')} to use them anyway", parameter="latency_from")
    return Latency.of_samples(report.latency_samples_ms(), stat, extra_ms, f"run report {path}")


def dataset_frames(dataset: SequenceDataset) -> Iterator[np.ndarray]:
    """Every frame of the data set, sequence after sequence, read lazily."""
    for seq in dataset.sequences:
        for index in range(seq.num_frames):
            yield seq.frame(index)


def measure_latency(engine: Engine, dataset: SequenceDataset, samples: int = 50, warmup: int = 5,
                    stat: str = "p50", extra_ms: float = 0.0) -> Latency:
    """Per-frame latency of ``engine`` on the data set's frames through flame-run's loop.

    Frames are streamed offline (every frame, no pacing), so each sample is
    the time from the frame in host memory to its label map in host memory.

    Args:
        engine: the loaded engine.
        dataset: the frames to run on (the first ``samples`` frames, cycling if needed).
        samples: number of measured frames.
        warmup: engine calls before measuring.
        stat: statistic k is computed from.
        extra_ms: camera/transport delay to add.

    Raises:
        ConfigError: on fewer than one sample, a bad statistic or extra delay.
        DataError: when the data set has no frames.
    """
    check_stat(stat)
    if samples < 1:
        raise ConfigError(f"expected at least one latency sample, found {samples}")
    if not any(seq.num_frames for seq in dataset.sequences):
        raise DataError(f"data set {dataset.name} has no frames to measure latency on")
    frames = itertools.islice(itertools.cycle(dataset_frames(dataset)), samples)
    source = ArraySource(frames, dataset.fps, name=f"frames of {dataset.name}")
    result = Stream(engine, source, warmup=warmup).run()
    measured = result.arrays()["latency_ms"]
    return Latency.of_samples(measured, stat, extra_ms, "measured")


def check_compatible(card: Any, dataset: SequenceDataset) -> None:
    """Refuse an engine whose card cannot be scored on this data set.

    Raises:
        DataError: when the class counts differ or no sequence is long enough for the window.
    """
    if card.num_classes != dataset.num_classes:
        raise DataError(
            f"the engine predicts {card.num_classes} classes ({', '.join(card.class_names[:4])}...) but the data "
            f"set {dataset.name} has {dataset.num_classes}; evaluate it on the data set it was trained for"
        )
    longest = max((seq.num_frames for seq in dataset.sequences), default=0)
    if longest < card.window:
        raise DataError(f"the engine takes a window of {card.window} frames but the longest sequence of "
                        f"{dataset.name} has {longest}")


def plot_offsets(k: int) -> list[int]:
    """Offsets to score for the FLAME-vs-latency curve: 0..max(k + 2, 4)."""
    return list(range(0, max(k + 2, 4) + 1))


def assess(predictor: Callable[[np.ndarray], np.ndarray], card: Any, dataset: SequenceDataset, latency: Latency,
           streaming: bool = True, offsets: list[int] | None = None, progress: Progress | None = None,
           k: int | None = None, forecast: Forecasting | None = None, fit: str = "stretch") -> EvalReport:
    """Score static mIoU, FLAME at the latency's k and streaming FLAME of a predictor.

    Args:
        predictor: ``frames [T, H, W, 3] -> labels`` at the card's input size
            (an engine, or the PyTorch reference).
        card: the model card (window, input size, classes).
        dataset, latency, streaming, offsets, progress, k: as for
            :func:`flame.evaluation.scoring.score`, which does the scoring.
        forecast: a forecast of the labels to when they are used (its cost is
            added to ``latency``; see :mod:`flame.apps.forecast`); None: none.
        fit: how frames of another aspect ratio meet the card's input (:data:`flame.core.fit.FITS`),
            recorded in the report as ``fit``.

    Returns:
        The report of :func:`flame.evaluation.scoring.score` (the keys of
        ``flame-eval --predictions``) plus ``machine`` and ``card``.

    Raises:
        DataError, ConfigError: on an incompatible engine or bad data.
    """
    check_compatible(card, dataset)
    source = PredictorSource(predictor, window=card.window, input_size=tuple(card.input_size), fit=fit)
    report = score_forecast(dataset, source, latency, forecast or Forecasting("none"), streaming, offsets, progress, k)
    report.machine = machine_info()
    report.fit = fit
    report.card = card.to_dict()
    return report


def choose_latency(engine: Engine | None, dataset: SequenceDataset, latency_ms: float | None = None,
                   latency_from: str | os.PathLike | None = None, stat: str = "p50", extra_ms: float = 0.0,
                   samples: int = 50, warmup: int = 5, force: bool = False) -> Latency:
    """The latency to score with: fixed, from a run report, or measured on ``engine``.

    A report made with a model other than ``engine``'s is refused unless ``force``
    (see :func:`latency_from_report`).

    Raises:
        ConfigError: when both a fixed latency and a report are given, or
            neither is and there is no engine to measure, or the report's model differs.
    """
    if latency_ms is not None and latency_from is not None:
        raise ConfigError(f"give either {param('latency_ms')} or {param('latency_from')}, not both")
    if latency_ms is not None:
        return fixed_latency(latency_ms, extra_ms)
    if latency_from is not None:
        return latency_from_report(latency_from, stat, extra_ms, engine.card if engine is not None else None, force)
    if engine is None:
        raise ConfigError(f"no latency to score with: pass {param('latency_ms')} MS or {param('latency_from')} RUN.json")
    return measure_latency(engine, dataset, samples, warmup, stat, extra_ms)


def evaluate_engine(engine: Engine, dataset: SequenceDataset, latency: Latency, streaming: bool = True,
                    with_curve: bool = False, progress: Progress | None = None,
                    forecast: str = "none", fit: str = "stretch") -> EvalReport:
    """Deployed accuracy of a loaded engine: the report ``flame-eval --engine`` prints.

    Args:
        engine: the engine (or :class:`flame.trainer.reference.ReferenceEngine`).
        dataset: the data set to score on.
        latency: from :func:`choose_latency`.
        streaming: also score streaming FLAME.
        with_curve: also score k = 0..K for the FLAME-vs-latency plot.
        progress: ``(done, total)`` callback.
        forecast: a forecast method (:data:`flame.runtime.forecast.FORECASTERS`), timed here and
            charged to the latency k comes from.
        fit: ``stretch``, ``crop`` or ``pad`` (:mod:`flame.core.fit`).

    Raises:
        DataError, ConfigError: on an incompatible engine or bad data.
    """
    plan = forecasting(forecast, engine.card.class_names, dataset)
    k = plan.charge(latency).k(dataset.fps)
    report = assess(engine, engine.card, dataset, latency, streaming, plot_offsets(k) if with_curve else None,
                    progress, forecast=plan, fit=fit)
    report.engine = engine.describe()
    return report
