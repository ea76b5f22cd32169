"""Timestamped frames and the short ring of the newest ones (docs/architecture.md, "Source").

A two-frame model needs I_{t-1} captured about one *training* frame interval
before I_t. Frames get dropped at run time, so the previous frame is looked up
in a ring of recent frames by timestamp, never taken as "the frame processed
last time".
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One frame from a source.

    Attributes:
        image: uint8 ``[H, W, 3]`` BGR, owned by this frame (never overwritten).
        index: position in the source (0-based; frames a live source delivered).
        captured_ns: monotonic clock (``perf_counter_ns`` unless injected) when the
            frame was in host memory, as a camera would deliver it; latency starts here.
        stream_s: time on the source's own timeline in seconds (index/fps for files
            and folders, time since the first capture for live sources).
    """

    image: np.ndarray
    index: int
    captured_ns: int
    stream_s: float


@dataclass(frozen=True)
class Taken:
    """What a source hands the loop: the newest frame and the ring before it.

    Attributes:
        frame: the newest frame.
        recent: the ring's frames up to and including ``frame``, oldest first.
    """

    frame: Frame
    recent: tuple[Frame, ...]


def pick_previous(recent: Sequence[Frame], interval_s: float) -> Frame | None:
    """The frame captured closest to ``interval_s`` before the newest one.

    Args:
        recent: frames oldest first, the newest last.
        interval_s: wanted spacing (1 / the model's training fps).

    Returns:
        The strictly older frame whose stream time is nearest to
        ``newest.stream_s - interval_s`` (ties go to the older frame), or None
        when the ring holds no older frame (the first frame of a run).
    """
    if len(recent) < 2:
        return None
    newest = recent[-1]
    target = newest.stream_s - interval_s
    best: Frame | None = None
    best_gap = float("inf")
    # A ring holds a handful of frames: a plain scan is cheaper than numpy here.
    for frame in recent[:-1]:
        if frame.stream_s >= newest.stream_s:
            continue
        gap = abs(frame.stream_s - target)
        if gap < best_gap - 1e-12:
            best, best_gap = frame, gap
    return best


def pick_window(recent: Sequence[Frame], window: int, interval_s: float) -> tuple[list[Frame], int]:
    """The frames of a model window, oldest first, ending with the newest frame.

    Each earlier frame is the one nearest to one more ``interval_s`` back
    (see :func:`pick_previous`). Where the ring holds nothing older (the start
    of a run) the oldest frame found is repeated.

    Args:
        recent: frames oldest first, the newest last (non-empty).
        window: frames the model takes (T >= 1).
        interval_s: the model's frame spacing (1 / training fps).

    Returns:
        ``(frames, padded)``: ``window`` frames oldest first, and how many of
        them are repeats because the ring did not reach back far enough.
    """
    chosen = [recent[-1]]
    padded = 0
    upto = len(recent)
    for _ in range(window - 1):
        earlier = pick_previous(recent[:upto], interval_s) if upto >= 2 else None
        if earlier is None:
            chosen.append(chosen[-1])
            padded += 1
            continue
        chosen.append(earlier)
        upto = next(i for i in range(upto) if recent[i] is earlier) + 1
    chosen.reverse()
    return chosen, padded


def history_needed(window: int, train_fps: float, source_fps: float | None) -> int:
    """How many frames the ring must keep for a model's window.

    Args:
        window: the model's input frames T.
        train_fps: the frame rate the model was trained at (its window spacing).
        source_fps: the source's frame rate; None assumes up to 60 fps.

    Returns:
        Ring length: the newest frame plus enough older ones to reach back
        ``window - 1`` training intervals, with two frames of slack.
    """
    if window <= 1:
        return 2
    fps = source_fps if source_fps and source_fps > 0 else 60.0
    reach = (window - 1) * fps / train_fps
    return int(min(256, max(3, int(np.ceil(reach)) + 3)))


class FrameRing:
    """A thread-safe ring of the newest frames, with a wait for a newer one.

    Args:
        size: how many frames to keep (older ones fall off).
    """

    def __init__(self, size: int) -> None:
        self._frames: collections.deque[Frame] = collections.deque(maxlen=max(1, int(size)))
        self._cond = threading.Condition()
        self._closed = False
        self.pushed = 0

    @property
    def size(self) -> int:
        """How many frames the ring keeps."""
        return self._frames.maxlen or 1

    def resize(self, size: int) -> None:
        """Keep ``size`` frames from now on (the newest are kept)."""
        with self._cond:
            self._frames = collections.deque(self._frames, maxlen=max(1, int(size)))

    @property
    def closed(self) -> bool:
        """Whether the stream has ended (no frame will be pushed any more)."""
        return self._closed

    def push(self, frame: Frame) -> None:
        """Add a frame (the newest) and wake a waiting reader."""
        with self._cond:
            self._frames.append(frame)
            self.pushed += 1
            self._cond.notify_all()

    def close(self) -> None:
        """Mark the end of the stream: waiting readers return None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def newest_after(self, index: int, timeout_s: float) -> Taken | None:
        """Wait for a frame newer than ``index`` and take the newest.

        Args:
            index: the index of the frame taken last (-1 for none).
            timeout_s: longest wait in seconds.

        Returns:
            The newest frame with the ring up to it, or None when the ring was
            closed or the wait timed out without a newer frame.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: self._closed or (self._frames and self._frames[-1].index > index),
                                       timeout=timeout_s):
                return None
            if not self._frames or self._frames[-1].index <= index:
                return None
            recent = tuple(self._frames)
        return Taken(recent[-1], recent)

    def snapshot(self) -> tuple[Frame, ...]:
        """The frames held now, oldest first."""
        with self._cond:
            return tuple(self._frames)
