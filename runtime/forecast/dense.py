"""The ``dense`` forecaster: every pixel moved by its own optical flow, at constant velocity.

What a camera moving through a scene needs. Driving forward, the scene expands
from the focus of expansion, near things faster than far ones (parallax), and
cars that come closer grow: no single motion of the background, and no rigid
segment, fits that; each pixel's own flow does. Where ``flow`` (segments over
one affine background) suits a still or panning camera watching objects move,
``dense`` suits footage from a vehicle (docs/forecasting.md compares the two on
both synthetic worlds).

Per frame: DIS optical flow (OpenCV, ``fast`` preset) from I_t back to the
earlier frame at a working width, read as the motion over one interval, scaled
to the horizon, and the full-size labels sampled back along it (nearest
label; a pixel whose source lies outside the frame takes the nearest edge
label, the content that enters cannot be known).
"""

from __future__ import annotations

import cv2
import numpy as np

from flame.core.errors import ConfigError
from flame.runtime.forecast.base import Forecast, converted, without_motion

#: The labels' dtypes ``cv2.remap`` samples directly (others go through float32, exact below 2**24).
_REMAP_TYPES = (np.uint8, np.uint16, np.int16, np.float32)
#: Working widths above this compute the flow's finest level at half the working size. Measured on the
#: street world at 512x1024 and 512 px: the preset's own finest level (a quarter) costs about 2.5 ms of flow
#: but recovers 4-5 points less of the drop; half costs about 9 ms, within the 15 ms budget.
_HALF_ABOVE = 256


class DenseFlowForecast:
    """Every pixel moved by its own flow (see the module docstring).

    Args:
        width: working width in pixels (frames are shrunk to it for the flow,
            keeping the aspect ratio; never enlarged). Above 256 the flow's
            finest level is computed at half of it.

    Raises:
        ConfigError: on a working width below 16.
    """

    name = "dense"

    def __init__(self, width: int = 512) -> None:
        if width < 16:
            raise ConfigError(f"expected a flow working width >= 16 pixels, found {width}")
        self.width = int(width)
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self._grid: tuple[tuple[int, int], np.ndarray] | None = None  # the full-size pixel grid, made once per size

    def __call__(self, labels: np.ndarray, image: np.ndarray, previous: np.ndarray | None, interval_s: float,
                 horizon_s: float) -> Forecast:
        unmoved = without_motion(labels, previous, interval_s, horizon_s, self.name)
        if unmoved is not None:
            return unmoved
        if labels.dtype not in _REMAP_TYPES:
            return converted(self, np.float32, labels, image, previous, interval_s, horizon_s)
        height, width = labels.shape[:2]
        small_w = min(self.width, width)
        small_h = max(1, round(height * small_w / width))
        self._dis.setFinestScale(1 if small_w > _HALF_ABOVE else 0)
        # Flow at I_t's pixels back to I_{t-1}: minus it is the motion over one interval.
        back = self._dis.calc(_gray(image, (small_h, small_w)), _gray(previous, (small_h, small_w)), None)
        gain = float(horizon_s) / float(interval_s)
        # Label at p after the horizon = label at t where p came from: p - gain * motion = p + gain * back.
        # Scaled at the working size: a third of the cost of scaling the full-size field.
        back *= np.float32([gain * width / small_w, gain * height / small_h])
        source = cv2.resize(back, (width, height), interpolation=cv2.INTER_LINEAR)
        source += self._pixel_grid(height, width)
        moved = cv2.remap(labels, source, None, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
        return Forecast(moved, "dense")

    def _pixel_grid(self, height: int, width: int) -> np.ndarray:
        if self._grid is None or self._grid[0] != (height, width):
            xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
            self._grid = ((height, width), np.dstack([xs, ys]))
        return self._grid[1]


def _gray(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` at ``size`` (H, W), grey."""
    height, width = size
    if image.shape[:2] != (height, width):
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
