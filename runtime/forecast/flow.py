"""The ``flow`` forecaster: constant velocity from dense optical flow, moved segment by segment.

See :mod:`flame.runtime.forecast` for what it does and why; this module is the
method itself (flow algorithms, segment motion, background motion, warp and paste).
"""

from __future__ import annotations

from typing import Callable, Iterable

import cv2
import numpy as np

from flame.core.errors import ConfigError
from flame.runtime.forecast.base import Forecast, converted, without_motion

#: Dilation kernels, made once (the forecast runs on every frame).
_KERNEL_3 = np.ones((3, 3), np.uint8)
_KERNEL_5 = np.ones((5, 5), np.uint8)


def _farneback() -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    return flow


def _dis(preset: int) -> Callable[[], Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    def make() -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        dis = cv2.DISOpticalFlow_create(preset)
        return lambda a, b: dis.calc(a, b, None)
    return make


#: Dense flow algorithms of the ``flow`` forecaster: name -> factory of ``flow(a, b)``
#: (displacement at a's pixels to b, in pixels).
FLOWS: dict[str, Callable[[], Callable[[np.ndarray, np.ndarray], np.ndarray]]] = {
    "farneback": _farneback,
    "dis-medium": _dis(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM),
    "dis-fast": _dis(cv2.DISOPTICAL_FLOW_PRESET_FAST),
    "dis-ultrafast": _dis(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST),
}


class FlowForecast:
    """Constant-velocity forecast from dense optical flow (see the module docstring).

    Args:
        things: class ids moved segment by segment; None or empty: every class
            is warped as background.
        flow: the dense flow algorithm (a key of :data:`FLOWS`).
        width: working width in pixels (frames and label segments are shrunk to
            it for the flow and the matching, keeping the aspect ratio; never enlarged).
        search: each segment's median flow is refined by matching the segment's
            colour pixels in the earlier frame within this many working pixels of it
            (0: the median flow alone). Dense flow works on grey images and blurs
            small objects into the background; the colour match fixes that. A
            motion the flow underestimates by more than this is missed (DIS
            ultrafast does for fast small objects), a wider search costs
            (2r+1)^2 per segment.
        min_area: segments smaller than this many label pixels are moved with
            the background (too small for a reliable motion).

    Raises:
        ConfigError: on an unknown flow algorithm, a working width below 16 or a negative search.
    """

    name = "flow"

    def __init__(self, things: Iterable[int] | None = None, flow: str = "dis-ultrafast", width: int = 256,
                 search: int = 4, min_area: int = 4) -> None:
        if flow not in FLOWS:
            raise ConfigError(f"unknown optical flow {flow!r}; choose one of {', '.join(FLOWS)}")
        if width < 16:
            raise ConfigError(f"expected a flow working width >= 16 pixels, found {width}")
        if search < 0:
            raise ConfigError(f"expected a segment search radius >= 0 pixels, found {search}")
        self.flow_name = flow
        self._flow = FLOWS[flow]()
        self.width = int(width)
        self.search = int(search)
        self.min_area = int(min_area)
        self._things = sorted(set(int(c) for c in (things or ())))
        self._lut = np.zeros(256, np.uint8)  # label -> 1 for thing classes (uint8 labels)
        for c in self._things:
            if 0 <= c < 256:
                self._lut[c] = 1

    def __call__(self, labels: np.ndarray, image: np.ndarray, previous: np.ndarray | None, interval_s: float,
                 horizon_s: float) -> Forecast:
        unmoved = without_motion(labels, previous, interval_s, horizon_s, self.name)
        if unmoved is not None:
            return unmoved
        if labels.dtype not in (np.uint8, np.uint16, np.int32):  # OpenCV's label types
            return converted(self, np.int32, labels, image, previous, interval_s, horizon_s)
        height, width = labels.shape[:2]
        small_w = min(self.width, width)
        small_h = max(1, round(height * small_w / width))
        cur = _shrink(image, (small_h, small_w))
        prev = _shrink(previous, (small_h, small_w))
        # Flow at I_t's pixels back to I_{t-1}: minus it is the motion over one interval (working pixels).
        motion = -self._flow(_gray(cur), _gray(prev))
        gain = float(horizon_s) / float(interval_s)
        labels_small = _shrink_labels(labels, (small_h, small_w))
        things_small = self._thing_mask(labels_small)
        # The background (the camera's motion) moves as one affine motion fitted to its flow: dense flow
        # is noise on textureless ground and drags moving objects' motion into the pixels around them.
        camera = _camera_motion(motion, things_small)
        out = _warp_affine(labels, camera, gain, (width / small_w, height / small_h))
        if not things_small.any():
            return Forecast(out, "flow")
        # Thing pixels the background warp carried along get the background nearest them.
        fill = cv2.resize(_background(labels_small, things_small), (width, height), interpolation=cv2.INTER_NEAREST)
        cv2.copyTo(fill, self._thing_mask(out), out)
        self._paste(labels, labels_small, motion, cur, prev, gain, out)
        return Forecast(out, "flow")

    def _thing_mask(self, labels: np.ndarray) -> np.ndarray:
        if labels.dtype == np.uint8:
            return cv2.LUT(labels, self._lut)
        return np.isin(labels, self._things).astype(np.uint8)

    def _segment_motion(self, seg: np.ndarray, x0: int, y0: int, motion: np.ndarray, cur: np.ndarray,
                        prev: np.ndarray) -> tuple[float, float]:
        """A segment's motion over one interval, in working pixels: median flow, refined by a colour match.

        ``seg`` is the segment's mask (uint8) in its bounding box at ``(x0, y0)`` of the working size.
        """
        small_h, small_w = motion.shape[:2]
        h, w = seg.shape
        d = np.median(motion[y0:y0 + h, x0:x0 + w][seg.astype(bool)], axis=0)
        r = self.search
        if r == 0 or w < 2 or h < 2:
            return float(d[0]), float(d[1])
        # Where the segment was in I_{t-1} by the flow, then the best colour match within r pixels of it.
        gx, gy = x0 - int(round(float(d[0]))), y0 - int(round(float(d[1])))
        ax, ay = max(0, gx - r), max(0, gy - r)
        bx, by = min(small_w, gx + w + r), min(small_h, gy + h + r)
        if bx - ax < w or by - ay < h:
            return float(d[0]), float(d[1])
        scores = cv2.matchTemplate(prev[ay:by, ax:bx], cur[y0:y0 + h, x0:x0 + w], cv2.TM_SQDIFF, mask=seg)
        _, _, best, _ = cv2.minMaxLoc(scores)
        return float(x0 - (ax + best[0])), float(y0 - (ay + best[1]))

    def _paste(self, labels: np.ndarray, labels_small: np.ndarray, motion: np.ndarray, cur: np.ndarray,
               prev: np.ndarray, gain: float, out: np.ndarray) -> None:
        """Paste each thing segment, moved by its own motion, onto ``out`` (far to near).

        Segments are found per class at the working size (touching objects of
        different classes move on their own); each is pasted with the exact
        shape it has in the full-size labels.
        """
        height, width = labels.shape[:2]
        small_h, small_w = labels_small.shape
        sx, sy = width / small_w, height / small_h
        segments = []
        for c in self._things:
            count, seg_map, stats, _ = cv2.connectedComponentsWithStats((labels_small == c).astype(np.uint8),
                                                                        connectivity=8)
            segments += [(c, seg_map, s, stats[s]) for s in range(1, count)]
        segments.sort(key=lambda item: item[3][cv2.CC_STAT_TOP] + item[3][cv2.CC_STAT_HEIGHT])
        for c, seg_map, seg, stat in segments:
            x, y, w, h = (int(v) for v in stat[:4])
            if stat[cv2.CC_STAT_AREA] * sx * sy < self.min_area:
                continue  # too small for a motion of its own: it went with the background
            mask = (seg_map[y:y + h, x:x + w] == seg).astype(np.uint8)
            mx, my = self._segment_motion(mask, x, y, motion, cur, prev)
            dx, dy = int(round(mx * sx * gain)), int(round(my * sy * gain))
            # The segment's pixels at full size: its class, within its working-size mask grown by one pixel.
            gx0, gy0 = max(0, x - 1), max(0, y - 1)
            gx1, gy1 = min(small_w, x + w + 1), min(small_h, y + h + 1)
            grown = cv2.dilate((seg_map[gy0:gy1, gx0:gx1] == seg).astype(np.uint8), _KERNEL_3)
            fx0, fy0 = int(gx0 * sx), int(gy0 * sy)
            fx1, fy1 = min(width, int(np.ceil(gx1 * sx))), min(height, int(np.ceil(gy1 * sy)))
            member = cv2.resize(grown, (fx1 - fx0, fy1 - fy0), interpolation=cv2.INTER_NEAREST).astype(bool)
            member &= labels[fy0:fy1, fx0:fx1] == c
            # Clip the moved box to the frame.
            tx0, ty0 = max(0, fx0 + dx), max(0, fy0 + dy)
            tx1, ty1 = min(width, fx1 + dx), min(height, fy1 + dy)
            if tx1 <= tx0 or ty1 <= ty0:
                continue  # moved out of view
            part = member[ty0 - fy0 - dy:ty1 - fy0 - dy, tx0 - fx0 - dx:tx1 - fx0 - dx]
            out[ty0:ty1, tx0:tx1][part] = c


def _background(labels_small: np.ndarray, things_small: np.ndarray) -> np.ndarray:
    """The scene without its things, at the working size: each thing pixel takes the label of the
    nearest background pixel (as if the background went on behind the object)."""
    if things_small.all():  # nothing but things: no background to continue
        return labels_small
    # Distance to the nearest zero pixel: the background is zero in the thing mask.
    _, nearest = cv2.distanceTransformWithLabels(things_small, cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL)
    bg_y, bg_x = np.nonzero(things_small == 0)  # DIST_LABEL_PIXEL numbers the zero pixels in row-major order
    index = nearest - 1
    return labels_small[bg_y[index], bg_x[index]]


def _camera_motion(motion: np.ndarray, things_small: np.ndarray, step: int = 4) -> np.ndarray | None:
    """The background's motion over one interval as a 2x3 affine map (working pixels), or None when still.

    Fitted with RANSAC (1-pixel threshold) to the flow on a grid of background
    pixels at least two pixels from any thing. None (no warp) when the fit
    fails or moves no corner of the frame by a quarter pixel.
    """
    height, width = things_small.shape
    away = cv2.dilate(things_small, _KERNEL_5) == 0
    ys, xs = np.mgrid[step // 2:height:step, step // 2:width:step]
    ys, xs = ys[away[ys, xs]], xs[away[ys, xs]]
    if ys.size < 8:
        return None
    points = np.stack([xs, ys], axis=1).astype(np.float32)
    model, _ = cv2.estimateAffine2D(points, points + motion[ys, xs], method=cv2.RANSAC, ransacReprojThreshold=1.0)
    if model is None:
        return None
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], np.float64)
    moved = corners @ model.T - corners[:, :2]
    return model if float(np.abs(moved).max()) >= 0.25 else None


def _shrink_labels(labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    height, width = size
    if labels.shape[:2] == (height, width):
        return labels
    return cv2.resize(labels, (width, height), interpolation=cv2.INTER_NEAREST)


def _shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    height, width = size
    if image.shape[:2] == (height, width):
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def _gray(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image


def _warp_affine(labels: np.ndarray, camera: np.ndarray | None, gain: float,
                 scale: tuple[float, float]) -> np.ndarray:
    """The labels moved by ``gain`` times the camera's per-interval affine motion (working pixels)."""
    if camera is None:
        return labels.copy()
    sx, sy = scale
    # Constant velocity: p -> p + gain * (A p + b - p), taken to the labels' pixel grid.
    step = np.vstack([camera, [0.0, 0.0, 1.0]]) - np.eye(3)
    extrapolated = np.eye(3) + gain * step
    to_labels = np.diag([sx, sy, 1.0])
    full = to_labels @ extrapolated @ np.linalg.inv(to_labels)
    height, width = labels.shape[:2]
    return cv2.warpAffine(labels, full[:2], (width, height), flags=cv2.INTER_NEAREST,
                          borderMode=cv2.BORDER_REPLICATE)
