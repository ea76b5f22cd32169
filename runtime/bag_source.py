"""A ROS 2 bag's image topic as a source for ``flame-run --bag``.

Offline every frame is handed over in order; with ``--realtime`` frames arrive at their recorded header
stamps (gaps and jitter as recorded), and the ones the engine is too busy for are dropped, as on the robot.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from flame.core.errors import SourceError
from flame.media.bag import BagFootage
from flame.media.intervals import interval_stats
from flame.runtime.file_reader import FileSource
from flame.runtime.source_base import Clock, Sleep


class BagSource(FileSource):
    """The images of one topic of a bag (rosbag2 folder, ``.db3`` or ``.mcap``).

    Args:
        path: the bag.
        topic: its image topic (default: the only one).
        realtime: pace frames at their header stamps.
        clock, sleep: injectable timing (tests).

    Raises:
        SourceError: when the bag cannot be read, has no such image topic, or no frame decodes.
    """

    kind = "bag"

    def __init__(self, path: str | os.PathLike, topic: str | None = None, realtime: bool = False,
                 clock: Clock | None = None, sleep: Sleep | None = None) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise SourceError(f"bag {self.path} does not exist")
        self.footage = BagFootage(self.path, topic)
        times = self.footage.timestamps()
        self.intervals = interval_stats(times)
        fps = self.intervals.fps or 30.0
        super().__init__(fps, "header stamps" if self.footage.time_source == "header stamps" else "recording times",
                         realtime, clock, sleep)
        self.times = times
        self._frames: Iterator[np.ndarray] = self.footage.frames()
        self._cursor = 0
        first = self._read_next()
        if first is None:
            raise SourceError(f"bag {self.path} topic {self.footage.topic} holds no frame that decodes")
        self._first = first
        self.size = (int(first[1].shape[0]), int(first[1].shape[1]))

    def stamp_ns(self, index: int) -> int:
        """The header stamp (nanoseconds) of frame ``index``, as recorded."""
        return int(self.footage.stamps_ns[index])

    def _read_next(self) -> tuple[int, np.ndarray] | None:
        image = next(self._frames, None)
        if image is None:
            return None
        index = self._cursor
        self._cursor += 1
        return index, image

    def _where(self) -> str:
        return f"bag {self.path} topic {self.footage.topic}"

    def describe(self) -> dict[str, Any]:
        """See :meth:`Source.describe`; adds the path, topic, frame count, damaged frames and the intervals."""
        return {**super().describe(), "path": str(self.path), "topic": self.footage.topic,
                "frames": len(self.footage), "damaged_frames": self.footage.skipped,
                "time_source": self.footage.time_source, "intervals": self.intervals.to_dict()}
