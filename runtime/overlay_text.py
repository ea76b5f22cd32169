"""The overlay's text, sized to the frame: the heads-up lines and the class legend.

One font scale follows the frame (:func:`overlay_scale`), so a 320x240 video
and a 1920x1080 one read alike. The heads-up line is shortened, then wrapped,
until every line fits inside the frame (:func:`status_layout`); the legend's
panel takes at most :data:`LEGEND_MAX_FRACTION` of the width (smaller text,
then shortened names). Drawing functions return the boxes they drew, so tests
check the layout without reading pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from flame.runtime.stream_result import LiveStats

FONT = cv2.FONT_HERSHEY_SIMPLEX
#: Font scale on a 1280x720 frame; others scale with the smaller of their two ratios to it, within the bounds.
BASE_SCALE, MIN_SCALE, MAX_SCALE = 0.8, 0.4, 2.0
#: Pixels kept free at the frame's edges.
MARGIN = 6
#: The most of the frame's width the legend's panel may take.
LEGEND_MAX_FRACTION = 0.25

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive ends)


def overlay_scale(height: int, width: int) -> float:
    """The overlay's font scale for a frame of ``height`` x ``width``."""
    return float(np.clip(BASE_SCALE * min(width / 1280.0, height / 720.0), MIN_SCALE, MAX_SCALE))


def thickness(scale: float) -> int:
    """Stroke width for a font scale (1 pixel at small scales)."""
    return max(1, int(round(scale * 1.5)))


def heads_up_parts(stats: LiveStats, short: bool = False) -> list[str]:
    """The heads-up figures (latency, engine, output fps, k at the source fps, dropped), long or short form."""
    k_known = stats.k is not None and stats.fps
    if short:
        k = f"k={stats.k}@{stats.fps:.4g}" if k_known else "k=?"
        return [f"{stats.latency_ms:.1f} ms", f"eng {stats.engine_ms:.1f}", f"{stats.fps_out:.1f} fps", k,
                f"drop {stats.dropped}"]
    k = f"k={stats.k} @ {stats.fps:.4g} fps" if k_known else "k=?"
    return [f"latency {stats.latency_ms:.1f} ms", f"engine {stats.engine_ms:.1f} ms", f"{stats.fps_out:.1f} fps", k,
            f"dropped {stats.dropped}"]


@dataclass(frozen=True)
class StatusLayout:
    """Where the heads-up text goes: ``lines`` at font ``scale``, ``line_height`` apart, over a strip ``bar`` high."""

    scale: float
    lines: list[str]
    line_height: int
    bar: int


def _text_width(text: str, scale: float) -> int:
    return cv2.getTextSize(text, FONT, scale, thickness(scale))[0][0]


def _wrap(parts: list[str], scale: float, room: int) -> list[str]:
    """Parts joined two spaces apart, a new line whenever the next would not fit in ``room`` pixels."""
    lines: list[str] = []
    for part in parts:
        if lines and _text_width(f"{lines[-1]}  {part}", scale) <= room:
            lines[-1] = f"{lines[-1]}  {part}"
        else:
            lines.append(part)
    return lines


def _status_lines(stats: LiveStats, scale: float, room: int) -> list[str]:
    """The long form on one line if it fits ``room`` pixels, else the short form, else the short form wrapped."""
    for parts in (heads_up_parts(stats), heads_up_parts(stats, short=True)):
        if _text_width("  ".join(parts), scale) <= room:
            return ["  ".join(parts)]
    return _wrap(heads_up_parts(stats, short=True), scale, room)


def status_layout(stats: LiveStats, height: int, width: int) -> StatusLayout:
    """The heads-up lines for a frame: the long form on one line if it fits, else the short form, else wrapped.

    On a frame too small for that (a part wider than the frame, or lines over a
    third of its height) the font shrinks until they fit.
    """
    scale = 0.9 * overlay_scale(height, width)
    room = width - 2 * MARGIN
    while True:
        lines = _status_lines(stats, scale, room)
        (_, text_h), baseline = cv2.getTextSize("Ag", FONT, scale, thickness(scale))
        line_height = text_h + baseline + 4
        layout = StatusLayout(scale, lines, line_height, MARGIN + line_height * len(lines))
        fits = layout.bar <= max(height // 3, MARGIN + line_height) and max(_text_width(x, scale) for x in lines) <= room
        if fits or scale < 0.15:
            return layout
        scale *= 0.85


def draw_status(canvas: np.ndarray, layout: StatusLayout) -> list[Box]:
    """Darken the strip and write the heads-up lines on it (in place); returns each line's text box."""
    canvas[:layout.bar] //= 3  # a dark strip so the text reads on any frame
    boxes = []
    weight = thickness(layout.scale)
    for i, line in enumerate(layout.lines):
        (text_w, text_h), baseline = cv2.getTextSize(line, FONT, layout.scale, weight)
        y = MARGIN // 2 + (i + 1) * layout.line_height - baseline - 2
        cv2.putText(canvas, line, (MARGIN, y), FONT, layout.scale, (255, 255, 255), weight, cv2.LINE_AA)
        boxes.append((MARGIN, y - text_h, MARGIN + text_w, y + baseline))
    return boxes


def legend_classes(labels: np.ndarray, num_classes: int, limit: int) -> list[int]:
    """The class ids on screen, in id order (the ``limit`` largest when more are).

    Args:
        labels: integer ``[H, W]`` label map as shown.
        num_classes: ids at or above it (void, out of range) are left out.
        limit: the most entries that fit.

    Returns:
        Class ids, ascending.
    """
    ids = labels if labels.dtype == np.uint8 else np.clip(labels, 0, 255).astype(np.uint8)  # engines give uint8
    counts = np.bincount(ids.ravel(), minlength=256)[:num_classes]
    present = np.flatnonzero(counts)
    if len(present) > limit:
        present = np.sort(present[np.argsort(-counts[present], kind="stable")[:max(0, limit)]])
    return [int(c) for c in present]


def _fit_names(names: list[str], scale: float, room: int) -> tuple[list[str], float]:
    """Names and a font scale whose widest name fits ``room`` pixels: a smaller font first, then cut names."""
    widest = max(_text_width(n, scale) for n in names)
    if widest <= room:
        return names, scale
    scale = max(MIN_SCALE * 0.8, scale * room / widest)
    fitted = []
    for name in names:
        while len(name) > 1 and _text_width(name, scale) > room:
            name = name[:-2] + "."
        fitted.append(name)
    return fitted, scale


def draw_legend(canvas: np.ndarray, labels: np.ndarray, class_names: Sequence[str], lut: np.ndarray,
                top: int = 0, scale: float | None = None) -> list[Box]:
    """Draw, at the right edge below ``top``, a swatch and the name of each class on screen (in place).

    The panel takes at most :data:`LEGEND_MAX_FRACTION` of the width.

    Args:
        canvas: the BGR image to draw on.
        labels: the label map as shown (the canvas's size).
        class_names: name per class id.
        lut: from :func:`flame.runtime.overlay.palette_lut` (the swatch colours).
        top: first row free for the legend (below the heads-up lines).
        scale: font scale (default: :func:`overlay_scale` of the canvas).

    Returns:
        The swatches as ``(x0, y0, x1, y1)`` (exclusive ends), one per class drawn, in id order.
    """
    height, width = canvas.shape[:2]
    scale = overlay_scale(height, width) if scale is None else scale
    row = int(round(30 * scale)) + 4  # a swatch and the gap to the next
    classes = legend_classes(labels, len(class_names), (height - top - 4) // row)
    if not classes:
        return []
    swatch = int(round(20 * scale)) + 2
    names, font_scale = _fit_names([class_names[c] for c in classes], scale,
                                   int(LEGEND_MAX_FRACTION * width) - swatch - 18)
    weight = thickness(font_scale)
    text_w = max(_text_width(n, font_scale) for n in names)
    x0 = max(0, width - (swatch + text_w + 18))
    y0, y1 = top + 2, min(height, top + 4 + row * len(classes))
    canvas[y0:y1, x0:] //= 3  # a dark panel so the names read on any frame
    boxes = []
    for i, (c, name) in enumerate(zip(classes, names)):
        y = top + 4 + i * row
        box = (x0 + 4, y, min(width, x0 + 4 + swatch), min(height, y + swatch))
        canvas[box[1]:box[3], box[0]:box[2]] = lut[c, 0]
        cv2.putText(canvas, name, (box[2] + 5, y + swatch - 1), FONT, font_scale, (255, 255, 255), weight,
                    cv2.LINE_AA)
        boxes.append(box)
    return boxes
