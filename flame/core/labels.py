"""Label maps resized with nearest neighbour, the one rule for every layer that maps labels back to a frame."""

from __future__ import annotations

import numpy as np


def resize_labels(labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a label map of any integer dtype to (H, W).

    Source pixel of destination (y, x) is (floor(y * h / H), floor(x * w / W)),
    as OpenCV's INTER_NEAREST.
    """
    height, width = size
    if labels.shape[:2] == (height, width):
        return labels
    rows = (np.arange(height) * labels.shape[0]) // height
    cols = (np.arange(width) * labels.shape[1]) // width
    return labels[rows[:, None], cols[None, :]]
