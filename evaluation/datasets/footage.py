"""Footage with reference labels as a data set: every frame annotated, real frame times.

The existing scoring (FLAME at k, streaming FLAME, FLAME against latency, per class, forecasts) runs on
it unchanged; only the labels come from a reference instead of ground truth (:mod:`flame.evaluation.reference`).
"""

from __future__ import annotations

from typing import Iterator, Sequence as TypingSequence

import numpy as np

from flame.core.errors import DataError
from flame.core.labels import resize_labels
from flame.evaluation.datasets.base import Sequence, SequenceDataset, check_names
from flame.media.footage import Footage
from flame.media.intervals import interval_stats

#: Decoded frames kept for random access: enough for a window and the largest offsets scored.
_KEPT = 48
#: Frames decoded forward to reach a wanted one before reopening the footage there instead.
_SKIP_AHEAD = 256


class FootageSequence(Sequence):
    """Frames ``first .. first + count - 1`` of footage, each with its reference label map.

    Frames are decoded sequentially and the recent ones kept, which is how the protocols ask for them
    (each annotated frame in order, with the frames a few before it).
    """

    def __init__(self, footage: Footage, labels: np.ndarray, name: str, first: int = 0,
                 count: int | None = None) -> None:
        total = len(footage)
        count = total - first if count is None else count
        if first < 0 or count < 1 or first + count > total or len(labels) != total:
            raise DataError(f"footage {footage.describe_path()}: frames {first}..{first + count - 1} asked of "
                            f"{total} (with {len(labels)} reference labels)")
        self.footage = footage
        self.name = name
        self.first = first
        self.num_frames = count
        self.annotated = list(range(count))
        times = footage.timestamps()[first:first + count]
        self._times = times - times[0]
        stats = interval_stats(self._times)
        self.fps = stats.fps if stats.fps > 0 else 30.0
        self._labels = labels
        self._kept: dict[int, np.ndarray] = {}
        self._reader: Iterator[np.ndarray] | None = None
        self._next = 0  # footage index the reader yields next
        self._size: tuple[int, int] | None = None

    def timestamps(self) -> np.ndarray:
        return self._times

    def frame(self, index: int) -> np.ndarray:
        self._check_index(index)
        wanted = self.first + index
        if wanted in self._kept:
            return self._kept[wanted]
        if self._reader is None or wanted < self._next or wanted - self._next > _SKIP_AHEAD:
            self._reader = self.footage.frames(wanted)
            self._next = wanted
        for image in self._reader:
            position = self._next
            self._next += 1
            self._kept[position] = image
            if len(self._kept) > _KEPT:
                del self._kept[min(self._kept)]
            if position == wanted:
                return image
        raise DataError(f"footage {self.footage.describe_path()} ended before frame {wanted}")

    def label(self, index: int) -> np.ndarray:
        self._check_index(index)
        if self._size is None:  # every frame of footage has one size: read it once
            self._size = self.frame(index).shape[:2]
        return resize_labels(np.asarray(self._labels[self.first + index]), self._size)


def footage_dataset(footage: Footage, labels: np.ndarray, class_names: TypingSequence[str],
                    palette: np.ndarray | None, name: str | None = None,
                    splits: TypingSequence[tuple[int, int]] | None = None) -> SequenceDataset:
    """A data set of the footage (one sequence, or one per ``(first, count)`` frame range).

    Raises:
        DataError: when a range lies outside the footage.
    """
    ranges = splits or [(0, len(footage))]
    sequences = [FootageSequence(footage, labels, f"{footage.path.name}" + (f"[{a}:{a + n}]" if splits else ""),
                                 a, n) for a, n in ranges]
    info = {"footage": footage.describe(), "intervals": interval_stats(footage.timestamps()).to_dict()}
    return SequenceDataset(name or footage.describe_path(), list(class_names), check_names(class_names, palette),
                           list(sequences), sequences[0].fps, info=info)
