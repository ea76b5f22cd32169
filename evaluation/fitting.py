"""A predictor on frames of another size than it takes: ``--fit stretch|crop|pad`` in scoring.

The geometry is :mod:`flame.core.fit` (the same as ``flame-run``'s loop); this
module does the evaluation's resizes: frames bilinear into the input, labels
back to the frame (nearest, exact).
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from flame.core.fit import fit_box


def _resize_bilinear(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)


def predict_fitted(predictor: Callable[[np.ndarray], np.ndarray], frames: np.ndarray, input_size: tuple[int, int],
                   fit: str = "stretch") -> np.ndarray:
    """Labels at the frames' size from a predictor that takes ``input_size``.

    Args:
        predictor: ``[T, h, w, 3] -> [h, w]`` labels at ``input_size``.
        frames: uint8 ``[T, H, W, 3]`` BGR window.
        input_size: (h, w) the predictor takes.
        fit: ``stretch`` (resize whole), ``crop`` (the centred box of the input's ratio; the frame outside it
            gets void labels, 255) or ``pad`` (letterbox).
    """
    box = fit_box(fit, frames.shape[1:3], input_size)
    fitted = np.stack([box.to_input(f, _resize_bilinear) for f in frames])
    return box.labels_to_frame(np.asarray(predictor(fitted)))
