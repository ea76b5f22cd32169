"""Point labels of the choice plot do not print on each other."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")

from flame.apps.plots import _label_points, _pyplot  # noqa: E402


def test_labels_of_coinciding_points_are_stacked_and_far_ones_are_not():
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    points = {"onnx 64x128": (7.3, 0.4046), "onnx-fp16 64x128": (6.7, 0.4046), "onnx-int8 64x128": (4.3, 0.4033),
              "onnx 128x256": (18.2, 0.6480)}
    for x, y in points.values():
        ax.plot([x], [y], "o")
    _label_points(ax, list(points.items()))
    lifts = {text.get_text(): text.xyann[1] for text in ax.texts}
    plt.close(fig)
    # Three labels near each other at the bottom left each get their own line; the lone one keeps the default.
    near = sorted(lifts[name] for name in ("onnx 64x128", "onnx-fp16 64x128", "onnx-int8 64x128"))
    assert near == [4.0, 13.0, 22.0]
    assert lifts["onnx 128x256"] == 4.0
