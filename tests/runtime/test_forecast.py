"""The label-map forecasters (flame.runtime.forecast) on hand-made motion."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from flame.core.errors import ConfigError
from flame.runtime.forecast import FORECASTERS, FlowForecast, make_forecaster, thing_classes

H, W = 128, 256
SIDE = 30
CLASSES = ["ground", "car"]
_rng = np.random.default_rng(0)
_BG = cv2.GaussianBlur((_rng.random((H, W, 3)) * 255).astype(np.uint8), (5, 5), 1.0)
_TEX = cv2.GaussianBlur((_rng.random((SIDE, SIDE, 3)) * 255).astype(np.uint8), (3, 3), 0.8)


def scene(x: int, y: int) -> tuple[np.ndarray, np.ndarray]:
    """A textured square (class 1, 'car') with its top-left corner at (x, y) over a textured background."""
    image = _BG.copy()
    image[y:y + SIDE, x:x + SIDE] = _TEX
    labels = np.zeros((H, W), np.uint8)
    labels[y:y + SIDE, x:x + SIDE] = 1
    return image, labels


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.mark.parametrize("frames_ahead", [1, 2, 3])
def test_translating_square_lands_where_it_truly_is(frames_ahead):
    vx, vy, fps = 5, 2, 30.0  # pixels per frame
    previous, _ = scene(60, 40)
    image, labels = scene(60 + vx, 40 + vy)
    _, truth = scene(60 + vx * (1 + frames_ahead), 40 + vy * (1 + frames_ahead))
    forecast = make_forecaster("flow", CLASSES)(labels, image, previous, 1 / fps, frames_ahead / fps)
    assert forecast.method == "flow" and forecast.fallback is None
    assert iou(forecast.labels == 1, truth == 1) >= 0.9
    # Without a forecast the labels stay behind: the check above is not trivially met.
    assert iou(labels == 1, truth == 1) < 0.75
    # The pixels the square left are background again.
    assert (forecast.labels[40 + vy:40 + vy + SIDE, 60 + vx:60 + vx + 2] == 0).all()


def test_still_scene_is_unchanged():
    image, labels = scene(100, 50)
    forecast = make_forecaster("flow", CLASSES)(labels, image, image.copy(), 1 / 30, 3 / 30)
    np.testing.assert_array_equal(forecast.labels, labels)


def test_horizon_is_time_not_frames():
    # The square moved 4 px between two frames 0.1 s apart (a 10 fps source, or frames dropped
    # in between): a horizon of 0.05 s moves it 2 px more, 0.3 s moves it 12 px.
    previous, _ = scene(40, 50)
    image, labels = scene(44, 50)
    forecaster = make_forecaster("flow", CLASSES)
    for horizon, shift in ((0.05, 2), (0.3, 12)):
        _, truth = scene(44 + shift, 50)
        out = forecaster(labels, image, previous, 0.1, horizon).labels
        assert iou(out == 1, truth == 1) >= 0.9, horizon
        columns = np.nonzero((out == 1).any(axis=0))[0]
        assert abs(int(columns[0]) - (44 + shift)) <= 1


def test_background_only_labels_are_warped():
    # No thing class: the whole map moves with the flow (a panning camera over a two-class edge).
    big = cv2.GaussianBlur((_rng.random((H, W + 40, 3)) * 255).astype(np.uint8), (5, 5), 1.0)
    labels = np.zeros((H, W), np.uint8)
    labels[:, 120:] = 1
    previous, image = big[:, 20:20 + W], big[:, 14:14 + W]  # the scene moves 6 px right per frame
    out = FlowForecast(things=())(labels, image, previous, 1 / 30, 1 / 30).labels
    edge = int(np.argmax(out[H // 2] == 1))
    assert abs(edge - 126) <= 1


def test_one_frame_falls_back_to_none_and_says_why():
    image, labels = scene(60, 40)
    forecast = make_forecaster("flow", CLASSES)(labels, image, None, 0.0, 0.1)
    assert forecast.method == "none" and "no earlier source frame" in forecast.fallback
    assert forecast.labels is labels


def test_none_is_identity_and_registry_names_its_methods():
    image, labels = scene(60, 40)
    assert make_forecaster("none")(labels, image, image, 1 / 30, 1.0).labels is labels
    assert set(FORECASTERS) >= {"none", "flow"}
    with pytest.raises(ConfigError, match="unknown forecast method 'magic'; choose one of none, flow"):
        make_forecaster("magic")
    with pytest.raises(ConfigError, match="unknown optical flow"):
        make_forecaster("flow", flow="nope")
    assert thing_classes(["road", "Car", "person", "sky", "ball"]) == (1, 2, 4)


@pytest.mark.parametrize("dtype", [np.uint16, np.int32, np.int64])
def test_wider_label_types_give_the_same_forecast_in_their_own_type(dtype):
    previous, _ = scene(60, 40)
    image, labels = scene(65, 42)
    forecaster = make_forecaster("flow", CLASSES)
    expected = forecaster(labels, image, previous, 1 / 30, 2 / 30).labels
    out = forecaster(labels.astype(dtype), image, previous, 1 / 30, 2 / 30).labels
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, expected)
