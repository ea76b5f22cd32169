"""Turn protocol results into the report dictionary that ``--json`` writes."""

from __future__ import annotations

from typing import Any

from flame.evaluation.datasets.base import SequenceDataset
from flame.evaluation.protocols import Evaluation, Score


def _score_dict(score: Score, class_names: list[str]) -> dict[str, Any]:
    return {
        "miou": score.miou,
        "per_class_iou": score.confusion.per_class(class_names),
        "pairs": score.pairs,
        "missed": score.missed,
    }


def evaluation_report(evaluation: Evaluation, dataset: SequenceDataset, k: int, latency_ms: dict[str, Any],
                      fps: float) -> dict[str, Any]:
    """The keys every ``flame-eval`` JSON report carries.

    Args:
        evaluation: result holding k = 0 and k (and streaming when computed).
        dataset: the data set scored (for class names).
        k: the frame offset of the FLAME score.
        latency_ms: the latency k came from, as
            :meth:`flame.evaluation.scoring.Latency.report` gives it (a dict for every latency, fixed or zero too).
        fps: the frame rate k was computed at.

    Returns:
        ``miou`` (static), ``flame``, ``streaming_flame`` (None when not
        computed), ``k``, ``fps``, ``latency_ms``, ``per_class_iou`` (static),
        ``per_class_flame``, ``pairs``, ``missed`` (of the FLAME score), and a
        ``streaming`` block with what the simulated engine did.
    """
    names = list(dataset.class_names)
    static = evaluation.flame.get(0)
    at_k = evaluation.flame[k]
    report: dict[str, Any] = {
        "dataset": dataset.name,
        "sequences": len(dataset.sequences),
        "classes": names,
        "miou": static.miou if static else None,
        "flame": at_k.miou,
        "streaming_flame": evaluation.streaming.miou if evaluation.streaming else None,
        "k": k,
        "fps": fps,
        "latency_ms": latency_ms,
        "per_class_iou": static.confusion.per_class(names) if static else None,
        "per_class_flame": at_k.confusion.per_class(names),
        "pairs": at_k.pairs,
        "missed": at_k.missed,
        "flame_by_k": {str(kk): score.miou for kk, score in sorted(evaluation.flame.items())},
    }
    if evaluation.streaming is not None:
        s = evaluation.streaming
        report["streaming"] = {
            **_score_dict(s, names),
            "processed": s.processed,
            "dropped": s.dropped,
            "mean_delay_frames": s.mean_delay,
        }
    return report
