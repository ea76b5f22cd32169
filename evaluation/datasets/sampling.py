"""Input windows drawn evenly over a data set: INT8 calibration and flame-bench's agreement check share it."""

from __future__ import annotations

import cv2
import numpy as np

from flame.evaluation.datasets.base import SequenceDataset


def window_positions(dataset: SequenceDataset, window: int) -> list[tuple[int, int]]:
    """Every ``(sequence number, last frame)`` a window of ``window`` frames can end at."""
    return [(s, i) for s, seq in enumerate(dataset.sequences) for i in range(window - 1, seq.num_frames)]


def spread_windows(dataset: SequenceDataset, window: int, size: tuple[int, int], count: int) -> list[np.ndarray]:
    """Up to ``count`` windows ``uint8 [T, H, W, 3]`` at evenly spaced positions among all of them, resized.

    Positions are spaced evenly in the list of all windows of all sequences, so each sequence gives a share
    proportional to its length and neighbouring picks are far apart in time; frames are resized (bilinear) to
    ``size`` (H, W). Fewer windows come back when the data set has fewer.
    """
    positions = window_positions(dataset, window)
    if not positions or count < 1:
        return []
    height, width = size
    out = []
    for pick in np.linspace(0, len(positions) - 1, min(count, len(positions))).round().astype(int):
        s, index = positions[pick]
        frames = dataset.sequences[s].window(index, window)
        if frames.shape[1:3] != (height, width):
            frames = np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_LINEAR) for f in frames])
        out.append(np.ascontiguousarray(frames))
    return out
