"""The FLAME metric: confusion matrices, protocols, the streaming simulation and data sets.

Depends on numpy and OpenCV only; never on torch or on ``flame.runtime``.
The definitions are in docs/metric.md. The main names::

    from flame.evaluation import PredictorSource, evaluate, open_dataset

    dataset = open_dataset("folder", "data/")            # or "synthetic", "cityscapes"
    result = evaluate(dataset, PredictorSource(predict, window=2), offsets=(0, 2), latencies_s=[0.076])
    result.static.miou, result.flame[2].miou, result.streaming.miou
"""

from flame.evaluation.confusion import ConfusionMatrix
from flame.evaluation.datasets import (
    VOID,
    ArraySequence,
    Sequence,
    SequenceDataset,
    SyntheticSpec,
    ensure_synthetic,
    load_cityscapes,
    load_folder,
    load_synthetic,
    open_dataset,
    write_synthetic,
)
from flame.evaluation.predictions import PredictionFiles
from flame.evaluation.protocols import (
    Evaluation,
    PredictionSource,
    PredictorSource,
    Score,
    StreamingScore,
    evaluate,
    flame,
    static_miou,
    streaming_flame,
)
from flame.evaluation.report import evaluation_report

__all__ = [
    "VOID", "ArraySequence", "ConfusionMatrix", "Evaluation", "PredictionFiles", "PredictionSource",
    "PredictorSource", "Score", "Sequence", "SequenceDataset", "StreamingScore", "SyntheticSpec", "ensure_synthetic",
    "evaluate", "evaluation_report", "flame", "load_cityscapes", "load_folder", "load_synthetic", "open_dataset",
    "static_miou", "streaming_flame", "write_synthetic",
]
