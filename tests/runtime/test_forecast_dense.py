"""The ``dense`` forecaster (flame.runtime.forecast.dense): each pixel moved by its own flow."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from flame.core.errors import ConfigError
from flame.runtime.forecast import DenseFlowForecast, make_forecaster

H, W = 128, 256
_rng = np.random.default_rng(1)
#: A large, smooth texture: the flow of any part of it is unambiguous.
_WORLD = cv2.GaussianBlur((_rng.random((3 * H, 3 * W, 3)) * 255).astype(np.uint8), (7, 7), 1.5)


def view(x: float, y: float, zoom: float = 1.0) -> np.ndarray:
    """The camera's image of the textured world: centred at (x, y) of the world, magnified by ``zoom``."""
    # Output pixel p shows world point centre + (p - image centre) / zoom.
    cx, cy = 1.5 * W + x, 1.5 * H + y
    matrix = np.float32([[1 / zoom, 0, cx - (W / 2) / zoom], [0, 1 / zoom, cy - (H / 2) / zoom]])
    return cv2.warpAffine(_WORLD, matrix, (W, H), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)


def stripes(shift: float) -> np.ndarray:
    """Labels 0..3 in vertical bands 16 pixels wide, moved right by ``shift`` pixels (the panning camera's labels)."""
    xs = np.arange(W)[None, :] - shift
    return np.broadcast_to((np.floor(xs / 16) % 4).astype(np.uint8), (H, W)).copy()


@pytest.mark.parametrize("frames_ahead", [1, 2, 3])
def test_a_panning_camera_moves_every_label_by_the_extrapolated_shift(frames_ahead):
    # The camera pans left 3 pixels per frame: the scene, labels included, moves right by 3.
    previous, image = view(3, 0), view(0, 0)
    labels, truth = stripes(0), stripes(3 * frames_ahead)
    forecast = make_forecaster("dense", [])(labels, image, previous, 1 / 30, frames_ahead / 30)
    assert forecast.method == "dense" and forecast.fallback is None
    inner = np.s_[8:-8, 8 + 3 * frames_ahead:-8]  # away from the edge the scene enters at
    agree = float((forecast.labels[inner] == truth[inner]).mean())
    unmoved = float((labels[inner] == truth[inner]).mean())
    assert agree > 0.97 and unmoved < 1 - 3 * frames_ahead / 16 + 0.02, (agree, unmoved)


def test_driving_forward_the_labels_expand_from_the_focus_of_expansion():
    # The camera approaches: 5 % magnification per frame about the image centre (the focus of expansion).
    zoom = 1.05
    previous, image = view(0, 0, 1.0), view(0, 0, zoom)
    ys, xs = np.mgrid[0:H, 0:W]
    radius = np.hypot(xs - W / 2, ys - H / 2)
    labels = (radius < 30 * zoom).astype(np.uint8)  # a disk of world radius 30, seen at this frame's zoom
    gain = 2.0
    forecast = DenseFlowForecast()(labels, image, previous, 1 / 30, gain / 30).labels
    # Constant image velocity: p - c moved by gain * (1 - 1/zoom) of itself per interval, so the label at p
    # comes from c + (p - c) * (1 - gain * (1 - 1/zoom)) and the disk's radius grows by 1 / that factor.
    want = 30 * zoom / (1 - gain * (1 - 1 / zoom))
    area_radius = np.sqrt(forecast.sum() / np.pi)
    assert abs(area_radius - want) < 1.0, (area_radius, want, 30 * zoom)
    assert forecast[H // 2, W // 2] == 1 and forecast[0, 0] == 0


def test_labels_keep_their_size_and_dtype_whatever_the_frames():
    previous, image = view(2, 1), view(0, 0)
    for dtype in (np.uint8, np.uint16, np.int32, np.int64):
        labels = stripes(0).astype(dtype) * 1000 if dtype in (np.int32, np.int64) else stripes(0).astype(dtype)
        out = DenseFlowForecast()(labels, image, previous, 1 / 30, 1 / 30).labels
        assert out.dtype == dtype and out.shape == labels.shape
        assert set(np.unique(out)) <= set(np.unique(labels))  # nearest labels only, never a blend
    # Labels at twice the frames' size (an engine whose output is larger than its input).
    big = cv2.resize(stripes(0), (2 * W, 2 * H), interpolation=cv2.INTER_NEAREST)
    out = DenseFlowForecast()(big, image, previous, 1 / 30, 2 / 30).labels
    truth = cv2.resize(stripes(4), (2 * W, 2 * H), interpolation=cv2.INTER_NEAREST)
    assert out.shape == big.shape and float((out[16:-16, 32:-16] == truth[16:-16, 32:-16]).mean()) > 0.95


def test_what_it_cannot_do_falls_back_or_keeps_the_labels():
    labels, image = stripes(0), view(0, 0)
    forecaster = DenseFlowForecast()
    none = forecaster(labels, image, None, 0.0, 0.1)
    assert none.method == "none" and "no earlier source frame" in none.fallback and none.labels is labels
    same_time = forecaster(labels, image, image, 0.0, 0.1)
    assert same_time.method == "none" and "not older" in same_time.fallback
    now = forecaster(labels, image, view(3, 0), 1 / 30, 0.0)
    assert now.fallback is None and np.array_equal(now.labels, labels)
    with pytest.raises(ConfigError, match="working width >= 16"):
        DenseFlowForecast(width=8)
