"""Overlay outputs: the label palette over the frame, a heads-up line, a class legend, a window, a video file.

All of these run after a frame's latency span closes (see
:mod:`flame.runtime.stream`), and stay in OpenCV/numpy: no per-pixel Python.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from flame.core.errors import ConfigError, first_line
from flame.runtime.overlay_text import draw_legend, draw_status, heads_up_parts, legend_classes, status_layout
from flame.runtime.stream_result import FrameResult

__all__ = ["FOURCC", "VideoOutput", "WindowOutput", "colorize", "display_problem", "draw_legend", "draw_overlay",
           "heads_up_text",
           "legend_classes", "palette_lut"]

#: Container suffix -> FourCC that this OpenCV's FFmpeg writes without extra codecs.
FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "MJPG"}


def palette_lut(palette: Sequence[Sequence[int]]) -> np.ndarray:
    """A 256-entry BGR lookup table from an RGB palette (ids past it are black).

    Args:
        palette: RGB colour per class id.

    Returns:
        uint8 ``[256, 1, 3]`` table for ``cv2.LUT``.
    """
    lut = np.zeros((256, 1, 3), dtype=np.uint8)
    colours = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)[:256]
    lut[: len(colours), 0] = colours[:, ::-1]
    return lut


def colorize(labels: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Class ids -> BGR image through a palette table.

    Args:
        labels: integer ``[H, W]`` label map.
        lut: from :func:`palette_lut`.

    Returns:
        uint8 ``[H, W, 3]`` BGR.
    """
    if labels.dtype != np.uint8:
        labels = np.clip(labels, 0, 255).astype(np.uint8)
    return cv2.LUT(cv2.merge((labels, labels, labels)), lut)


def heads_up_text(result: FrameResult) -> str:
    """The heads-up line in full: latency, engine, output fps, k at the source fps, dropped.

    Returns:
        For example ``latency 41.2 ms  engine 38.0 ms  12.3 fps  k=2 @ 30 fps  dropped 0``; the overlay
        shortens or wraps it to the frame (:func:`flame.runtime.overlay_text.status_layout`).
    """
    return "  ".join(heads_up_parts(result.stats))


def draw_overlay(result: FrameResult, lut: np.ndarray, alpha: float = 0.5,
                 class_names: Sequence[str] | None = None) -> np.ndarray:
    """The frame with its labels blended over it, the heads-up line on top and a class legend.

    Args:
        result: the frame's result (labels at the engine's input size).
        lut: from :func:`palette_lut`.
        alpha: weight of the label colours.
        class_names: name per class id; given, the classes on screen are listed with their colour.

    Returns:
        A new uint8 BGR image at the frame's size.
    """
    image = result.frame.image
    height, width = image.shape[:2]
    labels = result.labels
    if result.fit is not None:  # crop or pad: the exact map back (unseen pixels 255, drawn black)
        labels = result.fit.labels_to_frame(labels)
    if labels.shape[:2] != (height, width):
        labels = cv2.resize(labels if labels.dtype == np.uint8 else np.clip(labels, 0, 255).astype(np.uint8),
                            (width, height), interpolation=cv2.INTER_NEAREST)
    canvas = cv2.addWeighted(image, 1.0 - alpha, colorize(labels, lut), alpha, 0.0)
    layout = status_layout(result.stats, height, width)  # text sized to the frame, wrapped to fit it
    draw_status(canvas, layout)
    if class_names:
        draw_legend(canvas, labels, class_names, lut, top=layout.bar)
    return canvas


class VideoOutput:
    """Writes the overlay to a video, via a temporary name renamed at close.

    In real time the video keeps the source's timeline: a processed frame's
    overlay is held over the slots of the frames dropped after it, so playback
    runs at the source's speed.

    Args:
        path: ``.mp4``/``.mkv``/``.mov`` (mp4v) or ``.avi`` (MJPG).
        palette: RGB colour per class.
        fps: frame rate of the written video (the source's).
        keep_timeline: repeat frames for dropped ones (real time).
        size: (H, W) of the video; given, the writer opens now (not in the loop),
            and frames of another size are resized to it.
        class_names: name per class, for the legend (none without).

    Raises:
        ConfigError: on an unsupported suffix or a folder that cannot be written.
    """

    def __init__(self, path: str | os.PathLike, palette: Sequence[Sequence[int]], fps: float,
                 keep_timeline: bool = False, size: tuple[int, int] | None = None,
                 class_names: Sequence[str] | None = None) -> None:
        self.path = Path(path)
        self.class_names = list(class_names) if class_names else None
        fourcc = FOURCC.get(self.path.suffix.lower())
        if fourcc is None:
            raise ConfigError(f"cannot save video as {self.path.name}: use one of {', '.join(FOURCC)}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot write {self.path}: {exc.strerror}") from exc
        if not os.access(self.path.parent, os.W_OK):
            raise ConfigError(f"cannot write {self.path}: folder {self.path.parent} is not writable")
        self.fourcc = fourcc
        self.fps = float(fps)
        self.keep_timeline = keep_timeline
        self.lut = palette_lut(palette)
        self.tmp = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self.written = 0
        self._writer: Any = None
        self._last_index = -1
        self._last_canvas: np.ndarray | None = None
        self._size = size
        if size is not None:
            self._open(size)

    def _open(self, size: tuple[int, int]) -> None:
        # Opening costs tens of ms (FFmpeg setup): done before the loop when the size is known.
        self._size = (int(size[0]), int(size[1]))
        self._writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*self.fourcc), self.fps,
                                       (self._size[1], self._size[0]))
        if not self._writer.isOpened():
            self._writer = None
            raise ConfigError(f"OpenCV cannot write {self.fourcc} video to {self.path}")

    def __call__(self, result: FrameResult) -> None:
        """Draw and write one result (opens the writer on the first if not open)."""
        canvas = draw_overlay(result, self.lut, class_names=self.class_names)
        if self._writer is None:
            self._open(canvas.shape[:2])
        if canvas.shape[:2] != self._size:
            canvas = cv2.resize(canvas, (self._size[1], self._size[0]), interpolation=cv2.INTER_AREA)
        if self.keep_timeline and self._last_canvas is not None:
            # Dropped frames' slots keep showing the previous result, as a robot would see it.
            for _ in range(result.frame.index - self._last_index - 1):
                self._writer.write(self._last_canvas)
                self.written += 1
        self._writer.write(canvas)
        self.written += 1
        self._last_index = result.frame.index
        self._last_canvas = canvas if self.keep_timeline else None

    def close(self) -> None:
        """Finish the file and move it to its name (kept even after Ctrl-C)."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
            if self.written:
                os.replace(self.tmp, self.path)
        with contextlib.suppress(OSError):
            self.tmp.unlink()


def display_problem() -> str | None:
    """Why an OpenCV window cannot open here, or None when it can.

    Returns:
        A one-line reason (headless OpenCV, no display), or None.
    """
    try:
        gui = cv2.getBuildInformation().split("GUI:", 1)[1].splitlines()[0].strip()
    except (IndexError, cv2.error):
        gui = ""
    if gui.upper().startswith("NONE"):
        return "this OpenCV has no window support (opencv-python-headless); install opencv-python to show a window"
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display (DISPLAY is not set)"
    return None


class WindowOutput:
    """Shows the overlay in an OpenCV window; ``q`` or Esc stops the run.

    Args:
        palette: RGB colour per class.
        title: the window title.
        class_names: name per class, for the legend (none without).

    Raises:
        ConfigError: when the window cannot be created (check :func:`display_problem` first).
    """

    def __init__(self, palette: Sequence[Sequence[int]], title: str = "flame-run",
                 class_names: Sequence[str] | None = None) -> None:
        self.lut = palette_lut(palette)
        self.class_names = list(class_names) if class_names else None
        self.title = title
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL)
        except cv2.error as exc:
            raise ConfigError(f"cannot open a window: {first_line(exc, 160)}") from exc

    def __call__(self, result: FrameResult) -> bool:
        """Show one result; False when the user pressed q or Esc."""
        cv2.imshow(self.title, draw_overlay(result, self.lut, class_names=self.class_names))
        return (cv2.waitKey(1) & 0xFF) not in (ord("q"), 27)

    def close(self) -> None:
        """Close the window."""
        with contextlib.suppress(cv2.error):
            cv2.destroyWindow(self.title)
