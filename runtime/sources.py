"""Frame sources: camera, video file, image folder, stream URL (DESIGN.md section 4).

Every source hands the loop the *newest* frame with its capture timestamp and
the short ring of frames before it (:class:`~flame.runtime.frames.Taken`).

* Live sources (camera, URL): a grabber thread reads continuously (buffer size
  1 where the backend allows) into a ring of the newest frames; a source that
  stops delivering gets a bounded number of reconnection attempts, then ends.
* Files and folders: a reader thread decodes ahead. Offline (the default)
  every frame is handed over in order. Real time paces them at their fps as a
  camera would deliver them: frame i arrives at ``t0 + i/fps`` and, when the
  loop asks, it gets the newest frame that has arrived; the ones in between
  are dropped. Pacing reads an injectable clock, so it is deterministic under
  a virtual clock.

Opening never hangs: OpenCV calls that can block (bad cameras, dead URLs) run
under a deadline and fail with :class:`~flame.errors.SourceError`.
"""

from __future__ import annotations

import math
import os
import queue
import re
import sys
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable, Protocol
from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy as np

from flame.errors import ConfigError, SourceError
from flame.runtime.frames import Frame, FrameRing, Taken

Clock = Callable[[], int]
Sleep = Callable[[float], None]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
#: Frame rate assumed for a folder (or a video that does not say) without ``--fps``.
ASSUMED_FPS = 30.0
OPEN_TIMEOUT_S = 8.0
FIRST_FRAME_TIMEOUT_S = 5.0
# A damaged stretch of a video makes a few reads fail before good frames follow;
# this many failures in a row mean the end (a clean end costs these few reads).
_MAX_BAD_READS = 8
_READ_AHEAD = 3


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` a source uses (tests may pass their own)."""

    def isOpened(self) -> bool: ...  # noqa: N802, E704 - OpenCV's names
    def read(self) -> tuple[bool, np.ndarray | None]: ...  # noqa: E704
    def get(self, prop: int) -> float: ...  # noqa: E704
    def set(self, prop: int, value: float) -> bool: ...  # noqa: E704
    def release(self) -> None: ...  # noqa: E704


def _bounded(func: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Run ``func`` with a deadline (OpenCV can block for minutes on a bad device).

    Raises:
        SourceError: when it does not return in time or raises.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = func()
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    thread = threading.Thread(target=target, name="flame-source-open", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        # The call cannot be cancelled; the daemon thread is abandoned.
        raise SourceError(f"{what} did not answer within {timeout_s:g} s")
    if "error" in box:
        error = box["error"]
        if isinstance(error, SourceError):
            raise error
        text = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise SourceError(f"{what} failed: {text[:200]}")
    return box.get("value")


def _valid_fps(value: float | None) -> float | None:
    # Containers report 0, NaN, or 1000/90000 (a time base) when they do not know.
    if value is None or not math.isfinite(value) or value <= 0 or value > 1000:
        return None
    return float(value)


def _natural_key(path: Path) -> list[Any]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def _check_image(image: Any) -> np.ndarray | None:
    """A BGR uint8 image, converting grey/BGRA; None when unusable."""
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


# ----------------------------------------------------------------- files
class _FileSource(Source):
    """Video files and image folders: a reader thread decodes ahead of the loop."""

    def __init__(self, fps: float | None, fps_from: str, realtime: bool, clock: Clock | None,
                 sleep: Sleep | None) -> None:
        super().__init__(fps, fps_from, realtime, clock)
        self.sleep: Sleep = sleep or time.sleep
        self.damaged = 0  # frames that could not be decoded, skipped
        self._queue: queue.Queue = queue.Queue(maxsize=_READ_AHEAD)
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._pending: tuple[int, np.ndarray] | None = None  # decoded, not yet arrived (paced)
        self._exhausted = False
        self._last = -1
        self._t0: int | None = None
        self._first_index = 0
        self._first: tuple[int, np.ndarray] | None = None  # read at open to validate

    @abstractmethod
    def _read_next(self) -> tuple[int, np.ndarray] | None:
        """Decode the next frame (index, image); None at the end."""

    def _release(self) -> None:
        """Release the decoder (called once the reader thread is done)."""

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._reader, name=f"flame-{self.kind}-reader", daemon=True)
        self._thread.start()

    def _reader(self) -> None:
        try:
            item = self._first
            self._first = None
            while not self._stop_event.is_set():
                if item is None:
                    item = self._read_next()
                self._put(item)
                if item is None:
                    return
                item = None
        except BaseException as exc:  # handed to the loop, which raises SourceError
            self._put(exc)

    def _put(self, item: Any) -> None:
        while not self._stop_event.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _next_decoded(self) -> tuple[int, np.ndarray] | None:
        """The next decoded frame (blocking); None at the end."""
        if self._pending is not None:
            item, self._pending = self._pending, None
            return item
        if self._exhausted:
            return None
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._exhausted = True
            self.end_reason = f"read error: {item}"
            raise SourceError(f"reading {self._where()} failed: {str(item)[:200]}")
        if item is None:
            self._exhausted = True
            self.end_reason = "end of source"
        return item

    def _where(self) -> str:
        return self.kind

    def read(self) -> Taken | None:
        """See :meth:`Source.read`."""
        if not self._started:
            raise SourceError(f"{self.kind} source not started; call start() first")
        if self._stopped:
            return None
        return self._read_paced() if self.realtime else self._read_offline()

    def _read_offline(self) -> Taken | None:
        item = self._next_decoded()
        if item is None:
            return None
        index, image = item
        # Offline, a frame is "captured" when the loop gets it: latency is pure processing.
        frame = Frame(image, index, self.clock(), index / (self.fps or ASSUMED_FPS))
        self._ring.push(frame)
        self._last = index
        return Taken(frame, self._ring.snapshot())

    def _arrival_ns(self, index: int) -> int:
        assert self._t0 is not None
        return self._t0 + round((index - self._first_index) * 1e9 / (self.fps or ASSUMED_FPS))

    def _due(self, now: int) -> int:
        """Index of the newest frame that has arrived by ``now``."""
        assert self._t0 is not None
        frames = (now - self._t0) * (self.fps or ASSUMED_FPS) / 1e9
        # Exact arrivals (virtual clocks, integer fps) must count as arrived.
        return self._first_index + int(math.floor(frames + 1e-9))

    def _read_paced(self) -> Taken | None:
        while True:
            item = self._next_decoded()
            now = self.clock()
            if item is not None and self._t0 is None:
                self._t0, self._first_index = now, item[0]
            if item is not None and item[0] <= self._due(now):
                # Arrived: into the ring, whether or not the loop will take it.
                index, image = item
                self._ring.push(Frame(image, index, self._arrival_ns(index), index / self.fps))
                continue
            newest = self._ring.snapshot()
            if newest and newest[-1].index > self._last:
                self._pending = item
                self._last = newest[-1].index
                return Taken(newest[-1], newest)
            if item is None:
                return None
            # Nothing new has arrived: wait for the next frame as a camera would.
            self._pending = item
            wait_ns = self._arrival_ns(item[0]) - now
            if wait_ns > 0:
                self.sleep(wait_ns / 1e9)

    def _count_arrived_at_stop(self) -> None:
        # Frames that arrived during the last engine call were captured (and dropped).
        if not self.realtime or self._t0 is None:
            return
        due = self._due(self.clock())
        while True:
            item = self._pending
            self._pending = None
            if item is None and not self._exhausted:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    return
            if item is None or isinstance(item, BaseException) or item[0] > due:
                return
            self._ring.push(Frame(item[1], item[0], self._arrival_ns(item[0]), item[0] / self.fps))

    def _stop(self) -> None:
        if self._started:
            self._count_arrived_at_stop()
        self._stop_event.set()
        # Unblock a reader waiting on a full queue, then let it finish its read.
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            if self._thread.is_alive():
                return  # stuck in a decoder call: leave the capture to the daemon thread
        self._release()
        if self.end_reason is None:
            self.end_reason = "stopped"


class VideoSource(_FileSource):
    """A video file read with OpenCV until it ends (container frame counts are ignored).

    Args:
        path: the video file.
        fps: override the container's frame rate.
        realtime: pace at the fps and drop frames the loop cannot keep up with.
        clock: monotonic clock in ns (``perf_counter_ns``); tests inject a virtual one.
        sleep: how to wait for a frame to arrive (``time.sleep``).
        open_timeout_s: deadline for opening and decoding the first frame.

    Raises:
        SourceError: when the file is missing, not a video, or has no decodable frame.
        ConfigError: on a non-positive ``fps``.
    """

    kind = "video"

    def __init__(self, path: str | os.PathLike, fps: float | None = None, realtime: bool = False,
                 clock: Clock | None = None, sleep: Sleep | None = None,
                 open_timeout_s: float = OPEN_TIMEOUT_S) -> None:
        self.path = Path(path)
        if fps is not None and _valid_fps(fps) is None:
            raise ConfigError(f"expected a frame rate in (0, 1000], found --fps {fps!r}")
        if not self.path.exists():
            raise SourceError(f"video {self.path} does not exist")
        if not self.path.is_file():
            raise SourceError(f"video {self.path} is not a file")
        self._cap: Any = None
        cap, first = _bounded(self._open, open_timeout_s, f"opening video {self.path}")
        container = _valid_fps(cap.get(cv2.CAP_PROP_FPS))
        chosen = fps or container or ASSUMED_FPS
        super().__init__(chosen, "option" if fps else "container" if container else "assumed", realtime,
                         clock, sleep)
        self._cap = cap
        self._next_index = 1
        self._first = (0, first)
        self.size = (int(first.shape[0]), int(first.shape[1]))

    def _open(self) -> tuple[Any, np.ndarray]:
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(OPEN_TIMEOUT_S * 1000)]
        cap = cv2.VideoCapture(str(self.path), cv2.CAP_ANY, params)
        if not cap.isOpened():
            raise SourceError(f"cannot open {self.path} as a video (not a video file, damaged beyond reading, "
                              "or a codec this OpenCV lacks)")
        for _ in range(_MAX_BAD_READS):
            ok, image = cap.read()
            image = _check_image(image) if ok else None
            if image is not None:
                return cap, image
        cap.release()
        raise SourceError(f"{self.path} opened as a video but no frame could be decoded")

    def _read_next(self) -> tuple[int, np.ndarray] | None:
        for failures in range(_MAX_BAD_READS):
            ok, image = self._cap.read()
            image = _check_image(image) if ok else None
            if image is not None:
                # Failed reads followed by a good frame were damaged frames: keep the timeline.
                index = self._next_index + failures
                self.damaged += failures
                self._next_index = index + 1
                return index, image
        return None

    def _release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def _where(self) -> str:
        return f"video {self.path}"

    def describe(self) -> dict[str, Any]:
        """See :meth:`Source.describe`; adds the path and damaged frame count."""
        return {**super().describe(), "path": str(self.path), "damaged_frames": self.damaged}


class FolderSource(_FileSource):
    """A folder of images (png, jpg, ...) in natural name order, as a video.

    Args:
        path: the folder.
        fps: its frame rate (30 assumed when None).
        realtime, clock, sleep: as for :class:`VideoSource`.

    Raises:
        SourceError: when the folder is missing, holds no image, or its first images are unreadable.
        ConfigError: on a non-positive ``fps``.
    """

    kind = "frames"

    def __init__(self, path: str | os.PathLike, fps: float | None = None, realtime: bool = False,
                 clock: Clock | None = None, sleep: Sleep | None = None) -> None:
        self.path = Path(path)
        if fps is not None and _valid_fps(fps) is None:
            raise ConfigError(f"expected a frame rate in (0, 1000], found --fps {fps!r}")
        if not self.path.is_dir():
            raise SourceError(f"frame folder {self.path} does not exist" if not self.path.exists()
                              else f"{self.path} is not a folder")
        files = sorted((p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
                       key=_natural_key)
        if not files:
            raise SourceError(f"frame folder {self.path} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        super().__init__(fps or ASSUMED_FPS, "option" if fps else "assumed", realtime, clock, sleep)
        self.files = files
        self._cursor = 0
        # Validate now, so a folder of junk fails at open, not mid-run.
        for _ in range(min(len(files), _MAX_BAD_READS)):
            item = self._read_next()
            if item is not None:
                self._first = item
                self.size = (int(item[1].shape[0]), int(item[1].shape[1]))
                break
        else:
            raise SourceError(f"none of the first images in {self.path} could be read (e.g. {files[0].name})")

    def _read_next(self) -> tuple[int, np.ndarray] | None:
        while self._cursor < len(self.files):
            index = self._cursor
            self._cursor += 1
            image = _check_image(cv2.imread(str(self.files[index]), cv2.IMREAD_UNCHANGED))
            if image is not None:
                return index, image
            self.damaged += 1
        return None

    def _where(self) -> str:
        return f"frame folder {self.path}"

    def describe(self) -> dict[str, Any]:
        """See :meth:`Source.describe`; adds the path, file and unreadable counts."""
        return {**super().describe(), "path": str(self.path), "files": len(self.files),
                "unreadable_files": self.damaged}


# ----------------------------------------------------------------- live
class LiveSource(Source):
    """A camera or stream read by a grabber thread that keeps only the newest frames.

    Args:
        opener: returns an opened capture (``cv2.VideoCapture`` or alike).
        what: how messages name the source (``camera 0``).
        fps: override the frame rate the device reports.
        reconnect: reconnection attempts in a row before the source ends.
        reconnect_delay_s: pause before the first attempt (grows linearly).
        open_timeout_s: deadline for opening and for each reconnection.
        first_frame_timeout_s: deadline for the first frame at open.
        stall_timeout_s: the run ends when no frame arrives for this long.
        clock: monotonic clock in ns.

    Raises:
        SourceError: when the device cannot be opened or delivers no frame in time.
    """

    live = True

    def __init__(self, opener: Callable[[], Capture], what: str, fps: float | None = None, reconnect: int = 3,
                 reconnect_delay_s: float = 0.5, open_timeout_s: float = OPEN_TIMEOUT_S,
                 first_frame_timeout_s: float = FIRST_FRAME_TIMEOUT_S, stall_timeout_s: float = 10.0,
                 clock: Clock | None = None, hint: str = "") -> None:
        if fps is not None and _valid_fps(fps) is None:
            raise ConfigError(f"expected a frame rate in (0, 1000], found --fps {fps!r}")
        self.what = what
        self._opener = opener
        self._hint = hint
        self.reconnect = max(0, int(reconnect))
        self.reconnect_delay_s = reconnect_delay_s
        self.open_timeout_s = open_timeout_s
        self.stall_timeout_s = stall_timeout_s
        self.reconnects = 0
        cap = self._open_capture()
        try:
            first = _bounded(lambda: cap.read(), first_frame_timeout_s, f"{what}: waiting for the first frame")
        except SourceError:
            raise SourceError(f"{what} opened but delivered no frame within {first_frame_timeout_s:g} s") from None
        image = _check_image(first[1]) if first and first[0] else None
        if image is None:
            cap.release()
            raise SourceError(f"{what} opened but delivered no frame")
        device_fps = _valid_fps(cap.get(cv2.CAP_PROP_FPS))
        super().__init__(fps or device_fps, "option" if fps else "device" if device_fps else "unknown", True, clock)
        self.size = (int(image.shape[0]), int(image.shape[1]))
        self._cap: Any = cap
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._last = -1

    def _open_capture(self) -> Capture:
        cap = _bounded(self._opener, self.open_timeout_s, f"opening {self.what}")
        if cap is None or not cap.isOpened():
            if cap is not None:
                cap.release()
            raise SourceError(f"cannot open {self.what}{self._hint}")
        # Keep the driver's queue short so a read returns a fresh frame (not all backends allow it).
        try:
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        except cv2.error:
            pass
        return cap

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._grab, name=f"flame-{self.kind}-grabber", daemon=True)
        self._thread.start()

    def _grab(self) -> None:
        index, first_ns, attempts = 0, None, 0
        try:
            while not self._stop_event.is_set():
                ok, image = self._cap.read()
                now = self.clock()
                image = _check_image(image) if ok else None
                if image is not None:
                    first_ns = now if first_ns is None else first_ns
                    self._ring.push(Frame(image, index, now, (now - first_ns) / 1e9))
                    index, attempts = index + 1, 0
                    continue
                if self._stop_event.is_set():
                    break
                if attempts >= self.reconnect:
                    self.end_reason = (f"{self.what} stopped delivering frames"
                                       + (f" (gave up after {attempts} reconnection attempts)" if attempts else ""))
                    break
                attempts += 1
                self.reconnects += 1
                self._cap.release()
                if self._stop_event.wait(self.reconnect_delay_s * attempts):
                    break
                try:
                    self._cap = self._open_capture()
                except SourceError:
                    self._cap = _Closed()
        except BaseException as exc:  # a backend failure ends the stream cleanly, with the reason kept
            self.end_reason = f"{self.what} failed: {str(exc)[:200]}"
        finally:
            self._ring.close()

    def read(self) -> Taken | None:
        """See :meth:`Source.read`: the newest frame, waiting up to ``stall_timeout_s``."""
        if not self._started:
            raise SourceError(f"{self.what} not started; call start() first")
        if self._stopped:
            return None
        taken = self._ring.newest_after(self._last, self.stall_timeout_s)
        if taken is None:
            if self.end_reason is None:
                self.end_reason = f"{self.what} delivered no frame for {self.stall_timeout_s:g} s"
            return None
        self._last = taken.frame.index
        return taken

    def _stop(self) -> None:
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            if self._thread.is_alive():
                return  # blocked in the driver: leave the capture to the daemon thread
        self._cap.release()
        if self.end_reason is None:
            self.end_reason = "stopped"

    def describe(self) -> dict[str, Any]:
        """See :meth:`Source.describe`; adds the reconnection count."""
        return {**super().describe(), "reconnects": self.reconnects}


class _Closed:
    """A capture that failed to reopen: every read fails, so the grabber retries or ends."""

    def isOpened(self) -> bool:  # noqa: N802
        return False

    def read(self) -> tuple[bool, None]:
        return False, None

    def get(self, prop: int) -> float:
        return 0.0

    def set(self, prop: int, value: float) -> bool:
        return False

    def release(self) -> None:
        pass


class CameraSource(LiveSource):
    """A local camera by index (``--camera N``).

    Args:
        index: the camera index (``/dev/videoN`` on Linux).
        **options: as for :class:`LiveSource`.

    Raises:
        SourceError: when the camera does not exist or delivers no frame.
    """

    kind = "camera"

    def __init__(self, index: int, **options: Any) -> None:
        if index < 0:
            raise ConfigError(f"expected a camera index >= 0, found {index}")
        self.index = int(index)
        super().__init__(lambda: cv2.VideoCapture(self.index), f"camera {index}", hint=_camera_hint(index),
                         **options)

    def describe(self) -> dict[str, Any]:
        """See :meth:`LiveSource.describe`; adds the camera index."""
        return {**super().describe(), "camera": self.index}


def _camera_hint(index: int) -> str:
    if not sys.platform.startswith("linux") or not os.path.isdir("/dev"):
        return ""
    devices = sorted(p.name for p in Path("/dev").glob("video*"))
    if f"video{index}" in devices:
        return f" (/dev/video{index} exists but did not open: busy, or not a capture device?)"
    return f" (no /dev/video{index}; video devices here: {', '.join(devices) or 'none'})"


class UrlSource(LiveSource):
    """A network stream (RTSP, HTTP, ...) read through OpenCV's FFmpeg backend.

    Args:
        url: the stream address.
        read_timeout_s: FFmpeg's per-read timeout (a dead stream then triggers a reconnection).
        **options: as for :class:`LiveSource`.

    Raises:
        SourceError: when the stream cannot be opened or delivers no frame.
    """

    kind = "url"

    def __init__(self, url: str, read_timeout_s: float = 5.0, **options: Any) -> None:
        self.url = url
        if not url or "://" not in url:
            raise ConfigError(f"expected a stream URL like rtsp://host/path, found {url!r}")
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(options.get("open_timeout_s", OPEN_TIMEOUT_S) * 1000),
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(read_timeout_s * 1000)]
        super().__init__(lambda: cv2.VideoCapture(url, cv2.CAP_FFMPEG, params), f"stream {redact_url(url)}",
                         **options)

    def describe(self) -> dict[str, Any]:
        """See :meth:`LiveSource.describe`; adds the URL without credentials."""
        return {**super().describe(), "url": redact_url(self.url)}


def redact_url(url: str) -> str:
    """The URL without a password (reports and messages must not leak it)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def open_source(camera: int | None = None, video: str | os.PathLike | None = None,
                frames: str | os.PathLike | None = None, url: str | None = None, fps: float | None = None,
                realtime: bool | None = None, clock: Clock | None = None, sleep: Sleep | None = None,
                **options: Any) -> Source:
    """Open exactly one source.

    Args:
        camera, video, frames, url: the source (exactly one).
        fps: frame rate override (needed for a folder; 30 assumed otherwise).
        realtime: pace files at their fps (default: no for files; live sources are always real time).
        clock, sleep: injectable timing (tests).
        **options: live source options (``reconnect``, ``stall_timeout_s``...).

    Returns:
        The opened source (call :meth:`Source.start` to begin).

    Raises:
        ConfigError: on zero or several sources, or ``realtime=False`` for a live one.
        SourceError: when the source cannot be opened.
    """
    given = {k: v for k, v in (("camera", camera), ("video", video), ("frames", frames), ("url", url))
             if v is not None}
    if len(given) != 1:
        raise ConfigError("give exactly one source: --camera N, --video FILE, --frames DIR or --url URL"
                          + (f" (found {', '.join('--' + k for k in given)})" if given else ""))
    if (camera is not None or url is not None) and realtime is False:
        raise ConfigError("--no-realtime needs a video or a frame folder: a camera or stream is always real time")
    if camera is not None:
        return CameraSource(int(camera), fps=fps, clock=clock, **options)
    if url is not None:
        return UrlSource(url, fps=fps, clock=clock, **options)
    if video is not None:
        return VideoSource(video, fps=fps, realtime=bool(realtime), clock=clock, sleep=sleep)
    return FolderSource(frames, fps=fps, realtime=bool(realtime), clock=clock, sleep=sleep)  # type: ignore[arg-type]
