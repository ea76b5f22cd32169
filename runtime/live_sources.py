"""Cameras and network streams as sources (docs/architecture.md, "Source").

A grabber thread reads continuously (driver buffer 1 where the backend
allows) into a ring of the newest timestamped frames, so the loop never sees
a stale frame; a frame's capture time is when the read returned it. A source
that stops delivering gets a bounded number of reconnection attempts in a
row, then ends cleanly with its reason. Opening and the first frame run under
deadlines: a bad device or dead URL fails with SourceError, never a hang.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

import cv2

from flame.core import native_threads
from flame.core.errors import ConfigError, SourceError, first_line, param
from flame.runtime.frames import Frame, Taken
from flame.runtime.source_base import (FIRST_FRAME_TIMEOUT_S, OPEN_TIMEOUT_S, Capture, Clock, Source, as_bgr_image,
                                       call_with_deadline, require_fps, valid_fps)

#: A camera or stream that delivers no frame for this long ends (reconnection attempts included).
STALL_TIMEOUT_S = 10.0


class LiveSource(Source):
    """A camera or stream read by a grabber thread that keeps only the newest frames.

    A source that stops delivering ends within a bound: reconnection attempts
    go on while fewer than ``reconnect`` have failed in a row *and* less than
    ``stall_timeout_s`` has passed since the last frame (each open's deadline is
    cut to what is left); :meth:`read` returns None at the latest
    ``stall_timeout_s`` (plus half a second of polling) after the last frame, and
    :meth:`stop` waits up to ``stop_timeout_s`` for the grabber to leave the driver.

    Args:
        opener: returns an opened capture (``cv2.VideoCapture`` or alike).
        what: how messages name the source (``camera 0``).
        fps: override the frame rate the device reports.
        reconnect: reconnection attempts in a row before the source ends.
        reconnect_delay_s: pause before the first attempt (grows linearly).
        open_timeout_s: deadline for opening and for each reconnection.
        first_frame_timeout_s: deadline for the first frame at open.
        stall_timeout_s: the source ends when no frame has arrived for this long,
            reconnection attempts included (also a driver stuck in a read).
        stop_timeout_s: how long :meth:`stop` waits for a grabber inside a driver
            call; one still there after it is left (see :mod:`flame.core.native_threads`).
        clock: monotonic clock in ns.

    Raises:
        SourceError: when the device cannot be opened or delivers no frame in time.
    """

    live = True

    def __init__(self, opener: Callable[[], Capture], what: str, fps: float | None = None, reconnect: int = 3,
                 reconnect_delay_s: float = 0.5, open_timeout_s: float = OPEN_TIMEOUT_S,
                 first_frame_timeout_s: float = FIRST_FRAME_TIMEOUT_S, stall_timeout_s: float = STALL_TIMEOUT_S,
                 stop_timeout_s: float = 2.0, clock: Clock | None = None, hint: str = "") -> None:
        require_fps(fps)
        if not stall_timeout_s > 0:
            raise ConfigError(f"expected {param('stall_timeout_s')} > 0 seconds, found {stall_timeout_s!r}")
        self.what = what
        self._opener = opener
        self._hint = hint
        self.reconnect = max(0, int(reconnect))
        self.reconnect_delay_s = reconnect_delay_s
        self.open_timeout_s = open_timeout_s
        self.stall_timeout_s = float(stall_timeout_s)
        self.stop_timeout_s = stop_timeout_s
        self.reconnects = 0
        cap = self._open_capture(open_timeout_s)
        try:
            first = call_with_deadline(lambda: cap.read(), first_frame_timeout_s, f"{what}: waiting for the first frame")
        except SourceError as exc:
            raise SourceError(f"{what} opened but delivered no frame within {first_frame_timeout_s:g} s") from exc
        image = as_bgr_image(first[1]) if first and first[0] else None
        if image is None:
            cap.release()
            raise SourceError(f"{what} opened but delivered no frame")
        device_fps = valid_fps(cap.get(cv2.CAP_PROP_FPS))
        super().__init__(fps or device_fps, "option" if fps else "device" if device_fps else "unknown", True, clock)
        self.size = (int(image.shape[0]), int(image.shape[1]))
        self._cap: Any = cap
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._last = -1
        self._frame_at = time.monotonic()  # when the newest frame arrived (or the grabber started)

    def _new_capture(self, timeout_s: float) -> Capture:
        """A fresh capture from the opener (streams pass ``timeout_s`` on to FFmpeg)."""
        return self._opener()

    def _open_capture(self, timeout_s: float) -> Capture:
        cap = call_with_deadline(lambda: self._new_capture(timeout_s), timeout_s, f"opening {self.what}")
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
        self._frame_at = time.monotonic()
        self._thread = native_threads.start(self._grab, f"flame-{self.kind}-grabber")

    def _silent_s(self) -> float:
        return time.monotonic() - self._frame_at

    def _grab(self) -> None:
        index, first_ns, attempts = 0, None, 0
        try:
            while not self._stop_event.is_set():
                ok, image = self._cap.read()
                now = self.clock()
                image = as_bgr_image(image) if ok else None
                if image is not None:
                    self._frame_at = time.monotonic()
                    first_ns = now if first_ns is None else first_ns
                    self._ring.push(Frame(image, index, now, (now - first_ns) / 1e9))
                    index, attempts = index + 1, 0
                    continue
                if self._stop_event.is_set():
                    break
                self._cap.release()
                self._cap = _Closed()
                # The delay before attempt n is n x reconnect_delay_s, cut to the time left.
                left = self.stall_timeout_s - self._silent_s() - self.reconnect_delay_s * (attempts + 1)
                if attempts >= self.reconnect or left <= 0:
                    self.end_reason = self._gave_up(attempts)
                    break
                attempts += 1
                self.reconnects += 1
                if self._stop_event.wait(self.reconnect_delay_s * attempts):
                    break
                try:
                    self._cap = self._open_capture(min(self.open_timeout_s, max(0.1, left)))
                except SourceError:
                    self._cap = _Closed()
        except BaseException as exc:  # a backend failure ends the stream cleanly, with the reason kept
            self.end_reason = f"{self.what} failed: {first_line(exc)}"
        finally:
            self._ring.close()

    def _gave_up(self, attempts: int) -> str:
        tried = f"{attempts} reconnection attempt{'s' if attempts != 1 else ''}"
        if attempts >= self.reconnect:
            return f"{self.what} stopped delivering frames" + (f" (gave up after {tried})" if attempts else "")
        return f"{self.what} delivered no frame for {self.stall_timeout_s:g} s" + (f" ({tried})" if attempts else "")

    def read(self) -> Taken | None:
        """See :meth:`Source.read`: the newest frame; waits while the grabber is alive.

        Waiting goes on through reconnections; it ends when the grabber gives
        up, or when no frame has arrived for ``stall_timeout_s`` (a hung driver).
        """
        if not self._started:
            raise SourceError(f"{self.what} not started; call start() first")
        while not self._stopped:
            taken = self._ring.newest_after(self._last, min(0.5, self.stall_timeout_s))
            if taken is not None:
                self._last = taken.frame.index
                return taken
            if self._ring.closed:
                return None
            if self._silent_s() > self.stall_timeout_s:
                self.end_reason = f"{self.what} delivered no frame for {self.stall_timeout_s:g} s"
                return None
        return None

    def _stop(self) -> None:
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=self.stop_timeout_s)
            if self._thread.is_alive():
                return  # blocked in the driver: the capture stays with the (tracked) thread
        self._cap.release()
        if self.end_reason is None:
            self.end_reason = "stopped"

    def describe(self) -> dict[str, Any]:
        """See :meth:`Source.describe`; adds the reconnection count and the stall timeout."""
        return {**super().describe(), "reconnects": self.reconnects, "stall_timeout_s": self.stall_timeout_s}


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
        read_timeout_s: FFmpeg's per-read timeout (a dead stream then triggers a reconnection);
            at most half the stall timeout, so a reconnection fits in the stall window.
        **options: as for :class:`LiveSource`.

    Raises:
        SourceError: when the stream cannot be opened or delivers no frame.
    """

    kind = "url"

    def __init__(self, url: str, read_timeout_s: float = 2.0, **options: Any) -> None:
        self.url = url
        if not url or "://" not in url:
            raise ConfigError(f"expected a stream URL like rtsp://host/path, found {url!r}")
        self.read_timeout_s = read_timeout_s
        super().__init__(lambda: self._new_capture(self.open_timeout_s), f"stream {redact_url(url)}", **options)

    def _new_capture(self, timeout_s: float) -> Capture:
        # FFmpeg's own timeouts end a blocked open or read inside the call (OpenCV's interrupt
        # callback), so the grabber leaves the driver within them; the open's is a little shorter
        # than the deadline around it, so a call that keeps its word is never abandoned.
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, max(1, int(timeout_s * 900)),
                  cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                  max(1, int(min(self.read_timeout_s, self.stall_timeout_s / 2) * 1000))]
        return cv2.VideoCapture(self.url, cv2.CAP_FFMPEG, params)

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
