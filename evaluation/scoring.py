"""Score a prediction source at a latency: the one path every FLAME report comes from.

Prediction files (:func:`flame.evaluation.predictions.evaluate_predictions`; ``flame-eval
--predictions`` through ``flame.apps.forecast``) and an engine's deployed accuracy
(``flame.apps.assess``) all call :func:`score`;
they differ only in where predictions and latency samples come from.

A :class:`~flame.core.latency.Latency` (re-exported here) is what k and the
streaming simulation use: a fixed value (zero for static scoring), or per-frame
samples measured on an engine or read from a ``flame-run`` report. Its
:meth:`~flame.core.latency.Latency.report` is the ``latency_ms`` block of every
report, whatever the latency's source.
"""

from __future__ import annotations

from typing import Callable

from flame.core.latency import Latency, check_extra, check_stat
from flame.evaluation.datasets.base import SequenceDataset
from flame.evaluation.protocols import PredictionSource, evaluate, require_history
from flame.evaluation.report import EvalReport, evaluation_report

__all__ = ["Latency", "Progress", "check_extra", "check_stat", "fixed_latency", "score"]

Progress = Callable[[int, int], None]


def fixed_latency(latency_ms: float = 0.0, extra_ms: float = 0.0) -> Latency:
    """A constant latency (0 scores static accuracy: FLAME equals mIoU); :meth:`Latency.fixed`.

    Raises:
        ConfigError: on a negative or non-finite value.
    """
    return Latency.fixed(latency_ms, extra_ms)


def score(dataset: SequenceDataset, source: PredictionSource, latency: Latency, streaming: bool = True,
          offsets: list[int] | None = None, progress: Progress | None = None, k: int | None = None) -> EvalReport:
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
        k = latency.k(dataset.fps)
    require_history(dataset, k, source.history)
    result = evaluate(dataset, source, sorted({0, k, *(offsets or [])}),
                      latency.streaming_samples_s.tolist() if streaming else None, progress)
    return evaluation_report(result, dataset, k, latency.report(), dataset.fps)
