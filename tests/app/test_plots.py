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


def test_a_label_at_the_right_edge_is_placed_inside_the_axes():
    # Issue 22: the rightmost point's label ran into the figure's edge.
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    points = {"onnx-int8 512x1024": (4.3, 0.40), "tensorrt-fp16 512x1024": (18.2, 0.65)}
    for x, y in points.values():
        ax.plot([x], [y], "o")
    _label_points(ax, list(points.items()))
    fig.canvas.draw()
    boxes = {text.get_text(): text.get_window_extent() for text in ax.texts}
    right, left = ax.get_window_extent().x1, ax.get_window_extent().x0
    plt.close(fig)
    for name, box in boxes.items():
        assert left <= box.x0 and box.x1 <= right, (name, box, right)
    assert boxes["onnx-int8 512x1024"].x0 > ax.transData.transform(points["onnx-int8 512x1024"])[0]  # right of it


def _segments(ax):
    """Every drawn segment of the axes' lines as ((x0, y0), (x1, y1)), breaks (NaN) and markers left out."""
    import numpy as np

    for line in (line for line in ax.lines if line.get_linestyle() not in ("None", "", " ")):
        xy = np.column_stack(line.get_data()).astype(float)
        for a, b in zip(xy[:-1], xy[1:]):
            if np.isfinite(a).all() and np.isfinite(b).all():
                yield tuple(a), tuple(b)


def test_flame_against_latency_is_a_step_curve_even_where_offsets_are_missing(tmp_path):
    # Issue 22: flame-eval --plot joined k = 0 and k = 2 with a slanted line.
    from flame.apps.plots import plot_report

    plt = _pyplot()
    report = {"flame_by_k": {"0": 1.0, "2": 0.41, "3": 0.30}, "fps": 30.0, "latency_ms": {"value": 50.0},
              "flame": 0.41, "k": 2, "classes": ["a", "b"], "per_class_iou": {"a": 1.0, "b": 1.0},
              "per_class_flame": {"a": 0.5, "b": 0.3}, "dataset": "syn"}
    captured = []
    original = plt.close
    plt.close = lambda fig=None: captured.append(fig)  # keep the figure to read its lines
    try:
        from types import SimpleNamespace

        plot_report(SimpleNamespace(streaming=None, **report), tmp_path / "r.png", title="t")  # the report type's fields
    finally:
        plt.close = original
    ax = captured[0].axes[0]
    segments = list(_segments(ax))
    assert segments and all(a[0] == b[0] or a[1] == b[1] for a, b in segments)  # horizontal or vertical only
    # k=2 holds over (33.3, 66.7] ms and k=3 over (66.7, 100]: joined by a riser at 66.7 ms.
    assert ((1000 / 30 * 2, 0.41), (1000 / 30 * 2, 0.30)) in segments
    plt.close(captured[0])


def test_equal_curves_of_the_demo_both_show(tmp_path):
    # Issue 22: the static line hid under static+flow (equal FLAME at every k).
    from flame.apps.plots import plot_modes

    plt = _pyplot()
    rows = [{"mode": mode, "flame_by_k": {"0": 0.9, "1": 0.6, "2": 0.5}, "latency_ms": {"value": 20.0}, "flame": 0.6}
            for mode in ("static", "static+flow")]
    captured = []
    original = plt.close
    plt.close = lambda fig=None: captured.append(fig)
    try:
        plot_modes(rows, 30.0, tmp_path / "m.png", "t")
    finally:
        plt.close = original
    curves = [line for line in captured[0].axes[0].lines if line.get_label() in ("static", "static+flow")]
    static, flow = curves
    # The later curve is drawn over the earlier one, thinner and dashed: the earlier one shows around it.
    assert flow.get_zorder() > static.get_zorder() and flow.get_linewidth() < static.get_linewidth()
    assert static.get_linestyle() == "-" and flow.get_linestyle() == "--"
    plt.close(captured[0])
