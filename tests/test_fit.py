"""``--fit stretch|crop|pad``: the geometry by hand, and labels mapped back to the frame exactly."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from flame.core.errors import ConfigError
from flame.core.fit import UNSEEN, aspect_notice, fit_box


def _nearest(image, size):
    return cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)


def _blocks(height, width, block=2):
    """A label map constant on block x block tiles (so a halving and its map back are exact)."""
    tiles = np.arange((height // block) * (width // block), dtype=np.int64).reshape(height // block, width // block)
    return np.kron(tiles % 19, np.ones((block, block), dtype=np.int64)).astype(np.uint8)


def test_the_boxes_of_a_4_3_video_on_a_2_1_engine():
    # 576x768 (4:3) into 512x1024 (2:1). crop: full width, height 768 * 512 / 1024 = 384, centred: rows 96..480.
    crop = fit_box("crop", (576, 768), (512, 1024))
    assert crop.source == (96, 480, 0, 768) and crop.target == (0, 512, 0, 1024)
    # pad: scale min(512/576, 1024/768) = 8/9: 512 x round(768 * 8/9) = 683 wide, centred from (1024 - 683) // 2.
    pad = fit_box("pad", (576, 768), (512, 1024))
    assert pad.source == (0, 576, 0, 768) and pad.target == (0, 512, 170, 853)
    stretch = fit_box("stretch", (576, 768), (512, 1024))
    assert stretch.source == (0, 576, 0, 768) and stretch.target == (0, 512, 0, 1024)
    with pytest.raises(ConfigError, match="fit"):
        fit_box("zoom", (576, 768), (512, 1024))


@pytest.mark.parametrize("mode, input_size, seen", [
    ("crop", (80, 160), (slice(40, 200), slice(0, 320))),  # a 160x320 band of the 240x320 frame, halved
    ("pad", (160, 160), (slice(0, 240), slice(0, 320))),  # the frame halved to 120x160, rows 20..140 of the input
    ("stretch", (120, 160), (slice(0, 240), slice(0, 320))),
])
def test_labels_map_back_to_the_frame_exactly(mode, input_size, seen):
    truth = _blocks(240, 320)
    box = fit_box(mode, (240, 320), input_size)
    # An engine that labels each pixel with the frame's own label there: its input is the label map, fitted.
    engine_labels = box.to_input(truth[..., None], lambda image, size: _nearest(image, size)[..., None])[..., 0]
    assert engine_labels.shape == input_size
    back = box.labels_to_frame(engine_labels)
    assert back.shape == (240, 320)
    assert np.array_equal(back[seen], truth[seen])
    unseen = np.ones((240, 320), bool)
    unseen[seen] = False
    assert (back[unseen] == UNSEEN).all()
    if mode == "pad":  # the bars above and below the frame stay black in the input
        assert (engine_labels[:20] == 0).all() and (engine_labels[140:] == 0).all()


def test_a_reused_buffer_is_cleared_for_pad():
    box = fit_box("pad", (240, 320), (160, 160))
    out = np.full((160, 160, 3), 7, np.uint8)
    box.to_input(np.full((240, 320, 3), 200, np.uint8), _nearest, out=out)
    assert (out[:20] == 0).all() and (out[20:140] == 200).all() and (out[140:] == 0).all()


def test_a_stretch_of_another_aspect_ratio_gets_a_notice():
    said = aspect_notice((576, 768), (512, 1024), "stretch")
    assert said is not None and "576x768" in said and "512x1024" in said and "1.33" in said and "2.00" in said
    assert aspect_notice((1024, 2048), (512, 1024), "stretch") is None
    assert aspect_notice((500, 1024), (512, 1024), "stretch") is None  # ratios 2.048 and 2: 2.4% apart
    assert aspect_notice((540, 1024), (512, 1024), "stretch") is not None  # 1.896 and 2: 5.2% apart
    assert aspect_notice((576, 768), (512, 1024), "crop") is None and aspect_notice((576, 768), (512, 1024), "pad") is None
