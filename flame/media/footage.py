"""Footage: frames with their real times, from a video, an image folder or a ROS 2 bag.

Every kind scans its file once (lazily, on the first question) for the frames that decode and their
times, so that :meth:`Footage.timestamps` and :meth:`Footage.frames` always agree: frame ``i`` of one is
frame ``i`` of the other, damaged frames left out of both and counted in :attr:`Footage.skipped`.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from flame.core.errors import ConfigError, SourceError, param
from flame.core.offsets import check_fps

#: Bytes of the file hashed into the fingerprint (with its size and modification time).
_HASHED_BYTES = 1 << 20


class Footage(ABC):
    """Frames (uint8 HxWx3 BGR) and their times in seconds from the first frame.

    Attributes:
        kind: ``video``, ``frames`` or ``bag``.
        path: the file or folder.
        topic: the bag's image topic (None for other kinds).
        time_source: where the times come from, in words (``presentation timestamps``, ``header stamps``,
            ``--fps 30``...).
    """

    kind: str = ""
    topic: str | None = None

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._time_source = ""
        self._times: np.ndarray | None = None
        self._skipped = 0

    @abstractmethod
    def _scan(self) -> np.ndarray:
        """Times (seconds, absolute or relative) of the frames that decode; sets :attr:`time_source`."""

    @abstractmethod
    def frames(self, start: int = 0) -> Iterator[np.ndarray]:
        """The frames from ``start`` on, in order, as uint8 HxWx3 BGR."""

    def timestamps(self) -> np.ndarray:
        """Float64 seconds, first frame at 0.0, non-decreasing, one per frame.

        Raises:
            SourceError: when no frame decodes.
        """
        if self._times is None:
            times = np.asarray(self._scan(), dtype=np.float64)
            if times.size == 0:
                raise SourceError(f"{self.describe_path()} holds no frame that decodes")
            self._times = times - times[0]
        return self._times

    @property
    def time_source(self) -> str:
        """Where the frame times come from, in words (known once the footage has been scanned)."""
        self.timestamps()
        return self._time_source

    @property
    def skipped(self) -> int:
        """Damaged frames left out (known once the footage has been scanned)."""
        self.timestamps()
        return self._skipped

    def __len__(self) -> int:
        return int(self.timestamps().size)

    def describe_path(self) -> str:
        """The path and, for a bag, the topic."""
        return f"{self.kind} {self.path}" + (f" topic {self.topic}" if self.topic else "")

    def describe(self) -> str:
        """One line: what, how many frames, where the times come from, what was skipped."""
        skipped = f", {self._skipped} damaged frame(s) skipped" if self._skipped else ""
        return f"{self.describe_path()}, {len(self)} frames, times from {self.time_source}{skipped}"

    def fingerprint(self) -> str:
        """A stable key of the content: kind, resolved path, topic, size, mtime and a hash of the first MB."""
        digest = hashlib.sha256(f"{self.kind}|{self.path.resolve()}|{self.topic}".encode())
        files = sorted(self.path.rglob("*")) if self.path.is_dir() else [self.path]
        for file in files:
            if file.is_file():
                stat = file.stat()
                digest.update(f"{file.name}|{stat.st_size}|{stat.st_mtime_ns}".encode())
        first = next((f for f in files if f.is_file()), None)
        if first is not None:
            with open(first, "rb") as handle:
                digest.update(handle.read(_HASHED_BYTES))
        digest.update(np.asarray(self.timestamps()).tobytes())
        return digest.hexdigest()


def _nominal(fps: float | None, what: str) -> float | None:
    return None if fps is None else check_fps(fps)


def open_footage(*, video: str | os.PathLike | None = None, frames: str | os.PathLike | None = None,
                 bag: str | os.PathLike | None = None, topic: str | None = None,
                 fps: float | None = None) -> Footage:
    """Open footage of one kind.

    Args:
        video: a video file (times: its presentation timestamps).
        frames: a folder of images in natural name order (times: ``i / fps``, fps 30 when not given).
        bag: a ROS 2 bag, a folder or its ``.db3``/``.mcap`` file (times: the messages' header stamps).
        topic: the bag's image topic (default: its only one).
        fps: for a folder, the frame rate; for a video or bag, use ``i / fps`` instead of the recorded times.

    Raises:
        ConfigError: when not exactly one kind is given, or ``topic`` is given without a bag.
        SourceError: when the footage cannot be opened (missing, corrupt, no image topic...).
    """
    given = {name: value for name, value in (("video", video), ("frames", frames), ("bag", bag)) if value}
    if len(given) != 1:
        raise ConfigError(f"give exactly one of {param('video')}, {param('frames')} or {param('bag')}"
                          + (f" (found {', '.join(given)})" if given else ""), parameter="video")
    if topic and not bag:
        raise ConfigError(f"{param('topic')} applies to a bag only")
    kind, value = next(iter(given.items()))
    path = Path(value)
    if not path.exists():
        raise SourceError(f"{kind} {path} does not exist")
    opener: Callable[..., Footage] = FOOTAGE_KINDS[kind]
    return opener(path, topic=topic, fps=_nominal(fps, kind))


def _open_video(path: Path, topic: str | None, fps: float | None) -> Footage:
    from flame.media.video import VideoFootage

    return VideoFootage(path, fps)


def _open_frames(path: Path, topic: str | None, fps: float | None) -> Footage:
    from flame.media.folder import FolderFootage

    return FolderFootage(path, fps)


def _open_bag(path: Path, topic: str | None, fps: float | None) -> Footage:
    from flame.media.bag import BagFootage

    return BagFootage(path, topic, fps)


#: Footage kinds: name -> opener ``(path, topic=, fps=) -> Footage``.
FOOTAGE_KINDS: dict[str, Callable[..., Footage]] = {"video": _open_video, "frames": _open_frames, "bag": _open_bag}
