"""The sequence data set protocol every reader implements.

A data set is a list of sequences plus class names and a palette. A sequence
gives frames by index (uint8 HxWx3 BGR), labels by index (uint8 train ids,
255 void) for its annotated indices, and frame times (from its fps, or its own
per-frame timestamps).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Sequence as TypingSequence

import cv2
import numpy as np

from flame.core.errors import DataError, param

VOID = 255


def read_image(path: str) -> np.ndarray:
    """Read a colour image as uint8 HxWx3 BGR.

    Raises:
        DataError: when the file is missing or not a readable image.
    """
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(f"cannot read image {path}: expected a PNG or JPEG file; check that it exists and is not damaged")
    return image


def read_label_png(path: str) -> np.ndarray:
    """Read a single-channel label PNG as an integer array (no remapping).

    Raises:
        DataError: when the file is missing, unreadable or not single-channel.
    """
    label = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if label is None:
        raise DataError(f"cannot read label map {path}: expected a single-channel PNG; check that it exists")
    if label.ndim != 2:
        raise DataError(
            f"label map {path} has shape {label.shape}: expected a single-channel image of class ids, "
            "not a colour rendering"
        )
    return label


def default_palette(num_classes: int) -> np.ndarray:
    """A distinct RGB colour per class (uint8 ``[C, 3]``), deterministic."""
    rng = np.random.default_rng(12345)
    palette = rng.integers(40, 256, size=(num_classes, 3), dtype=np.int64)
    return palette.astype(np.uint8)


class Sequence(ABC):
    """One video sequence: frames, sparse labels, and frame times.

    Attributes:
        name: unique name within the data set (used for prediction paths).
        num_frames: number of frames, indices ``0..num_frames-1``.
        fps: nominal frame rate.
        annotated: sorted indices that have a label map.
    """

    name: str
    num_frames: int
    fps: float
    annotated: list[int]

    @abstractmethod
    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as uint8 HxWx3 BGR."""

    @abstractmethod
    def label(self, index: int) -> np.ndarray:
        """Label map of annotated frame ``index`` as uint8 train ids, 255 void."""

    def frame_stem(self, index: int) -> str:
        """File stem under which a prediction of frame ``index`` is stored."""
        return f"{index:06d}"

    def timestamps(self) -> np.ndarray:
        """Arrival time of every frame in seconds from frame 0."""
        return np.arange(self.num_frames, dtype=np.float64) / self.fps

    def window(self, index: int, size: int, step: int = 1) -> np.ndarray:
        """Frames ``index-(size-1)*step .. index`` stacked oldest first as ``[T, H, W, 3]``.

        Raises:
            DataError: when the window starts before frame 0.
        """
        first = index - (size - 1) * step
        if first < 0 or index >= self.num_frames:
            raise DataError(
                f"sequence {self.name}: a window of {size} frames ending at {index} needs frames "
                f"{first}..{index}, but the sequence has 0..{self.num_frames - 1}"
            )
        return np.stack([self.frame(i) for i in range(first, index + 1, step)])

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.num_frames:
            raise DataError(f"sequence {self.name} has frames 0..{self.num_frames - 1}, asked for {index}")


@dataclass
class SequenceDataset:
    """A named list of sequences with their classes.

    Attributes:
        name: a short description (``cityscapes val``, a folder path...).
        class_names: one name per class id.
        palette: RGB colour per class, uint8 ``[C, 3]``.
        sequences: the sequences.
        fps: the nominal frame rate shared by the sequences.
    """

    name: str
    class_names: list[str]
    palette: np.ndarray
    sequences: list[Sequence]
    fps: float
    ignore_index: int = VOID
    info: dict = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.sequences)

    def require_nonempty(self) -> "SequenceDataset":
        """Return self, or raise when there is nothing to score.

        Raises:
            DataError: when no sequence has an annotated frame.
        """
        if not self.sequences or not any(seq.annotated for seq in self.sequences):
            raise DataError(
                f"data set {self.name} has no annotated frames: expected at least one sequence with a "
                f"label map; check {param('data_root')} and {param('split')}"
            )
        return self

    def head(self, count: int | None) -> "SequenceDataset":
        """The same data set restricted to its first ``count`` sequences."""
        if count is None:
            return self
        if count <= 0:
            raise DataError(f"expected a positive number of sequences, found {count}")
        return SequenceDataset(
            self.name, self.class_names, self.palette, self.sequences[:count], self.fps, self.ignore_index, self.info
        )

    def with_fps(self, fps: float | None) -> "SequenceDataset":
        """Override the frame rate of the data set and its sequences in place (``None`` keeps it)."""
        if fps is None:
            return self
        for seq in self.sequences:
            seq.fps = float(fps)
        self.fps = float(fps)
        return self


def check_names(class_names: TypingSequence[str], palette: np.ndarray | None) -> np.ndarray:
    """Validate a palette against the class names, generating one when absent.

    Raises:
        DataError: when the palette is not ``[C, 3]`` with values 0..255.
    """
    count = len(class_names)
    if palette is None:
        return default_palette(count)
    arr = np.asarray(palette)
    if arr.shape != (count, 3) or arr.min() < 0 or arr.max() > 255:
        raise DataError(
            f"expected a palette of {count} RGB triples with values 0..255, found shape {arr.shape}"
        )
    return arr.astype(np.uint8)


class ArraySequence(Sequence):
    """A sequence held in memory: frames ``[F, H, W, 3]`` and labels by index.

    Args:
        name: sequence name.
        frames: uint8 ``[F, H, W, 3]`` BGR.
        labels: ``{index: uint8 [H, W]}`` or a ``[F, H, W]`` array (every frame annotated).
        fps: frame rate.
        timestamps: optional per-frame arrival times in seconds.
    """

    def __init__(self, name: str, frames: np.ndarray, labels, fps: float,
                 timestamps: np.ndarray | None = None) -> None:
        self.name = name
        self.fps = float(fps)
        self._frames = frames
        self.num_frames = len(frames)
        self._labels = labels if isinstance(labels, dict) else {i: labels[i] for i in range(len(labels))}
        self.annotated = sorted(self._labels)
        self._timestamps = None if timestamps is None else np.asarray(timestamps, np.float64)

    def frame(self, index: int) -> np.ndarray:
        self._check_index(index)
        return self._frames[index]

    def label(self, index: int) -> np.ndarray:
        if index not in self._labels:
            raise DataError(f"sequence {self.name}: frame {index} has no label map")
        return self._labels[index]

    def timestamps(self) -> np.ndarray:
        return super().timestamps() if self._timestamps is None else self._timestamps
