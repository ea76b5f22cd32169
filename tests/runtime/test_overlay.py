"""The overlay's text at both ends of common video sizes (issue 22: cut at 320x240, a legend a third wide).

The frames are also written to ``$TMPDIR/flame-overlay-*.png`` for a look.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from flame.runtime.frames import Frame
from flame.runtime.overlay import draw_overlay, heads_up_text, palette_lut
from flame.runtime.overlay_text import (LEGEND_MAX_FRACTION, draw_legend, draw_status, overlay_scale,
                                        status_layout)
from flame.runtime.stream_result import FrameResult, LiveStats

NAMES = ["road", "sidewalk", "building", "vegetation", "traffic light", "motorcycle"]
LUT = palette_lut([(128, 64, 128), (244, 35, 232), (70, 70, 70), (107, 142, 35), (250, 170, 30), (0, 0, 230)])
# Wide figures: the longest status line a real run prints.
STATS = LiveStats(latency_ms=1234.5, engine_ms=1100.2, fps_out=0.8, k=37, fps=29.97, processed=99999,
                  dropped=123456)


def _scene(height: int, width: int) -> FrameResult:
    y, x = np.mgrid[:height, :width]
    image = np.stack([(x * 255 // width), (y * 255 // height), np.full_like(x, 128)], -1).astype(np.uint8)
    labels = ((x * 3 // width) + 3 * (y * 2 // height)).astype(np.uint8)  # six blocks, every class on screen
    return FrameResult(Frame(image, 0, 0, 0.0), (), labels, STATS.latency_ms, STATS.engine_ms, STATS)


@pytest.mark.parametrize("height, width", [(240, 320), (1080, 1920)])
def test_status_and_legend_fit_the_frame(height, width):
    result = _scene(height, width)
    canvas = draw_overlay(result, LUT, class_names=NAMES)
    cv2.imwrite(str(Path(tempfile.gettempdir()) / f"flame-overlay-{height}x{width}.png"), canvas)
    layout = status_layout(STATS, height, width)
    boxes = draw_status(result.frame.image.copy(), layout)
    # Every figure is shown (the short form keeps them all), each line wholly inside the frame and the strip.
    shown = " ".join(layout.lines)
    for figure in ("1234.5", "1100.2", "0.8 fps", "k=37", "123456"):
        assert figure in shown, (figure, layout.lines)
    for x0, y0, x1, y1 in boxes:
        assert 0 <= x0 and x1 <= width and 0 <= y0 and y1 <= layout.bar <= height, (boxes, layout)
    legend = draw_legend(result.frame.image.copy(), result.labels, NAMES, LUT, top=layout.bar)
    assert len(legend) == 6
    panel_left = legend[0][0] - 4
    assert (width - panel_left) / width <= LEGEND_MAX_FRACTION
    assert legend[-1][3] <= height and legend[0][1] >= layout.bar
    # The drawn frame holds the legend's swatches where they were laid out.
    x0, y0, x1, y1 = legend[2]
    assert (canvas[y0:y1, x0:x1] == LUT[2, 0]).all()


def test_text_scales_with_the_frame():
    small, large = status_layout(STATS, 240, 320), status_layout(STATS, 1080, 1920)
    assert overlay_scale(240, 320) == 0.4 and overlay_scale(1080, 1920) == pytest.approx(1.2)
    assert large.line_height >= 2 * small.line_height
    # 1920 wide: the full line fits on one line; 320 wide: the short form; 160 wide: the short form, wrapped.
    assert large.lines == [heads_up_text(_scene(8, 8))]
    assert small.lines == ["1234.5 ms  eng 1100.2  0.8 fps  k=37@29.97  drop 123456"]
    tiny = status_layout(STATS, 120, 160)
    assert len(tiny.lines) >= 2 and " ".join(" ".join(tiny.lines).split()) == " ".join(small.lines[0].split())
    assert all(x1 <= 160 for _, _, x1, _ in draw_status(np.zeros((120, 160, 3), np.uint8), tiny))
