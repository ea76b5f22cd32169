"""The host reference of foreign models against hand-computed values: normalisation conventions, pre- and postprocessing."""

import numpy as np
import pytest

from flame.core.errors import ConfigError
from flame.export.host_reference import host_postprocess, host_preprocess, preprocessing


def test_zero_one_scale_is_read_as_such_and_scaled_to_bytes():
    pre = preprocessing("0.485,0.456,0.406", "0.229,0.224,0.225")
    assert pre.scale == "0-1" and pre.channels == "rgb"
    assert pre.mean == pytest.approx((123.675, 116.28, 103.53))
    assert pre.std == pytest.approx((58.395, 57.12, 57.375))


def test_values_above_one_mean_the_0_255_scale():
    pre = preprocessing("123.675,116.28,103.53", "58.395,57.12,57.375")
    assert pre.scale == "0-255"
    assert pre.mean == pytest.approx((123.675, 116.28, 103.53))
    # Caffe-style: a 0..255 mean with std 1 is still the 0..255 scale (one value above 1 decides).
    assert preprocessing("103.94,116.78,123.68", "1,1,1").std == (1.0, 1.0, 1.0)
    # Raw pixels with 0/1 statistics read as 0..1 unless the scale is said.
    assert preprocessing("0,0,0", "1,1,1").std == (255.0, 255.0, 255.0)
    assert preprocessing("0,0,0", "1,1,1", scale="0-255").std == (1.0, 1.0, 1.0)


def test_default_is_imagenet_in_the_models_channel_order():
    rgb, bgr = preprocessing(), preprocessing(channels="bgr")
    assert rgb.mean == pytest.approx((123.675, 116.28, 103.53))
    assert bgr.mean == pytest.approx((103.53, 116.28, 123.675))
    # The card stores RGB on the 0..1 scale either way.
    assert bgr.rgb01()[0] == pytest.approx((0.485, 0.456, 0.406))


@pytest.mark.parametrize("mean,std,channels", [("1,2", None, "rgb"), ("a,b,c", None, "rgb"),
                                               (None, "0.2,0,0.2", "rgb"), (None, None, "rgba")])
def test_bad_normalisation_is_one_config_error(mean, std, channels):
    with pytest.raises(ConfigError):
        preprocessing(mean, std, channels)


def test_host_preprocess_hand_values():
    # One pixel, BGR bytes (10, 20, 30): R=30, G=20, B=10.
    frames = np.array([[[[10, 20, 30]]]], np.uint8)
    pre = preprocessing("0.5,0.5,0.5", "0.25,0.25,0.25")  # mean 127.5, std 63.75 on bytes
    x = host_preprocess(frames, pre)
    assert x.shape == (1, 3, 1, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x.ravel(), [(30 - 127.5) / 63.75, (20 - 127.5) / 63.75, (10 - 127.5) / 63.75],
                               rtol=1e-6)
    bgr = host_preprocess(frames, preprocessing("0.5,0.5,0.5", "0.25,0.25,0.25", channels="bgr"))
    np.testing.assert_allclose(bgr.ravel(), [(10 - 127.5) / 63.75, (20 - 127.5) / 63.75, (30 - 127.5) / 63.75],
                               rtol=1e-6)


def test_host_preprocess_stacks_a_window_oldest_first():
    old = np.zeros((1, 1, 3), np.uint8)
    new = np.full((1, 1, 3), 255, np.uint8)
    x = host_preprocess(np.stack([old, new]), preprocessing("0,0,0", "1,1,1", scale="0-255"))
    assert x.shape == (1, 6, 1, 1)
    np.testing.assert_array_equal(x.ravel(), [0, 0, 0, 255, 255, 255])


def test_host_postprocess_upsamples_scores_bilinearly_then_takes_argmax():
    # Two classes on a 1x2 map: class 1 wins on the left, class 0 on the right. Upsampled to 2x4 with
    # half-pixel centres, columns 0-1 lean left and columns 2-3 lean right.
    scores = np.array([[[[0.0, 1.0]], [[1.0, 0.0]]]], np.float32)  # [1, 2, 1, 2]
    labels = host_postprocess(scores, "scores", (2, 4))
    np.testing.assert_array_equal(labels, [[1, 1, 0, 0], [1, 1, 0, 0]])
    logits = host_postprocess(scores, "scores", (2, 4), "logits")
    # Column 1 of 4 sits at source x = (1 + 0.5) / 2 - 0.5 = 0.25: 0.75 * 0 + 0.25 * 1 for class 0.
    assert logits.shape == (2, 2, 4) and logits[0, 0, 1] == pytest.approx(0.25)


def test_host_postprocess_resizes_class_ids_with_nearest_neighbour():
    ids = np.array([[[0, 1], [2, 3]]], np.int64)  # [1, 2, 2]
    labels = host_postprocess(ids, "labels", (4, 4))
    assert labels.dtype == np.uint8
    np.testing.assert_array_equal(labels, [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]])
