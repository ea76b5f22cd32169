"""Confusion matrix with cityscapesScripts' conventions, accumulated fast.

Conventions (cityscapesScripts ``evalPixelLevelSemanticLabeling``):

* pixels whose ground truth is void (``ignore_index``) count nowhere;
* a predicted id outside ``[0, num_classes)`` on a valid pixel is a false
  negative of the true class and a false positive of nobody;
* a frame without a prediction (:meth:`ConfusionMatrix.add_miss`) makes every
  valid pixel a false negative;
* IoU_c = TP / (TP + FP + FN), NaN where the union is empty; the mean is over
  the classes whose IoU is not NaN.

Speed: both maps as uint8 go through one 256x256 ``cv2.calcHist`` (a 2-D
histogram over ground truth and prediction), which also yields the void and
out-of-range counts and the validation of ground-truth values in one pass.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from flame.core.errors import DataError, param

# calcHist counts in float32, exact up to 2**24 per bin: chunk larger maps.
_MAX_PIXELS_PER_HIST = 1 << 24
_VOID = 255


class ConfusionMatrix:
    """Accumulates a ``[num_classes, num_classes]`` confusion matrix.

    Rows are ground truth, columns prediction. Predictions outside the class
    range and frames without prediction are kept as per-class misses (false
    negatives) in :attr:`missed`.

    Args:
        num_classes: number of valid classes (1..255).
        ignore_index: ground-truth value that marks void pixels.

    Raises:
        DataError: when ``num_classes`` is outside 1..255.
    """

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        if not 1 <= int(num_classes) <= 255:
            raise DataError(
                f"expected 1..255 classes, found {num_classes}; "
                "label maps are uint8 with 255 kept for void"
            )
        self.num_classes = int(num_classes)
        self.ignore_index = int(ignore_index)
        self.matrix = np.zeros((self.num_classes, self.num_classes), np.int64)
        self.missed = np.zeros(self.num_classes, np.int64)

    # ------------------------------------------------------------------ input
    def _gt_as_uint8(self, gt: np.ndarray) -> np.ndarray:
        """Ground truth as uint8 with void at 255 (values checked later)."""
        if gt.dtype == np.uint8 and self.ignore_index == _VOID:
            return gt
        if not np.issubdtype(gt.dtype, np.integer):
            raise DataError(f"expected an integer label map, found dtype {gt.dtype}")
        void = gt == self.ignore_index
        bad = ~void & ((gt < 0) | (gt >= self.num_classes))
        if bad.any():
            value = int(gt[bad].flat[0])
            raise DataError(self._bad_label_message(value))
        out = gt.astype(np.uint8)
        out[void] = _VOID
        return out

    def _pred_as_uint8(self, pred: np.ndarray) -> np.ndarray:
        """Prediction as uint8; any id outside the class range becomes 255."""
        if pred.dtype == np.uint8:
            return pred
        if not np.issubdtype(pred.dtype, np.integer):
            raise DataError(
                f"expected an integer prediction map, found dtype {pred.dtype}; "
                "take the argmax of logits first"
            )
        out = pred.astype(np.uint8)
        out[(pred < 0) | (pred >= self.num_classes)] = _VOID
        return out

    def _bad_label_message(self, value: int) -> str:
        return (
            f"label value {value} is neither a class (0..{self.num_classes - 1}) "
            f"nor void ({self.ignore_index}); check the label encoding "
            f"(Cityscapes labelIds need {param('label_ids')} / the train-id mapping)"
        )

    @staticmethod
    def _histogram(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """256x256 int64 joint histogram of two uint8 maps."""
        gt2 = gt.reshape(gt.shape[0], -1) if gt.ndim == 2 else gt.reshape(1, -1)
        pred2 = pred.reshape(gt2.shape)
        rows_per_chunk = max(1, _MAX_PIXELS_PER_HIST // max(1, gt2.shape[1]))
        total = np.zeros((256, 256), np.int64)
        for start in range(0, gt2.shape[0], rows_per_chunk):
            g = np.ascontiguousarray(gt2[start : start + rows_per_chunk])
            p = np.ascontiguousarray(pred2[start : start + rows_per_chunk])
            hist = cv2.calcHist([g, p], [0, 1], None, [256, 256], [0, 256, 0, 256])
            total += hist.astype(np.int64)
        return total

    # ---------------------------------------------------------------- updates
    def update(self, gt: np.ndarray, pred: np.ndarray) -> None:
        """Add one pair of integer label maps of equal shape.

        Raises:
            DataError: on shape mismatch or a ground-truth value that is
                neither a class nor void.
        """
        gt = np.asarray(gt)
        pred = np.asarray(pred)
        if gt.shape != pred.shape:
            raise DataError(
                f"prediction size {pred.shape} differs from label size {gt.shape}; "
                "resize predictions (nearest) to the label size before scoring"
            )
        if gt.size == 0:
            return
        hist = self._histogram(self._gt_as_uint8(gt), self._pred_as_uint8(pred))
        c = self.num_classes
        stray = hist[c:_VOID].sum(axis=1)
        if stray.any():
            raise DataError(self._bad_label_message(c + int(np.flatnonzero(stray)[0])))
        self.matrix += hist[:c, :c]
        self.missed += hist[:c, c:].sum(axis=1)

    def add_miss(self, gt: np.ndarray) -> None:
        """Count a frame that has no prediction: every valid pixel is a FN.

        Raises:
            DataError: on a ground-truth value that is neither a class nor void.
        """
        gt = self._gt_as_uint8(np.asarray(gt))
        counts = np.bincount(gt.ravel(), minlength=256)
        c = self.num_classes
        if counts[c:_VOID].any():
            raise DataError(self._bad_label_message(c + int(np.flatnonzero(counts[c:_VOID])[0])))
        self.missed += counts[:c]

    def merge(self, other: "ConfusionMatrix") -> "ConfusionMatrix":
        """Add another matrix of the same class count into this one; returns self.

        Raises:
            DataError: when the class counts differ.
        """
        if other.num_classes != self.num_classes:
            raise DataError(
                f"cannot merge a {other.num_classes}-class matrix into a "
                f"{self.num_classes}-class one"
            )
        self.matrix += other.matrix
        self.missed += other.missed
        return self

    def copy(self) -> "ConfusionMatrix":
        """An independent copy."""
        out = ConfusionMatrix(self.num_classes, self.ignore_index)
        out.matrix = self.matrix.copy()
        out.missed = self.missed.copy()
        return out

    # ---------------------------------------------------------------- scores
    @property
    def true_positives(self) -> np.ndarray:
        """Per-class TP."""
        return np.diag(self.matrix).copy()

    @property
    def false_negatives(self) -> np.ndarray:
        """Per-class FN, misses included."""
        return self.matrix.sum(axis=1) - np.diag(self.matrix) + self.missed

    @property
    def false_positives(self) -> np.ndarray:
        """Per-class FP (from valid ground-truth pixels only)."""
        return self.matrix.sum(axis=0) - np.diag(self.matrix)

    def iou(self) -> np.ndarray:
        """Per-class IoU as float64, NaN where a class has an empty union."""
        tp = self.true_positives.astype(np.float64)
        union = tp + self.false_positives + self.false_negatives
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(union > 0, tp / np.maximum(union, 1), np.nan)

    def miou(self) -> float:
        """Mean IoU over classes with a non-empty union; NaN when there are none."""
        iou = self.iou()
        valid = ~np.isnan(iou)
        return float(iou[valid].mean()) if valid.any() else float("nan")

    def per_class(self, class_names: Sequence[str]) -> dict[str, float | None]:
        """IoU by class name, ``None`` where undefined (JSON-friendly)."""
        return {
            name: (None if np.isnan(v) else float(v))
            for name, v in zip(class_names, self.iou())
        }
