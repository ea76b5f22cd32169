"""``flame-run --save-bag OUT``: the run as a ROS 2 bag, labels and latency at the input's stamps."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from flame.core.labels import resize_labels
from flame.media.bag_writer import LabelBagWriter
from flame.runtime.stream_result import FrameResult


class BagOutput:
    """Writes each result's labels (mono8 class ids at the frame's size) and latency into a new bag.

    A bag source's frames keep their recorded header stamps; other sources' frames are stamped with
    the wall-clock time of the run's start plus their time on the source's timeline.

    Args:
        path: the bag folder to create.
        source: the run's source (a :class:`flame.runtime.bag_source.BagSource` has ``stamp_ns``).
    """

    def __init__(self, path: str | os.PathLike, source: Any) -> None:
        self.writer = LabelBagWriter(path)
        self._stamp = getattr(source, "stamp_ns", None)
        self._epoch_ns = time.time_ns()

    def stamp_ns(self, result: FrameResult) -> int:
        """The header stamp the labels of ``result`` get."""
        if self._stamp is not None:
            return int(self._stamp(result.frame.index))
        return self._epoch_ns + round(result.frame.stream_s * 1e9)

    def __call__(self, result: FrameResult) -> None:
        labels = resize_labels(np.asarray(result.labels), result.frame.image.shape[:2])
        self.writer.write(labels, self.stamp_ns(result), result.latency_ms)

    def close(self) -> None:
        """Finish the bag (after Ctrl-C or SIGTERM too: what was written is kept)."""
        self.writer.close()
