"""Precomputed predictions on disk, made by any framework.

The prediction of frame i of a sequence is ``DIR/<sequence>/<frame stem>.png``;
for Cityscapes, any ``<city>_<seq>_<frame>*.png`` anywhere under ``DIR`` (as
cityscapesScripts finds them). Values are train ids, or Cityscapes labelIds
with ``label_ids=True``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path


import numpy as np

from flame.core.errors import DataError, param
from flame.evaluation.report import EvalReport
from flame.evaluation.datasets.base import VOID, Sequence, SequenceDataset, read_label_png
from flame.evaluation.datasets.cityscapes import label_ids_to_train_ids
from flame.evaluation.protocols import PredictionSource
from flame.evaluation.scoring import Latency, Progress, fixed_latency, score

_SHOW_MISSING = 5
# <city>_<seq>_<frame> at the start of a Cityscapes-style file name.
_CITYSCAPES_PREFIX = re.compile(r"^(.+?_\d{6}_\d{6})(?:_|$)")


class PredictionFiles(PredictionSource):
    """Predictions stored as PNG label maps under one folder.

    Args:
        root: the predictions folder.
        label_ids: predictions hold Cityscapes labelIds (mapped to train ids;
            ids without a train id count as misses).

    Raises:
        DataError: when the folder does not exist.
    """

    window = 1

    def __init__(self, root: str | os.PathLike, label_ids: bool = False) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(f"predictions folder {self.root} does not exist; check {param('predictions')}")
        self.label_ids = label_ids
        self._by_stem: dict[str, Path] | None = None

    def _index(self) -> dict[str, Path]:
        """Every ``<city>_<seq>_<frame>*.png`` under root by that prefix (built once)."""
        if self._by_stem is None:
            self._by_stem = {}
            for dirpath, _, files in sorted(os.walk(self.root)):
                for name in sorted(files):
                    match = _CITYSCAPES_PREFIX.match(name[:-4]) if name.endswith(".png") else None
                    if match:
                        self._by_stem.setdefault(match[1], Path(dirpath) / name)
        return self._by_stem

    def path(self, sequence: Sequence, index: int) -> Path | None:
        """The file holding the prediction of frame ``index``, or None.

        ``DIR/<sequence>/<stem>.png`` first; for globally unique Cityscapes
        stems, any ``<stem>*.png`` under DIR. Plain stems (``000002``) repeat
        across sequences, so they are never looked up outside their folder.
        """
        stem = sequence.frame_stem(index)
        direct = self.root / sequence.name / f"{stem}.png"
        if direct.is_file():
            return direct
        match = _CITYSCAPES_PREFIX.match(stem + "_")
        if match is None or match[1] != stem:
            return None
        return self._index().get(stem)

    def check_available(self, needed: dict[str, tuple[Sequence, set[int]]]) -> None:
        missing = []
        for seq, frames in needed.values():
            missing.extend(f"{seq.name}/{seq.frame_stem(i)}.png" for i in sorted(frames) if self.path(seq, i) is None)
        if missing:
            shown = ", ".join(missing[:_SHOW_MISSING])
            more = f" and {len(missing) - _SHOW_MISSING} more" if len(missing) > _SHOW_MISSING else ""
            raise DataError(
                f"{len(missing)} predictions are missing under {self.root}: {shown}{more}. "
                "With a latency, FLAME scores the prediction of frame j-k against label j, so predictions of "
                "those earlier frames are needed too"
            )

    def predict(self, sequence: Sequence, index: int) -> np.ndarray:
        path = self.path(sequence, index)
        if path is None:
            raise DataError(f"no prediction for {sequence.name}/{sequence.frame_stem(index)} under {self.root}")
        pred = read_label_png(str(path))
        if self.label_ids:
            mapped = np.full(pred.shape, VOID, np.uint8)
            known = (pred >= 0) & (pred < 34)
            mapped[known] = label_ids_to_train_ids(pred[known], str(path))
            return mapped
        return pred


def evaluate_predictions(dataset: SequenceDataset, root: str | os.PathLike, latency: Latency | float = 0.0,
                         streaming: bool = True, label_ids: bool = False,
                         progress: Progress | None = None) -> EvalReport:
    """Score precomputed predictions: static mIoU, FLAME and streaming FLAME.

    Args:
        dataset: the data set scored.
        root: predictions folder.
        latency: the latency k and streaming FLAME come from: a :class:`~flame.evaluation.scoring.Latency`
            (samples from a run report), or a fixed value in ms (default 0: static only; FLAME equals mIoU).
        streaming: also score streaming FLAME.
        label_ids: predictions are Cityscapes labelIds.
        progress: ``(done, total)`` callback.

    Returns:
        The report of :func:`flame.evaluation.scoring.score` plus ``predictions`` (the folder).

    Raises:
        DataError, ConfigError: on bad data or missing predictions.
    """
    source = PredictionFiles(root, label_ids=label_ids)
    if not isinstance(latency, Latency):
        latency = fixed_latency(latency)
    report = score(dataset, source, latency, streaming, progress=progress)
    report.predictions = str(root)
    return report
