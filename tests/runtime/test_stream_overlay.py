"""The overlay a run draws: the palette blended over the frame, the legend of the classes on screen."""

from __future__ import annotations

import numpy as np

from flame.runtime.overlay import draw_overlay, palette_lut


def test_overlay_blends_the_palette(tmp_path):
    from flame.runtime.frames import Frame
    from flame.runtime.stream import FrameResult, LiveStats

    image = np.full((40, 60, 3), 100, np.uint8)
    labels = np.zeros((20, 30), np.uint8)
    labels[:, 15:] = 1
    stats = LiveStats(41.0, 38.0, 12.0, 2, 30.0, 10, 3)
    canvas = draw_overlay(FrameResult(Frame(image, 0, 0, 0.0), (), labels, 41.0, 38.0, stats),
                          palette_lut([(0, 0, 0), (255, 0, 0)]), alpha=0.5)
    assert canvas.shape == image.shape
    # Bottom-left: class 0 (black) halves the grey; bottom-right: class 1 (red in RGB) lifts the red channel.
    assert tuple(canvas[-1, 5]) == (50, 50, 50)
    assert tuple(canvas[-1, -5]) == (50, 50, 178)


def test_overlay_legend_names_the_classes_on_screen_in_their_colours():
    from flame.runtime.frames import Frame
    from flame.runtime.overlay import draw_legend, legend_classes
    from flame.runtime.overlay_text import status_layout
    from flame.runtime.stream import FrameResult, LiveStats

    names = ["road", "car", "person", "sky"]
    lut = palette_lut([(128, 64, 128), (0, 0, 142), (220, 20, 60), (70, 130, 180)])
    image = np.full((120, 240, 3), 100, np.uint8)
    labels = np.zeros((120, 240), np.uint8)
    labels[60:, 120:] = 2  # road and person on screen; car and sky not
    labels[0, 0] = 255     # void is never listed
    result = FrameResult(Frame(image, 0, 0, 0.0), (), labels, 41.0, 38.0, LiveStats(41.0, 38.0, 12.0, 2, 30.0, 1, 0))
    plain = draw_overlay(result, lut)
    canvas = draw_overlay(result, lut, class_names=names)
    boxes = draw_legend(plain.copy(), labels, names, lut, top=status_layout(result.stats, 120, 240).bar)  # as drawn
    assert len(boxes) == 2  # one entry per class on screen
    for (x0, y0, x1, y1), cls in zip(boxes, [0, 2]):
        # The swatch is the class's palette colour (BGR), unblended.
        assert (canvas[y0:y1, x0:x1] == lut[cls, 0]).all()
        # The name is written (white text) to the right of its swatch.
        assert canvas[y0:y1, x1:].max() > 200
    assert tuple(lut[2, 0]) == (60, 20, 220)  # person: RGB (220, 20, 60)
    # Without names, no legend: the pixels there are the plain blend.
    x0, y0, x1, y1 = boxes[1]
    assert not (plain[y0:y1, x0:x1] == lut[2, 0]).all(axis=-1).any()
    # More classes on screen than rows: the largest ones, listed in id order; ids past the names left out.
    many = np.repeat(np.array([0, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 5, 5, 5, 5, 5], np.uint8), 4).reshape(8, 8)
    assert legend_classes(many, 6, 3) == [2, 3, 5]
    assert legend_classes(many, 4, 10) == [0, 1, 2, 3]
