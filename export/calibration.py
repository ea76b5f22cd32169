"""Calibration data for INT8 quantisation: input windows drawn evenly over a data set, and the reader
that feeds them to ONNX Runtime's calibrator."""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from flame.core.errors import ConfigError, DataError, param
from flame.evaluation.datasets import SequenceDataset
from flame.evaluation.datasets.sampling import spread_windows, window_positions

#: Calibration windows drawn by default.
DEFAULT_CALIBRATION_FRAMES = 64


def calibration_windows(dataset: SequenceDataset, window: int, size: tuple[int, int], count: int) -> list[np.ndarray]:
    """``count`` input windows spread evenly over every window position of every sequence.

    Windows are taken at evenly spaced positions in the list of all windows of
    all sequences (so each sequence gives a share proportional to its length,
    and neighbouring picks are far apart in time), then resized (bilinear) to
    the export size ``(H, W)``.

    Raises:
        ConfigError: when ``count`` is not positive.
        DataError: when the data set has fewer windows than ``count``.
    """
    if count < 1:
        raise ConfigError(f"{param('calibration_frames')} must be a positive number of windows, found {count}")
    available = len(window_positions(dataset, window))
    if available < count:
        raise DataError(f"calibration data set {dataset.name} has {available} input windows of {window} "
                        f"frame(s), fewer than the {count} asked for by {param('calibration_frames')}")
    return spread_windows(dataset, window, size, count)


def default_calibration(split: str) -> SequenceDataset:
    """The embedded synthetic video's ``split`` (generated once into the cache)."""
    from flame.evaluation.datasets import open_dataset

    return open_dataset("synthetic", None, split)


class WindowReader:
    """ONNX Runtime calibration data reader over a list of windows."""

    def __init__(self, windows: Sequence[np.ndarray], input_name: str) -> None:
        self._windows = iter(windows)
        self._input = input_name

    def get_next(self) -> dict[str, np.ndarray] | None:
        frames = next(self._windows, None)
        return None if frames is None else {self._input: frames}

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        while (item := self.get_next()) is not None:
            yield item
