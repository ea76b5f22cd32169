"""ConfusionMatrix against hand-computed cases and a cityscapesScripts-style reference."""

import numpy as np
import pytest

from flame.core.errors import DataError
from flame.evaluation import confusion as confusion_module
from flame.evaluation.confusion import ConfusionMatrix


def reference_iou(gt: np.ndarray, pred: np.ndarray, num_classes: int, void: int = 255) -> np.ndarray:
    """cityscapesScripts getIouScoreForLabel, written out pixel by pixel."""
    conf = {}
    for g, p in zip(gt.ravel().tolist(), pred.ravel().tolist()):
        conf[(g, p)] = conf.get((g, p), 0) + 1
    iou = []
    for c in range(num_classes):
        tp = conf.get((c, c), 0)
        fn = sum(n for (g, p), n in conf.items() if g == c and p != c)  # every prediction, valid or not
        fp = sum(n for (g, p), n in conf.items() if p == c and g != c and g != void)  # valid gt rows only
        denom = tp + fp + fn
        iou.append(np.nan if denom == 0 else tp / denom)
    return np.array(iou)


def test_hand_computed_two_classes():
    gt = np.array([[0, 1], [1, 255]], np.uint8)
    pred = np.array([[0, 1], [0, 1]], np.uint8)
    cm = ConfusionMatrix(2)
    cm.update(gt, pred)
    assert cm.matrix.tolist() == [[1, 0], [1, 1]]
    np.testing.assert_allclose(cm.iou(), [0.5, 0.5])
    assert cm.miou() == pytest.approx(0.5)


def test_out_of_range_prediction_is_false_negative_only():
    gt = np.array([0, 0, 1], np.uint8)
    pred = np.array([0, 7, 1], np.uint8)
    cm = ConfusionMatrix(3)
    cm.update(gt, pred)
    assert cm.matrix.tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 0]]
    assert cm.missed.tolist() == [1, 0, 0]
    iou = cm.iou()
    assert iou[0] == pytest.approx(0.5) and iou[1] == 1.0 and np.isnan(iou[2])
    assert cm.miou() == pytest.approx(0.75)  # class 2 absent from both: NaN, excluded


def test_void_pixels_count_nowhere():
    gt = np.array([255, 255, 1], np.uint8)
    pred = np.array([0, 1, 1], np.uint8)
    cm = ConfusionMatrix(2)
    cm.update(gt, pred)
    assert cm.matrix.sum() == 1 and cm.missed.sum() == 0
    assert np.isnan(cm.iou()[0]) and cm.iou()[1] == 1.0


def test_add_miss_counts_every_valid_pixel_as_false_negative():
    cm = ConfusionMatrix(2)
    cm.update(np.array([0, 1], np.uint8), np.array([0, 1], np.uint8))
    cm.add_miss(np.array([0, 0, 1, 255], np.uint8))
    assert cm.missed.tolist() == [2, 1]
    np.testing.assert_allclose(cm.iou(), [1 / 3, 1 / 2])
    assert cm.false_negatives.tolist() == [2, 1]


def test_matches_reference_on_random_maps_with_void_and_invalid_ids():
    rng = np.random.default_rng(3)
    gt = rng.integers(0, 6, (37, 53)).astype(np.uint8)
    gt[rng.random(gt.shape) < 0.2] = 255
    pred = rng.integers(0, 8, (37, 53)).astype(np.uint8)  # ids 6, 7 are out of range
    cm = ConfusionMatrix(6)
    cm.update(gt, pred)
    np.testing.assert_allclose(cm.iou(), reference_iou(gt, pred, 6), equal_nan=True)


def test_integer_dtypes_and_negative_predictions():
    gt = np.array([[0, 1, 2]], np.int64)
    pred = np.array([[0, -1, 300]], np.int64)
    cm = ConfusionMatrix(3)
    cm.update(gt, pred)
    assert cm.matrix.trace() == 1 and cm.missed.tolist() == [0, 1, 1]


def test_custom_ignore_index():
    cm = ConfusionMatrix(2, ignore_index=9)
    cm.update(np.array([9, 1, 0]), np.array([1, 1, 0]))
    assert cm.matrix.tolist() == [[1, 0], [0, 1]]


def test_merge_equals_single_accumulation():
    rng = np.random.default_rng(1)
    pairs = [(rng.integers(0, 4, (8, 8)).astype(np.uint8), rng.integers(0, 4, (8, 8)).astype(np.uint8))
             for _ in range(4)]
    whole, a, b = ConfusionMatrix(4), ConfusionMatrix(4), ConfusionMatrix(4)
    for i, (gt, pred) in enumerate(pairs):
        whole.update(gt, pred)
        (a if i % 2 else b).update(gt, pred)
    a.add_miss(pairs[0][0])
    whole.add_miss(pairs[0][0])
    a.merge(b)
    assert np.array_equal(a.matrix, whole.matrix) and np.array_equal(a.missed, whole.missed)
    with pytest.raises(DataError):
        a.merge(ConfusionMatrix(3))


def test_large_maps_are_chunked_exactly(monkeypatch):
    monkeypatch.setattr(confusion_module, "_MAX_PIXELS_PER_HIST", 100)
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 3, (50, 40)).astype(np.uint8)
    pred = rng.integers(0, 3, (50, 40)).astype(np.uint8)
    cm = ConfusionMatrix(3)
    cm.update(gt, pred)
    expected = np.bincount(3 * gt.ravel().astype(int) + pred.ravel(), minlength=9).reshape(3, 3)
    assert np.array_equal(cm.matrix, expected)


def test_bad_inputs_raise_data_errors():
    cm = ConfusionMatrix(3)
    with pytest.raises(DataError, match="neither a class"):
        cm.update(np.array([0, 5], np.uint8), np.array([0, 0], np.uint8))
    with pytest.raises(DataError, match="neither a class"):
        cm.add_miss(np.array([4], np.uint8))
    with pytest.raises(DataError, match="differs from label size"):
        cm.update(np.zeros((2, 2), np.uint8), np.zeros((2, 3), np.uint8))
    with pytest.raises(DataError, match="integer prediction"):
        cm.update(np.zeros(2, np.uint8), np.zeros(2, np.float32))
    with pytest.raises(DataError):
        ConfusionMatrix(0)
    assert cm.matrix.sum() == 0 and np.isnan(cm.miou())
