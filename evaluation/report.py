"""The evaluation report: protocol results as an :class:`EvalReport` that writes and reads ``--json``.

Every field is declared here, the ones the layers above fill in too
(``forecast``, ``predictions``, ``engine``, ``machine``, ``card``): an
application sets a field, it does not add a key. The JSON keeps the keys it
always had (an unset optional field is left out) and adds its kind and version
(``"report": "flame-eval", "version": 1``); a file written before versions is read as the same fields.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flame.core.files import write_json
from flame.core.reports import check_kind, read_json_report
from flame.evaluation.datasets.base import SequenceDataset
from flame.evaluation.protocols import Evaluation, Score

EVAL_KIND, EVAL_VERSION = "flame-eval", 1
#: Fields left out of the JSON while unset (each set by one kind of evaluation only).
_OPTIONAL = ("streaming", "forecast", "predictions", "engine", "machine", "card", "reference", "footage", "fit")


@dataclass
class EvalReport:
    """Static mIoU, FLAME at k and streaming FLAME of one evaluation, with what they were measured on.

    Attributes:
        dataset, sequences, classes: the data set scored (name, sequence count, class names).
        miou: static mIoU (None when k = 0 was not scored).
        flame: FLAME at ``k``; streaming_flame: streaming FLAME (None when not computed).
        k, fps: the frame offset of the FLAME score and the frame rate it was computed at.
        latency_ms: the latency k came from (:meth:`flame.core.latency.Latency.report`).
        per_class_iou, per_class_flame: per-class IoU, static and at k.
        pairs, missed: of the FLAME score.
        flame_by_k: FLAME at every offset scored (keys are the offsets as text, as in JSON).
        streaming: what the simulated engine did (score, processed, dropped, mean delay), when computed.
        forecast: the forecast block (method, measured cost, fallbacks), set by ``flame.apps.forecast``.
        predictions: the prediction folder scored; engine, machine, card: the engine scored and where.
        reference, footage: on the user's own footage (``flame.apps.footage_eval``), what labelled it and
            the footage itself (kind, path, frames, frame times).
        fit: how frames met the engine's input (``stretch``, ``crop``, ``pad``).
    """

    dataset: str
    sequences: int
    classes: list[str]
    miou: float | None
    flame: float
    streaming_flame: float | None
    k: int
    fps: float
    latency_ms: dict[str, Any]
    per_class_iou: dict[str, float | None] | None
    per_class_flame: dict[str, float | None]
    pairs: int
    missed: int
    flame_by_k: dict[str, float]
    streaming: dict[str, Any] | None = None
    forecast: dict[str, Any] | None = None
    predictions: str | None = None
    engine: dict[str, Any] | None = None
    machine: dict[str, Any] | None = None
    card: dict[str, Any] | None = None
    reference: dict[str, Any] | None = None
    footage: dict[str, Any] | None = None
    fit: str | None = None  # how frames met an engine's input (flame.core.fit); None for predictions

    @property
    def title(self) -> str:
        """``<engine path or predictions> on <data set>``, for plots."""
        what = (self.engine or {}).get("path") or self.predictions or ""
        return f"{what} on {self.dataset}"

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` object: kind and version, then the fields (unset optional ones left out)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {"report": EVAL_KIND, "version": EVAL_VERSION,
                **{name: value for name, value in fields.items() if value is not None or name not in _OPTIONAL}}

    def write(self, path: str | os.PathLike) -> Path:
        """Write the JSON atomically."""
        return write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, data: Any, where: str = "evaluation report") -> EvalReport:
        """A report from its JSON object (version 1, or written before versions: the same fields).

        Raises:
            DataError: on another kind of file or an unknown version.
        """
        check_kind(data, EVAL_KIND, EVAL_VERSION, where, unversioned="flame_by_k")
        return cls(**{f.name: data.get(f.name) for f in dataclasses.fields(cls)})

    @classmethod
    def read(cls, path: str | os.PathLike) -> EvalReport:
        """Read a ``flame-eval --json`` file.

        Raises:
            DataError: when it is missing, not JSON or not an evaluation report.
        """
        return cls.from_dict(read_json_report(path, "evaluation report"), str(path))


def _score_dict(score: Score, class_names: list[str]) -> dict[str, Any]:
    return {
        "miou": score.miou,
        "per_class_iou": score.confusion.per_class(class_names),
        "pairs": score.pairs,
        "missed": score.missed,
    }


def evaluation_report(evaluation: Evaluation, dataset: SequenceDataset, k: int, latency_ms: dict[str, Any],
                      fps: float) -> EvalReport:
    """The report of an evaluation (what ``flame-eval --json`` writes, :meth:`EvalReport.to_dict`).

    Args:
        evaluation: result holding k = 0 and k (and streaming when computed).
        dataset: the data set scored (for class names).
        k: the frame offset of the FLAME score.
        latency_ms: the latency k came from, as
            :meth:`flame.core.latency.Latency.report` gives it (a dict for every latency, fixed or zero too).
        fps: the frame rate k was computed at.
    """
    names = list(dataset.class_names)
    static = evaluation.flame.get(0)
    at_k = evaluation.flame[k]
    streaming = None
    if evaluation.streaming is not None:
        s = evaluation.streaming
        streaming = {**_score_dict(s, names), "processed": s.processed, "dropped": s.dropped,
                     "mean_delay_frames": s.mean_delay}
    return EvalReport(
        dataset=dataset.name, sequences=len(dataset.sequences), classes=names,
        miou=static.miou if static else None, flame=at_k.miou,
        streaming_flame=evaluation.streaming.miou if evaluation.streaming else None, k=k, fps=fps,
        latency_ms=latency_ms, per_class_iou=static.confusion.per_class(names) if static else None,
        per_class_flame=at_k.confusion.per_class(names), pairs=at_k.pairs, missed=at_k.missed,
        flame_by_k={str(kk): score.miou for kk, score in sorted(evaluation.flame.items())}, streaming=streaming)
