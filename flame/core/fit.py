"""How a frame of one aspect ratio meets an engine's input of another: ``--fit stretch|crop|pad``.

* ``stretch`` (the default): the whole frame resized to the input, shapes squeezed;
* ``crop``: the largest centred region of the frame with the input's aspect ratio, resized to it;
  the frame outside that region gets no labels (void, 255: scored as misses);
* ``pad``: the whole frame resized to fit inside the input, centred, the rest black (letterbox).

:func:`fit_box` gives the geometry as integer boxes, so the map back to the frame
(:meth:`FitBox.labels_to_frame`) is exact: nearest-neighbour index arithmetic
from the input's box to the frame's. The frame's own resize (bilinear, OpenCV)
is passed in by the layer that has OpenCV, so this module stays numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from flame.core.errors import ConfigError, param
from flame.core.labels import resize_labels
from flame.core.sizes import format_size

#: The fit modes, the default first.
FITS = ("stretch", "crop", "pad")
#: Relative difference of aspect ratios above which a stretch gets a notice.
ASPECT_TOLERANCE = 0.05
#: Label value of frame pixels the engine did not see (``crop``): void.
UNSEEN = 255

Box = tuple[int, int, int, int]  # y0, y1, x0, x1 (exclusive ends)
Resize = Callable[[np.ndarray, tuple[int, int]], np.ndarray]  # (image, (H, W)) -> image of that size


@dataclass(frozen=True)
class FitBox:
    """Where a frame goes in the engine's input.

    Attributes:
        mode: ``stretch``, ``crop`` or ``pad``.
        frame_size: (H, W) of the frame.
        input_size: (H, W) of the engine's input.
        source: the frame's region that is used (``crop``: a centred box; else the whole frame).
        target: the input's region it fills (``pad``: a centred box; else the whole input).
    """

    mode: str
    frame_size: tuple[int, int]
    input_size: tuple[int, int]
    source: Box
    target: Box

    def to_input(self, image: np.ndarray, resize: Resize, out: np.ndarray | None = None) -> np.ndarray:
        """The frame as the engine takes it (``out`` is filled and returned when given).

        Args:
            image: ``[H, W, C]`` frame of :attr:`frame_size`.
            resize: the caller's image resize (OpenCV's bilinear in the runtime and evaluation).
            out: a reused ``[h, w, C]`` buffer of :attr:`input_size`.
        """
        sy0, sy1, sx0, sx1 = self.source
        ty0, ty1, tx0, tx1 = self.target
        if out is None:
            out = np.zeros((*self.input_size, *image.shape[2:]), dtype=image.dtype)
        elif self.mode == "pad":
            out[...] = 0  # the bars stay black
        region = image[sy0:sy1, sx0:sx1]
        size = (ty1 - ty0, tx1 - tx0)
        out[ty0:ty1, tx0:tx1] = region if region.shape[:2] == size else resize(np.ascontiguousarray(region), size)
        return out

    def labels_to_frame(self, labels: np.ndarray) -> np.ndarray:
        """The engine's ``[h, w]`` labels mapped back onto the frame (nearest, exact); unseen pixels :data:`UNSEEN`."""
        ty0, ty1, tx0, tx1 = self.target
        sy0, sy1, sx0, sx1 = self.source
        mapped = resize_labels(labels[ty0:ty1, tx0:tx1], (sy1 - sy0, sx1 - sx0))
        if (sy0, sy1, sx0, sx1) == (0, self.frame_size[0], 0, self.frame_size[1]):
            return mapped
        frame = np.full(self.frame_size, UNSEEN, dtype=labels.dtype)
        frame[sy0:sy1, sx0:sx1] = mapped
        return frame


def check_fit(mode: str) -> str:
    """``mode`` when it is a fit mode.

    Raises:
        ConfigError: naming the modes.
    """
    if mode not in FITS:
        raise ConfigError(f"expected {param('fit')} {' | '.join(FITS)}, found {mode!r}")
    return mode


def _centred(outer: int, inner: int) -> tuple[int, int]:
    start = (outer - inner) // 2
    return start, start + inner


def fit_box(mode: str, frame_size: tuple[int, int], input_size: tuple[int, int]) -> FitBox:
    """The geometry of ``mode`` for a frame of ``frame_size`` and an input of ``input_size`` (both (H, W))."""
    check_fit(mode)
    (fh, fw), (ih, iw) = (int(frame_size[0]), int(frame_size[1])), (int(input_size[0]), int(input_size[1]))
    whole_frame, whole_input = (0, fh, 0, fw), (0, ih, 0, iw)
    if mode == "crop":
        # The tallest box of the input's ratio the frame holds: full height, or full width when too wide.
        height, width = min(fh, max(1, round(fw * ih / iw))), min(fw, max(1, round(fh * iw / ih)))
        return FitBox(mode, (fh, fw), (ih, iw), (*_centred(fh, height), *_centred(fw, width)), whole_input)
    if mode == "pad":
        scale = min(ih / fh, iw / fw)
        height, width = min(ih, max(1, round(fh * scale))), min(iw, max(1, round(fw * scale)))
        return FitBox(mode, (fh, fw), (ih, iw), whole_frame, (*_centred(ih, height), *_centred(iw, width)))
    return FitBox(mode, (fh, fw), (ih, iw), whole_frame, whole_input)


def aspect_notice(frame_size: tuple[int, int], input_size: tuple[int, int], mode: str) -> str | None:
    """One line when a stretch squeezes the frame's shapes (aspect ratios more than 5% apart), else None."""
    frame_ratio = frame_size[1] / frame_size[0]
    input_ratio = input_size[1] / input_size[0]
    if mode != "stretch" or abs(frame_ratio / input_ratio - 1.0) <= ASPECT_TOLERANCE:
        return None
    return (f"frames are {format_size(frame_size)} (width/height {frame_ratio:.2f}) and the engine takes "
            f"{format_size(input_size)} ({input_ratio:.2f}): stretched to fit, shapes squeezed; "
            "--fit crop or --fit pad keeps them")
