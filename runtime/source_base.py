"""What every frame source shares: the :class:`Source` contract and OpenCV helpers.

Sources hand the loop the *newest* frame with its capture timestamp and the
short ring of frames before it (:class:`~flame.runtime.frames.Taken`). The
kinds live in :mod:`flame.runtime.file_sources` (video, folder, frames from
Python, over the reader of :mod:`flame.runtime.file_reader`) and
:mod:`flame.runtime.live_sources` (camera, URL);
:func:`flame.runtime.sources.open_source` picks one.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from typing import Any, Callable, Protocol

import cv2
import numpy as np

from flame.core import native_threads
from flame.core.errors import ConfigError, SourceError, first_line, param
from flame.runtime.frames import FrameRing, Taken

Clock = Callable[[], int]
Sleep = Callable[[float], None]

#: Frame rate assumed for a folder (or a video that does not say) without ``--fps``.
ASSUMED_FPS = 30.0
OPEN_TIMEOUT_S = 8.0
FIRST_FRAME_TIMEOUT_S = 5.0


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` a source uses (tests may pass their own)."""

    def isOpened(self) -> bool: ...  # noqa: N802, E704 - OpenCV's names
    def read(self) -> tuple[bool, np.ndarray | None]: ...  # noqa: E704
    def get(self, prop: int) -> float: ...  # noqa: E704
    def set(self, prop: int, value: float) -> bool: ...  # noqa: E704
    def release(self) -> None: ...  # noqa: E704


def call_with_deadline(func: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Run ``func`` with a deadline (OpenCV can block for minutes on a bad device).

    Args:
        func: the call (run in a tracked daemon thread, see :mod:`flame.core.native_threads`;
            abandoned if it overruns).
        timeout_s: the deadline in seconds.
        what: how the error names the operation.

    Returns:
        What ``func`` returned.

    Raises:
        SourceError: when it does not return in time or raises.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = func()
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    thread = native_threads.start(target, "flame-source-open")
    thread.join(timeout_s)
    if thread.is_alive():
        # The call cannot be cancelled; the daemon thread is abandoned.
        raise SourceError(f"{what} did not answer within {timeout_s:g} s")
    if "error" in box:
        error = box["error"]
        if isinstance(error, SourceError):
            raise error
        raise SourceError(f"{what} failed: {first_line(error)}") from error
    return box.get("value")


def valid_fps(value: float | None) -> float | None:
    """``value`` when it is a plausible frame rate (0 < fps <= 1000), else None."""
    # Containers report 0, NaN, or 1000/90000 (a time base) when they do not know.
    if value is None or not math.isfinite(value) or value <= 0 or value > 1000:
        return None
    return float(value)


def require_fps(fps: float | None) -> float | None:
    """A frame rate a user gave (None: not given), refused unless plausible (0 < fps <= 1000).

    Raises:
        ConfigError: naming ``fps``, on any other value.
    """
    if fps is not None and valid_fps(fps) is None:
        raise ConfigError(f"expected a frame rate in (0, 1000], found {param('fps')} {fps!r}")
    return None if fps is None else float(fps)


def as_bgr_image(image: Any) -> np.ndarray | None:
    """A uint8 BGR ``[H, W, 3]`` image from what a decoder gave (grey, BGRA, 16-bit); None when unusable."""
    if image is None or not isinstance(image, np.ndarray) or image.size == 0:
        return None
    if image.dtype != np.uint8:
        # 16-bit PNGs and the like: scale to 8 bits rather than refuse.
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(1.0, float(np.iinfo(image.dtype).max))
                                    if np.issubdtype(image.dtype, np.integer) else 255.0)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    return None


class Source(ABC):
    """A stream of timestamped frames; use :meth:`start`, :meth:`read`, :meth:`stop`.

    Attributes:
        kind: ``camera``, ``video``, ``frames`` or ``url``.
        live: True for cameras and streams (always real time).
        realtime: whether frames are paced/taken newest-first (else every frame).
        fps: the source's frame rate, None when unknown.
        fps_from: where ``fps`` came from (``option``, ``container``, ``device``, ``assumed``, ``unknown``).
        end_reason: why the source ended, None while it runs.
    """

    kind = "source"
    live = False

    def __init__(self, fps: float | None, fps_from: str, realtime: bool, clock: Clock | None) -> None:
        self.fps = fps
        self.fps_from = fps_from
        self.realtime = realtime
        self.clock: Clock = clock or time.perf_counter_ns
        self.end_reason: str | None = None
        self.size: tuple[int, int] | None = None  # (H, W) of the first frame
        self._ring = FrameRing(2)
        self._started = False
        self._stopped = False

    @property
    def captured(self) -> int:
        """Frames the source delivered since :meth:`start` (processed or dropped)."""
        return self._ring.pushed

    def start(self, history: int = 2) -> None:
        """Begin delivering frames, keeping ``history`` of the newest in the ring.

        Raises:
            SourceError: when the source cannot start.
        """
        if self._started:
            raise SourceError(f"{self.kind} source already started")
        self._ring = FrameRing(max(1, history))
        self._started = True
        self._start()

    @abstractmethod
    def _start(self) -> None:
        """Start the reader/grabber thread."""

    @abstractmethod
    def read(self) -> Taken | None:
        """The next frame to process with the ring up to it; None at the end.

        Blocks until a frame is due. Live and real-time sources return the
        newest frame (the ones in between count as dropped).

        Raises:
            SourceError: when reading fails in a way that is not a clean end.
        """

    @abstractmethod
    def _stop(self) -> None:
        """Stop threads and release the device."""

    def stop(self) -> None:
        """Stop reading and release the device (idempotent)."""
        if not self._stopped:
            self._stopped = True
            self._stop()

    close = stop

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def describe(self) -> dict[str, Any]:
        """Kind, location, fps and size, for reports."""
        return {"kind": self.kind, "live": self.live, "realtime": self.realtime, "fps": self.fps,
                "fps_from": self.fps_from, "size": list(self.size) if self.size else None,
                "end_reason": self.end_reason}
