"""A video file as footage: its frames and their presentation timestamps."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from flame.core.errors import SourceError
from flame.media.footage import Footage


class VideoFootage(Footage):
    """A video read with OpenCV; frame times are the presentation timestamps it reports.

    Where the container gives none that make sense (all zero, or going backwards), the times are
    ``i / fps`` at the rate the header announces, and :attr:`time_source` says so.
    """

    kind = "video"

    def __init__(self, path: Path, fps: float | None = None) -> None:
        super().__init__(path)
        if self.path.is_dir():
            raise SourceError(f"video {self.path} is a folder; give a video file (or --frames for a folder of images)")
        self._fps = fps
        self._good: list[int] = []  # decoder positions of the frames that decode
        capture = self._capture()
        self.header_fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        capture.release()

    def _capture(self) -> cv2.VideoCapture:
        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            raise SourceError(f"video {self.path} cannot be opened: not a video OpenCV can decode, or damaged")
        return capture

    def _scan(self) -> np.ndarray:
        capture = self._capture()
        times: list[float] = []
        position = 0
        failures = 0
        announced = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        while True:
            ok, image = capture.read()
            if ok and image is not None:
                times.append(capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
                self._good.append(position)
                failures = 0
            elif position >= announced or failures >= 8:
                break  # the end (or a file cut short: what decoded is the footage)
            else:
                failures += 1
                self._skipped += 1
            position += 1
        capture.release()
        self._skipped -= failures  # the failed reads at the very end were the end of the file, not damage
        pts = np.asarray(times)
        if self._fps:
            self._time_source = f"--fps {self._fps:g} (the video's own timestamps ignored)"
            return np.arange(pts.size) / self._fps
        if pts.size > 1 and (np.any(np.diff(pts) < 0) or not np.any(pts[1:] > 0)):
            fps = self.header_fps if self.header_fps > 0 else 30.0
            self._time_source = (f"its {fps:g} fps header (its presentation timestamps are "
                                f"{'all zero' if not np.any(pts) else 'not increasing'})")
            return np.arange(pts.size) / fps
        self._time_source = "presentation timestamps"
        return pts

    def frames(self, start: int = 0) -> Iterator[np.ndarray]:
        self.timestamps()
        wanted = set(self._good[start:])
        if not wanted:
            return
        capture = self._capture()
        try:
            first = self._good[start]
            position = 0
            if first > 0 and capture.set(cv2.CAP_PROP_POS_FRAMES, first) and \
                    int(capture.get(cv2.CAP_PROP_POS_FRAMES)) == first:
                position = first
            last = self._good[-1]
            while position <= last:
                ok, image = capture.read()
                if position in wanted:
                    if not ok or image is None:
                        raise SourceError(f"video {self.path}: frame {position} decoded before and not now")
                    yield image
                position += 1
        finally:
            capture.release()
