"""--fit through the real-time loop: crop and pad map the labels back onto the frame exactly (issue 22)."""

from __future__ import annotations

import numpy as np
import pytest
from flame_testing.tiny_engines import write_tiny_onnx

from flame.runtime.engines import load_engine
from flame.runtime.overlay import draw_overlay, palette_lut
from flame.runtime.run_report import build_run_report
from flame.runtime.stream import Stream


class KeepResults:
    """An output that keeps every FrameResult."""

    def __init__(self):
        self.results = []

    def __call__(self, result):
        self.results.append(result)

    def close(self):
        pass


@pytest.mark.parametrize("fit", ["stretch", "crop", "pad"])
def test_fit_crops_or_letterboxes_and_the_labels_map_back_exactly(tmp_path, fit):
    # Issue 22: a 4:3 video was squeezed into a 2:1 engine with no word. The engine (48x64) labels a pixel
    # floor(grey * 4 / 256): 250 -> 3, 10 -> 0. The 96x256 frame is bright at both ends, dark in its middle half.
    from flame.runtime.file_sources import ArraySource

    frame = np.full((96, 256, 3), 250, np.uint8)
    frame[:, 64:192] = 10
    engine = load_engine(write_tiny_onnx(tmp_path / "tiny.onnx", 1, (48, 64), classes=4))
    keep = KeepResults()
    with engine:
        result = Stream(engine, ArraySource([frame] * 3, fps=10), warmup=0, outputs=[keep], fit=fit).run()
    assert result.summary()["fit"] == fit and build_run_report(result, engine).fit == fit
    labels = keep.results[0].labels
    if fit == "stretch":  # the whole frame squeezed in: both classes seen, no geometry to map back
        assert keep.results[0].fit is None and set(np.unique(labels)) == {0, 3}
        return
    back = keep.results[0].fit.labels_to_frame(labels)
    assert back.shape == (96, 256)
    if fit == "crop":  # the centred 96x128 box (the engine's 3:4 ratio) is the dark middle: all class 0
        assert (labels == 0).all() and (back[:, 64:192] == 0).all() and (back[:, :64] == 255).all() \
            and (back[:, 192:] == 255).all()
    else:  # pad: the frame at 24x64 (a quarter) in rows 12..36 of the input, black bars (class 0) around
        assert (labels[:12] == 0).all() and (labels[36:] == 0).all() and (labels[12:36, :16] == 3).all()
        assert (back[:, :64] == 3).all() and (back[:, 64:192] == 0).all() and (back[:, 192:] == 3).all()
    # The overlay draws the labels mapped back: unseen pixels (crop) are black in the palette, so darker.
    canvas = draw_overlay(keep.results[0], palette_lut([(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 0, 255)]))
    assert canvas.shape == frame.shape
