"""The reader every file source shares: a thread decoding ahead, offline or paced delivery.

Offline (the default) every frame is handed over in order, stamped when the
loop gets it. In real time a file is paced at its fps as a camera would
deliver it: frame i arrives at ``t0 + i/fps`` (its capture time) and, when the
loop asks, it gets the newest frame that has arrived; the ones in between are
dropped (but enter the ring, so a two-frame model can still pair with them).
Pacing reads an injectable clock and sleep, so it is deterministic under a
virtual clock. The kinds (video, folder, frames from Python) are in
:mod:`flame.runtime.file_sources`.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from abc import abstractmethod
from typing import Any

import numpy as np

from flame.core import native_threads
from flame.core.errors import SourceError, first_line
from flame.runtime.frames import Frame, Taken
from flame.runtime.source_base import ASSUMED_FPS, Clock, Sleep, Source

_READ_AHEAD = 3


class FileSource(Source):
    """A source read from storage or memory: a reader thread decodes ahead of the loop.

    Subclasses implement :meth:`_read_next` (and :meth:`_release`).
    """

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
        #: Each frame's time on the source's own timeline (seconds), for sources with real times
        #: (a bag's stamps); None: ``index / fps``.
        self.times: np.ndarray | None = None

    @abstractmethod
    def _read_next(self) -> tuple[int, np.ndarray] | None:
        """Decode the next frame (index, image); None at the end."""

    def _release(self) -> None:
        """Release the decoder (called once the reader thread is done)."""

    def _start(self) -> None:
        self._thread = native_threads.start(self._reader, f"flame-{self.kind}-reader")

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
            raise SourceError(f"reading {self._where()} failed: {first_line(item)}") from item
        if item is None:
            self._exhausted = True
            self.end_reason = self._end_reason()
        return item

    def _end_reason(self) -> str:
        """Why the source ended once the reader found no more frames."""
        return "end of source"

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
        frame = Frame(image, index, self.clock(), self._media_s(index))
        self._ring.push(frame)
        self._last = index
        return Taken(frame, self._ring.snapshot())

    def _media_s(self, index: int) -> float:
        """Frame ``index``'s time on the source's timeline: its recorded time, else ``index / fps``."""
        if self.times is not None:
            return float(self.times[index])
        return index / (self.fps or ASSUMED_FPS)

    def _arrival_ns(self, index: int) -> int:
        assert self._t0 is not None
        return self._t0 + round((self._media_s(index) - self._media_s(self._first_index)) * 1e9)

    def _due(self, now: int) -> int:
        """Index of the newest frame that has arrived by ``now``."""
        assert self._t0 is not None
        if self.times is not None:  # paced at the recorded times: gaps and jitter as recorded
            elapsed = (now - self._t0) / 1e9 + self._media_s(self._first_index)
            return int(np.searchsorted(self.times, elapsed + 1e-9, side="right")) - 1
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
                self._ring.push(Frame(image, index, self._arrival_ns(index), self._media_s(index)))
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
            self._ring.push(Frame(item[1], item[0], self._arrival_ns(item[0]), self._media_s(item[0])))

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
